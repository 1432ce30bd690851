// neuroplan::sessions — treatment sessions in the record: checking a patient in for a session
// of an approved protocol, the clinical part of the pre-start checklist, adverse events (a
// seizure or syncope stops the session and flags the course for a physician), closing an
// interrupted session, course progress, and reading it all back.
//
// The device side (prepare, run, recover) is SessionRunner (runner.h); both write the session
// row only through sessionTransition(), which checks the state machine inside the transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "records/users.h"
#include "sessions/journal.h"
#include "sessions/machine.h"
#include "sessions/rules.h"
#include "store/store.h"

namespace neuroplan::sessions {

struct Session {
    std::int64_t id = 0;
    std::string mrn;
    std::int64_t patientId = 0;
    std::int64_t courseId = 0;
    std::string courseLabel;
    std::string kind;  ///< rtms | vns
    std::int64_t protocolVersionId = 0;
    int protocolVersion = 0;
    std::string contentSha256;
    std::optional<std::int64_t> appointmentId;
    std::string deviceAddress;  ///< HOST:PORT
    std::string deviceSerial;
    std::string deviceModel;
    std::optional<std::int64_t> loadOffset;  ///< device log offset of this session's last load
    nlohmann::json parameters;               ///< what was sent to the device (toJson(LoadProtocol))
    std::int64_t pulsesPlanned = 0;
    std::optional<std::int64_t> motorThresholdId;
    std::string operatorLogin;
    SessionStatus status = SessionStatus::CheckedIn;
    std::string statusReason;
    std::string stopRequest;  ///< set by an adverse event recorded elsewhere: stop now
    std::string createdUtc;
    std::string startedUtc;
    std::string endedUtc;
    std::optional<std::int64_t> devicePulses;  ///< what the device reports it delivered
    std::optional<std::int64_t> loggedPulses;  ///< what the journal holds
    std::string reconciledUtc;
    std::string reconciliation;  ///< agree | disagree: ... | unverified: ...
};
nlohmann::json toJson(const Session& session);

struct AdverseEventInput {
    std::string type;  ///< an id of sessions-v1.json's adverse_events
    std::string severity;
    std::string actionTaken;
    std::string note;
};

struct AdverseEvent {
    std::int64_t id = 0;
    std::int64_t sessionId = 0;
    AdverseEventInput input;
    bool stoppedSession = false;
    bool flaggedReview = false;
    std::string recordedUtc;
    std::string recordedBy;
};
nlohmann::json toJson(const AdverseEvent& event);

struct ReviewFlag {
    std::int64_t id = 0;
    std::int64_t courseId = 0;
    std::optional<std::int64_t> sessionId;
    std::string reason;
    std::string flaggedUtc;
};

struct CourseProgress {
    std::int64_t courseId = 0;
    std::string mrn;
    std::string label;
    std::string kind;
    std::int64_t sessionsPlanned = 0;    ///< the approved protocol's sessions_in_course
    std::int64_t sessionsCompleted = 0;  ///< completed
    std::int64_t sessionsStoppedEarly = 0;
    std::int64_t sessionsAborted = 0;
    std::int64_t sessionsInterrupted = 0;  ///< not yet closed
    std::int64_t sessionsMissed = 0;       ///< appointments marked missed
    std::int64_t cumulativePulses = 0;     ///< reconciled device-reported pulses of every session
    std::int64_t adverseEvents = 0;
    std::vector<ReviewFlag> openReviews;
    std::vector<Session> sessions;  ///< oldest first
};
nlohmann::json toJson(const CourseProgress& progress);

/// Inside a write: moves the session to `to` if the machine allows it from its stored status
/// (else the transaction fails with the reason), sets the given extra columns and audits
/// before/after.
struct TransitionFields {
    std::optional<std::string> deviceSerial, deviceModel;
    std::optional<std::int64_t> loadOffset;
    std::optional<std::string> parametersJson;
    std::optional<std::int64_t> motorThresholdId;
    std::optional<std::int64_t> devicePulses;
    bool reconcile = false;  ///< compute logged pulses from the journal and record agreement
    std::optional<std::string> reconciliationNote;  ///< "unverified: ..." when not reconciled
    bool clearStopRequest = false;
};
Status sessionTransition(store::WriteContext& w, std::int64_t sessionId, SessionStatus to,
                         const std::string& reason, const TransitionFields& fields,
                         const std::string& nowUtc);
/// Inside a write: appends one journal event (next seq) outside a Journal's batch.
Status appendEvent(store::WriteContext& w, std::int64_t sessionId, const JournalEvent& event);
/// Reads one session row (no permission check; services check).
Result<Session> loadSession(store::Connection& db, std::int64_t sessionId);
/// The largest pulse count the journal holds for the session's device events.
Result<std::int64_t> loggedPulses(store::Connection& db, std::int64_t sessionId);

class SessionService {
  public:
    explicit SessionService(store::Store& store, const SessionRules& rules = builtInSessionRules())
        : m_store(store), m_rules(rules) {}

    /// Checks the patient in for a session of protocol version `protocolVersionId` (which must
    /// belong to one of the patient's courses) on the device at `deviceAddress` (HOST:PORT).
    /// Today's appointment of the course, if any, is checked in and linked.
    Result<Session> checkIn(const records::Actor& by, std::string_view mrn,
                            std::int64_t protocolVersionId, const std::string& deviceAddress);

    /// The clinical items of the checklist: the protocol is the course's approved latest and
    /// unchanged since approval, the motor threshold is current (rTMS), the latest signed
    /// eligibility allows the modality, no physician review is pending, and the technician
    /// re-confirmed the screening today. The device items come from the runner.
    Result<Checklist> clinicalChecks(const records::Actor& by, std::int64_t sessionId,
                                     bool screeningConfirmed);

    Result<Session> get(const records::Actor& by, std::int64_t sessionId);
    /// Newest first; empty mrn: every patient.
    Result<std::vector<Session>> list(const records::Actor& by, std::string_view mrn);
    /// Sessions that a program was running or that were interrupted and not yet closed.
    Result<std::vector<Session>> unfinished(const records::Actor& by);
    Result<std::vector<StoredEvent>> events(const records::Actor& by, std::int64_t sessionId);

    /// Records an adverse event. One that stops sessions (seizure, syncope) asks the program
    /// running the session to stop it at once; one that flags review flags the course.
    Result<AdverseEvent> recordAdverseEvent(const records::Actor& by, std::int64_t sessionId,
                                            const AdverseEventInput& input);
    Result<std::vector<AdverseEvent>> adverseEvents(const records::Actor& by,
                                                    std::int64_t sessionId);

    /// Closes an interrupted session with the technician's reason: completed if the device
    /// reported every planned pulse, aborted if none, else stopped_early.
    Result<Session> close(const records::Actor& by, std::int64_t sessionId,
                          const std::string& reason);

    /// A physician clears the course's open review flags with a note.
    Status clearReview(const records::Actor& by, std::int64_t courseId, const std::string& note);

    Result<CourseProgress> progress(const records::Actor& by, std::int64_t courseId);

    const SessionRules& rules() const { return m_rules; }

  private:
    store::Store& m_store;
    const SessionRules& m_rules;
};

/// The shortest reason accepted for closing or stopping a session.
inline constexpr std::size_t kMinReasonLength = 5;

}  // namespace neuroplan::sessions
