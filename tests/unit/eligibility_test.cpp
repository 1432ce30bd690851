// Unit tests of the eligibility rules (issue 3, rule set refractory-anxiety-v1): the case format
// and its malformed-input classes, trial adequacy and every reason code, refractory status,
// current severity, the rTMS and VNS decisions with their findings, and clinic copies of the
// rule set. Every case starts from cleanCase() (refractory, eligible for rTMS and VNS) and
// changes one thing.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "eligibility/case.h"
#include "eligibility/evaluate.h"
#include "eligibility/ruleset.h"

namespace neuroplan::eligibility {
namespace {

using nlohmann::json;

// ---- building cases ---------------------------------------------------------------------------

constexpr const char* kEvaluationDate = "2026-11-02";

/// The date `days` before the evaluation date (negative: after it).
std::string daysBeforeEvaluation(int days) {
    using namespace std::chrono;
    const Date evaluation = year{2026} / November / 2;
    return formatIsoDate(Date{sys_days{evaluation} - std::chrono::days{days}});
}

json medication(const std::string& agent, double dose, double weeks,
                const std::string& outcome = "no_response") {
    return {{"type", "medication"},         {"agent", agent},         {"role", "monotherapy"},
            {"daily_dose_mg", dose},        {"weeks_at_dose", weeks}, {"adherence", "good"},
            {"stop_reason", "ineffective"}, {"outcome", outcome}};
}

json augmentation(const std::string& agent, double dose, double weeks,
                  const std::string& outcome = "no_response") {
    json trial = medication(agent, dose, weeks, outcome);
    trial["role"] = "augmentation";
    return trial;
}

json psychotherapy(const std::string& modality, long long sessions,
                   const std::string& outcome = "no_response") {
    return {{"type", "psychotherapy"},
            {"modality", modality},
            {"sessions", sessions},
            {"exposure_adherence", modality == "cbt" ? "good" : "not_applicable"},
            {"outcome", outcome}};
}

json rtmsCourse(const std::string& outcome = "no_response") {
    return {
        {"type", "neuromodulation"}, {"modality", "rtms"}, {"sessions", 30}, {"outcome", outcome}};
}

/// `document` with an RFC 7386 merge patch applied (a null member deletes the key).
json with(json document, const json& patch) {
    document.merge_patch(patch);
    return document;
}

/// Refractory GAD (escitalopram and venlafaxine, adequate and failed), a failed pregabalin
/// augmentation and a failed DBT course, severe GAD-7 within the window, complete workup, no
/// comorbidity, every screening question answered "no", surgical clearance given: eligible for
/// both rTMS and VNS. Tests change one thing.
json cleanCase() {
    return {
        {"patient", {{"id", "T-001"}, {"birth_date", "1980-01-15"}, {"sex", "female"}}},
        {"evaluation_date", kEvaluationDate},
        {"diagnosis", "generalized_anxiety_disorder"},
        {"trials",
         {medication("escitalopram", 20, 10),
          medication("venlafaxine", 150, 12, "partial_response"),
          augmentation("pregabalin", 300, 8), psychotherapy("dbt", 20, "partial_response")}},
        {"scales", {{{"instrument", "gad7"}, {"date", daysBeforeEvaluation(13)}, {"total", 18}}}},
        {"comorbidities",
         {{"bipolar_disorder", "absent"},
          {"substance_use_disorder", "absent"},
          {"chronic_pain", "absent"}}},
        {"medical_workup", {{"thyroid", "normal"}, {"cardiac_rhythm", "normal"}}},
        {"rtms_screening",
         {{"metal_in_head", false},
          {"cochlear_implant", false},
          {"implanted_neurostimulator", false},
          {"cardiac_pacemaker_or_icd", false},
          {"medication_pump", false},
          {"epilepsy_or_seizure_history", false},
          {"seizure_threshold_lowering_medication", false},
          {"pregnancy", false},
          {"head_injury_or_brain_lesion", false},
          {"sleep_deprivation_or_withdrawal", false}}},
        {"vns_screening",
         {{"prior_cervical_vagotomy", false},
          {"diathermy_planned", false},
          {"cardiac_arrhythmia", false},
          {"obstructive_sleep_apnea", false},
          {"dysphagia", false},
          {"hoarseness_or_vocal_cord_disorder", false},
          {"chronic_pulmonary_disease", false},
          {"surgical_clearance", true}}},
    };
}

json scale(const std::string& instrument, const json& itemsOrTotal, int daysBefore = 13) {
    json s{{"instrument", instrument}, {"date", daysBeforeEvaluation(daysBefore)}};
    s[itemsOrTotal.is_array() ? "items" : "total"] = itemsOrTotal;
    return s;
}

/// HAM-A items (14, each 0..4) adding up to `total` (0..56).
json hamaItems(int total) {
    json items = json::array();
    for (int i = 0; i < 14; ++i) {
        const int value = std::clamp(total - 4 * i, 0, 4);
        items.push_back(value);
    }
    return items;
}

/// GAD-7 items adding up to `total` (0..21).
json gad7Items(int total) {
    json items = json::array();
    for (int i = 0; i < 7; ++i) {
        items.push_back(std::clamp(total - 3 * i, 0, 3));
    }
    return items;
}

// ---- evaluating and checking --------------------------------------------------------------------

std::string describe(const ModalityDecision& d) {
    std::string text = std::string(toString(d.decision)) + ":";
    for (const Finding& f : d.findings) {
        text += "\n  [" + std::string(toString(f.effect)) + "] " + f.rule + ": " + f.message;
    }
    return text;
}

/// Invariants of every decision: each finding names a rule, a message and a source; exactly one
/// on_label finding; off-label with a reason; the decision follows from the findings.
void expectWellFormed(const ModalityDecision& d, const char* modality) {
    SCOPED_TRACE(modality);
    bool blocks = false;
    bool review = false;
    int onLabelFindings = 0;
    for (const Finding& f : d.findings) {
        EXPECT_FALSE(f.rule.empty());
        EXPECT_FALSE(f.message.empty()) << f.rule;
        EXPECT_FALSE(f.source.empty()) << f.rule;
        EXPECT_NE(f.source.find(" ["), std::string::npos) << f.rule << ": " << f.source;
        blocks = blocks || f.effect == Effect::Blocks;
        review = review || f.effect == Effect::Review;
        if (f.rule == "on_label") {
            ++onLabelFindings;
            EXPECT_EQ(f.effect, Effect::Info);
        }
    }
    const Decision derived = blocks   ? Decision::NotEligible
                             : review ? Decision::NeedsReview
                                      : Decision::Eligible;
    EXPECT_STREQ(toString(d.decision), toString(derived)) << describe(d);
    EXPECT_FALSE(d.onLabel);
    EXPECT_FALSE(d.onLabelReason.empty());
    EXPECT_EQ(onLabelFindings, 1);
}

Case parsed(const json& document) {
    auto result = parseCase(document);
    if (!result) {
        ADD_FAILURE() << "case refused: " << result.error().describe();
        return Case{};
    }
    return *result;
}

Evaluation evaluateWith(const json& document, const RuleSet& rules) {
    Evaluation e = evaluate(parsed(document), rules);
    expectWellFormed(e.rtms, "rtms");
    expectWellFormed(e.vns, "vns");
    return e;
}

Evaluation evaluateJson(const json& document) {
    return evaluateWith(document, RuleSet::builtIn());
}

std::string decision(const ModalityDecision& d) {
    return toString(d.decision);
}
std::string status(const Evaluation& e) {
    return toString(e.status);
}

bool has(const ModalityDecision& d, std::string_view rule, Effect effect) {
    return std::any_of(d.findings.begin(), d.findings.end(),
                       [&](const Finding& f) { return f.rule == rule && f.effect == effect; });
}

/// No finding that blocks or needs review.
bool clean(const ModalityDecision& d) {
    return std::none_of(d.findings.begin(), d.findings.end(),
                        [](const Finding& f) { return f.effect != Effect::Info; });
}

std::vector<std::string> sorted(std::vector<std::string> list) {
    std::sort(list.begin(), list.end());
    return list;
}

// ---- the base case --------------------------------------------------------------------------

TEST(EligibilityBaseCase, CleanCaseIsRefractoryAndEligibleForBoth) {
    const Evaluation e = evaluateJson(cleanCase());
    EXPECT_EQ(e.ruleSetId, "refractory-anxiety-v1");
    EXPECT_EQ(status(e), "refractory");
    EXPECT_EQ(e.adequateFailedFirstLine, 2);
    EXPECT_EQ(decision(e.rtms), "eligible") << describe(e.rtms);
    EXPECT_EQ(decision(e.vns), "eligible") << describe(e.vns);
    EXPECT_TRUE(clean(e.rtms)) << describe(e.rtms);
    EXPECT_TRUE(clean(e.vns)) << describe(e.vns);
    EXPECT_TRUE(has(e.vns, "vns.ladder", Effect::Info));
    ASSERT_EQ(e.currentSeverity.size(), 1u);
    EXPECT_EQ(e.currentSeverity[0].total, 18);
    EXPECT_EQ(e.ageYears, 46);
}

TEST(EligibilityBaseCase, EvaluationIsDeterministic) {
    const Case input = parsed(cleanCase());
    EXPECT_EQ(toJson(evaluate(input, RuleSet::builtIn())),
              toJson(evaluate(input, RuleSet::builtIn())));
}

// ---- trial adequacy: every reason code and boundary -----------------------------------------

struct TrialRow {
    const char* name;
    json trial;
    json pharmacogenomics;  ///< null: not tested
    std::vector<std::string> reasons;
};

void PrintTo(const TrialRow& row, std::ostream* out) {
    *out << row.name;
}

json sideEffectStop(json trial) {
    trial["stop_reason"] = "side_effects";
    return trial;
}

std::vector<TrialRow> trialRows() {
    const json none;
    const std::vector<std::string> adequate;
    const std::vector<std::string> unassessable{"unassessable"};
    const std::vector<std::string> earlyStop{"early_stop_side_effects", "short_duration"};
    const std::vector<std::string> earlyStopPk{"early_stop_side_effects", "pharmacokinetic",
                                               "short_duration"};
    return {
        // dose
        {"SertralineAtMinimumDose", medication("sertraline", 50, 8), none, adequate},
        {"SertralineJustUnderMinimumDose",
         medication("sertraline", 49.9, 8),
         none,
         {"subtherapeutic_dose"}},
        {"EscitalopramFiveMg", medication("escitalopram", 5, 10), none, {"subtherapeutic_dose"}},
        {"AgentNameIsCaseInsensitive", medication("Sertraline", 100, 10), none, adequate},
        // duration
        {"EightWeeks", medication("escitalopram", 10, 8), none, adequate},
        {"SevenWeeks", medication("escitalopram", 10, 7), none, {"short_duration"}},
        {"SevenPointNineWeeks", medication("escitalopram", 10, 7.9), none, {"short_duration"}},
        // stopped for side effects
        {"SideEffectStopAtThreeWeeks", sideEffectStop(medication("sertraline", 100, 3)), none,
         earlyStop},
        {"SideEffectStopAtEightWeeksIsNotEarly", sideEffectStop(medication("sertraline", 100, 8)),
         none, adequate},
        // adherence
        {"PoorAdherence",
         with(medication("sertraline", 100, 10), {{"adherence", "poor"}}),
         none,
         {"poor_adherence"}},
        {"PartialAdherenceIsEnough",
         with(medication("sertraline", 100, 10), {{"adherence", "partial"}}), none, adequate},
        {"EveryReasonAtOnce",
         with(medication("sertraline", 25, 3),
              {{"adherence", "poor"}, {"stop_reason", "side_effects"}}),
         none,
         {"early_stop_side_effects", "poor_adherence", "short_duration", "subtherapeutic_dose"}},
        // pharmacokinetics: fast clearance makes a failed trial inadequate
        {"Cyp2c19UltrarapidEscitalopramFailed",
         medication("escitalopram", 20, 10),
         {{"CYP2C19", "ultrarapid"}},
         {"pharmacokinetic"}},
        {"Cyp2c19UltrarapidCitalopramFailed",
         medication("citalopram", 40, 10),
         {{"CYP2C19", "ultrarapid"}},
         {"pharmacokinetic"}},
        {"Cyp2c19UltrarapidEscitalopramResponded",
         medication("escitalopram", 20, 10, "response"),
         {{"CYP2C19", "ultrarapid"}},
         adequate},
        {"Cyp2d6UltrarapidParoxetineFailed",
         medication("paroxetine", 20, 10),
         {{"CYP2D6", "ultrarapid"}},
         {"pharmacokinetic"}},
        {"Cyp2d6UltrarapidSertralineIsUnaffected",
         medication("sertraline", 100, 10),
         {{"CYP2D6", "ultrarapid"}},
         adequate},
        {"Cyp2c19NormalEscitalopramFailed",
         medication("escitalopram", 20, 10),
         {{"CYP2C19", "normal"}},
         adequate},
        {"Cyp2c19IntermediateEscitalopramFailed",
         medication("escitalopram", 20, 10),
         {{"CYP2C19", "intermediate"}},
         adequate},
        {"UntestedEscitalopramFailed", medication("escitalopram", 20, 10), none, adequate},
        // pharmacokinetics: a poor metabolizer who stopped for side effects
        {"Cyp2c19PoorEscitalopramSideEffects",
         sideEffectStop(medication("escitalopram", 10, 3)),
         {{"CYP2C19", "poor"}},
         earlyStopPk},
        {"Cyp2c19PoorCitalopramSideEffects",
         sideEffectStop(medication("citalopram", 20, 2)),
         {{"CYP2C19", "poor"}},
         earlyStopPk},
        {"Cyp2c19PoorSertralineSideEffects",
         sideEffectStop(medication("sertraline", 50, 3)),
         {{"CYP2C19", "poor"}},
         earlyStopPk},
        {"Cyp2b6PoorSertralineSideEffects",
         sideEffectStop(medication("sertraline", 50, 3)),
         {{"CYP2B6", "poor"}},
         earlyStopPk},
        {"Cyp2d6PoorParoxetineSideEffects",
         sideEffectStop(medication("paroxetine", 20, 3)),
         {{"CYP2D6", "poor"}},
         earlyStopPk},
        {"Cyp2c19NormalEscitalopramSideEffects",
         sideEffectStop(medication("escitalopram", 10, 3)),
         {{"CYP2C19", "normal"}},
         earlyStop},
        {"Cyp2d6PoorVenlafaxineSideEffects",
         sideEffectStop(medication("venlafaxine", 75, 3)),
         {{"CYP2D6", "poor"}},
         earlyStop},
        {"Cyp2c19PoorEscitalopramIneffectiveNoSideEffects",
         medication("escitalopram", 10, 10),
         {{"CYP2C19", "poor"}},
         adequate},
        // psychotherapy
        {"CbtTwelveSessions", psychotherapy("cbt", 12), none, adequate},
        {"CbtElevenSessions", psychotherapy("cbt", 11), none, {"incomplete_therapy"}},
        {"CbtPoorExposureAdherence",
         with(psychotherapy("cbt", 14), {{"exposure_adherence", "poor"}}),
         none,
         {"poor_adherence"}},
        {"CbtPartialExposureAdherence",
         with(psychotherapy("cbt", 14), {{"exposure_adherence", "partial"}}), none, adequate},
        {"CbtElevenSessionsPoorExposure",
         with(psychotherapy("cbt", 11), {{"exposure_adherence", "poor"}}),
         none,
         {"incomplete_therapy", "poor_adherence"}},
        {"DbtElevenSessions", psychotherapy("dbt", 11), none, {"incomplete_therapy"}},
        {"DbtPoorExposureIsNotACbtRule",
         with(psychotherapy("dbt", 16), {{"exposure_adherence", "poor"}}), none, adequate},
        {"TraumaFocusedTwelveSessions", psychotherapy("trauma_focused", 12), none, adequate},
        // augmentation uses the same dose and duration rules
        {"AugmentationSubtherapeutic",
         augmentation("quetiapine", 25, 8),
         none,
         {"subtherapeutic_dose"}},
        {"AugmentationShort", augmentation("aripiprazole", 5, 4), none, {"short_duration"}},
        // unassessable
        {"UnknownAgent", medication("zuranolone", 50, 10), none, unassessable},
        {"MissingAgent", with(medication("sertraline", 100, 10), {{"agent", nullptr}}), none,
         unassessable},
        {"MissingDose", with(medication("sertraline", 100, 10), {{"daily_dose_mg", nullptr}}), none,
         unassessable},
        {"MissingWeeks", with(medication("sertraline", 100, 10), {{"weeks_at_dose", nullptr}}),
         none, unassessable},
        {"MissingMedicationOutcome",
         with(medication("sertraline", 100, 10), {{"outcome", nullptr}}), none, unassessable},
        {"MissingPsychotherapySessions", with(psychotherapy("cbt", 12), {{"sessions", nullptr}}),
         none, unassessable},
        {"MissingPsychotherapyOutcome", with(psychotherapy("cbt", 12), {{"outcome", nullptr}}),
         none, unassessable},
        {"MissingPsychotherapyModality", with(psychotherapy("cbt", 12), {{"modality", nullptr}}),
         none, unassessable},
    };
}

class EligibilityTrialReasons : public ::testing::TestWithParam<TrialRow> {};

TEST_P(EligibilityTrialReasons, GivesExactlyTheReasonsThatApply) {
    const TrialRow& row = GetParam();
    json c = cleanCase();
    c["trials"] = json::array({row.trial});
    if (!row.pharmacogenomics.is_null()) {
        c["pharmacogenomics"] = row.pharmacogenomics;
    }
    const Evaluation e = evaluateJson(c);
    ASSERT_EQ(e.trials.size(), 1u);
    const TrialAssessment& t = e.trials[0];
    EXPECT_EQ(sorted(t.reasons), sorted(row.reasons));
    EXPECT_EQ(t.index, 0);
    ASSERT_TRUE(t.adequate.has_value());
    EXPECT_EQ(*t.adequate, row.reasons.empty());
    EXPECT_EQ(t.assessable, row.reasons != std::vector<std::string>{"unassessable"});
    // Every reason is explained by a detail; reasons other than unassessable name a source.
    for (const std::string& reason : t.reasons) {
        const auto detail = std::find_if(t.details.begin(), t.details.end(),
                                         [&](const TrialDetail& d) { return d.reason == reason; });
        ASSERT_NE(detail, t.details.end()) << reason;
        EXPECT_FALSE(detail->message.empty()) << reason;
        if (reason != "unassessable") {
            EXPECT_FALSE(detail->source.empty()) << reason;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Rules, EligibilityTrialReasons, ::testing::ValuesIn(trialRows()),
                         [](const auto& row) { return std::string(row.param.name); });

TEST(EligibilityTrialFacts, FailedIsNoOrPartialResponse) {
    for (const auto& [outcome, failed] :
         std::vector<std::pair<std::string, bool>>{{"no_response", true},
                                                   {"partial_response", true},
                                                   {"response", false},
                                                   {"remission", false}}) {
        SCOPED_TRACE(outcome);
        json c = cleanCase();
        c["trials"] = {medication("sertraline", 100, 10, outcome)};
        const Evaluation e = evaluateJson(c);
        ASSERT_EQ(e.trials.size(), 1u);
        ASSERT_TRUE(e.trials[0].failed.has_value());
        EXPECT_EQ(*e.trials[0].failed, failed);
    }
    json c = cleanCase();
    c["trials"] = {with(medication("sertraline", 100, 10), {{"outcome", nullptr}})};
    EXPECT_FALSE(evaluateJson(c).trials[0].failed.has_value());
}

TEST(EligibilityTrialFacts, FirstLineCategories) {
    json c = cleanCase();
    c["trials"] = {medication("sertraline", 100, 10),    // SSRI
                   medication("duloxetine", 60, 10),     // SNRI
                   augmentation("sertraline", 100, 10),  // first-line agent as augmentation
                   medication("pregabalin", 300, 10),    // not first-line
                   psychotherapy("cbt", 12),             // first-line therapy
                   psychotherapy("dbt", 12),             // specialized
                   psychotherapy("trauma_focused", 12),  // specialized
                   psychotherapy("other", 12),           // other
                   rtmsCourse(),                         // neuromodulation
                   medication("zuranolone", 50, 10)};    // not in the catalog
    const Evaluation e = evaluateJson(c);
    ASSERT_EQ(e.trials.size(), 10u);
    const std::vector<std::optional<bool>> firstLine{true,  true,  false, false, true,
                                                     false, false, false, false, false};
    const std::vector<TrialCategory> category{
        TrialCategory::FirstLine,   TrialCategory::FirstLine, TrialCategory::Augmentation,
        TrialCategory::Other,       TrialCategory::FirstLine, TrialCategory::Specialized,
        TrialCategory::Specialized, TrialCategory::Other,     TrialCategory::Neuromodulation,
        TrialCategory::Other};
    for (std::size_t i = 0; i < e.trials.size(); ++i) {
        SCOPED_TRACE(e.trials[i].summary);
        EXPECT_EQ(e.trials[i].index, static_cast<int>(i));
        EXPECT_EQ(e.trials[i].firstLine, firstLine[i]);
        EXPECT_STREQ(toString(e.trials[i].category), toString(category[i]));
    }
    // A neuromodulation course's adequacy is not judged.
    EXPECT_FALSE(e.trials[8].adequate.has_value());
    EXPECT_TRUE(e.trials[8].reasons.empty());
}

TEST(EligibilityTrialFacts, PoorMetabolizerLateSideEffectStopIsNotPharmacokinetic) {
    json c = cleanCase();
    c["trials"][0] = sideEffectStop(medication("sertraline", 100, 10));
    c["trials"][1] = sideEffectStop(medication("escitalopram", 20, 10));
    c["pharmacogenomics"] = {{"CYP2C19", "poor"}};
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(e.trials[0].reasons, std::vector<std::string>{});
    EXPECT_EQ(e.trials[1].reasons, std::vector<std::string>{});
    EXPECT_EQ(status(e), "refractory");
    EXPECT_EQ(decision(e.rtms), "eligible") << describe(e.rtms);
}

// ---- refractory status --------------------------------------------------------------------------

struct StatusRow {
    const char* name;
    json trials;
    const char* status;
    int adequateFailedFirstLine;
};

void PrintTo(const StatusRow& row, std::ostream* out) {
    *out << row.name;
}

std::vector<StatusRow> statusRows() {
    const json ssriA = medication("escitalopram", 20, 10);
    const json ssriB = medication("sertraline", 150, 12);
    const json underdosed = medication("sertraline", 25, 10);
    const json shortTrial = medication("venlafaxine", 150, 4);
    const json unknownAgent = medication("zuranolone", 50, 10);
    const json missingDose = with(medication("venlafaxine", 150, 10), {{"daily_dose_mg", nullptr}});
    return {
        {"TwoAdequateFailedFirstLine", {ssriA, ssriB}, "refractory", 2},
        {"PartialResponseCountsAsFailed",
         {ssriA, medication("sertraline", 150, 12, "partial_response")},
         "refractory",
         2},
        {"CbtCountsAsFirstLine", {ssriA, psychotherapy("cbt", 12)}, "refractory", 2},
        {"IncompleteCbtIsNotAdequate", {ssriA, psychotherapy("cbt", 11)}, "pseudo_resistant", 1},
        {"DbtIsNotFirstLine", {ssriA, psychotherapy("dbt", 20)}, "not_refractory", 1},
        {"TraumaFocusedIsNotFirstLine",
         {ssriA, psychotherapy("trauma_focused", 20)},
         "not_refractory",
         1},
        {"AugmentationIsNotFirstLine",
         {ssriA, augmentation("sertraline", 150, 12)},
         "not_refractory",
         1},
        {"SecondLineAgentIsNotFirstLine",
         {ssriA, medication("pregabalin", 300, 12)},
         "not_refractory",
         1},
        {"RtmsCourseIsNotFirstLine", {ssriA, rtmsCourse()}, "not_refractory", 1},
        {"ResponseIsNotAFailure",
         {medication("escitalopram", 20, 10, "response"),
          medication("sertraline", 150, 12, "response")},
         "not_refractory",
         0},
        {"RemissionIsNotAFailure",
         {ssriA, medication("sertraline", 150, 12, "remission")},
         "not_refractory",
         1},
        // An agent the catalog does not list is not a first-line SSRI/SNRI: it cannot count.
        {"OneAdequateFailedAndAnUnknownAgent", {ssriA, unknownAgent}, "not_refractory", 1},
        {"OneAdequateFailedAndAMissingDose", {ssriA, missingDose}, "insufficient_data", 1},
        {"OneAdequateFailedAndAMissingOutcome",
         {ssriA, with(ssriB, {{"outcome", nullptr}})},
         "insufficient_data",
         1},
        {"UnknownAgentAndMissingDose", {unknownAgent, missingDose}, "not_refractory", 0},
        {"TwoMissingDoses",
         {missingDose, with(ssriB, {{"daily_dose_mg", nullptr}})},
         "insufficient_data",
         0},
        // Known to be inadequate (3 weeks, poor adherence) whatever its missing dose: it cannot
        // make the patient refractory, and as a failed inadequate trial it makes them
        // pseudo-resistant rather than "insufficient data".
        {"GapsInAnAlreadyInadequateTrialCannotChangeIt",
         {ssriA, with(medication("escitalopram", 20, 3),
                      {{"daily_dose_mg", nullptr}, {"adherence", "poor"}})},
         "pseudo_resistant",
         1},
        {"UnassessableThatRespondedCannotChangeIt",
         {ssriA, with(medication("sertraline", 150, 12, "response"), {{"weeks_at_dose", nullptr}})},
         "not_refractory",
         1},
        {"UnassessableAugmentationCannotChangeIt",
         {ssriA, with(augmentation("quetiapine", 150, 8), {{"daily_dose_mg", nullptr}})},
         "not_refractory",
         1},
        {"OneAdequateAndOneUnderdosedFailed", {ssriA, underdosed}, "pseudo_resistant", 1},
        {"TwoInadequateFailed", {underdosed, shortTrial}, "pseudo_resistant", 0},
        {"TwoInadequateAndOneUnassessable",
         {underdosed, shortTrial, unknownAgent},
         "pseudo_resistant",
         0},
        {"OneFailedTrial", {ssriA}, "not_refractory", 1},
        {"NoTrials", json::array(), "not_refractory", 0},
    };
}

class EligibilityRefractoryStatus : public ::testing::TestWithParam<StatusRow> {};

TEST_P(EligibilityRefractoryStatus, Classifies) {
    const StatusRow& row = GetParam();
    json c = cleanCase();
    c["trials"] = row.trials;
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(status(e), row.status);
    EXPECT_EQ(e.adequateFailedFirstLine, row.adequateFailedFirstLine);
    // The status drives both decisions.
    const std::string s = row.status;
    const Effect effect = s == "refractory"          ? Effect::Info
                          : s == "insufficient_data" ? Effect::Review
                                                     : Effect::Blocks;
    EXPECT_TRUE(has(e.rtms, "refractory.status", effect)) << describe(e.rtms);
    EXPECT_TRUE(has(e.vns, "refractory.status", effect)) << describe(e.vns);
    if (s == "not_refractory" || s == "pseudo_resistant") {
        EXPECT_EQ(decision(e.rtms), "not_eligible");
        EXPECT_EQ(decision(e.vns), "not_eligible");
    }
}

INSTANTIATE_TEST_SUITE_P(Rules, EligibilityRefractoryStatus, ::testing::ValuesIn(statusRows()),
                         [](const auto& row) { return std::string(row.param.name); });

TEST(EligibilityRefractoryDecisions, InsufficientDataNeedsReviewForRtms) {
    json c = cleanCase();
    c["trials"][1] = with(medication("sertraline", 150, 12), {{"weeks_at_dose", nullptr}});
    const Evaluation e = evaluateJson(c);
    ASSERT_EQ(status(e), "insufficient_data");
    EXPECT_EQ(decision(e.rtms), "needs_review") << describe(e.rtms);
    EXPECT_EQ(decision(e.vns), "needs_review") << describe(e.vns);
}

TEST(EligibilityRefractoryDecisions, PseudoResistantBlocksBoth) {
    json c = cleanCase();
    c["trials"][1] = medication("venlafaxine", 37.5, 12);
    const Evaluation e = evaluateJson(c);
    ASSERT_EQ(status(e), "pseudo_resistant");
    EXPECT_EQ(decision(e.rtms), "not_eligible");
    EXPECT_EQ(decision(e.vns), "not_eligible");
}

// ---- current severity ---------------------------------------------------------------------------

struct SeverityRow {
    const char* name;
    json scales;
    const char* rtms;
    const char* vns;
};

void PrintTo(const SeverityRow& row, std::ostream* out) {
    *out << row.name;
}

std::vector<SeverityRow> severityRows() {
    return {
        {"Gad7Total9", {scale("gad7", 9)}, "not_eligible", "not_eligible"},
        {"Gad7Total10", {scale("gad7", 10)}, "eligible", "not_eligible"},
        {"Gad7Total14", {scale("gad7", 14)}, "eligible", "not_eligible"},
        {"Gad7Total15", {scale("gad7", 15)}, "eligible", "eligible"},
        {"Gad7Items9", {scale("gad7", gad7Items(9))}, "not_eligible", "not_eligible"},
        {"Gad7Items10", {scale("gad7", gad7Items(10))}, "eligible", "not_eligible"},
        {"Gad7Items14", {scale("gad7", gad7Items(14))}, "eligible", "not_eligible"},
        {"Gad7Items15", {scale("gad7", gad7Items(15))}, "eligible", "eligible"},
        {"HamaTotal17", {scale("hama", 17)}, "not_eligible", "not_eligible"},
        {"HamaTotal18", {scale("hama", 18)}, "eligible", "not_eligible"},
        {"HamaTotal24", {scale("hama", 24)}, "eligible", "not_eligible"},
        {"HamaTotal25", {scale("hama", 25)}, "eligible", "eligible"},
        {"HamaItems17", {scale("hama", hamaItems(17))}, "not_eligible", "not_eligible"},
        {"HamaItems18", {scale("hama", hamaItems(18))}, "eligible", "not_eligible"},
        {"HamaItems24", {scale("hama", hamaItems(24))}, "eligible", "not_eligible"},
        {"HamaItems25", {scale("hama", hamaItems(25))}, "eligible", "eligible"},
        {"OnTheEvaluationDay", {scale("gad7", 18, 0)}, "eligible", "eligible"},
        {"Day90IsInTheWindow", {scale("gad7", 18, 90)}, "eligible", "eligible"},
        {"Day91IsOutOfTheWindow", {scale("gad7", 18, 91)}, "needs_review", "needs_review"},
        {"NoScale", json::array(), "needs_review", "needs_review"},
        {"OnlyPhq9", {scale("phq9", 20)}, "needs_review", "needs_review"},
        {"DatedAfterTheEvaluation", {scale("gad7", 18, -1)}, "needs_review", "needs_review"},
        {"LaterDatedScoreIgnored",
         {scale("gad7", 9, 30), scale("gad7", 21, -5)},
         "not_eligible",
         "not_eligible"},
        {"LatestScoreWinsWhenLower",
         {scale("gad7", 20, 60), scale("gad7", 9, 10)},
         "not_eligible",
         "not_eligible"},
        {"LatestScoreWinsWhenHigher",
         {scale("gad7", 9, 60), scale("gad7", 18, 10)},
         "eligible",
         "eligible"},
        {"OldSevereScoreOutOfWindowIgnored",
         {scale("gad7", 21, 120), scale("gad7", 9, 30)},
         "not_eligible",
         "not_eligible"},
    };
}

class EligibilitySeverity : public ::testing::TestWithParam<SeverityRow> {};

TEST_P(EligibilitySeverity, GatesRtmsAndVns) {
    const SeverityRow& row = GetParam();
    json c = cleanCase();
    c["scales"] = row.scales;
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(decision(e.rtms), row.rtms) << describe(e.rtms);
    EXPECT_EQ(decision(e.vns), row.vns) << describe(e.vns);
    const auto expected = [](const std::string& d) {
        return d == "eligible"       ? Effect::Info
               : d == "needs_review" ? Effect::Review
                                     : Effect::Blocks;
    };
    EXPECT_TRUE(has(e.rtms, "severity.current", expected(row.rtms))) << describe(e.rtms);
    EXPECT_TRUE(has(e.vns, "severity.current", expected(row.vns))) << describe(e.vns);
}

INSTANTIATE_TEST_SUITE_P(Rules, EligibilitySeverity, ::testing::ValuesIn(severityRows()),
                         [](const auto& row) { return std::string(row.param.name); });

TEST(EligibilitySeverityFacts, ItemsAreSummedAndTheCurrentScoreIsReported) {
    json c = cleanCase();
    c["scales"] = {scale("hama", hamaItems(25), 90), scale("phq9", 20, 5)};
    const Evaluation e = evaluateJson(c);
    ASSERT_EQ(e.currentSeverity.size(), 1u);
    EXPECT_EQ(e.currentSeverity[0].instrument, "hama");
    EXPECT_EQ(e.currentSeverity[0].total, 25);
    EXPECT_EQ(formatIsoDate(e.currentSeverity[0].date), daysBeforeEvaluation(90));
}

TEST(EligibilitySeverityFacts, SameDayScoresUseTheOneThatMeetsTheThreshold) {
    // Interpretation pinned here: GAD-7 and HAM-A taken on the same (latest) day that disagree;
    // the evaluator uses the score that meets the modality's threshold.
    json c = cleanCase();
    c["scales"] = {scale("gad7", 8, 10), scale("hama", 20, 10)};
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(e.currentSeverity.size(), 2u);
    EXPECT_EQ(decision(e.rtms), "eligible") << describe(e.rtms);
    EXPECT_EQ(decision(e.vns), "not_eligible") << describe(e.vns);
}

// ---- rTMS ---------------------------------------------------------------------------------------

const std::vector<std::string> kRtmsAbsolute{"metal_in_head", "cochlear_implant",
                                             "implanted_neurostimulator",
                                             "cardiac_pacemaker_or_icd", "medication_pump"};
const std::vector<std::string> kRtmsRelative{
    "epilepsy_or_seizure_history", "seizure_threshold_lowering_medication", "pregnancy",
    "head_injury_or_brain_lesion", "sleep_deprivation_or_withdrawal"};

TEST(EligibilityRtms, EachAbsoluteContraindicationBlocks) {
    for (const std::string& item : kRtmsAbsolute) {
        SCOPED_TRACE(item);
        json c = cleanCase();
        c["rtms_screening"][item] = true;
        const Evaluation e = evaluateJson(c);
        EXPECT_EQ(decision(e.rtms), "not_eligible") << describe(e.rtms);
        EXPECT_TRUE(has(e.rtms, "rtms.contraindication.absolute", Effect::Blocks));
        EXPECT_EQ(decision(e.vns), "eligible") << "rTMS screening does not touch VNS";
    }
}

TEST(EligibilityRtms, AbsoluteContraindicationBlocksEvenWhenEverythingElseNeedsReview) {
    json c = cleanCase();
    c["rtms_screening"]["pregnancy"] = true;
    c["medical_workup"]["thyroid"] = "not_done";
    c["rtms_screening"]["medication_pump"] = true;
    EXPECT_EQ(decision(evaluateJson(c).rtms), "not_eligible");
}

TEST(EligibilityRtms, EachUnknownAbsoluteItemNeedsReview) {
    for (const std::string& item : kRtmsAbsolute) {
        SCOPED_TRACE(item);
        json c = cleanCase();
        c["rtms_screening"].erase(item);
        const Evaluation e = evaluateJson(c);
        EXPECT_EQ(decision(e.rtms), "needs_review") << describe(e.rtms);
        EXPECT_TRUE(has(e.rtms, "rtms.screening.unknown", Effect::Review));
    }
    json c = cleanCase();
    c.erase("rtms_screening");
    EXPECT_EQ(decision(evaluateJson(c).rtms), "needs_review");
}

TEST(EligibilityRtms, EachRelativeContraindicationNeedsReview) {
    for (const std::string& item : kRtmsRelative) {
        SCOPED_TRACE(item);
        json c = cleanCase();
        c["rtms_screening"][item] = true;
        const Evaluation e = evaluateJson(c);
        EXPECT_EQ(decision(e.rtms), "needs_review") << describe(e.rtms);
        EXPECT_TRUE(has(e.rtms, "rtms.contraindication.relative", Effect::Review));
    }
}

TEST(EligibilityRtms, UnknownRelativeItemsAreNotedNotReviewed) {
    json c = cleanCase();
    for (const std::string& item : kRtmsRelative) {
        c["rtms_screening"].erase(item);
    }
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(decision(e.rtms), "eligible") << describe(e.rtms);
    EXPECT_TRUE(has(e.rtms, "rtms.screening.unknown", Effect::Info));
}

TEST(EligibilityRtms, WorkupNotNormalNeedsReviewForBoth) {
    for (const std::string item : {"thyroid", "cardiac_rhythm"}) {
        for (const json& state : {json("abnormal"), json("not_done"), json()}) {
            SCOPED_TRACE(item + " " + state.dump());
            json c = cleanCase();
            if (state.is_null()) {
                c["medical_workup"].erase(item);
            } else {
                c["medical_workup"][item] = state;
            }
            const Evaluation e = evaluateJson(c);
            EXPECT_EQ(decision(e.rtms), "needs_review") << describe(e.rtms);
            EXPECT_EQ(decision(e.vns), "needs_review") << describe(e.vns);
            EXPECT_TRUE(has(e.rtms, "workup." + item, Effect::Review));
            EXPECT_TRUE(has(e.vns, "workup." + item, Effect::Review));
        }
    }
}

struct ComorbidityRow {
    const char* item;
    const char* state;  ///< nullptr: the key is absent from the case
    bool review;
};

TEST(EligibilityRtms, ComorbidityGates) {
    const std::vector<ComorbidityRow> rows{
        {"bipolar_disorder", "present", true},
        {"bipolar_disorder", "suspected", true},
        {"bipolar_disorder", "not_assessed", true},
        {"bipolar_disorder", nullptr, true},
        {"bipolar_disorder", "absent", false},
        {"substance_use_disorder", "present", true},
        {"substance_use_disorder", "suspected", true},
        {"substance_use_disorder", "not_assessed", true},
        {"substance_use_disorder", nullptr, true},
        {"substance_use_disorder", "absent", false},
        {"chronic_pain", "present", true},
        {"chronic_pain", "suspected", true},
        {"chronic_pain", "not_assessed", false},
        {"chronic_pain", nullptr, false},
        {"chronic_pain", "absent", false},
    };
    for (const ComorbidityRow& row : rows) {
        const std::string item = row.item;
        SCOPED_TRACE(item + " " + (row.state ? row.state : "(absent key)"));
        json c = cleanCase();
        if (row.state) {
            c["comorbidities"][item] = row.state;
        } else {
            c["comorbidities"].erase(item);
        }
        const Evaluation e = evaluateJson(c);
        const char* expected = row.review ? "needs_review" : "eligible";
        EXPECT_EQ(decision(e.rtms), expected) << describe(e.rtms);
        EXPECT_EQ(decision(e.vns), expected) << describe(e.vns);
        EXPECT_EQ(has(e.rtms, "comorbidity." + item, Effect::Review), row.review);
        EXPECT_EQ(has(e.vns, "comorbidity." + item, Effect::Review), row.review);
    }
}

TEST(EligibilityRtms, Age17NeedsReview) {
    json c = cleanCase();
    c["patient"]["birth_date"] = "2008-11-03";  // 18 tomorrow
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(e.ageYears, 17);
    EXPECT_EQ(decision(e.rtms), "needs_review") << describe(e.rtms);
    EXPECT_TRUE(has(e.rtms, "age.minimum", Effect::Review));
}

TEST(EligibilityRtms, Age18OnTheEvaluationDateIsFine) {
    json c = cleanCase();
    c["patient"]["birth_date"] = "2008-11-02";  // 18th birthday is the evaluation date
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(e.ageYears, 18);
    EXPECT_EQ(decision(e.rtms), "eligible") << describe(e.rtms);
    EXPECT_EQ(decision(e.vns), "eligible") << describe(e.vns);
}

TEST(EligibilityRtms, UnknownAgeNeedsReview) {
    json c = cleanCase();
    c["patient"].erase("birth_date");
    const Evaluation e = evaluateJson(c);
    EXPECT_FALSE(e.ageYears.has_value());
    EXPECT_EQ(decision(e.rtms), "needs_review");
    EXPECT_EQ(decision(e.vns), "needs_review");
    EXPECT_TRUE(has(e.rtms, "age.minimum", Effect::Review));
    EXPECT_TRUE(has(e.vns, "age.minimum", Effect::Review));
}

TEST(EligibilityRtms, MissingDiagnosisNeedsReview) {
    json c = cleanCase();
    c.erase("diagnosis");
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(decision(e.rtms), "needs_review");
    EXPECT_EQ(decision(e.vns), "needs_review");
}

TEST(EligibilityRtms, EligibleWhenEverythingIsClean) {
    // The rTMS-only patient: no augmentation yet, so VNS is not eligible; rTMS is.
    json c = cleanCase();
    c["trials"] = {medication("escitalopram", 20, 10), psychotherapy("cbt", 14)};
    c.erase("vns_screening");
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(decision(e.rtms), "eligible") << describe(e.rtms);
    EXPECT_TRUE(clean(e.rtms));
    EXPECT_EQ(decision(e.vns), "not_eligible");
}

// ---- VNS ----------------------------------------------------------------------------------------

TEST(EligibilityVns, ContraindicationBlocksAndUnknownNeedsReview) {
    for (const std::string item : {"prior_cervical_vagotomy", "diathermy_planned"}) {
        SCOPED_TRACE(item);
        json c = cleanCase();
        c["vns_screening"][item] = true;
        Evaluation e = evaluateJson(c);
        EXPECT_EQ(decision(e.vns), "not_eligible") << describe(e.vns);
        EXPECT_TRUE(has(e.vns, "vns.contraindication", Effect::Blocks));
        EXPECT_EQ(decision(e.rtms), "eligible") << "VNS screening does not touch rTMS";

        c["vns_screening"].erase(item);
        e = evaluateJson(c);
        EXPECT_EQ(decision(e.vns), "needs_review") << describe(e.vns);
        EXPECT_TRUE(has(e.vns, "vns.screening.unknown", Effect::Review));
    }
}

TEST(EligibilityVns, UnderAge18Blocks) {
    json c = cleanCase();
    c["patient"]["birth_date"] = "2008-11-03";
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(decision(e.vns), "not_eligible") << describe(e.vns);
    EXPECT_TRUE(has(e.vns, "age.minimum", Effect::Blocks));
}

TEST(EligibilityVns, SeverityBelowTheSevereThresholdBlocks) {
    json c = cleanCase();
    c["scales"] = {scale("gad7", 14)};
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(decision(e.vns), "not_eligible");
    EXPECT_TRUE(has(e.vns, "severity.current", Effect::Blocks));
    EXPECT_EQ(decision(e.rtms), "eligible");
}

struct LadderRow {
    const char* name;
    json laterTrials;  ///< replaces trials 2.. of the clean case (after the two first-line)
    const char* vns;   ///< decision
    Effect ladder;
};

void PrintTo(const LadderRow& row, std::ostream* out) {
    *out << row.name;
}

std::vector<LadderRow> ladderRows() {
    const json aug = augmentation("pregabalin", 300, 8);
    const json dbt = psychotherapy("dbt", 20);
    return {
        {"AugmentationAndDbt", {aug, dbt}, "eligible", Effect::Info},
        {"AugmentationAndTraumaFocused",
         {aug, psychotherapy("trauma_focused", 16)},
         "eligible",
         Effect::Info},
        {"AugmentationAndFailedRtms", {aug, rtmsCourse()}, "eligible", Effect::Info},
        {"AugmentationAndPartialResponseRtms",
         {aug, rtmsCourse("partial_response")},
         "eligible",
         Effect::Info},
        {"FirstLineAgentAsAugmentation",
         {augmentation("sertraline", 100, 8), dbt},
         "eligible",
         Effect::Info},
        {"NoAugmentation", {dbt, rtmsCourse()}, "not_eligible", Effect::Blocks},
        {"NoSecondRung", {aug}, "not_eligible", Effect::Blocks},
        {"NothingAfterFirstLine", json::array(), "not_eligible", Effect::Blocks},
        {"AugmentationResponded",
         {augmentation("pregabalin", 300, 8, "response"), dbt},
         "not_eligible",
         Effect::Blocks},
        {"AugmentationTooShort",
         {augmentation("pregabalin", 300, 4), dbt},
         "not_eligible",
         Effect::Blocks},
        {"AugmentationUnderdosed",
         {augmentation("pregabalin", 75, 8), dbt},
         "not_eligible",
         Effect::Blocks},
        {"PregabalinMonotherapyIsNotAugmentation",
         {medication("pregabalin", 300, 8), dbt},
         "not_eligible",
         Effect::Blocks},
        {"DbtIncomplete", {aug, psychotherapy("dbt", 11)}, "not_eligible", Effect::Blocks},
        {"DbtResponded",
         {aug, psychotherapy("dbt", 20, "response")},
         "not_eligible",
         Effect::Blocks},
        {"CbtIsNotTheSecondRung", {aug, psychotherapy("cbt", 20)}, "not_eligible", Effect::Blocks},
        {"RtmsCourseResponded", {aug, rtmsCourse("response")}, "not_eligible", Effect::Blocks},
        {"VnsCourseIsNotAnRtmsCourse",
         {aug, {{"type", "neuromodulation"}, {"modality", "vns"}, {"outcome", "no_response"}}},
         "not_eligible",
         Effect::Blocks},
        {"UnassessableAugmentationMissingDose",
         {with(aug, {{"daily_dose_mg", nullptr}}), dbt},
         "needs_review",
         Effect::Review},
        {"UnassessableAugmentationUnknownAgent",
         {augmentation("zuranolone", 50, 8), dbt},
         "needs_review",
         Effect::Review},
        {"UnassessableDbt",
         {aug, with(dbt, {{"sessions", nullptr}})},
         "needs_review",
         Effect::Review},
        {"RtmsCourseOutcomeUnknown",
         {aug, with(rtmsCourse(), {{"outcome", nullptr}})},
         "needs_review",
         Effect::Review},
        {"UnassessableAugmentationButNoSecondRung",
         {with(aug, {{"daily_dose_mg", nullptr}})},
         "not_eligible",
         Effect::Blocks},
        {"UnassessableAugmentationThatResponded",
         {with(augmentation("pregabalin", 300, 8, "response"), {{"daily_dose_mg", nullptr}}), dbt},
         "not_eligible",
         Effect::Blocks},
    };
}

class EligibilityVnsLadder : public ::testing::TestWithParam<LadderRow> {};

TEST_P(EligibilityVnsLadder, Decides) {
    const LadderRow& row = GetParam();
    json c = cleanCase();
    json trials = {c["trials"][0], c["trials"][1]};
    for (const json& t : row.laterTrials) {
        trials.push_back(t);
    }
    c["trials"] = trials;
    const Evaluation e = evaluateJson(c);
    ASSERT_EQ(status(e), "refractory");
    EXPECT_EQ(decision(e.vns), row.vns) << describe(e.vns);
    EXPECT_TRUE(has(e.vns, "vns.ladder", row.ladder)) << describe(e.vns);
    EXPECT_EQ(decision(e.rtms), "eligible") << "the ladder is a VNS rule only";
}

INSTANTIATE_TEST_SUITE_P(Rules, EligibilityVnsLadder, ::testing::ValuesIn(ladderRows()),
                         [](const auto& row) { return std::string(row.param.name); });

TEST(EligibilityVns, EachPrecautionNeedsReview) {
    for (const std::string item :
         {"cardiac_arrhythmia", "obstructive_sleep_apnea", "dysphagia",
          "hoarseness_or_vocal_cord_disorder", "chronic_pulmonary_disease"}) {
        SCOPED_TRACE(item);
        json c = cleanCase();
        c["vns_screening"][item] = true;
        const Evaluation e = evaluateJson(c);
        EXPECT_EQ(decision(e.vns), "needs_review") << describe(e.vns);
        EXPECT_TRUE(has(e.vns, "vns.precaution", Effect::Review));
        EXPECT_EQ(decision(e.rtms), "eligible");
    }
}

TEST(EligibilityVns, UnknownPrecautionsAreNotedNotReviewed) {
    json c = cleanCase();
    for (const std::string item :
         {"cardiac_arrhythmia", "obstructive_sleep_apnea", "dysphagia",
          "hoarseness_or_vocal_cord_disorder", "chronic_pulmonary_disease"}) {
        c["vns_screening"].erase(item);
    }
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(decision(e.vns), "eligible") << describe(e.vns);
    EXPECT_TRUE(has(e.vns, "vns.screening.unknown", Effect::Info));
}

TEST(EligibilityVns, SurgicalClearanceFalseOrMissingNeedsReview) {
    json c = cleanCase();
    c["vns_screening"]["surgical_clearance"] = false;
    Evaluation e = evaluateJson(c);
    EXPECT_EQ(decision(e.vns), "needs_review") << describe(e.vns);
    EXPECT_TRUE(has(e.vns, "vns.surgical_clearance", Effect::Review));

    c["vns_screening"].erase("surgical_clearance");
    e = evaluateJson(c);
    EXPECT_EQ(decision(e.vns), "needs_review") << describe(e.vns);
    EXPECT_TRUE(has(e.vns, "vns.surgical_clearance", Effect::Review));
}

TEST(EligibilityVns, BlocksWhenNotRefractory) {
    json c = cleanCase();
    c["trials"][1] = medication("venlafaxine", 150, 12, "remission");
    const Evaluation e = evaluateJson(c);
    ASSERT_EQ(status(e), "not_refractory");
    EXPECT_EQ(decision(e.vns), "not_eligible");
    EXPECT_TRUE(has(e.vns, "refractory.status", Effect::Blocks));
}

// ---- findings and labels ------------------------------------------------------------------------

TEST(EligibilityFindings, BothDecisionsAreOffLabelWithTheReason) {
    const Evaluation e = evaluateJson(cleanCase());
    for (const ModalityDecision* d : {&e.rtms, &e.vns}) {
        EXPECT_FALSE(d->onLabel);
        EXPECT_NE(d->onLabelReason.find("anxiety"), std::string::npos) << d->onLabelReason;
        EXPECT_TRUE(has(*d, "on_label", Effect::Info));
    }
}

TEST(EligibilityFindings, EveryBlockAndReviewIsListedNotJustTheFirst) {
    json c = cleanCase();
    c["rtms_screening"]["metal_in_head"] = true;
    c["rtms_screening"]["cochlear_implant"] = true;
    c["rtms_screening"]["pregnancy"] = true;
    c["medical_workup"]["thyroid"] = "abnormal";
    c["scales"] = {scale("gad7", 5)};
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(decision(e.rtms), "not_eligible");
    const auto count = [&](std::string_view rule, Effect effect) {
        return std::count_if(e.rtms.findings.begin(), e.rtms.findings.end(), [&](const Finding& f) {
            return f.rule == rule && f.effect == effect;
        });
    };
    EXPECT_EQ(count("rtms.contraindication.absolute", Effect::Blocks), 2);
    EXPECT_EQ(count("severity.current", Effect::Blocks), 1);
    EXPECT_EQ(count("rtms.contraindication.relative", Effect::Review), 1);
    EXPECT_EQ(count("workup.thyroid", Effect::Review), 1);
}

TEST(EligibilityFindings, JsonHasTheDocumentedShape) {
    json c = cleanCase();
    c["trials"].push_back(medication("zuranolone", 50, 10));
    const json out = toJson(evaluateJson(c));
    EXPECT_EQ(out["rule_set"], "refractory-anxiety-v1");
    EXPECT_EQ(out["refractory"]["status"], "refractory");
    EXPECT_EQ(out["refractory"]["adequate_failed_first_line"], 2);
    ASSERT_EQ(out["refractory"]["trials"].size(), 5u);
    for (std::size_t i = 0; i < 5; ++i) {
        const json& t = out["refractory"]["trials"][i];
        EXPECT_EQ(t["index"], i);
        for (const char* key : {"first_line", "adequate", "failed", "reasons"}) {
            EXPECT_TRUE(t.contains(key)) << key;
        }
        EXPECT_TRUE(t["reasons"].is_array());
    }
    EXPECT_EQ(out["refractory"]["trials"][4]["first_line"], false);  // not in the catalog
    EXPECT_EQ(out["refractory"]["trials"][4]["reasons"], json({"unassessable"}));
    for (const char* modality : {"rtms", "vns"}) {
        const json& d = out[modality];
        EXPECT_EQ(d["decision"], "eligible") << modality;
        EXPECT_EQ(d["on_label"], false);
        ASSERT_FALSE(d["findings"].empty());
        for (const json& f : d["findings"]) {
            EXPECT_TRUE(f["rule"].is_string() && !f["rule"].get<std::string>().empty());
            EXPECT_TRUE(f["effect"] == "blocks" || f["effect"] == "review" || f["effect"] == "info")
                << f.dump();
            EXPECT_TRUE(f["message"].is_string());
            EXPECT_TRUE(f["source"].is_string() && !f["source"].get<std::string>().empty());
        }
    }
}

TEST(EligibilityFindings, ReportNamesRulesAndSources) {
    json c = cleanCase();
    c["rtms_screening"]["cochlear_implant"] = true;
    const std::string report = formatReport(evaluateJson(c));
    EXPECT_NE(report.find("rTMS: NOT ELIGIBLE"), std::string::npos) << report;
    EXPECT_NE(report.find("rtms.contraindication.absolute"), std::string::npos) << report;
    EXPECT_NE(report.find("source: "), std::string::npos) << report;
}

// ---- the case format: malformed input ----------------------------------------------------------

struct MalformedRow {
    const char* name;
    std::function<void(json&)> change;
    const char* field;
};

void PrintTo(const MalformedRow& row, std::ostream* out) {
    *out << row.name;
}

std::vector<MalformedRow> malformedRows() {
    return {
        // unknown enum value
        {"UnknownOutcome", [](json& c) { c["trials"][0]["outcome"] = "better"; },
         "trials[0].outcome"},
        {"UnknownDiagnosis", [](json& c) { c["diagnosis"] = "depression"; }, "diagnosis"},
        {"UnknownRole", [](json& c) { c["trials"][2]["role"] = "adjunct"; }, "trials[2].role"},
        {"UnknownStopReason", [](json& c) { c["trials"][1]["stop_reason"] = "bored"; },
         "trials[1].stop_reason"},
        {"UnknownModality", [](json& c) { c["trials"][3]["modality"] = "act"; },
         "trials[3].modality"},
        {"UnknownComorbidityState",
         [](json& c) { c["comorbidities"]["bipolar_disorder"] = "maybe"; },
         "comorbidities.bipolar_disorder"},
        {"UnknownWorkupState", [](json& c) { c["medical_workup"]["thyroid"] = "pending"; },
         "medical_workup.thyroid"},
        {"UnknownPhenotype",
         [](json& c) {
             c["pharmacogenomics"] = {{"CYP2D6", "fast"}};
         },
         "pharmacogenomics.CYP2D6"},
        {"UnknownSex", [](json& c) { c["patient"]["sex"] = "f"; }, "patient.sex"},
        // wrong type
        {"StringDose", [](json& c) { c["trials"][0]["daily_dose_mg"] = "20"; },
         "trials[0].daily_dose_mg"},
        {"StringScreeningAnswer", [](json& c) { c["rtms_screening"]["metal_in_head"] = "no"; },
         "rtms_screening.metal_in_head"},
        {"FractionalSessions", [](json& c) { c["trials"][3]["sessions"] = 12.5; },
         "trials[3].sessions"},
        {"TrialsNotAnArray", [](json& c) { c["trials"] = json::object(); }, "trials"},
        {"TrialNotAnObject", [](json& c) { c["trials"][1] = "sertraline"; }, "trials[1]"},
        {"NumericDate", [](json& c) { c["evaluation_date"] = 20261102; }, "evaluation_date"},
        // impossible or malformed date
        {"ImpossibleEvaluationDate", [](json& c) { c["evaluation_date"] = "2026-02-30"; },
         "evaluation_date"},
        {"NotIsoEvaluationDate", [](json& c) { c["evaluation_date"] = "02/11/2026"; },
         "evaluation_date"},
        {"ImpossibleBirthDate", [](json& c) { c["patient"]["birth_date"] = "1990-13-01"; },
         "patient.birth_date"},
        {"BirthAfterEvaluation", [](json& c) { c["patient"]["birth_date"] = "2026-11-03"; },
         "patient.birth_date"},
        {"ImpossibleScaleDate", [](json& c) { c["scales"][0]["date"] = "2026-02-30"; },
         "scales[0].date"},
        // negative numbers
        {"NegativeDose", [](json& c) { c["trials"][1]["daily_dose_mg"] = -10; },
         "trials[1].daily_dose_mg"},
        {"NegativeWeeks", [](json& c) { c["trials"][1]["weeks_at_dose"] = -1; },
         "trials[1].weeks_at_dose"},
        {"NegativeSessions", [](json& c) { c["trials"][3]["sessions"] = -1; },
         "trials[3].sessions"},
        // unknown key
        {"UnknownTopLevelKey", [](json& c) { c["colour"] = "blue"; }, "colour"},
        {"UnknownTrialKey", [](json& c) { c["trials"][0]["dose_mg"] = 20; }, "trials[0].dose_mg"},
        {"MedicationKeyOnPsychotherapy", [](json& c) { c["trials"][3]["agent"] = "x"; },
         "trials[3].agent"},
        {"UnknownScreeningItem", [](json& c) { c["rtms_screening"]["metal"] = true; },
         "rtms_screening.metal"},
        {"UnknownGene",
         [](json& c) {
             c["pharmacogenomics"] = {{"CYP3A4", "poor"}};
         },
         "pharmacogenomics.CYP3A4"},
        {"UnknownPatientKey", [](json& c) { c["patient"]["name"] = "Ada"; }, "patient.name"},
        // required members
        {"MissingEvaluationDate", [](json& c) { c.erase("evaluation_date"); }, "evaluation_date"},
        {"MissingTrialType", [](json& c) { c["trials"][0].erase("type"); }, "trials[0].type"},
        {"UnknownTrialType", [](json& c) { c["trials"][0]["type"] = "surgery"; }, "trials[0].type"},
        {"ScaleWithoutDate", [](json& c) { c["scales"][0].erase("date"); }, "scales[0].date"},
        {"ScaleWithoutItemsOrTotal", [](json& c) { c["scales"][0].erase("total"); }, "scales[0]"},
        // scales
        {"ScaleItemOutOfRange",
         [](json& c) {
             c["scales"] = {scale("gad7", json{0, 0, 4, 0, 0, 0, 0})};
         },
         "scales[0].items[2]"},
        {"ScaleItemNegative",
         [](json& c) {
             c["scales"] = {scale("gad7", json{0, 0, 0, 0, 0, 0, -1})};
         },
         "scales[0].items[6]"},
        {"ScaleItemNotANumber",
         [](json& c) {
             c["scales"] = {scale("gad7", json{"3", 0, 0, 0, 0, 0, 0})};
         },
         "scales[0].items[0]"},
        {"ScaleWrongItemCount",
         [](json& c) {
             c["scales"] = {scale("gad7", json{1, 1, 1})};
         },
         "scales[0].items"},
        {"ScaleItemsAndTotalDisagree",
         [](json& c) {
             json s = scale("gad7", gad7Items(10));
             s["total"] = 12;
             c["scales"] = {s};
         },
         "scales[0].total"},
        {"ScaleTotalOutOfRange", [](json& c) { c["scales"][0]["total"] = 22; }, "scales[0].total"},
        {"UnknownInstrument", [](json& c) { c["scales"][0]["instrument"] = "beck"; },
         "scales[0].instrument"},
        {"SecondScaleIsNamed",
         [](json& c) {
             c["scales"].push_back(scale("hama", json{1, 2, 3}));
         },
         "scales[1].items"},
        // the document itself
        {"DocumentIsAnArray", [](json& c) { c = json::array({c}); }, "(document)"},
    };
}

class EligibilityMalformedCase : public ::testing::TestWithParam<MalformedRow> {};

TEST_P(EligibilityMalformedCase, IsInvalidInputNamingTheField) {
    const MalformedRow& row = GetParam();
    json c = cleanCase();
    row.change(c);
    const auto result = parseCase(c);
    ASSERT_FALSE(result.ok()) << "accepted: " << c.dump();
    EXPECT_EQ(result.error().code, ErrorCode::InvalidInput);
    EXPECT_EQ(result.error().field, row.field) << result.error().describe();
    EXPECT_FALSE(result.error().message.empty());
    // The same through the text entry point.
    // The same, word for word, through the text entry point (simdjson, not nlohmann).
    const auto fromText = parseCaseText(c.dump(), "case.json");
    ASSERT_FALSE(fromText.ok());
    EXPECT_EQ(fromText.error().field, row.field);
    EXPECT_EQ(fromText.error().message, result.error().message);
}

INSTANTIATE_TEST_SUITE_P(Format, EligibilityMalformedCase, ::testing::ValuesIn(malformedRows()),
                         [](const auto& row) { return std::string(row.param.name); });

TEST(EligibilityCaseFormat, NonJsonTextIsInvalidInputNamingTheOrigin) {
    for (const char* text : {"{not json", "", "{\"evaluation_date\": \"2026-11-02\",}",
                             "evaluation_date: 2026-11-02"}) {
        SCOPED_TRACE(text);
        const auto result = parseCaseText(text, "my-case.json");
        ASSERT_FALSE(result.ok());
        EXPECT_EQ(result.error().code, ErrorCode::InvalidInput);
        EXPECT_EQ(result.error().field, "my-case.json");
    }
}

TEST(EligibilityCaseFormat, MinimalCaseIsValidAndEverythingElseIsUnknown) {
    const auto result = parseCaseText(R"({"evaluation_date": "2026-11-02"})", "minimal.json");
    ASSERT_TRUE(result.ok()) << result.error().describe();
    const Evaluation e = evaluate(*result, RuleSet::builtIn());
    expectWellFormed(e.rtms, "rtms");
    expectWellFormed(e.vns, "vns");
    EXPECT_EQ(status(e), "not_refractory");
    EXPECT_TRUE(has(e.rtms, "severity.current", Effect::Review));
    EXPECT_TRUE(has(e.rtms, "rtms.screening.unknown", Effect::Review));
    EXPECT_TRUE(has(e.rtms, "workup.thyroid", Effect::Review));
    EXPECT_TRUE(has(e.rtms, "comorbidity.bipolar_disorder", Effect::Review));
    EXPECT_TRUE(has(e.vns, "vns.surgical_clearance", Effect::Review));
}

TEST(EligibilityCaseFormat, NullCountsAsAbsent) {
    json c = cleanCase();
    c["trials"][0]["daily_dose_mg"] = nullptr;
    c["diagnosis"] = nullptr;
    const Evaluation e = evaluateJson(c);
    EXPECT_EQ(e.trials[0].reasons, std::vector<std::string>{"unassessable"});
}

TEST(EligibilityCaseFormat, KeyGivenTwiceIsRefusedNotSilentlyOverwritten) {
    const auto top = parseCaseText(
        R"({"evaluation_date": "2026-11-02", "diagnosis": "panic_disorder",
            "diagnosis": "generalized_anxiety_disorder"})",
        "twice.json");
    ASSERT_FALSE(top.ok());
    EXPECT_EQ(top.error().field, "diagnosis");
    EXPECT_EQ(top.error().message, "is given twice");
    const auto nested = parseCaseText(
        R"({"evaluation_date": "2026-11-02",
            "rtms_screening": {"metal_in_head": false, "metal_in_head": true}})",
        "twice.json");
    ASSERT_FALSE(nested.ok());
    EXPECT_EQ(nested.error().field, "rtms_screening.metal_in_head");
}

