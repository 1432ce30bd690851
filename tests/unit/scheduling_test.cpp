// The scheduling engine (core/scheduling): rules from the data file and the protocols, plans
// across holidays and daylight-saving changes, accelerated days, weekly limits and tapers,
// missed-session rules, moves and their conflicts, devices going out of service.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "protocols/document.h"
#include "protocols/library.h"
#include "scheduling/planner.h"
#include "scheduling/rules.h"
#include "scheduling/zone.h"

namespace neuroplan::scheduling {
namespace {

using std::chrono::days;

Day day(const char* text) {
    return parseDay(text, "day").value();
}

Zone zone(const char* name) {
    return Zone::locate(name, "time_zone").value();
}

protocols::Protocol templateProtocol(const char* id) {
    const protocols::Template* t = protocols::Library::builtIn().findTemplate(id);
    EXPECT_NE(t, nullptr) << id;
    return protocols::parseProtocol(t->protocol).value();
}

protocols::Protocol vnsProtocol() {
    return protocols::parseProtocol(nlohmann::json{{"kind", "vns"},
                                                   {"output_current_ma", 0.25},
                                                   {"pulse_width_us", 250},
                                                   {"frequency_hz", 20},
                                                   {"on_time_s", 30},
                                                   {"off_time_min", 5}})
        .value();
}

WeekHours weekdays(int open, int close, int count = 5) {
    WeekHours hours;
    for (int d = 0; d < count; ++d) {
        hours[static_cast<std::size_t>(d)] = MinuteRange{open, close};
    }
    return hours;
}

/// A clinic open Monday-Friday 08:00-18:00 with `devices` rTMS devices, as many rooms and
/// technicians working the same hours, and one VNS programmer.
Clinic clinic(int devices = 1, const char* zoneName = "Europe/Berlin") {
    Clinic c(zone(zoneName));
    c.opening = weekdays(8 * 60, 18 * 60);
    for (int i = 1; i <= devices; ++i) {
        c.devices.push_back({i,
                             "rtms",
                             "TMS " + std::to_string(i),
                             "MagPro R30",
                             "SN" + std::to_string(i),
                             {"figure8"},
                             true});
        c.rooms.push_back({i, "Room " + std::to_string(i)});
        c.staff.push_back({i, "tech" + std::to_string(i), "Technician " + std::to_string(i),
                           "technician", weekdays(8 * 60, 18 * 60)});
    }
    c.devices.push_back({100, "vns", "VNS programmer", "LivaNova 3000", "SN-V", {}, true});
    c.staff.push_back({100, "nurse", "Nurse", "nurse", weekdays(8 * 60, 18 * 60)});
    return c;
}

CourseRules rules(const char* templateId, std::optional<std::string> rhythm = std::nullopt) {
    return courseRules(templateProtocol(templateId), std::move(rhythm)).value();
}

std::map<Day, int> perWeek(const std::vector<Appointment>& plan) {
    std::map<Day, int> counts;
    for (const Appointment& a : plan) {
        ++counts[weekStart(a.day)];
    }
    return counts;
}

TEST(SchedulingRules, BuiltInFileLoadsWithSources) {
    const SchedulingRules& r = SchedulingRules::builtIn();
    EXPECT_EQ(r.version, "scheduling-v1 1.0.0");
    ASSERT_NE(r.defaultFor("rtms"), nullptr);
    EXPECT_EQ(r.defaultFor("rtms")->perWeek.from.source, "blumberger2018");
    ASSERT_NE(r.defaultFor("rtms_accelerated"), nullptr);
    EXPECT_EQ(r.defaultFor("rtms_accelerated")->perWeek.from.source, "cole2020");
    EXPECT_FALSE(r.setupMinutes.from.source.empty());
}

TEST(SchedulingRules, BrokenFilesNameThePath) {
    auto noDefaults = loadSchedulingRules(R"({"format": "neuroplan-data/1", "kind":
        "scheduling-rules", "id": "x", "version": "1", "sources": {"p": {"citation": "c",
        "confidence": "R"}}, "appointment": {"setup_minutes": {"value": 5, "source": "p",
        "confidence": "R"}, "grid_minutes": {"value": 5, "source": "p", "confidence": "R"},
        "vns_visit_minutes": {"value": 30, "source": "p", "confidence": "R"}, "horizon_days":
        {"value": 365, "source": "p", "confidence": "R"}}, "qualified_roles": {"rtms":
        ["technician", "janitor"], "vns": ["nurse"], "source": "p", "confidence": "R"},
        "rhythms": [], "defaults": {}})",
                                          "test.json");
    ASSERT_FALSE(noDefaults.ok());
    EXPECT_EQ(noDefaults.error().field, "qualified_roles.rtms[1]");
}

