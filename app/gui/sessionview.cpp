#include <utility>  // before Asio (Boost 1.74 with C++20)

#include "sessionview.h"

#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QTableView>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

#include "dialogs.h"
#include "sessionrunneradapter.h"

namespace neuroplan::gui {

namespace ses = neuroplan::sessions;
using nlohmann::json;

namespace {

QString qs(const std::string& text) {
    return QString::fromStdString(text);
}

QString number(double value, int decimals) {
    return QString::number(value, 'f', decimals);
}

QString minutesSeconds(double seconds) {
    const int total = static_cast<int>(std::max(0.0, seconds));
    return QString("%1:%2").arg(total / 60).arg(total % 60, 2, 10, QChar('0'));
}

/// Colour of a status on the console: running green, paused amber, ended well blue, ended
/// early or aborted red.
QString statusColour(ses::SessionStatus status) {
    switch (status) {
        case ses::SessionStatus::Running:
            return "#1b5e20";
        case ses::SessionStatus::Paused:
            return "#e65100";
        case ses::SessionStatus::Completed:
            return "#0d47a1";
        case ses::SessionStatus::StoppedEarly:
        case ses::SessionStatus::Aborted:
        case ses::SessionStatus::Interrupted:
            return "#b71c1c";
        default:
            return "#37474f";
    }
}

/// A protocol version in a line a technician reads before starting.
QString protocolLine(const courses::ProtocolVersion& v) {
    const json& p = v.protocol;
    const auto num = [&](const char* key) -> std::optional<double> {
        if (p.contains(key) && p[key].is_number()) {
            return p[key].get<double>();
        }
        return std::nullopt;
    };
    QStringList parts;
    if (p.value("kind", "") == "vns") {
        if (auto ma = num("output_current_ma")) {
            parts << QString("%1 mA").arg(number(*ma, 2));
        }
        if (auto us = num("pulse_width_us")) {
            parts << QString("%1 µs").arg(*us);
        }
        if (auto hz = num("frequency_hz")) {
            parts << QString("%1 Hz").arg(*hz);
        }
        if (auto on = num("on_time_s"); on && num("off_time_min")) {
            parts << QObject::tr("%1 s on / %2 min off").arg(*on).arg(*num("off_time_min"));
        }
        return QObject::tr("VNS %1").arg(parts.join(", "));
    }
    const QString pattern = qs(p.value("pattern", std::string()));
    if (auto rmt = num("intensity_percent_rmt")) {
        parts << QObject::tr("%1 % RMT").arg(*rmt);
    }
    const json derived = v.report.value("derived", json::object());
    if (derived.is_object() && derived.contains("pulses_per_session")) {
        parts << QObject::tr("%1 pulses in %2 trains")
                     .arg(derived["pulses_per_session"].get<long long>())
                     .arg(num("trains").value_or(1));
        if (derived.contains("session_duration_s") && derived["session_duration_s"].is_number()) {
            parts << QObject::tr("about %1 min")
                         .arg(minutesSeconds(derived["session_duration_s"].get<double>()));
        }
    }
    if (p.contains("target")) {
        parts << qs(p["target"].get<std::string>());
    }
    const QString title =
        p.contains("name") ? QObject::tr("%1 (%2)").arg(qs(p["name"].get<std::string>()), pattern)
                           : pattern;
    return QObject::tr("rTMS %1: %2").arg(title, parts.join(", "));
}

}  // namespace

// ---- JournalModel ---------------------------------------------------------------------------

void JournalModel::sync(std::vector<ses::StoredEvent> events) {
    const bool extends = events.size() >= m_events.size() &&
                         std::equal(m_events.begin(), m_events.end(), events.begin(),
                                    [](const auto& a, const auto& b) { return a.seq == b.seq; });
    if (!extends) {
        beginResetModel();
        m_events = std::move(events);
        endResetModel();
        return;
    }
    if (events.size() == m_events.size()) {
        return;
    }
    beginInsertRows(QModelIndex(), static_cast<int>(m_events.size()),
                    static_cast<int>(events.size()) - 1);
    m_events = std::move(events);
    endInsertRows();
}

void JournalModel::clear() {
    beginResetModel();
    m_events.clear();
    endResetModel();
}

const ses::StoredEvent* JournalModel::eventAt(int row) const {
    if (row < 0 || row >= static_cast<int>(m_events.size())) {
        return nullptr;
    }
    return &m_events[static_cast<std::size_t>(row)];
}

int JournalModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_events.size());
}

int JournalModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant JournalModel::data(const QModelIndex& index, int role) const {
    const ses::StoredEvent* stored = index.isValid() ? eventAt(index.row()) : nullptr;
    if (stored == nullptr || index.column() < 0 || index.column() >= ColumnCount) {
        return {};
    }
    const ses::JournalEvent& e = stored->event;
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
            case Time:
                // 2026-01-15T10:00:00.123Z: the clock time is what a technician compares.
                return e.wallUtc.size() >= 19 ? qs(e.wallUtc.substr(11, 8)) : qs(e.wallUtc);
            case Source:
                return qs(e.source);
            case Event:
                return qs(e.kind) + (e.recovered ? QObject::tr(" (recovered)") : QString());
            case Pulses:
                return e.pulses ? QVariant(static_cast<qlonglong>(*e.pulses)) : QVariant();
            case Detail:
                return qs(e.detail);
            default:
                return {};
        }
    }
    if (role == Qt::ToolTipRole && index.column() == Time) {
        return qs(e.wallUtc) + " UTC";
    }
    if (role == Qt::ToolTipRole && index.column() == Detail && !e.detail.empty()) {
        return qs(e.detail);
    }
    if (role == Qt::ForegroundRole && e.source != "device") {
        return QColor(e.source == "operator" ? "#0d47a1" : "#6a1b9a");
    }
    return {};
}

