// The scheduling service on a real SQLite file: clinic set-up by admins, plans of approved
// protocols by technicians, cancellations with re-placement, moves, outages, warnings, the
// holiday import (bad input: one error naming the file and event, nothing written) and the
// iCalendar export read back with libical.
#include <gtest/gtest.h>

#include <libical/ical.h>

#include <set>

#include "courses/courses.h"
#include "protocols/library.h"
#include "records/patients.h"
#include "scheduling/service.h"
#include "support.h"

namespace neuroplan::scheduling {
namespace {

using nlohmann::json;
using testing::TestClinic;

constexpr const char* kHolidays =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Holidays//EN\r\n"
    "BEGIN:VEVENT\r\nUID:good-friday-2026@test\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;VALUE=DATE:20260403\r\nDTEND;VALUE=DATE:20260404\r\nSUMMARY:Karfreitag\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:easter-monday-2026@test\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;VALUE=DATE:20260406\r\nSUMMARY:Ostermontag\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:christmas@test\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261227\r\nSUMMARY:Weihnachten\r\n"
    "RRULE:FREQ=YEARLY;COUNT=2\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n";

std::int64_t count(store::Store& store, const char* sql) {
    return store.db().queryInt(sql).value();
}

class ScheduleServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        store::OpenOptions options;
        options.clock = testing::fixedClock();  // 2026-01-15T10:00Z
        store =
            std::make_unique<store::Store>(store::Store::open(clinic.dbPath(), options).value());
        ASSERT_TRUE(records::PatientService(*store)
                        .add(clinic.technician, {"P-1", "Patient", "Pat", "1980-01-01", "female"})
                        .ok());
        ASSERT_TRUE(records::PatientService(*store)
                        .add(clinic.technician, {"P-2", "Other", "Olga", "1975-05-05", "female"})
                        .ok());
        versionP1 = approvedCourse("P-1", "itbs-left-dlpfc");
        ScheduleService service(*store);
        ASSERT_TRUE(service
                        .setSettings(clinic.admin, std::string("Europe/Berlin"),
                                     std::string("next_free_slot"))
                        .ok());
        ASSERT_TRUE(service.setOpeningHours(clinic.admin, {"mon-fri 08:00-18:00"}).ok());
        for (const char* name : {"TMS A", "TMS B"}) {
            ASSERT_TRUE(
                service
                    .addDevice(
                        clinic.admin,
                        {name, "rtms", "MagPro R30", std::string("SN-") + name, {"Cool-B65"}})
                    .ok());
        }
        ASSERT_TRUE(service.addRoom(clinic.admin, "Room 1; East, wing").ok());
        ASSERT_TRUE(service.addRoom(clinic.admin, "Room 2").ok());
        ASSERT_TRUE(service
                        .addStaff(clinic.admin,
                                  {"tom", "Tom Technician", "technician", {"mon-fri 08:00-18:00"}})
                        .ok());
        ASSERT_TRUE(service
                        .addStaff(clinic.admin,
                                  {"tina", "Tina Tech", "technician", {"mon-fri 08:00-18:00"}})
                        .ok());
        ASSERT_TRUE(service.importClosures(clinic.admin, kHolidays, "holidays.ics").ok());
    }

    std::int64_t approvedCourse(const char* mrn, const char* templateId) {
        courses::CourseService courses(*store);
        EXPECT_TRUE(courses
                        .recordMotorThreshold(
                            clinic.technician, mrn,
                            {"2026-01-10", 50, "emg_relative_frequency", "MagPro", "Cool-B65"})
                        .ok());
        auto course = courses.createCourse(clinic.technician, mrn, "rTMS", "rtms");
        EXPECT_TRUE(course.ok());
        auto version =
            courses.saveProtocol(clinic.technician, course->id,
                                 protocols::Library::builtIn().findTemplate(templateId)->protocol);
        EXPECT_TRUE(version.ok());
        auto approved = courses.approve(clinic.physician, version->id, true, "");
        EXPECT_TRUE(approved.ok()) << approved.error().describe();
        return version->id;
    }

    TestClinic clinic;
    std::unique_ptr<store::Store> store;
    std::int64_t versionP1 = 0;
};

