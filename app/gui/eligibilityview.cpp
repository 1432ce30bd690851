#include "eligibilityview.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include "base/json_reader.h"
#include "dialogs.h"
#include "eligibility/case.h"

namespace neuroplan::gui {

using eligibility::Decision;
using nlohmann::json;

namespace {

QString text(const json& value) {
    if (value.is_string()) {
        return QString::fromStdString(value.get<std::string>());
    }
    if (value.is_null()) {
        return QStringLiteral("—");
    }
    return QString::fromStdString(value.dump());
}

QString decisionText(Decision d) {
    switch (d) {
        case Decision::Eligible:
            return QObject::tr("eligible");
        case Decision::NeedsReview:
            return QObject::tr("needs review");
        case Decision::NotEligible:
            return QObject::tr("not eligible");
    }
    return {};
}

QString decisionColour(Decision d) {
    switch (d) {
        case Decision::Eligible:
            return "#1b5e20";
        case Decision::NeedsReview:
            return "#8a5a00";
        case Decision::NotEligible:
            return "#b00020";
    }
    return "black";
}

QComboBox* decisionCombo(Decision initial, QWidget* parent) {
    auto* combo = new QComboBox(parent);
    for (Decision d : {Decision::Eligible, Decision::NeedsReview, Decision::NotEligible}) {
        combo->addItem(decisionText(d), static_cast<int>(d));
    }
    combo->setCurrentIndex(combo->findData(static_cast<int>(initial)));
    return combo;
}

QTableView* makeTable(QAbstractItemModel* model, QWidget* parent) {
    auto* view = new QTableView(parent);
    view->setModel(model);
    view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setWordWrap(true);
    view->verticalHeader()->hide();
    view->horizontalHeader()->setStretchLastSection(true);
    return view;
}

}  // namespace

// ---- FindingsModel ------------------------------------------------------------------------

void FindingsModel::setEvaluation(const json& result) {
    beginResetModel();
    m_rows.clear();
    for (const char* modality : {"rtms", "vns"}) {
        if (!result.is_object() || !result.contains(modality)) {
            continue;
        }
        // Blocks first, then review, then info: what needs a physician's eye comes first.
        for (const char* effect : {"blocks", "review", "info"}) {
            for (const json& f : result[modality]["findings"]) {
                if (f.value("effect", "") != effect) {
                    continue;
                }
                m_rows.push_back({modality == std::string("rtms") ? "rTMS" : "VNS",
                                  text(f["effect"]), text(f["rule"]), text(f["message"]),
                                  text(f["source"])});
            }
        }
    }
    endResetModel();
}

int FindingsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int FindingsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant FindingsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(m_rows.size())) {
        return {};
    }
    const Row& row = m_rows[static_cast<std::size_t>(index.row())];
    if (role == Qt::ForegroundRole && index.column() == Effect) {
        return QColor(row.effect == "blocks"   ? "#b00020"
                      : row.effect == "review" ? "#8a5a00"
                                               : "#555555");
    }
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole) {
        return {};
    }
    switch (index.column()) {
        case Modality:
            return row.modality;
        case Effect:
            return row.effect;
        case Rule:
            return row.rule;
        case Message:
            return row.message;
        case Source:
            return row.source;
        default:
            return {};
    }
}

QVariant FindingsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    static const char* kHeaders[] = {"For", "Effect", "Rule", "Evidence", "Source"};
    return section >= 0 && section < ColumnCount ? tr(kHeaders[section]) : QVariant();
}

// ---- TrialsModel --------------------------------------------------------------------------

void TrialsModel::setEvaluation(const json& result) {
    beginResetModel();
    m_trials = result.is_object() && result.contains("refractory")
                   ? result["refractory"].value("trials", json::array())
                   : json::array();
    endResetModel();
}

int TrialsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_trials.size());
}

int TrialsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TrialsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(m_trials.size()) ||
        (role != Qt::DisplayRole && role != Qt::ToolTipRole)) {
        return {};
    }
    const json& t = m_trials[static_cast<std::size_t>(index.row())];
    const auto yesNo = [](const json& v) -> QVariant {
        return v.is_boolean() ? (v.get<bool>() ? tr("yes") : tr("no")) : tr("—");
    };
    switch (index.column()) {
        case Index:
            return t.value("index", 0);
        case Summary:
            return text(t["summary"]);
        case Category:
            return text(t["category"]);
        case Adequate:
            return yesNo(t["adequate"]);
        case Failed:
            return yesNo(t["failed"]);
        case Reasons: {
            QStringList reasons;
            for (const json& r : t["reasons"]) {
                reasons << text(r);
            }
            if (role == Qt::ToolTipRole) {
                QStringList details;
                for (const json& d : t["details"]) {
                    details << text(d["message"]);
                }
                return details.join("\n");
            }
            return reasons.join(", ");
        }
        default:
            return {};
    }
}

QVariant TrialsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    static const char* kHeaders[] = {"#", "Trial", "Category", "Adequate", "Failed", "Reasons"};
    return section >= 0 && section < ColumnCount ? tr(kHeaders[section]) : QVariant();
}

// ---- CaseEditorDialog -----------------------------------------------------------------------

CaseEditorDialog::CaseEditorDialog(const QString& mrn, QWidget* parent)
    : QDialog(parent), m_editor(new QPlainTextEdit(this)), m_status(new QLabel(this)) {
    setWindowTitle(tr("Enter case for %1").arg(mrn));
    resize(760, 560);
    m_editor->setObjectName("caseEditor");
    QFont mono("monospace");
    mono.setStyleHint(QFont::Monospace);
    m_editor->setFont(mono);
    m_editor->setPlaceholderText(tr("Paste or load a case file (docs/case-format.md)."));
    m_status->setObjectName("caseStatus");
    m_status->setWordWrap(true);
    auto* load = new QPushButton(tr("&Load file…"), this);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_ok = buttons->button(QDialogButtonBox::Ok);
    m_ok->setText(tr("Evaluate and store"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(load, &QPushButton::clicked, this, &CaseEditorDialog::loadFile);
    connect(m_editor, &QPlainTextEdit::textChanged, this, &CaseEditorDialog::check);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_editor);
    layout->addWidget(m_status);
    auto* row = new QHBoxLayout;
    row->addWidget(load);
    row->addStretch();
    row->addWidget(buttons);
    layout->addLayout(row);
    check();
}

void CaseEditorDialog::check() {
    m_document.reset();
    const std::string source = m_editor->toPlainText().toStdString();
    auto parsed = parseJsonText(source, "case");
    Status valid = parsed ? Status() : Status(parsed.error());
    if (parsed) {
        auto asCase = eligibility::parseCase(*parsed);
        if (!asCase) {
            valid = asCase.error();
        }
    }
    if (source.find_first_not_of(" \t\r\n") == std::string::npos) {
        m_status->setText(tr("Empty"));
        m_status->setStyleSheet({});
    } else if (valid) {
        m_document = *parsed;
        m_status->setText(tr("Valid case"));
        m_status->setStyleSheet("color: #1b5e20;");
    } else {
        m_status->setText(QString::fromStdString(valid.error().describe()));
        m_status->setStyleSheet("color: #b00020;");
    }
    m_ok->setEnabled(m_document.has_value());
}

void CaseEditorDialog::loadFile() {
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Case file"), {}, tr("Case files (*.json)"));
    QFile file(path);
    if (!path.isEmpty() && file.open(QIODevice::ReadOnly)) {
        m_editor->setPlainText(QString::fromUtf8(file.readAll()));
    }
}

// ---- SignDialog -----------------------------------------------------------------------------

SignDialog::SignDialog(const eligibility::StoredEvaluation& evaluation, Submit submit,
                       QWidget* parent)
    : QDialog(parent),
      m_computedRtms(evaluation.rtms),
      m_computedVns(evaluation.vns),
      m_submit(std::move(submit)),
      m_rtms(decisionCombo(evaluation.rtms, this)),
      m_vns(decisionCombo(evaluation.vns, this)),
      m_reason(new QPlainTextEdit(this)),
      m_hint(new QLabel(this)),
      m_error(new QLabel(this)) {
    setWindowTitle(tr("Sign eligibility decision"));
    m_reason->setObjectName("reason");
    m_reason->setTabChangesFocus(true);
    m_error->setObjectName("errorLabel");
    m_error->setStyleSheet("color: #b00020;");
    m_error->setWordWrap(true);
    m_hint->setWordWrap(true);
    auto* form = new QFormLayout;
    form->addRow(tr("Computed:"),
                 new QLabel(tr("rTMS %1, VNS %2 (evaluation %3, %4)")
                                .arg(decisionText(evaluation.rtms), decisionText(evaluation.vns))
                                .arg(evaluation.id)
                                .arg(QString::fromStdString(evaluation.ruleSetId)),
                            this));
    form->addRow(tr("&rTMS:"), m_rtms);
    form->addRow(tr("&VNS:"), m_vns);
    form->addRow(tr("R&eason:"), m_reason);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Sign"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_rtms, &QComboBox::currentIndexChanged, this, &SignDialog::updateHint);
    connect(m_vns, &QComboBox::currentIndexChanged, this, &SignDialog::updateHint);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_hint);
    layout->addWidget(m_error);
    layout->addWidget(buttons);
    updateHint();
}

