#include "eligibility/case.h"

#include <algorithm>
#include <limits>

#include "base/json_fast.h"
#include "base/json_reader.h"
#include "scales/instruments.h"

namespace neuroplan::eligibility {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 4> kDiagnoses{"generalized_anxiety_disorder",
                                                     "panic_disorder", "social_anxiety_disorder",
                                                     "other_anxiety_disorder"};
constexpr std::array<std::string_view, 4> kSexes{"female", "male", "other", "unknown"};
constexpr std::array<std::string_view, 3> kTrialTypes{"medication", "psychotherapy",
                                                      "neuromodulation"};
constexpr std::array<std::string_view, 2> kRoles{"monotherapy", "augmentation"};
constexpr std::array<std::string_view, 3> kAdherence{"good", "partial", "poor"};
constexpr std::array<std::string_view, 4> kExposureAdherence{"good", "partial", "poor",
                                                             "not_applicable"};
constexpr std::array<std::string_view, 6> kStopReasons{
    "ongoing", "completed", "ineffective", "side_effects", "patient_choice", "other"};
constexpr std::array<std::string_view, 4> kPsychotherapies{"cbt", "dbt", "trauma_focused", "other"};
constexpr std::array<std::string_view, 2> kNeuromodulation{"rtms", "vns"};
constexpr std::array<std::string_view, 4> kOutcomes{"no_response", "partial_response", "response",
                                                    "remission"};
constexpr std::array<std::string_view, 4> kComorbidityStates{"absent", "suspected", "present",
                                                             "not_assessed"};
constexpr std::array<std::string_view, 3> kWorkupStates{"normal", "abnormal", "not_done"};
constexpr std::array<std::string_view, 5> kPhenotypes{"poor", "intermediate", "normal", "rapid",
                                                      "ultrarapid"};

/// A free-text key (`note`, `$schema`) must be a string when present. Its text is not used, so it
/// is checked without being copied; any other value gets optionalString's own error.
template <class B>
Status checkFreeText(const BasicJsonObject<B>& object, std::string_view key) {
    const auto value = object.find(key);
    if (B::present(value) && !B::isString(B::handle(value))) {
        auto text = object.optionalString(key);
        NP_TRY(text);
    }
    return {};
}

template <class B>
Result<std::optional<Date>> optionalDate(const BasicJsonObject<B>& object, std::string_view key) {
    auto text = object.optionalString(key);
    NP_TRY(text);
    if (!*text) {
        return std::optional<Date>{};
    }
    auto date = parseIsoDate(**text, object.pathOf(key));
    NP_TRY(date);
    return std::optional<Date>(*date);
}

template <class B>
Result<Trial> parseTrial(typename B::Handle value, const std::string& path) {
    auto object = BasicJsonObject<B>::at(value, path);
    NP_TRY(object);
    Trial trial;
    auto type = object->optionalEnum("type", kTrialTypes);
    NP_TRY(type);
    if (!*type) {
        return makeError(ErrorCode::InvalidInput, object->pathOf("type"),
                         "required (medication, psychotherapy or neuromodulation)");
    }
    trial.type = **type;
    auto outcome = object->optionalEnum("outcome", kOutcomes);
    NP_TRY(outcome);
    trial.outcome = *outcome;

    if (trial.type == "medication") {
        NP_TRY(object->allowOnly({"type", "agent", "role", "daily_dose_mg", "weeks_at_dose",
                                  "adherence", "stop_reason", "outcome", "note"}));
        auto agent = object->optionalString("agent");
        NP_TRY(agent);
        if (*agent) {
            std::string lower = **agent;
            std::transform(lower.begin(), lower.end(), lower.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            if (lower.empty()) {
                return makeError(ErrorCode::InvalidInput, object->pathOf("agent"),
                                 "must not be empty");
            }
            trial.agent = lower;
        }
        auto role = object->optionalEnum("role", kRoles);
        NP_TRY(role);
        auto dose = object->optionalNumber("daily_dose_mg", 0.0);
        NP_TRY(dose);
        auto weeks = object->optionalNumber("weeks_at_dose", 0.0);
        NP_TRY(weeks);
        auto adherence = object->optionalEnum("adherence", kAdherence);
        NP_TRY(adherence);
        auto stop = object->optionalEnum("stop_reason", kStopReasons);
        NP_TRY(stop);
        trial.role = *role;
        trial.dailyDoseMg = *dose;
        trial.weeksAtDose = *weeks;
        trial.adherence = *adherence;
        trial.stopReason = *stop;
    } else if (trial.type == "psychotherapy") {
        NP_TRY(object->allowOnly(
            {"type", "modality", "sessions", "exposure_adherence", "outcome", "note"}));
        auto modality = object->optionalEnum("modality", kPsychotherapies);
        NP_TRY(modality);
        auto sessions = object->optionalInteger("sessions", 0);
        NP_TRY(sessions);
        auto exposure = object->optionalEnum("exposure_adherence", kExposureAdherence);
        NP_TRY(exposure);
        trial.modality = *modality;
        trial.sessions = *sessions;
        trial.exposureAdherence = *exposure;
    } else {
        NP_TRY(object->allowOnly({"type", "modality", "sessions", "outcome", "note"}));
        auto modality = object->optionalEnum("modality", kNeuromodulation);
        NP_TRY(modality);
        auto sessions = object->optionalInteger("sessions", 0);
        NP_TRY(sessions);
        trial.modality = *modality;
        trial.sessions = *sessions;
    }
    NP_TRY(checkFreeText(*object, "note"));
    return trial;
}

template <class B>
Result<ScaleScore> parseScale(typename B::Handle value, const std::string& path) {
    auto object = BasicJsonObject<B>::at(value, path);
    NP_TRY(object);
    NP_TRY(object->allowOnly({"instrument", "date", "items", "total", "note"}));
    NP_TRY(checkFreeText(*object, "note"));
    auto id = object->requiredString("instrument");
    NP_TRY(id);
    const scales::Instrument* instrument = scales::InstrumentCatalog::builtIn().find(*id);
    if (instrument == nullptr) {
        std::string known;
        for (const auto& i : scales::InstrumentCatalog::builtIn().all()) {
            known += (known.empty() ? "" : ", ") + i.id;
        }
        return makeError(ErrorCode::InvalidInput, object->pathOf("instrument"),
                         "'" + *id + "' is not one of " + known);
    }
    auto date = optionalDate(*object, "date");
    NP_TRY(date);
    if (!*date) {
        return makeError(ErrorCode::InvalidInput, object->pathOf("date"), "required");
    }
    ScaleScore score{*id, **date, 0};

    auto items = object->optionalArray("items");
    NP_TRY(items);
    auto total = object->optionalInteger("total", 0);
    NP_TRY(total);
    const bool hasItems = object->has("items");
    if (!hasItems && !*total) {
        return makeError(ErrorCode::InvalidInput, path, "needs items or total");
    }
    if (hasItems) {
        std::vector<long long> values;
        values.reserve(B::size(*items));
        // Each item by the same whole-number rule as every other integer.
        NP_TRY(B::forEach(*items, [&](std::size_t i, typename B::Handle item) -> Status {
            auto number = BasicJsonObject<B>::integerAt(item, indexPath(object->pathOf("items"), i),
                                                        std::numeric_limits<long long>::min());
            NP_TRY(number);
            values.push_back(*number);
            return {};
        }));
        auto scored = scales::scoreItems(*instrument, values, object->pathOf("items"));
        NP_TRY(scored);
        score.total = *scored;
        if (*total && **total != *scored) {
            return makeError(ErrorCode::InvalidInput, object->pathOf("total"),
                             "is " + std::to_string(**total) + " but the items add up to " +
                                 std::to_string(*scored));
        }
    } else {
        NP_TRY(scales::checkTotal(*instrument, **total, object->pathOf("total")));
        score.total = static_cast<int>(**total);
    }
    return score;
}

/// A map of fixed item names to enum states (comorbidities, workup, pharmacogenomics).
template <class B, std::size_t N, std::size_t M>
Status parseStates(const BasicJsonObject<B>& top, std::string_view key,
                   const std::array<std::string_view, N>& items,
                   const std::array<std::string_view, M>& states,
                   std::map<std::string, std::string, std::less<>>& out) {
    auto object = top.optionalObject(key);
    NP_TRY(object);
    if (!*object) {
        return {};
    }
    NP_TRY((*object)->allowOnly(items));
    for (std::string_view item : items) {
        auto state = (*object)->optionalEnum(item, states);
        NP_TRY(state);
        if (*state) {
            out.emplace(std::string(item), **state);
        }
    }
    return {};
}

template <class B, std::size_t N>
Status parseScreening(const BasicJsonObject<B>& top, std::string_view key,
                      const std::array<std::string_view, N>& items,
                      std::map<std::string, bool, std::less<>>& out) {
    auto object = top.optionalObject(key);
    NP_TRY(object);
    if (!*object) {
        return {};
    }
    NP_TRY((*object)->allowOnly(items));
    for (std::string_view item : items) {
        auto answer = (*object)->optionalBool(item);
        NP_TRY(answer);
        if (*answer) {
            out.emplace(std::string(item), **answer);
        }
    }
    return {};
}

template <class B>
Result<Case> readCase(typename B::Handle document) {
    auto top = BasicJsonObject<B>::at(document, "");
    NP_TRY(top);
    NP_TRY(top->allowOnly({"$schema", "note", "patient", "evaluation_date", "diagnosis", "trials",
                           "scales", "comorbidities", "medical_workup", "pharmacogenomics",
                           "rtms_screening", "vns_screening"}));
    Case result;
    for (const char* key : {"$schema", "note"}) {
        NP_TRY(checkFreeText(*top, key));
    }

    auto patient = top->optionalObject("patient");
    NP_TRY(patient);
    if (*patient) {
        NP_TRY((*patient)->allowOnly({"id", "birth_date", "sex"}));
        auto id = (*patient)->optionalString("id");
        NP_TRY(id);
        auto birth = optionalDate(**patient, "birth_date");
        NP_TRY(birth);
        auto sex = (*patient)->optionalEnum("sex", kSexes);
        NP_TRY(sex);
        result.patientId = *id;
        result.birthDate = *birth;
        result.sex = *sex;
    }

    auto evaluation = optionalDate(*top, "evaluation_date");
    NP_TRY(evaluation);
    if (!*evaluation) {
        return makeError(ErrorCode::InvalidInput, "evaluation_date",
                         "required: the date the case is evaluated on (YYYY-MM-DD)");
    }
    result.evaluationDate = **evaluation;
    if (result.birthDate && *result.birthDate > result.evaluationDate) {
        return makeError(ErrorCode::InvalidInput, "patient.birth_date",
                         "is after the evaluation date");
    }

    auto diagnosis = top->optionalEnum("diagnosis", kDiagnoses);
    NP_TRY(diagnosis);
    result.diagnosis = *diagnosis;

    auto trials = top->optionalArray("trials");
    NP_TRY(trials);
    result.trials.reserve(B::size(*trials));
    NP_TRY(B::forEach(*trials, [&](std::size_t i, typename B::Handle value) -> Status {
        auto trial = parseTrial<B>(value, indexPath("trials", i));
        NP_TRY(trial);
        result.trials.push_back(std::move(trial).value());
        return {};
    }));
    auto scaleList = top->optionalArray("scales");
    NP_TRY(scaleList);
    result.scales.reserve(B::size(*scaleList));
    NP_TRY(B::forEach(*scaleList, [&](std::size_t i, typename B::Handle value) -> Status {
        auto scale = parseScale<B>(value, indexPath("scales", i));
        NP_TRY(scale);
        result.scales.push_back(std::move(scale).value());
        return {};
    }));

    NP_TRY(parseStates(*top, "comorbidities", kComorbidityItems, kComorbidityStates,
                       result.comorbidities));
    NP_TRY(parseStates(*top, "medical_workup", kWorkupItems, kWorkupStates, result.workup));
    NP_TRY(parseStates(*top, "pharmacogenomics", kGenes, kPhenotypes, result.pharmacogenomics));
    NP_TRY(parseScreening(*top, "rtms_screening", kRtmsScreeningItems, result.rtmsScreening));
    NP_TRY(parseScreening(*top, "vns_screening", kVnsScreeningItems, result.vnsScreening));
    return result;
}

}  // namespace

Result<Case> parseCase(const json& document) {
    return readCase<NlohmannBackend>(&document);
}

Result<Case> parseCaseText(std::string_view text, std::string_view origin) {
    // simdjson reads case text about 30 times faster than nlohmann builds its document (issue 3's
    // 100,000 cases); the rules and messages are the same (BasicJsonObject). Text simdjson
    // refuses goes the nlohmann way, which names the byte of a syntax error.
    thread_local FastJsonParser parser;
    if (const auto document = parser.parse(text)) {
        return readCase<SimdBackend>(*document);
    }
    auto document = parseJsonText(text, origin);
    NP_TRY(document);
    return parseCase(*document);
}

}  // namespace neuroplan::eligibility
