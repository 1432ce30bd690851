#include "scheduling/service.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <set>

#include "courses/courses.h"
#include "protocols/document.h"
#include "records/patients.h"

namespace neuroplan::scheduling {

using nlohmann::json;

namespace {

constexpr const char* kTimeZoneKey = "schedule.time_zone";
constexpr const char* kMissedRuleKey = "schedule.missed_rule";
/// Appointments that ended more than this many days ago are not loaded into the planner: they
/// can no longer conflict with anything, and weekly counts need at most the last week.
constexpr int kLookBackDays = 8;

Error invalid(std::string field, std::string message) {
    return makeError(ErrorCode::InvalidInput, std::move(field), std::move(message));
}

std::string trimmed(std::string text) {
    text.erase(0, text.find_first_not_of(" \t\r\n"));
    text.erase(text.find_last_not_of(" \t\r\n") + 1);
    return text;
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

Status requireReason(const std::string& reason) {
    if (trimmed(reason).size() < kMinReasonLength) {
        return invalid("reason", "required: say why (at least " + std::to_string(kMinReasonLength) +
                                     " characters)");
    }
    return {};
}

Result<std::optional<std::string>> setting(store::Connection& db, const char* key) {
    auto row = db.prepare("SELECT value FROM clinic_settings WHERE key = ?");
    NP_TRY(row);
    row->bindAll(key);
    auto found = row->step();
    NP_TRY(found);
    return *found ? std::optional<std::string>(row->columnText(0)) : std::nullopt;
}

Result<ClinicSettings> loadSettings(store::Connection& db) {
    ClinicSettings settings;
    auto zone = setting(db, kTimeZoneKey);
    NP_TRY(zone);
    settings.timeZone = zone->value_or("");
    auto rule = setting(db, kMissedRuleKey);
    NP_TRY(rule);
    if (*rule) {
        auto parsed = parseMissedRule(**rule, "missed_rule");
        NP_TRY(parsed);
        settings.missedRule = *parsed;
    }
    return settings;
}

/// Runs a query and calls `each` on every row.
template <class... Args, class Each>
Status forEachRow(store::Connection& db, std::string_view sql, Each&& each, const Args&... args) {
    auto rows = db.prepare(sql);
    NP_TRY(rows);
    rows->bindAll(args...);
    for (;;) {
        auto more = rows->step();
        NP_TRY(more);
        if (!*more) {
            return {};
        }
        NP_TRY(each(*rows));
    }
}

/// Whether a query returns a row.
template <class... Args>
Result<bool> anyRow(store::Connection& db, std::string_view sql, const Args&... args) {
    auto rows = db.prepare(sql);
    NP_TRY(rows);
    rows->bindAll(args...);
    return rows->step();
}

Result<WeekHours> loadHours(store::Connection& db, std::optional<std::int64_t> staffId) {
    WeekHours hours;
    const std::string_view sql =
        staffId ? "SELECT weekday, start_min, end_min FROM schedule_hours WHERE staff_id = ?"
                : "SELECT weekday, start_min, end_min FROM schedule_hours WHERE staff_id IS NULL "
                  "AND ? IS NULL";
    NP_TRY(forEachRow(
        db, sql,
        [&](store::Statement& row) -> Status {
            hours[static_cast<std::size_t>(row.columnInt(0))] =
                MinuteRange{static_cast<int>(row.columnInt(1)), static_cast<int>(row.columnInt(2))};
            return {};
        },
        staffId));
    return hours;
}

Result<Resources> loadResources(store::Connection& db) {
    Resources r;
    auto settings = loadSettings(db);
    NP_TRY(settings);
    r.settings = *settings;
    auto opening = loadHours(db, std::nullopt);
    NP_TRY(opening);
    r.opening = *opening;
    NP_TRY(forEachRow(
        db,
        "SELECT id, kind, name, model, serial, coils_json, in_service FROM schedule_devices "
        "ORDER BY kind, name",
        [&](store::Statement& row) -> Status {
            Device d{row.columnInt(0),     row.columnText(1), row.columnText(2),
                     row.columnText(3),    row.columnText(4), {},
                     row.columnInt(6) != 0};
            const json coils = json::parse(row.columnText(5), nullptr, false);
            if (coils.is_array()) {
                for (const json& c : coils) {
                    d.coils.push_back(c.is_string() ? c.get<std::string>() : c.dump());
                }
            }
            r.devices.push_back(std::move(d));
            return {};
        }));
    NP_TRY(forEachRow(db, "SELECT id, name FROM schedule_rooms ORDER BY name",
                      [&](store::Statement& row) -> Status {
                          r.rooms.push_back({row.columnInt(0), row.columnText(1)});
                          return {};
                      }));
    NP_TRY(forEachRow(
        db, "SELECT id, code, display_name, role FROM schedule_staff ORDER BY code",
        [&](store::Statement& row) -> Status {
            r.staff.push_back(
                {row.columnInt(0), row.columnText(1), row.columnText(2), row.columnText(3), {}});
            return {};
        }));
    for (StaffMember& s : r.staff) {
        auto hours = loadHours(db, s.id);
        NP_TRY(hours);
        s.hours = *hours;
    }
    NP_TRY(forEachRow(db, "SELECT on_date, label, uid FROM schedule_closures ORDER BY on_date",
                      [&](store::Statement& row) -> Status {
                          auto day = parseDay(row.columnText(0), "on_date");
                          NP_TRY(day);
                          r.closures.push_back({*day, row.columnText(1), row.columnText(2)});
                          return {};
                      }));
    return r;
}

/// The clinic as the planner needs it; refuses a clinic that cannot be planned in yet.
Result<Clinic> loadClinic(store::Connection& db) {
    auto r = loadResources(db);
    NP_TRY(r);
    if (r->settings.timeZone.empty()) {
        return makeError(ErrorCode::Conflict, "time_zone",
                         "the clinic has no time zone yet; an admin sets it with "
                         "'schedule settings --time-zone Europe/Berlin'");
    }
    auto zone = Zone::locate(r->settings.timeZone, "time_zone");
    NP_TRY(zone);
    Clinic clinic(*zone);
    clinic.opening = r->opening;
    bool open = false;
    for (const auto& day : clinic.opening) {
        open = open || day.has_value();
    }
    if (!open) {
        return makeError(ErrorCode::Conflict, "hours",
                         "the clinic has no opening hours yet; an admin sets them with "
                         "'schedule hours set'");
    }
    for (const Closure& c : r->closures) {
        clinic.closures[c.day] = c.label;
    }
    clinic.devices = r->devices;
    clinic.rooms = r->rooms;
    clinic.staff = r->staff;
    clinic.missedRule = r->settings.missedRule;
    return clinic;
}

constexpr std::string_view kSelectAppointment =
    "SELECT id, course_id, patient_id, local_date, local_start, duration_min, start_utc_min, "
    "end_utc_min, device_id, room_id, staff_id, status, phase, coalesce(replaces_id, 0) "
    "FROM schedule_appointments ";

Result<Appointment> readAppointment(store::Statement& row) {
    Appointment a;
    a.id = row.columnInt(0);
    a.courseId = row.columnInt(1);
    a.patientId = row.columnInt(2);
    auto day = parseIsoDate(row.columnText(3), "local_date");
    NP_TRY(day);
    a.day = Day{*day};
    a.startMin = static_cast<int>(row.columnInt(4));
    a.durationMin = static_cast<int>(row.columnInt(5));
    a.startUtc = row.columnInt(6);
    a.endUtc = row.columnInt(7);
    a.deviceId = row.columnInt(8);
    a.roomId = row.columnInt(9);
    a.staffId = row.columnInt(10);
    auto status = parseStatus(row.columnText(11));
    NP_TRY(status);
    a.status = *status;
    a.phase = row.columnText(12);
    a.replacesId = row.columnInt(13);
    return a;
}

/// The planner with every appointment that can still matter: active ones not long past.
Result<Planner> loadPlanner(store::Connection& db, const SchedulingRules& rules, UtcMinutes now) {
    auto clinic = loadClinic(db);
    NP_TRY(clinic);
    Planner planner(std::move(clinic).value(), rules);
    NP_TRY(forEachRow(
        db,
        std::string(kSelectAppointment) +
            "WHERE status IN ('scheduled', 'checked_in') AND end_utc_min >= ?",
        [&](store::Statement& row) -> Status {
            auto a = readAppointment(row);
            NP_TRY(a);
            planner.add(*a);
            return {};
        },
        now - kLookBackDays * 1440));
    auto maxId = db.queryInt("SELECT coalesce(max(id), 0) FROM schedule_appointments");
    NP_TRY(maxId);
    planner.setNextId(*maxId + 1);
    return planner;
}

json rulesToJson(const CourseRules& r) {
    json taper = json::array();
    for (const TaperPhase& p : r.taper) {
        taper.push_back({{"weeks", p.weeks},
                         {"sessions_per_week", p.sessionsPerWeek},
                         {"source", p.from.source}});
    }
    return json{{"kind", r.kind},
                {"rhythm", r.rhythmId},
                {"sessions_per_day", r.sessionsPerDay},
                {"min_gap_minutes", r.minGapMinutes},
                {"appointment_minutes", r.appointmentMinutes},
                {"sessions", r.sessions},
                {"sessions_per_week", r.sessionsPerWeek ? json(*r.sessionsPerWeek) : json(nullptr)},
                {"taper", taper},
                {"visit_interval_weeks", r.visitIntervalWeeks},
                {"roles", r.roles},
                {"horizon_days", r.horizonDays},
                {"grid_minutes", r.gridMinutes},
                {"total_sessions", r.totalSessions()}};
}

Result<CourseRules> rulesFromJson(const std::string& text) {
    const json j = json::parse(text, nullptr, false);
    if (!j.is_object()) {
        return makeError(ErrorCode::Internal, "rules_json", "a stored plan's rules are not JSON");
    }
    try {
        CourseRules r;
        r.kind = j.at("kind").get<std::string>();
        r.rhythmId = j.at("rhythm").get<std::string>();
        r.sessionsPerDay = j.at("sessions_per_day").get<int>();
        r.minGapMinutes = j.at("min_gap_minutes").get<int>();
        r.appointmentMinutes = j.at("appointment_minutes").get<int>();
        r.sessions = j.at("sessions").get<int>();
        if (!j.at("sessions_per_week").is_null()) {
            r.sessionsPerWeek = j.at("sessions_per_week").get<int>();
        }
        for (const json& p : j.at("taper")) {
            r.taper.push_back({p.at("weeks").get<int>(), p.at("sessions_per_week").get<int>(),
                               Provenance{p.at("source").get<std::string>(), "", ""}});
        }
        r.visitIntervalWeeks = j.at("visit_interval_weeks").get<int>();
        r.roles = j.at("roles").get<std::vector<std::string>>();
        r.horizonDays = j.at("horizon_days").get<int>();
        r.gridMinutes = j.at("grid_minutes").get<int>();
        return r;
    } catch (const json::exception& e) {
        return makeError(ErrorCode::Internal, "rules_json",
                         std::string("a stored plan's rules are incomplete: ") + e.what());
    }
}

Result<CourseRules> planRules(store::Connection& db, std::int64_t courseId) {
    auto row = db.prepare("SELECT rules_json FROM schedule_plans WHERE course_id = ?");
    NP_TRY(row);
    row->bindAll(courseId);
    auto found = row->step();
    NP_TRY(found);
    if (!*found) {
        return makeError(ErrorCode::NotFound, "course",
                         "course " + std::to_string(courseId) + " has no plan");
    }
    return rulesFromJson(row->columnText(0));
}

json appointmentJson(const Appointment& a) {
    return json{{"id", a.id},
                {"course_id", a.courseId},
                {"date", formatDay(a.day)},
                {"start", formatClock(a.startMin)},
                {"duration_min", a.durationMin},
                {"start_utc", formatUtcMinutes(a.startUtc)},
                {"device_id", a.deviceId},
                {"room_id", a.roomId},
                {"staff_id", a.staffId},
                {"status", toString(a.status)},
                {"phase", a.phase}};
}

Status insertAppointment(store::Connection& db, const Appointment& a, const std::string& zone,
                         const std::string& nowUtc) {
    auto insert = db.prepare(
        "INSERT INTO schedule_appointments (id, course_id, patient_id, local_date, local_start, "
        "duration_min, time_zone, start_utc_min, end_utc_min, device_id, room_id, staff_id, "
        "status, phase, replaces_id, created_utc) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    NP_TRY(insert);
    insert->bindAll(
        a.id, a.courseId, a.patientId, formatDay(a.day), a.startMin, a.durationMin, zone,
        a.startUtc, a.endUtc, a.deviceId, a.roomId, a.staffId, toString(a.status), a.phase,
        a.replacesId ? std::optional<std::int64_t>(a.replacesId) : std::nullopt, nowUtc);
    return insert->run();
}

Status updateAppointment(store::Connection& db, const Appointment& a) {
    auto update = db.prepare(
        "UPDATE schedule_appointments SET local_date = ?, local_start = ?, start_utc_min = ?, "
        "end_utc_min = ?, device_id = ?, room_id = ?, staff_id = ?, status = ? WHERE id = ?");
    NP_TRY(update);
    update->bindAll(formatDay(a.day), a.startMin, a.startUtc, a.endUtc, a.deviceId, a.roomId,
                    a.staffId, toString(a.status), a.id);
    return update->run();
}

struct Change {
    const char* action;
    std::optional<std::int64_t> appointmentId;
    std::optional<std::int64_t> courseId;
    std::optional<std::int64_t> deviceId;
    std::string reason;
    json before;
    json after;
};

Status recordChange(store::Connection& db, std::int64_t userId, const std::string& nowUtc,
                    const Change& c) {
    auto insert = db.prepare(
        "INSERT INTO schedule_changes (at_utc, user_id, action, appointment_id, course_id, "
        "device_id, reason, before_json, after_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    NP_TRY(insert);
    insert->bindAll(nowUtc, userId, c.action, c.appointmentId, c.courseId, c.deviceId,
                    trimmed(c.reason),
                    c.before.is_null() ? std::optional<std::string>() : c.before.dump(),
                    c.after.is_null() ? std::optional<std::string>() : c.after.dump());
    return insert->run();
}

const std::array<std::string_view, 7> kDayNames{"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

Result<int> dayIndex(const std::string& name, std::string_view field, const std::string& spec) {
    for (std::size_t i = 0; i < kDayNames.size(); ++i) {
        if (name == kDayNames[i]) {
            return static_cast<int>(i);
        }
    }
    return invalid(std::string(field),
                   "'" + spec + "': expected days mon, tue, ... sun, got '" + name + "'");
}

}  // namespace

Result<WeekHours> parseWeekHours(const std::vector<std::string>& specs, std::string_view field) {
    WeekHours week;
    std::set<int> seen;
    if (specs.empty()) {
        return invalid(std::string(field), "required: e.g. \"mon-fri 08:00-18:00\"");
    }
    for (const std::string& raw : specs) {
        const std::string spec = lower(trimmed(raw));
        const auto space = spec.find(' ');
        if (space == std::string::npos) {
            return invalid(std::string(field),
                           "'" + raw + "': expected days and hours, e.g. \"mon-fri 08:00-18:00\"");
        }
        const std::string days = spec.substr(0, space);
        const std::string range = trimmed(spec.substr(space + 1));
        std::vector<int> indices;
        std::size_t start = 0;
        while (start <= days.size()) {
            const std::size_t comma = std::min(days.find(',', start), days.size());
            const std::string part = days.substr(start, comma - start);
            const auto dash = part.find('-');
            if (dash == std::string::npos) {
                auto day = dayIndex(part, field, raw);
                NP_TRY(day);
                indices.push_back(*day);
            } else {
                auto from = dayIndex(part.substr(0, dash), field, raw);
                NP_TRY(from);
                auto to = dayIndex(part.substr(dash + 1), field, raw);
                NP_TRY(to);
                if (*to < *from) {
                    return invalid(std::string(field),
                                   "'" + raw + "': a day range runs forward, e.g. mon-fri");
                }
                for (int d = *from; d <= *to; ++d) {
                    indices.push_back(d);
                }
            }
            start = comma + 1;
        }
        std::optional<MinuteRange> hours;
        if (range != "closed") {
            const auto dash = range.find('-');
            if (dash == std::string::npos) {
                return invalid(std::string(field),
                               "'" + raw + "': expected hours HH:MM-HH:MM or 'closed'");
            }
            auto open = parseClock(range.substr(0, dash), field);
            NP_TRY(open);
            auto close = parseClock(range.substr(dash + 1), field);
            NP_TRY(close);
            if (*close <= *open) {
                return invalid(std::string(field), "'" + raw + "': closes before it opens");
            }
            hours = MinuteRange{*open, *close};
        }
        for (int d : indices) {
            if (!seen.insert(d).second) {
                return invalid(std::string(field),
                               "'" + raw +
                                   "': " + std::string(kDayNames[static_cast<std::size_t>(d)]) +
                                   " is given twice");
            }
            week[static_cast<std::size_t>(d)] = hours;
        }
    }
    return week;
}

std::string formatWeekHours(const WeekHours& hours) {
    std::string text;
    for (std::size_t d = 0; d < hours.size(); ++d) {
        if (hours[d]) {
            text += (text.empty() ? "" : ", ") + std::string(kDayNames[d]) + " " +
                    formatClock(hours[d]->startMin) + "-" + formatClock(hours[d]->endMin);
        }
    }
    return text.empty() ? "closed" : text;
}

json toJson(const Device& d) {
    return json{
        {"id", d.id},         {"name", d.name},   {"kind", d.kind},           {"model", d.model},
        {"serial", d.serial}, {"coils", d.coils}, {"in_service", d.inService}};
}

namespace {
json hoursJson(const WeekHours& hours) {
    json j = json::object();
    for (std::size_t d = 0; d < hours.size(); ++d) {
        j[std::string(kDayNames[d])] =
            hours[d] ? json(formatClock(hours[d]->startMin) + "-" + formatClock(hours[d]->endMin))
                     : json(nullptr);
    }
    return j;
}
}  // namespace

json toJson(const StaffMember& s) {
    return json{{"id", s.id},
                {"code", s.code},
                {"display_name", s.displayName},
                {"role", s.role},
                {"hours", hoursJson(s.hours)}};
}

json toJson(const Resources& r) {
    json devices = json::array();
    for (const Device& d : r.devices) {
        devices.push_back(toJson(d));
    }
    json rooms = json::array();
    for (const Room& room : r.rooms) {
        rooms.push_back({{"id", room.id}, {"name", room.name}});
    }
    json staff = json::array();
    for (const StaffMember& s : r.staff) {
        staff.push_back(toJson(s));
    }
    json closures = json::array();
    for (const Closure& c : r.closures) {
        closures.push_back({{"date", formatDay(c.day)}, {"label", c.label}, {"uid", c.uid}});
    }
    return json{
        {"time_zone", r.settings.timeZone.empty() ? json(nullptr) : json(r.settings.timeZone)},
        {"missed_rule", toString(r.settings.missedRule)},
        {"opening_hours", hoursJson(r.opening)},
        {"devices", devices},
        {"rooms", rooms},
        {"staff", staff},
        {"closures", closures}};
}

json toJson(const CourseRules& rules) {
    return rulesToJson(rules);
}

json toJson(const AppointmentView& v) {
    const Appointment& a = v.appointment;
    return json{{"id", a.id},
                {"course_id", a.courseId},
                {"course", v.courseLabel},
                {"kind", v.courseKind},
                {"mrn", v.mrn},
                {"patient", v.patientName},
                {"number", v.number},
                {"total", v.total},
                {"date", formatDay(a.day)},
                {"start", formatClock(a.startMin)},
                {"end", formatClock(a.startMin + a.durationMin)},
                {"duration_min", a.durationMin},
                {"time_zone", v.timeZone},
                {"start_utc", formatUtcMinutes(a.startUtc)},
                {"end_utc", formatUtcMinutes(a.endUtc)},
                {"device", v.device},
                {"device_in_service", v.deviceInService},
                {"room", v.room},
                {"technician", v.staffCode},
                {"technician_name", v.staffName},
                {"status", toString(a.status)},
                {"phase", a.phase},
                {"replaces", a.replacesId ? json(a.replacesId) : json(nullptr)}};
}

json toJson(const CourseWarning& w) {
    return json{{"course_id", w.courseId},     {"mrn", w.mrn},
                {"course", w.courseLabel},     {"overdue", w.overdue},
                {"missed", w.missed},          {"unplaced", w.unplaced},
                {"planned_end", w.plannedEnd}, {"projected_end", w.projectedEnd},
                {"days_late", w.daysLate},     {"message", w.message}};
}

namespace {

/// Reads appointments as people see them; `where` is constant SQL over alias a.
template <class... Args>
Result<std::vector<AppointmentView>> readViews(store::Connection& db, std::string_view where,
                                               const Args&... args) {
    const std::string sql =
        "SELECT a.id, a.course_id, a.patient_id, a.local_date, a.local_start, a.duration_min, "
        "a.start_utc_min, a.end_utc_min, a.device_id, a.room_id, a.staff_id, a.status, a.phase, "
        "coalesce(a.replaces_id, 0), a.time_zone, p.mrn, p.family_name || ', ' || p.given_name, "
        "c.label, c.kind, d.name, d.in_service, r.name, s.code, s.display_name, "
        "json_extract(pl.rules_json, '$.total_sessions'), "
        "CASE WHEN a.status IN ('scheduled', 'checked_in') THEN (SELECT count(*) FROM "
        "schedule_appointments o WHERE o.course_id = a.course_id AND o.status IN ('scheduled', "
        "'checked_in') AND (o.start_utc_min < a.start_utc_min OR (o.start_utc_min = "
        "a.start_utc_min AND o.id <= a.id))) ELSE 0 END "
        "FROM schedule_appointments a JOIN patients p ON p.id = a.patient_id "
        "JOIN courses c ON c.id = a.course_id JOIN schedule_plans pl ON pl.course_id = a.course_id "
        "JOIN schedule_devices d ON d.id = a.device_id JOIN schedule_rooms r ON r.id = a.room_id "
        "JOIN schedule_staff s ON s.id = a.staff_id " +
        std::string(where);
    std::vector<AppointmentView> list;
    NP_TRY(forEachRow(
        db, sql,
        [&](store::Statement& row) -> Status {
            auto a = readAppointment(row);
            NP_TRY(a);
            AppointmentView v;
            v.appointment = *a;
            v.timeZone = row.columnText(14);
            v.mrn = row.columnText(15);
            v.patientName = row.columnText(16);
            v.courseLabel = row.columnText(17);
            v.courseKind = row.columnText(18);
            v.device = row.columnText(19);
            v.deviceInService = row.columnInt(20) != 0;
            v.room = row.columnText(21);
            v.staffCode = row.columnText(22);
            v.staffName = row.columnText(23);
            v.total = static_cast<int>(row.columnInt(24));
            v.number = static_cast<int>(row.columnInt(25));
            list.push_back(std::move(v));
            return {};
        },
        args...));
    return list;
}

Result<AppointmentView> readView(store::Connection& db, std::int64_t id) {
    auto list = readViews(db, "WHERE a.id = ?", id);
    NP_TRY(list);
    if (list->empty()) {
        return makeError(ErrorCode::NotFound, "appointment",
                         "no appointment " + std::to_string(id));
    }
    return list->front();
}

template <class T>
Result<std::int64_t> idByName(store::Connection& db, std::string_view sql, const T& value,
                              std::string field, const std::string& what) {
    auto row = db.prepare(sql);
    NP_TRY(row);
    row->bindAll(value);
    auto found = row->step();
    NP_TRY(found);
    if (!*found) {
        return makeError(ErrorCode::NotFound, std::move(field), "no " + what + " '" + value + "'");
    }
    return row->columnInt(0);
}

}  // namespace

Result<std::string> ScheduleService::today() {
    auto settings = loadSettings(m_store.db());
    NP_TRY(settings);
    const UtcMinutes now = toUtcMinutes(m_store.clock()());
    if (settings->timeZone.empty()) {
        return formatUtcMinutes(now).substr(0, 10);
    }
    auto zone = Zone::locate(settings->timeZone, "time_zone");
    NP_TRY(zone);
    return formatDay(zone->toLocal(now).day);
}

Result<ClinicSettings> ScheduleService::settings(const records::Actor& by) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    return loadSettings(m_store.db());
}

Result<ClinicSettings> ScheduleService::setSettings(const records::Actor& by,
                                                    const std::optional<std::string>& timeZone,
                                                    const std::optional<std::string>& missedRule) {
    NP_TRY(records::require(by, records::Permission::ManageUsers));  // clinic administration
    if (timeZone) {
        NP_TRY(Zone::locate(*timeZone, "time_zone"));
    }
    if (missedRule) {
        NP_TRY(parseMissedRule(*missedRule, "missed_rule"));
    }
    if (!timeZone && !missedRule) {
        return loadSettings(m_store.db());
    }
    const std::string now = formatUtc(m_store.clock()());
    const UtcMinutes nowMinutes = toUtcMinutes(m_store.clock()());
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto before = loadSettings(w.db());
        NP_TRY(before);
        auto set = [&](const char* key, const std::string& value,
                       const std::string& old) -> Status {
            auto upsert = w.db().prepare(
                "INSERT INTO clinic_settings (key, value, updated_utc, updated_by) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                "updated_utc = excluded.updated_utc, updated_by = excluded.updated_by");
            NP_TRY(upsert);
            upsert->bindAll(key, value, now, by.userId);
            NP_TRY(upsert->run());
            return w.audit("clinic_setting", key, "set", old.empty() ? json(nullptr) : json(old),
                           json(value));
        };
        if (timeZone && *timeZone != before->timeZone) {
            auto future = w.db().prepare(
                "SELECT count(*) FROM schedule_appointments WHERE status = 'scheduled' AND "
                "end_utc_min >= ?");
            NP_TRY(future);
            future->bindAll(nowMinutes);
            auto row = future->step();
            NP_TRY(row);
            if (future->columnInt(0) > 0) {
                return makeError(ErrorCode::Conflict, "time_zone",
                                 "scheduled appointments are kept in " + before->timeZone +
                                     "; the time zone cannot change while any are ahead");
            }
            NP_TRY(set(kTimeZoneKey, *timeZone, before->timeZone));
        }
        if (missedRule) {
            NP_TRY(set(kMissedRuleKey, *missedRule, toString(before->missedRule)));
        }
        if (w.auditEntries() == 0) {  // nothing changed: still a recorded act of setting
            return w.audit("clinic_setting", "schedule", "set", nullptr, json("unchanged"));
        }
        return Status{};
    }));
    return loadSettings(m_store.db());
}

Result<Device> ScheduleService::addDevice(const records::Actor& by, const DeviceInput& input) {
    NP_TRY(records::require(by, records::Permission::ManageUsers));
    Device d;
    d.name = trimmed(input.name);
    d.kind = input.kind;
    d.model = trimmed(input.model);
    d.serial = trimmed(input.serial);
    if (d.name.empty() || d.name.size() > 64) {
        return invalid("name", "must be 1-64 characters");
    }
    if (d.kind != "rtms" && d.kind != "vns") {
        return invalid("kind", "expected rtms or vns, got '" + input.kind + "'");
    }
    if (d.model.empty()) {
        return invalid("model", "must not be empty");
    }
    if (d.serial.empty()) {
        return invalid("serial", "must not be empty");
    }
    for (const std::string& coil : input.coils) {
        if (trimmed(coil).empty()) {
            return invalid("coil", "must not be empty");
        }
        d.coils.push_back(trimmed(coil));
    }
    if (d.kind == "rtms" && d.coils.empty()) {
        return invalid("coil", "required: an rTMS device needs at least one coil");
    }
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto clash = w.db().prepare(
            "SELECT name, serial FROM schedule_devices WHERE name = ? OR serial = ?");
        NP_TRY(clash);
        clash->bindAll(d.name, d.serial);
        auto found = clash->step();
        NP_TRY(found);
        if (*found) {
            return clash->columnText(0) == d.name
                       ? makeError(ErrorCode::Conflict, "name",
                                   "a device named '" + d.name + "' exists already")
                       : makeError(ErrorCode::Conflict, "serial",
                                   "a device with serial '" + d.serial + "' exists already");
        }
        auto insert = w.db().prepare(
            "INSERT INTO schedule_devices (name, kind, model, serial, coils_json, in_service, "
            "created_utc) VALUES (?, ?, ?, ?, ?, 1, ?)");
        NP_TRY(insert);
        insert->bindAll(d.name, d.kind, d.model, d.serial, json(d.coils).dump(),
                        formatUtc(m_store.clock()()));
        NP_TRY(insert->run());
        d.id = w.db().lastInsertRowId();
        return w.audit("schedule_device", std::to_string(d.id), "create", nullptr, toJson(d));
    }));
    return d;
}

