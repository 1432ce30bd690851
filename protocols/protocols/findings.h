// neuroplan::protocols — what validating a protocol yields: a verdict and its findings.
#pragma once

#include <string>
#include <vector>

#include "base/datafile.h"

namespace neuroplan::protocols {

/// Ordered: a verdict is the most severe finding.
enum class Severity {
    Ok,         ///< nothing to do
    Warning,    ///< the operator acknowledges it to proceed
    Violation,  ///< needs a physician's override with a written reason
    Invalid,    ///< cannot be delivered; no override
};
const char* toString(Severity severity);

struct Finding {
    std::string rule;
    Severity severity = Severity::Ok;
    std::string message;
    std::string source;  ///< "citation [id, confidence]"
};

class Findings {
  public:
    void add(std::string rule, Severity severity, std::string message, const Provenance& from);
    void add(std::string rule, Severity severity, std::string message, std::string source);
    Severity verdict() const;
    const std::vector<Finding>& list() const { return m_list; }

  private:
    std::vector<Finding> m_list;
};

std::string describe(const Provenance& from);

}  // namespace neuroplan::protocols