TEST_F(ScheduleServiceTest, ATechnicianPlansAnApprovedCourseAroundTheHolidays) {
    ScheduleService s(*store);
    auto plan = s.plan(clinic.technician, "P-1", versionP1, "2026-03-30", std::nullopt);
    ASSERT_TRUE(plan.ok()) << plan.error().describe();
    ASSERT_EQ(plan->appointments.size(), 30U);
    for (const AppointmentView& v : plan->appointments) {
        EXPECT_NE(formatDay(v.appointment.day), "2026-04-03");
        EXPECT_NE(formatDay(v.appointment.day), "2026-04-06");
        EXPECT_EQ(v.timeZone, "Europe/Berlin");
        EXPECT_EQ(v.total, 30);
    }
    EXPECT_EQ(plan->appointments.front().number, 1);
    EXPECT_EQ(plan->appointments.back().number, 30);
    EXPECT_EQ(count(*store, "SELECT count(*) FROM schedule_changes WHERE action = 'plan'"), 1);
    EXPECT_TRUE(store->verifyAudit()->intact);
    // Planned once only.
    auto again = s.plan(clinic.technician, "P-1", versionP1, "2026-03-30", std::nullopt);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().field, "protocol_version");
}

TEST_F(ScheduleServiceTest, PlanningNeedsAnApprovedLatestVersionOfThatPatient) {
    ScheduleService s(*store);
    auto other = s.plan(clinic.technician, "P-2", versionP1, "2026-03-30", std::nullopt);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.error().field, "protocol_version");
    courses::CourseService courses(*store);
    auto course = courses.createCourse(clinic.technician, "P-2", "rTMS", "rtms");
    auto unapproved = courses.saveProtocol(
        clinic.technician, course->id,
        protocols::Library::builtIn().findTemplate("lf-1hz-right-dlpfc")->protocol);
    ASSERT_TRUE(unapproved.ok());
    auto refused = s.plan(clinic.technician, "P-2", unapproved->id, "2026-03-30", std::nullopt);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::Conflict);
    EXPECT_NE(refused.error().message.find("not approved"), std::string::npos);
    auto past = s.plan(clinic.technician, "P-1", versionP1, "2026-01-14", std::nullopt);
    ASSERT_FALSE(past.ok());
    EXPECT_EQ(past.error().field, "start");
    EXPECT_EQ(count(*store, "SELECT count(*) FROM schedule_appointments"), 0);
}

TEST_F(ScheduleServiceTest, ClinicSetUpIsForAdmins) {
    ScheduleService s(*store);
    auto device = s.addDevice(clinic.technician, {"X", "rtms", "m", "s", {"c"}});
    ASSERT_FALSE(device.ok());
    EXPECT_EQ(device.error().code, ErrorCode::PermissionDenied);
    EXPECT_EQ(s.setOpeningHours(clinic.physician, {"mon 08:00-12:00"}).error().code,
              ErrorCode::PermissionDenied);
    auto badKind = s.addDevice(clinic.admin, {"X", "tdcs", "m", "s", {"c"}});
    EXPECT_EQ(badKind.error().field, "kind");
    auto noCoil = s.addDevice(clinic.admin, {"X", "rtms", "m", "s", {}});
    EXPECT_EQ(noCoil.error().field, "coil");
    auto dupSerial = s.addDevice(clinic.admin, {"TMS C", "rtms", "m", "SN-TMS A", {"c"}});
    EXPECT_EQ(dupSerial.error().field, "serial");
    auto badHours = s.addStaff(clinic.admin, {"x", "X", "technician", {"mon-fri 18:00-08:00"}});
    EXPECT_EQ(badHours.error().field, "hours");
    auto badZone = s.setSettings(clinic.admin, std::string("Berlin"), std::nullopt);
    EXPECT_EQ(badZone.error().field, "time_zone");
}

TEST(WeekHoursSpec, ParsesRangesListsAndClosedDays) {
    auto week =
        parseWeekHours({"mon-wed 08:00-16:00", "thu,fri 09:30-12:00", "sat closed"}, "hours");
    ASSERT_TRUE(week.ok()) << week.error().describe();
    EXPECT_EQ(formatWeekHours(*week),
              "mon 08:00-16:00, tue 08:00-16:00, wed 08:00-16:00, thu 09:30-12:00, "
              "fri 09:30-12:00");
    for (const std::vector<std::string>& bad :
         std::vector<std::vector<std::string>>{{"monday 08:00-16:00"},
                                               {"fri-mon 08:00-16:00"},
                                               {"mon 8-16"},
                                               {"mon 08:00-16:00", "mon 09:00-10:00"},
                                               {"mon"},
                                               {}}) {
        auto parsed = parseWeekHours(bad, "hours");
        ASSERT_FALSE(parsed.ok());
        EXPECT_EQ(parsed.error().field, "hours");
    }
}

