#include "protocols/library.h"

#include <cstdlib>
#include <iostream>

namespace neuroplan::protocols {

std::string_view rtmsSafetyV1();
std::string_view deviceProfilesV1();
std::string_view vnsV1();
std::string_view rtmsTemplatesV1();

namespace {

using nlohmann::json;

Error bad(std::string path, std::string message) {
    return makeError(ErrorCode::InvalidInput, std::move(path), std::move(message));
}

Result<std::vector<double>> numbers(const JsonObject& parent, std::string_view key) {
    auto array = parent.optionalArray(key);
    NP_TRY(array);
    std::vector<double> values;
    for (std::size_t i = 0; i < (*array)->size(); ++i) {
        const json& v = (**array)[i];
        if (!v.is_number()) {
            return bad(indexPath(parent.pathOf(key), i), "expected a number");
        }
        values.push_back(v.get<double>());
    }
    if (values.empty()) {
        return bad(parent.pathOf(key), "must not be empty");
    }
    return values;
}

Result<Range> range(const JsonObject& object) {
    auto lo = object.requiredNumber("min", -1e300);
    NP_TRY(lo);
    auto hi = object.requiredNumber("max", -1e300);
    NP_TRY(hi);
    if (*hi < *lo) {
        return bad(object.path(), "max is below min");
    }
    return Range{*lo, *hi};
}

/// The provenance of a source id of the file (for rules that have no value of their own).
Result<Provenance> sourceById(const DataFile& file, const std::string& id) {
    const auto it = file.sources().find(id);
    if (it == file.sources().end()) {
        return bad("sources", "needs an entry '" + id + "'");
    }
    return Provenance{id, it->second.confidence, it->second.text};
}

template <class T>
T orDie(Result<T> result, const char* what) {
    if (!result) {
        std::cerr << "built-in " << what << " is broken: " << result.error().describe() << '\n';
        std::abort();
    }
    return std::move(result).value();
}

}  // namespace

Result<SafetyRules> loadSafetyRules(std::string_view text, std::string_view origin) {
    auto file = DataFile::parse(text, origin, "rtms-safety");
    NP_TRY(file);
    const JsonObject top = file->top();
    SafetyRules rules;
    rules.version = file->id() + " " + file->version();
    auto policy = sourceById(*file, "neuroplan-policy");
    NP_TRY(policy);
    rules.policyFrom = *policy;

    auto table = top.requiredObject("wassermann");
    NP_TRY(table);
    auto from = file->provenance(*table);
    NP_TRY(from);
    rules.wassermannFrom = *from;
    auto rows = numbers(*table, "frequencies_hz");
    NP_TRY(rows);
    auto columns = numbers(*table, "intensities_percent_mt");
    NP_TRY(columns);
    rules.wassermannFrequenciesHz = *rows;
    rules.wassermannIntensities = *columns;
    auto cells = table->optionalArray("max_train_s");
    NP_TRY(cells);
    if ((*cells)->size() != rows->size()) {
        return bad(table->pathOf("max_train_s"), "needs one row per frequency");
    }
    for (std::size_t r = 0; r < rows->size(); ++r) {
        const json& row = (**cells)[r];
        const std::string rowPath = indexPath(table->pathOf("max_train_s"), r);
        if (!row.is_array() || row.size() != columns->size()) {
            return bad(rowPath, "needs one cell per intensity");
        }
        std::vector<TrainLimit> limits;
        for (std::size_t c = 0; c < row.size(); ++c) {
            if (!row[c].is_string()) {
                return bad(indexPath(rowPath, c), "expected a string such as \"4.2\" or \">5\"");
            }
            std::string cell = row[c].get<std::string>();
            TrainLimit limit;
            if (!cell.empty() && cell.front() == '>') {
                limit.longestTested = true;
                cell.erase(0, 1);
            }
            char* end = nullptr;
            limit.seconds = std::strtod(cell.c_str(), &end);
            if (cell.empty() || end == nullptr || *end != '\0' || limit.seconds <= 0) {
                return bad(indexPath(rowPath, c), "not a duration in seconds");
            }
            limits.push_back(limit);
        }
        rules.wassermann.push_back(std::move(limits));
    }

    auto iti = top.requiredObject("inter_train_interval");
    NP_TRY(iti);
    auto tbs = top.requiredObject("theta_burst");
    NP_TRY(tbs);
    auto accelerated = top.requiredObject("accelerated");
    NP_TRY(accelerated);
    auto mt = top.requiredObject("motor_threshold");
    NP_TRY(mt);
    const std::pair<Sourced<double>*, std::pair<const JsonObject*, const char*>> values[] = {
        {&rules.itiViolationBelowS, {&*iti, "violation_below_s"}},
        {&rules.itiViolationMinFrequencyHz, {&*iti, "violation_min_frequency_hz"}},
        {&rules.itiWarningBelowS, {&*iti, "warning_below_s"}},
        {&rules.itiWarningMinFrequencyHz, {&*iti, "warning_min_frequency_hz"}},
        {&rules.itiAboveIntensity, {&*iti, "above_intensity_percent_rmt"}},
        {&rules.tbsIntensityWarning, {&*tbs, "intensity_warning_above_percent_rmt"}},
        {&rules.tbsIntensityViolation, {&*tbs, "intensity_violation_above_percent_rmt"}},
        {&rules.tbsPulsesWarning, {&*tbs, "pulses_warning_above"}},
        {&rules.tbsPulsesViolation, {&*tbs, "pulses_violation_above"}},
        {&rules.tbsDefaultBurstFrequencyHz, {&*tbs, "default_burst_frequency_hz"}},
        {&rules.tbsDefaultPulsesPerBurst, {&*tbs, "default_pulses_per_burst"}},
        {&rules.tbsDefaultBurstRateHz, {&*tbs, "default_burst_rate_hz"}},
        {&rules.acceleratedMinGapMin, {&*accelerated, "min_minutes_between_sessions"}},
        {&rules.acceleratedMaxSessionsPerDay, {&*accelerated, "max_sessions_per_day"}},
        {&rules.acceleratedMaxPulsesPerDay, {&*accelerated, "max_pulses_per_day"}},
        {&rules.mtRedeterminationDays, {&*mt, "redetermination_interval_days"}},
        {&rules.maxOutputPercentMso, {&*mt, "max_output_percent_mso"}},
    };
    for (const auto& [target, where] : values) {
        auto value = file->number(*where.first, where.second);
        NP_TRY(value);
        *target = *value;
    }
    return rules;
}

namespace {

Result<std::vector<RtmsDeviceProfile>> rtmsProfiles(const DataFile* file) {
    auto list = file->top().optionalArray("rtms");
    NP_TRY(list);
    std::vector<RtmsDeviceProfile> profiles;
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
        auto entry = JsonObject::at((**list)[i], indexPath("rtms", i));
        NP_TRY(entry);
        RtmsDeviceProfile p;
        auto id = entry->requiredString("id");
        NP_TRY(id);
        auto label = entry->requiredString("label");
        NP_TRY(label);
        p.id = *id;
        p.label = *label;
        auto profileFrom = file->provenance(*entry);
        NP_TRY(profileFrom);
        p.from = *profileFrom;
        auto patterns = entry->optionalArray("patterns");
        NP_TRY(patterns);
        for (const json& pattern : **patterns) {
            p.patterns.push_back(pattern.get<std::string>());
        }
        auto minF = file->number(*entry, "min_frequency_hz");
        NP_TRY(minF);
        auto maxF = file->number(*entry, "max_frequency_hz");
        NP_TRY(maxF);
        auto minT = file->number(*entry, "min_train_s");
        NP_TRY(minT);
        auto maxT = file->number(*entry, "max_train_s");
        NP_TRY(maxT);
        auto maxP = file->number(*entry, "max_pulses_per_train");
        NP_TRY(maxP);
        p.minFrequencyHz = *minF;
        p.maxFrequencyHz = *maxF;
        p.minTrainS = *minT;
        p.maxTrainS = *maxT;
        p.maxPulsesPerTrain = *maxP;
        if (entry->has("max_trains")) {
            auto maxTrains = file->number(*entry, "max_trains");
            NP_TRY(maxTrains);
            p.maxTrains = *maxTrains;
        }
        profiles.push_back(std::move(p));
    }
    return profiles;
}

Result<std::vector<VnsGeneratorProfile>> vnsProfiles(const DataFile* file) {
    auto list = file->top().optionalArray("vns");
    NP_TRY(list);
    std::vector<VnsGeneratorProfile> profiles;
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
        auto entry = JsonObject::at((**list)[i], indexPath("vns", i));
        NP_TRY(entry);
        VnsGeneratorProfile p;
        auto id = entry->requiredString("id");
        NP_TRY(id);
        auto label = entry->requiredString("label");
        NP_TRY(label);
        p.id = *id;
        p.label = *label;
        auto current = entry->requiredObject("current_ma");
        NP_TRY(current);
        auto currentRange = range(*current);
        NP_TRY(currentRange);
        auto fine = current->requiredNumber("fine_step", 0.001);
        NP_TRY(fine);
        auto fineUpTo = current->requiredNumber("fine_step_up_to", 0);
        NP_TRY(fineUpTo);
        auto coarse = current->requiredNumber("coarse_step", 0.001);
        NP_TRY(coarse);
        auto from = file->provenance(*current);
        NP_TRY(from);
        p.currentMa = *currentRange;
        p.fineStepMa = *fine;
        p.fineStepUpToMa = *fineUpTo;
        p.coarseStepMa = *coarse;
        p.from = *from;
        auto widths = entry->requiredObject("pulse_width_us");
        NP_TRY(widths);
        auto widthValues = numbers(*widths, "values");
        NP_TRY(widthValues);
        p.pulseWidthsUs = *widthValues;
        auto frequencies = entry->requiredObject("frequency_hz");
        NP_TRY(frequencies);
        auto frequencyValues = numbers(*frequencies, "values");
        NP_TRY(frequencyValues);
        p.frequenciesHz = *frequencyValues;
        auto on = entry->requiredObject("on_time_s");
        NP_TRY(on);
        auto onRange = range(*on);
        NP_TRY(onRange);
        auto off = entry->requiredObject("off_time_min");
        NP_TRY(off);
        auto offRange = range(*off);
        NP_TRY(offRange);
        p.onTimeS = *onRange;
        p.offTimeMin = *offRange;
        profiles.push_back(std::move(p));
    }
    return profiles;
}

}  // namespace

