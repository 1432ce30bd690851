// neuroplan-cli schedule: the real binary on a real SQLite file. Clinic set-up by an admin,
// a technician plans an approved course around imported holidays and across a DST change,
// lists, moves, cancels and exports; the export is read back with libical. Every option and
// file the commands read is given bad input: exit 2, one line naming it, nothing written.
#include <gtest/gtest.h>

#include <libical/ical.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "base/time.h"
#include "support.h"

namespace neuroplan {
namespace {

using nlohmann::json;
using testing::ProcessResult;
using testing::runProcess;
using namespace std::chrono;

constexpr const char* kCli = NEUROPLAN_CLI_PATH;
constexpr const char* kAdminPassword = "admin-password-123";
constexpr const char* kTechPassword = "technician-password-1";
constexpr const char* kDocPassword = "physician-password-1";

std::string iso(sys_days day) {
    return formatIsoDate(year_month_day{day});
}

/// The Monday of the week holding the last Sunday of March next year: a course started then
/// crosses Europe's spring-forward change whatever day the test runs.
sys_days mondayBeforeSpringChange() {
    const auto now = floor<days>(system_clock::now());
    const year next = year_month_day{now}.year() + years{1};
    const sys_days lastSunday{next / March / Sunday[last]};
    return lastSunday - days{6};
}

class ScheduleCli : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(as("admin", {"init"}).exitCode, 0);
        addUser("tech", "technician", kTechPassword);
        addUser("doc", "physician", kDocPassword);
        ok("admin", {"schedule", "settings", "--time-zone", "Europe/Berlin"});
        ok("admin", {"schedule", "hours", "set", "--week", "mon-fri 08:00-18:00"});
        ok("admin", {"schedule", "resource", "add-device", "--name", "TMS A", "--kind", "rtms",
                     "--model", "MagPro R30", "--serial", "SN-1", "--coil", "Cool-B65"});
        ok("admin", {"schedule", "resource", "add-device", "--name", "TMS B", "--kind", "rtms",
                     "--model", "MagPro R30", "--serial", "SN-2", "--coil", "Cool-B65"});
        ok("admin", {"schedule", "resource", "add-room", "--name", "Room 1"});
        ok("admin", {"schedule", "resource", "add-room", "--name", "Room 2"});
        ok("admin", {"schedule", "resource", "add-staff", "--code", "tom", "--display-name",
                     "Tom Okafor", "--role", "technician", "--hours", "mon-fri 08:00-18:00"});
        ok("admin", {"schedule", "resource", "add-staff", "--code", "tina", "--display-name",
                     "Tina Berg", "--role", "technician", "--hours", "mon-thu 08:00-16:00"});
        ok("tech", {"patient", "add", "--mrn", "P-1", "--family", "Fictional", "--given", "Fay",
                    "--birth-date", "1980-01-01", "--sex", "female"});
        const std::string today = iso(floor<days>(system_clock::now()));
        ok("tech", {"mt", "record", "--mrn", "P-1", "--value", "50", "--method", "visual",
                    "--device", "MagPro", "--coil", "Cool-B65", "--date", today});
        ok("tech", {"course", "add", "--mrn", "P-1", "--label", "rTMS 1", "--kind", "rtms"});
        const ProcessResult protocol =
            as("tech", {"protocol", "show", "--template", "itbs-left-dlpfc", "--json"});
        ASSERT_EQ(protocol.exitCode, 0) << protocol.err;
        std::ofstream(m_dir / "itbs.json") << protocol.out;
        ok("tech", {"protocol", "save", "--course", "1", (m_dir / "itbs.json").string()});
        ok("doc", {"protocol", "approve", "--version", "1", "--acknowledge-warnings"});
        m_start = mondayBeforeSpringChange();
        // Good Friday-like closure inside the course, from an iCalendar file.
        const sys_days closed = m_start + days{11};  // the Friday after the change
        writeFile("holidays.ics",
                  "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//T//EN\r\nBEGIN:VEVENT\r\n"
                  "UID:closed@test\r\nDTSTART;VALUE=DATE:" +
                      compact(closed) +
                      "\r\nSUMMARY:Clinic holiday\r\nEND:VEVENT\r\n"
                      "END:VCALENDAR\r\n");
        ok("admin", {"schedule", "holidays", "import", (m_dir / "holidays.ics").string()});
        m_closed = closed;
    }

    static std::string compact(sys_days day) {
        std::string text = iso(day);
        text.erase(std::remove(text.begin(), text.end(), '-'), text.end());
        return text;
    }

