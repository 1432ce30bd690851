// neuroplan-cli mt record|list, course add|list, protocol save|versions|approve
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/json_reader.h"
#include "context.h"
#include "courses/courses.h"

namespace neuroplan::cli {

namespace {

using nlohmann::json;

void printVersion(std::ostream& out, const courses::ProtocolVersion& v) {
    out << "protocol version " << v.version << " (id " << v.id << ") of course " << v.courseId
        << (v.latest ? " [latest]" : "") << ": verdict " << v.verdict << ", sha256 "
        << v.contentSha256.substr(0, 16) << "…, saved " << v.createdUtc << " by " << v.createdBy
        << "\n";
    if (v.approval) {
        out << "  approved by " << v.approval->physicianLogin << " at " << v.approval->approvedUtc
            << " (verdict then: " << v.approval->verdictAtApproval << ")";
        if (!v.approval->overrideReason.empty()) {
            out << "; override: " << v.approval->overrideReason;
        }
        out << "\n";
    } else {
        out << "  not approved\n";
    }
    if (v.report.is_object()) {
        for (const json& f : v.report.value("findings", json::array())) {
            if (f.value("severity", "ok") != "ok") {
                out << "  [" << f.value("severity", "") << "] " << f.value("rule", "") << ": "
                    << f.value("message", "") << "\n";
            }
        }
    }
}

}  // namespace

void registerCourseCommands(CLI::App& app, Context& ctx) {
    // Motor thresholds.
    auto* mt = app.add_subcommand("mt", "Resting motor thresholds");
    mt->require_subcommand(1);
    struct MtRecord {
        std::string mrn;
        courses::MotorThresholdInput input;
    };
    auto record = std::make_shared<MtRecord>();
    auto* recordCmd = mt->add_subcommand("record", "Record a resting motor threshold");
    recordCmd->add_option("--mrn", record->mrn, "The patient's MRN")->required();
    recordCmd->add_option("--value", record->input.valuePercentMso, "Threshold in %MSO")
        ->required();
    recordCmd
        ->add_option("--method", record->input.method, "emg_relative_frequency | adaptive | visual")
        ->required();
    recordCmd->add_option("--device", record->input.device, "Stimulator")->required();
    recordCmd->add_option("--coil", record->input.coil, "Coil")->required();
    recordCmd->add_option("--date", record->input.measuredOn, "Measured on, YYYY-MM-DD")
        ->required();
    ctx.on(recordCmd, [&ctx, record] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto t = courses::CourseService(store).recordMotorThreshold(actor, record->mrn,
                                                                        record->input);
            if (!t) {
                return ctx.fail(t.error());
            }
            ctx.out << (ctx.json ? courses::toJson(*t).dump(2)
                                 : "recorded motor threshold " + std::to_string(t->id))
                    << '\n';
            return ctx.ok();
        });
    });
    auto mtMrn = std::make_shared<std::string>();
    auto* mtList = mt->add_subcommand("list", "A patient's motor thresholds, newest first");
    mtList->add_option("--mrn", *mtMrn, "The patient's MRN")->required();
    ctx.on(mtList, [&ctx, mtMrn] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto list = courses::CourseService(store).motorThresholds(actor, *mtMrn);
            if (!list) {
                return ctx.fail(list.error());
            }
            json array = json::array();
            for (const auto& t : *list) {
                array.push_back(courses::toJson(t));
                if (!ctx.json) {
                    ctx.out << t.measuredOn << "  " << t.valuePercentMso << " %MSO  " << t.method
                            << "  " << t.device << " / " << t.coil << "  by " << t.operatorLogin
                            << '\n';
                }
            }
            if (ctx.json) {
                ctx.out << array.dump(2) << '\n';
            }
            return ctx.ok();
        });
    });

    // Courses.
    auto* course = app.add_subcommand("course", "Treatment courses");
    course->require_subcommand(1);
    struct CourseAdd {
        std::string mrn, label, kind;
    };
    auto add = std::make_shared<CourseAdd>();
    auto* addCmd = course->add_subcommand("add", "Start a treatment course for a patient");
    addCmd->add_option("--mrn", add->mrn, "The patient's MRN")->required();
    addCmd->add_option("--label", add->label, "Name of the course, unique per patient")->required();
    addCmd->add_option("--kind", add->kind, "rtms | vns")->required();
    ctx.on(addCmd, [&ctx, add] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto c =
                courses::CourseService(store).createCourse(actor, add->mrn, add->label, add->kind);
            if (!c) {
                return ctx.fail(c.error());
            }
            ctx.out << (ctx.json ? courses::toJson(*c).dump(2)
                                 : "created course " + std::to_string(c->id))
                    << '\n';
            return ctx.ok();
        });
    });
    auto courseMrn = std::make_shared<std::string>();
    auto* listCmd = course->add_subcommand("list", "A patient's courses");
    listCmd->add_option("--mrn", *courseMrn, "The patient's MRN")->required();
    ctx.on(listCmd, [&ctx, courseMrn] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto list = courses::CourseService(store).courses(actor, *courseMrn);
            if (!list) {
                return ctx.fail(list.error());
            }
            json array = json::array();
            for (const auto& c : *list) {
                array.push_back(courses::toJson(c));
                if (!ctx.json) {
                    ctx.out << c.id << "  " << c.kind << "  " << c.label << '\n';
                }
            }
            if (ctx.json) {
                ctx.out << array.dump(2) << '\n';
            }
            return ctx.ok();
        });
    });

    // VNS titration.
    auto* titration = app.add_subcommand("titration", "VNS titration visits and the next step");
    titration->require_subcommand(1);
    struct Visit {
        std::int64_t course = 0;
        courses::TitrationVisitInput input;
        std::string tolerated;
        double impedance = 0;
    };
    auto visit = std::make_shared<Visit>();
    auto* visitCmd = titration->add_subcommand("record", "Record a titration visit");
    visitCmd->add_option("--course", visit->course, "VNS course id")->required();
    visitCmd->add_option("--date", visit->input.visitOn, "Visit date, YYYY-MM-DD")->required();
    visitCmd->add_option("--current", visit->input.currentMa, "Output current set, mA")->required();
    visitCmd->add_option("--tolerated", visit->tolerated, "yes | no")
        ->required()
        ->check(CLI::IsMember({"yes", "no"}));
    visitCmd->add_option("--impedance", visit->impedance, "Lead impedance, ohm");
    visitCmd->add_option("--note", visit->input.note, "Free text");
    ctx.on(visitCmd, [&ctx, visit] {
        courses::TitrationVisitInput input = visit->input;
        input.tolerated = visit->tolerated == "yes";
        if (visit->impedance != 0) {
            input.leadImpedanceOhm = visit->impedance;
        }
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto recorded =
                courses::CourseService(store).recordTitrationVisit(actor, visit->course, input);
            if (!recorded) {
                return ctx.fail(recorded.error());
            }
            auto status = courses::CourseService(store).titration(actor, visit->course);
            if (!status) {
                return ctx.fail(status.error());
            }
            if (ctx.json) {
                ctx.out << courses::toJson(*status).dump(2) << '\n';
            } else {
                ctx.out << "recorded titration visit " << recorded->id << "; next current "
                        << status->nextCurrentMa << " mA"
                        << (status->held ? " (held: the visit was not tolerated)" : "") << '\n';
            }
            return ctx.ok();
        });
    });
    auto showCourse = std::make_shared<std::int64_t>(0);
    auto* showCmd = titration->add_subcommand("show", "The plan, the visits and the next step");
    showCmd->add_option("--course", *showCourse, "VNS course id")->required();
    ctx.on(showCmd, [&ctx, showCourse] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto status = courses::CourseService(store).titration(actor, *showCourse);
            if (!status) {
                return ctx.fail(status.error());
            }
            if (ctx.json) {
                ctx.out << courses::toJson(*status).dump(2) << '\n';
                return ctx.ok();
            }
            const auto& p = status->plan;
            ctx.out << "plan: " << p.startMa << " mA, +" << p.stepMa << " mA every "
                    << p.weeksBetweenSteps << " weeks to " << p.targetMa << " mA (maximum "
                    << p.maxMa << " mA)\n";
            for (const auto& v : status->visits) {
                ctx.out << "  " << v.visit.visitOn << "  " << v.visit.currentMa << " mA  "
                        << (v.visit.tolerated ? "tolerated" : "NOT tolerated");
                if (v.visit.leadImpedanceOhm) {
                    ctx.out << "  impedance " << *v.visit.leadImpedanceOhm << " ohm";
                }
                ctx.out << '\n';
            }
            ctx.out << "next: " << status->nextCurrentMa << " mA" << (status->held ? " (held)" : "")
                    << (status->atTarget ? " (at target)" : "") << '\n';
            return ctx.ok();
        });
    });

    // Stored protocols: added to the `protocol` group registered by registerProtocolCommands.
    CLI::App* protocol = app.get_subcommand("protocol");
    struct Save {
        std::int64_t course = 0;
        std::string path;
    };
    auto save = std::make_shared<Save>();
    auto* saveCmd = protocol->add_subcommand(
        "save", "Validate a protocol file and store it as the course's next version");
    saveCmd->add_option("--course", save->course, "Course id")->required();
    saveCmd->add_option("FILE", save->path, "Protocol file")->required();
    ctx.on(saveCmd, [&ctx, save] {
        auto text = readTextFile(save->path, "protocol");
        if (!text) {
            return ctx.fail(text.error());
        }
        auto document = parseJsonText(*text, save->path);
        if (!document) {
            return ctx.failInFile(document.error());
        }
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto v = courses::CourseService(store).saveProtocol(actor, save->course, *document);
            if (!v) {
                return ctx.failInFile(v.error());
            }
            if (ctx.json) {
                ctx.out << courses::toJson(*v).dump(2) << '\n';
            } else {
                printVersion(ctx.out, *v);
            }
            return ctx.ok();
        });
    });

    auto versionsCourse = std::make_shared<std::int64_t>(0);
    auto* versionsCmd = protocol->add_subcommand("versions", "A course's protocol versions");
    versionsCmd->add_option("--course", *versionsCourse, "Course id")->required();
    ctx.on(versionsCmd, [&ctx, versionsCourse] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto list = courses::CourseService(store).versions(actor, *versionsCourse);
            if (!list) {
                return ctx.fail(list.error());
            }
            json array = json::array();
            for (const auto& v : *list) {
                array.push_back(courses::toJson(v));
                if (!ctx.json) {
                    printVersion(ctx.out, v);
                }
            }
            if (ctx.json) {
                ctx.out << array.dump(2) << '\n';
            }
            return ctx.ok();
        });
    });

    struct Approve {
        std::int64_t version = 0;
        bool acknowledge = false;
        std::string overrideReason;
    };
    auto approve = std::make_shared<Approve>();
    auto* approveCmd = protocol->add_subcommand(
        "approve", "Approve a course's latest protocol version (physicians only)");
    approveCmd->add_option("--version", approve->version, "Protocol version id")->required();
    approveCmd->add_flag("--acknowledge-warnings", approve->acknowledge,
                         "Acknowledge the protocol's warnings");
    approveCmd->add_option("--override-reason", approve->overrideReason,
                           "Why a protocol that violates a safety limit is approved");
    ctx.on(approveCmd, [&ctx, approve] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto v = courses::CourseService(store).approve(
                actor, approve->version, approve->acknowledge, approve->overrideReason);
            if (!v) {
                return ctx.fail(v.error());
            }
            if (ctx.json) {
                ctx.out << courses::toJson(*v).dump(2) << '\n';
            } else {
                printVersion(ctx.out, *v);
            }
            return ctx.ok();
        });
    });
}

}  // namespace neuroplan::cli
