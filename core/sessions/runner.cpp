#include <utility>  // before Asio (Boost 1.74 with C++20)

#include "sessions/runner.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "courses/courses.h"
#include "protocols/document.h"

namespace neuroplan::sessions {

namespace pb = device::pb;
namespace asio = device::asio;
using nlohmann::json;

// ---- the lock beside the database --------------------------------------------------------

class SessionRunner::Lease {
  public:
    static Result<std::unique_ptr<Lease>> acquire(const std::filesystem::path& database,
                                                  std::int64_t sessionId) {
        const std::string path =
            database.string() + ".session-" + std::to_string(sessionId) + ".lock";
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            return makeError(
                ErrorCode::Storage, "session",
                "cannot create the session lock " + path + ": " + std::strerror(errno));
        }
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd);
            return makeError(
                ErrorCode::Conflict, "session",
                "session " + std::to_string(sessionId) + " is being run by another program");
        }
        return std::unique_ptr<Lease>(new Lease(fd, path));
    }
    ~Lease() {
        ::unlink(m_path.c_str());  // only the holder removes it
        ::close(m_fd);
    }

  private:
    Lease(int fd, std::string path) : m_fd(fd), m_path(std::move(path)) {}
    int m_fd;
    std::string m_path;
};

// ---- helpers --------------------------------------------------------------------------------

json toJson(const Progress& p) {
    return {{"status", toString(p.status)},
            {"reason", p.statusReason},
            {"pulses", p.pulses},
            {"pulses_planned", p.pulsesPlanned},
            {"trains", p.trains},
            {"trains_planned", p.trainsPlanned},
            {"output", p.output},
            {"coil_temperature_c", p.coilTemperatureC},
            {"impedance_ohm", p.impedanceOhm},
            {"battery_percent", p.batteryPercent},
            {"link_up", p.linkUp},
            {"device_serial", p.deviceSerial},
            {"elapsed_s", p.elapsedS}};
}

namespace {

const char* stopCauseText(pb::StopCause cause) {
    switch (cause) {
        case pb::STOP_COMPLETED:
            return "completed";
        case pb::STOP_OPERATOR:
            return "stopped by the operator";
        case pb::STOP_EMERGENCY:
            return "emergency stop";
        case pb::STOP_LINK_LOST:
            return "the device stopped itself: link lost";
        case pb::STOP_FAULT:
            return "device fault";
        default:
            return "stopped";
    }
}

}  // namespace

// ---- opening and closing --------------------------------------------------------------------

Result<std::unique_ptr<SessionRunner>> SessionRunner::open(RunnerOptions options, Handler handler) {
    auto lease = Lease::acquire(options.database, options.sessionId);
    NP_TRY(lease);
    store::OpenOptions openOptions;
    openOptions.createIfMissing = false;
    auto store = store::Store::open(options.database, openOptions);
    NP_TRY(store);
    auto session = loadSession(store->db(), options.sessionId);
    NP_TRY(session);
    if (isFinal(session->status)) {
        return makeError(ErrorCode::Conflict, "session_id",
                         "session " + std::to_string(options.sessionId) + " has ended (" +
                             toString(session->status) + ")");
    }
    const SessionRules& rules = options.rules ? *options.rules : builtInSessionRules();
    JournalOptions journalOptions;
    journalOptions.groupCommit =
        std::chrono::milliseconds(static_cast<long>(rules.groupCommitMs.value));
    journalOptions.who = options.actor.auditIdentity();
    auto journal = Journal::open(options.database, options.sessionId, journalOptions);
    NP_TRY(journal);
    return std::unique_ptr<SessionRunner>(
        new SessionRunner(std::move(options), std::move(handler), std::move(*lease),
                          std::make_unique<store::Store>(std::move(*store)), std::move(*journal),
                          std::move(*session)));
}

