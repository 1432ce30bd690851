// neuroplan::eligibility — evaluation of a case against a rule set: trial adequacy, refractory
// status, current severity, and the rTMS and VNS decisions with every finding that led to them.
// Pure: no I/O, no clock; the same case and rule set always give the same evaluation.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "eligibility/case.h"
#include "eligibility/ruleset.h"

namespace neuroplan::eligibility {

enum class RefractoryStatus { Refractory, InsufficientData, PseudoResistant, NotRefractory };
enum class Decision { Eligible, NeedsReview, NotEligible };
enum class Effect { Blocks, Review, Info };
enum class TrialCategory { FirstLine, Augmentation, Specialized, Neuromodulation, Other, Unknown };

const char* toString(RefractoryStatus status);
const char* toString(Decision decision);
const char* toString(Effect effect);
const char* toString(TrialCategory category);
std::optional<Decision> parseDecision(std::string_view text);

/// One reason a trial is what it is, with the evidence and its source.
struct TrialDetail {
    std::string reason;  ///< subtherapeutic_dose, ..., or "note"
    std::string message;
    std::string source;
};

struct TrialAssessment {
    int index = 0;        ///< position in the case's trials array
    std::string summary;  ///< "sertraline 25 mg/day for 10 weeks", "cbt, 14 sessions"
    TrialCategory category = TrialCategory::Unknown;
    std::optional<bool> firstLine;  ///< empty when the agent is unknown
    bool assessable = true;
    std::optional<bool> adequate;  ///< empty for neuromodulation courses (not judged)
    std::optional<bool> failed;    ///< empty when the outcome is unknown
    std::vector<std::string> reasons;
    std::vector<TrialDetail> details;
};

struct Finding {
    std::string rule;
    Effect effect = Effect::Info;
    std::string message;
    std::string source;
};

struct ModalityDecision {
    Decision decision = Decision::NeedsReview;
    bool onLabel = false;
    std::string onLabelReason;
    std::vector<Finding> findings;
};

struct CurrentSeverity {
    std::string instrument;
    Date date;
    int total = 0;
};

struct Evaluation {
    std::string ruleSetId;
    std::string ruleSetVersion;  ///< RuleSet::storedVersion()
    std::string ruleSetDigest;
    Date evaluationDate;
    std::optional<std::string> patientId;
    std::optional<int> ageYears;
    RefractoryStatus status = RefractoryStatus::InsufficientData;
    int adequateFailedFirstLine = 0;
    std::vector<TrialAssessment> trials;
    std::vector<CurrentSeverity> currentSeverity;  ///< the latest scores in the window
    ModalityDecision rtms;
    ModalityDecision vns;
};

Evaluation evaluate(const Case& input, const RuleSet& rules);

/// The documented JSON form (docs/case-format.md, "Output").
nlohmann::json toJson(const Evaluation& evaluation);
/// A readable report for a terminal.
std::string formatReport(const Evaluation& evaluation);

}  // namespace neuroplan::eligibility