void SignDialog::updateHint() {
    const bool differs = static_cast<Decision>(m_rtms->currentData().toInt()) != m_computedRtms ||
                         static_cast<Decision>(m_vns->currentData().toInt()) != m_computedVns;
    m_hint->setText(differs ? tr("Your decision differs from the computed one: a written reason "
                                 "is required and is kept with the signature.")
                            : tr("Signing confirms the computed decision. Signed decisions cannot "
                                 "be changed; a new evaluation supersedes them."));
}

void SignDialog::accept() {
    auto result = m_submit(static_cast<Decision>(m_rtms->currentData().toInt()),
                           static_cast<Decision>(m_vns->currentData().toInt()),
                           m_reason->toPlainText().toStdString());
    if (!result) {
        m_error->setText(QString::fromStdString(result.error().describe()));
        return;
    }
    QDialog::accept();
}

// ---- EligibilityView ------------------------------------------------------------------------

EligibilityView::EligibilityView(store::Store& store, QWidget* parent)
    : QWidget(parent),
      m_store(store),
      m_service(store),
      m_patient(new QLabel(this)),
      m_summary(new QLabel(this)),
      m_signature(new QLabel(this)),
      m_enterCase(new QPushButton(tr("&Enter case…"), this)),
      m_sign(new QPushButton(tr("&Sign…"), this)),
      m_findings(new FindingsModel(this)),
      m_trials(new TrialsModel(this)),
      m_findingsView(makeTable(m_findings, this)),
      m_trialsView(makeTable(m_trials, this)) {
    m_summary->setObjectName("eligibilitySummary");
    m_summary->setTextFormat(Qt::RichText);
    m_signature->setWordWrap(true);
    m_enterCase->setObjectName("enterCase");
    m_sign->setObjectName("signEvaluation");
    connect(m_enterCase, &QPushButton::clicked, this, &EligibilityView::enterCase);
    connect(m_sign, &QPushButton::clicked, this, &EligibilityView::signCurrent);
    m_findingsView->horizontalHeader()->setSectionResizeMode(FindingsModel::Message,
                                                             QHeaderView::Stretch);
    m_findingsView->horizontalHeader()->setSectionResizeMode(FindingsModel::Source,
                                                             QHeaderView::Interactive);
    m_findingsView->setColumnWidth(FindingsModel::Rule, 230);
    m_findingsView->setColumnWidth(FindingsModel::Source, 260);
    m_trialsView->horizontalHeader()->setSectionResizeMode(TrialsModel::Summary,
                                                           QHeaderView::Stretch);
    connect(m_findings, &QAbstractItemModel::modelReset, m_findingsView,
            &QTableView::resizeRowsToContents);

    auto* header = new QHBoxLayout;
    header->addWidget(m_patient, 1);
    header->addWidget(m_enterCase);
    header->addWidget(m_sign);
    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(m_trialsView);
    splitter->addWidget(m_findingsView);
    splitter->setStretchFactor(1, 3);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(header);
    layout->addWidget(m_summary);
    layout->addWidget(m_signature);
    layout->addWidget(splitter, 1);
    refresh();
}

