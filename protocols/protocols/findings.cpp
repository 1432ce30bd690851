#include "protocols/findings.h"

namespace neuroplan::protocols {

const char* toString(Severity severity) {
    switch (severity) {
        case Severity::Ok:
            return "ok";
        case Severity::Warning:
            return "warning";
        case Severity::Violation:
            return "violation";
        case Severity::Invalid:
            return "invalid";
    }
    return "invalid";
}

std::string describe(const Provenance& from) {
    return from.citation + " [" + from.source + ", " + from.confidence + "]";
}

void Findings::add(std::string rule, Severity severity, std::string message,
                   const Provenance& from) {
    add(std::move(rule), severity, std::move(message), describe(from));
}

void Findings::add(std::string rule, Severity severity, std::string message, std::string source) {
    m_list.push_back({std::move(rule), severity, std::move(message), std::move(source)});
}

Severity Findings::verdict() const {
    Severity worst = Severity::Ok;
    for (const Finding& f : m_list) {
        worst = std::max(worst, f.severity);
    }
    return worst;
}

}  // namespace neuroplan::protocols
