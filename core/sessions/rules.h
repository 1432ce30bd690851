// neuroplan::sessions — the session rules (data/sessions-v1.json): the adverse events a
// technician records, which of them stop a session and flag the course for a physician, the
// journal's group-commit interval and how long a headless run waits for a lost link.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/datafile.h"
#include "base/result.h"

namespace neuroplan::sessions {

struct AdverseEventType {
    std::string id;  ///< headache, scalp_discomfort, syncope, seizure, ...
    std::string label;
    std::vector<std::string> modalities;  ///< rtms, vns
    bool stopsSession = false;            ///< stimulation stops at once (emergency stop)
    bool flagsReview = false;             ///< the course waits for a physician's review
    Provenance from;
};

struct SessionRules {
    std::string id;
    std::string version;
    std::vector<AdverseEventType> adverseEvents;
    Sourced<double> groupCommitMs;
    Sourced<double> linkRestoreWaitS;

    const AdverseEventType* findAdverseEvent(std::string_view id) const;
};

Result<SessionRules> loadSessionRules(std::string_view text, std::string_view origin);
/// The built-in rules (sessions-v1.json).
const SessionRules& builtInSessionRules();

/// The adverse-event severities, mildest first.
inline constexpr std::string_view kSeverities[] = {"mild", "moderate", "severe"};

}  // namespace neuroplan::sessions