    void writeFile(const std::string& name, const std::string& text) {
        std::ofstream(m_dir / name, std::ios::binary) << text;
    }

    void addUser(const char* login, const char* role, const char* password) {
        std::vector<std::string> argv{kCli,  "--db",   db(), "user",           "add", "--login",
                                      login, "--role", role, "--display-name", login};
        const ProcessResult r = runProcess(argv, {{"NEUROPLAN_USER", "admin"},
                                                  {"NEUROPLAN_PASSWORD", kAdminPassword},
                                                  {"NEUROPLAN_NEW_PASSWORD", password}});
        ASSERT_EQ(r.exitCode, 0) << r.err;
    }

    std::string db() const { return (m_dir / "clinic.db").string(); }

    ProcessResult as(const std::string& login, std::vector<std::string> args) {
        std::vector<std::string> argv{kCli, "--db", db()};
        argv.insert(argv.end(), args.begin(), args.end());
        const char* password = login == "admin"  ? kAdminPassword
                               : login == "tech" ? kTechPassword
                                                 : kDocPassword;
        return runProcess(argv, {{"NEUROPLAN_USER", login}, {"NEUROPLAN_PASSWORD", password}});
    }

    void ok(const std::string& login, std::vector<std::string> args) {
        const ProcessResult r = as(login, args);
        ASSERT_EQ(r.exitCode, 0) << args[0] << " " << args[1] << ": " << r.err;
    }

    json okJson(const std::string& login, std::vector<std::string> args) {
        args.push_back("--json");
        const ProcessResult r = as(login, args);
        EXPECT_EQ(r.exitCode, 0) << r.err;
        return json::parse(r.out, nullptr, false);
    }

    json plan() {
        return okJson("tech", {"schedule", "plan", "--mrn", "P-1", "--protocol", "1", "--start",
                               iso(m_start)});
    }

    /// Audit entries: every write adds one, so an unchanged count means nothing was written.
    std::int64_t auditEntries() {
        const ProcessResult r = as("admin", {"audit", "verify"});
        EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
        const auto digits = r.out.find_first_of("0123456789");
        return digits == std::string::npos ? -1 : std::stoll(r.out.substr(digits));
    }

    testing::TempDir m_dir;
    sys_days m_start;
    sys_days m_closed;
};

TEST_F(ScheduleCli, ATechnicianPlansAroundTheHolidayAtTheSameLocalTimeAcrossDst) {
    const json p = plan();
    ASSERT_TRUE(p.is_object());
    const json& sessions = p["appointments"];
    ASSERT_EQ(sessions.size(), 30U);
    std::set<std::string> utcHours;
    for (const json& a : sessions) {
        EXPECT_NE(a["date"], iso(m_closed));
        EXPECT_EQ(a["start"], "08:00");
        EXPECT_EQ(a["time_zone"], "Europe/Berlin");
        utcHours.insert(a["start_utc"].get<std::string>().substr(11, 5));
    }
    EXPECT_EQ(utcHours, (std::set<std::string>{"07:00", "06:00"}));  // CET, then CEST
    EXPECT_EQ(sessions[0]["date"], iso(m_start));
    EXPECT_EQ(sessions[0]["number"], 1);
    // Listing by device and by technician.
    // Tina works Monday to Thursday: the course keeps her, and Tom takes the Friday.
    const json byTina = okJson("tech", {"schedule", "list", "--from", iso(m_start), "--to",
                                        iso(m_start + days{4}), "--technician", "tina"});
    EXPECT_EQ(byTina.size(), 4U);
    const json byTom = okJson("tech", {"schedule", "list", "--from", iso(m_start), "--to",
                                       iso(m_start + days{4}), "--technician", "tom"});
    ASSERT_EQ(byTom.size(), 1U);
    EXPECT_EQ(byTom[0]["date"], iso(m_start + days{4}));
    const json byB = okJson("tech", {"schedule", "list", "--from", iso(m_start), "--to",
                                     iso(m_start + days{60}), "--device", "TMS B"});
    EXPECT_TRUE(byB.empty());
}

