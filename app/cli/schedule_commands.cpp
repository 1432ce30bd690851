// neuroplan-cli schedule: clinic set-up (settings, resources, hours, holidays), plans, the
// list, moves, cancellations, check-in, warnings and the iCalendar export.
#include <CLI/CLI.hpp>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "context.h"
#include "scheduling/service.h"

namespace neuroplan::cli {

namespace {

using nlohmann::json;
namespace sch = neuroplan::scheduling;

const char* weekdayShort(sch::Day day) {
    static constexpr std::array<const char*, 7> kNames{"Mon", "Tue", "Wed", "Thu",
                                                       "Fri", "Sat", "Sun"};
    return kNames.at(static_cast<std::size_t>(sch::weekdayIndex(day)));
}

std::string line(const sch::AppointmentView& v) {
    const sch::Appointment& a = v.appointment;
    std::string text =
        sch::formatDay(a.day) + " " + weekdayShort(a.day) + " " + sch::formatClock(a.startMin) +
        "-" + sch::formatClock(a.startMin + a.durationMin) + "  " + v.mrn + " " + v.patientName +
        "  " + (v.courseKind == "vns" ? "VNS visit" : "rTMS") +
        (v.number > 0 ? " " + std::to_string(v.number) + "/" + std::to_string(v.total)
                      : std::string()) +
        "  " + v.device + (v.deviceInService ? "" : " (OUT OF SERVICE)") + "  " + v.room + "  " +
        v.staffCode + "  [" + sch::toString(a.status) + "]  appointment " + std::to_string(a.id);
    if (a.replacesId != 0) {
        text += " (replaces " + std::to_string(a.replacesId) + ")";
    }
    return text;
}

json views(const std::vector<sch::AppointmentView>& list) {
    json array = json::array();
    for (const auto& v : list) {
        array.push_back(sch::toJson(v));
    }
    return array;
}

/// Runs a signed-in scheduling command; `body(service, actor)` returns the exit code.
template <class Body>
int withSchedule(const Context& ctx, Body&& body) {
    return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
        sch::ScheduleService service(store);
        return body(service, actor);
    });
}

