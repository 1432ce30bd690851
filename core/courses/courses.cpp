#include "courses/courses.h"

#include <array>
#include <chrono>

#include "base/time.h"
#include "records/patients.h"

namespace neuroplan::courses {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 3> kMethods{"emg_relative_frequency", "adaptive", "visual"};

Error invalid(std::string field, std::string message) {
    return makeError(ErrorCode::InvalidInput, std::move(field), std::move(message));
}

std::string trimmed(std::string text) {
    text.erase(0, text.find_first_not_of(" \t\r\n"));
    text.erase(text.find_last_not_of(" \t\r\n") + 1);
    return text;
}

constexpr std::string_view kSelectVersion =
    "SELECT v.id, v.course_id, v.version, v.protocol_json, v.content_sha256, v.verdict, "
    "v.report_json, v.created_utc, u.login, a.approved_utc, pu.login, a.verdict_at_approval, "
    "a.warnings_acknowledged, a.override_reason, "
    "(SELECT max(n.version) FROM protocol_versions n WHERE n.course_id = v.course_id) "
    "FROM protocol_versions v JOIN users u ON u.id = v.created_by "
    "LEFT JOIN protocol_approvals a ON a.protocol_version_id = v.id "
    "LEFT JOIN users pu ON pu.id = a.physician_id ";

ProtocolVersion readVersion(const store::Statement& row) {
    ProtocolVersion v;
    v.id = row.columnInt(0);
    v.courseId = row.columnInt(1);
    v.version = static_cast<int>(row.columnInt(2));
    v.protocol = json::parse(row.columnText(3), nullptr, false);
    v.contentSha256 = row.columnText(4);
    v.verdict = row.columnText(5);
    v.report = json::parse(row.columnText(6), nullptr, false);
    v.createdUtc = row.columnText(7);
    v.createdBy = row.columnText(8);
    if (!row.isNull(9)) {
        v.approval = Approval{row.columnText(10), row.columnText(9), row.columnText(11),
                              row.columnInt(12) != 0, row.columnOptionalText(13).value_or("")};
    }
    v.latest = row.columnInt(14) == v.version;
    return v;
}

}  // namespace

std::string contentHash(const json& protocol) {
    return store::sha256Hex(protocol.dump());  // nlohmann sorts object keys
}

json toJson(const TitrationStatus& t) {
    json visits = json::array();
    for (const TitrationVisit& v : t.visits) {
        visits.push_back(
            {{"id", v.id},
             {"visit_on", v.visit.visitOn},
             {"current_ma", v.visit.currentMa},
             {"tolerated", v.visit.tolerated},
             {"lead_impedance_ohm",
              v.visit.leadImpedanceOhm ? json(*v.visit.leadImpedanceOhm) : json(nullptr)},
             {"note", v.visit.note},
             {"recorded_by", v.recordedBy}});
    }
    json schedule = json::array();
    for (const auto& step : protocols::titrationSchedule(t.plan)) {
        schedule.push_back({{"week", step.week}, {"current_ma", step.currentMa}});
    }
    return json{{"plan",
                 {{"start_ma", t.plan.startMa},
                  {"step_ma", t.plan.stepMa},
                  {"weeks_between_steps", t.plan.weeksBetweenSteps},
                  {"target_ma", t.plan.targetMa},
                  {"max_ma", t.plan.maxMa},
                  {"schedule", schedule}}},
                {"visits", visits},
                {"next_current_ma", t.nextCurrentMa},
                {"held", t.held},
                {"at_target", t.atTarget}};
}

json toJson(const MotorThreshold& t) {
    return json{{"id", t.id},
                {"measured_on", t.measuredOn},
                {"value_percent_mso", t.valuePercentMso},
                {"method", t.method},
                {"device", t.device},
                {"coil", t.coil},
                {"operator", t.operatorLogin}};
}

json toJson(const Course& c) {
    return json{{"id", c.id},
                {"mrn", c.mrn},
                {"label", c.label},
                {"kind", c.kind},
                {"created_utc", c.createdUtc}};
}

json toJson(const ProtocolVersion& v) {
    json j{{"id", v.id},
           {"course_id", v.courseId},
           {"version", v.version},
           {"latest", v.latest},
           {"protocol", v.protocol},
           {"content_sha256", v.contentSha256},
           {"verdict", v.verdict},
           {"report", v.report},
           {"created_utc", v.createdUtc},
           {"created_by", v.createdBy},
           {"approval", nullptr}};
    if (v.approval) {
        j["approval"] = {{"physician", v.approval->physicianLogin},
                         {"approved_utc", v.approval->approvedUtc},
                         {"verdict_at_approval", v.approval->verdictAtApproval},
                         {"warnings_acknowledged", v.approval->warningsAcknowledged},
                         {"override_reason", v.approval->overrideReason.empty()
                                                 ? json(nullptr)
                                                 : json(v.approval->overrideReason)}};
    }
    return j;
}