TEST(CourseRules, ComeFromTheProtocolTheRhythmAndTheVnsTitrationPlan) {
    const CourseRules itbs = rules("itbs-left-dlpfc");
    EXPECT_EQ(itbs.kind, "rtms");
    EXPECT_EQ(itbs.sessions, 30);
    EXPECT_EQ(itbs.sessionsPerDay, 1);
    EXPECT_EQ(itbs.sessionsPerWeek, 5);
    EXPECT_EQ(itbs.appointmentMinutes % itbs.gridMinutes, 0);
    EXPECT_GT(itbs.appointmentMinutes, 3);  // 192 s of stimulation + set-up

    const CourseRules saint = rules("accelerated-itbs-saint");
    EXPECT_TRUE(saint.accelerated());
    EXPECT_EQ(saint.sessionsPerDay, 10);
    EXPECT_EQ(saint.minGapMinutes, 50);
    EXPECT_EQ(saint.sessions, 50);
    EXPECT_EQ(saint.sessionsPerWeek, 50);  // 5 days x 10 sessions
    EXPECT_EQ(saint.rhythmId, "accelerated-consecutive-days");

    const CourseRules vns = courseRules(vnsProtocol(), std::nullopt).value();
    const auto plan =
        protocols::makeTitrationPlan(std::nullopt, std::nullopt, std::nullopt, std::nullopt)
            .value();
    EXPECT_EQ(vns.visitIntervalWeeks, plan.weeksBetweenSteps);
    EXPECT_EQ(vns.sessions, static_cast<int>(protocols::titrationSchedule(plan).size()));
    EXPECT_FALSE(vns.sessionsPerWeek.has_value());

    auto wrongKind = courseRules(templateProtocol("itbs-left-dlpfc"),
                                 std::string("accelerated-consecutive-days"));
    ASSERT_FALSE(wrongKind.ok());
    EXPECT_EQ(wrongKind.error().field, "rhythm");
    auto unknown = courseRules(templateProtocol("itbs-left-dlpfc"), std::string("weekly"));
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().field, "rhythm");
}

TEST(Plan, ThirtySessionsOnOpenDaysAroundHolidaysAtMostFiveAWeek) {
    Clinic c = clinic();
    c.closures[day("2026-04-03")] = "Good Friday";
    c.closures[day("2026-04-06")] = "Easter Monday";
    Planner planner(c);
    const CourseRules r = rules("itbs-left-dlpfc");
    auto plan = planner.planCourse(1, 1, r, day("2026-03-30"));
    ASSERT_TRUE(plan.ok()) << plan.error().describe();
    ASSERT_EQ(plan->size(), 30U);
    std::set<Day> used;
    for (const Appointment& a : *plan) {
        EXPECT_NE(a.day, day("2026-04-03"));
        EXPECT_NE(a.day, day("2026-04-06"));
        EXPECT_LT(weekdayIndex(a.day), 5) << formatDay(a.day);
        EXPECT_TRUE(used.insert(a.day).second) << "two sessions on " << formatDay(a.day);
        EXPECT_GE(a.startMin, 8 * 60);
        EXPECT_LE(a.startMin + a.durationMin, 18 * 60);
    }
    for (const auto& [week, count] : perWeek(*plan)) {
        EXPECT_LE(count, 5) << formatDay(week);
    }
    EXPECT_EQ(perWeek(*plan)[day("2026-03-30")], 4);  // Good Friday
    EXPECT_EQ(plan->front().day, day("2026-03-30"));
    EXPECT_EQ(plan->back().day, day("2026-05-12"));  // 6 weeks + the two holidays
    EXPECT_EQ(planner.countConflicts(), 0);
}