QVariant JournalModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    switch (section) {
        case Time:
            return tr("Time (UTC)");
        case Source:
            return tr("Source");
        case Event:
            return tr("Event");
        case Pulses:
            return tr("Pulses");
        case Detail:
            return tr("Detail");
        default:
            return {};
    }
}

// ---- SessionView ----------------------------------------------------------------------------

SessionView::SessionView(store::Store& store, QWidget* parent, const ses::SessionRules& rules)
    : QWidget(parent),
      m_store(store),
      m_service(store, rules),
      m_patients(store),
      m_courses(store),
      m_rules(rules),
      m_adapter(new SessionRunnerAdapter(this)),
      m_patient(new QComboBox),
      m_protocol(new QComboBox),
      m_device(new QLineEdit("127.0.0.1:")),
      m_screening(new QCheckBox(tr("Safety screening &re-confirmed with the patient today"))),
      m_prepare(new QPushButton(tr("Check in && pr&epare"))),
      m_summary(new QLabel),
      m_checklist(new QTableWidget(0, 2)),
      m_statusLabel(new QLabel),
      m_pulseBar(new QProgressBar),
      m_pulses(new QLabel),
      m_trains(new QLabel),
      m_elapsed(new QLabel),
      m_output(new QLabel),
      m_sensorName(new QLabel(tr("Coil temperature:"))),
      m_sensor(new QLabel),
      m_link(new QLabel),
      m_message(new QLabel),
      m_start(new QPushButton(tr("&Start"))),
      m_pause(new QPushButton(tr("P&ause"))),
      m_stop(new QPushButton(tr("S&top…"))),
      m_emergency(new QPushButton(tr("EMERGENCY\nSTOP"))),
      m_chart(new QChart),
      m_pulseSeries(new QLineSeries),
      m_sensorSeries(new QLineSeries),
      m_timeAxis(new QValueAxis),
      m_pulseAxis(new QValueAxis),
      m_sensorAxis(new QValueAxis),
      m_journal(new JournalModel(this)),
      m_journalView(new QTableView),
      m_aeType(new QComboBox),
      m_aeSeverity(new QComboBox),
      m_aeAction(new QLineEdit),
      m_aeNote(new QLineEdit),
      m_aeRecord(new QPushButton(tr("Re&cord adverse event"))),
      m_scale(new QPushButton(tr("Record post-session &scale…"))),
      m_ticker(new QTimer(this)),
      m_journalTimer(new QTimer(this)) {
    setObjectName("sessionView");
    m_patient->setObjectName("sessionPatient");
    m_protocol->setObjectName("sessionProtocol");
    m_device->setObjectName("sessionDevice");
    m_device->setPlaceholderText(tr("HOST:PORT of the stimulator, e.g. 127.0.0.1:50051"));
    m_screening->setObjectName("sessionScreening");
    m_prepare->setObjectName("sessionPrepare");
    m_start->setObjectName("sessionStart");
    m_pause->setObjectName("sessionPause");
    m_stop->setObjectName("sessionStop");
    m_emergency->setObjectName("emergencyStop");
    m_summary->setObjectName("sessionSummary");
    m_summary->setWordWrap(true);
    m_summary->setTextFormat(Qt::RichText);
    m_summary->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_message->setObjectName("sessionMessage");
    m_message->setWordWrap(true);
    m_statusLabel->setObjectName("sessionStatus");

    // The emergency stop: large, red, enabled at all times, reachable from the keyboard.
    m_emergency->setMinimumSize(180, 120);
    m_emergency->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Expanding);
    m_emergency->setToolTip(tr("Stops stimulation at once (sent ahead of everything queued)"));
    m_emergency->setStyleSheet(
        "QPushButton { background: #c62828; color: white; font-size: 22px; font-weight: bold;"
        " border: 4px solid #7f0000; border-radius: 12px; padding: 12px; }"
        "QPushButton:pressed { background: #7f0000; }");
    m_emergency->setShortcut(QKeySequence(Qt::Key_F12));
    connect(m_emergency, &QPushButton::clicked, this, &SessionView::emergencyStop);

    QFont big = m_statusLabel->font();
    big.setPointSizeF(big.pointSizeF() * 1.6);
    big.setBold(true);
    m_statusLabel->setFont(big);
    for (QPushButton* b : {m_start, m_pause, m_stop}) {
        b->setMinimumHeight(40);
    }
    m_start->setStyleSheet("QPushButton:enabled { font-weight: bold; color: #1b5e20; }");

    // ---- set-up ----
    auto* setup = new QGroupBox(tr("Set-up"));
    auto* setupForm = new QFormLayout(setup);
    setupForm->addRow(tr("Pa&tient:"), m_patient);
    setupForm->addRow(tr("Pr&otocol:"), m_protocol);
    setupForm->addRow(tr("&Device:"), m_device);
    setupForm->addRow(m_screening);
    setupForm->addRow(m_prepare);

    auto* summaryBox = new QGroupBox(tr("Patient and protocol"));
    auto* summaryLayout = new QVBoxLayout(summaryBox);
    summaryLayout->addWidget(m_summary);

    m_checklist->setObjectName("sessionChecklist");
    m_checklist->setHorizontalHeaderLabels({tr("Check"), tr("Result")});
    // Both columns share the width and wrap: the labels are long, the details say why.
    m_checklist->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_checklist->verticalHeader()->hide();
    m_checklist->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_checklist->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_checklist->setSelectionMode(QAbstractItemView::NoSelection);
    m_checklist->setWordWrap(true);
    m_checklist->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_checklist->setMinimumHeight(230);
    auto* checklistBox = new QGroupBox(tr("Checklist"));
    auto* checklistLayout = new QVBoxLayout(checklistBox);
    checklistLayout->addWidget(m_checklist);

    // ---- live ----
    m_pulseBar->setObjectName("sessionPulseBar");
    m_pulseBar->setTextVisible(true);
    m_pulseBar->setFormat("%p %");
    auto* live = new QGroupBox(tr("Session"));
    auto* liveGrid = new QGridLayout(live);
    liveGrid->addWidget(m_statusLabel, 0, 0, 1, 2);
    int row = 1;
    const auto addRow = [&](QWidget* name, QWidget* value) {
        liveGrid->addWidget(name, row, 0);
        liveGrid->addWidget(value, row, 1);
        ++row;
    };
    addRow(new QLabel(tr("Pulses:")), m_pulses);
    liveGrid->addWidget(m_pulseBar, row++, 0, 1, 2);
    addRow(new QLabel(tr("Trains:")), m_trains);
    addRow(new QLabel(tr("Elapsed:")), m_elapsed);
    addRow(new QLabel(tr("Output:")), m_output);
    addRow(m_sensorName, m_sensor);
    addRow(new QLabel(tr("Device link:")), m_link);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_start);
    buttons->addWidget(m_pause);
    buttons->addWidget(m_stop);
    liveGrid->addLayout(buttons, row++, 0, 1, 2);
    liveGrid->addWidget(m_message, row++, 0, 1, 2);
    liveGrid->setRowStretch(row, 1);
    QFont valueFont = m_pulses->font();
    valueFont.setBold(true);
    for (QLabel* value : {m_pulses, m_trains, m_elapsed, m_output, m_sensor, m_link}) {
        value->setFont(valueFont);
    }
    m_pulses->setObjectName("sessionPulses");
    m_trains->setObjectName("sessionTrains");
    m_elapsed->setObjectName("sessionElapsed");
    m_output->setObjectName("sessionOutput");
    m_sensor->setObjectName("sessionSensor");
    m_link->setObjectName("sessionLink");

    // ---- chart ----
    m_chart->setTitle(tr("Pulses delivered and coil temperature"));
    m_chart->legend()->setAlignment(Qt::AlignBottom);
    m_chart->setMargins(QMargins(4, 4, 4, 4));
    m_timeAxis->setTitleText(tr("elapsed (s)"));
    m_timeAxis->setLabelFormat("%d");
    m_pulseAxis->setLabelFormat("%d");
    m_sensorAxis->setLabelFormat("%.1f");
    m_chart->addAxis(m_timeAxis, Qt::AlignBottom);
    m_chart->addAxis(m_pulseAxis, Qt::AlignLeft);
    m_chart->addAxis(m_sensorAxis, Qt::AlignRight);
    m_chart->addSeries(m_pulseSeries);
    m_chart->addSeries(m_sensorSeries);
    m_pulseSeries->attachAxis(m_timeAxis);
    m_pulseSeries->attachAxis(m_pulseAxis);
    m_sensorSeries->attachAxis(m_timeAxis);
    m_sensorSeries->attachAxis(m_sensorAxis);
    QPen pulsePen(QColor("#1a237e"));
    pulsePen.setWidth(3);
    m_pulseSeries->setPen(pulsePen);
    QPen sensorPen(QColor("#e65100"));
    sensorPen.setWidth(2);
    m_sensorSeries->setPen(sensorPen);
    m_pulseAxis->setLinePenColor(pulsePen.color());
    m_sensorAxis->setLinePenColor(sensorPen.color());
    resetChart("rtms");
    auto* chartView = new QChartView(m_chart);
    chartView->setRenderHint(QPainter::Antialiasing);
    chartView->setMinimumSize(420, 260);

    // ---- journal ----
    m_journalView->setObjectName("sessionJournal");
    m_journalView->setModel(m_journal);
    m_journalView->verticalHeader()->hide();
    m_journalView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_journalView->setSelectionBehavior(QAbstractItemView::SelectRows);
    // Time, source, event and pulses fit their contents (syncJournal); the detail takes the
    // rest of the width, elided (the whole text is its tool tip).
    m_journalView->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_journalView->horizontalHeader()->setStretchLastSection(true);
    m_journalView->setWordWrap(false);
    m_journalView->verticalHeader()->setDefaultSectionSize(m_journalView->fontMetrics().height() +
                                                           6);
    m_journalView->setMinimumWidth(360);
    auto* journalBox = new QGroupBox(tr("Journal"));
    auto* journalLayout = new QVBoxLayout(journalBox);
    journalLayout->addWidget(m_journalView);

    // ---- adverse events and the post-session scale ----
    m_aeType->setObjectName("adverseType");
    for (std::string_view severity : ses::kSeverities) {
        m_aeSeverity->addItem(qs(std::string(severity)), qs(std::string(severity)));
    }
    m_aeAction->setPlaceholderText(tr("e.g. paused, coil repositioned; paracetamol offered"));
    m_aeNote->setPlaceholderText(tr("description (required for 'other')"));
    fillAdverseTypes("");
    auto* aeBox = new QGroupBox(tr("Adverse event"));
    auto* aeForm = new QFormLayout(aeBox);
    aeForm->addRow(tr("T&ype:"), m_aeType);
    aeForm->addRow(tr("Se&verity:"), m_aeSeverity);
    aeForm->addRow(tr("Action ta&ken:"), m_aeAction);
    aeForm->addRow(tr("&Note:"), m_aeNote);
    aeForm->addRow(m_aeRecord);
    connect(m_aeRecord, &QPushButton::clicked, this, [this] { (void)recordAdverseEvent(); });

    auto* afterBox = new QGroupBox(tr("After the session"));
    auto* afterLayout = new QVBoxLayout(afterBox);
    auto* afterText = new QLabel(
        tr("Opens the Scales tab's form for this patient with context post_session and this "
           "session's number in the course."));
    afterText->setWordWrap(true);
    afterLayout->addWidget(afterText);
    afterLayout->addWidget(m_scale);
    afterLayout->addStretch(1);
    connect(m_scale, &QPushButton::clicked, this, &SessionView::requestScale);

    // ---- layout: everything scrolls but the emergency stop, which stays in view ----
    auto* content = new QWidget;
    auto* grid = new QGridLayout(content);
    grid->addWidget(setup, 0, 0);
    grid->addWidget(summaryBox, 0, 1);
    grid->addWidget(checklistBox, 0, 2);
    grid->addWidget(live, 1, 0);
    grid->addWidget(chartView, 1, 1);
    grid->addWidget(journalBox, 1, 2);
    grid->addWidget(aeBox, 2, 0, 1, 2);
    grid->addWidget(afterBox, 2, 2);
    grid->setColumnStretch(0, 2);
    grid->setColumnStretch(1, 3);
    grid->setColumnStretch(2, 3);
    grid->setRowStretch(1, 1);
    auto* scroll = new QScrollArea;
    scroll->setWidget(content);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* outer = new QHBoxLayout(this);
    outer->addWidget(scroll, 1);
    auto* stopColumn = new QVBoxLayout;
    stopColumn->addWidget(m_emergency, 1);
    auto* shortcutHint = new QLabel(tr("or press F12"));
    shortcutHint->setAlignment(Qt::AlignHCenter);
    stopColumn->addWidget(shortcutHint);
    outer->addLayout(stopColumn);

    // ---- wiring ----
    connect(m_patient, &QComboBox::currentIndexChanged, this, [this] {
        refreshProtocols();
        refreshSummary();
    });
    connect(m_protocol, &QComboBox::currentIndexChanged, this, [this] {
        refreshSummary();
        updateControls();
    });
    connect(m_prepare, &QPushButton::clicked, this, &SessionView::checkInAndPrepare);
    connect(m_start, &QPushButton::clicked, this, &SessionView::start);
    connect(m_pause, &QPushButton::clicked, this, &SessionView::pauseOrResume);
    connect(m_stop, &QPushButton::clicked, this, &SessionView::stop);
    connect(m_adapter, &SessionRunnerAdapter::runnerEvent, this, &SessionView::onRunnerEvent);
    connect(m_adapter, &SessionRunnerAdapter::prepared, this, [this](const ses::Checklist& list) {
        showChecklist(list);
        if (!list.allOk()) {
            const ses::CheckItem* failed = list.firstFailure();
            const std::string reason = "not ready: " + failed->label + ": " + failed->detail;
            m_adapter->stop(qs(reason));
            say(tr("Not ready: %1: %2. Nothing reached the device; the session is aborted.")
                    .arg(qs(failed->label), qs(failed->detail)),
                true);
        } else {
            say(tr("Every item holds and the device holds the approved parameters. Press Start."));
        }
        scheduleJournalSync();
    });
    connect(m_adapter, &SessionRunnerAdapter::commandFinished, this,
            &SessionView::onCommandFinished);
    connect(m_adapter, &SessionRunnerAdapter::emergencyStopFinished, this,
            [this](const QString& detail) {
                say(tr("Emergency stop: %1").arg(detail), true);
                scheduleJournalSync();
            });
    connect(m_adapter, &SessionRunnerAdapter::busyChanged, this, &SessionView::updateControls);
    connect(m_adapter, &SessionRunnerAdapter::closed, this, [this](qint64 id) {
        m_open = false;
        m_releasing = false;
        showFinalRecord(id);
        updateControls();
        emit sessionEnded(id, m_status ? QString::fromLatin1(ses::toString(*m_status)) : "");
    });
    m_ticker->setInterval(250);
    connect(m_ticker, &QTimer::timeout, this, &SessionView::tick);
    m_journalTimer->setSingleShot(true);
    m_journalTimer->setInterval(150);
    connect(m_journalTimer, &QTimer::timeout, this, &SessionView::syncJournal);

    showProgress(ses::Progress{});
    m_statusLabel->setText(tr("No session"));
    refreshSummary();
    updateControls();
}

