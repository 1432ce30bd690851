#include "scheduleview.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QListWidget>
#include <QMouseEvent>
#include <QPainter>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

#include "dialogs.h"

namespace neuroplan::gui {

namespace sch = neuroplan::scheduling;

namespace {

QString qs(const std::string& text) {
    return QString::fromStdString(text);
}

const char* kDayShort[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

}  // namespace

WeekGrid::WeekGrid(QWidget* parent) : QWidget(parent) {
    setObjectName("weekGrid");
    setMouseTracking(false);
    setMinimumSize(560, 360);
}

void WeekGrid::setWeek(sch::Day monday, std::vector<sch::AppointmentView> appointments) {
    m_monday = monday;
    m_appointments = std::move(appointments);
    layoutLanes();
    m_dragId = 0;
    m_conflicts.clear();
    update();
}

QRectF WeekGrid::area() const {
    return QRectF(52, 34, std::max(1, width() - 56), std::max(1, height() - 40));
}

double WeekGrid::columnWidth() const {
    return area().width() / 7.0;
}

double WeekGrid::yFor(int minute) const {
    const QRectF a = area();
    return a.top() + a.height() * (minute - m_first) / std::max(1, m_last - m_first);
}

QPoint WeekGrid::pointFor(int dayIndex, int minuteOfDay) const {
    return QPoint(static_cast<int>(area().left() + columnWidth() * (dayIndex + 0.5)),
                  static_cast<int>(std::lround(yFor(minuteOfDay))) + 1);
}

const sch::AppointmentView* WeekGrid::find(std::int64_t id) const {
    for (const auto& v : m_appointments) {
        if (v.appointment.id == id) {
            return &v;
        }
    }
    return nullptr;
}

QRect WeekGrid::blockRect(std::int64_t appointmentId) const {
    const sch::AppointmentView* v = find(appointmentId);
    if (v == nullptr) {
        return {};
    }
    const auto index = (v->appointment.day - m_monday).count();
    if (index < 0 || index > 6) {
        return {};
    }
    // Side by side where appointments of the day overlap (the "all" view): each takes the first
    // lane free at its start; the column is shared by the day's lanes.
    const auto lane = m_lanes.find(appointmentId);
    const int lanes = std::max(1, m_laneCount[static_cast<std::size_t>(index)]);
    const double laneWidth = (columnWidth() - 4) / lanes;
    const double x = area().left() + columnWidth() * static_cast<double>(index) + 2 +
                     laneWidth * (lane == m_lanes.end() ? 0 : lane->second);
    const double top = yFor(v->appointment.startMin);
    const double bottom = yFor(v->appointment.startMin + v->appointment.durationMin);
    return QRectF(x, top, laneWidth - 1, std::max(6.0, bottom - top)).toRect();
}

void WeekGrid::layoutLanes() {
    m_lanes.clear();
    m_laneCount.fill(0);
    std::vector<const sch::AppointmentView*> sorted;
    for (const auto& v : m_appointments) {
        sorted.push_back(&v);
    }
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
        return a->appointment.startUtc < b->appointment.startUtc;
    });
    std::array<std::vector<std::int64_t>, 7> laneEnds;  // per day: each lane's last end (UTC)
    for (const auto* v : sorted) {
        const auto index = (v->appointment.day - m_monday).count();
        if (index < 0 || index > 6) {
            continue;
        }
        auto& ends = laneEnds[static_cast<std::size_t>(index)];
        std::size_t lane = 0;
        while (lane < ends.size() && ends[lane] > v->appointment.startUtc) {
            ++lane;
        }
        if (lane == ends.size()) {
            ends.push_back(0);
        }
        ends[lane] = v->appointment.endUtc;
        m_lanes[v->appointment.id] = static_cast<int>(lane);
        m_laneCount[static_cast<std::size_t>(index)] =
            std::max(m_laneCount[static_cast<std::size_t>(index)], static_cast<int>(lane) + 1);
    }
}

std::pair<int, int> WeekGrid::slotAt(QPointF point) const {
    const QRectF a = area();
    const int day = std::clamp(static_cast<int>((point.x() - a.left()) / columnWidth()), 0, 6);
    const double minute =
        m_first + (point.y() - a.top()) / a.height() * (m_last - m_first) - m_grabMinutes;
    int snapped = static_cast<int>(std::lround(minute / m_snap)) * m_snap;
    snapped = std::clamp(snapped, 0, 24 * 60 - m_snap);
    return {day, snapped};
}

