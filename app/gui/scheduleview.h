// The Schedule tab: a week per device, room or technician with drag-to-move (the conflicts
// core finds are shown while dragging, before the drop), today's sessions with check-in, and
// warnings for courses falling behind. Every rule is core's (scheduling::ScheduleService); the
// widgets show its answers and forward intent.
#pragma once

#include <QWidget>
#include <array>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "scheduling/service.h"

class QComboBox;
class QLabel;
class QListWidget;
class QPushButton;
class QTableWidget;

namespace neuroplan::gui {

/// A Monday-to-Sunday grid of appointments, hours down the side. Blocks are dragged with the
/// mouse; while dragging, `checker` is asked what would be wrong at the point under the mouse
/// and the ghost block turns red with the reasons, or green.
class WeekGrid : public QWidget {
    Q_OBJECT
  public:
    using Checker = std::function<std::vector<scheduling::Conflict>(
        std::int64_t appointmentId, scheduling::Day day, int minuteOfDay)>;

    explicit WeekGrid(QWidget* parent = nullptr);

    void setWeek(scheduling::Day monday, std::vector<scheduling::AppointmentView> appointments);
    void setHours(int firstMinute, int lastMinute) {
        m_first = firstMinute;
        m_last = lastMinute;
        update();
    }
    void setChecker(Checker checker) { m_checker = std::move(checker); }
    void setSnapMinutes(int minutes) { m_snap = std::max(1, minutes); }

    /// Where an appointment's block is drawn (empty when it is not in the week).
    QRect blockRect(std::int64_t appointmentId) const;
    /// The point of a day (0 = Monday) and a minute of the day.
    QPoint pointFor(int dayIndex, int minuteOfDay) const;
    const std::vector<scheduling::Conflict>& dragConflicts() const { return m_conflicts; }
    bool dragging() const { return m_dragId != 0; }
    QSize sizeHint() const override { return {760, 520}; }

  signals:
    void moveRequested(qint64 appointmentId, qint64 day, int minuteOfDay);
    void dragConflictsChanged(const QStringList& messages);
    void appointmentClicked(qint64 appointmentId);

  protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;

  private:
    QRectF area() const;
    double columnWidth() const;
    double yFor(int minute) const;
    /// The day index and snapped minute under a point, for a block grabbed `grabMinutes` below
    /// its top.
    std::pair<int, int> slotAt(QPointF point) const;
    const scheduling::AppointmentView* find(std::int64_t id) const;
    void layoutLanes();

    scheduling::Day m_monday{};
    std::vector<scheduling::AppointmentView> m_appointments;
    int m_first = 7 * 60;
    int m_last = 19 * 60;
    int m_snap = 5;
    Checker m_checker;
    std::int64_t m_dragId = 0;
    int m_grabMinutes = 0;
    int m_dragDay = 0;
    int m_dragMinute = 0;
    bool m_moved = false;
    std::vector<scheduling::Conflict> m_conflicts;
    std::map<std::int64_t, int> m_lanes;  ///< appointment -> lane within its day
    std::array<int, 7> m_laneCount{};
};

class ScheduleView : public QWidget {
    Q_OBJECT
  public:
    explicit ScheduleView(store::Store& store, QWidget* parent = nullptr);

    void setActor(const std::optional<records::Actor>& actor);
    /// Shows the week holding `day`.
    void showWeek(scheduling::Day day);
    /// Asked for the reason of a move (a dialog by default; tests answer directly).
    void setReasonPrompt(std::function<std::optional<QString>()> prompt) {
        m_reasonPrompt = std::move(prompt);
    }

    WeekGrid* grid() const { return m_grid; }
    QComboBox* kindCombo() const { return m_kind; }
    QComboBox* resourceCombo() const { return m_resource; }
    QTableWidget* todayTable() const { return m_today; }
    QPushButton* checkInButton() const { return m_checkIn; }
    QListWidget* warningList() const { return m_warnings; }
    QLabel* statusLabel() const { return m_status; }
    QLabel* weekLabel() const { return m_weekLabel; }

  public slots:
    void refresh();
    void checkInSelected();

  private:
    void fillResources();
    void refreshWeek();
    void refreshToday();
    void refreshWarnings();
    void moveAppointment(qint64 appointmentId, qint64 day, int minuteOfDay);
    scheduling::ListFilter weekFilter() const;

    store::Store& m_store;
    scheduling::ScheduleService m_service;
    std::optional<records::Actor> m_actor;
    scheduling::Day m_monday{};
    std::function<std::optional<QString>()> m_reasonPrompt;

    QComboBox* m_kind;
    QComboBox* m_resource;
    QLabel* m_weekLabel;
    WeekGrid* m_grid;
    QLabel* m_status;
    QTableWidget* m_today;
    QPushButton* m_checkIn;
    QListWidget* m_warnings;
};

}  // namespace neuroplan::gui
