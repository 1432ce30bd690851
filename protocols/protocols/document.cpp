#include "protocols/document.h"

#include <array>
#include <cstdio>
#include <sstream>

namespace neuroplan::protocols {

using nlohmann::json;

Result<Protocol> parseProtocol(const json& document) {
    auto top = JsonObject::at(document, "");
    NP_TRY(top);
    static constexpr std::array<std::string_view, 2> kKinds{"rtms", "vns"};
    auto kind = top->optionalEnum("kind", kKinds);
    NP_TRY(kind);
    if (!*kind) {
        return makeError(ErrorCode::InvalidInput, "kind", "required (rtms or vns)");
    }
    if (**kind == "rtms") {
        auto rtms = parseRtms(*top);
        NP_TRY(rtms);
        return Protocol(std::move(rtms).value());
    }
    auto vns = parseVns(*top);
    NP_TRY(vns);
    return Protocol(std::move(vns).value());
}

Result<Protocol> parseProtocolText(std::string_view text, std::string_view origin) {
    auto document = parseJsonText(text, origin);
    NP_TRY(document);
    return parseProtocol(*document);
}

json toJson(const Protocol& protocol) {
    return std::visit([](const auto& p) { return toJson(p); }, protocol);
}

Report validate(const Protocol& protocol, const RtmsContext& context, const Library& library) {
    Report report;
    if (const auto* rtms = std::get_if<RtmsProtocol>(&protocol)) {
        RtmsValidation v = validateRtms(*rtms, context, library);
        report.verdict = v.verdict;
        report.findings = std::move(v.findings);
        report.derived = v.derived ? toJson(*v.derived) : json(nullptr);
    } else {
        VnsValidation v = validateVns(std::get<VnsParameters>(protocol), library);
        report.verdict = v.verdict;
        report.findings = std::move(v.findings);
        report.derived = json{
            {"duty_cycle_percent", v.dutyCyclePercent ? json(*v.dutyCyclePercent) : json(nullptr)}};
    }
    return report;
}

json toJson(const Report& report) {
    json findings = json::array();
    for (const Finding& f : report.findings) {
        findings.push_back({{"rule", f.rule},
                            {"severity", toString(f.severity)},
                            {"message", f.message},
                            {"source", f.source}});
    }
    return json{
        {"verdict", toString(report.verdict)}, {"findings", findings}, {"derived", report.derived}};
}

std::string formatReport(const Protocol& protocol, const Report& report) {
    std::ostringstream out;
    const json p = toJson(protocol);
    out << "Protocol: " << p.dump() << "\n\nVerdict: " << toString(report.verdict) << "\n";
    if (report.verdict == Severity::Warning) {
        out << "  (the operator acknowledges each warning to proceed)\n";
    } else if (report.verdict == Severity::Violation) {
        out << "  (needs a physician's override with a written reason)\n";
    } else if (report.verdict == Severity::Invalid) {
        out << "  (cannot be delivered; no override)\n";
    }
    if (report.derived.is_object()) {
        out << "\nDerived:\n";
        for (const auto& [key, value] : report.derived.items()) {
            if (key == "timing") {
                out << "  timing (onset to onset): " << value.dump() << "\n";
            } else {
                out << "  " << key << ": " << value.dump() << "\n";
            }
        }
    }
    out << "\nFindings:\n";
    for (Severity s : {Severity::Invalid, Severity::Violation, Severity::Warning, Severity::Ok}) {
        for (const Finding& f : report.findings) {
            if (f.severity != s) {
                continue;
            }
            out << "  [" << toString(f.severity) << "] " << f.rule << ": " << f.message << "\n";
            if (!f.source.empty()) {
                out << "      source: " << f.source << "\n";
            }
        }
    }
    return out.str();
}

}  // namespace neuroplan::protocols