void WeekGrid::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(rect(), palette().base());
    const QRectF a = area();
    const double w = columnWidth();
    // Weekend columns shaded; day headers with dates.
    for (int d = 0; d < 7; ++d) {
        const QRectF column(a.left() + w * d, a.top(), w, a.height());
        if (d >= 5) {
            p.fillRect(column, QColor(242, 242, 242));
        }
        const auto ymd = std::chrono::year_month_day{m_monday + std::chrono::days{d}};
        p.setPen(palette().text().color());
        p.drawText(QRectF(column.left(), 4, w, a.top() - 6), Qt::AlignCenter,
                   QString("%1 %2.%3.")
                       .arg(kDayShort[d])
                       .arg(static_cast<unsigned>(ymd.day()))
                       .arg(static_cast<unsigned>(ymd.month())));
    }
    // Hour lines.
    p.setPen(QColor(215, 215, 215));
    for (int hour = (m_first + 59) / 60; hour * 60 <= m_last; ++hour) {
        const double y = yFor(hour * 60);
        p.drawLine(QPointF(a.left(), y), QPointF(a.right(), y));
        p.setPen(palette().text().color());
        p.drawText(QRectF(0, y - 8, a.left() - 6, 16), Qt::AlignRight | Qt::AlignVCenter,
                   QString("%1:00").arg(hour, 2, 10, QChar('0')));
        p.setPen(QColor(215, 215, 215));
    }
    for (int d = 0; d <= 7; ++d) {
        p.drawLine(QPointF(a.left() + w * d, a.top()), QPointF(a.left() + w * d, a.bottom()));
    }
    // Appointments.
    QFont small = font();
    small.setPointSizeF(std::max(6.5, small.pointSizeF() - 1.5));
    p.setFont(small);
    for (const auto& v : m_appointments) {
        const QRect r = blockRect(v.appointment.id);
        if (r.isEmpty()) {
            continue;
        }
        QColor fill(74, 123, 208);
        if (v.appointment.status == sch::AppointmentStatus::CheckedIn) {
            fill = QColor(58, 154, 91);
        } else if (!v.deviceInService) {
            fill = QColor(208, 138, 46);
        }
        if (v.appointment.id == m_dragId) {
            fill.setAlpha(90);
        }
        p.setPen(fill.darker(130));
        p.setBrush(fill);
        p.drawRoundedRect(r, 3, 3);
        p.setPen(Qt::white);
        const QString label = QString("%1 %2 %3/%4 · %5 · %6")
                                  .arg(qs(sch::formatClock(v.appointment.startMin)), qs(v.mrn))
                                  .arg(v.number)
                                  .arg(v.total)
                                  .arg(qs(v.device), qs(v.staffCode));
        p.drawText(r.adjusted(3, 0, -2, 0), Qt::AlignLeft | Qt::AlignVCenter, label);
    }
    // The block being dragged, where it would land.
    if (const sch::AppointmentView* v = m_dragId ? find(m_dragId) : nullptr; v && m_moved) {
        const double x = a.left() + w * m_dragDay + 2;
        const double top = yFor(m_dragMinute);
        const double bottom = yFor(m_dragMinute + v->appointment.durationMin);
        const QRectF ghost(x, top, w - 4, std::max(6.0, bottom - top));
        const QColor colour = m_conflicts.empty() ? QColor(46, 160, 67) : QColor(207, 34, 46);
        p.setPen(QPen(colour, 2, Qt::DashLine));
        QColor fill = colour;
        fill.setAlpha(60);
        p.setBrush(fill);
        p.drawRoundedRect(ghost, 3, 3);
        p.setPen(colour.darker(120));
        p.drawText(ghost.adjusted(3, 0, 0, 0), Qt::AlignLeft | Qt::AlignVCenter,
                   qs(sch::formatClock(m_dragMinute)) +
                       (m_conflicts.empty() ? QString(" ok") : QString(" conflict")));
    }
}

void WeekGrid::mousePressEvent(QMouseEvent* event) {
    for (const auto& v : m_appointments) {
        if (blockRect(v.appointment.id).contains(event->position().toPoint())) {
            emit appointmentClicked(v.appointment.id);
            if (v.appointment.status != sch::AppointmentStatus::Scheduled) {
                return;
            }
            m_dragId = v.appointment.id;
            m_grabMinutes = 0;
            const auto [day, minute] = slotAt(event->position());
            m_grabMinutes = minute - v.appointment.startMin;
            m_dragDay = static_cast<int>((v.appointment.day - m_monday).count());
            m_dragMinute = v.appointment.startMin;
            m_moved = false;
            m_conflicts.clear();
            return;
        }
    }
}