void registerSetup(CLI::App& schedule, Context& ctx) {
    struct Settings {
        std::string timeZone, missedRule;
    };
    auto settings = std::make_shared<Settings>();
    auto* settingsCmd = schedule.add_subcommand(
        "settings", "Show or set (admins) the clinic's time zone and missed-session rule");
    settingsCmd->add_option("--time-zone", settings->timeZone,
                            "IANA time zone of the clinic, e.g. Europe/Berlin");
    settingsCmd->add_option("--missed-rule", settings->missedRule,
                            "append_at_end | next_free_slot");
    ctx.on(settingsCmd, [&ctx, settings] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto result = settings->timeZone.empty() && settings->missedRule.empty()
                              ? service.settings(actor)
                              : service.setSettings(actor,
                                                    settings->timeZone.empty()
                                                        ? std::nullopt
                                                        : std::optional(settings->timeZone),
                                                    settings->missedRule.empty()
                                                        ? std::nullopt
                                                        : std::optional(settings->missedRule));
            if (!result) {
                return ctx.fail(result.error());
            }
            const json j{{"time_zone", result->timeZone},
                         {"missed_rule", sch::toString(result->missedRule)}};
            ctx.out << (ctx.json
                            ? j.dump(2)
                            : "time zone: " +
                                  (result->timeZone.empty() ? "(not set)" : result->timeZone) +
                                  "\nmissed-session rule: " + sch::toString(result->missedRule))
                    << '\n';
            return ctx.ok();
        });
    });

    auto* resource = schedule.add_subcommand("resource", "Devices, rooms and staff");
    resource->require_subcommand(1);
    auto device = std::make_shared<sch::DeviceInput>();
    auto* deviceCmd = resource->add_subcommand("add-device", "Add a stimulator (admins)");
    deviceCmd->add_option("--name", device->name, "What the clinic calls it, unique")->required();
    deviceCmd->add_option("--kind", device->kind, "rtms | vns")->required();
    deviceCmd->add_option("--model", device->model, "Manufacturer and model")->required();
    deviceCmd->add_option("--serial", device->serial, "Serial number, unique")->required();
    deviceCmd->add_option("--coil", device->coils, "A coil it has (repeat for several)");
    ctx.on(deviceCmd, [&ctx, device] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto d = service.addDevice(actor, *device);
            if (!d) {
                return ctx.fail(d.error());
            }
            ctx.out << (ctx.json
                            ? sch::toJson(*d).dump(2)
                            : "added device " + d->name + " (id " + std::to_string(d->id) + ")")
                    << '\n';
            return ctx.ok();
        });
    });
    auto roomName = std::make_shared<std::string>();
    auto* roomCmd = resource->add_subcommand("add-room", "Add a treatment room (admins)");
    roomCmd->add_option("--name", *roomName, "Room name, unique")->required();
    ctx.on(roomCmd, [&ctx, roomName] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto r = service.addRoom(actor, *roomName);
            if (!r) {
                return ctx.fail(r.error());
            }
            ctx.out << (ctx.json ? json{{"id", r->id}, {"name", r->name}}.dump(2)
                                 : "added room " + r->name + " (id " + std::to_string(r->id) + ")")
                    << '\n';
            return ctx.ok();
        });
    });
    auto staff = std::make_shared<sch::StaffInput>();
    auto* staffCmd = resource->add_subcommand("add-staff", "Add a staff member (admins)");
    staffCmd->add_option("--code", staff->code, "Short handle, unique (e.g. a login)")->required();
    staffCmd->add_option("--display-name", staff->displayName, "Full name")->required();
    staffCmd->add_option("--role", staff->role, "technician | nurse | physician")->required();
    staffCmd
        ->add_option("--hours", staff->hours,
                     "Working hours, e.g. \"mon-fri 08:00-16:00\" (repeat for other days)")
        ->required();
    ctx.on(staffCmd, [&ctx, staff] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto s = service.addStaff(actor, *staff);
            if (!s) {
                return ctx.fail(s.error());
            }
            ctx.out << (ctx.json ? sch::toJson(*s).dump(2)
                                 : "added " + s->role + " " + s->code + ": " +
                                       sch::formatWeekHours(s->hours))
                    << '\n';
            return ctx.ok();
        });
    });
    auto* listCmd = resource->add_subcommand(
        "list", "The clinic's settings, hours, devices, rooms, staff and closures");
    ctx.on(listCmd, [&ctx] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto r = service.resources(actor);
            if (!r) {
                return ctx.fail(r.error());
            }
            if (ctx.json) {
                ctx.out << sch::toJson(*r).dump(2) << '\n';
                return ctx.ok();
            }
            ctx.out << "time zone: "
                    << (r->settings.timeZone.empty() ? "(not set)" : r->settings.timeZone)
                    << "; missed-session rule: " << sch::toString(r->settings.missedRule)
                    << "\nopening hours: " << sch::formatWeekHours(r->opening) << "\ndevices:\n";
            for (const auto& d : r->devices) {
                ctx.out << "  " << d.name << "  " << d.kind << "  " << d.model << "  serial "
                        << d.serial << (d.inService ? "" : "  OUT OF SERVICE") << '\n';
            }
            ctx.out << "rooms:\n";
            for (const auto& room : r->rooms) {
                ctx.out << "  " << room.name << '\n';
            }
            ctx.out << "staff:\n";
            for (const auto& s : r->staff) {
                ctx.out << "  " << s.code << "  " << s.displayName << "  " << s.role << "  "
                        << sch::formatWeekHours(s.hours) << '\n';
            }
            ctx.out << "closures: " << r->closures.size() << '\n';
            return ctx.ok();
        });
    });
    struct Service {
        std::string device, reason;
    };
    for (const bool inService : {false, true}) {
        auto service = std::make_shared<Service>();
        auto* cmd = resource->add_subcommand(
            inService ? "in-service" : "out-of-service",
            inService ? "Put a device back in service"
                      : "Take a device out of service; its sessions move to another device of "
                        "its kind where one is free, the rest are listed");
        cmd->add_option("--device", service->device, "Device name")->required();
        cmd->add_option("--reason", service->reason, "Why (recorded)")->required();
        ctx.on(cmd, [&ctx, service, inService] {
            return withSchedule(ctx, [&](sch::ScheduleService& s, const records::Actor& actor) {
                auto outcome =
                    s.setDeviceInService(actor, service->device, inService, service->reason);
                if (!outcome) {
                    return ctx.fail(outcome.error());
                }
                if (ctx.json) {
                    ctx.out << json{{"device", sch::toJson(outcome->device)},
                                    {"reassigned", views(outcome->reassigned)},
                                    {"unplaced", views(outcome->unplaced)}}
                                   .dump(2)
                            << '\n';
                    return ctx.ok();
                }
                ctx.out << outcome->device.name << " is "
                        << (inService ? "in service" : "out of service") << '\n';
                for (const auto& v : outcome->reassigned) {
                    ctx.out << "  moved to " << v.device << ": " << line(v) << '\n';
                }
                if (!outcome->unplaced.empty()) {
                    ctx.out << outcome->unplaced.size()
                            << " session(s) have no other free device; move them:\n";
                    for (const auto& v : outcome->unplaced) {
                        ctx.out << "  " << line(v) << '\n';
                    }
                }
                return ctx.ok();
            });
        });
    }

    auto* hours = schedule.add_subcommand("hours", "Clinic opening hours");
    hours->require_subcommand(1);
    auto week = std::make_shared<std::vector<std::string>>();
    auto* hoursSet =
        hours->add_subcommand("set", "Set the whole week (admins); days not named are closed");
    hoursSet
        ->add_option("--week", *week,
                     "Days and hours, e.g. \"mon-fri 08:00-18:00\" \"sat 09:00-13:00\"")
        ->required();
    ctx.on(hoursSet, [&ctx, week] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto set = service.setOpeningHours(actor, *week);
            if (!set) {
                return ctx.fail(set.error());
            }
            ctx.out << "opening hours: " << sch::formatWeekHours(*set) << '\n';
            return ctx.ok();
        });
    });

    auto* holidays = schedule.add_subcommand("holidays", "Closures and public holidays");
    holidays->require_subcommand(1);
    auto file = std::make_shared<std::string>();
    auto* import = holidays->add_subcommand(
        "import", "Import all-day events of an iCalendar file as closures (admins)");
    import->add_option("FILE", *file, "An .ics file")->required();
    ctx.on(import, [&ctx, file] {
        auto text = readTextFile(*file, *file);
        if (!text) {
            return ctx.fail(text.error());
        }
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto added = service.importClosures(actor, *text, *file);
            if (!added) {
                return ctx.fail(added.error());
            }
            if (ctx.json) {
                json array = json::array();
                for (const auto& c : *added) {
                    array.push_back({{"date", sch::formatDay(c.day)}, {"label", c.label}});
                }
                ctx.out << array.dump(2) << '\n';
            } else {
                ctx.out << "imported " << added->size() << " closure day(s) from " << *file << '\n';
            }
            return ctx.ok();
        });
    });
    struct Closure {
        std::string date, label;
    };
    auto closure = std::make_shared<Closure>();
    auto* addClosure = holidays->add_subcommand("add", "Close the clinic on one day (admins)");
    addClosure->add_option("--date", closure->date, "YYYY-MM-DD")->required();
    addClosure->add_option("--label", closure->label, "Why, e.g. Staff training")->required();
    ctx.on(addClosure, [&ctx, closure] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto c = service.addClosure(actor, closure->date, closure->label);
            if (!c) {
                return ctx.fail(c.error());
            }
            ctx.out << "closed on " << sch::formatDay(c->day) << ": " << c->label << '\n';
            return ctx.ok();
        });
    });
}

}  // namespace

