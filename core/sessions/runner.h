// neuroplan::sessions — SessionRunner runs one session against its device: it prepares it
// (clinical checks, connect, load the approved parameters, read them back), starts, pauses,
// resumes and stops it, follows the device's own log into the journal, reacts to the device
// stopping itself (completed, fault, link lost), reconciles the pulses the device reports with
// the pulses journaled, and recovers a session whose program died.
//
// One runner per session and process: open() takes an exclusive lock beside the database
// (flock on "<db>.session-<id>.lock"), which the kernel releases if the process dies, so
// `session recover` can tell a session that is running elsewhere from one whose program is
// gone. Owner calls (prepare, start, ...) block until the device answered. Events reach the
// owner through the handler, from the runner's threads (or inside an owner call): the handler
// must be quick and thread-safe (the app queues them to its GUI thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "device/link.h"
#include "records/users.h"
#include "sessions/journal.h"
#include "sessions/machine.h"
#include "sessions/rules.h"
#include "sessions/service.h"

namespace neuroplan::sessions {

struct RunnerOptions {
    std::filesystem::path database;
    records::Actor actor;  ///< who operates (journal and audit)
    std::int64_t sessionId = 0;
    std::chrono::milliseconds connectWait{5000};  ///< prepare/recover wait for the device
    std::chrono::milliseconds heartbeatTimeout{500};
    /// After a lost link comes back, continue stimulating without asking (headless runs).
    /// The app asks the technician instead.
    bool autoResumeAfterLinkLoss = false;
    std::optional<device::TlsConfig> tls;
    bool allowPlaintext = false;
    const SessionRules* rules = nullptr;  ///< null: the built-in sessions-v1
};

/// What the session looks like now, for a console.
struct Progress {
    SessionStatus status = SessionStatus::CheckedIn;
    std::string statusReason;
    std::uint32_t pulses = 0;
    std::uint32_t trains = 0;
    std::uint32_t pulsesPlanned = 0;
    std::uint32_t trainsPlanned = 0;
    double output = 0;  ///< % machine output (rTMS) or mA (VNS)
    double coilTemperatureC = 0;
    double impedanceOhm = 0;
    double batteryPercent = 0;
    bool linkUp = false;
    std::string deviceSerial;
    double elapsedS = 0;  ///< since the start (stimulation and pauses)
};
nlohmann::json toJson(const Progress& progress);

struct RunnerEvent {
    enum class Kind { Status, Telemetry, Journal, Link, Ended };
    Kind kind = Kind::Status;
    Progress progress;
    JournalEvent journal;  ///< Journal: the event as journaled
    std::string detail;    ///< Status / Link: what happened
};

class SessionRunner {
  public:
    using Handler = std::function<void(const RunnerEvent&)>;

    /// Takes the session's lock (Conflict if another program holds it), opens the journal and
    /// starts the link thread. Does not connect yet.
    static Result<std::unique_ptr<SessionRunner>> open(RunnerOptions options, Handler handler);
    /// Stops stimulation if it is still running (the program is closing), flushes the journal
    /// and releases the lock.
    ~SessionRunner();
    SessionRunner(const SessionRunner&) = delete;
    SessionRunner& operator=(const SessionRunner&) = delete;

    /// Runs the checklist; when the clinical items hold, connects, loads the approved
    /// parameters, reads them back, and moves the session to ready. Nothing reaches the
    /// device if a clinical item fails.
    Result<Checklist> prepare(bool screeningConfirmed);
    /// Arms and starts (an interrupted session continues from the pulses already delivered).
    Status start();
    Status pause();
    /// Continues a paused session (also after the link came back).
    Status resume();
    /// Stops stimulation; the session ends stopped_early with the reason (aborted before the
    /// start). Waits until the session's record is final.
    Status stop(const std::string& reason);
    /// Emergency stop: sent ahead of everything queued, always accepted by the device.
    Status emergencyStop(const std::string& reason);
    /// Stops at once if an adverse event recorded elsewhere asked for it (checks the record).
    void pollStopRequest();

    /// Recovery of a session whose program died: marks it interrupted, connects, reads the
    /// device's log from where the journal ends, and records the reconciliation.
    Result<Session> recover();

    /// Waits until the session has ended (completed, stopped early, aborted or interrupted).
    bool waitForEnd(std::chrono::milliseconds timeout);
    bool ended() const;
    Progress progress() const;
    std::int64_t sessionId() const { return m_options.sessionId; }
    JournalStats journalStats() const { return m_journal->stats(); }

  private:
    class Lease;
    SessionRunner(RunnerOptions options, Handler handler, std::unique_ptr<Lease> lease,
                  std::unique_ptr<store::Store> store, std::unique_ptr<Journal> journal,
                  Session session);

    Status ensureLink();
    bool waitForDevice(std::chrono::milliseconds timeout);
    Result<device::pb::CommandResult> command(device::pb::Command command, const std::string& what);
    Status transition(SessionStatus to, const std::string& reason, JournalEvent event,
                      TransitionFields fields = {});
    JournalEvent operatorEvent(const std::string& kind, const std::string& detail) const;
    JournalEvent systemEvent(const std::string& kind, const std::string& detail) const;
    void stopWith(bool emergency, const std::string& reason);

    // On the link's strand:
    void onLink(const device::LinkEvent& event);
    void requestLogLocked();
    void onDeviceStoppedLocked(const device::pb::State& state);
    void maybeFinishLocked();
    void notify(RunnerEvent::Kind kind, const std::string& detail = {},
                const JournalEvent* journal = nullptr);
    void post(std::function<void()> task);  ///< to the worker thread (never the strand)

    RunnerOptions m_options;
    const SessionRules& m_rules;
    Handler m_handler;
    std::unique_ptr<Lease> m_lease;
    std::unique_ptr<store::Store> m_store;  ///< the owner thread's connection
    std::unique_ptr<Journal> m_journal;
    Session m_session;

    device::asio::io_context m_io;
    std::shared_ptr<device::DeviceLink> m_link;
    std::thread m_ioThread;
    std::unique_ptr<device::asio::steady_timer> m_restoreTimer;

    std::thread m_worker;
    std::mutex m_taskMutex;  ///< the worker's queue (taken after m_mutex, never before)
    std::deque<std::function<void()>> m_tasks;
    bool m_workerStop = false;
    std::condition_variable m_taskReady;

    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    SessionStatus m_status;
    std::string m_statusReason;
    device::pb::State m_state;
    bool m_haveState = false;
    bool m_linkUp = false;
    bool m_everConnected = false;
    std::string m_peerSerial, m_peerModel;
    std::uint64_t m_segmentStart = 0;           ///< device log offset of this session's load
    std::optional<std::uint64_t> m_segmentEnd;  ///< a later load: entries from here are not ours
    std::uint64_t m_logNext = 0;
    bool m_logInFlight = false;
    bool m_following = false;  ///< the device log is read into the journal (after our load)
    bool m_recovering = false;
    bool m_stimulationStarted = false;      ///< start was sent in this run
    std::optional<SessionStatus> m_ending;  ///< the device stopped: how the session ends
    std::string m_endingReason;
    std::optional<std::int64_t> m_endingPulses;
    std::string m_stopReason;  ///< why the operator stopped
    bool m_ended = false;
    bool m_finishing = false;
    Progress m_progress;
    std::chrono::steady_clock::time_point m_startedAt;
};

}  // namespace neuroplan::sessions
