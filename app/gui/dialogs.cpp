#include "dialogs.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>
#include <map>

namespace neuroplan::gui {

namespace {

QLabel* makeErrorLabel(QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setObjectName("errorLabel");
    label->setStyleSheet("color: #b00020;");
    label->setWordWrap(true);
    label->hide();
    return label;
}

QDialogButtonBox* makeButtons(QDialog* dialog, const QString& okText) {
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, dialog);
    buttons->button(QDialogButtonBox::Ok)->setText(okText);
    QObject::connect(buttons, &QDialogButtonBox::accepted, dialog, &QDialog::accept);
    QObject::connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    return buttons;
}

void showError(QLabel* label, const QString& text) {
    label->setText(text);
    label->show();
}

}  // namespace

QString describeError(const Error& error) {
    static const std::map<std::string, QString> kLabels = {
        {"mrn", QObject::tr("MRN")},
        {"family_name", QObject::tr("Family name")},
        {"given_name", QObject::tr("Given name")},
        {"birth_date", QObject::tr("Birth date")},
        {"sex", QObject::tr("Sex")},
        {"user", QObject::tr("Sign-in")},
    };
    const auto it = kLabels.find(error.field);
    const QString message = QString::fromStdString(error.message);
    return it == kLabels.end() ? message : it->second + ": " + message;
}

LoginDialog::LoginDialog(Authenticate authenticate, const QString& databasePath, QWidget* parent)
    : QDialog(parent),
      m_authenticate(std::move(authenticate)),
      m_login(new QLineEdit(this)),
      m_password(new QLineEdit(this)),
      m_error(makeErrorLabel(this)) {
    setWindowTitle(tr("Sign in to NeuroPlan"));
    m_login->setObjectName("login");
    m_password->setObjectName("password");
    m_password->setEchoMode(QLineEdit::Password);
    auto* form = new QFormLayout;
    form->addRow(tr("&Login:"), m_login);
    form->addRow(tr("&Password:"), m_password);
    auto* layout = new QVBoxLayout(this);
    auto* where = new QLabel(tr("Database: %1").arg(databasePath), this);
    where->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(where);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(makeButtons(this, tr("Sign in")));
}

void LoginDialog::accept() {
    auto actor =
        m_authenticate(m_login->text().trimmed().toStdString(), m_password->text().toStdString());
    m_password->clear();
    if (!actor) {
        showError(m_error, describeError(actor.error()));
        m_password->setFocus();
        return;
    }
    m_actor = *actor;
    QDialog::accept();
}

AddPatientDialog::AddPatientDialog(Submit submit, QWidget* parent)
    : QDialog(parent),
      m_submit(std::move(submit)),
      m_mrn(new QLineEdit(this)),
      m_family(new QLineEdit(this)),
      m_given(new QLineEdit(this)),
      m_birthDate(new QLineEdit(this)),
      m_sex(new QComboBox(this)),
      m_error(makeErrorLabel(this)) {
    setWindowTitle(tr("Add patient"));
    m_birthDate->setPlaceholderText(tr("YYYY-MM-DD"));
    // No default: a sex is chosen on purpose, never left at a pre-selected value.
    m_sex->addItem(tr("— choose —"), QString());
    for (const char* sex : {"female", "male", "other", "unknown"}) {
        m_sex->addItem(QString::fromLatin1(sex), QString::fromLatin1(sex));
    }
    auto* form = new QFormLayout;
    form->addRow(tr("&MRN:"), m_mrn);
    form->addRow(tr("&Family name:"), m_family);
    form->addRow(tr("&Given name:"), m_given);
    form->addRow(tr("&Birth date:"), m_birthDate);
    form->addRow(tr("&Sex:"), m_sex);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(makeButtons(this, tr("Add")));
}

void AddPatientDialog::accept() {
    records::PatientInput input;
    input.mrn = m_mrn->text().toStdString();
    input.familyName = m_family->text().toStdString();
    input.givenName = m_given->text().toStdString();
    input.birthDate = m_birthDate->text().toStdString();
    input.sex = m_sex->currentData().toString().toStdString();
    if (input.sex.empty()) {
        showError(m_error, tr("Sex: choose one"));
        return;
    }
    auto added = m_submit(input);
    if (!added) {
        showError(m_error, describeError(added.error()));
        return;
    }
    QDialog::accept();
}

}  // namespace neuroplan::gui
