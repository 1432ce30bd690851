#include "protocols/vns.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/format.h"

namespace neuroplan::protocols {

using nlohmann::json;

namespace {

constexpr double kEpsilon = 1e-6;

bool isMultiple(double value, double step) {
    const double ratio = value / step;
    return std::fabs(ratio - std::round(ratio)) < kEpsilon;
}

bool inMenu(const std::vector<double>& menu, double value) {
    return std::any_of(menu.begin(), menu.end(),
                       [&](double m) { return std::fabs(m - value) < kEpsilon; });
}

std::string menuText(const std::vector<double>& menu) {
    std::string text;
    for (double m : menu) {
        text += (text.empty() ? "" : ", ") + formatNumber(m);
    }
    return text;
}

}  // namespace

bool onCurrentGrid(const VnsGeneratorProfile& p, double currentMa) {
    if (currentMa < p.currentMa.min - kEpsilon || currentMa > p.currentMa.max + kEpsilon) {
        return false;
    }
    if (currentMa <= p.fineStepUpToMa + kEpsilon) {
        return isMultiple(currentMa, p.fineStepMa);
    }
    return isMultiple(currentMa - p.fineStepUpToMa, p.coarseStepMa);
}

Result<VnsParameters> parseVns(const JsonObject& o) {
    NP_TRY(o.allowOnly({"kind", "name", "output_current_ma", "pulse_width_us", "frequency_hz",
                        "on_time_s", "off_time_min", "magnet", "last_delivered_current_ma",
                        "generator_profile", "note"}));
    VnsParameters p;
    const double any = -1e300;
    const auto number = [&](const JsonObject& from, const char* key,
                            std::optional<double>& out) -> Status {
        auto value = from.optionalNumber(key, any);
        NP_TRY(value);
        out = *value;
        return {};
    };
    NP_TRY(number(o, "output_current_ma", p.outputCurrentMa));
    NP_TRY(number(o, "pulse_width_us", p.pulseWidthUs));
    NP_TRY(number(o, "frequency_hz", p.frequencyHz));
    NP_TRY(number(o, "on_time_s", p.onTimeS));
    NP_TRY(number(o, "off_time_min", p.offTimeMin));
    NP_TRY(number(o, "last_delivered_current_ma", p.lastDeliveredCurrentMa));
    auto magnet = o.optionalObject("magnet");
    NP_TRY(magnet);
    if (*magnet) {
        NP_TRY((*magnet)->allowOnly({"output_current_ma", "pulse_width_us", "on_time_s"}));
        NP_TRY(number(**magnet, "output_current_ma", p.magnetCurrentMa));
        NP_TRY(number(**magnet, "pulse_width_us", p.magnetPulseWidthUs));
        NP_TRY(number(**magnet, "on_time_s", p.magnetOnTimeS));
    }
    auto name = o.optionalString("name");
    NP_TRY(name);
    auto profile = o.optionalString("generator_profile");
    NP_TRY(profile);
    auto note = o.optionalString("note");
    NP_TRY(note);
    p.note = *note;
    p.name = *name;
    p.generatorProfile = *profile;
    return p;
}

json toJson(const VnsParameters& p) {
    json j{{"kind", "vns"}};
    const auto put = [&](json& into, const char* key, const auto& value) {
        if (value) {
            into[key] = *value;
        }
    };
    put(j, "name", p.name);
    put(j, "output_current_ma", p.outputCurrentMa);
    put(j, "pulse_width_us", p.pulseWidthUs);
    put(j, "frequency_hz", p.frequencyHz);
    put(j, "on_time_s", p.onTimeS);
    put(j, "off_time_min", p.offTimeMin);
    json magnet = json::object();
    put(magnet, "output_current_ma", p.magnetCurrentMa);
    put(magnet, "pulse_width_us", p.magnetPulseWidthUs);
    put(magnet, "on_time_s", p.magnetOnTimeS);
    if (!magnet.empty()) {
        j["magnet"] = magnet;
    }
    put(j, "last_delivered_current_ma", p.lastDeliveredCurrentMa);
    put(j, "generator_profile", p.generatorProfile);
    put(j, "note", p.note);
    return j;
}

VnsValidation validateVns(const VnsParameters& p, const Library& library) {
    Findings findings;
    VnsValidation result;
    const std::string profileId = p.generatorProfile.value_or("vns-generator");
    const VnsGeneratorProfile* profile = library.findVnsProfile(profileId);
    if (profile == nullptr) {
        findings.add("device.profile", Severity::Invalid,
                     "unknown generator profile '" + profileId + "'", library.vns.policyFrom);
        result.findings = findings.list();
        result.verdict = findings.verdict();
        return result;
    }
    const std::string source = describe(profile->from);
    bool complete = true;
    const auto present = [&](const char* field, const std::optional<double>& value) {
        if (!value) {
            findings.add("value.missing", Severity::Invalid, std::string(field) + " is missing",
                         library.vns.policyFrom);
            complete = false;
        }
    };
    const auto current = [&](const char* rule, const char* field, double ma) {
        if (!onCurrentGrid(*profile, ma)) {
            findings.add(rule, Severity::Invalid,
                         std::string(field) + " " + formatNumber(ma) +
                             " mA is not a generator setting (" +
                             formatNumber(profile->currentMa.min) + "-" +
                             formatNumber(profile->currentMa.max) + " mA in " +
                             formatNumber(profile->fineStepMa) + " mA steps to " +
                             formatNumber(profile->fineStepUpToMa) + " mA, " +
                             formatNumber(profile->coarseStepMa) + " mA above)",
                         source);
        }
    };
    const auto menu = [&](const char* rule, const char* field, double value,
                          const std::vector<double>& allowed, const char* unit) {
        if (!inMenu(allowed, value)) {
            findings.add(rule, Severity::Invalid,
                         std::string(field) + " " + formatNumber(value) + " " + unit +
                             " is not one of " + menuText(allowed),
                         source);
        }
    };
    const auto within = [&](const char* rule, const char* field, double value, const Range& r,
                            const char* unit) {
        if (value < r.min - kEpsilon || value > r.max + kEpsilon) {
            findings.add(rule, Severity::Invalid,
                         std::string(field) + " " + formatNumber(value) + " " + unit +
                             " is outside " + formatNumber(r.min) + "-" + formatNumber(r.max) +
                             " " + unit,
                         source);
        }
    };

    present("output_current_ma", p.outputCurrentMa);
    present("pulse_width_us", p.pulseWidthUs);
    present("frequency_hz", p.frequencyHz);
    present("on_time_s", p.onTimeS);
    present("off_time_min", p.offTimeMin);
    if (p.outputCurrentMa) {
        current("device.current", "output_current_ma", *p.outputCurrentMa);
    }
    if (p.pulseWidthUs) {
        menu("device.pulse_width", "pulse_width_us", *p.pulseWidthUs, profile->pulseWidthsUs, "us");
    }
    if (p.frequencyHz) {
        menu("device.frequency", "frequency_hz", *p.frequencyHz, profile->frequenciesHz, "Hz");
    }
    if (p.onTimeS) {
        within("device.on_time", "on_time_s", *p.onTimeS, profile->onTimeS, "s");
    }
    if (p.offTimeMin) {
        within("device.off_time", "off_time_min", *p.offTimeMin, profile->offTimeMin, "min");
    }
    if (p.magnetCurrentMa) {
        current("device.magnet_current", "magnet.output_current_ma", *p.magnetCurrentMa);
    }
    if (p.magnetPulseWidthUs) {
        menu("device.magnet_pulse_width", "magnet.pulse_width_us", *p.magnetPulseWidthUs,
             profile->pulseWidthsUs, "us");
    }
    if (p.magnetOnTimeS) {
        within("device.magnet_on_time", "magnet.on_time_s", *p.magnetOnTimeS, profile->onTimeS,
               "s");
    }

    const VnsRules& rules = library.vns;
    if (complete) {
        const double onS = *p.onTimeS;
        const double offS = *p.offTimeMin * 60.0;
        const double duty = onS + offS > 0 ? 100.0 * onS / (onS + offS) : 100.0;
        result.dutyCyclePercent = duty;
        if (duty > rules.dutyCycleWarningPercent.value + kEpsilon) {
            findings.add("vns.duty_cycle", Severity::Warning,
                         "duty cycle " + formatNumber(std::round(duty * 10) / 10) + " % is above " +
                             formatNumber(rules.dutyCycleWarningPercent.value) + " %",
                         rules.dutyCycleWarningPercent.from);
        }
        if (offS < onS - kEpsilon) {
            findings.add("vns.off_shorter_than_on", Severity::Warning,
                         "OFF time " + formatNumber(offS) + " s is shorter than ON time " +
                             formatNumber(onS) + " s",
                         rules.dutyCycleWarningPercent.from);
        }
    }
    if (p.outputCurrentMa && p.lastDeliveredCurrentMa) {
        // A rise is what needs care; lowering the current is itself a safety action.
        const double step = *p.outputCurrentMa - *p.lastDeliveredCurrentMa;
        if (step > rules.currentStepWarningMa.value + kEpsilon) {
            findings.add("vns.current_step", Severity::Warning,
                         "a " + formatNumber(step) + " mA rise from the last delivered " +
                             formatNumber(*p.lastDeliveredCurrentMa) + " mA is more than " +
                             formatNumber(rules.currentStepWarningMa.value) + " mA",
                         rules.currentStepWarningMa.from);
        }
    }
    result.findings = findings.list();
    result.verdict = findings.verdict();
    return result;
}

Result<TitrationPlan> makeTitrationPlan(std::optional<double> startMa, std::optional<double> stepMa,
                                        std::optional<int> weeks, std::optional<double> targetMa,
                                        const Library& library) {
    const VnsRules& r = library.vns;
    TitrationPlan plan{startMa.value_or(r.titrationStartMa.value),
                       stepMa.value_or(r.titrationStepMa.value),
                       weeks.value_or(static_cast<int>(r.titrationWeeks.value)),
                       targetMa.value_or(r.titrationTargetMa.value), r.titrationMaxMa.value};
    if (plan.startMa <= 0) {
        return makeError(ErrorCode::InvalidInput, "start_ma", "must be positive");
    }
    if (plan.stepMa <= 0) {
        return makeError(ErrorCode::InvalidInput, "step_ma", "must be positive");
    }
    if (plan.weeksBetweenSteps <= 0) {
        return makeError(ErrorCode::InvalidInput, "weeks_between_steps", "must be positive");
    }
    if (plan.targetMa > plan.maxMa + kEpsilon) {
        return makeError(ErrorCode::InvalidInput, "target_ma",
                         formatNumber(plan.targetMa) + " mA is above the maximum " +
                             formatNumber(plan.maxMa) + " mA");
    }
    if (plan.targetMa < plan.startMa - kEpsilon) {
        return makeError(ErrorCode::InvalidInput, "target_ma", "is below the start current");
    }
    // Every step of the schedule must be a current the generator can produce.
    if (!library.vnsProfiles.empty()) {
        for (const TitrationVisit& visit : titrationSchedule(plan)) {
            if (!onCurrentGrid(library.vnsProfiles.front(), visit.currentMa)) {
                return makeError(ErrorCode::InvalidInput, "step_ma",
                                 "the plan reaches " + formatNumber(visit.currentMa) +
                                     " mA, which the generator cannot produce");
            }
        }
    }
    return plan;
}

std::vector<TitrationVisit> titrationSchedule(const TitrationPlan& plan) {
    std::vector<TitrationVisit> visits;
    const double ceiling = std::min(plan.targetMa, plan.maxMa);
    double current = std::min(plan.startMa, ceiling);
    for (int week = 0;; week += plan.weeksBetweenSteps) {
        visits.push_back({week, current});
        if (current >= ceiling - kEpsilon) {
            return visits;
        }
        current = std::min(current + plan.stepMa, ceiling);
    }
}

double nextTitrationCurrent(const TitrationPlan& plan, const std::vector<VisitRecord>& visits) {
    const double ceiling = std::min(plan.targetMa, plan.maxMa);
    if (visits.empty()) {
        return std::min(plan.startMa, ceiling);
    }
    const VisitRecord& last = visits.back();
    if (!last.tolerated) {
        return last.currentMa;  // hold: do not raise after a visit that was not tolerated
    }
    return std::min(last.currentMa + plan.stepMa, ceiling);
}

}  // namespace neuroplan::protocols