Result<MotorThreshold> CourseService::recordMotorThreshold(const records::Actor& by,
                                                           std::string_view mrn,
                                                           const MotorThresholdInput& input) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    auto patient = records::PatientService(m_store).findByMrn(by, mrn);
    NP_TRY(patient);
    auto measured = parseIsoDate(input.measuredOn, "measured_on");
    NP_TRY(measured);
    if (*measured > utcDate(m_store.clock()())) {
        return invalid("measured_on", "is in the future");
    }
    if (!(input.valuePercentMso > 0 && input.valuePercentMso <= 100)) {
        return invalid("value_percent_mso", "must be above 0 and at most 100 %MSO");
    }
    if (std::find(kMethods.begin(), kMethods.end(), input.method) == kMethods.end()) {
        return invalid("method", "expected emg_relative_frequency, adaptive or visual, got '" +
                                     input.method + "'");
    }
    if (trimmed(input.device).empty()) {
        return invalid("device", "must not be empty");
    }
    if (trimmed(input.coil).empty()) {
        return invalid("coil", "must not be empty");
    }
    MotorThreshold t{0,
                     formatIsoDate(*measured),
                     input.valuePercentMso,
                     input.method,
                     trimmed(input.device),
                     trimmed(input.coil),
                     by.login};
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto insert = w.db().prepare(
            "INSERT INTO motor_thresholds (patient_id, measured_on, value_percent_mso, method, "
            "device, coil, operator_id, recorded_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        NP_TRY(insert);
        insert->bindAll(patient->id, t.measuredOn, t.valuePercentMso, t.method, t.device, t.coil,
                        by.userId, formatUtc(m_store.clock()()));
        NP_TRY(insert->run());
        t.id = w.db().lastInsertRowId();
        json after = toJson(t);
        after["mrn"] = patient->mrn;
        return w.audit("motor_threshold", std::to_string(t.id), "record", nullptr, after);
    }));
    return t;
}

Result<std::vector<MotorThreshold>> CourseService::motorThresholds(const records::Actor& by,
                                                                   std::string_view mrn) {
    auto patient = records::PatientService(m_store).findByMrn(by, mrn);
    NP_TRY(patient);
    auto rows = m_store.db().prepare(
        "SELECT m.id, m.measured_on, m.value_percent_mso, m.method, m.device, m.coil, u.login "
        "FROM motor_thresholds m JOIN users u ON u.id = m.operator_id WHERE m.patient_id = ? "
        "ORDER BY m.measured_on DESC, m.id DESC");
    NP_TRY(rows);
    rows->bindAll(patient->id);
    std::vector<MotorThreshold> list;
    for (;;) {
        auto more = rows->step();
        NP_TRY(more);
        if (!*more) {
            return list;
        }
        list.push_back({rows->columnInt(0), rows->columnText(1), rows->columnDouble(2),
                        rows->columnText(3), rows->columnText(4), rows->columnText(5),
                        rows->columnText(6)});
    }
}

Result<protocols::RtmsContext> CourseService::rtmsContext(std::int64_t patientId) {
    protocols::RtmsContext context;
    auto row = m_store.db().prepare(
        "SELECT measured_on, value_percent_mso FROM motor_thresholds WHERE patient_id = ? "
        "ORDER BY measured_on DESC, id DESC LIMIT 1");
    NP_TRY(row);
    row->bindAll(patientId);
    auto found = row->step();
    NP_TRY(found);
    if (*found) {
        auto measured = parseIsoDate(row->columnText(0), "measured_on");
        NP_TRY(measured);
        context.rmtPercentMso = row->columnDouble(1);
        const auto today = std::chrono::sys_days{utcDate(m_store.clock()())};
        context.mtAgeDays = static_cast<int>((today - std::chrono::sys_days{*measured}).count());
    }
    return context;
}