Result<Room> ScheduleService::addRoom(const records::Actor& by, const std::string& name) {
    NP_TRY(records::require(by, records::Permission::ManageUsers));
    Room room{0, trimmed(name)};
    if (room.name.empty() || room.name.size() > 64) {
        return invalid("name", "must be 1-64 characters");
    }
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto found = anyRow(w.db(), "SELECT 1 FROM schedule_rooms WHERE name = ?", room.name);
        NP_TRY(found);
        if (*found) {
            return makeError(ErrorCode::Conflict, "name",
                             "a room named '" + room.name + "' exists already");
        }
        auto insert =
            w.db().prepare("INSERT INTO schedule_rooms (name, created_utc) VALUES (?, ?)");
        NP_TRY(insert);
        insert->bindAll(room.name, formatUtc(m_store.clock()()));
        NP_TRY(insert->run());
        room.id = w.db().lastInsertRowId();
        return w.audit("schedule_room", std::to_string(room.id), "create", nullptr,
                       json{{"name", room.name}});
    }));
    return room;
}

Result<StaffMember> ScheduleService::addStaff(const records::Actor& by, const StaffInput& input) {
    NP_TRY(records::require(by, records::Permission::ManageUsers));
    StaffMember s;
    s.code = trimmed(input.code);
    s.displayName = trimmed(input.displayName);
    s.role = input.role;
    if (s.code.empty() || s.code.size() > 32 ||
        s.code.find_first_of(" \t,;") != std::string::npos) {
        return invalid("code", "must be 1-32 characters without spaces, commas or semicolons");
    }
    if (s.displayName.empty() || s.displayName.size() > 100) {
        return invalid("display_name", "must be 1-100 characters");
    }
    if (s.role != "technician" && s.role != "nurse" && s.role != "physician") {
        return invalid("role", "expected technician, nurse or physician, got '" + input.role + "'");
    }
    auto hours = parseWeekHours(input.hours, "hours");
    NP_TRY(hours);
    s.hours = *hours;
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto found = anyRow(w.db(), "SELECT 1 FROM schedule_staff WHERE code = ?", s.code);
        NP_TRY(found);
        if (*found) {
            return makeError(ErrorCode::Conflict, "code",
                             "a staff member '" + s.code + "' exists already");
        }
        auto insert = w.db().prepare(
            "INSERT INTO schedule_staff (code, display_name, role, created_utc) "
            "VALUES (?, ?, ?, ?)");
        NP_TRY(insert);
        insert->bindAll(s.code, s.displayName, s.role, formatUtc(m_store.clock()()));
        NP_TRY(insert->run());
        s.id = w.db().lastInsertRowId();
        for (std::size_t d = 0; d < s.hours.size(); ++d) {
            if (s.hours[d]) {
                auto hoursRow = w.db().prepare(
                    "INSERT INTO schedule_hours (staff_id, weekday, start_min, end_min) "
                    "VALUES (?, ?, ?, ?)");
                NP_TRY(hoursRow);
                hoursRow->bindAll(s.id, static_cast<int>(d), s.hours[d]->startMin,
                                  s.hours[d]->endMin);
                NP_TRY(hoursRow->run());
            }
        }
        return w.audit("schedule_staff", std::to_string(s.id), "create", nullptr, toJson(s));
    }));
    return s;
}