SessionRunner::SessionRunner(RunnerOptions options, Handler handler, std::unique_ptr<Lease> lease,
                             std::unique_ptr<store::Store> store, std::unique_ptr<Journal> journal,
                             Session session)
    : m_options(std::move(options)),
      m_rules(m_options.rules ? *m_options.rules : builtInSessionRules()),
      m_handler(std::move(handler)),
      m_lease(std::move(lease)),
      m_store(std::move(store)),
      m_journal(std::move(journal)),
      m_session(std::move(session)),
      m_status(m_session.status),
      m_statusReason(m_session.statusReason) {
    m_segmentStart = static_cast<std::uint64_t>(m_session.loadOffset.value_or(0));
    m_logNext = std::max(m_journal->nextDeviceOffset(), m_segmentStart);
    m_following = m_session.loadOffset.has_value();  // the device log is ours from the load on
    m_progress.status = m_status;
    m_progress.pulsesPlanned = static_cast<std::uint32_t>(m_session.pulsesPlanned);
    m_worker = std::thread([this] {
        std::unique_lock lock(m_taskMutex);
        for (;;) {
            m_taskReady.wait(lock, [&] { return m_workerStop || !m_tasks.empty(); });
            if (m_tasks.empty()) {
                return;
            }
            auto task = std::move(m_tasks.front());
            m_tasks.pop_front();
            lock.unlock();
            task();
            lock.lock();
        }
    });
}

SessionRunner::~SessionRunner() {
    bool stimulating = false;
    {
        std::lock_guard lock(m_mutex);
        stimulating = !m_ended &&
                      (m_status == SessionStatus::Running || m_status == SessionStatus::Paused) &&
                      m_linkUp;
    }
    if (stimulating) {
        stopWith(false, "the program running the session closed");
        waitForEnd(std::chrono::seconds(5));
    }
    {
        std::lock_guard lock(m_taskMutex);
        m_workerStop = true;
    }
    m_taskReady.notify_all();
    m_worker.join();
    if (m_link) {
        asio::post(m_link->strand(), [link = m_link] { link->close(); });
    }
    if (m_ioThread.joinable()) {
        m_ioThread.join();
    }
    (void)m_journal->flush();
}

void SessionRunner::post(std::function<void()> task) {
    {
        std::lock_guard lock(m_taskMutex);  // callers may hold m_mutex
        m_tasks.push_back(std::move(task));
    }
    m_taskReady.notify_all();
}

Status SessionRunner::ensureLink() {
    if (m_link) {
        return {};
    }
    auto address = device::parseDeviceAddress(m_session.deviceAddress, "device");
    NP_TRY(address);
    device::LinkOptions link;
    link.host = address->host;
    link.port = address->port;
    link.expectKind = m_session.kind == "rtms" ? pb::DEVICE_KIND_RTMS : pb::DEVICE_KIND_VNS;
    link.heartbeatTimeout = m_options.heartbeatTimeout;
    link.tls = m_options.tls;
    link.allowPlaintext = m_options.allowPlaintext;
    auto created = device::DeviceLink::create(
        m_io, link, [this](const device::LinkEvent& event) { onLink(event); });
    NP_TRY(created);
    m_link = *created;
    m_restoreTimer = std::make_unique<asio::steady_timer>(m_link->strand());
    m_link->start();
    m_ioThread = std::thread([this] { m_io.run(); });
    return {};
}

bool SessionRunner::waitForDevice(std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, timeout, [&] { return m_linkUp && m_haveState; });
}

Result<pb::CommandResult> SessionRunner::command(pb::Command command, const std::string& what) {
    auto future = m_link->send(std::move(command));
    pb::CommandResult result = future.get();
    if (result.status() != pb::COMMAND_DONE) {
        return makeError(ErrorCode::Conflict, "device",
                         what + " failed: " + pb::CommandStatus_Name(result.status()) +
                             (result.detail().empty() ? "" : ": " + result.detail()));
    }
    return result;
}

JournalEvent SessionRunner::operatorEvent(const std::string& kind,
                                          const std::string& detail) const {
    JournalEvent event;
    event.source = "operator";
    event.kind = kind;
    event.detail = detail;
    event.userId = m_options.actor.userId;
    return event;
}

JournalEvent SessionRunner::systemEvent(const std::string& kind, const std::string& detail) const {
    JournalEvent event;
    event.source = "system";
    event.kind = kind;
    event.detail = detail;
    return event;
}

Status SessionRunner::transition(SessionStatus to, const std::string& reason, JournalEvent event,
                                 TransitionFields fields) {
    {
        std::lock_guard lock(m_mutex);
        if (m_status != to) {
            NP_TRY(checkTransition(m_status, to));
        }
    }
    const std::string now = formatUtc(m_store->clock()());
    const std::int64_t id = m_options.sessionId;
    NP_TRY(m_journal->commit(std::move(event), [=](store::WriteContext& w) {
        return sessionTransition(w, id, to, reason, fields, now);
    }));
    {
        std::lock_guard lock(m_mutex);
        m_status = to;
        m_statusReason = reason;
        m_progress.status = to;
        m_progress.statusReason = reason;
        if (isFinal(to) || to == SessionStatus::Interrupted) {
            m_ended = isFinal(to) || !m_recovering;
        }
    }
    m_changed.notify_all();
    notify(RunnerEvent::Kind::Status, reason);
    return {};
}