TEST(EligibilityCaseFormat, TextAndDocumentEntryPointsReadTheSameCase) {
    // parseCaseText reads with simdjson, parseCase with nlohmann: the same rules over two JSON
    // libraries, so every example and the clean test case must evaluate identically both ways.
    std::vector<std::string> texts{cleanCase().dump(), cleanCase().dump(2)};
    for (const auto& entry : std::filesystem::directory_iterator(std::string(NEUROPLAN_SOURCE_DIR) +
                                                                 "/docs/examples/cases")) {
        if (entry.path().filename() == "expected.json") {
            continue;
        }
        std::ifstream in(entry.path());
        std::stringstream text;
        text << in.rdbuf();
        texts.push_back(text.str());
    }
    for (const auto& text : texts) {
        const auto fromText = parseCaseText(text, "case.json");
        const auto fromDocument = parseCase(json::parse(text));
        ASSERT_TRUE(fromText.ok()) << fromText.error().describe();
        ASSERT_TRUE(fromDocument.ok()) << fromDocument.error().describe();
        EXPECT_EQ(toJson(evaluate(*fromText, RuleSet::builtIn())),
                  toJson(evaluate(*fromDocument, RuleSet::builtIn())));
    }
}

TEST(EligibilityCaseFormat, WholeNumbersAgreeAcrossEntryPoints) {
    // 12.0 counts as 12 sessions; 1e1 as 10; a fraction or a number beyond long long is refused
    // with the same message either way.
    for (const char* sessions : {"12.0", "1e1", "12.5", "18446744073709551615", "1e300"}) {
        SCOPED_TRACE(sessions);
        const std::string text =
            std::string(R"({"evaluation_date": "2026-11-02", "trials": [{"type": "psychotherapy",
            "modality": "cbt", "outcome": "no_response", "sessions": )") +
            sessions + "}]}";
        const auto fromText = parseCaseText(text, "case.json");
        const auto fromDocument = parseCase(json::parse(text));
        ASSERT_EQ(fromText.ok(), fromDocument.ok());
        if (fromText.ok()) {
            EXPECT_EQ(fromText->trials[0].sessions, fromDocument->trials[0].sessions);
        } else {
            EXPECT_EQ(fromText.error().field, "trials[0].sessions");
            EXPECT_EQ(fromText.error().message, fromDocument.error().message);
        }
    }
}