Result<WeekHours> ScheduleService::setOpeningHours(const records::Actor& by,
                                                   const std::vector<std::string>& specs) {
    NP_TRY(records::require(by, records::Permission::ManageUsers));
    auto hours = parseWeekHours(specs, "week");
    NP_TRY(hours);
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto before = loadHours(w.db(), std::nullopt);
        NP_TRY(before);
        NP_TRY(w.db().exec("DELETE FROM schedule_hours WHERE staff_id IS NULL"));
        for (std::size_t d = 0; d < hours->size(); ++d) {
            if ((*hours)[d]) {
                auto insert = w.db().prepare(
                    "INSERT INTO schedule_hours (staff_id, weekday, start_min, end_min) "
                    "VALUES (NULL, ?, ?, ?)");
                NP_TRY(insert);
                insert->bindAll(static_cast<int>(d), (*hours)[d]->startMin, (*hours)[d]->endMin);
                NP_TRY(insert->run());
            }
        }
        return w.audit("schedule_opening_hours", "clinic", "set", hoursJson(*before),
                       hoursJson(*hours));
    }));
    return *hours;
}

Result<std::vector<Closure>> ScheduleService::importClosures(const records::Actor& by,
                                                             std::string_view text,
                                                             std::string_view origin) {
    NP_TRY(records::require(by, records::Permission::ManageUsers));
    auto closures = parseClosures(text, origin);
    NP_TRY(closures);
    std::vector<Closure> added;
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        json days = json::array();
        for (const Closure& c : *closures) {
            auto insert = w.db().prepare(
                "INSERT INTO schedule_closures (on_date, label, uid, created_utc) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (on_date) DO NOTHING");
            NP_TRY(insert);
            insert->bindAll(formatDay(c.day), c.label, c.uid, formatUtc(m_store.clock()()));
            NP_TRY(insert->run());
            if (w.db().changes() > 0) {
                added.push_back(c);
                days.push_back({{"date", formatDay(c.day)}, {"label", c.label}});
            }
        }
        return w.audit("schedule_closures", std::string(origin), "import", nullptr,
                       json{{"added", days}, {"in_file", closures->size()}});
    }));
    return added;
}

