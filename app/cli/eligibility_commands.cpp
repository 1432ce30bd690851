// neuroplan-cli eligibility evaluate | rules
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/json_reader.h"
#include "context.h"
#include "eligibility/evaluate.h"
#include "eligibility/service.h"

namespace neuroplan::cli {

namespace {

using nlohmann::json;

/// The built-in rule set, or a clinic's edited copy from --rules (validated the same way).
Result<eligibility::RuleSet> loadRules(const std::string& path) {
    if (path.empty()) {
        return eligibility::RuleSet::builtIn();
    }
    auto text = readTextFile(path, "rules");
    NP_TRY(text);
    auto rules = eligibility::RuleSet::fromClinicCopy(*text, path);
    if (!rules) {
        const Error& e = rules.error();
        return makeError(ErrorCode::InvalidInput, "rules",
                         path + ": " + (e.field.empty() ? "" : e.field + ": ") + e.message);
    }
    return rules;
}

void printRules(std::ostream& out, const eligibility::RuleSet& r) {
    const auto value = [&](const char* what, const Sourced<double>& v) {
        out << "  " << what << ": " << v.value << (v.unit.empty() ? "" : " " + v.unit) << "  ["
            << v.from.source << ", " << v.from.confidence << "]\n";
    };
    out << "Rule set " << r.label() << "\n\nAdequacy\n";
    value("minimum weeks at dose", r.minWeeksAtDose);
    value("minimum psychotherapy sessions", r.minPsychotherapySessions);
    value("adequate failed first-line trials for refractory", r.refractoryMinAdequateFailed);
    out << "\nDrug catalog (minimum therapeutic dose, mg/day)\n";
    for (const auto& d : r.drugs) {
        out << "  " << d.agent << " (" << d.drugClass << (d.firstLine ? ", first-line" : "")
            << "): " << d.minTherapeuticMg.value << "  [" << d.minTherapeuticMg.from.source << ", "
            << d.minTherapeuticMg.from.confidence << "]\n";
    }
    out << "\nSeverity (latest score within " << r.lookbackDays.value << " days)\n";
    for (const auto& s : r.severity) {
        out << "  " << s.instrument << ": rTMS >= " << s.rtmsMin.value
            << ", VNS >= " << s.vnsMin.value << "  [" << s.rtmsMin.from.source << "]\n";
    }
    out << "\nrTMS absolute contraindications:";
    for (const auto& i : r.rtmsAbsolute) {
        out << " " << i.item;
    }
    out << "\nrTMS relative contraindications:";
    for (const auto& i : r.rtmsRelative) {
        out << " " << i.item;
    }
    out << "\nVNS contraindications:";
    for (const auto& i : r.vnsContraindications) {
        out << " " << i.item;
    }
    out << "\nVNS precautions:";
    for (const auto& i : r.vnsPrecautions) {
        out << " " << i.item;
    }
    out << "\n\nExport the whole file with sources: neuroplan-cli eligibility rules --export\n";
}

void printStored(std::ostream& out, const eligibility::StoredEvaluation& e) {
    out << "evaluation " << e.id << " of " << e.mrn << ", " << e.evaluatedUtc << " by "
        << e.evaluatedBy << " (" << e.ruleSetId << " " << e.ruleSetVersion << ")\n"
        << "  computed: status " << toString(e.status) << ", rTMS " << toString(e.rtms) << ", VNS "
        << toString(e.vns) << "\n";
    if (e.signature) {
        const auto& s = *e.signature;
        out << "  signed:   rTMS " << toString(s.rtms) << ", VNS " << toString(s.vns) << " by "
            << s.physicianName << " (" << s.physicianLogin << ") at " << s.signedUtc << "\n";
        if (s.differs) {
            out << "            differs from computed; reason: " << s.reason << "\n";
        }
    } else {
        out << "  not signed\n";
    }
    if (e.supersededBy) {
        out << "  superseded by evaluation " << *e.supersededBy << "\n";
    }
}

Result<eligibility::Decision> decisionOption(const std::string& text, const char* field) {
    if (auto d = eligibility::parseDecision(text)) {
        return *d;
    }
    return makeError(ErrorCode::InvalidInput, field,
                     "expected eligible, needs_review or not_eligible, got '" + text + "'");
}

}  // namespace

void registerEligibilityCommands(CLI::App& app, Context& ctx) {
    auto* group = app.add_subcommand(
        "eligibility", "Refractory status and rTMS / VNS screening (decision support)");
    group->require_subcommand(1);

    struct Evaluate {
        std::string casePath;
        std::string rulesPath;
    };
    auto evaluate = std::make_shared<Evaluate>();
    auto* evaluateCmd = group->add_subcommand(
        "evaluate", "Evaluate a case file (docs/case-format.md); reads no database");
    evaluateCmd->add_option("CASE", evaluate->casePath, "Case file (JSON)")->required();
    evaluateCmd->add_option("--rules", evaluate->rulesPath,
                            "A clinic's edited rule set (default: the built-in one)");
    ctx.on(evaluateCmd, [&ctx, evaluate] {
        auto rules = loadRules(evaluate->rulesPath);
        if (!rules) {
            return ctx.fail(rules.error());
        }
        auto text = readTextFile(evaluate->casePath, "case");
        if (!text) {
            return ctx.fail(text.error());
        }
        auto parsed = eligibility::parseCaseText(*text, evaluate->casePath);
        if (!parsed) {
            return ctx.failInFile(parsed.error());
        }
        const eligibility::Evaluation result = eligibility::evaluate(*parsed, *rules);
        if (ctx.json) {
            ctx.out << eligibility::toJson(result).dump(2) << '\n';
        } else {
            ctx.out << eligibility::formatReport(result);
        }
        return ctx.ok();
    });

    struct Record {
        std::string mrn;
        std::string casePath;
        std::string rulesPath;
    };
    auto recordOptions = std::make_shared<Record>();
    auto* recordCmd = group->add_subcommand(
        "record", "Evaluate a case for a registered patient and store it for sign-off");
    recordCmd->add_option("--mrn", recordOptions->mrn, "The patient's MRN")->required();
    recordCmd->add_option("CASE", recordOptions->casePath, "Case file (JSON)")->required();
    recordCmd->add_option("--rules", recordOptions->rulesPath, "A clinic's edited rule set");
    ctx.on(recordCmd, [&ctx, recordOptions] {
        auto rules = loadRules(recordOptions->rulesPath);
        if (!rules) {
            return ctx.fail(rules.error());
        }
        auto text = readTextFile(recordOptions->casePath, "case");
        if (!text) {
            return ctx.fail(text.error());
        }
        // The same strict reading as `evaluate` (a key written twice is refused) before the
        // document is bound to the patient and stored.
        if (auto checked = eligibility::parseCaseText(*text, recordOptions->casePath); !checked) {
            return ctx.failInFile(checked.error());
        }
        auto document = parseJsonText(*text, recordOptions->casePath);
        if (!document) {
            return ctx.failInFile(document.error());
        }
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto stored = eligibility::EligibilityService(store, *rules)
                              .record(actor, recordOptions->mrn, *document);
            if (!stored) {
                return ctx.failInFile(stored.error());
            }
            if (ctx.json) {
                ctx.out << eligibility::toJson(*stored).dump(2) << '\n';
            } else {
                printStored(ctx.out, *stored);
                ctx.out << "  sign with: neuroplan-cli eligibility sign --evaluation " << stored->id
                        << " --rtms " << toString(stored->rtms) << " --vns "
                        << toString(stored->vns) << "\n";
            }
            return ctx.ok();
        });
    });

    struct Sign {
        std::int64_t evaluation = 0;
        std::string rtms;
        std::string vns;
        std::string reason;
    };
    auto signOptions = std::make_shared<Sign>();
    auto* signCmd = group->add_subcommand(
        "sign",
        "Sign an evaluation (physicians only); a decision that differs from the computed "
        "one needs --reason");
    signCmd->add_option("--evaluation", signOptions->evaluation, "Evaluation id")->required();
    signCmd->add_option("--rtms", signOptions->rtms, "eligible | needs_review | not_eligible")
        ->required();
    signCmd->add_option("--vns", signOptions->vns, "eligible | needs_review | not_eligible")
        ->required();
    signCmd->add_option("--reason", signOptions->reason,
                        "Why the signed decision differs from the computed one");
    ctx.on(signCmd, [&ctx, signOptions] {
        auto rtms = decisionOption(signOptions->rtms, "rtms");
        if (!rtms) {
            return ctx.fail(rtms.error());
        }
        auto vns = decisionOption(signOptions->vns, "vns");
        if (!vns) {
            return ctx.fail(vns.error());
        }
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto signedEvaluation = eligibility::EligibilityService(store).sign(
                actor, signOptions->evaluation, *rtms, *vns, signOptions->reason);
            if (!signedEvaluation) {
                return ctx.fail(signedEvaluation.error());
            }
            if (ctx.json) {
                ctx.out << eligibility::toJson(*signedEvaluation).dump(2) << '\n';
            } else {
                printStored(ctx.out, *signedEvaluation);
            }
            return ctx.ok();
        });
    });

    auto showMrn = std::make_shared<std::string>();
    auto* showCmd =
        group->add_subcommand("show", "A patient's evaluations and signatures, newest first");
    showCmd->add_option("--mrn", *showMrn, "The patient's MRN")->required();
    ctx.on(showCmd, [&ctx, showMrn] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto history = eligibility::EligibilityService(store).history(actor, *showMrn);
            if (!history) {
                return ctx.fail(history.error());
            }
            if (ctx.json) {
                json array = json::array();
                for (const auto& e : *history) {
                    array.push_back(eligibility::toJson(e));
                }
                ctx.out << array.dump(2) << '\n';
            } else if (history->empty()) {
                ctx.out << "no eligibility evaluations for " << *showMrn << "\n";
            } else {
                for (const auto& e : *history) {
                    printStored(ctx.out, e);
                }
            }
            return ctx.ok();
        });
    });

    struct Rules {
        std::string rulesPath;
        bool exportFile = false;
    };
    auto rulesOptions = std::make_shared<Rules>();
    auto* rulesCmd = group->add_subcommand("rules", "Show the rule set's values and sources");
    rulesCmd->add_option("--rules", rulesOptions->rulesPath, "A clinic's edited rule set");
    rulesCmd->add_flag("--export", rulesOptions->exportFile,
                       "Print the built-in rule set file, to start a clinic's own copy");
    ctx.on(rulesCmd, [&ctx, rulesOptions] {
        if (rulesOptions->exportFile) {
            ctx.out << eligibility::RuleSet::builtInText();
            return ctx.ok();
        }
        auto rules = loadRules(rulesOptions->rulesPath);
        if (!rules) {
            return ctx.fail(rules.error());
        }
        printRules(ctx.out, *rules);
        return ctx.ok();
    });
}

}  // namespace neuroplan::cli