TEST(EligibilityCaseFormat, ExampleCasesParse) {
    // Each documented example is a valid case (the CLI test checks the outcomes they claim).
    for (const char* name :
         {"rtms-eligible.json", "vns-eligible.json", "needs-review.json", "pseudo-resistant.json",
          "not-eligible-contraindication.json", "insufficient-data.json"}) {
        SCOPED_TRACE(name);
        std::ifstream in(std::string(NEUROPLAN_SOURCE_DIR) + "/docs/examples/cases/" + name);
        ASSERT_TRUE(in) << name;
        std::stringstream text;
        text << in.rdbuf();
        const auto result = parseCaseText(text.str(), name);
        EXPECT_TRUE(result.ok()) << result.error().describe();
    }
}

// ---- the rule set and clinic copies ------------------------------------------------------------

json builtInRules() {
    return json::parse(RuleSet::builtInText());
}

Result<RuleSet> rulesFrom(const json& document) {
    return RuleSet::fromClinicCopy(document.dump(), "clinic.json");
}

TEST(EligibilityRuleSet, BuiltInFileLoadsThroughTheClinicLoader) {
    const auto rules = RuleSet::fromText(RuleSet::builtInText(), "copy.json");
    ASSERT_TRUE(rules.ok()) << rules.error().describe();
    EXPECT_EQ(rules->id, "refractory-anxiety-v1");
    EXPECT_EQ(rules->label(), RuleSet::builtIn().label());
    EXPECT_EQ(rules->minWeeksAtDose.value, 8);
    EXPECT_EQ(rules->minPsychotherapySessions.value, 12);
    EXPECT_EQ(rules->lookbackDays.value, 90);
    EXPECT_EQ(rules->minimumAgeYears.value, 18);
    ASSERT_NE(rules->findDrug("sertraline"), nullptr);
    EXPECT_EQ(rules->findDrug("sertraline")->minTherapeuticMg.value, 50);
}

