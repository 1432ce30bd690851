#include "protocols/rtms.h"

#include <array>
#include <cmath>
#include <cstdio>

#include "base/format.h"

namespace neuroplan::protocols {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 3> kPatterns{"conventional", "itbs", "ctbs"};
constexpr double kEpsilon = 1e-9;

/// Index of the first entry >= value ("rounded up to the next row/column"), or npos.
std::size_t roundUp(const std::vector<double>& steps, double value) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
        if (value <= steps[i] + kEpsilon) {
            return i;
        }
    }
    return std::string::npos;
}

class RtmsValidator {
  public:
    RtmsValidator(const RtmsProtocol& p, const RtmsContext& c, const Library& l)
        : m_p(p), m_context(c), m_library(l), m_safety(l.safety) {}

    RtmsValidation run() {
        const std::string profileId = m_p.deviceProfile.value_or("generic-rtms");
        m_profile = m_library.findRtmsProfile(profileId);
        if (m_profile == nullptr) {
            m_findings.add("device.profile", Severity::Invalid,
                           "unknown device profile '" + profileId + "'", m_safety.policyFrom);
        }
        const bool complete = requireValues();
        RtmsValidation result;
        if (complete) {
            const RtmsDerived derived = derive();
            result.derived = derived;
            if (m_profile != nullptr) {
                checkDevice(derived);
            }
            checkOutput(derived);
            if (m_p.thetaBurst()) {
                checkThetaBurst(derived);
            } else {
                checkWassermann();
                checkInterTrainInterval();
            }
            checkAccelerated(derived);
        }
        result.findings = m_findings.list();
        result.verdict = m_findings.verdict();
        return result;
    }

  private:
    double burstFrequency() const {
        return m_p.burstFrequencyHz.value_or(m_safety.tbsDefaultBurstFrequencyHz.value);
    }
    long long pulsesPerBurst() const {
        return m_p.pulsesPerBurst.value_or(std::llround(m_safety.tbsDefaultPulsesPerBurst.value));
    }
    double burstRate() const {
        return m_p.burstRateHz.value_or(m_safety.tbsDefaultBurstRateHz.value);
    }
    long long sessionsPerDay() const { return m_p.sessionsPerDay.value_or(1); }

    /// Missing or non-positive values make the protocol invalid; each is named.
    bool requireValues() {
        bool complete = true;
        const auto positive = [&](const char* field, std::optional<double> value) {
            if (!value) {
                m_findings.add("value.missing", Severity::Invalid,
                               std::string(field) + " is missing", m_safety.policyFrom);
                complete = false;
            } else if (*value <= 0) {
                m_findings.add(
                    "value.non_positive", Severity::Invalid,
                    std::string(field) + " must be positive, got " + formatNumber(*value),
                    m_safety.policyFrom);
                complete = false;
            }
        };
        const auto asDouble = [](std::optional<long long> v) -> std::optional<double> {
            return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
        };
        if (!m_p.thetaBurst()) {
            positive("frequency_hz", m_p.frequencyHz);
        } else {
            positive("burst_frequency_hz", burstFrequency());
            positive("pulses_per_burst", static_cast<double>(pulsesPerBurst()));
            positive("burst_rate_hz", burstRate());
        }
        positive("intensity_percent_rmt", m_p.intensityPercentRmt);
        positive("train_duration_s", m_p.trainDurationS);
        positive("trains", asDouble(m_p.trains));
        positive("sessions_per_day", static_cast<double>(sessionsPerDay()));
        positive("sessions_in_course", asDouble(m_p.sessionsInCourse));
        if (m_p.trains && *m_p.trains > 1) {
            positive("inter_train_interval_s", m_p.interTrainIntervalS);
        } else if (m_p.interTrainIntervalS && *m_p.interTrainIntervalS < 0) {
            positive("inter_train_interval_s", m_p.interTrainIntervalS);
        }
        if (sessionsPerDay() > 1 && m_p.minMinutesBetweenSessions &&
            *m_p.minMinutesBetweenSessions < 0) {
            positive("min_minutes_between_sessions", m_p.minMinutesBetweenSessions);
        }
        return complete;
    }

