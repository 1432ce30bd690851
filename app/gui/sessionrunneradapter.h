// The Qt app's door to a running session: owns one sessions::SessionRunner, makes its blocking
// owner calls (prepare, start, pause, resume, stop) one at a time on a command thread of its
// own, sends emergency stops from a second thread so that they never wait behind a command, and
// re-emits the runner's events as signals on the GUI thread (queued), as DeviceLinkAdapter does
// for the device link. core/sessions stays Qt-free; widgets never see the runner's threads.
#pragma once

#include <QObject>
#include <QString>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "sessions/runner.h"

namespace neuroplan::gui {

class SessionRunnerAdapter : public QObject {
    Q_OBJECT

  public:
    explicit SessionRunnerAdapter(QObject* parent = nullptr);
    /// Runs what is queued (commands and emergency stops), then releases the runner, whose
    /// destructor stops a session that is still stimulating and waits for its end.
    ~SessionRunnerAdapter() override;
    SessionRunnerAdapter(const SessionRunnerAdapter&) = delete;
    SessionRunnerAdapter& operator=(const SessionRunnerAdapter&) = delete;

    /// Opens the runner of a checked-in session (takes the session's lock and opens its journal;
    /// does not connect). On the GUI thread; quick. Conflict while another runner is open.
    Status open(sessions::RunnerOptions options);
    bool isOpen() const;
    /// The open session, 0 if none.
    std::int64_t sessionId() const;
    /// A command is queued or in flight (emergency stops do not count).
    bool busy() const { return m_pending > 0; }
    /// The runner's progress now (elapsed time included), if a runner is open. Never blocks for
    /// longer than the runner's own short lock.
    std::optional<sessions::Progress> progress() const;

    // Queued on the command thread, in order; each outcome arrives as a signal.
    void prepare(bool screeningConfirmed);  ///< prepared() or commandFinished("prepare", error)
    void start();                           ///< commandFinished("start", ...)
    void pause();
    void resume();
    void stop(const QString& reason);
    /// Asks the runner whether an adverse event recorded elsewhere asked the session to stop.
    void pollStopRequest();
    /// Releases the runner (journal flushed, lock released); closed() when done.
    void close();

    /// Never blocks the caller: the emergency thread sends it at once, ahead of anything the
    /// runner has queued for the device. emergencyStopFinished() says what happened.
    void emergencyStop(const QString& reason);

  signals:
    void runnerEvent(const neuroplan::sessions::RunnerEvent& event);
    void prepared(const neuroplan::sessions::Checklist& checklist);
    /// `what` is prepare, start, pause, resume, stop or poll; `error` is empty on success.
    void commandFinished(const QString& what, const QString& error);
    void emergencyStopFinished(const QString& detail);
    void closed(qint64 sessionId);
    void busyChanged(bool busy);

  private:
    using Runner = std::shared_ptr<sessions::SessionRunner>;
    /// Queues `call` for the command thread; it runs with the runner (if one is open) while
    /// holding the owner lock.
    void enqueue(std::function<void(sessions::SessionRunner*)> call);
    /// Runs `done` on the GUI thread, then marks one command finished.
    void finish(std::function<void()> done);
    Runner runner() const;
    void commandLoop();
    void emergencyLoop();

    int m_pending = 0;  ///< GUI thread only

    mutable std::mutex m_runnerMutex;
    Runner m_runner;  ///< shared by the GUI, command and emergency threads
    std::int64_t m_sessionId = 0;

    /// Held around every owner call on the command thread. The runner's owner calls share one
    /// SQLite connection; an emergency stop before the session runs uses it too, so it takes
    /// this lock then (see emergencyLoop).
    std::mutex m_ownerCall;

    std::mutex m_queueMutex;
    std::condition_variable m_queueReady;
    std::deque<std::function<void()>> m_queue;
    std::deque<std::string> m_emergencies;
    bool m_stopping = false;
    std::thread m_commandThread;
    std::thread m_emergencyThread;
};

}  // namespace neuroplan::gui

Q_DECLARE_METATYPE(neuroplan::sessions::RunnerEvent)
Q_DECLARE_METATYPE(neuroplan::sessions::Checklist)