Result<std::vector<RtmsDeviceProfile>> loadRtmsProfiles(std::string_view text,
                                                        std::string_view origin) {
    auto file = DataFile::parse(text, origin, "device-profiles");
    NP_TRY(file);
    return rtmsProfiles(&*file);
}

Result<std::vector<VnsGeneratorProfile>> loadVnsProfiles(std::string_view text,
                                                         std::string_view origin) {
    auto file = DataFile::parse(text, origin, "device-profiles");
    NP_TRY(file);
    return vnsProfiles(&*file);
}

Result<DeviceProfiles> loadDeviceProfiles(std::string_view text, std::string_view origin) {
    auto file = DataFile::parse(text, origin, "device-profiles");
    NP_TRY(file);
    auto rtms = rtmsProfiles(&*file);
    NP_TRY(rtms);
    auto vns = vnsProfiles(&*file);
    NP_TRY(vns);
    return DeviceProfiles{std::move(rtms).value(), std::move(vns).value()};
}

Result<VnsRules> loadVnsRules(std::string_view text, std::string_view origin) {
    auto file = DataFile::parse(text, origin, "vns-rules");
    NP_TRY(file);
    auto checks = file->top().requiredObject("checks");
    NP_TRY(checks);
    auto titration = file->top().requiredObject("titration");
    NP_TRY(titration);
    VnsRules rules;
    auto policy = sourceById(*file, "neuroplan-policy");
    NP_TRY(policy);
    rules.policyFrom = *policy;
    const std::pair<Sourced<double>*, std::pair<const JsonObject*, const char*>> values[] = {
        {&rules.dutyCycleWarningPercent, {&*checks, "duty_cycle_warning_above_percent"}},
        {&rules.currentStepWarningMa, {&*checks, "current_step_warning_above_ma"}},
        {&rules.titrationStartMa, {&*titration, "start_ma"}},
        {&rules.titrationStepMa, {&*titration, "step_ma"}},
        {&rules.titrationWeeks, {&*titration, "weeks_between_steps"}},
        {&rules.titrationTargetMa, {&*titration, "target_ma"}},
        {&rules.titrationMaxMa, {&*titration, "max_ma"}},
    };
    for (const auto& [target, where] : values) {
        auto value = file->number(*where.first, where.second);
        NP_TRY(value);
        *target = *value;
    }
    return rules;
}