    RtmsDerived derive() const {
        RtmsDerived d;
        const double on = *m_p.trainDurationS;
        const double gap = m_p.interTrainIntervalS.value_or(0);
        const long long trains = *m_p.trains;
        if (m_p.thetaBurst()) {
            d.interPulseIntervalS = 1.0 / burstFrequency();
            d.pulsesInBurst = pulsesPerBurst();
            d.interBurstIntervalS = 1.0 / burstRate();
            d.burstsInTrain = static_cast<long long>(std::floor(on * burstRate() + kEpsilon));
            d.interTrainIntervalS = trains > 1 ? on + gap : 0;
            d.trainsInProtocol = trains;
            d.pulsesPerTrain = d.burstsInTrain * d.pulsesInBurst;
        } else {
            // A conventional train is the burst level of the canonical form.
            d.interPulseIntervalS = 1.0 / *m_p.frequencyHz;
            d.pulsesPerTrain = std::llround(*m_p.frequencyHz * on);
            d.pulsesInBurst = d.pulsesPerTrain;
            d.interBurstIntervalS = trains > 1 ? on + gap : 0;
            d.burstsInTrain = trains;
            d.interTrainIntervalS = 0;
            d.trainsInProtocol = 1;
        }
        d.pulsesPerSession = d.pulsesPerTrain * trains;
        d.sessionDurationS =
            static_cast<double>(trains) * on + static_cast<double>(trains - 1) * gap;
        d.dailyPulses = d.pulsesPerSession * sessionsPerDay();
        d.coursePulses = d.pulsesPerSession * m_p.sessionsInCourse.value_or(0);
        if (m_context.rmtPercentMso) {
            d.outputPercentMso = *m_context.rmtPercentMso * *m_p.intensityPercentRmt / 100.0;
        }
        return d;
    }

    void checkDevice(const RtmsDerived& d) {
        const RtmsDeviceProfile& profile = *m_profile;
        bool patternOk = false;
        for (const auto& pattern : profile.patterns) {
            patternOk = patternOk || pattern == m_p.pattern;
        }
        if (!patternOk) {
            m_findings.add("device.pattern", Severity::Invalid,
                           profile.label + " cannot deliver " + m_p.pattern, profile.from);
        }
        const double frequency = m_p.thetaBurst() ? burstFrequency() : *m_p.frequencyHz;
        const bool lowFrequency = frequency < profile.minFrequencyHz.value - kEpsilon;
        if (lowFrequency || frequency > profile.maxFrequencyHz.value + kEpsilon) {
            m_findings.add(
                "device.frequency", Severity::Invalid,
                formatNumber(frequency) + " Hz is outside " + profile.label + "'s " +
                    formatNumber(profile.minFrequencyHz.value) + "-" +
                    formatNumber(profile.maxFrequencyHz.value) + " Hz",
                lowFrequency ? profile.minFrequencyHz.from : profile.maxFrequencyHz.from);
        }
        const double train = *m_p.trainDurationS;
        const bool shortTrain = train < profile.minTrainS.value - kEpsilon;
        if (shortTrain || train > profile.maxTrainS.value + kEpsilon) {
            m_findings.add("device.train_duration", Severity::Invalid,
                           formatNumber(train) + " s trains are outside " + profile.label + "'s " +
                               formatNumber(profile.minTrainS.value) + "-" +
                               formatNumber(profile.maxTrainS.value) + " s",
                           shortTrain ? profile.minTrainS.from : profile.maxTrainS.from);
        }
        if (static_cast<double>(d.pulsesPerTrain) > profile.maxPulsesPerTrain.value + kEpsilon) {
            m_findings.add("device.pulses_per_train", Severity::Invalid,
                           std::to_string(d.pulsesPerTrain) + " pulses per train exceed " +
                               profile.label + "'s " +
                               formatNumber(profile.maxPulsesPerTrain.value),
                           profile.maxPulsesPerTrain.from);
        }
        if (profile.maxTrains &&
            static_cast<double>(*m_p.trains) > profile.maxTrains->value + kEpsilon) {
            m_findings.add("device.trains", Severity::Invalid,
                           std::to_string(*m_p.trains) + " trains exceed " + profile.label + "'s " +
                               formatNumber(profile.maxTrains->value),
                           profile.maxTrains->from);
        }
    }