TEST_F(ScheduleServiceTest, HolidayImportRefusesBadFilesAsAWholeAndWritesNothing) {
    ScheduleService s(*store);
    const std::int64_t closures = count(*store, "SELECT count(*) FROM schedule_closures");
    const std::int64_t audit = count(*store, "SELECT count(*) FROM audit_log");
    EXPECT_EQ(closures, 1 + 1 + 3 + 3);  // Good Friday, Easter Monday, 2 x 3 Christmas days
    const std::string head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//T//EN\r\n";
    const std::string good =
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20260501\r\nSUMMARY:May Day\r\nEND:VEVENT\r\n";
    const std::vector<std::pair<std::string, std::string>> cases{
        {"not a calendar at all", "no BEGIN:VCALENDAR"},
        {head + "END:VCALENDAR\r\n", "no VEVENT"},
        {head + good +
             "BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20260502T090000Z\r\nSUMMARY:Meeting\r\n"
             "END:VEVENT\r\nEND:VCALENDAR\r\n",
         "event 2 'Meeting': is not an all-day event"},
        {head + good +
             "BEGIN:VEVENT\r\nUID:c\r\nSUMMARY:Nothing\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
         "event 2 'Nothing': DTSTART is missing"},
        {head + good +
             "BEGIN:VEVENT\r\nUID:d\r\nDTSTART;VALUE=DATE:20260503\r\nEND:VEVENT\r\n"
             "END:VCALENDAR\r\n",
         "event 2: SUMMARY is missing"},
        {head + good +
             "BEGIN:VEVENT\r\nUID:e\r\nDTSTART;VALUE=DATE:20260504\r\n"
             "DTEND;VALUE=DATE:20260504\r\nSUMMARY:Zero\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
         "event 2 'Zero': DTEND must be 1 to 366 days after DTSTART"},
        {head + good +
             "BEGIN:VEVENT\r\nUID:f\r\nDTSTART;VALUE=DATE:20400101\r\nSUMMARY:Far\r\n"
             "END:VEVENT\r\nEND:VCALENDAR\r\n",
         "event 2 'Far': falls in 2040"},
    };
    for (const auto& [text, message] : cases) {
        auto imported = s.importClosures(clinic.admin, text, "bad.ics");
        ASSERT_FALSE(imported.ok()) << message;
        EXPECT_EQ(imported.error().field, "bad.ics");
        EXPECT_NE(imported.error().message.find(message), std::string::npos)
            << imported.error().message;
    }
    EXPECT_EQ(count(*store, "SELECT count(*) FROM schedule_closures"), closures);
    EXPECT_EQ(count(*store, "SELECT count(*) FROM audit_log"), audit);
    // Importing the same file again adds nothing twice.
    auto again = s.importClosures(clinic.admin, kHolidays, "holidays.ics");
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->empty());
}

TEST_F(ScheduleServiceTest, CancellingNeedsAReasonAndRePlacesByTheClinicRule) {
    ScheduleService s(*store);
    auto plan = s.plan(clinic.technician, "P-1", versionP1, "2026-03-02", std::nullopt);
    ASSERT_TRUE(plan.ok()) << plan.error().describe();
    const std::int64_t third = plan->appointments[2].appointment.id;
    auto noReason = s.cancel(clinic.technician, third, "  ", false, true);
    ASSERT_FALSE(noReason.ok());
    EXPECT_EQ(noReason.error().field, "reason");
    auto missedEarly = s.cancel(clinic.technician, third, "patient did not come", true, true);
    ASSERT_FALSE(missedEarly.ok());  // it has not happened yet
    auto cancelled = s.cancel(clinic.technician, third, "patient has the flu", false, true);
    ASSERT_TRUE(cancelled.ok()) << cancelled.error().describe();
    EXPECT_EQ(cancelled->lost.appointment.status, AppointmentStatus::Cancelled);
    ASSERT_TRUE(cancelled->replacement.has_value()) << cancelled->replacementProblem;
    EXPECT_EQ(cancelled->replacement->appointment.replacesId, third);
    EXPECT_GT(cancelled->replacement->appointment.day, plan->appointments.back().appointment.day);
    EXPECT_EQ(count(*store,
                    "SELECT count(*) FROM schedule_appointments WHERE status = "
                    "'scheduled'"),
              30);
    EXPECT_EQ(count(*store,
                    "SELECT count(*) FROM schedule_changes WHERE action = 'cancel' AND "
                    "reason = 'patient has the flu'"),
              1);
    EXPECT_EQ(count(*store, "SELECT count(*) FROM schedule_changes WHERE action = 'replace'"), 1);
    auto twice = s.cancel(clinic.technician, third, "again", false, true);
    EXPECT_EQ(twice.error().code, ErrorCode::Conflict);
    EXPECT_TRUE(store->verifyAudit()->intact);
}

