// neuroplan::scheduling — the scheduling rules data file (data/scheduling-v1.json): the weekly
// rhythm of each kind of course with its taper phases, appointment lengths and which staff
// roles may run a session. Each value carries its source; code holds no clinical number.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/datafile.h"
#include "base/result.h"

namespace neuroplan::scheduling {

struct TaperPhase {
    int weeks = 0;
    int sessionsPerWeek = 0;
    Provenance from;
};

struct Rhythm {
    std::string id;
    std::string label;
    std::string appliesTo;  ///< rtms | rtms_accelerated | vns
    /// rtms: sessions per ISO week; rtms_accelerated: treatment days per week; vns: unused.
    Sourced<double> perWeek;
    std::vector<TaperPhase> taper;
};

struct SchedulingRules {
    std::string version;  ///< "scheduling-v1 1.0.0"
    Sourced<double> setupMinutes;
    Sourced<double> gridMinutes;
    Sourced<double> vnsVisitMinutes;
    Sourced<double> horizonDays;
    std::vector<std::string> rtmsRoles;
    std::vector<std::string> vnsRoles;
    Provenance rolesFrom;
    std::vector<Rhythm> rhythms;
    std::map<std::string, std::string> defaults;  ///< applies_to -> rhythm id

    const Rhythm* find(std::string_view id) const;
    /// The rhythm for a course kind ("rtms", "rtms_accelerated", "vns").
    const Rhythm* defaultFor(std::string_view appliesTo) const;

    /// The built-in file, parsed once (aborts on a broken built-in file; a unit test guards it).
    static const SchedulingRules& builtIn();
};

/// Parses and checks a scheduling rules file; errors name the JSON path.
Result<SchedulingRules> loadSchedulingRules(std::string_view text, std::string_view origin);

}  // namespace neuroplan::scheduling