Result<Closure> ScheduleService::addClosure(const records::Actor& by, const std::string& date,
                                            const std::string& label) {
    NP_TRY(records::require(by, records::Permission::ManageUsers));
    auto day = parseDay(date, "date");
    NP_TRY(day);
    Closure c{*day, trimmed(label), ""};
    if (c.label.empty() || c.label.size() > 100) {
        return invalid("label", "must be 1-100 characters");
    }
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto insert = w.db().prepare(
            "INSERT INTO schedule_closures (on_date, label, uid, created_utc) VALUES (?, ?, '', ?) "
            "ON CONFLICT (on_date) DO NOTHING");
        NP_TRY(insert);
        insert->bindAll(formatDay(c.day), c.label, formatUtc(m_store.clock()()));
        NP_TRY(insert->run());
        if (w.db().changes() == 0) {
            return makeError(ErrorCode::Conflict, "date", formatDay(c.day) + " is closed already");
        }
        return w.audit("schedule_closures", formatDay(c.day), "add", nullptr,
                       json{{"date", formatDay(c.day)}, {"label", c.label}});
    }));
    return c;
}

Result<Resources> ScheduleService::resources(const records::Actor& by) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    return loadResources(m_store.db());
}

Result<ServiceOutcome> ScheduleService::setDeviceInService(const records::Actor& by,
                                                           const std::string& deviceName,
                                                           bool inService,
                                                           const std::string& reason) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    NP_TRY(requireReason(reason));
    const UtcMinutes now = toUtcMinutes(m_store.clock()());
    const std::string nowUtc = formatUtc(m_store.clock()());
    ServiceOutcome outcome;
    std::vector<std::int64_t> moved;
    std::vector<std::int64_t> unplaced;
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto id = idByName(w.db(), "SELECT id FROM schedule_devices WHERE name = ?", deviceName,
                           "device", "device");
        NP_TRY(id);
        auto resources = loadResources(w.db());
        NP_TRY(resources);
        for (const Device& d : resources->devices) {
            if (d.id == *id) {
                outcome.device = d;
            }
        }
        if (outcome.device.inService == inService) {
            return makeError(
                ErrorCode::Conflict, "device",
                deviceName + " is " + (inService ? "in" : "out of") + " service already");
        }
        auto update = w.db().prepare("UPDATE schedule_devices SET in_service = ? WHERE id = ?");
        NP_TRY(update);
        update->bindAll(inService ? 1 : 0, *id);
        NP_TRY(update->run());
        outcome.device.inService = inService;
        NP_TRY(recordChange(
            w.db(), by.userId, nowUtc,
            {inService ? "device_in" : "device_out", std::nullopt, std::nullopt, *id, reason,
             json{{"in_service", !inService}}, json{{"in_service", inService}}}));
        json reassigned = json::array();
        if (!inService) {
            auto planner = loadPlanner(w.db(), m_rules, now);
            if (planner) {  // without a configured clinic there is nothing to re-assign
                const Reassignment result = planner->takeOutOfService(*id, now);
                for (const auto& [appointmentId, deviceId] : result.moved) {
                    const Appointment* a = planner->find(appointmentId);
                    NP_TRY(updateAppointment(w.db(), *a));
                    NP_TRY(recordChange(w.db(), by.userId, nowUtc,
                                        {"reassign", appointmentId, a->courseId, deviceId, reason,
                                         json{{"device_id", *id}}, json{{"device_id", deviceId}}}));
                    reassigned.push_back({{"appointment", appointmentId}, {"device", deviceId}});
                    moved.push_back(appointmentId);
                }
                unplaced = result.unplaced;
            }
        }
        return w.audit("schedule_device", std::to_string(*id),
                       inService ? "in_service" : "out_of_service",
                       json{{"in_service", !inService}},
                       json{{"in_service", inService},
                            {"reason", trimmed(reason)},
                            {"reassigned", reassigned},
                            {"unplaced", unplaced}});
    }));
    for (std::int64_t id : moved) {
        auto view = readView(m_store.db(), id);
        NP_TRY(view);
        outcome.reassigned.push_back(*view);
    }
    for (std::int64_t id : unplaced) {
        auto view = readView(m_store.db(), id);
        NP_TRY(view);
        outcome.unplaced.push_back(*view);
    }
    return outcome;
}