Result<std::vector<Template>> loadTemplates(std::string_view text, std::string_view origin) {
    auto file = DataFile::parse(text, origin, "rtms-templates");
    NP_TRY(file);
    auto list = file->top().optionalArray("templates");
    NP_TRY(list);
    std::vector<Template> templates;
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
        auto entry = JsonObject::at((**list)[i], indexPath("templates", i));
        NP_TRY(entry);
        NP_TRY(entry->allowOnly({"id", "label", "note", "source", "confidence", "protocol"}));
        Template t;
        auto id = entry->requiredString("id");
        NP_TRY(id);
        auto label = entry->requiredString("label");
        NP_TRY(label);
        auto note = entry->optionalString("note");
        NP_TRY(note);
        auto from = file->provenance(*entry);
        NP_TRY(from);
        auto protocol = entry->requiredObject("protocol");
        NP_TRY(protocol);
        t.id = *id;
        t.label = *label;
        t.note = note->value_or("");
        t.from = *from;
        t.protocol = *entry->find("protocol");
        templates.push_back(std::move(t));
    }
    return templates;
}

const RtmsDeviceProfile* Library::findRtmsProfile(std::string_view id) const {
    for (const auto& p : rtmsProfiles) {
        if (p.id == id) {
            return &p;
        }
    }
    return nullptr;
}

const VnsGeneratorProfile* Library::findVnsProfile(std::string_view id) const {
    for (const auto& p : vnsProfiles) {
        if (p.id == id) {
            return &p;
        }
    }
    return nullptr;
}

const Template* Library::findTemplate(std::string_view id) const {
    for (const auto& t : templates) {
        if (t.id == id) {
            return &t;
        }
    }
    return nullptr;
}

const Library& Library::builtIn() {
    static const Library library = [] {
        Library l;
        l.safety = orDie(loadSafetyRules(rtmsSafetyV1(), "rtms-safety-v1.json"), "rtms-safety");
        DeviceProfiles profiles =
            orDie(loadDeviceProfiles(deviceProfilesV1(), "device-profiles-v1.json"), "profiles");
        l.rtmsProfiles = std::move(profiles.rtms);
        l.vnsProfiles = std::move(profiles.vns);
        l.vns = orDie(loadVnsRules(vnsV1(), "vns-v1.json"), "vns rules");
        l.templates =
            orDie(loadTemplates(rtmsTemplatesV1(), "rtms-templates-v1.json"), "templates");
        return l;
    }();
    return library;
}

}  // namespace neuroplan::protocols