void WeekGrid::mouseMoveEvent(QMouseEvent* event) {
    if (m_dragId == 0) {
        return;
    }
    const auto [day, minute] = slotAt(event->position());
    if (m_moved && day == m_dragDay && minute == m_dragMinute) {
        return;
    }
    m_moved = true;
    m_dragDay = day;
    m_dragMinute = minute;
    m_conflicts = m_checker ? m_checker(m_dragId, m_monday + std::chrono::days{day}, minute)
                            : std::vector<sch::Conflict>{};
    QStringList messages;
    for (const auto& c : m_conflicts) {
        messages << qs(c.message);
    }
    emit dragConflictsChanged(messages);
    update();
}

void WeekGrid::mouseReleaseEvent(QMouseEvent* event) {
    if (m_dragId == 0) {
        return;
    }
    mouseMoveEvent(event);
    const std::int64_t id = m_dragId;
    const sch::AppointmentView* v = find(id);
    const bool changed = v && m_moved &&
                         (m_monday + std::chrono::days{m_dragDay} != v->appointment.day ||
                          m_dragMinute != v->appointment.startMin);
    m_dragId = 0;
    m_moved = false;
    update();
    if (changed) {
        emit moveRequested(id, (m_monday + std::chrono::days{m_dragDay}).time_since_epoch().count(),
                           m_dragMinute);
    }
}

ScheduleView::ScheduleView(store::Store& store, QWidget* parent)
    : QWidget(parent),
      m_store(store),
      m_service(store),
      m_kind(new QComboBox),
      m_resource(new QComboBox),
      m_weekLabel(new QLabel),
      m_grid(new WeekGrid),
      m_status(new QLabel),
      m_today(new QTableWidget(0, 6)),
      m_checkIn(new QPushButton(tr("Check in"))),
      m_warnings(new QListWidget) {
    m_kind->setObjectName("scheduleKind");
    m_kind->addItems({tr("Device"), tr("Room"), tr("Technician")});
    m_resource->setObjectName("scheduleResource");
    m_resource->setMinimumWidth(140);
    m_weekLabel->setObjectName("scheduleWeek");
    m_status->setObjectName("scheduleStatus");
    m_status->setWordWrap(true);
    m_today->setObjectName("todaySessions");
    m_today->setHorizontalHeaderLabels(
        {tr("Time"), tr("Patient"), tr("Session"), tr("Device"), tr("Room"), tr("Status")});
    m_today->verticalHeader()->hide();
    m_today->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_today->setSelectionMode(QAbstractItemView::SingleSelection);
    m_today->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_today->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_today->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    m_checkIn->setObjectName("checkIn");
    m_warnings->setObjectName("behindWarnings");
    m_warnings->setWordWrap(true);
    m_grid->setSnapMinutes(static_cast<int>(sch::SchedulingRules::builtIn().gridMinutes.value));

    auto* previous = new QPushButton(tr("◀"));
    auto* today = new QPushButton(tr("This week"));
    auto* next = new QPushButton(tr("▶"));
    previous->setObjectName("previousWeek");
    next->setObjectName("nextWeek");
    auto* bar = new QHBoxLayout;
    bar->addWidget(previous);
    bar->addWidget(today);
    bar->addWidget(next);
    bar->addWidget(m_weekLabel, 1);
    bar->addWidget(new QLabel(tr("Show")));
    bar->addWidget(m_kind);
    bar->addWidget(m_resource);

    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(m_grid, 1);
    leftLayout->addWidget(m_status);

    auto* right = new QWidget;
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    auto* todayTitle = new QLabel(tr("<b>Today's sessions</b>"));
    rightLayout->addWidget(todayTitle);
    rightLayout->addWidget(m_today, 2);
    rightLayout->addWidget(m_checkIn);
    rightLayout->addWidget(new QLabel(tr("<b>Courses falling behind</b>")));
    rightLayout->addWidget(m_warnings, 1);

    auto* split = new QSplitter;
    split->addWidget(left);
    split->addWidget(right);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    right->setMinimumWidth(400);
    split->setSizes({780, 460});

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(split, 1);

    m_reasonPrompt = [this]() -> std::optional<QString> {
        bool ok = false;
        const QString reason =
            QInputDialog::getText(this, tr("Move session"), tr("Reason for the move (recorded):"),
                                  QLineEdit::Normal, QString(), &ok);
        return ok ? std::optional<QString>(reason) : std::nullopt;
    };
    m_grid->setChecker([this](std::int64_t id, sch::Day day, int minute) {
        std::vector<sch::Conflict> conflicts;
        if (!m_actor) {
            return conflicts;
        }
        auto checked = m_service.checkMove(
            *m_actor, {id, sch::formatDay(day), sch::formatClock(minute), "", "", "", ""});
        if (!checked) {
            conflicts.push_back({checked.error().field, checked.error().message});
            return conflicts;
        }
        return *checked;
    });
    connect(m_grid, &WeekGrid::dragConflictsChanged, this, [this](const QStringList& messages) {
        m_status->setStyleSheet(messages.isEmpty() ? "color: #1a7f37;" : "color: #cf222e;");
        m_status->setText(messages.isEmpty() ? tr("Free: drop to move")
                                             : tr("Conflict: %1").arg(messages.join("; ")));
    });
    connect(m_grid, &WeekGrid::moveRequested, this, &ScheduleView::moveAppointment);
    connect(previous, &QPushButton::clicked, this,
            [this] { showWeek(m_monday - std::chrono::days{7}); });
    connect(next, &QPushButton::clicked, this,
            [this] { showWeek(m_monday + std::chrono::days{7}); });
    connect(today, &QPushButton::clicked, this, [this] {
        auto day = m_service.today();
        if (day) {
            showWeek(sch::parseDay(*day, "today").value());
        }
    });
    connect(m_kind, &QComboBox::currentIndexChanged, this, [this] {
        fillResources();
        refreshWeek();
    });
    connect(m_resource, &QComboBox::currentIndexChanged, this, [this] { refreshWeek(); });
    connect(m_checkIn, &QPushButton::clicked, this, &ScheduleView::checkInSelected);
    setEnabled(false);
}

