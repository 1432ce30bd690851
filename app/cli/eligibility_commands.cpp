// neuroplan-cli eligibility evaluate | rules
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "context.h"
#include "eligibility/evaluate.h"

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
    auto rules = eligibility::RuleSet::fromText(*text, path);
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
            << "): " << d.minTherapeuticMg.value << "  [" << d.minTherapeuticMg.from.source
            << ", " << d.minTherapeuticMg.from.confidence << "]\n";
    }
    out << "\nSeverity (latest score within " << r.lookbackDays.value << " days)\n";
    for (const auto& s : r.severity) {
        out << "  " << s.instrument << ": rTMS >= " << s.rtmsMin.value << ", VNS >= "
            << s.vnsMin.value << "  [" << s.rtmsMin.from.source << "]\n";
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
            return ctx.fail(parsed.error());
        }
        const eligibility::Evaluation result = eligibility::evaluate(*parsed, *rules);
        if (ctx.json) {
            ctx.out << eligibility::toJson(result).dump(2) << '\n';
        } else {
            ctx.out << eligibility::formatReport(result);
        }
        return ctx.ok();
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
