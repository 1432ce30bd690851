// neuroplan::protocols — VNS parameter sets (validated against the generator's grid and the
// VNS rules) and titration plans.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/json_reader.h"
#include "protocols/findings.h"
#include "protocols/library.h"

namespace neuroplan::protocols {

struct VnsParameters {
    std::optional<double> outputCurrentMa;
    std::optional<double> pulseWidthUs;
    std::optional<double> frequencyHz;
    std::optional<double> onTimeS;
    std::optional<double> offTimeMin;
    std::optional<double> magnetCurrentMa;
    std::optional<double> magnetPulseWidthUs;
    std::optional<double> magnetOnTimeS;
    std::optional<double> lastDeliveredCurrentMa;  ///< for the step check
    std::optional<std::string> name;
    std::optional<std::string> generatorProfile;  ///< default vns-generator
    std::optional<std::string> note;
};

Result<VnsParameters> parseVns(const JsonObject& object);
nlohmann::json toJson(const VnsParameters& parameters);

struct VnsValidation {
    Severity verdict = Severity::Ok;
    std::vector<Finding> findings;
    std::optional<double> dutyCyclePercent;
};

VnsValidation validateVns(const VnsParameters& parameters,
                          const Library& library = Library::builtIn());
/// True when `currentMa` is a setting the generator can produce.
bool onCurrentGrid(const VnsGeneratorProfile& profile, double currentMa);

struct TitrationPlan {
    double startMa = 0;
    double stepMa = 0;
    int weeksBetweenSteps = 0;
    double targetMa = 0;
    double maxMa = 0;
};

/// The plan from the VNS rules' defaults, optionally overridden; a target above the maximum is
/// an error naming target_ma.
Result<TitrationPlan> makeTitrationPlan(std::optional<double> startMa, std::optional<double> stepMa,
                                        std::optional<int> weeks, std::optional<double> targetMa,
                                        const Library& library = Library::builtIn());

struct TitrationVisit {
    int week = 0;
    double currentMa = 0;
};

/// The scheduled visits (week 0 at the start current, then one step every N weeks) until the
/// target; never above the maximum.
std::vector<TitrationVisit> titrationSchedule(const TitrationPlan& plan);

/// What was found at a titration visit.
struct VisitRecord {
    double currentMa = 0;
    bool tolerated = true;
    std::optional<double> leadImpedanceOhm;
};

/// The current for the next visit: one step up from the last visit's current, held (not
/// raised) when the last visit was not tolerated, capped at the target.
double nextTitrationCurrent(const TitrationPlan& plan, const std::vector<VisitRecord>& visits);

}  // namespace neuroplan::protocols