void ScheduleView::setActor(const std::optional<records::Actor>& actor) {
    m_actor = actor;
    setEnabled(m_actor.has_value());
    if (m_actor) {
        auto day = m_service.today();
        auto parsed = day ? sch::parseDay(*day, "today") : Result<sch::Day>(day.error());
        if (parsed) {
            m_monday = sch::weekStart(*parsed);
        }
    }
    refresh();
}

void ScheduleView::showWeek(sch::Day day) {
    m_monday = sch::weekStart(day);
    refreshWeek();
}

void ScheduleView::refresh() {
    if (!m_actor) {
        m_grid->setWeek(m_monday, {});
        m_today->setRowCount(0);
        m_warnings->clear();
        return;
    }
    fillResources();
    refreshWeek();
    refreshToday();
    refreshWarnings();
}

void ScheduleView::fillResources() {
    if (!m_actor) {
        return;
    }
    auto resources = m_service.resources(*m_actor);
    if (!resources) {
        m_status->setText(describeError(resources.error()));
        return;
    }
    int first = 24 * 60;
    int last = 0;
    for (const auto& hours : resources->opening) {
        if (hours) {
            first = std::min(first, hours->startMin);
            last = std::max(last, hours->endMin);
        }
    }
    if (first < last) {
        m_grid->setHours(first / 60 * 60, (last + 59) / 60 * 60);
    }
    const QString current = m_resource->currentText();
    QSignalBlocker block(m_resource);
    m_resource->clear();
    m_resource->addItem(tr("(all)"));
    switch (m_kind->currentIndex()) {
        case 0:
            for (const auto& d : resources->devices) {
                m_resource->addItem(qs(d.name) + (d.inService ? "" : tr(" (out of service)")),
                                    qs(d.name));
            }
            break;
        case 1:
            for (const auto& r : resources->rooms) {
                m_resource->addItem(qs(r.name), qs(r.name));
            }
            break;
        default:
            for (const auto& s : resources->staff) {
                m_resource->addItem(qs(s.displayName + " (" + s.code + ")"), qs(s.code));
            }
            break;
    }
    const int index = m_resource->findText(current);
    m_resource->setCurrentIndex(index >= 0 ? index : 0);
}

sch::ListFilter ScheduleView::weekFilter() const {
    sch::ListFilter filter;
    filter.from = sch::formatDay(m_monday);
    filter.to = sch::formatDay(m_monday + std::chrono::days{6});
    const std::string name = m_resource->currentData().toString().toStdString();
    if (!name.empty()) {
        switch (m_kind->currentIndex()) {
            case 0:
                filter.device = name;
                break;
            case 1:
                filter.room = name;
                break;
            default:
                filter.technician = name;
                break;
        }
    }
    return filter;
}

