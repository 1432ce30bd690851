// neuroplan::scheduling — the planning engine: clinic resources and opening hours, course rules
// derived from an approved protocol, and an in-memory occupancy in which course plans, missed
// sessions, moves and device outages are placed without double-booking. Pure and Qt-free: the
// service (service.h) loads it from the store inside a write transaction and saves what it
// decides; the benchmark and the unit tests drive it directly.
//
// Times: an appointment is a local date + minute of the day in the clinic's zone; conflicts are
// decided on UTC minutes computed from them (zone.h), so they stay right across DST changes.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "protocols/document.h"
#include "scheduling/rules.h"
#include "scheduling/zone.h"

namespace neuroplan::scheduling {

/// Local minutes of the day, [startMin, endMin).
struct MinuteRange {
    int startMin = 0;
    int endMin = 0;
};
/// One range per weekday, Monday first; empty = closed / not working.
using WeekHours = std::array<std::optional<MinuteRange>, 7>;

struct Device {
    std::int64_t id = 0;
    std::string kind;  ///< rtms | vns
    std::string name;  ///< what the clinic calls it ("Room 1 MagPro")
    std::string model;
    std::string serial;
    std::vector<std::string> coils;
    bool inService = true;
};

struct Room {
    std::int64_t id = 0;
    std::string name;
};

struct StaffMember {
    std::int64_t id = 0;
    std::string code;  ///< short handle used on the command line ("tom")
    std::string displayName;
    std::string role;  ///< technician | nurse | physician
    WeekHours hours;
};

/// Where a missed or cancelled session goes: after the course's last session, or into the
/// first slot the course's rules allow.
enum class MissedRule { AppendAtEnd, NextFreeSlot };
const char* toString(MissedRule rule);
Result<MissedRule> parseMissedRule(std::string_view text, std::string_view field);

struct Clinic {
    explicit Clinic(Zone clinicZone) : zone(std::move(clinicZone)) {}

    Zone zone;
    WeekHours opening;
    std::map<Day, std::string> closures;  ///< whole days, with their label
    std::vector<Device> devices;
    std::vector<Room> rooms;
    std::vector<StaffMember> staff;
    MissedRule missedRule = MissedRule::NextFreeSlot;

    /// Open hours on that day, or nothing when closed (no hours that weekday, or a closure).
    std::optional<MinuteRange> openOn(Day day) const;
    const Device* device(std::int64_t id) const;
    const Room* room(std::int64_t id) const;
    const StaffMember* staffMember(std::int64_t id) const;
};

/// What a course asks of the schedule: fixed when the course is planned, from the approved
/// protocol (sessions per day, gap, total, stimulation time) and the rhythm (rules.h).
struct CourseRules {
    std::string kind;  ///< rtms | vns
    std::string rhythmId;
    int sessionsPerDay = 1;
    int minGapMinutes = 0;  ///< between the end of one session and the start of the next, same day
    int appointmentMinutes = 0;
    int sessions = 0;  ///< the protocol's course (rTMS) or the titration visits (VNS)
    std::optional<int> sessionsPerWeek;  ///< the limit per ISO week (Mon-Sun); none for VNS
    std::vector<TaperPhase> taper;       ///< after the course's sessions, in addition to them
    int visitIntervalWeeks = 0;          ///< VNS: weeks between titration visits
    std::vector<std::string> roles;      ///< staff roles that may run a session
    int horizonDays = 0;
    int gridMinutes = 1;

    int totalSessions() const;
    bool accelerated() const { return sessionsPerDay > 1; }
};

/// Derives a course's rules from its approved protocol. `rhythmId` picks another rhythm of the
/// same kind (e.g. one with a taper); errors name "rhythm" or "protocol_version".
Result<CourseRules> courseRules(const protocols::Protocol& protocol,
                                std::optional<std::string> rhythmId,
                                const SchedulingRules& rules = SchedulingRules::builtIn(),
                                const protocols::Library& library = protocols::Library::builtIn());

enum class AppointmentStatus { Scheduled, CheckedIn, Missed, Cancelled };
const char* toString(AppointmentStatus status);
Result<AppointmentStatus> parseStatus(std::string_view text);

struct Appointment {
    std::int64_t id = 0;
    std::int64_t courseId = 0;
    std::int64_t patientId = 0;
    Day day;  ///< clinic-local date
    int startMin = 0;
    int durationMin = 0;
    UtcMinutes startUtc = 0;
    UtcMinutes endUtc = 0;
    std::int64_t deviceId = 0;
    std::int64_t roomId = 0;
    std::int64_t staffId = 0;
    AppointmentStatus status = AppointmentStatus::Scheduled;
    std::string phase;  ///< course | taper 1 | titration ...
    std::int64_t replacesId = 0;