TEST(EligibilityRuleSet, ClinicCopyWithTwelveWeeksChangesTheEightWeekOutcome) {
    json document = builtInRules();
    document["adequacy"]["min_weeks_at_dose"]["value"] = 12;
    const auto clinic = rulesFrom(document);
    ASSERT_TRUE(clinic.ok()) << clinic.error().describe();
    EXPECT_EQ(clinic->minWeeksAtDose.value, 12);

    json c = cleanCase();
    c["trials"] = {medication("escitalopram", 20, 8), medication("sertraline", 100, 12)};
    const Evaluation builtIn = evaluateJson(c);
    EXPECT_EQ(builtIn.trials[0].reasons, std::vector<std::string>{});
    EXPECT_EQ(status(builtIn), "refractory");

    const Evaluation edited = evaluateWith(c, *clinic);
    EXPECT_EQ(edited.trials[0].reasons, std::vector<std::string>{"short_duration"});
    EXPECT_EQ(edited.trials[1].reasons, std::vector<std::string>{});
    EXPECT_EQ(status(edited), "pseudo_resistant");
    EXPECT_EQ(decision(edited.rtms), "not_eligible");

    // Side effects at week 10 are an early stop under a 12-week rule.
    c["trials"][0] = sideEffectStop(medication("escitalopram", 20, 10));
    EXPECT_EQ(sorted(evaluateWith(c, *clinic).trials[0].reasons),
              sorted({"short_duration", "early_stop_side_effects"}));
}

