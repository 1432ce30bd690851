// neuroplan::protocols — the clinical data the protocol rules read, each value with its source:
// rTMS safety limits (Wassermann table, Chen inter-train intervals, theta-burst and accelerated
// limits), device profiles, VNS rules and titration defaults, and the rTMS templates.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/datafile.h"
#include "base/result.h"

namespace neuroplan::protocols {

/// One cell of Wassermann's table: the longest train in seconds, and whether it was only the
/// longest tested (">" cells) rather than a limit.
struct TrainLimit {
    double seconds = 0;
    bool longestTested = false;
};

struct SafetyRules {
    std::string version;
    Provenance policyFrom;  ///< NeuroPlan's own rule that every value must be given and positive
    std::vector<double> wassermannFrequenciesHz;
    std::vector<double> wassermannIntensities;
    std::vector<std::vector<TrainLimit>> wassermann;  ///< [frequency row][intensity column]
    Provenance wassermannFrom;
    Sourced<double> itiViolationBelowS;
    Sourced<double> itiViolationMinFrequencyHz;
    Sourced<double> itiWarningBelowS;
    Sourced<double> itiWarningMinFrequencyHz;
    Sourced<double> itiAboveIntensity;
    Sourced<double> tbsIntensityWarning;
    Sourced<double> tbsIntensityViolation;
    Sourced<double> tbsPulsesWarning;
    Sourced<double> tbsPulsesViolation;
    Sourced<double> tbsDefaultBurstFrequencyHz;  ///< used when a TBS protocol gives none
    Sourced<double> tbsDefaultPulsesPerBurst;
    Sourced<double> tbsDefaultBurstRateHz;
    Sourced<double> acceleratedMinGapMin;
    Sourced<double> acceleratedMaxSessionsPerDay;
    Sourced<double> acceleratedMaxPulsesPerDay;
    Sourced<double> mtRedeterminationDays;
    Sourced<double> maxOutputPercentMso;
};

struct RtmsDeviceProfile {
    std::string id;
    std::string label;
    Provenance from;
    std::vector<std::string> patterns;
    Sourced<double> minFrequencyHz;
    Sourced<double> maxFrequencyHz;
    Sourced<double> minTrainS;
    Sourced<double> maxTrainS;
    Sourced<double> maxPulsesPerTrain;
    std::optional<Sourced<double>> maxTrains;
};

struct Range {
    double min = 0;
    double max = 0;
};

struct VnsGeneratorProfile {
    std::string id;
    std::string label;
    Range currentMa;
    double fineStepMa = 0;
    double fineStepUpToMa = 0;
    double coarseStepMa = 0;
    std::vector<double> pulseWidthsUs;
    std::vector<double> frequenciesHz;
    Range onTimeS;
    Range offTimeMin;
    Provenance from;
};

struct VnsRules {
    Provenance policyFrom;
    Sourced<double> dutyCycleWarningPercent;
    Sourced<double> currentStepWarningMa;
    Sourced<double> titrationStartMa;
    Sourced<double> titrationStepMa;
    Sourced<double> titrationWeeks;
    Sourced<double> titrationTargetMa;
    Sourced<double> titrationMaxMa;
};

struct Template {
    std::string id;
    std::string label;
    std::string note;
    Provenance from;
    nlohmann::json protocol;  ///< a protocol file body
};

/// Everything built into the program, parsed once (aborts on a broken built-in file; unit tests
/// guard that).
struct Library {
    SafetyRules safety;
    std::vector<RtmsDeviceProfile> rtmsProfiles;
    std::vector<VnsGeneratorProfile> vnsProfiles;
    VnsRules vns;
    std::vector<Template> templates;

    const RtmsDeviceProfile* findRtmsProfile(std::string_view id) const;
    const VnsGeneratorProfile* findVnsProfile(std::string_view id) const;
    const Template* findTemplate(std::string_view id) const;

    static const Library& builtIn();
};

Result<SafetyRules> loadSafetyRules(std::string_view text, std::string_view origin);
Result<std::vector<RtmsDeviceProfile>> loadRtmsProfiles(std::string_view text,
                                                        std::string_view origin);
Result<std::vector<VnsGeneratorProfile>> loadVnsProfiles(std::string_view text,
                                                         std::string_view origin);
struct DeviceProfiles {
    std::vector<RtmsDeviceProfile> rtms;
    std::vector<VnsGeneratorProfile> vns;
};
/// Both kinds of profile from one parse of the device-profiles file.
Result<DeviceProfiles> loadDeviceProfiles(std::string_view text, std::string_view origin);
Result<VnsRules> loadVnsRules(std::string_view text, std::string_view origin);
Result<std::vector<Template>> loadTemplates(std::string_view text, std::string_view origin);

}  // namespace neuroplan::protocols