TEST(Plan, StaysAtTheSameLocalTimeAcrossBothDaylightSavingChanges) {
    for (const char* start : {"2026-03-23", "2026-10-19"}) {
        Planner planner(clinic());
        auto plan = planner.planCourse(1, 1, rules("itbs-left-dlpfc"), day(start));
        ASSERT_TRUE(plan.ok()) << plan.error().describe();
        std::set<UtcMinutes> offsets;
        for (const Appointment& a : *plan) {
            EXPECT_EQ(a.startMin, 8 * 60) << formatDay(a.day);  // 08:00 local, every day
            const UtcMinutes localMinutes =
                static_cast<UtcMinutes>(a.day.time_since_epoch().count()) * 1440 + a.startMin;
            offsets.insert(localMinutes - a.startUtc);
        }
        // Berlin: +60 min in winter, +120 min in summer; both occur in the course.
        EXPECT_EQ(offsets, (std::set<UtcMinutes>{60, 120})) << start;
    }
    const Zone berlin = zone("Europe/Berlin");
    EXPECT_EQ(formatUtcMinutes(berlin.toUtc(day("2026-03-27"), 9 * 60)), "2026-03-27T08:00:00Z");
    EXPECT_EQ(formatUtcMinutes(berlin.toUtc(day("2026-03-30"), 9 * 60)), "2026-03-30T07:00:00Z");
    EXPECT_EQ(formatUtcMinutes(berlin.toUtc(day("2026-10-23"), 9 * 60)), "2026-10-23T07:00:00Z");
    EXPECT_EQ(formatUtcMinutes(berlin.toUtc(day("2026-10-26"), 9 * 60)), "2026-10-26T08:00:00Z");
    // 02:30 does not exist on 2026-03-29 and happens twice on 2026-10-25.
    EXPECT_FALSE(berlin.unambiguous(day("2026-03-29"), 150));
    EXPECT_FALSE(berlin.unambiguous(day("2026-10-25"), 150));
    EXPECT_EQ(formatUtcMinutes(berlin.toUtc(day("2026-03-29"), 150)), "2026-03-29T01:30:00Z");
    EXPECT_EQ(formatUtcMinutes(berlin.toUtc(day("2026-10-25"), 150)), "2026-10-25T00:30:00Z");
}

TEST(Plan, AWeekendClinicPlansOnTheDstSundayAtLocalTime) {
    Clinic c = clinic();
    c.opening = weekdays(8 * 60, 18 * 60, 7);
    for (StaffMember& s : c.staff) {
        s.hours = weekdays(8 * 60, 18 * 60, 7);
    }
    Planner planner(c);
    const CourseRules r =
        courseRules(templateProtocol("accelerated-itbs-saint"), std::nullopt).value();
    auto plan = planner.planCourse(1, 1, r, day("2026-03-29"));  // the spring-forward Sunday
    ASSERT_TRUE(plan.ok()) << plan.error().describe();
    EXPECT_EQ(plan->front().day, day("2026-03-29"));
    EXPECT_EQ(plan->front().startMin, 8 * 60);
    EXPECT_EQ(formatUtcMinutes(plan->front().startUtc), "2026-03-29T06:00:00Z");
}