    void checkOutput(const RtmsDerived& d) {
        const Sourced<double>& max = m_safety.maxOutputPercentMso;
        if (!d.outputPercentMso) {
            m_findings.add("output.motor_threshold", Severity::Ok,
                           "no motor threshold given: the output in %MSO is not computed", "");
        } else if (*d.outputPercentMso > max.value + kEpsilon) {
            m_findings.add("output.max_mso", Severity::Invalid,
                           "output " + formatNumber(*d.outputPercentMso) + " %MSO (RMT " +
                               formatNumber(*m_context.rmtPercentMso) + " %MSO x " +
                               formatNumber(*m_p.intensityPercentRmt) + " %) exceeds " +
                               formatNumber(max.value) + " %MSO",
                           max.from);
        }
        const Sourced<double>& interval = m_safety.mtRedeterminationDays;
        if (m_context.mtAgeDays && *m_context.mtAgeDays > interval.value) {
            m_findings.add("mt.stale", Severity::Warning,
                           "the motor threshold is " + std::to_string(*m_context.mtAgeDays) +
                               " days old; re-determine it every " + formatNumber(interval.value) +
                               " days",
                           interval.from);
        }
    }

    void checkWassermann() {
        const double frequency = *m_p.frequencyHz;
        const double intensity = *m_p.intensityPercentRmt;
        const double train = *m_p.trainDurationS;
        const std::size_t row = roundUp(m_safety.wassermannFrequenciesHz, frequency);
        const std::size_t column = roundUp(m_safety.wassermannIntensities, intensity);
        if (row == std::string::npos || column == std::string::npos) {
            m_findings.add("wassermann.outside_table", Severity::Violation,
                           formatNumber(frequency) + " Hz at " + formatNumber(intensity) +
                               " % RMT is outside the safety table (up to " +
                               formatNumber(m_safety.wassermannFrequenciesHz.back()) + " Hz and " +
                               formatNumber(m_safety.wassermannIntensities.back()) + " %)",
                           m_safety.wassermannFrom);
            return;
        }
        const TrainLimit& limit = m_safety.wassermann[row][column];
        const std::string cell =
            "the table row " + formatNumber(m_safety.wassermannFrequenciesHz[row]) +
            " Hz, column " + formatNumber(m_safety.wassermannIntensities[column]) +
            " %: " + (limit.longestTested ? ">" : "") + formatNumber(limit.seconds) + " s";
        if (train <= limit.seconds + kEpsilon) {
            m_findings.add("wassermann.train_duration", Severity::Ok,
                           formatNumber(train) + " s trains are within " + cell,
                           m_safety.wassermannFrom);
        } else if (limit.longestTested) {
            m_findings.add(
                "wassermann.train_duration", Severity::Warning,
                formatNumber(train) + " s trains are longer than the longest tested (" + cell + ")",
                m_safety.wassermannFrom);
        } else {
            m_findings.add("wassermann.train_duration", Severity::Violation,
                           formatNumber(train) + " s trains exceed the safe maximum (" + cell + ")",
                           m_safety.wassermannFrom);
        }
    }

    void checkInterTrainInterval() {
        if (!m_p.trains || *m_p.trains <= 1) {
            return;
        }
        const double gap = *m_p.interTrainIntervalS;
        const double frequency = *m_p.frequencyHz;
        const double intensity = *m_p.intensityPercentRmt;
        if (intensity <= m_safety.itiAboveIntensity.value + kEpsilon) {
            return;
        }
        const std::string what = formatNumber(gap) + " s between trains at " +
                                 formatNumber(frequency) + " Hz and " + formatNumber(intensity) +
                                 " % RMT";
        if (frequency >= m_safety.itiViolationMinFrequencyHz.value - kEpsilon &&
            gap < m_safety.itiViolationBelowS.value - kEpsilon) {
            m_findings.add(
                "iti.minimum", Severity::Violation,
                what + " is below " + formatNumber(m_safety.itiViolationBelowS.value) + " s",
                m_safety.itiViolationBelowS.from);
        } else if (frequency >= m_safety.itiWarningMinFrequencyHz.value - kEpsilon &&
                   gap < m_safety.itiWarningBelowS.value - kEpsilon) {
            m_findings.add(
                "iti.short", Severity::Warning,
                what + " is below " + formatNumber(m_safety.itiWarningBelowS.value) + " s",
                m_safety.itiWarningBelowS.from);
        }
    }