void SessionRunner::notify(RunnerEvent::Kind kind, const std::string& detail,
                           const JournalEvent* journal) {
    if (!m_handler) {
        return;
    }
    RunnerEvent event;
    event.kind = kind;
    event.detail = detail;
    {
        std::lock_guard lock(m_mutex);
        event.progress = m_progress;
        if (m_startedAt != std::chrono::steady_clock::time_point{}) {
            event.progress.elapsedS =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - m_startedAt)
                    .count();
        }
    }
    if (journal != nullptr) {
        event.journal = *journal;
    }
    m_handler(event);
}

// ---- the owner's calls ----------------------------------------------------------------------

Result<Checklist> SessionRunner::prepare(bool screeningConfirmed) {
    SessionService service(*m_store, m_rules);
    auto checklist =
        service.clinicalChecks(m_options.actor, m_options.sessionId, screeningConfirmed);
    NP_TRY(checklist);
    const auto stillPreparing = [&] {
        std::lock_guard lock(m_mutex);
        return m_status == SessionStatus::CheckedIn || m_status == SessionStatus::Ready ||
               m_status == SessionStatus::Interrupted;
    };
    if (!stillPreparing()) {
        return makeError(ErrorCode::Conflict, "session_id",
                         std::string("session is ") + toString(m_status) + "; nothing to prepare");
    }
    if (!checklist->allOk()) {
        return *checklist;  // nothing reaches the device
    }

    // The device plan: the approved content, the current motor threshold.
    auto version =
        m_store->db().prepare("SELECT protocol_json FROM protocol_versions WHERE id = ?");
    NP_TRY(version);
    version->bindAll(m_session.protocolVersionId);
    NP_TRY(version->step());
    auto protocol = protocols::parseProtocol(json::parse(version->columnText(0), nullptr, false));
    NP_TRY(protocol);
    courses::CourseService courses(*m_store);
    auto context = courses.rtmsContext(m_session.patientId);
    NP_TRY(context);
    auto plan = devicePlan(*protocol, context->rmtPercentMso, m_session.contentSha256);
    NP_TRY(plan);
    std::optional<std::int64_t> thresholdId;
    if (m_session.kind == "rtms") {
        auto mt = m_store->db().prepare(
            "SELECT id FROM motor_thresholds WHERE patient_id = ? ORDER BY measured_on DESC, id "
            "DESC LIMIT 1");
        NP_TRY(mt);
        mt->bindAll(m_session.patientId);
        NP_TRY(mt->step());
        thresholdId = mt->columnInt(0);
    }

    NP_TRY(ensureLink());
    CheckItem connected{"device.connected", "Device connected", false, "", "issue #6"};
    if (!waitForDevice(m_options.connectWait)) {
        connected.detail = "no answer from " + m_session.deviceAddress + " within " +
                           std::to_string(m_options.connectWait.count()) + " ms";
        checklist->items.push_back(connected);
        return *checklist;
    }
    {
        std::lock_guard lock(m_mutex);
        connected.ok = m_session.deviceSerial.empty() || m_session.deviceSerial == m_peerSerial;
        connected.detail = m_peerModel + ", serial " + m_peerSerial +
                           (connected.ok ? "" : "; the session ran on " + m_session.deviceSerial);
    }
    checklist->items.push_back(connected);
    if (!connected.ok) {
        return *checklist;
    }

    pb::Command load;
    *load.mutable_load() = plan->load;
    auto loaded = command(load, "loading the protocol");
    CheckItem loadedItem{
        "device.loaded", "Approved parameters loaded", loaded.ok(),
        loaded ? "SHA-256 " + m_session.contentSha256.substr(0, 12) + "…" : loaded.error().message,
        "issue #6: the device refuses a load without the approval's hash"};
    checklist->items.push_back(loadedItem);
    if (!loaded) {
        return *checklist;
    }
    const auto differences = readBackDifferences(plan->load, loaded->state());
    CheckItem readBack{"device.read_back", "Device read-back equals the approved parameters",
                       differences.empty(), "", "issue #7"};
    for (const auto& difference : differences) {
        readBack.detail += (readBack.detail.empty() ? "" : "; ") + difference;
    }
    if (differences.empty()) {
        readBack.detail = "every setting read back";
    }
    checklist->items.push_back(readBack);
    if (!differences.empty()) {
        return *checklist;
    }
    const std::uint64_t loadOffset = loaded->state().log_size() - 1;
    {
        std::lock_guard lock(m_mutex);
        m_segmentStart = loadOffset;
        m_segmentEnd.reset();
        m_following = true;
        m_logNext = std::max(m_journal->nextDeviceOffset(), m_segmentStart);
        if (m_session.pulsesPlanned == 0 || m_session.kind == "rtms") {
            m_session.pulsesPlanned = plan->pulsesPlanned;
        }
        m_progress.pulsesPlanned = plan->pulsesPlanned;
        m_progress.trainsPlanned = plan->load.has_rtms() ? plan->load.rtms().train_count() : 0;
        m_progress.deviceSerial = m_peerSerial;
    }
    TransitionFields fields;
    fields.deviceSerial = m_peerSerial;
    fields.deviceModel = m_peerModel;
    fields.loadOffset = static_cast<std::int64_t>(loadOffset);
    fields.parametersJson = toJson(plan->load).dump();
    fields.motorThresholdId = thresholdId;
    std::string summary;
    for (const auto& item : checklist->items) {
        summary += (summary.empty() ? "" : "; ") + item.id + " ok";
    }
    NP_TRY(transition(SessionStatus::Ready, "checklist complete", operatorEvent("ready", summary),
                      fields));
    {
        std::lock_guard lock(m_mutex);
        requestLogLocked();
    }
    return *checklist;
}

