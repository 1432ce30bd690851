// Dialogs of the main window. They collect input and show core's answer; the rules (what is a
// valid patient, who may sign in) live in core services, reached through the callbacks.
#pragma once

#include <QDialog>
#include <functional>

#include "base/result.h"
#include "records/patients.h"
#include "records/users.h"

class QComboBox;
class QLabel;
class QLineEdit;

namespace neuroplan::gui {

/// Shows an Error under a form: the field's label, then the message.
QString describeError(const Error& error);

class LoginDialog : public QDialog {
    Q_OBJECT
  public:
    using Authenticate = std::function<Result<records::Actor>(const std::string& login,
                                                              const std::string& password)>;

    LoginDialog(Authenticate authenticate, const QString& databasePath, QWidget* parent = nullptr);

    const records::Actor& actor() const { return m_actor; }
    QLineEdit* loginEdit() const { return m_login; }
    QLineEdit* passwordEdit() const { return m_password; }
    QLabel* errorLabel() const { return m_error; }

  public slots:
    void accept() override;

  private:
    Authenticate m_authenticate;
    records::Actor m_actor;
    QLineEdit* m_login;
    QLineEdit* m_password;
    QLabel* m_error;
};

class AddPatientDialog : public QDialog {
    Q_OBJECT
  public:
    using Submit = std::function<Result<records::Patient>(const records::PatientInput&)>;

    explicit AddPatientDialog(Submit submit, QWidget* parent = nullptr);

    QLineEdit* mrnEdit() const { return m_mrn; }
    QLineEdit* familyEdit() const { return m_family; }
    QLineEdit* givenEdit() const { return m_given; }
    QLineEdit* birthDateEdit() const { return m_birthDate; }
    QComboBox* sexCombo() const { return m_sex; }
    QLabel* errorLabel() const { return m_error; }

  public slots:
    void accept() override;

  private:
    Submit m_submit;
    QLineEdit* m_mrn;
    QLineEdit* m_family;
    QLineEdit* m_given;
    QLineEdit* m_birthDate;
    QComboBox* m_sex;
    QLabel* m_error;
};

}  // namespace neuroplan::gui
