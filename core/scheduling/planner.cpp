#include "scheduling/planner.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "protocols/rtms.h"
#include "protocols/vns.h"

namespace neuroplan::scheduling {

namespace {

constexpr UtcMinutes kNoEarliest = std::numeric_limits<UtcMinutes>::min();
constexpr std::int64_t kNoAppointment = 0;

enum class ResourceKind : std::uint64_t { Device = 1, Room = 2, Staff = 3, Patient = 4 };

std::uint64_t key(ResourceKind kind, std::int64_t id) {
    return (static_cast<std::uint64_t>(kind) << 56) | static_cast<std::uint64_t>(id);
}

Error invalid(std::string field, std::string message) {
    return makeError(ErrorCode::InvalidInput, std::move(field), std::move(message));
}

/// Whole days between two days (b - a).
int daysBetween(Day a, Day b) {
    return static_cast<int>((b - a).count());
}

/// The fewest days between two sessions of a weekly rhythm, so that 2 a week fall e.g. Monday
/// and Thursday rather than Monday and Tuesday: 7 / sessions per week, at least 1.
int spacingDays(std::optional<int> perWeek) {
    return perWeek ? std::max(1, 7 / *perWeek) : 1;
}

std::string hoursText(int minutes) {
    return std::to_string(minutes / 60) + " h " + (minutes % 60 < 10 ? "0" : "") +
           std::to_string(minutes % 60) + " min";
}

}  // namespace

const char* weekdayName(int index) {
    static constexpr std::array<const char*, 7> kNames{
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
    return kNames.at(static_cast<std::size_t>(index));
}

const char* toString(MissedRule rule) {
    return rule == MissedRule::AppendAtEnd ? "append_at_end" : "next_free_slot";
}

Result<MissedRule> parseMissedRule(std::string_view text, std::string_view field) {
    if (text == "append_at_end") {
        return MissedRule::AppendAtEnd;
    }
    if (text == "next_free_slot") {
        return MissedRule::NextFreeSlot;
    }
    return invalid(std::string(field),
                   "expected append_at_end or next_free_slot, got '" + std::string(text) + "'");
}

const char* toString(AppointmentStatus status) {
    switch (status) {
        case AppointmentStatus::Scheduled:
            return "scheduled";
        case AppointmentStatus::CheckedIn:
            return "checked_in";
        case AppointmentStatus::Missed:
            return "missed";
        case AppointmentStatus::Cancelled:
            return "cancelled";
    }
    return "scheduled";
}

Result<AppointmentStatus> parseStatus(std::string_view text) {
    for (auto status : {AppointmentStatus::Scheduled, AppointmentStatus::CheckedIn,
                        AppointmentStatus::Missed, AppointmentStatus::Cancelled}) {
        if (text == toString(status)) {
            return status;
        }
    }
    return makeError(ErrorCode::Internal, "status", "unknown status '" + std::string(text) + "'");
}

std::optional<MinuteRange> Clinic::openOn(Day day) const {
    if (closures.count(day) != 0) {
        return std::nullopt;
    }
    return opening[static_cast<std::size_t>(weekdayIndex(day))];
}

const Device* Clinic::device(std::int64_t id) const {
    for (const Device& d : devices) {
        if (d.id == id) {
            return &d;
        }
    }
    return nullptr;
}

const Room* Clinic::room(std::int64_t id) const {
    for (const Room& r : rooms) {
        if (r.id == id) {
            return &r;
        }
    }
    return nullptr;
}

const StaffMember* Clinic::staffMember(std::int64_t id) const {
    for (const StaffMember& s : staff) {
        if (s.id == id) {
            return &s;
        }
    }
    return nullptr;
}

int CourseRules::totalSessions() const {
    int total = sessions;
    for (const TaperPhase& phase : taper) {
        total += phase.weeks * phase.sessionsPerWeek;
    }
    return total;
}

Result<CourseRules> courseRules(const protocols::Protocol& protocol,
                                std::optional<std::string> rhythmId, const SchedulingRules& rules,
                                const protocols::Library& library) {
    CourseRules course;
    course.horizonDays = static_cast<int>(rules.horizonDays.value);
    course.gridMinutes = static_cast<int>(rules.gridMinutes.value);
    const int grid = course.gridMinutes;
    auto roundToGrid = [grid](double minutes) {
        return static_cast<int>(std::ceil(minutes / grid - 1e-9)) * grid;
    };
    std::string appliesTo;
    if (const auto* rtms = std::get_if<protocols::RtmsProtocol>(&protocol)) {
        course.kind = "rtms";
        course.sessionsPerDay = static_cast<int>(rtms->sessionsPerDay.value_or(1));
        appliesTo = course.accelerated() ? "rtms_accelerated" : "rtms";
        if (!rtms->sessionsInCourse || *rtms->sessionsInCourse < 1) {
            return invalid("protocol_version", "the protocol gives no sessions_in_course");
        }
        course.sessions = static_cast<int>(*rtms->sessionsInCourse);
        course.minGapMinutes =
            course.accelerated()
                ? static_cast<int>(std::ceil(rtms->minMinutesBetweenSessions.value_or(0)))
                : 0;
        const protocols::RtmsValidation validation =
            protocols::validateRtms(*rtms, protocols::RtmsContext{}, library);
        if (!validation.derived) {
            return invalid("protocol_version",
                           "the protocol's session duration cannot be derived (values missing)");
        }
        course.appointmentMinutes =
            roundToGrid(validation.derived->sessionDurationS / 60.0 + rules.setupMinutes.value);
        course.roles = rules.rtmsRoles;
    } else {
        course.kind = "vns";
        appliesTo = "vns";
        auto plan = protocols::makeTitrationPlan(std::nullopt, std::nullopt, std::nullopt,
                                                 std::nullopt, library);
        NP_TRY(plan);
        course.sessions = static_cast<int>(protocols::titrationSchedule(*plan).size());
        course.visitIntervalWeeks = plan->weeksBetweenSteps;
        course.appointmentMinutes = roundToGrid(rules.vnsVisitMinutes.value);
        course.roles = rules.vnsRoles;
    }
    const Rhythm* rhythm = rhythmId ? rules.find(*rhythmId) : rules.defaultFor(appliesTo);
    if (rhythm == nullptr) {
        std::string known;
        for (const Rhythm& r : rules.rhythms) {
            if (r.appliesTo == appliesTo) {
                known += (known.empty() ? "" : ", ") + r.id;
            }
        }
        return invalid("rhythm", "no rhythm '" + rhythmId.value_or("") +
                                     "' (for this protocol: " + known + ")");
    }
    if (rhythm->appliesTo != appliesTo) {
        return invalid("rhythm", "'" + rhythm->id + "' applies to " + rhythm->appliesTo +
                                     " courses, this protocol is " + appliesTo);
    }
    course.rhythmId = rhythm->id;
    course.taper = rhythm->taper;
    if (appliesTo == "rtms") {
        course.sessionsPerWeek = static_cast<int>(rhythm->perWeek.value);
    } else if (appliesTo == "rtms_accelerated") {
        course.sessionsPerWeek = static_cast<int>(rhythm->perWeek.value) * course.sessionsPerDay;
    }
    return course;
}

Planner::Planner(Clinic clinic, const SchedulingRules& rules)
    : m_clinic(std::move(clinic)), m_rules(rules) {}

void Planner::occupy(const Appointment& a) {
    for (std::uint64_t k :
         {key(ResourceKind::Device, a.deviceId), key(ResourceKind::Room, a.roomId),
          key(ResourceKind::Staff, a.staffId), key(ResourceKind::Patient, a.patientId)}) {
        m_busy[k][a.startUtc] = Busy{a.endUtc, a.id};
    }
    auto& course = m_byCourse[a.courseId];
    course.push_back(a.id);
}

void Planner::add(const Appointment& appointment) {
    m_appointments[appointment.id] = appointment;
    if (appointment.active()) {
        occupy(appointment);
    }
    m_nextId = std::max(m_nextId, appointment.id + 1);
}

void Planner::release(std::int64_t id) {
    const auto it = m_appointments.find(id);
    if (it == m_appointments.end()) {
        return;
    }
    const Appointment& a = it->second;
    for (std::uint64_t k :
         {key(ResourceKind::Device, a.deviceId), key(ResourceKind::Room, a.roomId),
          key(ResourceKind::Staff, a.staffId), key(ResourceKind::Patient, a.patientId)}) {
        auto busy = m_busy.find(k);
        if (busy != m_busy.end()) {
            auto slot = busy->second.find(a.startUtc);
            if (slot != busy->second.end() && slot->second.appointmentId == id) {
                busy->second.erase(slot);
            }
        }
    }
    auto& course = m_byCourse[a.courseId];
    course.erase(std::remove(course.begin(), course.end(), id), course.end());
    m_appointments.erase(it);
}

const Appointment* Planner::find(std::int64_t id) const {
    const auto it = m_appointments.find(id);
    return it == m_appointments.end() ? nullptr : &it->second;
}

std::vector<const Appointment*> Planner::courseAppointments(std::int64_t courseId) const {
    std::vector<const Appointment*> list;
    const auto it = m_byCourse.find(courseId);
    if (it != m_byCourse.end()) {
        for (std::int64_t id : it->second) {
            list.push_back(&m_appointments.at(id));
        }
    }
    std::sort(list.begin(), list.end(),
              [](const Appointment* a, const Appointment* b) { return a->startUtc < b->startUtc; });
    return list;
}

UtcMinutes Planner::nextFree(std::uint64_t k, UtcMinutes from, int minutes,
                             std::int64_t ignoreId) const {
    const auto found = m_busy.find(k);
    if (found == m_busy.end()) {
        return from;
    }
    const Intervals& busy = found->second;
    UtcMinutes t = from;
    auto it = busy.upper_bound(t);
    if (it != busy.begin()) {
        auto previous = std::prev(it);
        if (previous->second.end > t && previous->second.appointmentId != ignoreId) {
            t = previous->second.end;
        }
    }
    for (; it != busy.end() && it->first < t + minutes; ++it) {
        if (it->second.appointmentId != ignoreId) {
            t = std::max(t, it->second.end);
        }
    }
    return t;
}

std::optional<std::int64_t> Planner::blocker(std::uint64_t k, UtcMinutes start, UtcMinutes end,
                                             std::int64_t ignoreId) const {
    const auto found = m_busy.find(k);
    if (found == m_busy.end()) {
        return std::nullopt;
    }
    const Intervals& busy = found->second;
    auto it = busy.upper_bound(start);
    if (it != busy.begin()) {
        --it;
    }
    for (; it != busy.end() && it->first < end; ++it) {
        if (it->second.end > start && it->second.appointmentId != ignoreId) {
            return it->second.appointmentId;
        }
    }
    return std::nullopt;
}

int Planner::countOnDay(std::int64_t courseId, Day day, std::int64_t ignoreId) const {
    const auto it = m_byCourse.find(courseId);
    if (it == m_byCourse.end()) {
        return 0;
    }
    int count = 0;
    for (std::int64_t id : it->second) {
        count += (id != ignoreId && m_appointments.at(id).day == day) ? 1 : 0;
    }
    return count;
}

int Planner::countInWeek(std::int64_t courseId, Day day, std::int64_t ignoreId) const {
    const auto it = m_byCourse.find(courseId);
    if (it == m_byCourse.end()) {
        return 0;
    }
    const Day monday = weekStart(day);
    int count = 0;
    for (std::int64_t id : it->second) {
        count += (id != ignoreId && weekStart(m_appointments.at(id).day) == monday) ? 1 : 0;
    }
    return count;
}

bool Planner::dayAllowed(const CourseRules& rules, std::int64_t courseId, Day day, int weekLimit,
                         std::int64_t ignoreId) const {
    if (!m_clinic.openOn(day)) {
        return false;
    }
    if (countOnDay(courseId, day, ignoreId) >= rules.sessionsPerDay) {
        return false;
    }
    return countInWeek(courseId, day, ignoreId) < weekLimit;
}

std::optional<Planner::Placement> Planner::findOnDay(Day day, UtcMinutes earliest,
                                                     const CourseRules& rules,
                                                     std::int64_t courseId, std::int64_t patientId,
                                                     std::int64_t ignoreId) const {
    const auto open = m_clinic.openOn(day);
    if (!open) {
        return std::nullopt;
    }
    const int duration = rules.appointmentMinutes;
    const int grid = std::max(1, rules.gridMinutes);
    const UtcMinutes openUtc = m_clinic.zone.toUtc(day, open->startMin);
    const UtcMinutes closeUtc = m_clinic.zone.toUtc(day, open->endMin);
    const int weekday = weekdayIndex(day);

    // The course's own sessions that day, widened by the protocol's minimum gap.
    std::vector<std::pair<UtcMinutes, UtcMinutes>> course;
    if (const auto it = m_byCourse.find(courseId); it != m_byCourse.end()) {
        for (std::int64_t id : it->second) {
            const Appointment& a = m_appointments.at(id);
            if (id != ignoreId && a.day == day) {
                course.emplace_back(a.startUtc - rules.minGapMinutes,
                                    a.endUtc + rules.minGapMinutes);
            }
        }
    }
    struct StaffWindow {
        const StaffMember* member;
        UtcMinutes start;
        UtcMinutes end;
    };
    std::vector<StaffWindow> staff;
    for (const StaffMember& s : m_clinic.staff) {
        const auto& hours = s.hours[static_cast<std::size_t>(weekday)];
        if (hours &&
            std::find(rules.roles.begin(), rules.roles.end(), s.role) != rules.roles.end()) {
            staff.push_back({&s, m_clinic.zone.toUtc(day, hours->startMin),
                             m_clinic.zone.toUtc(day, hours->endMin)});
        }
    }
    std::vector<const Device*> devices;
    for (const Device& d : m_clinic.devices) {
        if (d.kind == rules.kind && d.inService) {
            devices.push_back(&d);
        }
    }
    if (staff.empty() || devices.empty() || m_clinic.rooms.empty()) {
        return std::nullopt;
    }
    auto align = [&](UtcMinutes t) {
        const UtcMinutes offset = t - openUtc;
        return offset <= 0 ? openUtc : openUtc + (offset + grid - 1) / grid * grid;
    };

    UtcMinutes t = align(std::max(openUtc, earliest));
    while (t + duration <= closeUtc) {
        UtcMinutes next = nextFree(key(ResourceKind::Patient, patientId), t, duration, ignoreId);
        for (const auto& [start, end] : course) {
            if (start < next + duration && end > next) {
                next = std::max(next, end);
            }
        }
        UtcMinutes device = std::numeric_limits<UtcMinutes>::max();
        for (const Device* d : devices) {
            device =
                std::min(device, nextFree(key(ResourceKind::Device, d->id), t, duration, ignoreId));
        }
        UtcMinutes room = std::numeric_limits<UtcMinutes>::max();
        for (const Room& r : m_clinic.rooms) {
            room = std::min(room, nextFree(key(ResourceKind::Room, r.id), t, duration, ignoreId));
        }
        UtcMinutes person = std::numeric_limits<UtcMinutes>::max();
        for (const StaffWindow& s : staff) {
            const UtcMinutes from = nextFree(key(ResourceKind::Staff, s.member->id),
                                             std::max(t, s.start), duration, ignoreId);
            if (from + duration <= s.end) {
                person = std::min(person, from);
            }
        }
        if (person == std::numeric_limits<UtcMinutes>::max()) {
            return std::nullopt;
        }
        const UtcMinutes candidate = align(std::max({next, device, room, person}));
        if (candidate != t) {
            t = candidate;
            continue;
        }
        // Everything has something free at t: prefer what the course used last, so a patient
        // keeps their room, coil set-up and technician where possible.
        const std::vector<const Appointment*> previous = courseAppointments(courseId);
        const Appointment* last = previous.empty() ? nullptr : previous.back();
        Placement placement{t, 0, 0, 0};
        auto freeAt = [&](ResourceKind kind, std::int64_t id) {
            return nextFree(key(kind, id), t, duration, ignoreId) == t;
        };
        if (last && last->id != ignoreId && m_clinic.device(last->deviceId) &&
            m_clinic.device(last->deviceId)->inService &&
            m_clinic.device(last->deviceId)->kind == rules.kind &&
            freeAt(ResourceKind::Device, last->deviceId)) {
            placement.deviceId = last->deviceId;
        }
        for (const Device* d : devices) {
            if (placement.deviceId == 0 && freeAt(ResourceKind::Device, d->id)) {
                placement.deviceId = d->id;
            }
        }
        if (last && last->id != ignoreId && m_clinic.room(last->roomId) &&
            freeAt(ResourceKind::Room, last->roomId)) {
            placement.roomId = last->roomId;
        }
        for (const Room& r : m_clinic.rooms) {
            if (placement.roomId == 0 && freeAt(ResourceKind::Room, r.id)) {
                placement.roomId = r.id;
            }
        }
        for (const StaffWindow& s : staff) {
            const bool fits =
                t >= s.start && t + duration <= s.end && freeAt(ResourceKind::Staff, s.member->id);
            if (fits && (placement.staffId == 0 || (last && s.member->id == last->staffId))) {
                placement.staffId = s.member->id;
            }
        }
        return placement;
    }
    return std::nullopt;
}

Appointment Planner::book(std::int64_t courseId, std::int64_t patientId, const CourseRules& rules,
                          const Placement& placement, std::string phase) {
    Appointment a;
    a.id = m_nextId++;
    a.courseId = courseId;
    a.patientId = patientId;
    const LocalTime local = m_clinic.zone.toLocal(placement.start);
    a.day = local.day;
    a.startMin = local.minuteOfDay;
    a.durationMin = rules.appointmentMinutes;
    a.startUtc = placement.start;
    a.endUtc = placement.start + rules.appointmentMinutes;
    a.deviceId = placement.deviceId;
    a.roomId = placement.roomId;
    a.staffId = placement.staffId;
    a.phase = std::move(phase);
    add(a);
    return a;
}

Result<std::vector<Appointment>> Planner::planCourse(std::int64_t courseId, std::int64_t patientId,
                                                     const CourseRules& rules, Day start,
                                                     std::optional<UtcMinutes> notBefore) {
    const UtcMinutes earliestEver = notBefore.value_or(kNoEarliest);
    std::vector<Appointment> planned;
    auto undo = [&] {
        for (const Appointment& a : planned) {
            release(a.id);
        }
    };
    auto fail = [&](std::string message) -> Error {
        undo();
        return makeError(ErrorCode::Conflict, "start", std::move(message));
    };
    if (rules.appointmentMinutes <= 0 || rules.sessions <= 0) {
        return invalid("protocol_version", "the course has no sessions to plan");
    }
    bool anyDevice = false;
    for (const Device& d : m_clinic.devices) {
        anyDevice = anyDevice || (d.kind == rules.kind && d.inService);
    }
    if (!anyDevice) {
        return makeError(ErrorCode::Conflict, "start",
                         "the clinic has no " + rules.kind + " device in service");
    }
    const Day last = start + std::chrono::days{rules.horizonDays};
    const std::string horizon = " within " + std::to_string(rules.horizonDays) +
                                " days of the start (scheduling-v1 horizon_days): "
                                "too few open days, staff hours or free devices";

    if (rules.kind == "vns") {
        Day earliestDay = start;
        for (int visit = 0; visit < rules.sessions; ++visit) {
            Day day = std::max(start + std::chrono::days{7 * rules.visitIntervalWeeks * visit},
                               earliestDay);
            std::optional<Placement> placement;
            for (; day <= last && !placement; day += std::chrono::days{1}) {
                if (dayAllowed(rules, courseId, day, std::numeric_limits<int>::max(), 0)) {
                    placement = findOnDay(day, earliestEver, rules, courseId, patientId, 0);
                }
            }
            if (!placement) {
                return fail("cannot place titration visit " + std::to_string(visit + 1) + horizon);
            }
            planned.push_back(book(courseId, patientId, rules, *placement, "titration"));
            earliestDay = planned.back().day + std::chrono::days{1};
        }
        return planned;
    }

    if (rules.accelerated()) {
        // Check once that a full day can fit inside the longest opening day at all.
        const int needed = rules.sessionsPerDay * rules.appointmentMinutes +
                           (rules.sessionsPerDay - 1) * rules.minGapMinutes;
        int longest = 0;
        for (const auto& hours : m_clinic.opening) {
            longest = std::max(longest, hours ? hours->endMin - hours->startMin : 0);
        }
        if (needed > longest) {
            return invalid("protocol_version",
                           "an accelerated day of " + std::to_string(rules.sessionsPerDay) +
                               " sessions of " + std::to_string(rules.appointmentMinutes) +
                               " min, " + std::to_string(rules.minGapMinutes) +
                               " min apart, needs " + hoursText(needed) +
                               "; the clinic's longest opening day is " + hoursText(longest));
        }
    }

    struct Phase {
        int sessions;
        std::optional<int> perWeek;
        std::string name;
    };
    std::vector<Phase> phases{{rules.sessions, rules.sessionsPerWeek, "course"}};
    for (std::size_t i = 0; i < rules.taper.size(); ++i) {
        phases.push_back({rules.taper[i].weeks * rules.taper[i].sessionsPerWeek,
                          rules.taper[i].sessionsPerWeek, "taper " + std::to_string(i + 1)});
    }
    Day day = start;
    std::optional<Day> lastDay;
    for (const Phase& phase : phases) {
        if (lastDay && phase.name != "course") {
            day = std::max(day, weekStart(*lastDay) + std::chrono::days{7});
        }
        const int weekLimit = phase.perWeek.value_or(std::numeric_limits<int>::max());
        const int spacing = rules.accelerated() ? 1 : spacingDays(phase.perWeek);
        int remaining = phase.sessions;
        while (remaining > 0) {
            if (day > last) {
                return fail("cannot place session " +
                            std::to_string(static_cast<int>(planned.size()) + 1) + " of " +
                            std::to_string(rules.totalSessions()) + horizon);
            }
            const bool spaced = !lastDay || daysBetween(*lastDay, day) >= spacing;
            if (spaced && dayAllowed(rules, courseId, day, weekLimit, 0)) {
                // One session a day, or all of an accelerated day's sessions, or none that day.
                const int wanted = std::min(
                    {remaining, rules.sessionsPerDay, weekLimit - countInWeek(courseId, day, 0)});
                std::vector<Appointment> today;
                UtcMinutes earliest = earliestEver;
                for (int k = 0; k < wanted; ++k) {
                    const auto placement = findOnDay(day, earliest, rules, courseId, patientId, 0);
                    if (!placement) {
                        break;
                    }
                    today.push_back(book(courseId, patientId, rules, *placement, phase.name));
                    earliest = today.back().endUtc + rules.minGapMinutes;
                }
                if (static_cast<int>(today.size()) == wanted && wanted > 0) {
                    planned.insert(planned.end(), today.begin(), today.end());
                    remaining -= wanted;
                    lastDay = day;
                } else {
                    for (const Appointment& a : today) {
                        release(a.id);
                    }
                }
            }
            day += std::chrono::days{1};
        }
    }
    return planned;
}

Result<Appointment> Planner::replace(const Appointment& lost, const CourseRules& rules,
                                     MissedRule rule, UtcMinutes notBefore) {
    UtcMinutes from = std::max(notBefore, lost.endUtc);
    if (rule == MissedRule::AppendAtEnd) {
        const auto course = courseAppointments(lost.courseId);
        if (!course.empty()) {
            from = std::max(
                from, course.back()->endUtc + (rules.accelerated() ? rules.minGapMinutes : 0));
        }
    }
    Day first = m_clinic.zone.toLocal(from).day;
    if (!rules.accelerated() && first <= lost.day) {
        // A patient who missed (or could not have) today's only session is not expected back
        // the same day: the search starts the next day. An accelerated day may take it later.
        first = lost.day + std::chrono::days{1};
        from = std::max(from, m_clinic.zone.toUtc(first, 0));
    }
    const Day last = first + std::chrono::days{rules.horizonDays};
    const int weekLimit = rules.sessionsPerWeek.value_or(std::numeric_limits<int>::max());
    for (Day day = first; day <= last; day += std::chrono::days{1}) {
        if (!dayAllowed(rules, lost.courseId, day, weekLimit, lost.id)) {
            continue;
        }
        const auto placement = findOnDay(day, day == first ? from : kNoEarliest, rules,
                                         lost.courseId, lost.patientId, lost.id);
        if (placement) {
            Appointment a = book(lost.courseId, lost.patientId, rules, *placement, lost.phase);
            a.replacesId = lost.id;
            m_appointments[a.id].replacesId = lost.id;
            return a;
        }
    }
    return makeError(
        ErrorCode::Conflict, "appointment",
        "no slot for a replacement session within " + std::to_string(rules.horizonDays) + " days");
}

std::vector<Conflict> Planner::checkMove(const Appointment& current, const MoveRequest& request,
                                         const CourseRules& rules, UtcMinutes now) const {
    std::vector<Conflict> conflicts;
    if (current.status != AppointmentStatus::Scheduled) {
        conflicts.push_back({"appointment", std::string("is ") + toString(current.status) +
                                                "; only scheduled appointments move"});
        return conflicts;
    }
    const std::string dayText = formatDay(request.day);
    const std::int64_t deviceId = request.deviceId.value_or(current.deviceId);
    const std::int64_t roomId = request.roomId.value_or(current.roomId);
    const std::int64_t staffId = request.staffId.value_or(current.staffId);
    const int duration = current.durationMin;
    const int endMin = request.startMin + duration;
    const auto closure = m_clinic.closures.find(request.day);
    const auto open = m_clinic.openOn(request.day);
    if (closure != m_clinic.closures.end()) {
        conflicts.push_back(
            {"date", "the clinic is closed on " + dayText + " (" + closure->second + ")"});
    } else if (!open) {
        conflicts.push_back({"date", std::string("the clinic is closed on ") +
                                         weekdayName(weekdayIndex(request.day)) + "s"});
    } else if (request.startMin < open->startMin || endMin > open->endMin) {
        conflicts.push_back({"time", formatClock(request.startMin) + "-" + formatClock(endMin) +
                                         " is outside the opening hours " +
                                         formatClock(open->startMin) + "-" +
                                         formatClock(open->endMin) + " of " + dayText});
    }
    if (!m_clinic.zone.unambiguous(request.day, request.startMin)) {
        conflicts.push_back({"time", formatClock(request.startMin) + " on " + dayText +
                                         " is skipped or repeated by a daylight-saving change"});
    }
    const UtcMinutes start = m_clinic.zone.toUtc(request.day, request.startMin);
    const UtcMinutes end = start + duration;
    if (start < now) {
        conflicts.push_back(
            {"date", dayText + " " + formatClock(request.startMin) + " is in the past"});
    }
    auto describe = [&](std::int64_t id) {
        const Appointment* other = find(id);
        return other ? " is booked " + formatClock(other->startMin) + "-" +
                           formatClock(other->startMin + other->durationMin) + " (appointment " +
                           std::to_string(id) + ")"
                     : std::string(" is booked then");
    };
    const Device* device = m_clinic.device(deviceId);
    if (device == nullptr) {
        conflicts.push_back({"device", "no device " + std::to_string(deviceId)});
    } else if (device->kind != rules.kind) {
        conflicts.push_back({"device", device->name + " is a " + device->kind +
                                           " device; this is a " + rules.kind + " course"});
    } else if (!device->inService) {
        conflicts.push_back({"device", device->name + " is out of service"});
    } else if (auto b = blocker(key(ResourceKind::Device, deviceId), start, end, current.id)) {
        conflicts.push_back({"device", device->name + describe(*b)});
    }
    const Room* room = m_clinic.room(roomId);
    if (room == nullptr) {
        conflicts.push_back({"room", "no room " + std::to_string(roomId)});
    } else if (auto b = blocker(key(ResourceKind::Room, roomId), start, end, current.id)) {
        conflicts.push_back({"room", room->name + describe(*b)});
    }
    const StaffMember* member = m_clinic.staffMember(staffId);
    if (member == nullptr) {
        conflicts.push_back({"technician", "no staff member " + std::to_string(staffId)});
    } else {
        const auto& hours = member->hours[static_cast<std::size_t>(weekdayIndex(request.day))];
        if (std::find(rules.roles.begin(), rules.roles.end(), member->role) == rules.roles.end()) {
            conflicts.push_back({"technician", member->code + " is a " + member->role +
                                                   " and may not run " + rules.kind + " sessions"});
        } else if (!hours || request.startMin < hours->startMin || endMin > hours->endMin) {
            conflicts.push_back({"technician", member->code + " does not work " +
                                                   formatClock(request.startMin) + "-" +
                                                   formatClock(endMin) + " on " + dayText});
        } else if (auto b = blocker(key(ResourceKind::Staff, staffId), start, end, current.id)) {
            conflicts.push_back({"technician", member->code + describe(*b)});
        }
    }
    if (auto b = blocker(key(ResourceKind::Patient, current.patientId), start, end, current.id)) {
        conflicts.push_back({"time", "the patient" + describe(*b)});
    }
    if (countOnDay(current.courseId, request.day, current.id) >= rules.sessionsPerDay) {
        conflicts.push_back({"date", "the course has its " + std::to_string(rules.sessionsPerDay) +
                                         " session(s) on " + dayText + " already"});
    }
    if (rules.sessionsPerWeek &&
        countInWeek(current.courseId, request.day, current.id) >= *rules.sessionsPerWeek) {
        conflicts.push_back({"date", "the course has " + std::to_string(*rules.sessionsPerWeek) +
                                         " sessions in the week of " +
                                         formatDay(weekStart(request.day)) +
                                         " already (the weekly limit)"});
    }
    if (rules.minGapMinutes > 0) {
        for (const Appointment* other : courseAppointments(current.courseId)) {
            if (other->id != current.id && other->day == request.day &&
                start < other->endUtc + rules.minGapMinutes &&
                end + rules.minGapMinutes > other->startUtc) {
                conflicts.push_back({"time", "less than the protocol's " +
                                                 std::to_string(rules.minGapMinutes) +
                                                 " min from the course's session at " +
                                                 formatClock(other->startMin) + " (appointment " +
                                                 std::to_string(other->id) + ")"});
            }
        }
    }
    return conflicts;
}

Appointment Planner::applyMove(const Appointment& current, const MoveRequest& request) {
    Appointment moved = current;
    release(current.id);
    moved.day = request.day;
    moved.startMin = request.startMin;
    moved.startUtc = m_clinic.zone.toUtc(request.day, request.startMin);
    moved.endUtc = moved.startUtc + moved.durationMin;
    moved.deviceId = request.deviceId.value_or(current.deviceId);
    moved.roomId = request.roomId.value_or(current.roomId);
    moved.staffId = request.staffId.value_or(current.staffId);
    add(moved);
    return moved;
}

Reassignment Planner::takeOutOfService(std::int64_t deviceId, UtcMinutes from) {
    Reassignment result;
    std::string kind;
    for (Device& d : m_clinic.devices) {
        if (d.id == deviceId) {
            d.inService = false;
            kind = d.kind;
        }
    }
    std::vector<Appointment> affected;
    for (const auto& [id, a] : m_appointments) {
        if (a.deviceId == deviceId && a.status == AppointmentStatus::Scheduled &&
            a.startUtc >= from) {
            affected.push_back(a);
        }
    }
    std::sort(affected.begin(), affected.end(),
              [](const Appointment& a, const Appointment& b) { return a.startUtc < b.startUtc; });
    for (const Appointment& a : affected) {
        std::int64_t replacement = 0;
        for (const Device& d : m_clinic.devices) {
            if (replacement == 0 && d.kind == kind && d.inService && d.id != deviceId &&
                !blocker(key(ResourceKind::Device, d.id), a.startUtc, a.endUtc, a.id)) {
                replacement = d.id;
            }
        }
        if (replacement == 0) {
            result.unplaced.push_back(a.id);
            continue;
        }
        Appointment moved = a;
        release(a.id);
        moved.deviceId = replacement;
        add(moved);
        result.moved.emplace_back(a.id, replacement);
    }
    return result;
}

std::int64_t Planner::countConflicts() const {
    // Independent of the interval maps: sort every active appointment per resource and compare
    // neighbours.
    std::unordered_map<std::uint64_t, std::vector<std::pair<UtcMinutes, UtcMinutes>>> byResource;
    for (const auto& [id, a] : m_appointments) {
        if (!a.active()) {
            continue;
        }
        for (std::uint64_t k :
             {key(ResourceKind::Device, a.deviceId), key(ResourceKind::Room, a.roomId),
              key(ResourceKind::Staff, a.staffId), key(ResourceKind::Patient, a.patientId)}) {
            byResource[k].emplace_back(a.startUtc, a.endUtc);
        }
    }
    std::int64_t conflicts = 0;
    for (auto& [k, intervals] : byResource) {
        std::sort(intervals.begin(), intervals.end());
        UtcMinutes reach = std::numeric_limits<UtcMinutes>::min();
        for (const auto& [start, end] : intervals) {
            conflicts += start < reach ? 1 : 0;
            reach = std::max(reach, end);
        }
    }
    return conflicts;
}

}  // namespace neuroplan::scheduling
