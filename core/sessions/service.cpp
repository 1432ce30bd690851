#include "sessions/service.h"

#include <algorithm>
#include <chrono>

#include "courses/courses.h"
#include "device/transport.h"
#include "eligibility/service.h"
#include "protocols/document.h"
#include "records/patients.h"
#include "scheduling/service.h"

namespace neuroplan::sessions {

using nlohmann::json;

namespace {

constexpr const char* kSessionColumns =
    "SELECT s.id, p.mrn, s.patient_id, s.course_id, c.label, s.kind, s.protocol_version_id, "
    "v.version, s.content_sha256, s.appointment_id, s.device_address, "
    "coalesce(s.device_serial, ''), coalesce(s.device_model, ''), s.load_offset, "
    "s.parameters_json, s.pulses_planned, s.motor_threshold_id, u.login, s.status, "
    "coalesce(s.status_reason, ''), coalesce(s.stop_request, ''), s.created_utc, "
    "coalesce(s.started_utc, ''), coalesce(s.ended_utc, ''), s.device_pulses, s.logged_pulses, "
    "coalesce(s.reconciled_utc, ''), coalesce(s.reconciliation, '') FROM sessions s "
    "JOIN patients p ON p.id = s.patient_id JOIN courses c ON c.id = s.course_id "
    "JOIN protocol_versions v ON v.id = s.protocol_version_id JOIN users u ON u.id = "
    "s.operator_id ";

Session readSession(const store::Statement& row) {
    const auto optInt = [&](int column) -> std::optional<std::int64_t> {
        return row.isNull(column) ? std::nullopt
                                  : std::optional<std::int64_t>(row.columnInt(column));
    };
    Session s;
    s.id = row.columnInt(0);
    s.mrn = row.columnText(1);
    s.patientId = row.columnInt(2);
    s.courseId = row.columnInt(3);
    s.courseLabel = row.columnText(4);
    s.kind = row.columnText(5);
    s.protocolVersionId = row.columnInt(6);
    s.protocolVersion = static_cast<int>(row.columnInt(7));
    s.contentSha256 = row.columnText(8);
    s.appointmentId = optInt(9);
    s.deviceAddress = row.columnText(10);
    s.deviceSerial = row.columnText(11);
    s.deviceModel = row.columnText(12);
    s.loadOffset = optInt(13);
    s.parameters = json::parse(row.columnText(14), nullptr, false);
    s.pulsesPlanned = row.columnInt(15);
    s.motorThresholdId = optInt(16);
    s.operatorLogin = row.columnText(17);
    s.status = parseStatus(row.columnText(18)).value_or(SessionStatus::Interrupted);
    s.statusReason = row.columnText(19);
    s.stopRequest = row.columnText(20);
    s.createdUtc = row.columnText(21);
    s.startedUtc = row.columnText(22);
    s.endedUtc = row.columnText(23);
    s.devicePulses = optInt(24);
    s.loggedPulses = optInt(25);
    s.reconciledUtc = row.columnText(26);
    s.reconciliation = row.columnText(27);
    return s;
}

Result<std::vector<Session>> querySessions(store::Connection& db, const std::string& where,
                                           const std::function<void(store::Statement&)>& bind) {
    auto rows = db.prepare(std::string(kSessionColumns) + where);
    NP_TRY(rows);
    bind(*rows);
    std::vector<Session> out;
    for (;;) {
        auto more = rows->step();
        NP_TRY(more);
        if (!*more) {
            break;
        }
        out.push_back(readSession(*rows));
    }
    return out;
}

std::string trimmed(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

Error invalid(std::string field, std::string message) {
    return makeError(ErrorCode::InvalidInput, std::move(field), std::move(message));
}

}  // namespace

json toJson(const Session& s) {
    const auto opt = [](const auto& value) { return value ? json(*value) : json(nullptr); };
    const auto text = [](const std::string& value) {
        return value.empty() ? json(nullptr) : json(value);
    };
    return {{"id", s.id},
            {"mrn", s.mrn},
            {"course_id", s.courseId},
            {"course", s.courseLabel},
            {"kind", s.kind},
            {"protocol_version_id", s.protocolVersionId},
            {"protocol_version", s.protocolVersion},
            {"content_sha256", s.contentSha256},
            {"appointment_id", opt(s.appointmentId)},
            {"device",
             {{"address", s.deviceAddress},
              {"serial", text(s.deviceSerial)},
              {"model", text(s.deviceModel)},
              {"load_offset", opt(s.loadOffset)}}},
            {"parameters", s.parameters},
            {"pulses_planned", s.pulsesPlanned},
            {"motor_threshold_id", opt(s.motorThresholdId)},
            {"operator", s.operatorLogin},
            {"status", toString(s.status)},
            {"status_reason", text(s.statusReason)},
            {"stop_request", text(s.stopRequest)},
            {"created_utc", s.createdUtc},
            {"started_utc", text(s.startedUtc)},
            {"ended_utc", text(s.endedUtc)},
            {"reconciliation",
             {{"device_pulses", opt(s.devicePulses)},
              {"logged_pulses", opt(s.loggedPulses)},
              {"result", text(s.reconciliation)},
              {"at_utc", text(s.reconciledUtc)}}}};
}

json toJson(const AdverseEvent& e) {
    return {{"id", e.id},
            {"session_id", e.sessionId},
            {"type", e.input.type},
            {"severity", e.input.severity},
            {"action_taken", e.input.actionTaken},
            {"note", e.input.note},
            {"stopped_session", e.stoppedSession},
            {"flagged_review", e.flaggedReview},
            {"recorded_utc", e.recordedUtc},
            {"recorded_by", e.recordedBy}};
}

json toJson(const CourseProgress& p) {
    json sessions = json::array();
    for (const auto& s : p.sessions) {
        sessions.push_back(
            {{"id", s.id},
             {"status", toString(s.status)},
             {"created_utc", s.createdUtc},
             {"pulses_planned", s.pulsesPlanned},
             {"device_pulses", s.devicePulses ? json(*s.devicePulses) : json(nullptr)},
             {"reason", s.statusReason}});
    }
    json reviews = json::array();
    for (const auto& r : p.openReviews) {
        reviews.push_back({{"id", r.id},
                           {"session_id", r.sessionId ? json(*r.sessionId) : json(nullptr)},
                           {"reason", r.reason},
                           {"flagged_utc", r.flaggedUtc}});
    }
    return {{"course_id", p.courseId},
            {"mrn", p.mrn},
            {"course", p.label},
            {"kind", p.kind},
            {"sessions_planned", p.sessionsPlanned},
            {"sessions_completed", p.sessionsCompleted},
            {"sessions_stopped_early", p.sessionsStoppedEarly},
            {"sessions_aborted", p.sessionsAborted},
            {"sessions_interrupted", p.sessionsInterrupted},
            {"sessions_missed", p.sessionsMissed},
            {"cumulative_pulses", p.cumulativePulses},
            {"adverse_events", p.adverseEvents},
            {"open_reviews", reviews},
            {"sessions", sessions}};
}

Result<Session> loadSession(store::Connection& db, std::int64_t sessionId) {
    auto found =
        querySessions(db, "WHERE s.id = ?", [&](store::Statement& q) { q.bindAll(sessionId); });
    NP_TRY(found);
    if (found->empty()) {
        return makeError(ErrorCode::NotFound, "session_id",
                         "no session " + std::to_string(sessionId));
    }
    return found->front();
}

Result<std::int64_t> loggedPulses(store::Connection& db, std::int64_t sessionId) {
    auto q = db.prepare(
        "SELECT coalesce(max(pulses), 0) FROM session_events WHERE session_id = ? AND source = "
        "'device'");
    NP_TRY(q);
    q->bindAll(sessionId);
    NP_TRY(q->step());
    return q->columnInt(0);
}

Status appendEvent(store::WriteContext& w, std::int64_t sessionId, const JournalEvent& e) {
    auto insert = w.db().prepare(
        "INSERT INTO session_events (session_id, seq, source, kind, device_offset, "
        "device_time_us, wall_utc, pulses, trains, output, detail, user_id, recovered) "
        "VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM session_events WHERE session_id = "
        "?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    NP_TRY(insert);
    insert->bindAll(sessionId, e.source, e.kind, e.deviceOffset, e.deviceTimeUs, e.wallUtc,
                    e.pulses, e.trains, e.output, e.detail, e.userId, e.recovered ? 1 : 0);
    return insert->run();
}

Status sessionTransition(store::WriteContext& w, std::int64_t sessionId, SessionStatus to,
                         const std::string& reason, const TransitionFields& f,
                         const std::string& nowUtc) {
    auto before = loadSession(w.db(), sessionId);
    NP_TRY(before);
    if (before->status != to) {
        NP_TRY(checkTransition(before->status, to));
    }
    // The reconciliation first: once the status is final the row is frozen (trigger).
    if (f.reconcile || f.reconciliationNote) {
        auto logged = loggedPulses(w.db(), sessionId);
        NP_TRY(logged);
        std::string result;
        if (f.reconciliationNote) {
            result = *f.reconciliationNote;
        } else if (f.devicePulses && *f.devicePulses == *logged) {
            result = "agree";
        } else {
            result = "disagree: the device reports " +
                     (f.devicePulses ? std::to_string(*f.devicePulses) : std::string("nothing")) +
                     " pulses, the journal holds " + std::to_string(*logged);
        }
        auto record = w.db().prepare(
            "UPDATE sessions SET device_pulses = ?, logged_pulses = ?, reconciled_utc = ?, "
            "reconciliation = ? WHERE id = ?");
        NP_TRY(record);
        record->bindAll(f.devicePulses, *logged, nowUtc, result, sessionId);
        NP_TRY(record->run());
        JournalEvent event;
        event.source = "system";
        event.kind = "reconciled";
        event.pulses = *logged;
        event.detail = result + (f.devicePulses ? "; device " + std::to_string(*f.devicePulses) +
                                                      ", journal " + std::to_string(*logged)
                                                : std::string());
        event.wallUtc = nowUtc;
        NP_TRY(appendEvent(w, sessionId, event));
    }
    auto update = w.db().prepare(
        "UPDATE sessions SET status = ?, status_reason = ?, "
        "device_serial = coalesce(?, device_serial), device_model = coalesce(?, device_model), "
        "load_offset = coalesce(?, load_offset), parameters_json = coalesce(?, parameters_json), "
        "motor_threshold_id = coalesce(?, motor_threshold_id), "
        "started_utc = CASE WHEN ? AND started_utc IS NULL THEN ? ELSE started_utc END, "
        "ended_utc = CASE WHEN ? THEN ? ELSE ended_utc END, "
        "stop_request = CASE WHEN ? THEN NULL ELSE stop_request END WHERE id = ?");
    NP_TRY(update);
    const bool started = to == SessionStatus::Running;
    const bool ended = isFinal(to);
    update->bindAll(toString(to), reason, f.deviceSerial, f.deviceModel, f.loadOffset,
                    f.parametersJson, f.motorThresholdId, started ? 1 : 0, nowUtc, ended ? 1 : 0,
                    nowUtc, f.clearStopRequest ? 1 : 0, sessionId);
    NP_TRY(update->run());
    auto after = loadSession(w.db(), sessionId);
    NP_TRY(after);
    return w.audit(
        "session", std::to_string(sessionId), std::string("status:") + toString(to),
        json{{"status", toString(before->status)}},
        json{{"status", toString(after->status)},
             {"reason", reason},
             {"device_pulses", after->devicePulses ? json(*after->devicePulses) : json(nullptr)},
             {"logged_pulses", after->loggedPulses ? json(*after->loggedPulses) : json(nullptr)},
             {"reconciliation", after->reconciliation}});
}

Result<Session> SessionService::checkIn(const records::Actor& by, std::string_view mrn,
                                        std::int64_t protocolVersionId,
                                        const std::string& deviceAddress) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    auto patient = records::PatientService(m_store).findByMrn(by, mrn);
    NP_TRY(patient);
    auto version = m_store.db().prepare(
        "SELECT v.course_id, c.patient_id, c.kind, v.content_sha256, v.protocol_json FROM "
        "protocol_versions v JOIN courses c ON c.id = v.course_id WHERE v.id = ?");
    NP_TRY(version);
    version->bindAll(protocolVersionId);
    auto found = version->step();
    NP_TRY(found);
    if (!*found || version->columnInt(1) != patient->id) {
        return makeError(ErrorCode::NotFound, "protocol_version",
                         "protocol version " + std::to_string(protocolVersionId) +
                             " is not a protocol of " + patient->mrn);
    }
    const std::int64_t courseId = version->columnInt(0);
    const std::string kind = version->columnText(2);
    const std::string hash = version->columnText(3);
    const std::string protocolJson = version->columnText(4);
    NP_TRY(device::parseDeviceAddress(deviceAddress, "device"));
    auto protocol = protocols::parseProtocol(json::parse(protocolJson, nullptr, false));
    NP_TRY(protocol);
    const std::int64_t planned = plannedPulses(*protocol);

    // Today's appointment of this course, if there is one, is checked in and linked.
    std::optional<std::int64_t> appointmentId;
    scheduling::ScheduleService schedule(m_store);
    auto today = schedule.today();
    NP_TRY(today);
    auto appointment = m_store.db().prepare(
        "SELECT a.id, a.status FROM schedule_appointments a WHERE a.course_id = ? AND "
        "a.local_date = ? AND a.status IN ('scheduled', 'checked_in') AND NOT EXISTS (SELECT 1 "
        "FROM sessions s WHERE s.appointment_id = a.id) ORDER BY a.local_start LIMIT 1");
    NP_TRY(appointment);
    appointment->bindAll(courseId, *today);
    auto hasAppointment = appointment->step();
    NP_TRY(hasAppointment);
    if (*hasAppointment) {
        appointmentId = appointment->columnInt(0);
        if (appointment->columnText(1) == "scheduled") {
            NP_TRY(schedule.checkIn(by, *appointmentId));
        }
    }

    const std::string now = formatUtc(m_store.clock()());
    std::int64_t id = 0;
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto insert = w.db().prepare(
            "INSERT INTO sessions (patient_id, course_id, protocol_version_id, content_sha256, "
            "appointment_id, kind, device_address, parameters_json, pulses_planned, operator_id, "
            "status, created_utc) VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, 'checked_in', ?)");
        NP_TRY(insert);
        insert->bindAll(patient->id, courseId, protocolVersionId, hash, appointmentId, kind,
                        deviceAddress, planned, by.userId, now);
        NP_TRY(insert->run());
        id = w.db().lastInsertRowId();
        JournalEvent event;
        event.source = "operator";
        event.kind = "checked_in";
        event.userId = by.userId;
        event.wallUtc = now;
        event.detail = patient->mrn + ", protocol version " + std::to_string(protocolVersionId) +
                       (appointmentId ? ", appointment " + std::to_string(*appointmentId)
                                      : std::string(", no appointment today"));
        NP_TRY(appendEvent(w, id, event));
        return w.audit(
            "session", std::to_string(id), "check_in", nullptr,
            json{{"mrn", patient->mrn},
                 {"protocol_version_id", protocolVersionId},
                 {"device", deviceAddress},
                 {"appointment_id", appointmentId ? json(*appointmentId) : json(nullptr)}});
    }));
    return loadSession(m_store.db(), id);
}