Result<PlanResult> ScheduleService::plan(const records::Actor& by, std::string_view mrn,
                                         std::int64_t protocolVersionId, const std::string& start,
                                         const std::optional<std::string>& rhythm) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    auto startDay = parseDay(start, "start");
    NP_TRY(startDay);
    auto patient = records::PatientService(m_store).findByMrn(by, mrn);
    NP_TRY(patient);
    std::int64_t courseId = 0;
    {
        auto row = m_store.db().prepare(
            "SELECT v.course_id, c.patient_id FROM protocol_versions v "
            "JOIN courses c ON c.id = v.course_id WHERE v.id = ?");
        NP_TRY(row);
        row->bindAll(protocolVersionId);
        auto found = row->step();
        NP_TRY(found);
        if (!*found) {
            return makeError(ErrorCode::NotFound, "protocol_version",
                             "no protocol version " + std::to_string(protocolVersionId));
        }
        courseId = row->columnInt(0);
        if (row->columnInt(1) != patient->id) {
            return invalid("protocol_version", "version " + std::to_string(protocolVersionId) +
                                                   " belongs to another patient's course");
        }
    }
    auto deliverable = courses::CourseService(m_store).deliverable(by, courseId);
    if (!deliverable) {
        return makeError(ErrorCode::Conflict, "protocol_version", deliverable.error().message);
    }
    if (deliverable->id != protocolVersionId) {
        return makeError(ErrorCode::Conflict, "protocol_version",
                         "version id " + std::to_string(protocolVersionId) +
                             " is not the course's approved latest version (that is id " +
                             std::to_string(deliverable->id) + ")");
    }
    auto protocol = protocols::parseProtocol(deliverable->protocol);
    NP_TRY(protocol);
    auto rules = courseRules(*protocol, rhythm, m_rules);
    NP_TRY(rules);

    const UtcMinutes now = toUtcMinutes(m_store.clock()());
    const std::string nowUtc = formatUtc(m_store.clock()());
    PlanResult result;
    result.courseId = courseId;
    result.rules = *rules;
    std::vector<std::int64_t> ids;
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto found = anyRow(w.db(), "SELECT 1 FROM schedule_plans WHERE course_id = ?", courseId);
        NP_TRY(found);
        if (*found) {
            return makeError(ErrorCode::Conflict, "protocol_version",
                             "course " + std::to_string(courseId) + " is planned already");
        }
        auto planner = loadPlanner(w.db(), m_rules, now);
        NP_TRY(planner);
        const Zone& zone = planner->clinic().zone;
        if (*startDay < zone.toLocal(now).day) {
            return invalid("start", formatDay(*startDay) + " is in the past (today is " +
                                        formatDay(zone.toLocal(now).day) + ")");
        }
        auto planned = planner->planCourse(courseId, patient->id, *rules, *startDay, now);
        NP_TRY(planned);
        result.plannedEnd = formatDay(planned->back().day);
        auto insertPlan = w.db().prepare(
            "INSERT INTO schedule_plans (course_id, protocol_version_id, rules_json, start_date, "
            "planned_end_date, time_zone, created_utc, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, "
            "?)");
        NP_TRY(insertPlan);
        insertPlan->bindAll(courseId, protocolVersionId, rulesToJson(*rules).dump(),
                            formatDay(*startDay), result.plannedEnd, zone.name(), nowUtc,
                            by.userId);
        NP_TRY(insertPlan->run());
        json sessions = json::array();
        for (const Appointment& a : *planned) {
            NP_TRY(insertAppointment(w.db(), a, zone.name(), nowUtc));
            ids.push_back(a.id);
            sessions.push_back(json::array({a.id, formatDay(a.day), formatClock(a.startMin),
                                            a.deviceId, a.roomId, a.staffId}));
        }
        json after{{"course_id", courseId},         {"protocol_version_id", protocolVersionId},
                   {"start", formatDay(*startDay)}, {"planned_end", result.plannedEnd},
                   {"time_zone", zone.name()},      {"rules", rulesToJson(*rules)},
                   {"appointments", sessions}};
        NP_TRY(recordChange(
            w.db(), by.userId, nowUtc,
            {"plan", std::nullopt, courseId, std::nullopt,
             "course planned from protocol version " + std::to_string(protocolVersionId), nullptr,
             json{{"appointments", ids.size()}}}));
        return w.audit("schedule_plan", std::to_string(courseId), "plan", nullptr, after);
    }));
    auto views =
        readViews(m_store.db(), "WHERE a.course_id = ? ORDER BY a.start_utc_min", courseId);
    NP_TRY(views);
    result.appointments = std::move(views).value();
    return result;
}