void EligibilityView::setActor(const std::optional<records::Actor>& actor) {
    m_actor = actor;
    if (!m_actor) {
        m_mrn.clear();
    }
    refresh();
}

void EligibilityView::showPatient(const QString& mrn) {
    m_mrn = mrn;
    refresh();
}

void EligibilityView::refresh() {
    m_current.reset();
    if (m_actor && !m_mrn.isEmpty()) {
        auto history = m_service.history(*m_actor, m_mrn.toStdString());
        if (history && !history->empty()) {
            m_current = history->front();
        }
    }
    m_patient->setText(m_mrn.isEmpty() ? tr("Select a patient on the Patients tab.")
                                       : tr("Patient %1").arg(m_mrn));
    const json result = m_current ? m_current->result : json();
    m_findings->setEvaluation(result);
    m_trials->setEvaluation(result);
    if (!m_current) {
        m_summary->setText(m_mrn.isEmpty() ? QString() : tr("No evaluation yet."));
        m_signature->clear();
    } else {
        const auto& e = *m_current;
        m_summary->setText(
            tr("<b>Evaluation %1</b> (%2 %3, %4): refractory status <b>%5</b> · rTMS "
               "<b style='color:%6'>%7</b> · VNS <b style='color:%8'>%9</b> · both off-label")
                .arg(e.id)
                .arg(QString::fromStdString(e.ruleSetId), QString::fromStdString(e.ruleSetVersion),
                     QString::fromStdString(e.evaluatedUtc),
                     QString::fromLatin1(eligibility::toString(e.status)), decisionColour(e.rtms),
                     decisionText(e.rtms), decisionColour(e.vns), decisionText(e.vns)));
        if (e.signature) {
            const auto& s = *e.signature;
            m_signature->setText(tr("Signed by %1 at %2: rTMS %3, VNS %4%5")
                                     .arg(QString::fromStdString(s.physicianName),
                                          QString::fromStdString(s.signedUtc), decisionText(s.rtms),
                                          decisionText(s.vns),
                                          s.differs ? tr(" (differs from computed: %1)")
                                                          .arg(QString::fromStdString(s.reason))
                                                    : QString()));
        } else {
            m_signature->setText(tr("Not signed."));
        }
    }
    const bool canEnter = m_actor && !m_mrn.isEmpty() &&
                          records::roleAllows(m_actor->role, records::Permission::EditPatients);
    m_enterCase->setEnabled(canEnter);
    m_sign->setEnabled(m_current && !m_current->signature && m_actor &&
                       records::roleAllows(m_actor->role, records::Permission::SignClinical));
    m_sign->setToolTip(
        m_actor && !records::roleAllows(m_actor->role, records::Permission::SignClinical)
            ? tr("Only a physician signs eligibility decisions")
            : QString());
}

Result<eligibility::StoredEvaluation> EligibilityView::recordCase(const json& document) {
    if (!m_actor || m_mrn.isEmpty()) {
        return makeError(ErrorCode::InvalidInput, "", "no patient selected");
    }
    auto stored = m_service.record(*m_actor, m_mrn.toStdString(), document);
    refresh();
    return stored;
}

void EligibilityView::enterCase() {
    CaseEditorDialog dialog(m_mrn, this);
    if (dialog.exec() != QDialog::Accepted || !dialog.document()) {
        return;
    }
    auto stored = recordCase(*dialog.document());
    if (!stored) {
        QMessageBox::warning(this, tr("Case not stored"), describeError(stored.error()));
    }
}

void EligibilityView::signCurrent() {
    if (!m_current || !m_actor) {
        return;
    }
    SignDialog dialog(
        *m_current,
        [this](Decision rtms, Decision vns, const std::string& reason) {
            return m_service.sign(*m_actor, m_current->id, rtms, vns, reason);
        },
        this);
    dialog.exec();
    refresh();
}

}  // namespace neuroplan::gui