void ScheduleView::refreshWeek() {
    const auto ymd = std::chrono::year_month_day{m_monday};
    const auto sunday = std::chrono::year_month_day{m_monday + std::chrono::days{6}};
    m_weekLabel->setText(tr("<b>%1-%2-%3 to %4-%5-%6</b>")
                             .arg(static_cast<int>(ymd.year()))
                             .arg(static_cast<unsigned>(ymd.month()), 2, 10, QChar('0'))
                             .arg(static_cast<unsigned>(ymd.day()), 2, 10, QChar('0'))
                             .arg(static_cast<int>(sunday.year()))
                             .arg(static_cast<unsigned>(sunday.month()), 2, 10, QChar('0'))
                             .arg(static_cast<unsigned>(sunday.day()), 2, 10, QChar('0')));
    if (!m_actor) {
        return;
    }
    auto list = m_service.list(*m_actor, weekFilter());
    if (!list) {
        m_status->setText(describeError(list.error()));
        m_grid->setWeek(m_monday, {});
        return;
    }
    m_grid->setWeek(m_monday, std::move(list).value());
}

void ScheduleView::refreshToday() {
    m_today->setRowCount(0);
    auto today = m_service.today();
    if (!m_actor || !today) {
        return;
    }
    sch::ListFilter filter;
    filter.from = *today;
    filter.to = *today;
    auto list = m_service.list(*m_actor, filter);
    if (!list) {
        return;
    }
    m_today->setRowCount(static_cast<int>(list->size()));
    for (int row = 0; row < static_cast<int>(list->size()); ++row) {
        const sch::AppointmentView& v = (*list)[static_cast<std::size_t>(row)];
        const QStringList cells{qs(sch::formatClock(v.appointment.startMin)),
                                qs(v.mrn + " " + v.patientName),
                                QString("%1/%2").arg(v.number).arg(v.total),
                                qs(v.device),
                                qs(v.room),
                                qs(sch::toString(v.appointment.status))};
        for (int column = 0; column < cells.size(); ++column) {
            auto* item = new QTableWidgetItem(cells[column]);
            item->setData(Qt::UserRole, static_cast<qlonglong>(v.appointment.id));
            m_today->setItem(row, column, item);
        }
    }
}

void ScheduleView::refreshWarnings() {
    m_warnings->clear();
    if (!m_actor) {
        return;
    }
    auto warnings = m_service.behind(*m_actor);
    if (!warnings) {
        return;
    }
    for (const auto& w : *warnings) {
        auto* item = new QListWidgetItem(
            QString("⚠ %1 · %2: %3").arg(qs(w.mrn), qs(w.courseLabel), qs(w.message)));
        item->setForeground(QColor(154, 103, 0));
        m_warnings->addItem(item);
    }
}

void ScheduleView::checkInSelected() {
    const auto selected = m_today->selectedItems();
    if (!m_actor || selected.isEmpty()) {
        return;
    }
    const qlonglong id = selected.front()->data(Qt::UserRole).toLongLong();
    auto done = m_service.checkIn(*m_actor, id);
    m_status->setStyleSheet(done ? "color: #1a7f37;" : "color: #cf222e;");
    m_status->setText(done ? tr("Checked in: %1").arg(qs(done->mrn + " " + done->patientName))
                           : describeError(done.error()));
    refresh();
}

void ScheduleView::moveAppointment(qint64 appointmentId, qint64 day, int minuteOfDay) {
    if (!m_actor) {
        return;
    }
    const auto reason = m_reasonPrompt ? m_reasonPrompt() : std::nullopt;
    if (!reason) {
        m_status->setText(tr("Move cancelled"));
        refreshWeek();
        return;
    }
    const sch::Day target{std::chrono::days{day}};
    auto moved = m_service.move(
        *m_actor, {appointmentId, sch::formatDay(target), sch::formatClock(minuteOfDay), "", "", "",
                   reason->toStdString()});
    m_status->setStyleSheet(moved ? "color: #1a7f37;" : "color: #cf222e;");
    m_status->setText(moved
                          ? tr("Moved to %1 %2")
                                .arg(qs(sch::formatDay(target)), qs(sch::formatClock(minuteOfDay)))
                          : describeError(moved.error()));
    refresh();
}

}  // namespace neuroplan::gui
