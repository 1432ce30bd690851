// neuroplan::scheduling — the scheduling service over the record store: the clinic's devices,
// rooms, staff, opening hours, closures and settings; course plans from approved protocols;
// listing, moves, cancellations with re-placement, check-in, device outages, warnings for
// courses falling behind, and the iCalendar export.
//
// Every change runs in one Store::write transaction: the planner is loaded from the database
// inside it (so two planners can never double-book), the decision is saved with a row in
// schedule_changes carrying the reason, and an audit entry. Roles: clinic set-up (resources,
// hours, closures, settings) is for admins; planning, moving, cancelling, check-in and taking a
// device out of service are for every clinical role, technicians included.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "records/users.h"
#include "scheduling/ical.h"
#include "scheduling/planner.h"
#include "store/store.h"

namespace neuroplan::scheduling {

struct DeviceInput {
    std::string name;
    std::string kind;  ///< rtms | vns
    std::string model;
    std::string serial;
    std::vector<std::string> coils;
};

struct StaffInput {
    std::string code;
    std::string displayName;
    std::string role;                ///< technician | nurse | physician
    std::vector<std::string> hours;  ///< "mon-fri 08:00-16:00", "sat 09:00-12:00"
};

/// Parses week specifications: "mon-fri 08:00-18:00", "sat 09:00-13:00", "sun closed",
/// "mon,wed,fri 08:00-12:00". Days not named are closed. Errors name `field`.
Result<WeekHours> parseWeekHours(const std::vector<std::string>& specs, std::string_view field);
std::string formatWeekHours(const WeekHours& hours);

struct ClinicSettings {
    std::string timeZone;  ///< empty until an admin sets it
    MissedRule missedRule = MissedRule::NextFreeSlot;
};

struct Resources {
    ClinicSettings settings;
    WeekHours opening;
    std::vector<Device> devices;
    std::vector<Room> rooms;
    std::vector<StaffMember> staff;
    std::vector<Closure> closures;
};

/// An appointment as people read it.
struct AppointmentView {
    Appointment appointment;
    int number = 0;  ///< its place among the course's active sessions (0 when not active)
    int total = 0;   ///< sessions the course's plan holds
    std::string timeZone;
    std::string mrn;
    std::string patientName;  ///< "Family, Given"
    std::string courseLabel;
    std::string courseKind;
    std::string device;
    bool deviceInService = true;
    std::string room;
    std::string staffCode;
    std::string staffName;
};

struct PlanResult {
    std::int64_t courseId = 0;
    CourseRules rules;
    std::string plannedEnd;  ///< YYYY-MM-DD
    std::vector<AppointmentView> appointments;
};

struct ListFilter {
    std::string from;        ///< YYYY-MM-DD, inclusive
    std::string to;          ///< YYYY-MM-DD, inclusive
    std::string device;      ///< device name, or empty
    std::string technician;  ///< staff code, or empty
    std::string room;        ///< room name, or empty
    std::optional<std::int64_t> courseId;
    bool includeInactive = false;  ///< missed and cancelled too
};

struct MoveInput {
    std::int64_t appointmentId = 0;
    std::string date;        ///< YYYY-MM-DD
    std::string time;        ///< HH:MM, clinic-local
    std::string device;      ///< name; empty keeps the current one
    std::string room;        ///< name; empty keeps it
    std::string technician;  ///< code; empty keeps it
    std::string reason;
};

struct CancelOutcome {
    AppointmentView lost;
    std::optional<AppointmentView> replacement;
    std::string replacementProblem;  ///< why there is none, when there is none
};

struct ServiceOutcome {
    Device device;
    std::vector<AppointmentView> reassigned;
    std::vector<AppointmentView> unplaced;  ///< still on the out-of-service device
};

struct CourseWarning {
    std::int64_t courseId = 0;
    std::string mrn;
    std::string courseLabel;
    int overdue = 0;   ///< scheduled sessions whose time passed without check-in
    int missed = 0;    ///< sessions recorded as missed
    int unplaced = 0;  ///< sessions on a device that is out of service
    std::string plannedEnd;
    std::string projectedEnd;
    int daysLate = 0;
    std::string message;
};

/// The shortest written reason accepted for a change.
inline constexpr std::size_t kMinReasonLength = 3;

class ScheduleService {
  public:
    explicit ScheduleService(store::Store& store,
                             const SchedulingRules& rules = SchedulingRules::builtIn())
        : m_store(store), m_rules(rules) {}

    // Clinic set-up (admins).
    Result<ClinicSettings> settings(const records::Actor& by);
    Result<ClinicSettings> setSettings(const records::Actor& by,
                                       const std::optional<std::string>& timeZone,
                                       const std::optional<std::string>& missedRule);
    Result<Device> addDevice(const records::Actor& by, const DeviceInput& input);
    Result<Room> addRoom(const records::Actor& by, const std::string& name);
    Result<StaffMember> addStaff(const records::Actor& by, const StaffInput& input);
    Result<WeekHours> setOpeningHours(const records::Actor& by,
                                      const std::vector<std::string>& specs);
    /// Adds every closure of an iCalendar file (days already closed are kept, not doubled).
    /// `origin` names the file in errors. Returns the closures added.
    Result<std::vector<Closure>> importClosures(const records::Actor& by, std::string_view text,
                                                std::string_view origin);
    Result<Closure> addClosure(const records::Actor& by, const std::string& date,
                               const std::string& label);
    Result<Resources> resources(const records::Actor& by);

    /// Takes a device out of service (re-assigning its future sessions where another device of
    /// its kind is free at the same time) or puts it back. Every clinical role may.
    Result<ServiceOutcome> setDeviceInService(const records::Actor& by, const std::string& device,
                                              bool inService, const std::string& reason);

    /// Plans the course of an approved protocol version from `start`.
    Result<PlanResult> plan(const records::Actor& by, std::string_view mrn,
                            std::int64_t protocolVersionId, const std::string& start,
                            const std::optional<std::string>& rhythm);
    Result<std::vector<AppointmentView>> list(const records::Actor& by, const ListFilter& filter);
    Result<AppointmentView> appointment(const records::Actor& by, std::int64_t id);
    /// What would be wrong with the move (empty = allowed); nothing is written.
    Result<std::vector<Conflict>> checkMove(const records::Actor& by, const MoveInput& input);
    Result<AppointmentView> move(const records::Actor& by, const MoveInput& input);
    /// Records a missed (`missed`) or cancelled session and, unless `replace` is false,
    /// re-places it by the clinic's missed-session rule.
    Result<CancelOutcome> cancel(const records::Actor& by, std::int64_t appointmentId,
                                 const std::string& reason, bool missed, bool replace);
    Result<AppointmentView> checkIn(const records::Actor& by, std::int64_t appointmentId);
    /// Courses with overdue, missed or unplaced sessions, or ending later than planned.
    Result<std::vector<CourseWarning>> behind(const records::Actor& by);
    /// The clinic's appointments between two dates (empty = all) as an iCalendar document.
    Result<std::string> exportCalendar(const records::Actor& by, const std::string& from,
                                       const std::string& to);

    /// The clinic's today (its local date now).
    Result<std::string> today();

  private:
    store::Store& m_store;
    const SchedulingRules& m_rules;
};

nlohmann::json toJson(const AppointmentView& view);
nlohmann::json toJson(const Device& device);
nlohmann::json toJson(const StaffMember& staff);
nlohmann::json toJson(const CourseWarning& warning);
nlohmann::json toJson(const Resources& resources);
nlohmann::json toJson(const CourseRules& rules);

}  // namespace neuroplan::scheduling