TEST_F(ScheduleServiceTest, MovesAreCheckedAndRecordedWithTheirReason) {
    ScheduleService s(*store);
    ASSERT_TRUE(s.plan(clinic.technician, "P-1", versionP1, "2026-03-02", std::nullopt).ok());
    const std::int64_t second = approvedCourse("P-2", "itbs-left-dlpfc");
    auto plan2 = s.plan(clinic.technician, "P-2", second, "2026-03-02", std::nullopt);
    ASSERT_TRUE(plan2.ok()) << plan2.error().describe();
    const AppointmentView first = *s.appointment(clinic.technician, 1);
    const AppointmentView other = plan2->appointments.front();
    MoveInput clash{first.appointment.id,
                    formatDay(other.appointment.day),
                    formatClock(other.appointment.startMin),
                    other.device,
                    "",
                    "",
                    "swap"};
    auto conflicts = s.checkMove(clinic.technician, clash);
    ASSERT_TRUE(conflicts.ok());
    ASSERT_FALSE(conflicts->empty());
    auto refused = s.move(clinic.technician, clash);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::Conflict);
    EXPECT_EQ(refused.error().field, "device");
    MoveInput later{
        first.appointment.id, formatDay(first.appointment.day), "16:00", "", "", "", ""};
    EXPECT_EQ(s.move(clinic.technician, later).error().field, "reason");
    later.reason = "patient works mornings";
    auto moved = s.move(clinic.technician, later);
    ASSERT_TRUE(moved.ok()) << moved.error().describe();
    EXPECT_EQ(moved->appointment.startMin, 16 * 60);
    EXPECT_EQ(count(*store,
                    "SELECT count(*) FROM schedule_changes WHERE action = 'move' AND "
                    "reason = 'patient works mornings'"),
              1);
    MoveInput unknown = later;
    unknown.device = "TMS Z";
    EXPECT_EQ(s.move(clinic.technician, unknown).error().field, "device");
    unknown = later;
    unknown.time = "25:00";
    EXPECT_EQ(s.move(clinic.technician, unknown).error().field, "time");
}

TEST_F(ScheduleServiceTest, ADeviceOutOfServiceHandsOverItsSessionsOrListsThem) {
    ScheduleService s(*store);
    ASSERT_TRUE(s.plan(clinic.technician, "P-1", versionP1, "2026-03-02", std::nullopt).ok());
    const std::int64_t second = approvedCourse("P-2", "itbs-left-dlpfc");
    ASSERT_TRUE(s.plan(clinic.technician, "P-2", second, "2026-03-02", std::nullopt).ok());
    EXPECT_EQ(s.setDeviceInService(clinic.technician, "TMS A", false, "").error().field, "reason");
    auto outage = s.setDeviceInService(clinic.technician, "TMS A", false, "coil overheating");
    ASSERT_TRUE(outage.ok()) << outage.error().describe();
    EXPECT_FALSE(outage->device.inService);
    // Both courses run at 08:00 on the two devices: TMS B is busy then.
    EXPECT_TRUE(outage->reassigned.empty());
    EXPECT_EQ(outage->unplaced.size(), 30U);
    auto warnings = s.behind(clinic.technician);
    ASSERT_TRUE(warnings.ok());
    ASSERT_EQ(warnings->size(), 1U);
    EXPECT_EQ(warnings->front().unplaced, 30);
    // Back in service.
    ASSERT_TRUE(s.setDeviceInService(clinic.technician, "TMS A", true, "coil replaced").ok());
    EXPECT_TRUE(s.behind(clinic.technician)->empty());
}

