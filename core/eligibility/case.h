// neuroplan::eligibility — a case as a physician submits it for evaluation (docs/case-format.md).
//
// Parsing is strict about form (types, enum values, dates, ranges, unknown keys: all refused
// with the JSON path) and lenient about completeness: a missing value is "unknown", which the
// rules turn into a review finding, never an error.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"
#include "base/time.h"

namespace neuroplan::eligibility {

/// The screening items a case may answer, fixed by the case format. The rule set decides which
/// of them block, which need review.
inline constexpr std::array<std::string_view, 10> kRtmsScreeningItems{
    "metal_in_head",
    "cochlear_implant",
    "implanted_neurostimulator",
    "cardiac_pacemaker_or_icd",
    "medication_pump",
    "epilepsy_or_seizure_history",
    "seizure_threshold_lowering_medication",
    "pregnancy",
    "head_injury_or_brain_lesion",
    "sleep_deprivation_or_withdrawal"};
inline constexpr std::array<std::string_view, 8> kVnsScreeningItems{
    "prior_cervical_vagotomy",   "diathermy_planned", "cardiac_arrhythmia",
    "obstructive_sleep_apnea",   "dysphagia",         "hoarseness_or_vocal_cord_disorder",
    "chronic_pulmonary_disease", "surgical_clearance"};
inline constexpr std::array<std::string_view, 3> kComorbidityItems{
    "bipolar_disorder", "substance_use_disorder", "chronic_pain"};
inline constexpr std::array<std::string_view, 2> kWorkupItems{"thyroid", "cardiac_rhythm"};
inline constexpr std::array<std::string_view, 3> kGenes{"CYP2D6", "CYP2C19", "CYP2B6"};

struct Trial {
    std::string type;  ///< medication | psychotherapy | neuromodulation
    // medication
    std::optional<std::string> agent;  ///< generic name, lower case
    std::optional<std::string> role;   ///< monotherapy | augmentation
    std::optional<double> dailyDoseMg;
    std::optional<double> weeksAtDose;
    std::optional<std::string> adherence;   ///< good | partial | poor
    std::optional<std::string> stopReason;  ///< ongoing | completed | ineffective | ...
    // psychotherapy and neuromodulation
    std::optional<std::string> modality;  ///< cbt | dbt | trauma_focused | other; rtms | vns
    std::optional<long long> sessions;
    std::optional<std::string> exposureAdherence;
    // every trial
    std::optional<std::string> outcome;  ///< no_response | partial_response | response | remission
};

struct ScaleScore {
    std::string instrument;
    Date date;
    int total = 0;  ///< from the items (validated, reverse-scored) or the entered total
};

struct Case {
    std::optional<std::string> patientId;
    std::optional<Date> birthDate;
    std::optional<std::string> sex;
    Date evaluationDate;
    std::optional<std::string> diagnosis;
    std::vector<Trial> trials;
    std::vector<ScaleScore> scales;
    std::map<std::string, std::string, std::less<>> comorbidities;  ///< absent = not given
    std::map<std::string, std::string, std::less<>> workup;
    std::map<std::string, std::string, std::less<>> pharmacogenomics;  ///< gene -> phenotype
    std::map<std::string, bool, std::less<>> rtmsScreening;            ///< absent = unknown
    std::map<std::string, bool, std::less<>> vnsScreening;
};

/// Reads a case from parsed JSON. Errors are InvalidInput naming the path.
Result<Case> parseCase(const nlohmann::json& document);
/// Reads a case from JSON text (syntax errors name `origin`).
Result<Case> parseCaseText(std::string_view text, std::string_view origin);

}  // namespace neuroplan::eligibility
