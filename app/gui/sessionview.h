// The Session tab: the technician's console for one treatment session. Pick the patient, the
// course's approved protocol version and the device; check in and prepare (the checklist, each
// line green or red with why); start, pause and resume, stop with a reason; watch pulses,
// trains, elapsed time, output and coil temperature (rTMS) or lead impedance (VNS) live, with a
// chart; read the journal as it is written; record adverse events; open the post-session scale.
// The large EMERGENCY STOP button is enabled at all times and never waits for anything.
//
// The session itself is core's (sessions::SessionService, sessions::SessionRunner through
// SessionRunnerAdapter); this view shows state and forwards intent.
#pragma once

#include <QAbstractTableModel>
#include <QWidget>
#include <functional>
#include <optional>
#include <vector>

#include "courses/courses.h"
#include "records/patients.h"
#include "sessions/runner.h"
#include "sessions/service.h"

class QChart;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QLineSeries;
class QProgressBar;
class QPushButton;
class QTableView;
class QTableWidget;
class QTimer;
class QValueAxis;

namespace neuroplan::gui {

class SessionRunnerAdapter;

/// The session's journal as it is written, oldest first.
class JournalModel : public QAbstractTableModel {
    Q_OBJECT
  public:
    enum Column { Time, Source, Event, Pulses, Detail, ColumnCount };

    using QAbstractTableModel::QAbstractTableModel;

    /// Shows `events` (the journal as read back, by seq): rows are appended when the list
    /// extends what is shown, else the model is reset.
    void sync(std::vector<sessions::StoredEvent> events);
    void clear();
    const sessions::StoredEvent* eventAt(int row) const;

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    int columnCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

  private:
    std::vector<sessions::StoredEvent> m_events;
};

class SessionView : public QWidget {
    Q_OBJECT
  public:
    /// The view borrows the store; it must outlive the view. `rules` supplies the adverse-event
    /// types (sessions-v1.json).
    explicit SessionView(store::Store& store, QWidget* parent = nullptr,
                         const sessions::SessionRules& rules = sessions::builtInSessionRules());
    /// A session still stimulating is stopped ("the program running the session closed").
    ~SessionView() override;

    void setActor(const std::optional<records::Actor>& actor);
    /// Selects the patient for the next session (ignored while a session is open).
    void showPatient(const QString& mrn);
    /// Asked for the reason of a stop (a dialog by default; tests answer directly).
    void setReasonPrompt(std::function<std::optional<QString>()> prompt) {
        m_reasonPrompt = std::move(prompt);
    }

    /// A session of this console has been checked in and is not yet released.
    bool sessionOpen() const;
    /// The session shown (the open one, or the last one run here); 0 if none.
    std::int64_t sessionId() const { return m_sessionId; }
    /// The status shown for it.
    std::optional<sessions::SessionStatus> status() const { return m_status; }

    QComboBox* patientCombo() const { return m_patient; }
    QComboBox* protocolCombo() const { return m_protocol; }
    QLineEdit* deviceEdit() const { return m_device; }
    QCheckBox* screeningCheck() const { return m_screening; }
    QPushButton* prepareButton() const { return m_prepare; }
    QPushButton* startButton() const { return m_start; }
    QPushButton* pauseButton() const { return m_pause; }
    QPushButton* stopButton() const { return m_stop; }
    QPushButton* emergencyButton() const { return m_emergency; }
    QTableWidget* checklistTable() const { return m_checklist; }
    QLabel* summaryLabel() const { return m_summary; }
    QLabel* statusLabel() const { return m_statusLabel; }
    QLabel* pulsesLabel() const { return m_pulses; }
    QLabel* trainsLabel() const { return m_trains; }
    QLabel* elapsedLabel() const { return m_elapsed; }
    QLabel* outputLabel() const { return m_output; }
    QLabel* sensorLabel() const { return m_sensor; }
    QLabel* linkLabel() const { return m_link; }
    QLabel* messageLabel() const { return m_message; }
    JournalModel* journalModel() const { return m_journal; }
    QChart* chart() const { return m_chart; }
    /// Points on the chart's pulse line (for tests).
    int plottedPoints() const;
    QComboBox* adverseTypeCombo() const { return m_aeType; }
    QComboBox* adverseSeverityCombo() const { return m_aeSeverity; }
    QLineEdit* adverseActionEdit() const { return m_aeAction; }
    QLineEdit* adverseNoteEdit() const { return m_aeNote; }
    QPushButton* adverseRecordButton() const { return m_aeRecord; }
    QPushButton* scaleButton() const { return m_scale; }