Result<Course> CourseService::createCourse(const records::Actor& by, std::string_view mrn,
                                           const std::string& label, const std::string& kind) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    auto patient = records::PatientService(m_store).findByMrn(by, mrn);
    NP_TRY(patient);
    const std::string name = trimmed(label);
    if (name.empty() || name.size() > 100) {
        return invalid("label", "must be 1-100 characters");
    }
    if (kind != "rtms" && kind != "vns") {
        return invalid("kind", "expected rtms or vns, got '" + kind + "'");
    }
    Course course{0, patient->mrn, name, kind, formatUtc(m_store.clock()())};
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto exists = w.db().prepare("SELECT 1 FROM courses WHERE patient_id = ? AND label = ?");
        NP_TRY(exists);
        exists->bindAll(patient->id, name);
        auto found = exists->step();
        NP_TRY(found);
        if (*found) {
            return makeError(ErrorCode::Conflict, "label",
                             patient->mrn + " has a course '" + name + "' already");
        }
        auto insert = w.db().prepare(
            "INSERT INTO courses (patient_id, label, kind, created_utc, created_by) "
            "VALUES (?, ?, ?, ?, ?)");
        NP_TRY(insert);
        insert->bindAll(patient->id, name, kind, course.createdUtc, by.userId);
        NP_TRY(insert->run());
        course.id = w.db().lastInsertRowId();
        return w.audit("course", std::to_string(course.id), "create", nullptr, toJson(course));
    }));
    return course;
}

Result<std::vector<Course>> CourseService::courses(const records::Actor& by, std::string_view mrn) {
    auto patient = records::PatientService(m_store).findByMrn(by, mrn);
    NP_TRY(patient);
    auto rows = m_store.db().prepare(
        "SELECT id, label, kind, created_utc FROM courses WHERE patient_id = ? ORDER BY id");
    NP_TRY(rows);
    rows->bindAll(patient->id);
    std::vector<Course> list;
    for (;;) {
        auto more = rows->step();
        NP_TRY(more);
        if (!*more) {
            return list;
        }
        list.push_back({rows->columnInt(0), patient->mrn, rows->columnText(1), rows->columnText(2),
                        rows->columnText(3)});
    }
}

Result<TitrationVisit> CourseService::recordTitrationVisit(const records::Actor& by,
                                                           std::int64_t courseId,
                                                           const TitrationVisitInput& input) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    auto course = loadCourse(courseId, nullptr);
    NP_TRY(course);
    if (course->kind != "vns") {
        return invalid("course", "titration visits belong to VNS courses");
    }
    auto day = parseIsoDate(input.visitOn, "visit_on");
    NP_TRY(day);
    if (*day > utcDate(m_store.clock()())) {
        return invalid("visit_on", "is in the future");
    }
    const auto& library = protocols::Library::builtIn();
    const protocols::VnsGeneratorProfile& generator = library.vnsProfiles.front();
    if (!protocols::onCurrentGrid(generator, input.currentMa)) {
        return invalid("current_ma", "is not a setting of " + generator.label);
    }
    if (input.leadImpedanceOhm && *input.leadImpedanceOhm <= 0) {
        return invalid("lead_impedance_ohm", "must be positive");
    }
    TitrationVisit visit{0, input, by.login};
    visit.visit.visitOn = formatIsoDate(*day);
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto insert = w.db().prepare(
            "INSERT INTO titration_visits (course_id, visit_on, current_ma, tolerated, "
            "lead_impedance_ohm, note, recorded_by, recorded_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        NP_TRY(insert);
        insert->bindAll(courseId, visit.visit.visitOn, input.currentMa, input.tolerated ? 1 : 0,
                        input.leadImpedanceOhm, input.note, by.userId,
                        formatUtc(m_store.clock()()));
        NP_TRY(insert->run());
        visit.id = w.db().lastInsertRowId();
        return w.audit(
            "titration_visit", std::to_string(visit.id), "record", nullptr,
            json{{"course_id", courseId},
                 {"visit_on", visit.visit.visitOn},
                 {"current_ma", input.currentMa},
                 {"tolerated", input.tolerated},
                 {"lead_impedance_ohm",
                  input.leadImpedanceOhm ? json(*input.leadImpedanceOhm) : json(nullptr)}});
    }));
    return visit;
}

