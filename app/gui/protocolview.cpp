#include "protocolview.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>
#include <cmath>

#include "dialogs.h"
#include "records/patients.h"

namespace neuroplan::gui {

using nlohmann::json;
namespace np = neuroplan::protocols;

namespace {

const char* kIntegerKeys[] = {"trains", "pulses_per_burst", "sessions_per_day",
                              "sessions_in_course"};

bool isInteger(const std::string& key) {
    for (const char* k : kIntegerKeys) {
        if (key == k) {
            return true;
        }
    }
    return false;
}

QString severityColour(np::Severity s) {
    switch (s) {
        case np::Severity::Ok:
            return "#1b5e20";
        case np::Severity::Warning:
            return "#8a5a00";
        case np::Severity::Violation:
            return "#b00020";
        case np::Severity::Invalid:
            return "#6a0010";
    }
    return "black";
}

QString verdictHelp(np::Severity s) {
    switch (s) {
        case np::Severity::Ok:
            return QObject::tr("within the safety limits");
        case np::Severity::Warning:
            return QObject::tr("acknowledge the warnings to proceed");
        case np::Severity::Violation:
            return QObject::tr("needs a physician's override with a written reason");
        case np::Severity::Invalid:
            return QObject::tr("cannot be delivered; no override");
    }
    return {};
}

}  // namespace

// ---- ProtocolFindingsModel ----------------------------------------------------------------

void ProtocolFindingsModel::setFindings(std::vector<np::Finding> findings) {
    beginResetModel();
    m_findings = std::move(findings);
    std::stable_sort(
        m_findings.begin(), m_findings.end(),
        [](const np::Finding& a, const np::Finding& b) { return a.severity > b.severity; });
    endResetModel();
}

int ProtocolFindingsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_findings.size());
}

int ProtocolFindingsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ProtocolFindingsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(m_findings.size())) {
        return {};
    }
    const np::Finding& f = m_findings[static_cast<std::size_t>(index.row())];
    if (role == Qt::ForegroundRole && index.column() == Severity) {
        return QColor(severityColour(f.severity));
    }
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole) {
        return {};
    }
    switch (index.column()) {
        case Severity:
            return QString::fromLatin1(np::toString(f.severity));
        case Rule:
            return QString::fromStdString(f.rule);
        case Message:
            return QString::fromStdString(f.message);
        case Source:
            return QString::fromStdString(f.source);
        default:
            return {};
    }
}

QVariant ProtocolFindingsModel::headerData(int section, Qt::Orientation orientation,
                                           int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    static const char* kHeaders[] = {"Severity", "Rule", "Finding", "Source"};
    return section >= 0 && section < ColumnCount ? tr(kHeaders[section]) : QVariant();
}

// ---- ApproveDialog ------------------------------------------------------------------------

ApproveDialog::ApproveDialog(const courses::ProtocolVersion& version, Submit submit,
                             QWidget* parent)
    : QDialog(parent),
      m_submit(std::move(submit)),
      m_acknowledge(new QCheckBox(tr("I have read and acknowledge the warnings"), this)),
      m_reason(new QPlainTextEdit(this)),
      m_error(new QLabel(this)) {
    setWindowTitle(tr("Approve protocol version %1").arg(version.version));
    m_reason->setObjectName("overrideReason");
    m_reason->setTabChangesFocus(true);
    m_reason->setPlaceholderText(tr("Required to override a safety-limit violation"));
    m_error->setStyleSheet("color: #b00020;");
    m_error->setWordWrap(true);
    auto* layout = new QVBoxLayout(this);
    auto* summary = new QLabel(
        tr("Version %1 (sha256 %2…), verdict when saved: <b>%3</b>. It is validated again "
           "against the patient's current motor threshold when you approve.")
            .arg(version.version)
            .arg(QString::fromStdString(version.contentSha256.substr(0, 16)),
                 QString::fromStdString(version.verdict)),
        this);
    summary->setWordWrap(true);
    layout->addWidget(summary);
    layout->addWidget(m_acknowledge);
    layout->addWidget(new QLabel(tr("Override reason:"), this));
    layout->addWidget(m_reason);
    layout->addWidget(m_error);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Approve"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
}

void ApproveDialog::accept() {
    auto result = m_submit(m_acknowledge->isChecked(), m_reason->toPlainText().toStdString());
    if (!result) {
        m_error->setText(QString::fromStdString(result.error().describe()));
        return;
    }
    QDialog::accept();
}

// ---- ProtocolView -------------------------------------------------------------------------