Result<Checklist> SessionService::clinicalChecks(const records::Actor& by, std::int64_t sessionId,
                                                 bool screeningConfirmed) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    auto session = loadSession(m_store.db(), sessionId);
    NP_TRY(session);
    Checklist list;
    const auto& library = protocols::Library::builtIn();

    courses::CourseService courses(m_store);
    CheckItem approved{"protocol.approved", "Protocol approved by a physician (latest version)",
                       false, "", "issue #5: only an approved latest version reaches a device"};
    CheckItem unchanged{"protocol.unchanged", "Protocol unchanged since approval", false, "",
                        "issue #5: an approval is bound to the content's SHA-256"};
    auto deliverable = courses.deliverable(by, session->courseId);
    if (!deliverable) {
        approved.detail = deliverable.error().message;
        unchanged.detail = "no approved version";
    } else if (deliverable->id != session->protocolVersionId) {
        approved.detail = "version " + std::to_string(session->protocolVersion) +
                          " is not the course's approved latest (version " +
                          std::to_string(deliverable->version) + ")";
        unchanged.detail = approved.detail;
    } else {
        approved.ok = true;
        approved.detail = "version " + std::to_string(deliverable->version) + " approved by " +
                          deliverable->approval->physicianLogin + " on " +
                          deliverable->approval->approvedUtc.substr(0, 10);
        const std::string now = courses::contentHash(deliverable->protocol);
        unchanged.ok = now == deliverable->contentSha256 && now == session->contentSha256;
        unchanged.detail = unchanged.ok ? "SHA-256 " + now.substr(0, 12) + "…"
                                        : "the content's SHA-256 is " + now.substr(0, 12) +
                                              "…, the approval's " +
                                              deliverable->contentSha256.substr(0, 12) + "…";
    }
    list.items.push_back(approved);
    list.items.push_back(unchanged);

    if (session->kind == "rtms") {
        const Sourced<double>& days = library.safety.mtRedeterminationDays;
        CheckItem mt{"motor_threshold.current", "Motor threshold current", false, "",
                     days.from.source + " (rtms-safety-v1 motor_threshold)"};
        auto context = courses.rtmsContext(session->patientId);
        NP_TRY(context);
        if (!context->rmtPercentMso) {
            mt.detail = "no motor threshold recorded";
        } else if (context->mtAgeDays && *context->mtAgeDays > days.value) {
            mt.detail = "measured " + std::to_string(*context->mtAgeDays) +
                        " days ago; it expires after " +
                        std::to_string(static_cast<int>(days.value)) + " days";
        } else {
            mt.ok = true;
            char text[96];
            std::snprintf(text, sizeof text, "RMT %.0f %%MSO, measured %d days ago",
                          *context->rmtPercentMso, context->mtAgeDays.value_or(0));
            mt.detail = text;
        }
        list.items.push_back(mt);
    }

    CheckItem eligible{
        "eligibility.signed",
        "Latest signed eligibility allows " + std::string(session->kind == "rtms" ? "rTMS" : "VNS"),
        false, "", "issue #3: the physician's signed decision"};
    auto signedEvaluation =
        eligibility::EligibilityService(m_store).currentSigned(by, session->mrn);
    NP_TRY(signedEvaluation);
    if (!*signedEvaluation || !(*signedEvaluation)->signature) {
        eligible.detail = "the latest evaluation is not signed";
    } else {
        const auto& signature = *(*signedEvaluation)->signature;
        const eligibility::Decision decision =
            session->kind == "rtms" ? signature.rtms : signature.vns;
        eligible.ok = decision == eligibility::Decision::Eligible;
        eligible.detail = std::string(eligibility::toString(decision)) + ", signed by " +
                          signature.physicianLogin + " on " + signature.signedUtc.substr(0, 10);
    }
    list.items.push_back(eligible);

    CheckItem review{"course.review", "No physician review pending on the course", true, "",
                     "sessions-v1 adverse_events (flags_review)"};
    auto flags = m_store.db().prepare(
        "SELECT count(*), coalesce(max(reason), '') FROM course_review_flags WHERE course_id = ? "
        "AND cleared_utc IS NULL");
    NP_TRY(flags);
    flags->bindAll(session->courseId);
    NP_TRY(flags->step());
    if (flags->columnInt(0) > 0) {
        review.ok = false;
        review.detail = flags->columnText(1) + " (a physician clears it with session review-clear)";
    }
    list.items.push_back(review);

    list.items.push_back(CheckItem{
        "screening.confirmed", "Safety screening re-confirmed with the patient today",
        screeningConfirmed,
        screeningConfirmed ? "confirmed by " + by.login : "not confirmed by the technician",
        "issue #7; rossi2009 screening questionnaire"});
    return list;
}

