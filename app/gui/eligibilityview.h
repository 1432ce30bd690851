// The eligibility tab: the selected patient's latest evaluation with every criterion, its
// evidence and source; entering a case (from a file or as JSON text, checked as it is typed);
// and the physician's sign-off. All decisions come from core's EligibilityService.
#pragma once

#include <QAbstractTableModel>
#include <QDialog>
#include <QWidget>
#include <optional>

#include "eligibility/service.h"

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTableView;

namespace neuroplan::gui {

/// Rows: every finding of both modalities (modality, effect, rule, message, source).
class FindingsModel : public QAbstractTableModel {
    Q_OBJECT
  public:
    enum Column { Modality, Effect, Rule, Message, Source, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;

    void setEvaluation(const nlohmann::json& result);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

  private:
    struct Row {
        QString modality, effect, rule, message, source;
    };
    std::vector<Row> m_rows;
};

/// Rows: the case's trials with category, adequacy, outcome and reasons.
class TrialsModel : public QAbstractTableModel {
    Q_OBJECT
  public:
    enum Column { Index, Summary, Category, Adequate, Failed, Reasons, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;

    void setEvaluation(const nlohmann::json& result);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

  private:
    nlohmann::json m_trials = nlohmann::json::array();
};

/// Enter a case as JSON (typed, pasted or loaded); errors name the field path as you type.
class CaseEditorDialog : public QDialog {
    Q_OBJECT
  public:
    CaseEditorDialog(const QString& mrn, QWidget* parent = nullptr);
    QPlainTextEdit* editor() const { return m_editor; }
    QLabel* statusLabel() const { return m_status; }
    /// The parsed document once the text is a valid case.
    const std::optional<nlohmann::json>& document() const { return m_document; }

  private slots:
    void check();
    void loadFile();

  private:
    QPlainTextEdit* m_editor;
    QLabel* m_status;
    QPushButton* m_ok;
    std::optional<nlohmann::json> m_document;
};

class SignDialog : public QDialog {
    Q_OBJECT
  public:
    using Submit = std::function<Result<eligibility::StoredEvaluation>(
        eligibility::Decision rtms, eligibility::Decision vns, const std::string& reason)>;
    SignDialog(const eligibility::StoredEvaluation& evaluation, Submit submit,
               QWidget* parent = nullptr);
    QComboBox* rtmsCombo() const { return m_rtms; }
    QComboBox* vnsCombo() const { return m_vns; }
    QPlainTextEdit* reasonEdit() const { return m_reason; }
    QLabel* errorLabel() const { return m_error; }

  public slots:
    void accept() override;

  private:
    void updateHint();
    eligibility::Decision m_computedRtms;
    eligibility::Decision m_computedVns;
    Submit m_submit;
    QComboBox* m_rtms;
    QComboBox* m_vns;
    QPlainTextEdit* m_reason;
    QLabel* m_hint;
    QLabel* m_error;
};

class EligibilityView : public QWidget {
    Q_OBJECT
  public:
    EligibilityView(store::Store& store, QWidget* parent = nullptr);

    void setActor(const std::optional<records::Actor>& actor);
    /// Shows the patient's latest evaluation (empty MRN: nothing selected).
    void showPatient(const QString& mrn);
    /// Evaluates and stores a case document for the shown patient; returns core's answer.
    Result<eligibility::StoredEvaluation> recordCase(const nlohmann::json& document);

    const std::optional<eligibility::StoredEvaluation>& current() const { return m_current; }
    FindingsModel* findingsModel() const { return m_findings; }
    TrialsModel* trialsModel() const { return m_trials; }
    QLabel* summaryLabel() const { return m_summary; }
    QPushButton* signButton() const { return m_sign; }
    QPushButton* enterCaseButton() const { return m_enterCase; }

  public slots:
    void enterCase();
    void signCurrent();

  private:
    void refresh();

    store::Store& m_store;
    eligibility::EligibilityService m_service;
    std::optional<records::Actor> m_actor;
    QString m_mrn;
    std::optional<eligibility::StoredEvaluation> m_current;

    QLabel* m_patient;
    QLabel* m_summary;
    QLabel* m_signature;
    QPushButton* m_enterCase;
    QPushButton* m_sign;
    FindingsModel* m_findings;
    TrialsModel* m_trials;
    QTableView* m_findingsView;
    QTableView* m_trialsView;
};

}  // namespace neuroplan::gui