TEST(Plan, AcceleratedDaysFitInsideOpeningHoursWithTheMinimumGap) {
    Planner planner(clinic(2));
    const CourseRules r = rules("accelerated-itbs-saint");
    auto plan = planner.planCourse(1, 1, r, day("2026-06-03"));  // a Wednesday
    ASSERT_TRUE(plan.ok()) << plan.error().describe();
    ASSERT_EQ(plan->size(), 50U);
    std::map<Day, std::vector<const Appointment*>> byDay;
    for (const Appointment& a : *plan) {
        byDay[a.day].push_back(&a);
    }
    ASSERT_EQ(byDay.size(), 5U);
    // Wednesday to Friday, then Monday and Tuesday: consecutive open days.
    std::vector<Day> expected{day("2026-06-03"), day("2026-06-04"), day("2026-06-05"),
                              day("2026-06-08"), day("2026-06-09")};
    std::vector<Day> actual;
    for (auto& [d, sessions] : byDay) {
        actual.push_back(d);
        ASSERT_EQ(sessions.size(), 10U) << formatDay(d);
        std::sort(sessions.begin(), sessions.end(),
                  [](auto* a, auto* b) { return a->startUtc < b->startUtc; });
        EXPECT_GE(sessions.front()->startMin, 8 * 60);
        EXPECT_LE(sessions.back()->startMin + sessions.back()->durationMin, 18 * 60);
        for (std::size_t i = 1; i < sessions.size(); ++i) {
            EXPECT_GE(sessions[i]->startUtc - sessions[i - 1]->endUtc, r.minGapMinutes);
        }
    }
    EXPECT_EQ(actual, expected);
}

TEST(Plan, AnAcceleratedDayThatCannotFitTheOpeningHoursIsRefused) {
    Clinic c = clinic();
    c.opening = weekdays(9 * 60, 17 * 60);
    Planner planner(c);
    auto plan = planner.planCourse(1, 1, rules("accelerated-itbs-saint"), day("2026-06-01"));
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.error().field, "protocol_version");
    EXPECT_NE(plan.error().message.find("longest opening day is 8 h 00 min"), std::string::npos)
        << plan.error().message;
    EXPECT_EQ(planner.countConflicts(), 0);
}

TEST(Plan, TaperPhasesFollowTheCourseWithTheirWeeklyCounts) {
    Planner planner(clinic());
    const CourseRules r = rules("itbs-left-dlpfc", "daily-5-per-week-taper");
    auto plan = planner.planCourse(1, 1, r, day("2026-06-01"));
    ASSERT_TRUE(plan.ok()) << plan.error().describe();
    EXPECT_EQ(plan->size(), 36U);  // 30 + 3 + 2 + 1
    const auto weeks = perWeek(*plan);
    std::vector<int> counts;
    for (const auto& [week, count] : weeks) {
        counts.push_back(count);
    }
    EXPECT_EQ(counts, (std::vector<int>{5, 5, 5, 5, 5, 5, 3, 2, 1}));
    // Two a week are spread (at least 3 days apart), not on consecutive days.
    std::vector<Day> taper2;
    for (const Appointment& a : *plan) {
        if (a.phase == "taper 2") {
            taper2.push_back(a.day);
        }
    }
    ASSERT_EQ(taper2.size(), 2U);
    EXPECT_GE((taper2[1] - taper2[0]).count(), 3);
}

TEST(Plan, VnsTitrationVisitsFollowTheInterval) {
    Planner planner(clinic());
    const CourseRules r = courseRules(vnsProtocol(), std::nullopt).value();
    auto plan = planner.planCourse(1, 1, r, day("2026-06-01"));
    ASSERT_TRUE(plan.ok()) << plan.error().describe();
    ASSERT_EQ(static_cast<int>(plan->size()), r.sessions);
    for (std::size_t i = 0; i < plan->size(); ++i) {
        EXPECT_EQ((*plan)[i].day,
                  day("2026-06-01") + days{7 * r.visitIntervalWeeks * static_cast<int>(i)});
        EXPECT_EQ((*plan)[i].deviceId, 100);  // the VNS programmer
        EXPECT_NE(std::find(r.roles.begin(), r.roles.end(),
                            planner.clinic().staffMember((*plan)[i].staffId)->role),
                  r.roles.end());
    }
}