SessionView::~SessionView() {
    // First, while the widgets still exist: the adapter finishes its queue and releases the
    // runner, which stops a session still stimulating.
    delete m_adapter;
    m_adapter = nullptr;
}

bool SessionView::sessionOpen() const {
    return m_open;
}

int SessionView::plottedPoints() const {
    return static_cast<int>(m_pulseSeries->count());
}

void SessionView::setActor(const std::optional<records::Actor>& actor) {
    m_actor = actor;
    refreshPatients();
    updateControls();
}

void SessionView::showPatient(const QString& mrn) {
    if (sessionOpen() || mrn.isEmpty()) {
        return;
    }
    const int index = m_patient->findData(mrn);
    if (index >= 0) {
        m_patient->setCurrentIndex(index);
    }
}

void SessionView::refreshPatients() {
    if (sessionOpen()) {
        return;  // the set-up is locked while a session is open
    }
    const QString current = m_patient->currentData().toString();
    const QSignalBlocker block(m_patient);
    m_patient->clear();
    if (m_actor) {
        auto list = m_patients.list(*m_actor);
        if (list) {
            for (const auto& p : *list) {
                m_patient->addItem(
                    QString("%1 — %2, %3").arg(qs(p.mrn), qs(p.familyName), qs(p.givenName)),
                    qs(p.mrn));
            }
        } else {
            say(describeError(list.error()), true);
        }
    }
    const int index = m_patient->findData(current);
    m_patient->setCurrentIndex(index >= 0 ? index : (m_patient->count() > 0 ? 0 : -1));
    refreshProtocols();
    refreshSummary();
}