TEST_F(ScheduleCli, MovesCancelsAndAuditsWithReasons) {
    plan();
    const std::int64_t before = auditEntries();
    // 19:00 is after closing time: refused, nothing written.
    ProcessResult late = as("tech", {"schedule", "move", "--appointment", "1", "--date",
                                     iso(m_start), "--time", "19:00", "--reason", "evening"});
    EXPECT_EQ(late.exitCode, 2);
    EXPECT_EQ(late.err.rfind("neuroplan-cli: error: --time: ", 0), 0U) << late.err;
    EXPECT_EQ(auditEntries(), before);
    ProcessResult check = as("tech", {"schedule", "move", "--appointment", "1", "--date",
                                      iso(m_start), "--time", "15:00", "--check"});
    EXPECT_EQ(check.exitCode, 0) << check.out << check.err;
    EXPECT_EQ(auditEntries(), before);
    const json moved =
        okJson("tech", {"schedule", "move", "--appointment", "1", "--date", iso(m_start), "--time",
                        "15:00", "--device", "TMS B", "--reason", "patient works mornings"});
    EXPECT_EQ(moved["start"], "15:00");
    EXPECT_EQ(moved["device"], "TMS B");
    const json cancelled = okJson(
        "tech", {"schedule", "cancel", "--appointment", "2", "--reason", "patient has the flu"});
    EXPECT_EQ(cancelled["appointment"]["status"], "cancelled");
    ASSERT_TRUE(cancelled["replacement"].is_object());
    EXPECT_EQ(cancelled["replacement"]["replaces"], 2);
    EXPECT_EQ(auditEntries(), before + 2);
    // The technician may not set the clinic up.
    ProcessResult refused = as("tech", {"schedule", "resource", "add-room", "--name", "Room 3"});
    EXPECT_EQ(refused.exitCode, 3);
    // Taking a device out of service names the sessions it cannot hand over.
    const json outage = okJson("tech", {"schedule", "resource", "out-of-service", "--device",
                                        "TMS A", "--reason", "coil overheating"});
    EXPECT_EQ(outage["reassigned"].size() + outage["unplaced"].size(), 29U);
    EXPECT_EQ(outage["unplaced"].size(), 0U);  // TMS B is free at 08:00
    const json behind = okJson("tech", {"schedule", "behind"});
    ASSERT_EQ(behind.size(), 1U);
    EXPECT_EQ(behind[0]["days_late"].get<int>() > 0, true);
}

TEST_F(ScheduleCli, TheIcsExportOpensInLibical) {
    plan();
    const std::string path = (m_dir / "schedule.ics").string();
    ok("tech", {"schedule", "export", "--ics", path});
    const std::string text = testing::readFile(path);
    icalcomponent* calendar = icalparser_parse_string(text.c_str());
    ASSERT_NE(calendar, nullptr);
    EXPECT_EQ(icalcomponent_count_errors(calendar), 0);
    EXPECT_EQ(icalcomponent_count_components(calendar, ICAL_VEVENT_COMPONENT), 30);
    std::set<std::string> uids;
    for (icalcomponent* e = icalcomponent_get_first_component(calendar, ICAL_VEVENT_COMPONENT);
         e != nullptr; e = icalcomponent_get_next_component(calendar, ICAL_VEVENT_COMPONENT)) {
        uids.insert(icalcomponent_get_uid(e));
        EXPECT_TRUE(icaltime_is_utc(icalcomponent_get_dtstart(e)));
    }
    icalcomponent_free(calendar);
    EXPECT_EQ(uids.size(), 30U);
    // The same UIDs in a second export.
    ok("tech", {"schedule", "export", "--ics", path});
    calendar = icalparser_parse_string(testing::readFile(path).c_str());
    std::set<std::string> again;
    for (icalcomponent* e = icalcomponent_get_first_component(calendar, ICAL_VEVENT_COMPONENT);
         e != nullptr; e = icalcomponent_get_next_component(calendar, ICAL_VEVENT_COMPONENT)) {
        again.insert(icalcomponent_get_uid(e));
    }
    icalcomponent_free(calendar);
    EXPECT_EQ(uids, again);
}