  public slots:
    /// Checks the patient in, opens the runner and prepares: the checklist appears when the
    /// device answered. A failing checklist aborts the session with the failing item as reason.
    void checkInAndPrepare();
    void start();
    /// Pause while running, resume while paused.
    void pauseOrResume();
    /// Asks for the reason, then stops; the session ends stopped_early (aborted before start).
    void stop();
    void emergencyStop();
    /// Records the adverse event of the form on the session shown; core decides whether it
    /// stops the session (then this console stops it at once) and flags the course.
    Result<sessions::AdverseEvent> recordAdverseEvent();
    void refreshPatients();

  signals:
    /// The technician asked to record a post-session scale for this patient and session number
    /// (the main window opens the Scales tab's form with context post_session).
    void postSessionScaleRequested(const QString& mrn, int sessionNumber);
    /// A session was checked in and its runner opened on this console.
    void sessionOpened(qint64 sessionId);
    /// The session shown reached a final status (or interrupted) and its runner was released.
    void sessionEnded(qint64 sessionId, const QString& status);

  private:
    void refreshProtocols();
    void refreshSummary();
    void showChecklist(const sessions::Checklist& checklist);
    void onRunnerEvent(const sessions::RunnerEvent& event);
    void onCommandFinished(const QString& what, const QString& error);
    void showProgress(const sessions::Progress& progress);
    /// `measured`: the progress comes with a fresh sensor reading (telemetry).
    void addChartPoint(const sessions::Progress& progress, bool measured = false);
    void resetChart(const std::string& kind);
    void showFinalRecord(std::int64_t sessionId);
    void requestScale();
    void scheduleJournalSync();
    void syncJournal();
    void tick();
    void updateControls();
    void say(const QString& text, bool error = false);
    void fillAdverseTypes(const std::string& kind);

    store::Store& m_store;
    sessions::SessionService m_service;
    records::PatientService m_patients;
    courses::CourseService m_courses;
    const sessions::SessionRules& m_rules;
    std::optional<records::Actor> m_actor;
    std::function<std::optional<QString>()> m_reasonPrompt;
    SessionRunnerAdapter* m_adapter;

    std::int64_t m_sessionId = 0;
    std::string m_sessionMrn;
    std::string m_sessionKind;
    std::int64_t m_sessionCourse = 0;
    std::optional<sessions::SessionStatus> m_status;
    sessions::Progress m_last;
    double m_lastPlottedS = -1;
    bool m_open = false;       ///< a runner is open (GUI thread's view: until closed() arrives)
    bool m_releasing = false;  ///< the runner is being released (the session ended)
    int m_ticks = 0;

    QComboBox* m_patient;
    QComboBox* m_protocol;
    QLineEdit* m_device;
    QCheckBox* m_screening;
    QPushButton* m_prepare;
    QLabel* m_summary;
    QTableWidget* m_checklist;
    QLabel* m_statusLabel;
    QProgressBar* m_pulseBar;
    QLabel* m_pulses;
    QLabel* m_trains;
    QLabel* m_elapsed;
    QLabel* m_output;
    QLabel* m_sensorName;
    QLabel* m_sensor;
    QLabel* m_link;
    QLabel* m_message;
    QPushButton* m_start;
    QPushButton* m_pause;
    QPushButton* m_stop;
    QPushButton* m_emergency;
    QChart* m_chart;
    QLineSeries* m_pulseSeries;
    QLineSeries* m_sensorSeries;
    QValueAxis* m_timeAxis;
    QValueAxis* m_pulseAxis;
    QValueAxis* m_sensorAxis;
    double m_sensorMin = 0;
    double m_sensorMax = 0;
    JournalModel* m_journal;
    QTableView* m_journalView;
    QComboBox* m_aeType;
    QComboBox* m_aeSeverity;
    QLineEdit* m_aeAction;
    QLineEdit* m_aeNote;
    QPushButton* m_aeRecord;
    QPushButton* m_scale;
    QTimer* m_ticker;
    QTimer* m_journalTimer;
};

}  // namespace neuroplan::gui