Result<TitrationStatus> CourseService::titration(const records::Actor& by, std::int64_t courseId) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    auto course = loadCourse(courseId, nullptr);
    NP_TRY(course);
    if (course->kind != "vns") {
        return invalid("course", "titration belongs to VNS courses");
    }
    auto plan =
        protocols::makeTitrationPlan(std::nullopt, std::nullopt, std::nullopt, std::nullopt);
    NP_TRY(plan);
    TitrationStatus status;
    status.plan = *plan;
    auto rows = m_store.db().prepare(
        "SELECT t.id, t.visit_on, t.current_ma, t.tolerated, t.lead_impedance_ohm, t.note, "
        "u.login FROM titration_visits t JOIN users u ON u.id = t.recorded_by "
        "WHERE t.course_id = ? ORDER BY t.visit_on, t.id");
    NP_TRY(rows);
    rows->bindAll(courseId);
    std::vector<protocols::VisitRecord> records;
    for (;;) {
        auto more = rows->step();
        NP_TRY(more);
        if (!*more) {
            break;
        }
        TitrationVisit v;
        v.id = rows->columnInt(0);
        v.visit.visitOn = rows->columnText(1);
        v.visit.currentMa = rows->columnDouble(2);
        v.visit.tolerated = rows->columnInt(3) != 0;
        if (!rows->isNull(4)) {
            v.visit.leadImpedanceOhm = rows->columnDouble(4);
        }
        v.visit.note = rows->columnOptionalText(5).value_or("");
        v.recordedBy = rows->columnText(6);
        records.push_back({v.visit.currentMa, v.visit.tolerated, v.visit.leadImpedanceOhm});
        status.visits.push_back(std::move(v));
    }
    status.nextCurrentMa = protocols::nextTitrationCurrent(status.plan, records);
    status.held = !records.empty() && !records.back().tolerated;
    status.atTarget = !records.empty() && records.back().tolerated &&
                      records.back().currentMa >= std::min(status.plan.targetMa, status.plan.maxMa);
    return status;
}

Result<Course> CourseService::loadCourse(std::int64_t courseId, std::int64_t* patientId) {
    auto row = m_store.db().prepare(
        "SELECT c.id, p.mrn, c.label, c.kind, c.created_utc, c.patient_id FROM courses c "
        "JOIN patients p ON p.id = c.patient_id WHERE c.id = ?");
    NP_TRY(row);
    row->bindAll(courseId);
    auto found = row->step();
    NP_TRY(found);
    if (!*found) {
        return makeError(ErrorCode::NotFound, "course", "no course " + std::to_string(courseId));
    }
    if (patientId != nullptr) {
        *patientId = row->columnInt(5);
    }
    return Course{row->columnInt(0), row->columnText(1), row->columnText(2), row->columnText(3),
                  row->columnText(4)};
}

Result<ProtocolVersion> CourseService::saveProtocol(const records::Actor& by, std::int64_t courseId,
                                                    const json& document) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    std::int64_t patientId = 0;
    auto course = loadCourse(courseId, &patientId);
    NP_TRY(course);
    auto protocol = protocols::parseProtocol(document);
    NP_TRY(protocol);
    const bool isRtms = std::holds_alternative<protocols::RtmsProtocol>(*protocol);
    if (isRtms != (course->kind == "rtms")) {
        return invalid("kind", "a " + std::string(isRtms ? "rtms" : "vns") +
                                   " protocol does not belong in a " + course->kind + " course");
    }
    auto context = rtmsContext(patientId);
    NP_TRY(context);
    const protocols::Report report = protocols::validate(*protocol, *context);
    const json canonical = protocols::toJson(*protocol);
    const std::string hash = contentHash(canonical);

    std::int64_t id = 0;
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto next = w.db().prepare(
            "SELECT coalesce(max(version), 0) + 1 FROM protocol_versions WHERE course_id = ?");
        NP_TRY(next);
        next->bindAll(courseId);
        NP_TRY(next->step());
        const std::int64_t version = next->columnInt(0);
        auto insert = w.db().prepare(
            "INSERT INTO protocol_versions (course_id, version, protocol_json, content_sha256, "
            "verdict, report_json, created_utc, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        NP_TRY(insert);
        insert->bindAll(courseId, version, canonical.dump(), hash,
                        protocols::toString(report.verdict), protocols::toJson(report).dump(),
                        formatUtc(m_store.clock()()), by.userId);
        NP_TRY(insert->run());
        id = w.db().lastInsertRowId();
        return w.audit("protocol_version", std::to_string(id), "save", nullptr,
                       json{{"course_id", courseId},
                            {"version", version},
                            {"content_sha256", hash},
                            {"verdict", protocols::toString(report.verdict)},
                            {"protocol", canonical}});
    }));
    return loadVersion(id);
}

Result<ProtocolVersion> CourseService::loadVersion(std::int64_t versionId) {
    auto row = m_store.db().prepare(std::string(kSelectVersion) + "WHERE v.id = ?");
    NP_TRY(row);
    row->bindAll(versionId);
    auto found = row->step();
    NP_TRY(found);
    if (!*found) {
        return makeError(ErrorCode::NotFound, "version",
                         "no protocol version " + std::to_string(versionId));
    }
    return readVersion(*row);
}