Result<Session> SessionService::get(const records::Actor& by, std::int64_t sessionId) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    return loadSession(m_store.db(), sessionId);
}

Result<std::vector<Session>> SessionService::list(const records::Actor& by, std::string_view mrn) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    if (mrn.empty()) {
        return querySessions(m_store.db(), "ORDER BY s.id DESC", [](store::Statement&) {});
    }
    auto patient = records::PatientService(m_store).findByMrn(by, mrn);
    NP_TRY(patient);
    return querySessions(m_store.db(), "WHERE s.patient_id = ? ORDER BY s.id DESC",
                         [&](store::Statement& q) { q.bindAll(patient->id); });
}

Result<std::vector<Session>> SessionService::unfinished(const records::Actor& by) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    return querySessions(m_store.db(),
                         "WHERE s.status IN ('checked_in', 'ready', 'running', 'paused', "
                         "'interrupted') ORDER BY s.id",
                         [](store::Statement&) {});
}

Result<std::vector<StoredEvent>> SessionService::events(const records::Actor& by,
                                                        std::int64_t sessionId) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    NP_TRY(loadSession(m_store.db(), sessionId));
    return readJournal(m_store.db(), sessionId);
}

Result<AdverseEvent> SessionService::recordAdverseEvent(const records::Actor& by,
                                                        std::int64_t sessionId,
                                                        const AdverseEventInput& input) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    const AdverseEventType* type = m_rules.findAdverseEvent(input.type);
    if (type == nullptr) {
        std::string known;
        for (const auto& t : m_rules.adverseEvents) {
            known += (known.empty() ? "" : ", ") + t.id;
        }
        return invalid("type", "'" + input.type + "' is not an adverse event type (" + known + ")");
    }
    if (std::find(std::begin(kSeverities), std::end(kSeverities), input.severity) ==
        std::end(kSeverities)) {
        return invalid("severity",
                       "expected mild, moderate or severe, got '" + input.severity + "'");
    }
    auto session = loadSession(m_store.db(), sessionId);
    NP_TRY(session);
    AdverseEvent event;
    event.sessionId = sessionId;
    event.input = input;
    event.input.actionTaken = trimmed(input.actionTaken);
    event.input.note = trimmed(input.note);
    if (event.input.actionTaken.empty()) {
        return invalid("action", "say what was done (e.g. 'stimulation stopped, observed')");
    }
    if (input.type == "other" && event.input.note.size() < kMinReasonLength) {
        return invalid("note", "describe the event (at least 5 characters)");
    }
    event.stoppedSession = type->stopsSession && !isFinal(session->status);
    event.flaggedReview = type->flagsReview;
    event.recordedUtc = formatUtc(m_store.clock()());
    event.recordedBy = by.login;
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto insert = w.db().prepare(
            "INSERT INTO session_adverse_events (session_id, type, severity, action_taken, note, "
            "stopped_session, recorded_utc, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        NP_TRY(insert);
        insert->bindAll(sessionId, input.type, input.severity, event.input.actionTaken,
                        event.input.note, event.stoppedSession ? 1 : 0, event.recordedUtc,
                        by.userId);
        NP_TRY(insert->run());
        event.id = w.db().lastInsertRowId();
        JournalEvent journal;
        journal.source = "operator";
        journal.kind = "adverse_event";
        journal.userId = by.userId;
        journal.wallUtc = event.recordedUtc;
        journal.detail = input.type + " (" + input.severity + "): " + event.input.actionTaken;
        NP_TRY(appendEvent(w, sessionId, journal));
        if (event.stoppedSession) {
            // The program running the session polls this and stops the device at once.
            auto stop = w.db().prepare("UPDATE sessions SET stop_request = ? WHERE id = ?");
            NP_TRY(stop);
            stop->bindAll("adverse event: " + type->label, sessionId);
            NP_TRY(stop->run());
        }
        if (event.flaggedReview) {
            auto flag = w.db().prepare(
                "INSERT INTO course_review_flags (course_id, session_id, reason, flagged_utc) "
                "VALUES (?, ?, ?, ?)");
            NP_TRY(flag);
            flag->bindAll(session->courseId, sessionId,
                          type->label + " in session " + std::to_string(sessionId),
                          event.recordedUtc);
            NP_TRY(flag->run());
        }
        return w.audit("session", std::to_string(sessionId), "adverse_event", nullptr,
                       toJson(event));
    }));
    return event;
}