ProtocolView::ProtocolView(store::Store& store, QWidget* parent)
    : QWidget(parent),
      m_store(store),
      m_courses(store),
      m_course(new QComboBox(this)),
      m_template(new QComboBox(this)),
      m_versionInfo(new QLabel(this)),
      m_forms(new QStackedWidget(this)),
      m_pattern(new QComboBox(this)),
      m_device(new QComboBox(this)),
      m_verdict(new QLabel(this)),
      m_derived(new QLabel(this)),
      m_findings(new ProtocolFindingsModel(this)),
      m_findingsView(new QTableView(this)),
      m_save(new QPushButton(tr("Save as new &version"), this)),
      m_approve(new QPushButton(tr("A&pprove…"), this)) {
    m_course->setObjectName("course");
    m_template->setObjectName("template");
    m_verdict->setObjectName("verdict");
    m_derived->setObjectName("derived");
    m_derived->setWordWrap(true);
    m_versionInfo->setWordWrap(true);
    m_template->addItem(tr("Start from a template…"), QString());
    for (const np::Template& t : np::Library::builtIn().templates) {
        m_template->addItem(QString::fromStdString(t.label), QString::fromStdString(t.id));
        m_template->setItemData(m_template->count() - 1,
                                QString::fromStdString(t.note + "\n" + np::describe(t.from)),
                                Qt::ToolTipRole);
    }
    auto* newCourse = new QPushButton(tr("New &course…"), this);

    buildRtmsForm();
    buildVnsForm();

    m_findingsView->setModel(m_findings);
    m_findingsView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_findingsView->setWordWrap(true);
    m_findingsView->verticalHeader()->hide();
    m_findingsView->horizontalHeader()->setSectionResizeMode(ProtocolFindingsModel::Message,
                                                             QHeaderView::Stretch);
    m_findingsView->setColumnWidth(ProtocolFindingsModel::Rule, 190);
    m_findingsView->setColumnWidth(ProtocolFindingsModel::Source, 300);
    connect(m_findings, &QAbstractItemModel::modelReset, m_findingsView,
            &QTableView::resizeRowsToContents);

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Course:"), this));
    top->addWidget(m_course, 1);
    top->addWidget(newCourse);
    top->addWidget(m_template, 1);
    auto* actions = new QHBoxLayout;
    actions->addWidget(m_versionInfo, 1);
    actions->addWidget(m_save);
    actions->addWidget(m_approve);
    auto* left = new QVBoxLayout;
    left->addWidget(m_forms);
    left->addStretch();
    auto* right = new QVBoxLayout;
    right->addWidget(m_verdict);
    right->addWidget(m_derived);
    right->addWidget(m_findingsView, 1);
    auto* middle = new QHBoxLayout;
    middle->addLayout(left);
    middle->addLayout(right, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addLayout(middle, 1);
    layout->addLayout(actions);

    connect(m_course, &QComboBox::currentIndexChanged, this, &ProtocolView::courseChanged);
    connect(m_template, &QComboBox::activated, this, [this](int index) {
        const QString id = m_template->itemData(index).toString();
        if (const np::Template* t = np::Library::builtIn().findTemplate(id.toStdString())) {
            load(t->protocol);
        }
        m_template->setCurrentIndex(0);
    });
    connect(m_save, &QPushButton::clicked, this, [this] {
        auto saved = saveVersion();
        if (!saved) {
            QMessageBox::warning(this, tr("Protocol not saved"), describeError(saved.error()));
        }
    });
    connect(m_approve, &QPushButton::clicked, this, &ProtocolView::approveLatest);
    connect(newCourse, &QPushButton::clicked, this, [this] {
        if (!m_actor || m_mrn.isEmpty()) {
            return;
        }
        bool ok = false;
        const QString kind = QInputDialog::getItem(this, tr("New course"), tr("Kind:"),
                                                   {"rtms", "vns"}, 0, false, &ok);
        if (!ok) {
            return;
        }
        const QString label =
            QInputDialog::getText(this, tr("New course"), tr("Label:"), QLineEdit::Normal,
                                  tr("%1 course").arg(kind), &ok);
        if (!ok) {
            return;
        }
        auto created = m_courses.createCourse(*m_actor, m_mrn.toStdString(), label.toStdString(),
                                              kind.toStdString());
        if (!created) {
            QMessageBox::warning(this, tr("Course not created"), describeError(created.error()));
            return;
        }
        reloadCourses();
        m_course->setCurrentIndex(m_course->findData(static_cast<qlonglong>(created->id)));
    });
    reloadCourses();
}

QDoubleSpinBox* ProtocolView::addField(QFormLayout* form, const std::string& key,
                                       const QString& label, double min, double max, double step,
                                       int decimals, const QString& suffix) {
    auto* spin = new QDoubleSpinBox(this);
    spin->setObjectName(QString::fromStdString(key));
    spin->setRange(min - step, max);  // the value below the range means "not given"
    spin->setSpecialValueText(tr("—"));
    spin->setSingleStep(step);
    spin->setDecimals(decimals);
    spin->setSuffix(suffix);
    spin->setKeyboardTracking(true);
    form->addRow(label, spin);
    connect(spin, &QDoubleSpinBox::valueChanged, this, &ProtocolView::revalidate);
    return spin;
}

void ProtocolView::buildRtmsForm() {
    auto* page = new QWidget(this);
    auto* form = new QFormLayout(page);
    for (const char* pattern : {"conventional", "itbs", "ctbs"}) {
        m_pattern->addItem(QString::fromLatin1(pattern), QString::fromLatin1(pattern));
    }
    form->addRow(tr("&Pattern:"), m_pattern);
    const auto field = [&](const char* key, const QString& label, double min, double max,
                           double step, int decimals, const QString& suffix) {
        m_fields[key] = addField(form, key, label, min, max, step, decimals, suffix);
    };
    field("frequency_hz", tr("&Frequency:"), 0.1, 100, 0.1, 1, " Hz");
    field("burst_frequency_hz", tr("&Burst frequency:"), 1, 100, 1, 0, " Hz");
    field("pulses_per_burst", tr("Pulses per b&urst:"), 1, 10, 1, 0, "");
    field("burst_rate_hz", tr("Burst &rate:"), 0.1, 20, 0.1, 1, " Hz");
    field("intensity_percent_rmt", tr("&Intensity:"), 1, 250, 1, 0, " % RMT");
    field("train_duration_s", tr("&Train (on):"), 0.01, 3600, 0.1, 2, " s");
    field("inter_train_interval_s", tr("Pause after &each train:"), 0, 3600, 0.5, 2, " s");
    field("trains", tr("Tr&ains:"), 1, 1000, 1, 0, "");
    field("sessions_per_day", tr("Sessions per &day:"), 1, 20, 1, 0, "");
    field("min_minutes_between_sessions", tr("&Minutes between sessions:"), 0, 1440, 5, 0, " min");
    field("sessions_in_course", tr("Sessions in &course:"), 1, 200, 1, 0, "");
    for (const auto& p : np::Library::builtIn().rtmsProfiles) {
        m_device->addItem(QString::fromStdString(p.label), QString::fromStdString(p.id));
    }
    form->addRow(tr("De&vice profile:"), m_device);
    connect(m_pattern, &QComboBox::currentIndexChanged, this, &ProtocolView::revalidate);
    connect(m_device, &QComboBox::currentIndexChanged, this, &ProtocolView::revalidate);
    m_forms->addWidget(page);
}

void ProtocolView::buildVnsForm() {
    auto* page = new QWidget(this);
    auto* form = new QFormLayout(page);
    const auto field = [&](const char* key, const QString& label, double min, double max,
                           double step, int decimals, const QString& suffix) {
        m_vnsFields[key] = addField(form, key, label, min, max, step, decimals, suffix);
    };
    field("output_current_ma", tr("Output &current:"), 0, 3.5, 0.125, 3, " mA");
    field("pulse_width_us", tr("&Pulse width:"), 130, 1000, 10, 0, " µs");
    field("frequency_hz", tr("&Frequency:"), 1, 30, 1, 0, " Hz");
    field("on_time_s", tr("&ON time:"), 7, 60, 1, 0, " s");
    field("off_time_min", tr("O&FF time:"), 0.2, 180, 0.1, 1, " min");
    field("magnet.output_current_ma", tr("&Magnet current:"), 0, 3.5, 0.125, 3, " mA");
    field("magnet.pulse_width_us", tr("Magnet pulse &width:"), 130, 1000, 10, 0, " µs");
    field("magnet.on_time_s", tr("Magnet O&N time:"), 7, 60, 1, 0, " s");
    field("last_delivered_current_ma", tr("&Last delivered:"), 0, 3.5, 0.125, 3, " mA");
    m_forms->addWidget(page);
}

void ProtocolView::setActor(const std::optional<records::Actor>& actor) {
    m_actor = actor;
    if (!m_actor) {
        m_mrn.clear();
    }
    reloadCourses();
}

void ProtocolView::showPatient(const QString& mrn) {
    m_mrn = mrn;
    reloadCourses();
}

void ProtocolView::reloadCourses() {
    m_loading = true;
    m_course->clear();
    m_patientId.reset();
    if (m_actor && !m_mrn.isEmpty()) {
        if (auto patient =
                records::PatientService(m_store).findByMrn(*m_actor, m_mrn.toStdString())) {
            m_patientId = patient->id;
        }
        if (auto list = m_courses.courses(*m_actor, m_mrn.toStdString())) {
            for (const auto& c : *list) {
                m_course->addItem(QString::fromStdString(c.label + " (" + c.kind + ")"),
                                  static_cast<qlonglong>(c.id));
                m_course->setItemData(m_course->count() - 1, QString::fromStdString(c.kind),
                                      Qt::UserRole + 1);
            }
        }
    }
    m_loading = false;
    courseChanged();
}

void ProtocolView::courseChanged() {
    if (m_loading) {
        return;
    }
    m_latest.reset();
    const bool vns = m_course->currentData(Qt::UserRole + 1).toString() == "vns";
    m_forms->setCurrentIndex(vns ? 1 : 0);
    m_template->setEnabled(!vns && m_course->count() > 0);
    if (m_actor && m_course->count() > 0) {
        auto versions = m_courses.versions(*m_actor, m_course->currentData().toLongLong());
        if (versions && !versions->empty()) {
            m_latest = versions->front();
        }
    }
    if (m_latest) {
        load(m_latest->protocol);
    } else {
        load(json::object());
    }
}

void ProtocolView::load(const json& protocol) {
    m_loading = true;
    auto& fields = m_forms->currentIndex() == 1 ? m_vnsFields : m_fields;
    for (auto& [key, spin] : fields) {
        const json* value = nullptr;
        const auto dot = key.find('.');
        if (dot == std::string::npos) {
            value = protocol.contains(key) ? &protocol[key] : nullptr;
        } else if (protocol.contains(key.substr(0, dot))) {
            const json& inner = protocol[key.substr(0, dot)];
            const std::string leaf = key.substr(dot + 1);
            value = inner.contains(leaf) ? &inner[leaf] : nullptr;
        }
        spin->setValue(value != nullptr && value->is_number() ? value->get<double>()
                                                              : spin->minimum());
    }
    if (protocol.contains("pattern")) {
        m_pattern->setCurrentIndex(
            m_pattern->findData(QString::fromStdString(protocol["pattern"].get<std::string>())));
    }
    const std::string device = protocol.value("device_profile", "generic-rtms");
    m_device->setCurrentIndex(std::max(0, m_device->findData(QString::fromStdString(device))));
    m_loading = false;
    revalidate();
}

bool ProtocolView::setValue(const std::string& key, double value) {
    auto& fields = m_forms->currentIndex() == 1 ? m_vnsFields : m_fields;
    const auto it = fields.find(key);
    if (it == fields.end()) {
        return false;
    }
    it->second->setValue(value);
    return true;
}

json ProtocolView::currentDocument() const {
    const bool vns = m_forms->currentIndex() == 1;
    json document{{"kind", vns ? "vns" : "rtms"}};
    const auto& fields = vns ? m_vnsFields : m_fields;
    const bool tbs = m_pattern->currentData().toString() != "conventional";
    for (const auto& [key, spin] : fields) {
        if (spin->value() <= spin->minimum()) {
            continue;  // "—": not given
        }
        if (!vns && ((tbs && key == "frequency_hz") ||
                     (!tbs && (key == "burst_frequency_hz" || key == "pulses_per_burst" ||
                               key == "burst_rate_hz")))) {
            continue;
        }
        const json value = isInteger(key) ? json(std::llround(spin->value())) : json(spin->value());
        const auto dot = key.find('.');
        if (dot == std::string::npos) {
            document[key] = value;
        } else {
            document[key.substr(0, dot)][key.substr(dot + 1)] = value;
        }
    }
    if (!vns) {
        document["pattern"] = m_pattern->currentData().toString().toStdString();
        // The default profile is implied, as in a protocol file that names none.
        const std::string device = m_device->currentData().toString().toStdString();
        if (device != "generic-rtms" ||
            (m_latest && m_latest->protocol.contains("device_profile"))) {
            document["device_profile"] = device;
        }
        if (m_latest && m_latest->protocol.is_object()) {
            for (const char* text : {"target", "coil", "name"}) {
                if (m_latest->protocol.contains(text)) {
                    document[text] = m_latest->protocol[text];
                }
            }
        }
    }
    return document;
}

void ProtocolView::revalidate() {
    if (m_loading) {
        return;
    }
    const bool tbs = m_pattern->currentData().toString() != "conventional";
    m_fields["frequency_hz"]->setEnabled(!tbs);
    for (const char* key : {"burst_frequency_hz", "pulses_per_burst", "burst_rate_hz"}) {
        m_fields[key]->setEnabled(tbs);
    }
    m_report.reset();
    auto protocol = np::parseProtocol(currentDocument());
    if (!protocol) {
        m_verdict->setText(QString::fromStdString(protocol.error().describe()));
        m_derived->clear();
        m_findings->setFindings({});
        updateButtons();
        return;
    }
    np::RtmsContext context;
    if (m_patientId) {
        if (auto c = m_courses.rtmsContext(*m_patientId)) {
            context = *c;
        }
    }
    m_report = np::validate(*protocol, context);
    m_verdict->setText(tr("<b style='color:%1'>%2</b>: %3")
                           .arg(severityColour(m_report->verdict),
                                QString::fromLatin1(np::toString(m_report->verdict)).toUpper(),
                                verdictHelp(m_report->verdict)));
    const json& d = m_report->derived;
    if (d.is_object() && d.contains("pulses_per_session")) {
        const double seconds = d.value("session_duration_s", 0.0);
        m_derived->setText(
            tr("%1 pulses a session (%2 a day, %3 a course) · %4 min %5 s a session · output %6")
                .arg(d.value("pulses_per_session", 0))
                .arg(d.value("daily_pulses", 0))
                .arg(d.value("course_pulses", 0))
                .arg(static_cast<int>(seconds) / 60)
                .arg(static_cast<int>(std::lround(seconds)) % 60)
                .arg(d["output_percent_mso"].is_number()
                         ? tr("%1 %MSO (RMT %2 %MSO, measured %3 days ago)")
                               .arg(d["output_percent_mso"].get<double>(), 0, 'f', 1)
                               .arg(context.rmtPercentMso.value_or(0))
                               .arg(context.mtAgeDays.value_or(0))
                         : tr("not known (no motor threshold recorded)")));
    } else if (d.is_object() && d["duty_cycle_percent"].is_number()) {
        m_derived->setText(
            tr("Duty cycle %1 %").arg(d["duty_cycle_percent"].get<double>(), 0, 'f', 1));
    } else {
        m_derived->setText(tr("Derived values appear when every value is given."));
    }
    m_findings->setFindings(m_report->findings);
    updateButtons();
}

void ProtocolView::updateButtons() {
    const bool haveCourse = m_actor && m_course->count() > 0;
    m_save->setEnabled(haveCourse && m_report.has_value() &&
                       records::roleAllows(m_actor->role, records::Permission::EditPatients));
    const bool physician =
        m_actor && records::roleAllows(m_actor->role, records::Permission::SignClinical);
    m_approve->setEnabled(haveCourse && physician && m_latest && !m_latest->approval);
    m_approve->setToolTip(physician ? QString() : tr("Only a physician approves protocols"));
    if (!haveCourse) {
        m_versionInfo->setText(m_mrn.isEmpty() ? tr("Select a patient on the Patients tab.")
                                               : tr("No course yet: create one."));
    } else if (!m_latest) {
        m_versionInfo->setText(tr("No protocol saved for this course yet."));
    } else {
        const bool changed = m_latest->protocol != currentDocument();
        m_versionInfo->setText(
            tr("Latest: version %1, %2, %3%4")
                .arg(m_latest->version)
                .arg(QString::fromStdString(m_latest->verdict),
                     m_latest->approval
                         ? tr("approved by %1")
                               .arg(QString::fromStdString(m_latest->approval->physicianLogin))
                         : tr("not approved"),
                     changed ? tr(" · the form has unsaved changes") : QString()));
    }
}

Result<courses::ProtocolVersion> ProtocolView::saveVersion() {
    if (!m_actor || m_course->count() == 0) {
        return makeError(ErrorCode::InvalidInput, "course", "no course selected");
    }
    auto saved =
        m_courses.saveProtocol(*m_actor, m_course->currentData().toLongLong(), currentDocument());
    if (saved) {
        m_latest = *saved;
        updateButtons();
    }
    return saved;
}

void ProtocolView::approveLatest() {
    if (!m_actor || !m_latest) {
        return;
    }
    const std::int64_t id = m_latest->id;
    ApproveDialog dialog(
        *m_latest,
        [this, id](bool acknowledge, const std::string& reason) {
            return m_courses.approve(*m_actor, id, acknowledge, reason);
        },
        this);
    if (dialog.exec() == QDialog::Accepted) {
        courseChanged();
    }
}

}  // namespace neuroplan::gui