Status SessionRunner::start() {
    std::uint32_t from = 0;
    {
        std::lock_guard lock(m_mutex);
        if (m_status != SessionStatus::Ready) {
            return checkTransition(m_status, SessionStatus::Running);
        }
    }
    auto logged = loggedPulses(m_store->db(), m_options.sessionId);
    NP_TRY(logged);
    from = static_cast<std::uint32_t>(*logged);
    NP_TRY(transition(
        SessionStatus::Running, from > 0 ? "resumed at pulse " + std::to_string(from) : "started",
        operatorEvent("start", from > 0 ? "from pulse " + std::to_string(from) : "")));
    {
        std::lock_guard lock(m_mutex);
        m_stimulationStarted = true;
        m_startedAt = std::chrono::steady_clock::now();
        m_ending.reset();
    }
    pb::Command arm;
    arm.mutable_arm();
    auto armed = command(arm, "arming");
    Status outcome;
    if (armed) {
        pb::Command start;
        start.mutable_start()->set_from_pulse(from);
        auto started = command(start, "starting");
        if (started) {
            return {};
        }
        outcome = started.error();
    } else {
        outcome = armed.error();
    }
    // The device did not start: nothing more was delivered.
    const SessionStatus to = from == 0 ? SessionStatus::Aborted : SessionStatus::StoppedEarly;
    TransitionFields fields;
    fields.devicePulses = from;
    fields.reconcile = true;
    (void)transition(to, outcome.error().message,
                     systemEvent("start_failed", outcome.error().message), fields);
    return outcome;
}

Status SessionRunner::pause() {
    {
        std::lock_guard lock(m_mutex);
        if (m_status != SessionStatus::Running) {
            return checkTransition(m_status, SessionStatus::Paused);
        }
    }
    pb::Command pause;
    pause.mutable_pause();
    auto done = command(pause, "pausing");
    NP_TRY(done);
    return transition(SessionStatus::Paused, "paused by " + m_options.actor.login,
                      operatorEvent("pause", ""));
}