void SessionView::refreshProtocols() {
    const QSignalBlocker block(m_protocol);
    m_protocol->clear();
    const std::string mrn = m_patient->currentData().toString().toStdString();
    if (!m_actor || mrn.empty()) {
        updateControls();
        return;
    }
    auto list = m_courses.courses(*m_actor, mrn);
    if (list) {
        for (const auto& course : *list) {
            // Only what a session may deliver: the course's latest version, approved.
            auto version = m_courses.deliverable(*m_actor, course.id);
            if (!version) {
                continue;
            }
            m_protocol->addItem(tr("%1 · version %2 (%3)")
                                    .arg(qs(course.label))
                                    .arg(version->version)
                                    .arg(qs(course.kind)),
                                QVariant::fromValue<qlonglong>(version->id));
            m_protocol->setItemData(m_protocol->count() - 1,
                                    QVariant::fromValue<qlonglong>(course.id), Qt::UserRole + 1);
        }
    }
    if (m_protocol->count() == 0) {
        m_protocol->addItem(tr("no approved protocol for this patient"), QVariant());
    }
    // The device this patient's last session ran on, if any.
    if (auto sessions = m_service.list(*m_actor, mrn); sessions && !sessions->empty()) {
        m_device->setText(qs(sessions->front().deviceAddress));
    }
    updateControls();
}

