// neuroplan::protocols — rTMS protocols: the parameter set, what follows from it (pulses,
// duration, output in %MSO, the canonical three-level timing) and its validation against the
// safety tables and the target device profile.
//
// Timing words: train_duration_s is how long a train (TBS: the "on" time) lasts;
// inter_train_interval_s is the PAUSE after it (NeuroStar's "26 s"), so trains start every
// train_duration_s + inter_train_interval_s. The canonical form (NIBS-BIDS) measures every
// interval onset to onset.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/json_reader.h"
#include "protocols/findings.h"
#include "protocols/library.h"

namespace neuroplan::protocols {

struct RtmsProtocol {
    std::string pattern;  ///< conventional | itbs | ctbs
    std::optional<std::string> name;
    std::optional<double> frequencyHz;  ///< conventional: pulse frequency within a train
    std::optional<double> intensityPercentRmt;
    std::optional<double> trainDurationS;
    std::optional<double> interTrainIntervalS;
    std::optional<long long> trains;
    std::optional<double> burstFrequencyHz;   ///< TBS: pulses within a burst (default 50)
    std::optional<long long> pulsesPerBurst;  ///< TBS (default 3)
    std::optional<double> burstRateHz;        ///< TBS: bursts per second (default 5)
    std::optional<std::string> target;
    std::optional<std::string> coil;
    std::optional<long long> sessionsPerDay;  ///< default 1
    std::optional<double> minMinutesBetweenSessions;
    std::optional<long long> sessionsInCourse;
    std::optional<std::string> deviceProfile;  ///< default generic-rtms
    std::optional<std::string> note;

    bool thetaBurst() const { return pattern == "itbs" || pattern == "ctbs"; }
};

/// Reads an rTMS protocol object. Malformed input (wrong types, unknown keys or enum values) is
/// an error naming the path; missing or non-positive values are left for validation, which
/// calls them invalid.
Result<RtmsProtocol> parseRtms(const JsonObject& object);
nlohmann::json toJson(const RtmsProtocol& protocol);

struct RtmsDerived {
    long long pulsesPerTrain = 0;
    long long pulsesPerSession = 0;
    double sessionDurationS = 0;
    long long dailyPulses = 0;
    long long coursePulses = 0;
    std::optional<double> outputPercentMso;
    // Canonical timing, onset to onset (NIBS-BIDS).
    double interPulseIntervalS = 0;
    long long pulsesInBurst = 0;
    double interBurstIntervalS = 0;
    long long burstsInTrain = 0;
    double interTrainIntervalS = 0;
    long long trainsInProtocol = 0;
};

/// Where and on whom the protocol would run.
struct RtmsContext {
    std::optional<double> rmtPercentMso;  ///< the patient's current resting motor threshold
    std::optional<int> mtAgeDays;         ///< days since it was determined
};

struct RtmsValidation {
    Severity verdict = Severity::Ok;
    std::vector<Finding> findings;
    std::optional<RtmsDerived> derived;  ///< empty when values needed for it are missing
};

RtmsValidation validateRtms(const RtmsProtocol& protocol, const RtmsContext& context,
                            const Library& library = Library::builtIn());
nlohmann::json toJson(const RtmsDerived& derived);

}  // namespace neuroplan::protocols