    bool active() const {
        return status == AppointmentStatus::Scheduled || status == AppointmentStatus::CheckedIn;
    }
};

/// Why a proposed time or resource is refused; field names the input at fault.
struct Conflict {
    std::string field;  ///< date | time | device | room | technician | appointment
    std::string message;
};

struct MoveRequest {
    Day day;
    int startMin = 0;
    std::optional<std::int64_t> deviceId;  ///< keep the current one when empty
    std::optional<std::int64_t> roomId;
    std::optional<std::int64_t> staffId;
};

struct Reassignment {
    std::vector<std::pair<std::int64_t, std::int64_t>> moved;  ///< appointment -> new device
    std::vector<std::int64_t> unplaced;  ///< no other device of the kind is free then
};

class Planner {
  public:
    explicit Planner(Clinic clinic, const SchedulingRules& rules = SchedulingRules::builtIn());

    const Clinic& clinic() const { return m_clinic; }
    /// Ids given to new appointments start here (the store's next row id).
    void setNextId(std::int64_t id) { m_nextId = id; }

    /// Books an existing appointment into the occupancy (inactive ones are only remembered).
    void add(const Appointment& appointment);
    /// Takes an appointment out of the occupancy (cancelled, missed, or about to move).
    void release(std::int64_t id);
    const Appointment* find(std::int64_t id) const;
    /// The course's active appointments, earliest first.
    std::vector<const Appointment*> courseAppointments(std::int64_t courseId) const;

    /// Plans a whole course from `start` (its first session on or after that day) and books it.
    /// Refused, with nothing booked, when it cannot be completed within the horizon.
    /// No session starts before `notBefore` (now, when a course starts today).
    Result<std::vector<Appointment>> planCourse(std::int64_t courseId, std::int64_t patientId,
                                                const CourseRules& rules, Day start,
                                                std::optional<UtcMinutes> notBefore = {});

    /// A new appointment for a missed or cancelled one (already released), placed by `rule` no
    /// earlier than `notBefore`, within the course's weekly and daily limits; booked.
    Result<Appointment> replace(const Appointment& lost, const CourseRules& rules, MissedRule rule,
                                UtcMinutes notBefore);

    /// Everything wrong with moving `current` as requested (empty = allowed).
    std::vector<Conflict> checkMove(const Appointment& current, const MoveRequest& request,
                                    const CourseRules& rules, UtcMinutes now) const;
    /// Moves after checkMove found nothing; returns the moved appointment (booked).
    Appointment applyMove(const Appointment& current, const MoveRequest& request);

    /// Marks the device out of service and gives each of its scheduled appointments from `from`
    /// on another in-service device of its kind free at the same time, or lists it.
    Reassignment takeOutOfService(std::int64_t deviceId, UtcMinutes from);

    /// Independent check used by tests and the benchmark: pairs of active appointments that
    /// share a device, room, staff member or patient at overlapping times.
    std::int64_t countConflicts() const;

  private:
    struct Placement {
        UtcMinutes start = 0;
        std::int64_t deviceId = 0;
        std::int64_t roomId = 0;
        std::int64_t staffId = 0;
    };
    struct Busy {
        UtcMinutes end = 0;
        std::int64_t appointmentId = 0;
    };
    using Intervals = std::map<UtcMinutes, Busy>;  ///< by start; never overlapping

    std::optional<Placement> findOnDay(Day day, UtcMinutes earliest, const CourseRules& rules,
                                       std::int64_t courseId, std::int64_t patientId,
                                       std::int64_t ignoreId) const;
    UtcMinutes nextFree(std::uint64_t key, UtcMinutes from, int minutes,
                        std::int64_t ignoreId) const;
    /// The appointment occupying `key` somewhere in [start, end), if any.
    std::optional<std::int64_t> blocker(std::uint64_t key, UtcMinutes start, UtcMinutes end,
                                        std::int64_t ignoreId) const;
    int countOnDay(std::int64_t courseId, Day day, std::int64_t ignoreId) const;
    int countInWeek(std::int64_t courseId, Day day, std::int64_t ignoreId) const;
    bool dayAllowed(const CourseRules& rules, std::int64_t courseId, Day day, int weekLimit,
                    std::int64_t ignoreId) const;
    Appointment book(std::int64_t courseId, std::int64_t patientId, const CourseRules& rules,
                     const Placement& placement, std::string phase);
    void occupy(const Appointment& appointment);

    Clinic m_clinic;
    const SchedulingRules& m_rules;
    std::int64_t m_nextId = 1;
    std::unordered_map<std::int64_t, Appointment> m_appointments;
    std::unordered_map<std::int64_t, std::vector<std::int64_t>> m_byCourse;
    std::unordered_map<std::uint64_t, Intervals> m_busy;
};

/// "Monday" ... "Sunday".
const char* weekdayName(int index);

}  // namespace neuroplan::scheduling
