// The Protocols tab: a patient's courses and protocol versions, and a builder that shows the
// derived values and the safety findings live as a parameter changes. Templates to start from;
// saving makes a new version; a physician approves the latest one (acknowledging warnings or
// overriding a violation with a reason). Every rule is decided in protocols/ and core.
#pragma once

#include <QAbstractTableModel>
#include <QDialog>
#include <QWidget>
#include <map>
#include <optional>

#include "courses/courses.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QStackedWidget;
class QTableView;

namespace neuroplan::gui {

/// Rows: the findings of one validation (severity, rule, message, source).
class ProtocolFindingsModel : public QAbstractTableModel {
    Q_OBJECT
  public:
    enum Column { Severity, Rule, Message, Source, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;
    void setFindings(std::vector<protocols::Finding> findings);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

  private:
    std::vector<protocols::Finding> m_findings;
};

class ApproveDialog : public QDialog {
    Q_OBJECT
  public:
    using Submit = std::function<Result<courses::ProtocolVersion>(bool acknowledge,
                                                                  const std::string& reason)>;
    ApproveDialog(const courses::ProtocolVersion& version, Submit submit,
                  QWidget* parent = nullptr);
    QCheckBox* acknowledgeBox() const { return m_acknowledge; }
    QPlainTextEdit* reasonEdit() const { return m_reason; }
    QLabel* errorLabel() const { return m_error; }

  public slots:
    void accept() override;

  private:
    Submit m_submit;
    QCheckBox* m_acknowledge;
    QPlainTextEdit* m_reason;
    QLabel* m_error;
};

class ProtocolView : public QWidget {
    Q_OBJECT
  public:
    ProtocolView(store::Store& store, QWidget* parent = nullptr);

    void setActor(const std::optional<records::Actor>& actor);
    void showPatient(const QString& mrn);

    /// The protocol document the form describes now.
    nlohmann::json currentDocument() const;
    /// Fills the form from a protocol document (a template or a stored version).
    void load(const nlohmann::json& protocol);
    /// Sets one numeric field by its protocol key (tests and keyboard users).
    bool setValue(const std::string& key, double value);
    /// Saves the form as the selected course's next version.
    Result<courses::ProtocolVersion> saveVersion();

    ProtocolFindingsModel* findingsModel() const { return m_findings; }
    QLabel* verdictLabel() const { return m_verdict; }
    QLabel* derivedLabel() const { return m_derived; }
    QComboBox* courseCombo() const { return m_course; }
    QComboBox* templateCombo() const { return m_template; }
    QPushButton* saveButton() const { return m_save; }
    QPushButton* approveButton() const { return m_approve; }
    QLabel* versionLabel() const { return m_versionInfo; }

  public slots:
    void revalidate();
    void approveLatest();

  private:
    void reloadCourses();
    void courseChanged();
    void buildRtmsForm();
    void buildVnsForm();
    void updateButtons();
    QDoubleSpinBox* addField(QFormLayout* form, const std::string& key, const QString& label,
                             double min, double max, double step, int decimals,
                             const QString& suffix);

    store::Store& m_store;
    courses::CourseService m_courses;
    std::optional<records::Actor> m_actor;
    QString m_mrn;
    std::optional<std::int64_t> m_patientId;
    std::optional<courses::ProtocolVersion> m_latest;
    std::optional<protocols::Report> m_report;

    QComboBox* m_course;
    QComboBox* m_template;
    QLabel* m_versionInfo;
    QStackedWidget* m_forms;
    QComboBox* m_pattern;
    QComboBox* m_device;
    std::map<std::string, QDoubleSpinBox*> m_fields;
    std::map<std::string, QDoubleSpinBox*> m_vnsFields;
    QLabel* m_verdict;
    QLabel* m_derived;
    ProtocolFindingsModel* m_findings;
    QTableView* m_findingsView;
    QPushButton* m_save;
    QPushButton* m_approve;
    bool m_loading = false;
};

}  // namespace neuroplan::gui