TEST(Plan, NoDoubleBookingWhenCoursesCompeteForOneDevice) {
    Planner planner(clinic(1));
    const CourseRules r = rules("hf-10hz-left-dlpfc");
    for (int course = 1; course <= 12; ++course) {
        auto plan = planner.planCourse(course, course, r, day("2026-06-01"));
        ASSERT_TRUE(plan.ok()) << plan.error().describe();
    }
    EXPECT_EQ(planner.countConflicts(), 0);
}

TEST(Plan, NothingIsBookedWhenTheCourseCannotBeCompleted) {
    Clinic c = clinic();
    c.devices.erase(c.devices.begin());  // no rTMS device left
    Planner planner(c);
    auto plan = planner.planCourse(1, 1, rules("itbs-left-dlpfc"), day("2026-06-01"));
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.error().code, ErrorCode::Conflict);
    EXPECT_TRUE(planner.courseAppointments(1).empty());
}

/// A Monday-Saturday clinic: room on Saturday for a make-up session.
Clinic sixDayClinic() {
    Clinic c = clinic();
    c.opening = weekdays(8 * 60, 18 * 60, 6);
    for (StaffMember& s : c.staff) {
        s.hours = weekdays(8 * 60, 18 * 60, 6);
    }
    return c;
}

Appointment loseOne(Planner& planner, std::int64_t courseId, Day onDay, AppointmentStatus status) {
    for (const Appointment* a : planner.courseAppointments(courseId)) {
        if (a->day == onDay) {
            Appointment lost = *a;
            planner.release(lost.id);
            lost.status = status;
            planner.add(lost);
            return lost;
        }
    }
    ADD_FAILURE() << "no session on " << formatDay(onDay);
    return {};
}

TEST(MissedSessions, NextFreeSlotMakesUpInTheSameWeekWhenTheWeeklyLimitAllows) {
    Planner planner(sixDayClinic());
    const CourseRules r = rules("itbs-left-dlpfc");
    auto plan = planner.planCourse(1, 1, r, day("2026-06-01"));
    ASSERT_TRUE(plan.ok());
    const Appointment lost =
        loseOne(planner, 1, day("2026-06-03"), AppointmentStatus::Missed);  // Wednesday
    auto replacement = planner.replace(lost, r, MissedRule::NextFreeSlot, lost.endUtc);
    ASSERT_TRUE(replacement.ok()) << replacement.error().describe();
    EXPECT_EQ(replacement->day, day("2026-06-06"));  // Saturday: the week had 4 of 5
    EXPECT_EQ(replacement->replacesId, lost.id);
    for (const auto& [week, count] : perWeek([&] {
             std::vector<Appointment> all;
             for (const Appointment* a : planner.courseAppointments(1)) {
                 all.push_back(*a);
             }
             return all;
         }())) {
        EXPECT_LE(count, 5);
    }
    EXPECT_EQ(planner.courseAppointments(1).size(), 30U);
    EXPECT_EQ(planner.countConflicts(), 0);
}

TEST(MissedSessions, AppendAtEndPutsItAfterTheLastSession) {
    Planner planner(sixDayClinic());
    const CourseRules r = rules("itbs-left-dlpfc");
    auto plan = planner.planCourse(1, 1, r, day("2026-06-01"));
    ASSERT_TRUE(plan.ok());
    const Day lastDay = plan->back().day;
    const Appointment lost = loseOne(planner, 1, day("2026-06-03"), AppointmentStatus::Cancelled);
    auto replacement = planner.replace(lost, r, MissedRule::AppendAtEnd, lost.endUtc);
    ASSERT_TRUE(replacement.ok()) << replacement.error().describe();
    EXPECT_GT(replacement->day, lastDay);
    EXPECT_EQ(planner.courseAppointments(1).back()->id, replacement->id);
}