void SessionView::refreshSummary() {
    const std::string mrn = sessionOpen() && !m_sessionMrn.empty()
                                ? m_sessionMrn
                                : m_patient->currentData().toString().toStdString();
    if (!m_actor || mrn.empty()) {
        m_summary->setText(tr("<i>Sign in and select a patient.</i>"));
        return;
    }
    QStringList lines;
    if (auto patient = m_patients.findByMrn(*m_actor, mrn)) {
        lines << tr("<b>%1, %2</b> (%3), born %4, %5")
                     .arg(qs(patient->familyName).toHtmlEscaped(),
                          qs(patient->givenName).toHtmlEscaped(), qs(patient->mrn).toHtmlEscaped(),
                          qs(patient->birthDate), qs(patient->sex));
    }
    const qlonglong versionId = m_protocol->currentData().toLongLong();
    const qlonglong courseId = m_protocol->currentData(Qt::UserRole + 1).toLongLong();
    if (versionId > 0) {
        if (auto versions = m_courses.versions(*m_actor, courseId)) {
            for (const auto& v : *versions) {
                if (v.id != versionId) {
                    continue;
                }
                lines << protocolLine(v).toHtmlEscaped();
                if (v.approval) {
                    lines << tr("Version %1 approved by %2 on %3; SHA-256 %4…")
                                 .arg(v.version)
                                 .arg(qs(v.approval->physicianLogin).toHtmlEscaped(),
                                      qs(v.approval->approvedUtc.substr(0, 10)),
                                      qs(v.contentSha256.substr(0, 12)));
                }
                if (v.protocol.value("kind", "") == "rtms") {
                    auto mts = m_courses.motorThresholds(*m_actor, mrn);
                    if (mts && !mts->empty()) {
                        lines << tr("Motor threshold %1 %MSO (%2, %3)")
                                     .arg(number(mts->front().valuePercentMso, 0),
                                          qs(mts->front().measuredOn), qs(mts->front().method));
                    } else {
                        lines << tr("<span style='color:#b71c1c'>No motor threshold</span>");
                    }
                }
            }
        }
    } else {
        lines << tr(
            "<i>No approved protocol: a physician approves the course's latest version "
            "in the Protocols tab.</i>");
    }
    m_summary->setText(lines.join("<br>"));
}

void SessionView::fillAdverseTypes(const std::string& kind) {
    const QString current = m_aeType->currentData().toString();
    m_aeType->clear();
    // The types are data (sessions-v1.json): which apply to the modality, which stop.
    for (const ses::AdverseEventType& type : m_rules.adverseEvents) {
        if (!kind.empty() && !type.modalities.empty() &&
            std::find(type.modalities.begin(), type.modalities.end(), kind) ==
                type.modalities.end()) {
            continue;
        }
        QString label = qs(type.label);
        if (type.stopsSession) {
            label += tr(" — stops the session");
        } else if (type.flagsReview) {
            label += tr(" — flags physician review");
        }
        m_aeType->addItem(label, qs(type.id));
    }
    const int index = m_aeType->findData(current);
    m_aeType->setCurrentIndex(std::max(0, index));
}

void SessionView::say(const QString& text, bool error) {
    m_message->setText(text);
    m_message->setStyleSheet(error ? "color: #b00020; font-weight: bold;" : "color: #1b5e20;");
}

void SessionView::checkInAndPrepare() {
    if (!m_actor) {
        say(tr("Sign in first."), true);
        return;
    }
    if (sessionOpen()) {
        say(tr("Session %1 is still open on this console.").arg(m_sessionId), true);
        return;
    }
    const std::string mrn = m_patient->currentData().toString().toStdString();
    const qlonglong versionId = m_protocol->currentData().toLongLong();
    const std::string device = m_device->text().trimmed().toStdString();
    if (mrn.empty() || versionId <= 0) {
        say(tr("Select a patient with an approved protocol."), true);
        return;
    }
    if (!m_screening->isChecked()) {
        say(tr("Re-confirm the safety screening with the patient today, then tick the box."), true);
        m_screening->setFocus();
        return;
    }
    // An unfinished session of this patient is recovered and closed (or resumed) first.
    auto existing = m_service.list(*m_actor, mrn);
    if (!existing) {
        say(describeError(existing.error()), true);
        return;
    }
    for (const auto& s : *existing) {
        if (s.status == ses::SessionStatus::Interrupted || ses::isActive(s.status)) {
            say(tr("Session %1 of %2 is %3: run 'neuroplan-cli session recover', then 'session "
                   "resume' or 'session close'.")
                    .arg(s.id)
                    .arg(qs(s.mrn), QString::fromLatin1(ses::toString(s.status))),
                true);
            return;
        }
    }
    auto session = m_service.checkIn(*m_actor, mrn, versionId, device);
    if (!session) {
        say(describeError(session.error()), true);
        return;
    }
    ses::RunnerOptions options;
    options.database = m_store.path();
    options.actor = *m_actor;
    options.sessionId = session->id;
    options.autoResumeAfterLinkLoss = false;  // the technician presses Resume
    if (auto opened = m_adapter->open(options); !opened) {
        say(tr("Session %1 checked in but cannot run here: %2")
                .arg(session->id)
                .arg(describeError(opened.error())),
            true);
        return;
    }
    m_open = true;
    m_sessionId = session->id;
    m_sessionMrn = session->mrn;
    m_sessionKind = session->kind;
    m_sessionCourse = session->courseId;
    m_status = session->status;
    m_last = ses::Progress{};
    m_last.status = session->status;
    m_last.pulsesPlanned = static_cast<std::uint32_t>(session->pulsesPlanned);
    m_checklist->setRowCount(0);
    m_journal->clear();
    resetChart(m_sessionKind);
    fillAdverseTypes(m_sessionKind);
    showProgress(m_last);
    m_statusLabel->setText(tr("Session %1: checked in").arg(m_sessionId));
    say(tr("Checked in; running the checklist and loading the device…"));
    m_adapter->prepare(true);
    m_ticker->start();
    refreshSummary();
    updateControls();
    emit sessionOpened(m_sessionId);
}