Result<std::vector<AppointmentView>> ScheduleService::list(const records::Actor& by,
                                                           const ListFilter& filter) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    auto from = parseDay(filter.from, "from");
    NP_TRY(from);
    auto to = parseDay(filter.to, "to");
    NP_TRY(to);
    if (*to < *from) {
        return invalid("to", "is before --from");
    }
    std::optional<std::int64_t> device, staff, room;
    if (!filter.device.empty()) {
        auto id = idByName(m_store.db(), "SELECT id FROM schedule_devices WHERE name = ?",
                           filter.device, "device", "device");
        NP_TRY(id);
        device = *id;
    }
    if (!filter.technician.empty()) {
        auto id = idByName(m_store.db(), "SELECT id FROM schedule_staff WHERE code = ?",
                           filter.technician, "technician", "staff member");
        NP_TRY(id);
        staff = *id;
    }
    if (!filter.room.empty()) {
        auto id = idByName(m_store.db(), "SELECT id FROM schedule_rooms WHERE name = ?",
                           filter.room, "room", "room");
        NP_TRY(id);
        room = *id;
    }
    return readViews(m_store.db(),
                     "WHERE a.local_date BETWEEN ? AND ? AND (? IS NULL OR a.device_id = ?) "
                     "AND (? IS NULL OR a.staff_id = ?) AND (? IS NULL OR a.room_id = ?) "
                     "AND (? IS NULL OR a.course_id = ?) "
                     "AND (? = 1 OR a.status IN ('scheduled', 'checked_in')) "
                     "ORDER BY a.local_date, a.local_start, d.name",
                     formatDay(*from), formatDay(*to), device, device, staff, staff, room, room,
                     filter.courseId, filter.courseId, filter.includeInactive ? 1 : 0);
}