TEST(MissedSessions, NextFreeSlotNeverBreaksTheWeeklyLimit) {
    // Monday-Friday clinic, 5 a week: every later week is full, so the make-up goes after the
    // course's last session even under next_free_slot.
    Planner planner(clinic());
    const CourseRules r = rules("itbs-left-dlpfc");
    auto plan = planner.planCourse(1, 1, r, day("2026-06-01"));
    ASSERT_TRUE(plan.ok());
    const Day lastDay = plan->back().day;
    const Appointment lost = loseOne(planner, 1, day("2026-06-03"), AppointmentStatus::Missed);
    auto replacement = planner.replace(lost, r, MissedRule::NextFreeSlot, lost.endUtc);
    ASSERT_TRUE(replacement.ok());
    EXPECT_EQ(weekdayIndex(lastDay), 4);             // the course ends on a Friday
    EXPECT_EQ(replacement->day, lastDay + days{3});  // and the make-up is the next Monday
}

TEST(Moves, ReportEveryConflictBeforeAnythingChanges) {
    Clinic c = clinic(2);
    c.closures[day("2026-06-04")] = "Corpus Christi";
    Planner planner(c);
    const CourseRules r = rules("itbs-left-dlpfc");
    ASSERT_TRUE(planner.planCourse(1, 1, r, day("2026-06-01")).ok());
    ASSERT_TRUE(planner.planCourse(2, 2, r, day("2026-06-01")).ok());
    const Appointment first = *planner.courseAppointments(1).front();
    const Appointment other = *planner.courseAppointments(2).front();
    const UtcMinutes now = first.startUtc - 1440;

    auto fieldsOf = [](const std::vector<Conflict>& conflicts) {
        std::set<std::string> fields;
        for (const Conflict& conflict : conflicts) {
            fields.insert(conflict.field);
        }
        return fields;
    };
    // Onto the other course's device, room and technician at the same time.
    auto clash = planner.checkMove(
        first, {other.day, other.startMin, other.deviceId, other.roomId, other.staffId}, r, now);
    EXPECT_EQ(fieldsOf(clash), (std::set<std::string>{"device", "room", "technician"}));
    // A holiday, outside hours, a weekend, a second session the same day.
    EXPECT_EQ(fieldsOf(planner.checkMove(first, {day("2026-06-04"), 9 * 60, {}, {}, {}}, r, now)),
              (std::set<std::string>{"date"}));
    EXPECT_EQ(
        fieldsOf(planner.checkMove(first, {day("2026-06-01"), 17 * 60 + 55, {}, {}, {}}, r, now)),
        (std::set<std::string>{"time", "technician"}));
    EXPECT_FALSE(planner.checkMove(first, {day("2026-06-06"), 9 * 60, {}, {}, {}}, r, now).empty());
    auto sameDay = planner.checkMove(first, {day("2026-06-02"), 16 * 60, {}, {}, {}}, r, now);
    ASSERT_EQ(sameDay.size(), 1U);
    EXPECT_NE(sameDay[0].message.find("session(s) on 2026-06-02 already"), std::string::npos);
    // The past.
    EXPECT_EQ(fieldsOf(planner.checkMove(first, {first.day, first.startMin, {}, {}, {}}, r,
                                         first.startUtc + 5)),
              (std::set<std::string>{"date"}));
    // Later the same day, on a free device: allowed, and it moves.
    const MoveRequest fine{first.day, 15 * 60, {}, {}, {}};
    EXPECT_TRUE(planner.checkMove(first, fine, r, now).empty());
    const Appointment moved = planner.applyMove(first, fine);
    EXPECT_EQ(moved.startMin, 15 * 60);
    EXPECT_EQ(planner.countConflicts(), 0);
}