TEST(EligibilityRuleSet, MinWeeksOutsideItsAllowedRangeIsRefused) {
    for (const double weeks : {13.0, 7.0, 12.5}) {
        SCOPED_TRACE(weeks);
        json document = builtInRules();
        document["adequacy"]["min_weeks_at_dose"]["value"] = weeks;
        const auto clinic = rulesFrom(document);
        ASSERT_FALSE(clinic.ok());
        EXPECT_EQ(clinic.error().code, ErrorCode::InvalidInput);
        EXPECT_EQ(clinic.error().field, "adequacy.min_weeks_at_dose.value");
    }
}

TEST(EligibilityRuleSet, ClinicCopyCannotMoveTheEightToTwelveWeekRange) {
    json widened = builtInRules();
    widened["adequacy"]["min_weeks_at_dose"]["allowed_min"] = 2;
    widened["adequacy"]["min_weeks_at_dose"]["allowed_max"] = 20;
    widened["adequacy"]["min_weeks_at_dose"]["value"] = 4;
    json unbounded = builtInRules();
    unbounded["adequacy"]["min_weeks_at_dose"].erase("allowed_min");
    unbounded["adequacy"]["min_weeks_at_dose"].erase("allowed_max");
    unbounded["adequacy"]["min_weeks_at_dose"]["value"] = 2;
    for (const json& document : {widened, unbounded}) {
        const auto clinic = rulesFrom(document);
        EXPECT_FALSE(clinic.ok()) << "accepted min_weeks_at_dose "
                                  << document["adequacy"]["min_weeks_at_dose"]["value"];
        if (!clinic.ok()) {
            EXPECT_EQ(clinic.error().field, "adequacy.min_weeks_at_dose.value");
        }
    }
}