Result<AppointmentView> ScheduleService::appointment(const records::Actor& by, std::int64_t id) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    return readView(m_store.db(), id);
}

namespace {

Result<MoveRequest> resolveMove(store::Connection& db, const MoveInput& input) {
    MoveRequest request;
    auto day = parseDay(input.date, "date");
    NP_TRY(day);
    request.day = *day;
    auto time = parseClock(input.time, "time");
    NP_TRY(time);
    if (*time >= 1440) {
        return invalid("time", "a session starts before 24:00");
    }
    request.startMin = *time;
    if (!input.device.empty()) {
        auto id = idByName(db, "SELECT id FROM schedule_devices WHERE name = ?", input.device,
                           "device", "device");
        NP_TRY(id);
        request.deviceId = *id;
    }
    if (!input.room.empty()) {
        auto id = idByName(db, "SELECT id FROM schedule_rooms WHERE name = ?", input.room, "room",
                           "room");
        NP_TRY(id);
        request.roomId = *id;
    }
    if (!input.technician.empty()) {
        auto id = idByName(db, "SELECT id FROM schedule_staff WHERE code = ?", input.technician,
                           "technician", "staff member");
        NP_TRY(id);
        request.staffId = *id;
    }
    return request;
}

Result<Appointment> loadAppointment(store::Connection& db, std::int64_t id) {
    auto row = db.prepare(std::string(kSelectAppointment) + "WHERE id = ?");
    NP_TRY(row);
    row->bindAll(id);
    auto found = row->step();
    NP_TRY(found);
    if (!*found) {
        return makeError(ErrorCode::NotFound, "appointment",
                         "no appointment " + std::to_string(id));
    }
    return readAppointment(*row);
}

}  // namespace

Result<std::vector<Conflict>> ScheduleService::checkMove(const records::Actor& by,
                                                         const MoveInput& input) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    auto request = resolveMove(m_store.db(), input);
    NP_TRY(request);
    auto current = loadAppointment(m_store.db(), input.appointmentId);
    NP_TRY(current);
    const UtcMinutes now = toUtcMinutes(m_store.clock()());
    auto planner = loadPlanner(m_store.db(), m_rules, now);
    NP_TRY(planner);
    auto rules = planRules(m_store.db(), current->courseId);
    NP_TRY(rules);
    return planner->checkMove(*current, *request, *rules, now);
}

Result<AppointmentView> ScheduleService::move(const records::Actor& by, const MoveInput& input) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    auto request = resolveMove(m_store.db(), input);
    NP_TRY(request);
    NP_TRY(requireReason(input.reason));
    const UtcMinutes now = toUtcMinutes(m_store.clock()());
    const std::string nowUtc = formatUtc(m_store.clock()());
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto current = loadAppointment(w.db(), input.appointmentId);
        NP_TRY(current);
        auto planner = loadPlanner(w.db(), m_rules, now);
        NP_TRY(planner);
        auto rules = planRules(w.db(), current->courseId);
        NP_TRY(rules);
        const std::vector<Conflict> conflicts = planner->checkMove(*current, *request, *rules, now);
        if (!conflicts.empty()) {
            std::string message;
            for (const Conflict& c : conflicts) {
                message += (message.empty() ? "" : "; ") + c.message;
            }
            return makeError(ErrorCode::Conflict, conflicts.front().field, message);
        }
        const Appointment moved = planner->applyMove(*current, *request);
        NP_TRY(updateAppointment(w.db(), moved));
        NP_TRY(recordChange(w.db(), by.userId, nowUtc,
                            {"move", moved.id, moved.courseId, std::nullopt, input.reason,
                             appointmentJson(*current), appointmentJson(moved)}));
        return w.audit("schedule_appointment", std::to_string(moved.id), "move",
                       appointmentJson(*current), [&] {
                           json after = appointmentJson(moved);
                           after["reason"] = trimmed(input.reason);
                           return after;
                       }());
    }));
    return readView(m_store.db(), input.appointmentId);
}

Result<CancelOutcome> ScheduleService::cancel(const records::Actor& by, std::int64_t appointmentId,
                                              const std::string& reason, bool missed,
                                              bool replace) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    NP_TRY(requireReason(reason));
    const UtcMinutes now = toUtcMinutes(m_store.clock()());
    const std::string nowUtc = formatUtc(m_store.clock()());
    CancelOutcome outcome;
    std::int64_t replacementId = 0;
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto current = loadAppointment(w.db(), appointmentId);
        NP_TRY(current);
        if (current->status != AppointmentStatus::Scheduled) {
            return makeError(ErrorCode::Conflict, "appointment",
                             "appointment " + std::to_string(appointmentId) + " is " +
                                 toString(current->status) + "; only scheduled ones are " +
                                 (missed ? "marked missed" : "cancelled"));
        }
        if (missed && current->startUtc > now) {
            return makeError(ErrorCode::Conflict, "appointment",
                             "appointment " + std::to_string(appointmentId) +
                                 " has not started yet; cancel it instead of marking it missed");
        }
        Appointment lost = *current;
        lost.status = missed ? AppointmentStatus::Missed : AppointmentStatus::Cancelled;
        NP_TRY(updateAppointment(w.db(), lost));
        NP_TRY(recordChange(w.db(), by.userId, nowUtc,
                            {missed ? "missed" : "cancel", lost.id, lost.courseId, std::nullopt,
                             reason, appointmentJson(*current), appointmentJson(lost)}));
        json after = appointmentJson(lost);
        after["reason"] = trimmed(reason);
        if (replace) {
            auto planner = loadPlanner(w.db(), m_rules, now);
            NP_TRY(planner);
            auto rules = planRules(w.db(), lost.courseId);
            NP_TRY(rules);
            planner->release(lost.id);
            auto replacement = planner->replace(lost, *rules, planner->clinic().missedRule, now);
            if (replacement) {
                NP_TRY(
                    insertAppointment(w.db(), *replacement, planner->clinic().zone.name(), nowUtc));
                NP_TRY(recordChange(
                    w.db(), by.userId, nowUtc,
                    {"replace", replacement->id, replacement->courseId, std::nullopt,
                     std::string("re-placed by the clinic's rule ") +
                         toString(planner->clinic().missedRule) + ": " + trimmed(reason),
                     nullptr, appointmentJson(*replacement)}));
                replacementId = replacement->id;
                after["replacement"] = appointmentJson(*replacement);
                after["rule"] = toString(planner->clinic().missedRule);
            } else {
                outcome.replacementProblem = replacement.error().message;
                after["replacement"] = nullptr;
                after["replacement_problem"] = outcome.replacementProblem;
            }
        }
        return w.audit("schedule_appointment", std::to_string(lost.id),
                       missed ? "missed" : "cancel", appointmentJson(*current), after);
    }));
    auto lost = readView(m_store.db(), appointmentId);
    NP_TRY(lost);
    outcome.lost = *lost;
    if (replacementId != 0) {
        auto view = readView(m_store.db(), replacementId);
        NP_TRY(view);
        outcome.replacement = *view;
    }
    return outcome;
}