TEST(Moves, RespectTheAcceleratedMinimumGap) {
    Planner planner(clinic(2));
    const CourseRules r = rules("accelerated-itbs-saint");
    auto plan = planner.planCourse(1, 1, r, day("2026-06-01"));
    ASSERT_TRUE(plan.ok());
    const auto course = planner.courseAppointments(1);
    const Appointment second = *course[1];
    // Ten minutes after the first session ends: inside the 50 min gap.
    const int tooSoon = course[0]->startMin + course[0]->durationMin + 10;
    auto conflicts =
        planner.checkMove(second, {second.day, tooSoon, {}, {}, {}}, r, second.startUtc - 1440);
    ASSERT_FALSE(conflicts.empty());
    EXPECT_NE(conflicts.front().message.find("50 min"), std::string::npos)
        << conflicts.front().message;
}

TEST(Moves, TheWeeklyLimitHolds) {
    Planner planner(sixDayClinic());
    const CourseRules r = rules("itbs-left-dlpfc");
    ASSERT_TRUE(planner.planCourse(1, 1, r, day("2026-06-01")).ok());
    // Move the second week's Monday session to the first week's Saturday: week 1 has 5.
    const Appointment monday = *planner.courseAppointments(1)[5];
    ASSERT_EQ(monday.day, day("2026-06-08"));
    auto conflicts = planner.checkMove(monday, {day("2026-06-06"), 9 * 60, {}, {}, {}}, r,
                                       monday.startUtc - 20000);
    ASSERT_EQ(conflicts.size(), 1U);
    EXPECT_NE(conflicts[0].message.find("weekly limit"), std::string::npos);
}

TEST(DeviceOutOfService, ReassignsWhereAnotherDeviceIsFreeAndListsTheRest) {
    Planner planner(clinic(2));
    const CourseRules r = rules("itbs-left-dlpfc");
    // Three courses at once on two devices: the third goes after the first two each day.
    for (int course = 1; course <= 3; ++course) {
        ASSERT_TRUE(planner.planCourse(course, course, r, day("2026-06-01")).ok());
    }
    std::int64_t onDevice1 = 0;
    for (int course = 1; course <= 3; ++course) {
        for (const Appointment* a : planner.courseAppointments(course)) {
            onDevice1 += a->deviceId == 1 ? 1 : 0;
        }
    }
    ASSERT_GT(onDevice1, 0);
    const Reassignment result = planner.takeOutOfService(1, 0);
    EXPECT_EQ(static_cast<std::int64_t>(result.moved.size() + result.unplaced.size()), onDevice1);
    for (const auto& [id, device] : result.moved) {
        EXPECT_EQ(device, 2);
        EXPECT_EQ(planner.find(id)->deviceId, 2);
    }
    EXPECT_FALSE(result.unplaced.empty());  // device 2 is busy at those times
    for (std::int64_t id : result.unplaced) {
        EXPECT_EQ(planner.find(id)->deviceId, 1);
    }
    EXPECT_EQ(planner.countConflicts(), 0);
    // New plans no longer use it.
    auto plan = planner.planCourse(4, 4, r, day("2026-06-01"));
    ASSERT_TRUE(plan.ok());
    for (const Appointment& a : *plan) {
        EXPECT_EQ(a.deviceId, 2);
    }
}

TEST(WeekHoursText, ParseClockRefusesNonsense) {
    EXPECT_EQ(parseClock("08:30", "time").value(), 510);
    EXPECT_EQ(parseClock("24:00", "time").value(), 1440);
    for (const char* bad : {"8:30", "24:30", "12:60", "ab:cd", "", "08-30"}) {
        auto parsed = parseClock(bad, "time");
        ASSERT_FALSE(parsed.ok()) << bad;
        EXPECT_EQ(parsed.error().field, "time");
    }
    EXPECT_FALSE(parseDay("2038-01-04", "start").ok());
    EXPECT_FALSE(Zone::locate("Mars/Olympus", "time_zone").ok());
}

}  // namespace
}  // namespace neuroplan::scheduling