void SessionView::start() {
    if (sessionOpen() && m_status == ses::SessionStatus::Ready) {
        say(tr("Starting…"));
        m_adapter->start();
    }
}

void SessionView::pauseOrResume() {
    if (!sessionOpen()) {
        return;
    }
    if (m_status == ses::SessionStatus::Running) {
        m_adapter->pause();
    } else if (m_status == ses::SessionStatus::Paused) {
        m_adapter->resume();
    }
}

void SessionView::stop() {
    if (!sessionOpen()) {
        return;
    }
    const std::int64_t id = m_sessionId;  // an answer that comes late stops only this session
    const auto stopWith = [this, id](const QString& reason) {
        const QString trimmed = reason.trimmed();
        if (trimmed.size() < static_cast<int>(ses::kMinReasonLength)) {
            say(tr("A reason of at least %1 characters is needed to stop.")
                    .arg(ses::kMinReasonLength),
                true);
            return;
        }
        if (sessionOpen() && m_sessionId == id) {
            say(tr("Stopping…"));
            m_adapter->stop(trimmed);
        }
    };
    if (m_reasonPrompt) {
        if (auto reason = m_reasonPrompt()) {
            stopWith(*reason);
        }
        return;
    }
    // Not modal: the emergency stop stays within reach while the reason is typed.
    auto* dialog = new QInputDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowModality(Qt::NonModal);
    dialog->setWindowTitle(tr("Stop the session"));
    dialog->setLabelText(tr("Why does the session stop early?"));
    connect(dialog, &QInputDialog::textValueSelected, this, stopWith);
    dialog->show();
}

void SessionView::emergencyStop() {
    const std::string who = m_actor ? m_actor->login : std::string("console");
    say(tr("EMERGENCY STOP sent…"), true);
    m_adapter->emergencyStop(qs("emergency stop button (" + who + ")"));
}

Result<ses::AdverseEvent> SessionView::recordAdverseEvent() {
    if (!m_actor || m_sessionId == 0) {
        return makeError(ErrorCode::InvalidInput, "session", "no session to record it on");
    }
    ses::AdverseEventInput input;
    input.type = m_aeType->currentData().toString().toStdString();
    input.severity = m_aeSeverity->currentData().toString().toStdString();
    input.actionTaken = m_aeAction->text().trimmed().toStdString();
    input.note = m_aeNote->text().trimmed().toStdString();
    auto recorded = m_service.recordAdverseEvent(*m_actor, m_sessionId, input);
    if (!recorded) {
        say(describeError(recorded.error()), true);
        return recorded;
    }
    if (recorded->stoppedSession && sessionOpen()) {
        // Core asked the program running the session to stop it; this console is that program.
        const ses::AdverseEventType* type = m_rules.findAdverseEvent(input.type);
        m_adapter->emergencyStop(
            qs("adverse event: " + (type != nullptr ? type->label : input.type)));
    }
    say(tr("Adverse event %1 recorded%2%3.")
            .arg(recorded->id)
            .arg(recorded->stoppedSession ? tr("; the session is being stopped") : QString(),
                 recorded->flaggedReview ? tr("; the course awaits a physician's review")
                                         : QString()),
        recorded->stoppedSession);
    m_aeAction->clear();
    m_aeNote->clear();
    scheduleJournalSync();
    return recorded;
}

void SessionView::requestScale() {
    if (!m_actor || m_sessionId == 0 || m_sessionCourse == 0) {
        return;
    }
    // The session's number in the course: delivered sessions (completed or stopped early)
    // up to this one.
    int number = 0;
    if (auto progress = m_service.progress(*m_actor, m_sessionCourse)) {
        for (const auto& s : progress->sessions) {
            if (s.status == ses::SessionStatus::Completed ||
                s.status == ses::SessionStatus::StoppedEarly) {
                ++number;
            }
            if (s.id == m_sessionId) {
                break;
            }
        }
    }
    emit postSessionScaleRequested(qs(m_sessionMrn), number);
}

void SessionView::showChecklist(const ses::Checklist& list) {
    m_checklist->setRowCount(static_cast<int>(list.items.size()));
    int row = 0;
    for (const auto& item : list.items) {
        const QColor background = item.ok ? QColor("#e8f5e9") : QColor("#ffebee");
        const QColor foreground = item.ok ? QColor("#1b5e20") : QColor("#b71c1c");
        auto* label = new QTableWidgetItem((item.ok ? "✔ " : "✘ ") + qs(item.label));
        auto* detail = new QTableWidgetItem(qs(item.detail));
        label->setData(Qt::UserRole, qs(item.id));
        label->setData(Qt::UserRole + 1, item.ok);
        for (QTableWidgetItem* cell : {label, detail}) {
            cell->setBackground(background);
            cell->setForeground(foreground);
            // Where the rule comes from (a data file value or the issue).
            cell->setToolTip(qs(item.label + ": " + item.detail + "\nSource: " + item.source));
        }
        m_checklist->setItem(row, 0, label);
        m_checklist->setItem(row, 1, detail);
        ++row;
    }
}