Result<std::vector<ProtocolVersion>> CourseService::versions(const records::Actor& by,
                                                             std::int64_t courseId) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    auto course = loadCourse(courseId, nullptr);
    NP_TRY(course);
    auto rows = m_store.db().prepare(std::string(kSelectVersion) +
                                     "WHERE v.course_id = ? ORDER BY v.version DESC");
    NP_TRY(rows);
    rows->bindAll(courseId);
    std::vector<ProtocolVersion> list;
    for (;;) {
        auto more = rows->step();
        NP_TRY(more);
        if (!*more) {
            return list;
        }
        list.push_back(readVersion(*rows));
    }
}

Result<ProtocolVersion> CourseService::approve(const records::Actor& by, std::int64_t versionId,
                                               bool acknowledgeWarnings,
                                               const std::string& overrideReason) {
    NP_TRY(records::require(by, records::Permission::SignClinical));
    auto version = loadVersion(versionId);
    NP_TRY(version);
    if (version->approval) {
        return makeError(ErrorCode::Conflict, "version",
                         "version " + std::to_string(versionId) + " was approved by " +
                             version->approval->physicianLogin + " already");
    }
    if (!version->latest) {
        return makeError(ErrorCode::Conflict, "version",
                         "version " + std::to_string(version->version) +
                             " is not the course's latest; approve the latest version");
    }
    std::int64_t patientId = 0;
    auto course = loadCourse(version->courseId, &patientId);
    NP_TRY(course);
    // Validate again now: the motor threshold may have changed since the version was saved.
    auto protocol = protocols::parseProtocol(version->protocol);
    NP_TRY(protocol);
    auto context = rtmsContext(patientId);
    NP_TRY(context);
    const protocols::Report report = protocols::validate(*protocol, *context);
    const std::string reason = trimmed(overrideReason);
    switch (report.verdict) {
        case protocols::Severity::Invalid:
            return makeError(
                ErrorCode::Conflict, "version",
                "the protocol is invalid and cannot be approved: " + [&] {
                    for (const auto& f : report.findings) {
                        if (f.severity == protocols::Severity::Invalid) {
                            return f.rule + ": " + f.message;
                        }
                    }
                    return std::string();
                }());
        case protocols::Severity::Violation:
            if (reason.size() < kMinOverrideReasonLength) {
                return invalid("override_reason",
                               "required: the protocol violates a safety limit; a physician's "
                               "override needs a written reason of at least " +
                                   std::to_string(kMinOverrideReasonLength) + " characters");
            }
            break;
        case protocols::Severity::Warning:
            if (!acknowledgeWarnings) {
                return invalid("acknowledge_warnings",
                               "required: the protocol has warnings to acknowledge");
            }
            break;
        case protocols::Severity::Ok:
            break;
    }
    const std::string verdict = protocols::toString(report.verdict);
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto insert = w.db().prepare(
            "INSERT INTO protocol_approvals (protocol_version_id, physician_id, approved_utc, "
            "content_sha256, verdict_at_approval, warnings_acknowledged, override_reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)");
        NP_TRY(insert);
        insert->bindAll(versionId, by.userId, formatUtc(m_store.clock()()), version->contentSha256,
                        verdict, report.verdict >= protocols::Severity::Warning ? 1 : 0,
                        reason.empty() ? std::optional<std::string>() : reason);
        NP_TRY(insert->run());
        return w.audit("protocol_approval", std::to_string(versionId), "approve", nullptr,
                       json{{"course_id", version->courseId},
                            {"version", version->version},
                            {"content_sha256", version->contentSha256},
                            {"verdict_at_approval", verdict},
                            {"override_reason", reason}});
    }));
    return loadVersion(versionId);
}

Result<ProtocolVersion> CourseService::deliverable(const records::Actor& by,
                                                   std::int64_t courseId) {
    auto all = versions(by, courseId);
    NP_TRY(all);
    if (all->empty()) {
        return makeError(ErrorCode::Conflict, "course",
                         "course " + std::to_string(courseId) + " has no protocol");
    }
    const ProtocolVersion& latest = all->front();
    if (!latest.approval) {
        return makeError(ErrorCode::Conflict, "course",
                         "protocol version " + std::to_string(latest.version) +
                             " is not approved by a physician");
    }
    if (latest.approval && latest.approval->verdictAtApproval.empty()) {
        return makeError(ErrorCode::Internal, "course", "approval without a verdict");
    }
    return latest;
}

}  // namespace neuroplan::courses
