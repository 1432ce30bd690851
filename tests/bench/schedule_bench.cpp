// schedule_bench — how fast NeuroPlan plans courses (issue 8: 500 courses of 30 sessions for a
// clinic of 10 devices in under 2 s, with zero conflicts). A program that prints figures, not a
// test.
//
// The clinic: 10 rTMS devices, 10 rooms and 12 technicians, open Monday to Friday 08:00-18:00
// in Europe/Berlin, with holidays; courses of the 30-session templates (iTBS, 10 Hz, 1 Hz,
// cTBS: appointments of 10 to 45 min), 25 new courses starting each week (deterministic). It
// measures, 5 times each, on a fresh planner:
//   (a) floor: booking the same appointments into an empty occupancy with no search
//       (Planner::add of the plan from run 1): the least any planner must do
//   (b) plan:  Planner::planCourse for every course, in start order
// and prints total seconds per run, the median, per-course median and p99 latency, and the
// ratio of (b) to the floor. Then it checks the last plan independently of the planner —
// overlapping bookings of any device, room, technician or patient; sessions on closed days or
// outside opening hours; weeks over the rhythm's limit — and prints the counts.
//
// Usage: schedule_bench [--courses N] [--devices D] [--per-week W]      (docs/performance.md)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "protocols/document.h"
#include "protocols/library.h"
#include "scheduling/planner.h"

namespace {

namespace sch = neuroplan::scheduling;
using Clock = std::chrono::steady_clock;
using std::chrono::days;

constexpr int kRuns = 5;

double percentile(std::vector<double> values, double p) {
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(rank, values.size() - 1)];
}

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "schedule_bench: %s\nusage: schedule_bench [--courses N] [--devices D] "
                 "[--per-week W]\n",
                 why);
    std::exit(2);
}

sch::Clinic makeClinic(int devices) {
    sch::Clinic clinic(sch::Zone::locate("Europe/Berlin", "time_zone").value());
    for (int d = 0; d < 5; ++d) {
        clinic.opening[static_cast<std::size_t>(d)] = sch::MinuteRange{8 * 60, 18 * 60};
    }
    for (const char* holiday : {"2027-01-01", "2027-03-26", "2027-03-29", "2027-05-06",
                                "2027-05-17", "2027-10-04", "2027-12-24", "2027-12-27"}) {
        clinic.closures[sch::parseDay(holiday, "day").value()] = "holiday";
    }
    for (int i = 1; i <= devices; ++i) {
        clinic.devices.push_back({i,
                                  "rtms",
                                  "TMS " + std::to_string(i),
                                  "MagPro R30",
                                  "SN" + std::to_string(i),
                                  {"Cool-B65"},
                                  true});
        clinic.rooms.push_back({i, "Room " + std::to_string(i)});
    }
    const int technicians = devices + devices / 5;
    for (int i = 1; i <= technicians; ++i) {
        sch::StaffMember s{i, "tech" + std::to_string(i), "Technician", "technician", {}};
        for (int d = 0; d < 5; ++d) {
            // Staggered shifts: half 08:00-16:00, half 10:00-18:00.
            s.hours[static_cast<std::size_t>(d)] =
                i % 2 ? sch::MinuteRange{8 * 60, 16 * 60} : sch::MinuteRange{10 * 60, 18 * 60};
        }
        clinic.staff.push_back(std::move(s));
    }
    return clinic;
}

struct Course {
    std::int64_t id;
    sch::CourseRules rules;
    sch::Day start;
};

/// Checks a plan without the planner's data structures; returns {overlaps, closed or outside
/// hours, weeks over the limit}.
std::array<long, 3> verify(const sch::Clinic& clinic, const std::vector<sch::Appointment>& all,
                           const std::vector<Course>& courses) {
    std::map<std::pair<int, std::int64_t>, std::vector<std::pair<std::int64_t, std::int64_t>>> by;
    long outside = 0;
    for (const sch::Appointment& a : all) {
        by[{0, a.deviceId}].emplace_back(a.startUtc, a.endUtc);
        by[{1, a.roomId}].emplace_back(a.startUtc, a.endUtc);
        by[{2, a.staffId}].emplace_back(a.startUtc, a.endUtc);
        by[{3, a.patientId}].emplace_back(a.startUtc, a.endUtc);
        const auto open = clinic.openOn(a.day);
        if (!open || a.startMin < open->startMin || a.startMin + a.durationMin > open->endMin) {
            ++outside;
        }
        const sch::StaffMember* s = clinic.staffMember(a.staffId);
        const auto& shift = s->hours[static_cast<std::size_t>(sch::weekdayIndex(a.day))];
        if (!shift || a.startMin < shift->startMin || a.startMin + a.durationMin > shift->endMin) {
            ++outside;
        }
    }
    long overlaps = 0;
    for (auto& [key, intervals] : by) {
        std::sort(intervals.begin(), intervals.end());
        for (std::size_t i = 1; i < intervals.size(); ++i) {
            overlaps += intervals[i].first < intervals[i - 1].second ? 1 : 0;
        }
    }
    std::map<std::pair<std::int64_t, sch::Day>, int> weeks;
    for (const sch::Appointment& a : all) {
        ++weeks[{a.courseId, sch::weekStart(a.day)}];
    }
    long overLimit = 0;
    for (const auto& [key, count] : weeks) {
        const Course& c = courses[static_cast<std::size_t>(key.first - 1)];
        overLimit += count > c.rules.sessionsPerWeek.value_or(7) ? 1 : 0;
    }
    return {overlaps, outside, overLimit};
}

}  // namespace