void SessionView::onRunnerEvent(const ses::RunnerEvent& event) {
    if (!m_open) {
        return;  // a late event of a released runner
    }
    m_last = event.progress;
    showProgress(event.progress);
    using Kind = ses::RunnerEvent::Kind;
    switch (event.kind) {
        case Kind::Status: {
            m_status = event.progress.status;
            const ses::SessionStatus status = event.progress.status;
            m_statusLabel->setText(
                tr("Session %1: %2")
                    .arg(m_sessionId)
                    .arg(QString::fromLatin1(ses::toString(status)).replace('_', ' ')));
            m_statusLabel->setStyleSheet("color: " + statusColour(status) + ";");
            m_statusLabel->setToolTip(qs(event.detail));
            if (!event.detail.empty() && status != ses::SessionStatus::Running) {
                say(tr("%1: %2").arg(QString::fromLatin1(ses::toString(status)), qs(event.detail)),
                    status == ses::SessionStatus::StoppedEarly ||
                        status == ses::SessionStatus::Aborted ||
                        status == ses::SessionStatus::Interrupted);
            } else if (status == ses::SessionStatus::Running) {
                say(tr("Stimulating."));
            }
            if ((ses::isFinal(status) || status == ses::SessionStatus::Interrupted) &&
                !m_releasing) {
                m_releasing = true;
                m_adapter->close();
            }
            addChartPoint(event.progress);
            scheduleJournalSync();
            break;
        }
        case Kind::Journal:
        case Kind::Link:
            scheduleJournalSync();
            if (event.kind == Kind::Link && !event.detail.empty()) {
                const bool down = !event.progress.linkUp;
                say(qs(event.detail) +
                        (down && m_status == ses::SessionStatus::Running
                             ? tr(" — the device stops by itself; press Resume when it is back")
                             : QString()),
                    down || event.detail.rfind("fault", 0) == 0);
            }
            break;
        case Kind::Telemetry:
            addChartPoint(event.progress, true);
            break;
        case Kind::Ended:
            addChartPoint(event.progress);
            scheduleJournalSync();
            break;
    }
    updateControls();
}

void SessionView::onCommandFinished(const QString& what, const QString& error) {
    if (!error.isEmpty()) {
        say(tr("%1 failed: %2").arg(what, error), true);
        if (what == "prepare" && sessionOpen() && m_status == ses::SessionStatus::CheckedIn) {
            m_adapter->stop("not ready: " + error);
        }
    }
    updateControls();
}

void SessionView::showProgress(const ses::Progress& p) {
    const bool vns = m_sessionKind == "vns";
    if (p.pulsesPlanned > 0) {
        m_pulses->setText(QString("%1 / %2").arg(p.pulses).arg(p.pulsesPlanned));
        m_pulseBar->setRange(0, static_cast<int>(p.pulsesPlanned));
        m_pulseBar->setValue(static_cast<int>(std::min(p.pulses, p.pulsesPlanned)));
    } else {
        m_pulses->setText(QString::number(p.pulses));
        m_pulseBar->setRange(0, 1);
        m_pulseBar->setValue(0);
    }
    m_trains->setText(p.trainsPlanned > 0 ? QString("%1 / %2").arg(p.trains).arg(p.trainsPlanned)
                                          : QString::number(p.trains));
    m_elapsed->setText(minutesSeconds(p.elapsedS));
    m_output->setText(vns ? tr("%1 mA").arg(number(p.output, 2))
                          : tr("%1 % MSO").arg(number(p.output, 1)));
    m_sensorName->setText(vns ? tr("Lead impedance:") : tr("Coil temperature:"));
    m_sensor->setText(
        vns ? tr("%1 Ω (battery %2 %)").arg(number(p.impedanceOhm, 0), number(p.batteryPercent, 0))
            : tr("%1 °C").arg(number(p.coilTemperatureC, 1)));
    if (m_sessionId == 0) {
        m_link->setText(tr("not connected"));
        m_link->setStyleSheet({});
    } else {
        m_link->setText(p.linkUp ? tr("up · %1").arg(qs(p.deviceSerial)) : tr("DOWN"));
        m_link->setStyleSheet(p.linkUp ? "color: #1b5e20;" : "color: #b71c1c;");
    }
}

void SessionView::resetChart(const std::string& kind) {
    m_pulseSeries->clear();
    m_sensorSeries->clear();
    m_lastPlottedS = -1;
    m_sensorMin = 0;
    m_sensorMax = 0;
    const bool vns = kind == "vns";
    m_chart->setTitle(vns ? tr("Stimulation cycles and lead impedance")
                          : tr("Pulses delivered and coil temperature"));
    m_pulseSeries->setName(vns ? tr("cycles") : tr("pulses"));
    m_sensorSeries->setName(vns ? tr("impedance (Ω)") : tr("coil temperature (°C)"));
    m_pulseAxis->setTitleText(vns ? tr("cycles") : tr("pulses"));
    m_sensorAxis->setTitleText(vns ? tr("Ω") : tr("°C"));
    m_timeAxis->setRange(0, 60);
    m_pulseAxis->setRange(0, m_last.pulsesPlanned > 0 ? m_last.pulsesPlanned : 100);
    m_sensorAxis->setRange(vns ? 0 : 20, vns ? 10000 : 45);
}