Status SessionRunner::resume() {
    pb::Phase phase = pb::PHASE_UNSPECIFIED;
    std::uint32_t delivered = 0;
    {
        std::lock_guard lock(m_mutex);
        if (m_status != SessionStatus::Paused) {
            return checkTransition(m_status, SessionStatus::Running);
        }
        if (!m_linkUp) {
            return makeError(ErrorCode::Conflict, "device",
                             "the device link is down; resume when it is back");
        }
        phase = m_state.phase();
        delivered = m_state.pulses_delivered();
    }
    NP_TRY(transition(
        SessionStatus::Running, "resumed by " + m_options.actor.login,
        operatorEvent("resume", phase == pb::PHASE_PAUSED
                                    ? ""
                                    : "restart from pulse " + std::to_string(delivered))));
    if (phase == pb::PHASE_PAUSED) {
        pb::Command resume;
        resume.mutable_resume();
        auto done = command(resume, "resuming");
        return done ? Status{} : Status{done.error()};
    }
    // The device stopped itself (link lost): arm and continue from what it delivered.
    pb::Command arm;
    arm.mutable_arm();
    auto armed = command(arm, "arming");
    NP_TRY(armed);
    pb::Command start;
    start.mutable_start()->set_from_pulse(delivered);
    auto started = command(start, "restarting");
    return started ? Status{} : Status{started.error()};
}

void SessionRunner::stopWith(bool emergency, const std::string& reason) {
    SessionStatus status;
    bool linkUp = false;
    {
        std::lock_guard lock(m_mutex);
        status = m_status;
        linkUp = m_linkUp;
        if (m_stopReason.empty()) {
            m_stopReason = reason;
        }
    }
    // The emergency stop goes out before anything is written: it must not wait for a disk.
    if (m_link && (emergency || linkUp)) {
        pb::Command stop;
        if (emergency) {
            stop.mutable_emergency_stop();
        } else {
            stop.mutable_stop();
        }
        auto future = m_link->send(stop);
        m_journal->append(operatorEvent(emergency ? "emergency_stop" : "stop", reason));
        (void)future.get();
    } else {
        m_journal->append(operatorEvent(emergency ? "emergency_stop" : "stop", reason));
    }
    if (status == SessionStatus::Interrupted) {
        return;  // closed with SessionService::close
    }
    if (status == SessionStatus::CheckedIn || status == SessionStatus::Ready) {
        // Not started in this run; a resumed session may have delivered pulses before.
        auto logged = loggedPulses(m_store->db(), m_options.sessionId);
        const std::int64_t delivered = logged ? *logged : 0;
        TransitionFields fields;
        fields.devicePulses = m_session.devicePulses.value_or(delivered);
        fields.reconcile = true;
        (void)transition(delivered > 0 ? SessionStatus::StoppedEarly : SessionStatus::Aborted,
                         reason, systemEvent("aborted", reason), fields);
        return;
    }
    if (!linkUp) {
        // The device has stopped itself (its watchdog) but cannot say how far it got: the
        // record waits for `session recover` to read its log.
        (void)transition(
            SessionStatus::Interrupted,
            "stopped while the device link was down (" + reason + "); run session recover",
            systemEvent("interrupted", reason));
        return;
    }
    // Running or paused: the device's State tells how it stopped; if it was not stimulating
    // (paused after a link loss) no stop will come, so end here.
    std::unique_lock lock(m_mutex);
    const pb::Phase phase = m_state.phase();
    if (!m_ending && !m_ended &&
        (phase == pb::PHASE_LOADED || phase == pb::PHASE_FAULT || phase == pb::PHASE_IDLE)) {
        m_ending = SessionStatus::StoppedEarly;
        m_endingReason = (emergency ? "emergency stop: " : "stopped: ") + reason;
        m_endingPulses = m_state.pulses_delivered();
        if (m_link) {
            asio::post(m_link->strand(), [this] {
                std::lock_guard inner(m_mutex);
                maybeFinishLocked();
            });
        }
    }
}

Status SessionRunner::stop(const std::string& reason) {
    stopWith(false, reason);
    waitForEnd(std::chrono::seconds(10));
    return {};
}

Status SessionRunner::emergencyStop(const std::string& reason) {
    stopWith(true, reason);
    waitForEnd(std::chrono::seconds(10));
    return {};
}

void SessionRunner::pollStopRequest() {
    auto row =
        m_store->db().prepare("SELECT coalesce(stop_request, '') FROM sessions WHERE id = ?");
    if (!row) {
        return;
    }
    row->bindAll(m_options.sessionId);
    if (!row->step() || row->columnText(0).empty()) {
        return;
    }
    const std::string request = row->columnText(0);
    {
        std::lock_guard lock(m_mutex);
        if (m_ended || !m_stopReason.empty()) {
            return;
        }
    }
    stopWith(true, request);
}

