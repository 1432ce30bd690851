// neuroplan::protocols — a protocol file (docs/protocol-format.md): an rTMS protocol or a VNS
// parameter set, told apart by "kind", and one report format for both.
#pragma once

#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "protocols/rtms.h"
#include "protocols/vns.h"

namespace neuroplan::protocols {

using Protocol = std::variant<RtmsProtocol, VnsParameters>;

/// Parses a protocol document; malformed input is an error naming the path.
Result<Protocol> parseProtocol(const nlohmann::json& document);
Result<Protocol> parseProtocolText(std::string_view text, std::string_view origin);
nlohmann::json toJson(const Protocol& protocol);

struct Report {
    Severity verdict = Severity::Ok;
    std::vector<Finding> findings;
    nlohmann::json derived;  ///< rTMS: RtmsDerived; VNS: duty cycle
};

Report validate(const Protocol& protocol, const RtmsContext& context,
                const Library& library = Library::builtIn());
/// {"verdict", "findings": [{rule, severity, message, source}], "derived"}
nlohmann::json toJson(const Report& report);
std::string formatReport(const Protocol& protocol, const Report& report);

}  // namespace neuroplan::protocols