TEST_F(ScheduleServiceTest, CoursesFallingBehindAreListed) {
    ScheduleService s(*store);
    ASSERT_TRUE(s.plan(clinic.technician, "P-1", versionP1, "2026-03-02", std::nullopt).ok());
    // Open the same file two weeks into the course: ten sessions passed without check-in.
    store::OpenOptions later;
    later.clock = [] {
        return std::chrono::sys_days{std::chrono::year{2026} / 3 / 14} + std::chrono::hours{12};
    };
    auto laterStore = store::Store::open(clinic.dbPath(), later);
    ASSERT_TRUE(laterStore.ok());
    ScheduleService afterwards(*laterStore);
    ASSERT_TRUE(afterwards.checkIn(clinic.technician, 1).ok());
    auto future = afterwards.checkIn(clinic.technician, 20);
    ASSERT_FALSE(future.ok());
    auto warnings = afterwards.behind(clinic.technician);
    ASSERT_TRUE(warnings.ok());
    ASSERT_EQ(warnings->size(), 1U);
    EXPECT_EQ(warnings->front().overdue, 9);
    EXPECT_NE(warnings->front().message.find("9 past session(s) not checked in"),
              std::string::npos);
}

/// Every VEVENT of a calendar, read back with libical.
struct ParsedEvent {
    std::string uid, summary, location, description, status;
    icaltimetype start, end;
};

std::vector<ParsedEvent> parseWithLibical(const std::string& text) {
    std::vector<ParsedEvent> events;
    icalcomponent* root = icalparser_parse_string(text.c_str());
    EXPECT_NE(root, nullptr);
    if (root == nullptr) {
        return events;
    }
    EXPECT_EQ(icalcomponent_isa(root), ICAL_VCALENDAR_COMPONENT);
    EXPECT_EQ(icalcomponent_count_errors(root), 0);
    for (icalcomponent* e = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT);
         e != nullptr; e = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT)) {
        ParsedEvent p;
        p.uid = icalcomponent_get_uid(e);
        p.summary = icalcomponent_get_summary(e);
        p.location = icalcomponent_get_location(e) ? icalcomponent_get_location(e) : "";
        p.description = icalcomponent_get_description(e) ? icalcomponent_get_description(e) : "";
        p.status = icalproperty_status_to_string(icalcomponent_get_status(e));
        p.start = icalcomponent_get_dtstart(e);
        p.end = icalcomponent_get_dtend(e);
        events.push_back(p);
    }
    icalcomponent_free(root);
    return events;
}

TEST_F(ScheduleServiceTest, TheIcsExportParsesWithLibicalWithStableUidsAndEscapedFields) {
    ScheduleService s(*store);
    ASSERT_TRUE(s.plan(clinic.technician, "P-1", versionP1, "2026-03-23", std::nullopt).ok());
    ASSERT_TRUE(s.cancel(clinic.technician, 2, "clinic closed early", false, true).ok());
    auto text = s.exportCalendar(clinic.technician, "", "");
    ASSERT_TRUE(text.ok()) << text.error().describe();
    EXPECT_NE(text->find("\r\n"), std::string::npos);
    EXPECT_NE(text->find("LOCATION:Room 1\\; East\\, wing"), std::string::npos);  // escaped
    const auto events = parseWithLibical(*text);
    ASSERT_EQ(events.size(), 31U);  // 30 + the cancelled one
    std::set<std::string> uids;
    int cancelled = 0;
    for (const ParsedEvent& e : events) {
        uids.insert(e.uid);
        EXPECT_TRUE(icaltime_is_utc(e.start)) << e.uid;
        EXPECT_EQ(icaltime_as_timet(e.end) - icaltime_as_timet(e.start) > 0, true);
        EXPECT_EQ(e.location.find("Room"), 0U);
        EXPECT_EQ(e.summary.find("P-1"), e.summary.size() - 3) << e.summary;
        EXPECT_EQ(e.summary.find("Patient"), std::string::npos);  // no names in calendars
        cancelled += e.status == "CANCELLED" ? 1 : 0;
    }
    EXPECT_EQ(uids.size(), events.size());
    EXPECT_EQ(cancelled, 1);
    // 08:00 Berlin is 07:00Z before the change on 2026-03-29 and 06:00Z after it.
    EXPECT_EQ(events.front().start.hour, 7);
    EXPECT_EQ(events.back().start.hour, 6);
    const auto room = std::find_if(events.begin(), events.end(),
                                   [](const ParsedEvent& e) { return e.location != "Room 2"; });
    ASSERT_NE(room, events.end());
    EXPECT_EQ(room->location, "Room 1; East, wing");  // unescaped by the parser
    // Exported again later: the same UIDs.
    auto again = s.exportCalendar(clinic.technician, "", "");
    std::set<std::string> uidsAgain;
    for (const ParsedEvent& e : parseWithLibical(*again)) {
        uidsAgain.insert(e.uid);
    }
    EXPECT_EQ(uids, uidsAgain);
}

}  // namespace
}  // namespace neuroplan::scheduling