bool SessionRunner::waitForEnd(std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, timeout, [&] { return m_ended; });
}

bool SessionRunner::ended() const {
    std::lock_guard lock(m_mutex);
    return m_ended;
}

Progress SessionRunner::progress() const {
    std::lock_guard lock(m_mutex);
    Progress p = m_progress;
    if (m_startedAt != std::chrono::steady_clock::time_point{}) {
        p.elapsedS =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - m_startedAt).count();
    }
    return p;
}

// ---- recovery -------------------------------------------------------------------------------

Result<Session> SessionRunner::recover() {
    {
        std::lock_guard lock(m_mutex);
        m_recovering = true;
    }
    if (isActive(m_status)) {
        NP_TRY(transition(SessionStatus::Interrupted,
                          std::string("the program running it stopped while ") +
                              toString(m_status) + " (found by session recover)",
                          systemEvent("interrupted", std::string("was ") + toString(m_status))));
    }
    if (!m_session.loadOffset) {
        // Never ready, so never started: the state machine allows no stimulation before the
        // load is read back and recorded. Nothing was delivered.
        TransitionFields fields;
        fields.devicePulses = 0;
        fields.reconcile = true;
        NP_TRY(transition(SessionStatus::Interrupted, m_statusReason,
                          systemEvent("recovered", "never loaded: nothing was delivered"), fields));
        return loadSession(m_store->db(), m_options.sessionId);
    }
    NP_TRY(ensureLink());
    const auto unverified = [&](const std::string& why) -> Result<Session> {
        TransitionFields fields;
        fields.reconciliationNote = "unverified: " + why;
        NP_TRY(transition(SessionStatus::Interrupted, m_statusReason, systemEvent("recover", why),
                          fields));
        return loadSession(m_store->db(), m_options.sessionId);
    };
    if (!waitForDevice(m_options.connectWait)) {
        return unverified("the device at " + m_session.deviceAddress + " did not answer");
    }
    std::uint64_t logSize = 0;
    {
        std::lock_guard lock(m_mutex);
        if (!m_session.deviceSerial.empty() && m_peerSerial != m_session.deviceSerial) {
            return unverified("the device at " + m_session.deviceAddress + " is " + m_peerSerial +
                              ", not " + m_session.deviceSerial);
        }
        logSize = m_state.log_size();
        if (m_session.loadOffset && logSize <= static_cast<std::uint64_t>(*m_session.loadOffset)) {
            return unverified("the device's log is shorter than when the session ran (restarted)");
        }
        requestLogLocked();
    }
    // Wait until the journal holds the device's log as it was when we connected.
    {
        std::unique_lock lock(m_mutex);
        const bool caughtUp = m_changed.wait_for(lock, m_options.connectWait, [&] {
            return (m_logNext >= logSize || m_segmentEnd) && !m_logInFlight;
        });
        if (!caughtUp) {
            lock.unlock();
            return unverified("the device's log could not be read");
        }
    }
    NP_TRY(m_journal->flush());
    std::optional<std::int64_t> devicePulses;
    {
        std::lock_guard lock(m_mutex);
        const bool stillOurs =
            !m_segmentEnd && m_state.loaded().approved_sha256() == m_session.contentSha256;
        if (stillOurs) {
            devicePulses = m_state.pulses_delivered();
        }
    }
    if (!devicePulses) {
        // The device was loaded again since: its log is the only account of our part.
        auto logged = loggedPulses(m_store->db(), m_options.sessionId);
        NP_TRY(logged);
        devicePulses = *logged;
    }
    TransitionFields fields;
    fields.devicePulses = devicePulses;
    fields.reconcile = true;
    NP_TRY(transition(
        SessionStatus::Interrupted, m_statusReason,
        systemEvent("recovered", "device log read from offset " + std::to_string(m_segmentStart)),
        fields));
    return loadSession(m_store->db(), m_options.sessionId);
}

// ---- on the link's strand -------------------------------------------------------------------

void SessionRunner::requestLogLocked() {
    if (!m_following || !m_link || !m_linkUp || m_logInFlight || m_segmentEnd || !m_haveState ||
        m_logNext >= m_state.log_size()) {
        return;
    }
    m_logInFlight = true;
    m_link->requestLog(m_logNext, 100);
}