Result<AppointmentView> ScheduleService::checkIn(const records::Actor& by,
                                                 std::int64_t appointmentId) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    const UtcMinutes now = toUtcMinutes(m_store.clock()());
    const std::string nowUtc = formatUtc(m_store.clock()());
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto current = loadAppointment(w.db(), appointmentId);
        NP_TRY(current);
        if (current->status != AppointmentStatus::Scheduled) {
            return makeError(ErrorCode::Conflict, "appointment",
                             "appointment " + std::to_string(appointmentId) + " is " +
                                 toString(current->status) + "; only scheduled ones check in");
        }
        auto settings = loadSettings(w.db());
        NP_TRY(settings);
        auto zone = Zone::locate(settings->timeZone, "time_zone");
        NP_TRY(zone);
        const Day today = zone->toLocal(now).day;
        if (current->day > today) {
            return makeError(ErrorCode::Conflict, "appointment",
                             "appointment " + std::to_string(appointmentId) + " is on " +
                                 formatDay(current->day) + "; check-in happens on the day");
        }
        Appointment done = *current;
        done.status = AppointmentStatus::CheckedIn;
        NP_TRY(updateAppointment(w.db(), done));
        auto stamp =
            w.db().prepare("UPDATE schedule_appointments SET checked_in_utc = ? WHERE id = ?");
        NP_TRY(stamp);
        stamp->bindAll(nowUtc, done.id);
        NP_TRY(stamp->run());
        NP_TRY(recordChange(w.db(), by.userId, nowUtc,
                            {"check_in", done.id, done.courseId, std::nullopt, "patient checked in",
                             appointmentJson(*current), appointmentJson(done)}));
        return w.audit("schedule_appointment", std::to_string(done.id), "check_in",
                       appointmentJson(*current), appointmentJson(done));
    }));
    return readView(m_store.db(), appointmentId);
}

Result<std::vector<CourseWarning>> ScheduleService::behind(const records::Actor& by) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    const UtcMinutes now = toUtcMinutes(m_store.clock()());
    std::vector<CourseWarning> warnings;
    NP_TRY(forEachRow(
        m_store.db(),
        "SELECT pl.course_id, p.mrn, c.label, pl.planned_end_date, "
        "(SELECT count(*) FROM schedule_appointments a WHERE a.course_id = pl.course_id AND "
        " a.status = 'scheduled' AND a.end_utc_min < ?), "
        "(SELECT count(*) FROM schedule_appointments a WHERE a.course_id = pl.course_id AND "
        " a.status = 'missed'), "
        "(SELECT count(*) FROM schedule_appointments a JOIN schedule_devices d ON "
        " d.id = a.device_id WHERE a.course_id = pl.course_id AND a.status = 'scheduled' AND "
        " d.in_service = 0), "
        "(SELECT max(a.local_date) FROM schedule_appointments a WHERE a.course_id = "
        " pl.course_id AND a.status IN ('scheduled', 'checked_in')) "
        "FROM schedule_plans pl JOIN courses c ON c.id = pl.course_id "
        "JOIN patients p ON p.id = c.patient_id ORDER BY pl.course_id",
        [&](store::Statement& row) -> Status {
            CourseWarning w;
            w.courseId = row.columnInt(0);
            w.mrn = row.columnText(1);
            w.courseLabel = row.columnText(2);
            w.plannedEnd = row.columnText(3);
            w.overdue = static_cast<int>(row.columnInt(4));
            w.missed = static_cast<int>(row.columnInt(5));
            w.unplaced = static_cast<int>(row.columnInt(6));
            w.projectedEnd = row.columnOptionalText(7).value_or(w.plannedEnd);
            auto planned = parseIsoDate(w.plannedEnd, "planned_end_date");
            NP_TRY(planned);
            auto projected = parseIsoDate(w.projectedEnd, "projected_end");
            NP_TRY(projected);
            w.daysLate = static_cast<int>((Day{*projected} - Day{*planned}).count());
            std::vector<std::string> parts;
            if (w.overdue > 0) {
                parts.push_back(std::to_string(w.overdue) + " past session(s) not checked in");
            }
            if (w.missed > 0) {
                parts.push_back(std::to_string(w.missed) + " missed");
            }
            if (w.unplaced > 0) {
                parts.push_back(std::to_string(w.unplaced) +
                                " session(s) on a device out of service");
            }
            if (w.daysLate > 0) {
                parts.push_back("ends " + w.projectedEnd + ", " + std::to_string(w.daysLate) +
                                " day(s) later than planned");
            }
            if (parts.empty() || (w.overdue == 0 && w.unplaced == 0 && w.daysLate <= 0)) {
                return {};  // missed sessions that were made up in time are not behind
            }
            for (const std::string& p : parts) {
                w.message += (w.message.empty() ? "" : "; ") + p;
            }
            warnings.push_back(std::move(w));
            return {};
        },
        now));
    return warnings;
}

Result<std::string> ScheduleService::exportCalendar(const records::Actor& by,
                                                    const std::string& from,
                                                    const std::string& to) {
    NP_TRY(records::require(by, records::Permission::ViewRecords));
    std::string first = "2000-01-01";
    std::string last = std::to_string(kLastPlannableYear) + "-12-31";
    if (!from.empty()) {
        auto day = parseDay(from, "from");
        NP_TRY(day);
        first = formatDay(*day);
    }
    if (!to.empty()) {
        auto day = parseDay(to, "to");
        NP_TRY(day);
        last = formatDay(*day);
    }
    // A per-database tag keeps UIDs unique across clinics and stable across exports: the hash of
    // the first audit entry, which never changes.
    auto tagRow = m_store.db().prepare("SELECT hash FROM audit_log ORDER BY id LIMIT 1");
    NP_TRY(tagRow);
    auto tagFound = tagRow->step();
    NP_TRY(tagFound);
    const std::string tag = *tagFound ? tagRow->columnText(0).substr(0, 16) : "local";
    auto views =
        readViews(m_store.db(), "WHERE a.local_date BETWEEN ? AND ? ORDER BY a.start_utc_min, a.id",
                  first, last);
    NP_TRY(views);
    std::map<std::int64_t, int> sequence;
    NP_TRY(forEachRow(m_store.db(),
                      "SELECT appointment_id, count(*) FROM schedule_changes WHERE "
                      "appointment_id IS NOT NULL AND action IN ('move', 'cancel', 'missed', "
                      "'reassign') GROUP BY appointment_id",
                      [&](store::Statement& row) -> Status {
                          sequence[row.columnInt(0)] = static_cast<int>(row.columnInt(1));
                          return {};
                      }));
    std::vector<CalendarEvent> events;
    for (const AppointmentView& v : *views) {
        const Appointment& a = v.appointment;
        CalendarEvent e;
        e.uid = "appointment-" + std::to_string(a.id) + "-" + tag + "@neuroplan";
        e.start = a.startUtc;
        e.end = a.endUtc;
        const std::string kind = v.courseKind == "vns" ? "VNS titration visit" : "rTMS session";
        // The MRN, not the name: calendar files leave the record system.
        e.summary = kind +
                    (v.number > 0 ? " " + std::to_string(v.number) + "/" + std::to_string(v.total)
                                  : std::string()) +
                    " - " + v.mrn;
        e.location = v.room;
        e.description = "Course: " + v.courseLabel + "\nDevice: " + v.device +
                        "\nTechnician: " + v.staffName + " (" + v.staffCode + ")" +
                        "\nLocal time: " + formatDay(a.day) + " " + formatClock(a.startMin) + " " +
                        v.timeZone + "\nStatus: " + toString(a.status);
        e.cancelled = !a.active();
        e.sequence = sequence.count(a.id) ? sequence[a.id] : 0;
        events.push_back(std::move(e));
    }
    return writeCalendar(events, "NeuroPlan schedule", toUtcMinutes(m_store.clock()()));
}

}  // namespace neuroplan::scheduling