Result<std::vector<AdverseEvent>> SessionService::adverseEvents(const records::Actor& by,
                                                                std::int64_t sessionId) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    auto rows = m_store.db().prepare(
        "SELECT a.id, a.type, a.severity, a.action_taken, a.note, a.stopped_session, "
        "a.recorded_utc, u.login FROM session_adverse_events a JOIN users u ON u.id = a.user_id "
        "WHERE a.session_id = ? ORDER BY a.id");
    NP_TRY(rows);
    rows->bindAll(sessionId);
    std::vector<AdverseEvent> out;
    for (;;) {
        auto more = rows->step();
        NP_TRY(more);
        if (!*more) {
            break;
        }
        AdverseEvent e;
        e.id = rows->columnInt(0);
        e.sessionId = sessionId;
        e.input = {rows->columnText(1), rows->columnText(2), rows->columnText(3),
                   rows->columnText(4)};
        e.stoppedSession = rows->columnInt(5) != 0;
        const AdverseEventType* type = m_rules.findAdverseEvent(e.input.type);
        e.flaggedReview = type != nullptr && type->flagsReview;
        e.recordedUtc = rows->columnText(6);
        e.recordedBy = rows->columnText(7);
        out.push_back(std::move(e));
    }
    return out;
}

Result<Session> SessionService::close(const records::Actor& by, std::int64_t sessionId,
                                      const std::string& reason) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    const std::string why = trimmed(reason);
    if (why.size() < kMinReasonLength) {
        return invalid("reason", "give the reason for closing (at least 5 characters)");
    }
    auto session = loadSession(m_store.db(), sessionId);
    NP_TRY(session);
    if (session->status != SessionStatus::Interrupted) {
        return makeError(ErrorCode::Conflict, "session_id",
                         "session " + std::to_string(sessionId) + " is " +
                             toString(session->status) +
                             "; only an interrupted session is closed (run session recover "
                             "first if its program died)");
    }
    const std::string now = formatUtc(m_store.clock()());
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto logged = loggedPulses(w.db(), sessionId);
        NP_TRY(logged);
        const std::int64_t delivered = session->devicePulses.value_or(*logged);
        const SessionStatus to =
            delivered == 0 ? SessionStatus::Aborted
            : (session->pulsesPlanned > 0 && delivered >= session->pulsesPlanned)
                ? SessionStatus::Completed
                : SessionStatus::StoppedEarly;
        JournalEvent event;
        event.source = "operator";
        event.kind = "closed";
        event.userId = by.userId;
        event.wallUtc = now;
        event.pulses = delivered;
        event.detail = why;
        NP_TRY(appendEvent(w, sessionId, event));
        return sessionTransition(w, sessionId, to, "closed after interruption: " + why, {}, now);
    }));
    return loadSession(m_store.db(), sessionId);
}