TEST(EligibilityRuleSet, ItemThatIsNotACaseKeyIsRefused) {
    struct Row {
        const char* pointer;
        const char* field;
    };
    for (const Row& row :
         {Row{"/rtms/absolute_contraindications/0/item", "rtms.absolute_contraindications[0].item"},
          Row{"/rtms/relative_contraindications/2/item", "rtms.relative_contraindications[2].item"},
          Row{"/vns/precautions/1/item", "vns.precautions[1].item"},
          Row{"/vns/contraindications/0/item", "vns.contraindications[0].item"},
          Row{"/workup/0/item", "workup[0].item"},
          Row{"/comorbidities/0/item", "comorbidities[0].item"}}) {
        SCOPED_TRACE(row.pointer);
        json document = builtInRules();
        document[json::json_pointer(row.pointer)] = "metal_in_the_head";
        const auto clinic = rulesFrom(document);
        ASSERT_FALSE(clinic.ok());
        EXPECT_EQ(clinic.error().code, ErrorCode::InvalidInput);
        EXPECT_EQ(clinic.error().field, row.field) << clinic.error().describe();
    }
}

TEST(EligibilityRuleSet, UnknownSourceIdIsRefused) {
    struct Row {
        const char* pointer;
        const char* field;
    };
    for (const Row& row :
         {Row{"/adequacy/min_weeks_at_dose/source", "adequacy.min_weeks_at_dose.source"},
          Row{"/drugs/2/min_therapeutic_mg/source", "drugs[2].min_therapeutic_mg.source"},
          Row{"/pharmacogenomics/0/source", "pharmacogenomics[0].source"},
          Row{"/rtms/absolute_contraindications/1/source",
              "rtms.absolute_contraindications[1].source"},
          Row{"/vns/on_label/source", "vns.on_label.source"}}) {
        SCOPED_TRACE(row.pointer);
        json document = builtInRules();
        document[json::json_pointer(row.pointer)] = "my-own-opinion";
        const auto clinic = rulesFrom(document);
        ASSERT_FALSE(clinic.ok());
        EXPECT_EQ(clinic.error().code, ErrorCode::InvalidInput);
        EXPECT_EQ(clinic.error().field, row.field) << clinic.error().describe();
    }
}

TEST(EligibilityRuleSet, OtherBrokenCopiesAreRefused) {
    json wrongKind = builtInRules();
    wrongKind["kind"] = "instrument-catalog";
    auto result = rulesFrom(wrongKind);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().field, "kind");

    json unknownKey = builtInRules();
    unknownKey["adequacy"]["min_weeks_at_dose"]["maximum"] = 12;
    result = rulesFrom(unknownKey);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().field, "adequacy.min_weeks_at_dose.maximum");

    json duplicate = builtInRules();
    duplicate["drugs"].push_back(duplicate["drugs"][0]);
    result = rulesFrom(duplicate);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::InvalidInput);

    result = RuleSet::fromText("{\"format\": ", "clinic.json");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::InvalidInput);
}

}  // namespace
}  // namespace neuroplan::eligibility