    void checkThetaBurst(const RtmsDerived& d) {
        const double intensity = *m_p.intensityPercentRmt;
        if (intensity > m_safety.tbsIntensityViolation.value + kEpsilon) {
            m_findings.add("tbs.intensity", Severity::Violation,
                           formatNumber(intensity) + " % RMT is above " +
                               formatNumber(m_safety.tbsIntensityViolation.value) +
                               " % for theta burst",
                           m_safety.tbsIntensityViolation.from);
        } else if (intensity > m_safety.tbsIntensityWarning.value + kEpsilon) {
            m_findings.add("tbs.intensity", Severity::Warning,
                           formatNumber(intensity) + " % RMT is above " +
                               formatNumber(m_safety.tbsIntensityWarning.value) +
                               " % for theta burst",
                           m_safety.tbsIntensityWarning.from);
        }
        const auto pulses = static_cast<double>(d.pulsesPerSession);
        if (pulses > m_safety.tbsPulsesViolation.value + kEpsilon) {
            m_findings.add("tbs.pulses", Severity::Violation,
                           std::to_string(d.pulsesPerSession) + " pulses a session exceed " +
                               formatNumber(m_safety.tbsPulsesViolation.value),
                           m_safety.tbsPulsesViolation.from);
        } else if (pulses > m_safety.tbsPulsesWarning.value + kEpsilon) {
            m_findings.add("tbs.pulses", Severity::Warning,
                           std::to_string(d.pulsesPerSession) + " pulses a session exceed " +
                               formatNumber(m_safety.tbsPulsesWarning.value),
                           m_safety.tbsPulsesWarning.from);
        }
    }

    void checkAccelerated(const RtmsDerived& d) {
        const long long perDay = sessionsPerDay();
        if (perDay <= 1) {
            return;
        }
        const double gap = m_p.minMinutesBetweenSessions.value_or(0);
        if (gap < m_safety.acceleratedMinGapMin.value - kEpsilon) {
            m_findings.add("accelerated.gap", Severity::Violation,
                           std::to_string(perDay) + " sessions a day need at least " +
                               formatNumber(m_safety.acceleratedMinGapMin.value) +
                               " minutes between them, got " + formatNumber(gap),
                           m_safety.acceleratedMinGapMin.from);
        }
        if (static_cast<double>(perDay) > m_safety.acceleratedMaxSessionsPerDay.value + kEpsilon) {
            m_findings.add("accelerated.sessions_per_day", Severity::Violation,
                           std::to_string(perDay) + " sessions a day exceed " +
                               formatNumber(m_safety.acceleratedMaxSessionsPerDay.value),
                           m_safety.acceleratedMaxSessionsPerDay.from);
        }
        if (static_cast<double>(d.dailyPulses) >
            m_safety.acceleratedMaxPulsesPerDay.value + kEpsilon) {
            m_findings.add("accelerated.daily_pulses", Severity::Violation,
                           std::to_string(d.dailyPulses) + " pulses a day exceed " +
                               formatNumber(m_safety.acceleratedMaxPulsesPerDay.value),
                           m_safety.acceleratedMaxPulsesPerDay.from);
        }
    }

    const RtmsProtocol& m_p;
    const RtmsContext& m_context;
    const Library& m_library;
    const SafetyRules& m_safety;
    const RtmsDeviceProfile* m_profile = nullptr;
    Findings m_findings;
};

}  // namespace