void SessionView::addChartPoint(const ses::Progress& p, bool measured) {
    if (p.elapsedS <= 0 || m_sessionId == 0) {
        return;  // the chart starts with the stimulation
    }
    const bool ended = ses::isFinal(p.status);
    // A point every 50 ms of session time at most (telemetry may come much faster).
    if (p.elapsedS < m_lastPlottedS + 0.05 && !ended) {
        return;
    }
    const bool vns = m_sessionKind == "vns";
    const double primary = vns ? p.trains : p.pulses;
    const double sensor = vns ? p.impedanceOhm : p.coilTemperatureC;
    if (m_pulseSeries->count() == 0) {
        m_pulseSeries->append(0, 0);
    }
    m_pulseSeries->append(p.elapsedS, primary);
    // The sensor only from telemetry: a State repeats the last reading, which may be old.
    if (measured && sensor > 0) {
        if (m_sensorSeries->count() == 0) {
            m_sensorMin = m_sensorMax = sensor;
        }
        m_sensorSeries->append(p.elapsedS, sensor);
        m_sensorMin = std::min(m_sensorMin, sensor);
        m_sensorMax = std::max(m_sensorMax, sensor);
        const double pad = std::max(1.0, (m_sensorMax - m_sensorMin) * 0.15);
        m_sensorAxis->setRange(std::floor(m_sensorMin - pad), std::ceil(m_sensorMax + pad));
    }
    m_lastPlottedS = p.elapsedS;
    const double span = m_timeAxis->max();
    if (p.elapsedS > span * 0.95) {
        m_timeAxis->setRange(0, std::ceil(std::max(span * 1.5, p.elapsedS * 1.1)));
        m_timeAxis->applyNiceNumbers();
    } else if (ended) {
        m_timeAxis->setRange(0, std::max(1.0, std::ceil(p.elapsedS * 1.05)));
        m_timeAxis->applyNiceNumbers();
    }
    const double top = std::max<double>({1.0, static_cast<double>(p.pulsesPlanned), primary});
    if (m_pulseAxis->max() < top || (p.pulsesPlanned > 0 && m_pulseAxis->max() != top)) {
        m_pulseAxis->setRange(0, vns ? std::ceil(top * 1.2) : top);
    }
}

void SessionView::scheduleJournalSync() {
    if (!m_journalTimer->isActive()) {
        m_journalTimer->start();
    }
}

void SessionView::syncJournal() {
    if (!m_actor || m_sessionId == 0) {
        return;
    }
    // The journal as committed: what the record holds, in order (the runner writes it in
    // batches; the events it reports trigger this re-read).
    auto events = m_service.events(*m_actor, m_sessionId);
    if (!events) {
        return;
    }
    const QScrollBar* bar = m_journalView->verticalScrollBar();
    const bool atEnd = bar->value() == bar->maximum();
    m_journal->sync(std::move(*events));
    for (int column = JournalModel::Time; column < JournalModel::Detail; ++column) {
        m_journalView->resizeColumnToContents(column);
    }
    if (atEnd) {
        m_journalView->scrollToBottom();
    }
}

void SessionView::showFinalRecord(std::int64_t sessionId) {
    m_ticker->stop();
    m_link->setText(tr("released"));
    m_link->setStyleSheet({});
    syncJournal();
    if (!m_actor || sessionId == 0) {
        return;
    }
    auto s = m_service.get(*m_actor, sessionId);
    if (!s) {
        say(describeError(s.error()), true);
        return;
    }
    m_status = s->status;
    m_statusLabel->setText(
        tr("Session %1: %2")
            .arg(sessionId)
            .arg(QString::fromLatin1(ses::toString(s->status)).replace('_', ' ')));
    m_statusLabel->setStyleSheet("color: " + statusColour(s->status) + ";");
    QString text =
        tr("Session %1 %2").arg(sessionId).arg(QString::fromLatin1(ses::toString(s->status)));
    if (!s->statusReason.empty()) {
        text += ": " + qs(s->statusReason);
    }
    if (s->devicePulses) {
        text += tr(". Device: %1 pulses; journal: %2; reconciliation: %3")
                    .arg(*s->devicePulses)
                    .arg(s->loggedPulses.value_or(0))
                    .arg(s->reconciliation.empty() ? tr("none") : qs(s->reconciliation));
    }
    if (s->status == ses::SessionStatus::Interrupted) {
        text += tr(". Run 'neuroplan-cli session recover', then resume or close it.");
    }
    say(text, s->status != ses::SessionStatus::Completed);
}

void SessionView::tick() {
    if (!sessionOpen()) {
        return;
    }
    if (auto p = m_adapter->progress()) {
        m_elapsed->setText(minutesSeconds(p->elapsedS));
    }
    // An adverse event recorded on another workstation may ask this console to stop.
    static constexpr int kPollEvery = 4;  // ticks
    if (++m_ticks % kPollEvery == 0 && !m_adapter->busy() &&
        (m_status == ses::SessionStatus::Running || m_status == ses::SessionStatus::Paused)) {
        m_adapter->pollStopRequest();
    }
}

void SessionView::updateControls() {
    const bool signedIn = m_actor.has_value();
    const bool open = sessionOpen();
    const bool busy = m_adapter->busy();
    const auto is = [&](ses::SessionStatus s) { return open && m_status == s; };
    for (QWidget* w :
         std::initializer_list<QWidget*>{m_patient, m_protocol, m_device, m_screening}) {
        w->setEnabled(signedIn && !open);
    }
    m_prepare->setEnabled(signedIn && !open && !busy && m_protocol->currentData().toLongLong() > 0);
    // Stimulation starts (or resumes) only for a signed-in user; stopping is always possible.
    m_start->setEnabled(signedIn && is(ses::SessionStatus::Ready) && !busy);
    const bool paused = is(ses::SessionStatus::Paused);
    m_pause->setText(paused ? tr("&Resume") : tr("P&ause"));
    m_pause->setEnabled((is(ses::SessionStatus::Running) || (paused && signedIn)) && !busy &&
                        (!paused || m_last.linkUp));
    m_stop->setEnabled(open && !m_releasing && m_status && ses::isActive(*m_status));
    m_emergency->setEnabled(true);  // always
    m_aeRecord->setEnabled(signedIn && m_sessionId != 0);
    m_scale->setEnabled(signedIn && m_sessionId != 0 && !open && m_status &&
                        (*m_status == ses::SessionStatus::Completed ||
                         *m_status == ses::SessionStatus::StoppedEarly));
}

}  // namespace neuroplan::gui