void SessionRunner::onLink(const device::LinkEvent& event) {
    using Kind = device::LinkEvent::Kind;
    std::vector<JournalEvent> journaled;
    std::string linkDetail;
    RunnerEvent::Kind notifyKind = RunnerEvent::Kind::Telemetry;
    bool notifyNow = false;
    {
        std::lock_guard lock(m_mutex);
        switch (event.kind) {
            case Kind::Connected: {
                m_linkUp = true;
                m_peerSerial = event.peer.serial();
                m_peerModel = event.peer.model();
                m_progress.linkUp = true;
                m_progress.deviceSerial = m_peerSerial;
                JournalEvent e = systemEvent(m_everConnected ? "link_restored" : "connected",
                                             m_peerModel + ", serial " + m_peerSerial);
                e.wallUtc = formatUtc(m_store->clock()());
                m_journal->append(e);
                journaled.push_back(e);
                m_everConnected = true;
                m_haveState = false;  // wait for the reloaded state
                m_restoreTimer->cancel();
                linkDetail = e.detail;
                notifyKind = RunnerEvent::Kind::Link;
                notifyNow = true;
                break;
            }
            case Kind::State: {
                m_state = event.state;
                m_haveState = true;
                m_progress.pulses = event.state.pulses_delivered();
                m_progress.trains = event.state.trains_delivered();
                m_progress.output = m_session.kind == "rtms" ? event.state.output_percent()
                                                             : event.state.current_ma();
                m_progress.coilTemperatureC = event.state.coil_temperature_c();
                m_progress.impedanceOhm = event.state.impedance_ohm();
                m_progress.batteryPercent = event.state.battery_percent();
                requestLogLocked();
                onDeviceStoppedLocked(event.state);
                maybeFinishLocked();
                notifyKind = RunnerEvent::Kind::Telemetry;
                notifyNow = true;
                break;
            }
            case Kind::Telemetry: {
                const pb::Telemetry& t = event.telemetry;
                if (m_session.kind == "rtms") {
                    m_progress.pulses = t.pulse_index();
                    m_progress.coilTemperatureC = t.coil_temperature_c();
                } else {
                    m_progress.impedanceOhm = t.impedance_ohm();
                    m_progress.batteryPercent = t.battery_percent();
                    m_progress.trains = t.train_index();
                }
                m_progress.output = t.delivered_output();
                notifyNow = true;
                break;
            }
            case Kind::Log: {
                m_logInFlight = false;
                for (const pb::LogEntry& entry : event.log.entries()) {
                    if (entry.offset() < m_segmentStart || m_segmentEnd) {
                        continue;
                    }
                    if (entry.offset() > m_segmentStart &&
                        (entry.event() == "loaded" || entry.event() == "programmed")) {
                        // Another load after ours: the rest belongs to another session.
                        m_segmentEnd = entry.offset();
                        continue;
                    }
                    JournalEvent e = fromDeviceLog(entry, m_recovering);
                    e.wallUtc = formatUtc(m_store->clock()());
                    if (m_journal->append(e)) {
                        journaled.push_back(e);
                    }
                }
                m_logNext = std::max<std::uint64_t>(m_logNext, event.log.next_offset());
                requestLogLocked();
                maybeFinishLocked();
                break;
            }
            case Kind::Down: {
                const bool wasUp = m_linkUp;
                m_linkUp = false;
                m_haveState = false;
                m_logInFlight = false;
                m_progress.linkUp = false;
                if (wasUp && event.down != device::LinkDown::Closed) {
                    JournalEvent e = systemEvent("link_lost", device::toString(event.down) +
                                                                  std::string(": ") + event.detail);
                    e.wallUtc = formatUtc(m_store->clock()());
                    m_journal->append(e);
                    journaled.push_back(e);
                    linkDetail = e.detail;
                    notifyKind = RunnerEvent::Kind::Link;
                    notifyNow = true;
                    if (m_status == SessionStatus::Running && !m_ended && !m_recovering) {
                        // The device stops itself (its watchdog); the session pauses until the
                        // link is back.
                        const std::string reason = "link lost: " + event.detail;
                        post([this, reason] {
                            (void)transition(SessionStatus::Paused, reason,
                                             systemEvent("paused", reason));
                        });
                    }
                    if ((m_status == SessionStatus::Running || m_status == SessionStatus::Paused ||
                         m_ending) &&
                        !m_ended && !m_recovering) {
                        m_restoreTimer->expires_after(std::chrono::milliseconds(
                            static_cast<long>(m_rules.linkRestoreWaitS.value * 1000)));
                        m_restoreTimer->async_wait([this](boost::system::error_code error) {
                            if (error) {
                                return;
                            }
                            post([this] {
                                bool up = false;
                                {
                                    std::lock_guard inner(m_mutex);
                                    up = m_linkUp || m_ended;
                                }
                                if (!up) {
                                    (void)transition(
                                        SessionStatus::Interrupted,
                                        "the device link did not come back; run session recover",
                                        systemEvent("interrupted", "link not restored"));
                                }
                            });
                        });
                    }
                }
                break;
            }
            case Kind::Fault:
                linkDetail = "fault: " + pb::FaultCode_Name(event.fault.code()) + ": " +
                             event.fault.detail();
                notifyKind = RunnerEvent::Kind::Link;
                notifyNow = true;
                break;
            case Kind::Result:
            case Kind::Dropped:
                break;
        }
    }
    m_changed.notify_all();
    for (const JournalEvent& e : journaled) {
        notify(RunnerEvent::Kind::Journal, e.detail, &e);
    }
    if (notifyNow) {
        notify(notifyKind, linkDetail);
    }
}