Result<RtmsProtocol> parseRtms(const JsonObject& o) {
    NP_TRY(o.allowOnly({"kind", "name", "pattern", "frequency_hz", "intensity_percent_rmt",
                        "train_duration_s", "inter_train_interval_s", "trains",
                        "burst_frequency_hz", "pulses_per_burst", "burst_rate_hz", "target", "coil",
                        "sessions_per_day", "min_minutes_between_sessions", "sessions_in_course",
                        "device_profile", "note"}));
    RtmsProtocol p;
    auto pattern = o.optionalEnum("pattern", kPatterns);
    NP_TRY(pattern);
    if (!*pattern) {
        return makeError(ErrorCode::InvalidInput, o.pathOf("pattern"),
                         "required (conventional, itbs or ctbs)");
    }
    p.pattern = **pattern;
    const double any = -1e300;  // sign is checked by validation, which names it invalid
    const auto number = [&](const char* key, std::optional<double>& out) -> Status {
        auto value = o.optionalNumber(key, any);
        NP_TRY(value);
        out = *value;
        return {};
    };
    const auto integer = [&](const char* key, std::optional<long long>& out) -> Status {
        auto value = o.optionalInteger(key, std::numeric_limits<long long>::min());
        NP_TRY(value);
        out = *value;
        return {};
    };
    const auto text = [&](const char* key, std::optional<std::string>& out) -> Status {
        auto value = o.optionalString(key);
        NP_TRY(value);
        out = *value;
        return {};
    };
    NP_TRY(text("name", p.name));
    NP_TRY(number("frequency_hz", p.frequencyHz));
    NP_TRY(number("intensity_percent_rmt", p.intensityPercentRmt));
    NP_TRY(number("train_duration_s", p.trainDurationS));
    NP_TRY(number("inter_train_interval_s", p.interTrainIntervalS));
    NP_TRY(integer("trains", p.trains));
    NP_TRY(number("burst_frequency_hz", p.burstFrequencyHz));
    NP_TRY(integer("pulses_per_burst", p.pulsesPerBurst));
    NP_TRY(number("burst_rate_hz", p.burstRateHz));
    NP_TRY(text("target", p.target));
    NP_TRY(text("coil", p.coil));
    NP_TRY(integer("sessions_per_day", p.sessionsPerDay));
    NP_TRY(number("min_minutes_between_sessions", p.minMinutesBetweenSessions));
    NP_TRY(integer("sessions_in_course", p.sessionsInCourse));
    NP_TRY(text("device_profile", p.deviceProfile));
    auto note = o.optionalString("note");
    NP_TRY(note);
    p.note = *note;
    if (p.thetaBurst() && p.frequencyHz) {
        return makeError(ErrorCode::InvalidInput, o.pathOf("frequency_hz"),
                         "theta burst uses burst_frequency_hz and burst_rate_hz");
    }
    if (!p.thetaBurst() && (p.burstFrequencyHz || p.pulsesPerBurst || p.burstRateHz)) {
        return makeError(ErrorCode::InvalidInput,
                         o.pathOf(p.burstFrequencyHz ? "burst_frequency_hz"
                                  : p.pulsesPerBurst ? "pulses_per_burst"
                                                     : "burst_rate_hz"),
                         "only theta-burst patterns have bursts");
    }
    return p;
}

json toJson(const RtmsProtocol& p) {
    json j{{"kind", "rtms"}, {"pattern", p.pattern}};
    const auto put = [&](const char* key, const auto& value) {
        if (value) {
            j[key] = *value;
        }
    };
    put("name", p.name);
    put("frequency_hz", p.frequencyHz);
    put("burst_frequency_hz", p.burstFrequencyHz);
    put("pulses_per_burst", p.pulsesPerBurst);
    put("burst_rate_hz", p.burstRateHz);
    put("intensity_percent_rmt", p.intensityPercentRmt);
    put("train_duration_s", p.trainDurationS);
    put("inter_train_interval_s", p.interTrainIntervalS);
    put("trains", p.trains);
    put("target", p.target);
    put("coil", p.coil);
    put("sessions_per_day", p.sessionsPerDay);
    put("min_minutes_between_sessions", p.minMinutesBetweenSessions);
    put("sessions_in_course", p.sessionsInCourse);
    put("device_profile", p.deviceProfile);
    put("note", p.note);
    return j;
}

json toJson(const RtmsDerived& d) {
    json j{{"pulses_per_train", d.pulsesPerTrain},
           {"pulses_per_session", d.pulsesPerSession},
           {"session_duration_s", d.sessionDurationS},
           {"daily_pulses", d.dailyPulses},
           {"course_pulses", d.coursePulses},
           {"output_percent_mso", d.outputPercentMso ? json(*d.outputPercentMso) : json(nullptr)},
           {"timing",
            {{"inter_pulse_interval_s", d.interPulseIntervalS},
             {"pulses_in_burst", d.pulsesInBurst},
             {"inter_burst_interval_s", d.interBurstIntervalS},
             {"bursts_in_train", d.burstsInTrain},
             {"inter_train_interval_s", d.interTrainIntervalS},
             {"trains_in_protocol", d.trainsInProtocol}}}};
    return j;
}

RtmsValidation validateRtms(const RtmsProtocol& protocol, const RtmsContext& context,
                            const Library& library) {
    return RtmsValidator(protocol, context, library).run();
}

}  // namespace neuroplan::protocols