int main(int argc, char** argv) {
    int courseCount = 500;
    int devices = 10;
    int perWeek = 25;
    for (int i = 1; i < argc; ++i) {
        auto next = [&]() -> int {
            if (i + 1 >= argc) {
                usage("a value is missing");
            }
            const int value = std::atoi(argv[++i]);
            if (value <= 0) {
                usage("values must be positive whole numbers");
            }
            return value;
        };
        if (std::strcmp(argv[i], "--courses") == 0) {
            courseCount = next();
        } else if (std::strcmp(argv[i], "--devices") == 0) {
            devices = next();
        } else if (std::strcmp(argv[i], "--per-week") == 0) {
            perWeek = next();
        } else {
            usage("unknown option");
        }
    }

    const sch::Clinic clinic = makeClinic(devices);
    std::vector<Course> courses;
    const char* templates[] = {"itbs-left-dlpfc", "hf-10hz-left-dlpfc", "lf-1hz-right-dlpfc",
                               "ctbs-right-dlpfc"};
    const sch::Day firstMonday = sch::parseDay("2027-01-04", "day").value();
    for (int i = 0; i < courseCount; ++i) {
        const auto* t = neuroplan::protocols::Library::builtIn().findTemplate(templates[i % 4]);
        auto rules = sch::courseRules(neuroplan::protocols::parseProtocol(t->protocol).value(),
                                      std::nullopt);
        if (!rules || rules->totalSessions() != 30) {
            usage("a template does not give a 30-session course");
        }
        // perWeek new courses a week, on varying weekdays.
        const sch::Day start = firstMonday + days{7 * (i / perWeek) + (i * 7919) % 5};
        courses.push_back({i + 1, *rules, start});
    }

    std::vector<double> planRuns;
    std::vector<double> floorRuns;
    std::vector<double> perCourseMicros;
    std::vector<sch::Appointment> lastPlan;
    long failures = 0;
    for (int run = 0; run < kRuns; ++run) {
        sch::Planner planner(clinic);
        std::vector<sch::Appointment> all;
        all.reserve(static_cast<std::size_t>(courseCount) * 30);
        const auto begin = Clock::now();
        for (const Course& c : courses) {
            const auto t0 = Clock::now();
            auto plan = planner.planCourse(c.id, c.id, c.rules, c.start);
            perCourseMicros.push_back(
                std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
            if (!plan) {
                ++failures;
                continue;
            }
            all.insert(all.end(), plan->begin(), plan->end());
        }
        planRuns.push_back(std::chrono::duration<double>(Clock::now() - begin).count());

        sch::Planner empty(clinic);
        const auto floorBegin = Clock::now();
        for (const sch::Appointment& a : all) {
            empty.add(a);
        }
        floorRuns.push_back(std::chrono::duration<double>(Clock::now() - floorBegin).count());
        lastPlan = std::move(all);
    }

    const double planMedian = percentile(planRuns, 0.5);
    const double floorMedian = percentile(floorRuns, 0.5);
    std::printf(
        "schedule_bench: %d courses of 30 sessions, %d devices, %d rooms, %zu technicians, "
        "%d new courses a week\n",
        courseCount, devices, devices, clinic.staff.size(), perWeek);
    std::printf("%-26s total s per run:", "floor (book, no search)");
    for (double s : floorRuns) {
        std::printf(" %.4f", s);
    }
    std::printf("\n%-26s median %.4f s\n", "", floorMedian);
    std::printf("%-26s total s per run:", "plan (planCourse)");
    for (double s : planRuns) {
        std::printf(" %.3f", s);
    }
    std::printf("\n%-26s median %.3f s, %.0f courses/s, per course median %.0f us, p99 %.0f us\n",
                "", planMedian, courseCount / planMedian, percentile(perCourseMicros, 0.5),
                percentile(perCourseMicros, 0.99));
    std::printf("ratio plan / floor: %.1f\n", planMedian / floorMedian);
    const auto [overlaps, outside, overLimit] = verify(clinic, lastPlan, courses);
    std::printf("appointments: %zu; courses not planned: %ld\n", lastPlan.size(), failures / kRuns);
    std::printf(
        "independent check: conflicts %ld, outside opening or working hours %ld, weeks "
        "over the limit %ld\n",
        overlaps, outside, overLimit);
    const sch::Day lastDay =
        std::max_element(lastPlan.begin(), lastPlan.end(), [](const auto& a, const auto& b) {
            return a.day < b.day;
        })->day;
    std::printf("plans run from %s to %s\n", sch::formatDay(firstMonday).c_str(),
                sch::formatDay(lastDay).c_str());
    const bool pass =
        planMedian < 2.0 && overlaps == 0 && outside == 0 && overLimit == 0 && failures == 0;
    std::printf("target (500 courses < 2 s, zero conflicts): %s\n", pass ? "met" : "NOT met");
    return pass ? 0 : 1;
}