void SessionRunner::onDeviceStoppedLocked(const pb::State& state) {
    if (m_ended || m_ending || !m_stimulationStarted || m_recovering) {
        return;
    }
    const pb::Phase phase = state.phase();
    if (phase != pb::PHASE_LOADED && phase != pb::PHASE_FAULT) {
        return;
    }
    const pb::StopCause cause = state.last_stop();
    if (cause == pb::STOP_NONE) {
        return;
    }
    if (cause == pb::STOP_LINK_LOST) {
        // The device stopped itself when the link went; on the new connection, continue if
        // this is a headless run, else wait for the technician.
        if (m_options.autoResumeAfterLinkLoss && m_linkUp &&
            (m_status == SessionStatus::Paused || m_status == SessionStatus::Running) &&
            m_stopReason.empty()) {
            // The worker runs tasks in order: the pause posted when the link went down is
            // recorded before this resume.
            post([this] { (void)resume(); });
        }
        return;
    }
    if (cause == pb::STOP_COMPLETED) {
        m_ending = SessionStatus::Completed;
        m_endingReason = "protocol completed";
    } else {
        m_ending = SessionStatus::StoppedEarly;
        if (cause == pb::STOP_FAULT) {
            m_endingReason = "device fault: " + state.last_stop_detail();
        } else if (!m_stopReason.empty()) {
            m_endingReason = std::string(stopCauseText(cause)) + ": " + m_stopReason;
        } else {
            m_endingReason = std::string(stopCauseText(cause)) + ": " + state.last_stop_detail();
        }
    }
    m_endingPulses = state.pulses_delivered();
}

void SessionRunner::maybeFinishLocked() {
    if (!m_ending || m_ended || m_finishing || m_logInFlight) {
        return;
    }
    if (m_linkUp && m_haveState && m_logNext < m_state.log_size() && !m_segmentEnd) {
        return;  // the log is still being read
    }
    if (!m_linkUp) {
        return;  // finish when the link is back and the log read (or interrupted)
    }
    const SessionStatus to = *m_ending;
    const std::string reason = m_endingReason;
    const std::int64_t pulses = m_endingPulses.value_or(m_state.pulses_delivered());
    m_finishing = true;  // one finish only
    post([this, to, reason, pulses] {
        TransitionFields fields;
        fields.devicePulses = pulses;
        fields.reconcile = true;
        fields.clearStopRequest = true;
        // A pause recorded after the device had stopped is no obstacle to the end.
        const auto finish = [&] {
            return transition(
                to, reason,
                systemEvent(to == SessionStatus::Completed ? "completed" : "stopped_early", reason),
                fields);
        };
        Status done = finish();
        if (!done) {
            done = finish();  // once more (a busy database)
        }
        if (!done) {
            // Say so rather than hang: the record stays open for `session recover`.
            {
                std::lock_guard lock(m_mutex);
                m_ended = true;
                m_statusReason = "the end could not be recorded (" + done.error().message +
                                 "); run session recover";
            }
            m_changed.notify_all();
        }
        notify(RunnerEvent::Kind::Ended, done ? reason : done.error().message);
    });
}

}  // namespace neuroplan::sessions