TEST_F(ScheduleCli, BadInputNamesTheOptionOrFileExitsTwoAndWritesNothing) {
    plan();
    writeFile("broken.ics",
              "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n"
              "DTSTART:20270105T090000Z\r\nSUMMARY:Meeting\r\nEND:VEVENT\r\n"
              "END:VCALENDAR\r\n");
    writeFile("not.ics", "hello");
    const std::string broken = (m_dir / "broken.ics").string();
    const std::string notIcs = (m_dir / "not.ics").string();
    const std::string missing = (m_dir / "missing.ics").string();
    const std::string start = iso(m_start);
    struct Case {
        const char* who;
        std::vector<std::string> args;
        std::string where;
    };
    const std::vector<Case> cases{
        {"tech",
         {"schedule", "plan", "--mrn", "P-1", "--protocol", "1", "--start", "2027-02-30"},
         "--start"},
        {"tech",
         {"schedule", "plan", "--mrn", "P-1", "--protocol", "1", "--start", "2099-01-05"},
         "--start"},
        {"tech",
         {"schedule", "plan", "--mrn", "P-9", "--protocol", "1", "--start", start},
         "--mrn"},
        {"tech",
         {"schedule", "plan", "--mrn", "P-1", "--protocol", "77", "--start", start},
         "--protocol"},
        {"tech",
         {"schedule", "plan", "--mrn", "P-1", "--protocol", "1", "--start", start, "--rhythm",
          "weekly"},
         "--rhythm"},
        {"tech", {"schedule", "list", "--from", "yesterday", "--to", start}, "--from"},
        {"tech", {"schedule", "list", "--from", start, "--to", "2020-01-01"}, "--to"},
        {"tech",
         {"schedule", "list", "--from", start, "--to", start, "--device", "TMS Z"},
         "--device"},
        {"tech",
         {"schedule", "list", "--from", start, "--to", start, "--technician", "zed"},
         "--technician"},
        {"tech",
         {"schedule", "move", "--appointment", "3", "--date", start, "--time", "9am", "--reason",
          "x y z"},
         "--time"},
        {"tech",
         {"schedule", "move", "--appointment", "3", "--date", "31.12.2027", "--time", "09:00",
          "--reason", "x y z"},
         "--date"},
        {"tech",
         {"schedule", "move", "--appointment", "3", "--date", start, "--time", "09:00"},
         "--reason"},
        {"tech",
         {"schedule", "move", "--appointment", "999", "--date", start, "--time", "09:00",
          "--reason", "x y z"},
         "--appointment"},
        {"tech",
         {"schedule", "move", "--appointment", "3", "--date", iso(m_closed), "--time", "09:00",
          "--reason", "x y z"},
         "--date"},
        {"tech", {"schedule", "cancel", "--appointment", "3", "--reason", " "}, "--reason"},
        {"tech",
         {"schedule", "export", "--ics", (m_dir / "no" / "such" / "x.ics").string()},
         "--ics"},
        {"tech",
         {"schedule", "export", "--ics", (m_dir / "x.ics").string(), "--from", "soon"},
         "--from"},
        {"admin", {"schedule", "settings", "--time-zone", "Mars/Olympus"}, "--time-zone"},
        {"admin", {"schedule", "settings", "--missed-rule", "whenever"}, "--missed-rule"},
        {"admin", {"schedule", "hours", "set", "--week", "weekdays 8-6"}, "--week"},
        {"admin",
         {"schedule", "resource", "add-staff", "--code", "x", "--display-name", "X", "--role",
          "technician", "--hours", "mon-fri 17:00-08:00"},
         "--hours"},
        {"admin",
         {"schedule", "resource", "add-staff", "--code", "x", "--display-name", "X", "--role",
          "janitor", "--hours", "mon 08:00-09:00"},
         "--role"},
        {"admin",
         {"schedule", "resource", "add-device", "--name", "X", "--kind", "tdcs", "--model", "m",
          "--serial", "s", "--coil", "c"},
         "--kind"},
        {"admin",
         {"schedule", "resource", "add-device", "--name", "TMS A", "--kind", "rtms", "--model", "m",
          "--serial", "s", "--coil", "c"},
         "--name"},
        {"admin",
         {"schedule", "resource", "add-device", "--name", "X", "--kind", "rtms", "--model", "m",
          "--serial", "s"},
         "--coil"},
        {"admin", {"schedule", "holidays", "import", broken}, broken},
        {"admin", {"schedule", "holidays", "import", notIcs}, notIcs},
        {"admin", {"schedule", "holidays", "import", missing}, missing},
        {"admin",
         {"schedule", "holidays", "add", "--date", "2027-02-29", "--label", "x"},
         "--date"},
    };
    const std::int64_t before = auditEntries();
    for (const Case& c : cases) {
        const ProcessResult r = as(c.who, c.args);
        EXPECT_EQ(r.exitCode, 2) << c.args[1] << " " << c.where << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_EQ(r.err.rfind("neuroplan-cli: error: " + c.where + ": ", 0), 0U)
            << "expected " << c.where << ", got: " << r.err;
    }
    EXPECT_EQ(auditEntries(), before);
    EXPECT_FALSE(std::filesystem::exists(m_dir / "x.ics"));
    // The broken calendar's message names the event.
    const ProcessResult r = as("admin", {"schedule", "holidays", "import", broken});
    EXPECT_NE(r.err.find("event 1 'Meeting': is not an all-day event"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace neuroplan