Status SessionService::clearReview(const records::Actor& by, std::int64_t courseId,
                                   const std::string& note) {
    NP_TRY(records::require(by, records::Permission::SignClinical));
    const std::string why = trimmed(note);
    if (why.size() < kMinReasonLength) {
        return invalid("note", "say what was reviewed (at least 5 characters)");
    }
    const std::string now = formatUtc(m_store.clock()());
    return m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto update = w.db().prepare(
            "UPDATE course_review_flags SET cleared_utc = ?, cleared_by = ?, clear_note = ? "
            "WHERE course_id = ? AND cleared_utc IS NULL");
        NP_TRY(update);
        update->bindAll(now, by.userId, why, courseId);
        NP_TRY(update->run());
        if (w.db().changes() == 0) {
            return makeError(ErrorCode::Conflict, "course",
                             "course " + std::to_string(courseId) + " has no open review");
        }
        return w.audit("course", std::to_string(courseId), "review_cleared", nullptr,
                       json{{"note", why}, {"flags", w.db().changes()}});
    });
}

Result<CourseProgress> SessionService::progress(const records::Actor& by, std::int64_t courseId) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    CourseProgress p;
    p.courseId = courseId;
    auto course = m_store.db().prepare(
        "SELECT p.mrn, c.label, c.kind FROM courses c JOIN patients p ON p.id = c.patient_id "
        "WHERE c.id = ?");
    NP_TRY(course);
    course->bindAll(courseId);
    auto found = course->step();
    NP_TRY(found);
    if (!*found) {
        return makeError(ErrorCode::NotFound, "course", "no course " + std::to_string(courseId));
    }
    p.mrn = course->columnText(0);
    p.label = course->columnText(1);
    p.kind = course->columnText(2);
    auto deliverable = courses::CourseService(m_store).deliverable(by, courseId);
    if (deliverable && deliverable->protocol.contains("sessions_in_course") &&
        deliverable->protocol["sessions_in_course"].is_number_integer()) {
        p.sessionsPlanned = deliverable->protocol["sessions_in_course"].get<std::int64_t>();
    }
    auto sessions = querySessions(m_store.db(), "WHERE s.course_id = ? ORDER BY s.id",
                                  [&](store::Statement& q) { q.bindAll(courseId); });
    NP_TRY(sessions);
    for (const Session& s : *sessions) {
        switch (s.status) {
            case SessionStatus::Completed:
                ++p.sessionsCompleted;
                break;
            case SessionStatus::StoppedEarly:
                ++p.sessionsStoppedEarly;
                break;
            case SessionStatus::Aborted:
                ++p.sessionsAborted;
                break;
            case SessionStatus::Interrupted:
                ++p.sessionsInterrupted;
                break;
            default:
                break;
        }
        p.cumulativePulses += s.devicePulses.value_or(0);
    }
    p.sessions = std::move(*sessions);
    auto counts = m_store.db().prepare(
        "SELECT (SELECT count(*) FROM schedule_appointments WHERE course_id = ?1 AND status = "
        "'missed'), (SELECT count(*) FROM session_adverse_events a JOIN sessions s ON s.id = "
        "a.session_id WHERE s.course_id = ?1)");
    NP_TRY(counts);
    counts->bindAll(courseId);
    NP_TRY(counts->step());
    p.sessionsMissed = counts->columnInt(0);
    p.adverseEvents = counts->columnInt(1);
    auto flags = m_store.db().prepare(
        "SELECT id, session_id, reason, flagged_utc FROM course_review_flags WHERE course_id = ? "
        "AND cleared_utc IS NULL ORDER BY id");
    NP_TRY(flags);
    flags->bindAll(courseId);
    for (;;) {
        auto more = flags->step();
        NP_TRY(more);
        if (!*more) {
            break;
        }
        ReviewFlag flag;
        flag.id = flags->columnInt(0);
        flag.courseId = courseId;
        if (!flags->isNull(1)) {
            flag.sessionId = flags->columnInt(1);
        }
        flag.reason = flags->columnText(2);
        flag.flaggedUtc = flags->columnText(3);
        p.openReviews.push_back(std::move(flag));
    }
    return p;
}

}  // namespace neuroplan::sessions
