// neuroplan-cli protocol templates | validate | show
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "context.h"
#include "protocols/document.h"

namespace neuroplan::cli {

namespace {

using nlohmann::json;
namespace np = neuroplan::protocols;

struct ProtocolInput {
    std::string path;
    std::string templateId;
    std::string device;
    double rmt = 0;
    int mtAgeDays = -1;
};

/// The protocol from FILE or --template, with --device applied.
Result<np::Protocol> loadProtocol(const ProtocolInput& in) {
    json document;
    if (!in.path.empty() && !in.templateId.empty()) {
        return makeError(ErrorCode::InvalidInput, "template",
                         "give a FILE or --template, not both");
    }
    if (!in.templateId.empty()) {
        const np::Template* t = np::Library::builtIn().findTemplate(in.templateId);
        if (t == nullptr) {
            return makeError(
                ErrorCode::NotFound, "template",
                "no template '" + in.templateId + "' (see neuroplan-cli protocol templates)");
        }
        document = t->protocol;
    } else if (!in.path.empty()) {
        auto text = readTextFile(in.path, "protocol");
        NP_TRY(text);
        auto parsed = parseJsonText(*text, in.path);
        NP_TRY(parsed);
        document = std::move(parsed).value();
    } else {
        return makeError(ErrorCode::InvalidInput, "protocol", "give a FILE or --template ID");
    }
    auto protocol = np::parseProtocol(document);
    NP_TRY(protocol);
    if (!in.device.empty()) {
        if (auto* rtms = std::get_if<np::RtmsProtocol>(&*protocol)) {
            rtms->deviceProfile = in.device;
        } else {
            std::get<np::VnsParameters>(*protocol).generatorProfile = in.device;
        }
    }
    return protocol;
}

np::RtmsContext contextFrom(const ProtocolInput& in) {
    np::RtmsContext context;
    if (in.rmt > 0) {
        context.rmtPercentMso = in.rmt;
    }
    if (in.mtAgeDays >= 0) {
        context.mtAgeDays = in.mtAgeDays;
    }
    return context;
}

void addInputOptions(CLI::App* command, ProtocolInput& in, bool withContext) {
    command->add_option("FILE", in.path, "Protocol file (docs/protocol-format.md)");
    command->add_option("--template", in.templateId, "Use a shipped template instead of a file");
    command->add_option("--device", in.device,
                        "Target device profile (default: the file's, else "
                        "generic-rtms / vns-generator)");
    if (withContext) {
        command->add_option("--rmt", in.rmt, "The patient's resting motor threshold, %MSO")
            ->check(CLI::Range(1.0, 100.0));
        command->add_option("--mt-age-days", in.mtAgeDays, "Days since the threshold was measured")
            ->check(CLI::NonNegativeNumber);
    }
}

int exitForVerdict(np::Severity verdict) {
    return verdict == np::Severity::Ok || verdict == np::Severity::Warning ? kExitOk : kExitFailure;
}

}  // namespace

void registerProtocolCommands(CLI::App& app, Context& ctx) {
    auto* group = app.add_subcommand(
        "protocol", "rTMS and VNS protocols: templates, derived values, safety validation");
    group->require_subcommand(1);

    ctx.on(group->add_subcommand("templates",
                                 "The evidence-based rTMS templates, each with its verdict"),
           [&ctx] {
               json list = json::array();
               for (const np::Template& t : np::Library::builtIn().templates) {
                   auto protocol = np::parseProtocol(t.protocol);
                   if (!protocol) {
                       return ctx.fail(protocol.error());
                   }
                   const np::Report report = np::validate(*protocol, {});
                   if (ctx.json) {
                       json entry = np::toJson(report);
                       entry["id"] = t.id;
                       entry["label"] = t.label;
                       entry["source"] = np::describe(t.from);
                       entry["note"] = t.note;
                       entry["protocol"] = t.protocol;
                       list.push_back(entry);
                   } else {
                       const json& d = report.derived;
                       ctx.out << t.id << "  " << t.label << "\n    verdict "
                               << np::toString(report.verdict) << "; "
                               << d.value("pulses_per_session", 0) << " pulses, "
                               << d.value("session_duration_s", 0.0) << " s a session\n"
                               << "    source: " << np::describe(t.from) << "\n";
                       for (const np::Finding& f : report.findings) {
                           if (f.severity != np::Severity::Ok) {
                               ctx.out << "    [" << np::toString(f.severity) << "] " << f.rule
                                       << ": " << f.message << "\n";
                           }
                       }
                       if (!t.note.empty()) {
                           ctx.out << "    note: " << t.note << "\n";
                       }
                   }
               }
               if (ctx.json) {
                   ctx.out << list.dump(2) << '\n';
               }
               return ctx.ok();
           });

    auto validateInput = std::make_shared<ProtocolInput>();
    auto* validateCmd = group->add_subcommand(
        "validate",
        "Verdict (ok, warning, violation, invalid), findings with sources, and derived "
        "values; exit 0 for ok/warning, 1 for violation/invalid, 2 for a malformed file");
    addInputOptions(validateCmd, *validateInput, true);
    ctx.on(validateCmd, [&ctx, validateInput] {
        auto protocol = loadProtocol(*validateInput);
        if (!protocol) {
            return ctx.failInFile(protocol.error());
        }
        const np::Report report = np::validate(*protocol, contextFrom(*validateInput));
        if (ctx.json) {
            json out = np::toJson(report);
            out["protocol"] = np::toJson(*protocol);
            ctx.out << out.dump(2) << '\n';
        } else {
            ctx.out << np::formatReport(*protocol, report);
        }
        return exitForVerdict(report.verdict);
    });

    auto showInput = std::make_shared<ProtocolInput>();
    auto* showCmd = group->add_subcommand(
        "show",
        "Print a protocol (a file, or a template as a file to start from) with its "
        "derived values");
    addInputOptions(showCmd, *showInput, true);
    ctx.on(showCmd, [&ctx, showInput] {
        auto protocol = loadProtocol(*showInput);
        if (!protocol) {
            return ctx.failInFile(protocol.error());
        }
        const np::Report report = np::validate(*protocol, contextFrom(*showInput));
        if (ctx.json) {
            ctx.out << np::toJson(*protocol).dump(2) << '\n';
            return ctx.ok();
        }
        ctx.out << np::toJson(*protocol).dump(2) << "\n\nDerived: " << report.derived.dump(2)
                << "\nVerdict: " << np::toString(report.verdict)
                << " (neuroplan-cli protocol validate for the findings)\n";
        return ctx.ok();
    });
}

}  // namespace neuroplan::cli