void registerScheduleCommands(CLI::App& app, Context& ctx) {
    auto* schedule = app.add_subcommand("schedule", "Course plans, appointments and resources");
    schedule->require_subcommand(1);
    registerSetup(*schedule, ctx);

    struct Plan {
        std::string mrn, start, rhythm;
        std::int64_t version = 0;
    };
    auto plan = std::make_shared<Plan>();
    auto* planCmd = schedule->add_subcommand(
        "plan", "Plan the sessions of a course's approved protocol version from a start date");
    planCmd->add_option("--mrn", plan->mrn, "The patient's MRN")->required();
    planCmd->add_option("--protocol", plan->version, "Approved protocol version id")->required();
    planCmd->add_option("--start", plan->start, "First day, YYYY-MM-DD")->required();
    planCmd->add_option("--rhythm", plan->rhythm,
                        "A rhythm of scheduling-v1 (default: the protocol's kind's)");
    ctx.on(planCmd, [&ctx, plan] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto result =
                service.plan(actor, plan->mrn, plan->version, plan->start,
                             plan->rhythm.empty() ? std::nullopt : std::optional(plan->rhythm));
            if (!result) {
                return ctx.fail(result.error());
            }
            if (ctx.json) {
                ctx.out << json{{"course_id", result->courseId},
                                {"rules", sch::toJson(result->rules)},
                                {"planned_end", result->plannedEnd},
                                {"appointments", views(result->appointments)}}
                               .dump(2)
                        << '\n';
                return ctx.ok();
            }
            const auto& first = result->appointments.front();
            ctx.out << "planned course " << result->courseId << ": " << result->appointments.size()
                    << " sessions, " << sch::formatDay(first.appointment.day) << " to "
                    << result->plannedEnd << " (" << first.timeZone << "), rhythm "
                    << result->rules.rhythmId << ", " << result->rules.appointmentMinutes
                    << " min each\n";
            for (const auto& v : result->appointments) {
                ctx.out << "  " << line(v) << '\n';
            }
            return ctx.ok();
        });
    });

    auto filter = std::make_shared<sch::ListFilter>();
    auto* listCmd = schedule->add_subcommand("list", "Appointments between two dates");
    listCmd->add_option("--from", filter->from, "First day, YYYY-MM-DD")->required();
    listCmd->add_option("--to", filter->to, "Last day, YYYY-MM-DD")->required();
    auto* byDevice = listCmd->add_option("--device", filter->device, "Only this device");
    auto* byTechnician =
        listCmd->add_option("--technician", filter->technician, "Only this staff member (code)");
    byDevice->excludes(byTechnician);
    listCmd->add_option("--room", filter->room, "Only this room");
    listCmd->add_flag("--all", filter->includeInactive, "Include missed and cancelled ones");
    ctx.on(listCmd, [&ctx, filter] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto list = service.list(actor, *filter);
            if (!list) {
                return ctx.fail(list.error());
            }
            if (ctx.json) {
                ctx.out << views(*list).dump(2) << '\n';
            } else {
                for (const auto& v : *list) {
                    ctx.out << line(v) << '\n';
                }
            }
            return ctx.ok();
        });
    });

    struct Move {
        sch::MoveInput input;
        bool check = false;
    };
    auto move = std::make_shared<Move>();
    auto* moveCmd = schedule->add_subcommand(
        "move", "Move one appointment; conflicts and the protocol's limits are checked");
    moveCmd->add_option("--appointment", move->input.appointmentId, "Appointment id")->required();
    moveCmd->add_option("--date", move->input.date, "New day, YYYY-MM-DD")->required();
    moveCmd->add_option("--time", move->input.time, "New start, HH:MM clinic time")->required();
    moveCmd->add_option("--device", move->input.device, "Another device");
    moveCmd->add_option("--room", move->input.room, "Another room");
    moveCmd->add_option("--technician", move->input.technician, "Another staff member (code)");
    moveCmd->add_option("--reason", move->input.reason, "Why (recorded; required to move)");
    moveCmd->add_flag("--check", move->check, "Only list the conflicts; change nothing");
    ctx.on(moveCmd, [&ctx, move] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            if (move->check) {
                auto conflicts = service.checkMove(actor, move->input);
                if (!conflicts) {
                    return ctx.fail(conflicts.error());
                }
                json array = json::array();
                for (const auto& c : *conflicts) {
                    array.push_back({{"field", c.field}, {"message", c.message}});
                    if (!ctx.json) {
                        ctx.out << c.field << ": " << c.message << '\n';
                    }
                }
                if (ctx.json) {
                    ctx.out << array.dump(2) << '\n';
                } else if (conflicts->empty()) {
                    ctx.out << "no conflicts\n";
                }
                return conflicts->empty() ? ctx.ok() : static_cast<int>(kExitFailure);
            }
            auto moved = service.move(actor, move->input);
            if (!moved) {
                return ctx.fail(moved.error());
            }
            ctx.out << (ctx.json ? sch::toJson(*moved).dump(2) : "moved: " + line(*moved)) << '\n';
            return ctx.ok();
        });
    });

    struct Cancel {
        std::int64_t appointment = 0;
        std::string reason;
        bool missed = false;
        bool noReplace = false;
    };
    auto cancel = std::make_shared<Cancel>();
    auto* cancelCmd = schedule->add_subcommand(
        "cancel",
        "Cancel an appointment (or record it missed) and re-place it by the clinic's "
        "missed-session rule");
    cancelCmd->add_option("--appointment", cancel->appointment, "Appointment id")->required();
    cancelCmd->add_option("--reason", cancel->reason, "Why (recorded)")->required();
    cancelCmd->add_flag("--missed", cancel->missed, "The patient did not come");
    cancelCmd->add_flag("--no-replace", cancel->noReplace,
                        "Do not re-place it (e.g. the course is stopped)");
    ctx.on(cancelCmd, [&ctx, cancel] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto outcome = service.cancel(actor, cancel->appointment, cancel->reason,
                                          cancel->missed, !cancel->noReplace);
            if (!outcome) {
                return ctx.fail(outcome.error());
            }
            if (ctx.json) {
                ctx.out << json{{"appointment", sch::toJson(outcome->lost)},
                                {"replacement", outcome->replacement
                                                    ? sch::toJson(*outcome->replacement)
                                                    : json(nullptr)},
                                {"replacement_problem", outcome->replacementProblem}}
                               .dump(2)
                        << '\n';
                return ctx.ok();
            }
            ctx.out << (cancel->missed ? "missed: " : "cancelled: ") << line(outcome->lost) << '\n';
            if (outcome->replacement) {
                ctx.out << "re-placed: " << line(*outcome->replacement) << '\n';
            } else if (!cancel->noReplace) {
                ctx.out << "not re-placed: " << outcome->replacementProblem << '\n';
            }
            return ctx.ok();
        });
    });

    auto checkInId = std::make_shared<std::int64_t>(0);
    auto* checkInCmd = schedule->add_subcommand("check-in", "The patient has arrived");
    checkInCmd->add_option("--appointment", *checkInId, "Appointment id")->required();
    ctx.on(checkInCmd, [&ctx, checkInId] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto done = service.checkIn(actor, *checkInId);
            if (!done) {
                return ctx.fail(done.error());
            }
            ctx.out << (ctx.json ? sch::toJson(*done).dump(2) : "checked in: " + line(*done))
                    << '\n';
            return ctx.ok();
        });
    });

    auto* behindCmd = schedule->add_subcommand(
        "behind", "Courses falling behind: overdue, missed or unplaced sessions, late ends");
    ctx.on(behindCmd, [&ctx] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto warnings = service.behind(actor);
            if (!warnings) {
                return ctx.fail(warnings.error());
            }
            json array = json::array();
            for (const auto& w : *warnings) {
                array.push_back(sch::toJson(w));
                if (!ctx.json) {
                    ctx.out << "course " << w.courseId << " (" << w.mrn << ", " << w.courseLabel
                            << "): " << w.message << '\n';
                }
            }
            if (ctx.json) {
                ctx.out << array.dump(2) << '\n';
            } else if (warnings->empty()) {
                ctx.out << "no course is behind\n";
            }
            return ctx.ok();
        });
    });

    struct Export {
        std::string path, from, to;
    };
    auto exportTo = std::make_shared<Export>();
    auto* exportCmd = schedule->add_subcommand(
        "export", "Write the appointments as an iCalendar file (times in UTC, MRNs, no names)");
    exportCmd->add_option("--ics", exportTo->path, "The .ics file to write")->required();
    exportCmd->add_option("--from", exportTo->from, "First day, YYYY-MM-DD (default: all)");
    exportCmd->add_option("--to", exportTo->to, "Last day, YYYY-MM-DD (default: all)");
    ctx.on(exportCmd, [&ctx, exportTo] {
        return withSchedule(ctx, [&](sch::ScheduleService& service, const records::Actor& actor) {
            auto text = service.exportCalendar(actor, exportTo->from, exportTo->to);
            if (!text) {
                return ctx.fail(text.error());
            }
            const std::filesystem::path path(exportTo->path);
            std::error_code ec;
            if (std::filesystem::is_directory(path, ec) ||
                (!path.parent_path().empty() &&
                 !std::filesystem::is_directory(path.parent_path(), ec))) {
                return ctx.fail(makeError(
                    ErrorCode::InvalidInput, "ics",
                    "cannot write '" + exportTo->path + "': not a file in an existing directory"));
            }
            const std::filesystem::path partial = path.string() + ".partial";
            {
                std::ofstream out(partial, std::ios::binary | std::ios::trunc);
                out << *text;
                if (!out) {
                    std::filesystem::remove(partial, ec);
                    return ctx.fail(makeError(ErrorCode::InvalidInput, "ics",
                                              "cannot write '" + exportTo->path + "'"));
                }
            }
            std::filesystem::rename(partial, path, ec);
            if (ec) {
                std::filesystem::remove(partial, ec);
                return ctx.fail(
                    makeError(ErrorCode::Storage, "ics", "cannot write '" + exportTo->path + "'"));
            }
            ctx.out << "wrote " << exportTo->path << '\n';
            return ctx.ok();
        });
    });
}

}  // namespace neuroplan::cli
