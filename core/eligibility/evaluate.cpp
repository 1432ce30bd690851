#include "eligibility/evaluate.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>

#include "base/format.h"

namespace neuroplan::eligibility {

using nlohmann::json;

const char* toString(RefractoryStatus status) {
    switch (status) {
        case RefractoryStatus::Refractory:
            return "refractory";
        case RefractoryStatus::InsufficientData:
            return "insufficient_data";
        case RefractoryStatus::PseudoResistant:
            return "pseudo_resistant";
        case RefractoryStatus::NotRefractory:
            return "not_refractory";
    }
    return "insufficient_data";
}

const char* toString(Decision decision) {
    switch (decision) {
        case Decision::Eligible:
            return "eligible";
        case Decision::NeedsReview:
            return "needs_review";
        case Decision::NotEligible:
            return "not_eligible";
    }
    return "needs_review";
}

std::optional<Decision> parseDecision(std::string_view text) {
    for (Decision d : {Decision::Eligible, Decision::NeedsReview, Decision::NotEligible}) {
        if (text == toString(d)) {
            return d;
        }
    }
    return std::nullopt;
}

const char* toString(Effect effect) {
    switch (effect) {
        case Effect::Blocks:
            return "blocks";
        case Effect::Review:
            return "review";
        case Effect::Info:
            return "info";
    }
    return "info";
}

const char* toString(TrialCategory category) {
    switch (category) {
        case TrialCategory::FirstLine:
            return "first_line";
        case TrialCategory::Augmentation:
            return "augmentation";
        case TrialCategory::Specialized:
            return "specialized_therapy";
        case TrialCategory::Neuromodulation:
            return "neuromodulation";
        case TrialCategory::Other:
            return "other";
        case TrialCategory::Unknown:
            return "unknown";
    }
    return "unknown";
}

namespace {

std::string plural(long long n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string describeTrial(const Trial& t) {
    std::string text;
    if (t.type == "medication") {
        text = t.agent.value_or("unknown agent");
        if (t.role) {
            text += " (" + *t.role + ")";
        }
        text += t.dailyDoseMg ? " " + formatNumber(*t.dailyDoseMg) + " mg/day" : " dose unknown";
        text += t.weeksAtDose ? " for " + formatNumber(*t.weeksAtDose) + " weeks"
                              : ", duration unknown";
    } else {
        text = t.modality.value_or(t.type);
        text +=
            t.sessions ? ", " + plural(*t.sessions, "session", "sessions") : ", sessions unknown";
    }
    if (t.outcome) {
        text += ", " + *t.outcome;
    }
    return text;
}

/// Collects the findings of one modality and derives its decision.
class Findings {
  public:
    void add(std::string rule, Effect effect, std::string message, const Provenance& from) {
        m_list.push_back({std::move(rule), effect, std::move(message), describeSource(from)});
    }
    ModalityDecision decide(const OnLabel& label) && {
        ModalityDecision result;
        const auto has = [&](Effect e) {
            return std::any_of(m_list.begin(), m_list.end(),
                               [e](const Finding& f) { return f.effect == e; });
        };
        result.decision = has(Effect::Blocks)   ? Decision::NotEligible
                          : has(Effect::Review) ? Decision::NeedsReview
                                                : Decision::Eligible;
        result.onLabel = label.value;
        result.onLabelReason = label.reason;
        m_list.push_back({"on_label", Effect::Info,
                          std::string(label.value ? "on-label: " : "off-label: ") + label.reason,
                          describeSource(label.from)});
        result.findings = std::move(m_list);
        return result;
    }

  private:
    std::vector<Finding> m_list;
};

class Evaluator {
  public:
    Evaluator(const Case& input, const RuleSet& rules) : m_case(input), m_rules(rules) {}

    Evaluation run() {
        Evaluation result;
        result.ruleSetId = m_rules.id;
        result.ruleSetVersion = m_rules.storedVersion();
        result.ruleSetDigest = m_rules.digest;
        result.evaluationDate = m_case.evaluationDate;
        result.patientId = m_case.patientId;
        result.ageYears = m_age = age();
        for (std::size_t i = 0; i < m_case.trials.size(); ++i) {
            result.trials.push_back(assess(m_case.trials[i], static_cast<int>(i)));
        }
        classify(result);
        findSeverity(result);
        m_trials = &result.trials;
        m_status = result.status;
        m_adequateFailed = result.adequateFailedFirstLine;
        m_severity = &result.currentSeverity;
        result.rtms = rtms();
        result.vns = vns();
        return result;
    }

  private:
    // ---- trials -------------------------------------------------------------------------
    TrialAssessment assess(const Trial& trial, int index) const {
        TrialAssessment a;
        a.index = index;
        a.summary = describeTrial(trial);
        if (trial.outcome) {
            a.failed = m_rules.failedOutcomes.contains(*trial.outcome);
        }
        const auto unassessable = [&](std::string why) {
            a.assessable = false;
            a.details.push_back({"unassessable", std::move(why), ""});
        };
        if (trial.type == "medication") {
            assessMedication(trial, a, unassessable);
        } else if (trial.type == "psychotherapy") {
            assessPsychotherapy(trial, a, unassessable);
        } else {
            a.category = TrialCategory::Neuromodulation;
            a.firstLine = false;
            if (!trial.modality) {
                unassessable("modality not given");
            }
            if (!trial.outcome) {
                unassessable("outcome not given");
            }
            a.details.push_back(
                {"note", "the adequacy of a neuromodulation course is not judged", ""});
        }
        if (!a.assessable) {
            a.reasons = {"unassessable"};
            if (a.category != TrialCategory::Neuromodulation) {
                a.adequate = false;
            }
        } else if (a.category != TrialCategory::Neuromodulation) {
            a.adequate = a.reasons.empty();
        }
        return a;
    }

    template <class Unassessable>
    void assessMedication(const Trial& trial, TrialAssessment& a,
                          const Unassessable& unassessable) const {
        const Drug* drug = trial.agent ? m_rules.findDrug(*trial.agent) : nullptr;
        if (!trial.role) {
            a.details.push_back({"note", "role not given; taken as monotherapy", ""});
        }
        if (trial.role == "augmentation") {
            a.category = TrialCategory::Augmentation;
            a.firstLine = false;
        } else {
            // First-line agents are the catalog's SSRIs and SNRIs: an agent the catalog does not
            // list is not one of them.
            a.category = drug != nullptr && drug->firstLine ? TrialCategory::FirstLine
                                                            : TrialCategory::Other;
            a.firstLine = drug != nullptr && drug->firstLine;
        }
        // What is missing, and what is already known to disqualify the trial: a trial that is
        // short, poorly taken or under-dosed is inadequate whatever the missing values are.
        std::vector<std::string> missing;
        if (!trial.agent) {
            missing.push_back("agent not given");
        } else if (drug == nullptr) {
            missing.push_back("'" + *trial.agent + "' is not in the drug catalog of " +
                              m_rules.label() + "; its minimum therapeutic dose is unknown");
        }
        if (!trial.dailyDoseMg) {
            missing.push_back("daily_dose_mg not given");
        }
        if (!trial.weeksAtDose) {
            missing.push_back("weeks_at_dose not given");
        }
        if (!trial.outcome) {
            missing.push_back("outcome not given");
        }
        const auto reason = [&](const char* code, std::string message, const Provenance& from) {
            if (std::find(a.reasons.begin(), a.reasons.end(), code) == a.reasons.end()) {
                a.reasons.push_back(code);
            }
            a.details.push_back({code, std::move(message), describeSource(from)});
        };
        const double minWeeks = m_rules.minWeeksAtDose.value;
        if (drug != nullptr && trial.dailyDoseMg &&
            *trial.dailyDoseMg < drug->minTherapeuticMg.value) {
            reason("subtherapeutic_dose",
                   *trial.agent + " " + formatNumber(*trial.dailyDoseMg) +
                       " mg/day is below the minimum therapeutic dose of " +
                       formatNumber(drug->minTherapeuticMg.value) + " mg/day",
                   drug->minTherapeuticMg.from);
        }
        if (trial.weeksAtDose && *trial.weeksAtDose < minWeeks) {
            reason("short_duration",
                   formatNumber(*trial.weeksAtDose) + " weeks at that dose is less than the " +
                       formatNumber(minWeeks) + " weeks of an adequate trial",
                   m_rules.minWeeksAtDose.from);
        }
        if (trial.stopReason == "side_effects" && trial.weeksAtDose &&
            *trial.weeksAtDose < minWeeks) {
            reason("early_stop_side_effects",
                   "stopped for side effects after " + formatNumber(*trial.weeksAtDose) +
                       " weeks, before an adequate trial",
                   m_rules.minWeeksAtDose.from);
        }
        if (trial.adherence == "poor") {
            reason("poor_adherence", "adherence was poor", m_rules.minWeeksAtDose.from);
        }
        for (const PgxRule& rule : trial.agent ? std::span<const PgxRule>(m_rules.pharmacogenomics)
                                               : std::span<const PgxRule>()) {
            if (std::find(rule.agents.begin(), rule.agents.end(), *trial.agent) ==
                rule.agents.end()) {
                continue;
            }
            const auto phenotype = m_case.pharmacogenomics.find(rule.gene);
            if (phenotype == m_case.pharmacogenomics.end() || phenotype->second != rule.phenotype) {
                continue;
            }
            const std::string who = rule.gene + " " + rule.phenotype + " metabolizer";
            if (rule.effect == "fast_clearance" && a.failed == true) {
                reason("pharmacokinetic",
                       who + ": CPIC advises to " + rule.advice + " (" + rule.strength +
                           "); the failure may be pharmacokinetic, not true resistance",
                       rule.from);
            } else if (rule.effect == "accumulation" && trial.stopReason == "side_effects" &&
                       trial.weeksAtDose && *trial.weeksAtDose < minWeeks) {
                // Beside early_stop_side_effects only: a late stop after an adequate trial is
                // not explained by accumulation.
                reason("pharmacokinetic",
                       who + ": the drug may have accumulated; CPIC advises " + rule.advice + " (" +
                           rule.strength + ")",
                       rule.from);
            }
        }
        if (!missing.empty()) {
            if (a.reasons.empty()) {
                for (auto& why : missing) {
                    unassessable(std::move(why));
                }
                return;
            }
            for (auto& why : missing) {  // inadequate already; note the gaps
                a.details.push_back({"note", std::move(why), ""});
            }
            return;
        }
        if (drug->minTherapeuticMg.from.confidence == "R") {
            a.details.push_back(
                {"note",
                 "the minimum dose of " + *trial.agent + " is an unconfirmed value (confidence R)",
                 describeSource(drug->minTherapeuticMg.from)});
        }
    }

    template <class Unassessable>
    void assessPsychotherapy(const Trial& trial, TrialAssessment& a,
                             const Unassessable& unassessable) const {
        if (!trial.modality) {
            unassessable("modality not given");
        } else if (m_rules.firstLinePsychotherapies.contains(*trial.modality)) {
            a.category = TrialCategory::FirstLine;
            a.firstLine = true;
        } else {
            a.category = m_rules.specializedPsychotherapies.contains(*trial.modality)
                             ? TrialCategory::Specialized
                             : TrialCategory::Other;
            a.firstLine = false;
        }
        const double minSessions = m_rules.minPsychotherapySessions.value;
        if (trial.sessions && static_cast<double>(*trial.sessions) < minSessions) {
            a.reasons.push_back("incomplete_therapy");
            a.details.push_back({"incomplete_therapy",
                                 plural(*trial.sessions, "session", "sessions") +
                                     " is fewer than the " + formatNumber(minSessions) +
                                     " of an adequate course",
                                 describeSource(m_rules.minPsychotherapySessions.from)});
        }
        if (trial.modality == "cbt" && trial.exposureAdherence == "poor") {
            a.reasons.push_back("poor_adherence");
            a.details.push_back({"poor_adherence",
                                 "exposure work was avoided (poor exposure adherence)",
                                 describeSource(m_rules.firstLinePsychotherapies.from)});
        }
        for (const char* gap : {"sessions", "outcome"}) {
            const bool absent = gap == std::string("sessions") ? !trial.sessions : !trial.outcome;
            if (!absent) {
                continue;
            }
            if (a.reasons.empty()) {
                unassessable(std::string(gap) + " not given");
            } else {
                a.details.push_back({"note", std::string(gap) + " not given", ""});
            }
        }
    }

    // ---- refractory status ---------------------------------------------------------------
    void classify(Evaluation& result) const {
        int adequateFailed = 0;
        int couldCount = 0;
        int failedAny = 0;
        for (const auto& t : result.trials) {
            const bool firstLine = t.firstLine == true;
            if (firstLine && t.adequate == true && t.failed == true) {
                ++adequateFailed;
            }
            if (!t.assessable && t.firstLine != false && t.failed != false) {
                ++couldCount;
            }
            if (firstLine && t.assessable && t.failed == true) {
                ++failedAny;
            }
        }
        const double needed = m_rules.refractoryMinAdequateFailed.value;
        result.adequateFailedFirstLine = adequateFailed;
        result.status = adequateFailed >= needed                ? RefractoryStatus::Refractory
                        : adequateFailed + couldCount >= needed ? RefractoryStatus::InsufficientData
                        : failedAny >= needed                   ? RefractoryStatus::PseudoResistant
                                                                : RefractoryStatus::NotRefractory;
        m_couldCount = couldCount;
        m_failedAny = failedAny;
    }

    void refractoryFinding(Findings& f) const {
        const std::string needed = formatNumber(m_rules.refractoryMinAdequateFailed.value);
        const std::string counts = plural(m_adequateFailed, "adequate failed first-line trial",
                                          "adequate failed first-line trials") +
                                   " (" + needed + " needed)";
        const Provenance& from = m_rules.refractoryMinAdequateFailed.from;
        switch (m_status) {
            case RefractoryStatus::Refractory:
                f.add("refractory.status", Effect::Info, "refractory: " + counts, from);
                break;
            case RefractoryStatus::InsufficientData:
                f.add("refractory.status", Effect::Review,
                      "insufficient data: " + counts + "; " +
                          plural(m_couldCount, "unassessable trial", "unassessable trials") +
                          " could change that",
                      from);
                break;
            case RefractoryStatus::PseudoResistant:
                f.add(
                    "refractory.status", Effect::Blocks,
                    "pseudo-resistant: " +
                        plural(m_failedAny, "failed first-line trial", "failed first-line trials") +
                        ", but only " + counts + "; optimise treatment first",
                    from);
                break;
            case RefractoryStatus::NotRefractory:
                f.add("refractory.status", Effect::Blocks, "not refractory: " + counts, from);
                break;
        }
    }

    // ---- severity ---------------------------------------------------------------------------
    void findSeverity(Evaluation& result) const {
        const long long lookback = std::llround(m_rules.lookbackDays.value);
        const auto day = [](Date d) { return std::chrono::sys_days{d}; };
        std::optional<Date> latest;
        for (const auto& s : m_case.scales) {
            const long long age = (day(m_case.evaluationDate) - day(s.date)).count();
            if (m_rules.findSeverity(s.instrument) == nullptr || age < 0 || age > lookback) {
                continue;
            }
            if (!latest || day(s.date) > day(*latest)) {
                latest = s.date;
            }
        }
        if (!latest) {
            return;
        }
        for (const auto& s : m_case.scales) {
            if (m_rules.findSeverity(s.instrument) != nullptr && s.date == *latest) {
                result.currentSeverity.push_back({s.instrument, s.date, s.total});
            }
        }
    }

    /// Blocks below the modality's threshold; review when no score is current.
    void severityFinding(Findings& f, bool vns) const {
        const std::string window = formatNumber(m_rules.lookbackDays.value) + " days";
        int later = 0;
        for (const auto& s : m_case.scales) {
            later += s.date > m_case.evaluationDate ? 1 : 0;
        }
        if (later > 0) {
            f.add("severity.current", Effect::Info,
                  plural(later, "scale dated after the evaluation was",
                         "scales dated after the evaluation were") +
                      " not used",
                  m_rules.lookbackDays.from);
        }
        if (m_severity->empty()) {
            f.add("severity.current", Effect::Review,
                  "no GAD-7 or HAM-A score in the " + window + " before the evaluation",
                  m_rules.lookbackDays.from);
            return;
        }
        const CurrentSeverity* best = nullptr;
        const Sourced<double>* threshold = nullptr;
        for (const auto& s : *m_severity) {
            const SeverityRule* rule = m_rules.findSeverity(s.instrument);
            const Sourced<double>& min = vns ? rule->vnsMin : rule->rtmsMin;
            if (best == nullptr || (s.total >= min.value && best->total < threshold->value)) {
                best = &s;
                threshold = &min;
            }
        }
        const std::string score = best->instrument + " " + std::to_string(best->total) + " on " +
                                  formatIsoDate(best->date);
        const std::string need = (vns ? "VNS needs " : "rTMS needs ") + best->instrument +
                                 " >= " + formatNumber(threshold->value);
        if (best->total >= threshold->value) {
            f.add("severity.current", Effect::Info, score + " meets the threshold (" + need + ")",
                  threshold->from);
        } else {
            f.add("severity.current", Effect::Blocks,
                  score + " is below the threshold (" + need + ")", threshold->from);
        }
    }

    // ---- shared gates ----------------------------------------------------------------------
    std::optional<int> age() const {
        if (!m_case.birthDate) {
            return std::nullopt;
        }
        const Date& b = *m_case.birthDate;
        const Date& e = m_case.evaluationDate;
        int years = static_cast<int>(e.year()) - static_cast<int>(b.year());
        if (e.month() < b.month() || (e.month() == b.month() && e.day() < b.day())) {
            --years;
        }
        return years;
    }

    void ageFinding(Findings& f, Effect whenMinor) const {
        const double minimum = m_rules.minimumAgeYears.value;
        if (!m_age) {
            f.add("age.minimum", Effect::Review, "age unknown (no birth date)",
                  m_rules.minimumAgeYears.from);
        } else if (*m_age < minimum) {
            f.add("age.minimum", whenMinor,
                  "age " + std::to_string(*m_age) + " is below " + formatNumber(minimum),
                  m_rules.minimumAgeYears.from);
        }
    }

    void diagnosisFinding(Findings& f) const {
        if (!m_case.diagnosis) {
            f.add("diagnosis.given", Effect::Review, "no anxiety diagnosis given",
                  m_rules.refractoryMinAdequateFailed.from);
        }
    }

    void workupAndComorbidity(Findings& f) const {
        for (const ScreeningItem& item : m_rules.workup) {
            const auto it = m_case.workup.find(item.item);
            const std::string state = it == m_case.workup.end() ? "not_done" : it->second;
            if (state != "normal") {
                f.add("workup." + item.item, Effect::Review,
                      item.label + ": " + (state == "abnormal" ? "abnormal" : "not done"),
                      item.from);
            }
        }
        for (const ComorbidityRule& rule : m_rules.comorbidities) {
            const auto it = m_case.comorbidities.find(rule.item);
            const std::string state =
                it == m_case.comorbidities.end() ? "not_assessed" : it->second;
            if (std::find(rule.reviewWhen.begin(), rule.reviewWhen.end(), state) !=
                rule.reviewWhen.end()) {
                f.add("comorbidity." + rule.item, Effect::Review, rule.label + ": " + state,
                      rule.from);
            }
        }
    }

    /// True items produce `effect`; each unknown one a review (or, when `unknownReviews` is
    /// false, one info finding listing them).
    void screening(Findings& f, const std::vector<ScreeningItem>& items,
                   const std::map<std::string, bool, std::less<>>& answers, const std::string& rule,
                   Effect effect, bool unknownReviews, const std::string& unknownRule) const {
        std::vector<std::string> unknown;
        for (const ScreeningItem& item : items) {
            const auto it = answers.find(item.item);
            if (it == answers.end()) {
                if (unknownReviews) {
                    f.add(unknownRule, Effect::Review, item.label + ": not asked", item.from);
                } else {
                    unknown.push_back(item.item);
                }
            } else if (it->second) {
                f.add(rule, effect, item.label + ": present", item.from);
            }
        }
        if (!unknown.empty() && !items.empty()) {
            std::string list;
            for (const auto& u : unknown) {
                list += (list.empty() ? "" : ", ") + u;
            }
            f.add(unknownRule, Effect::Info, "not asked: " + list, items.front().from);
        }
    }

    // ---- decisions --------------------------------------------------------------------------
    ModalityDecision rtms() const {
        Findings f;
        screening(f, m_rules.rtmsAbsolute, m_case.rtmsScreening, "rtms.contraindication.absolute",
                  Effect::Blocks, true, "rtms.screening.unknown");
        refractoryFinding(f);
        severityFinding(f, false);
        screening(f, m_rules.rtmsRelative, m_case.rtmsScreening, "rtms.contraindication.relative",
                  Effect::Review, false, "rtms.screening.unknown");
        workupAndComorbidity(f);
        ageFinding(f, Effect::Review);
        diagnosisFinding(f);
        return std::move(f).decide(m_rules.rtmsOnLabel);
    }

    ModalityDecision vns() const {
        Findings f;
        screening(f, m_rules.vnsContraindications, m_case.vnsScreening, "vns.contraindication",
                  Effect::Blocks, true, "vns.screening.unknown");
        ageFinding(f, Effect::Blocks);
        refractoryFinding(f);
        severityFinding(f, true);
        ladderFinding(f);
        screening(f, m_rules.vnsPrecautions, m_case.vnsScreening, "vns.precaution", Effect::Review,
                  false, "vns.screening.unknown");
        const ScreeningItem& clearance = m_rules.vnsSurgicalClearance;
        const auto cleared = m_case.vnsScreening.find(clearance.item);
        if (cleared == m_case.vnsScreening.end() || !cleared->second) {
            f.add("vns.surgical_clearance", Effect::Review,
                  clearance.label +
                      (cleared == m_case.vnsScreening.end() ? ": not recorded" : ": not given"),
                  clearance.from);
        }
        workupAndComorbidity(f);
        diagnosisFinding(f);
        return std::move(f).decide(m_rules.vnsOnLabel);
    }

    /// VNS is the last rung: an adequate failed augmentation AND (an adequate failed DBT /
    /// trauma-focused therapy OR a failed rTMS course).
    void ladderFinding(Findings& f) const {
        int augmentation = 0;
        int specialized = 0;
        int rtmsCourses = 0;
        int openAugmentation = 0;
        int openSpecialized = 0;
        int openRtms = 0;
        for (std::size_t i = 0; i < m_trials->size(); ++i) {
            const TrialAssessment& t = (*m_trials)[i];
            const Trial& trial = m_case.trials[i];
            const int open = !t.assessable && t.failed != false ? 1 : 0;
            const int counts = t.adequate == true && t.failed == true ? 1 : 0;
            if (t.category == TrialCategory::Augmentation) {
                augmentation += counts;
                openAugmentation += open;
            } else if (t.category == TrialCategory::Specialized) {
                specialized += counts;
                openSpecialized += open;
            } else if (t.category == TrialCategory::Neuromodulation && trial.modality == "rtms") {
                rtmsCourses += t.failed == true ? 1 : 0;
                openRtms += open;
            }
        }
        const double needAugmentation = m_rules.ladderAugmentation.value;
        const double needSpecialized = m_rules.ladderSpecialized.value;
        const double needRtms = m_rules.ladderRtms.value;
        const bool complete = augmentation >= needAugmentation &&
                              (specialized >= needSpecialized || rtmsCourses >= needRtms);
        const bool couldComplete = augmentation + openAugmentation >= needAugmentation &&
                                   (specialized + openSpecialized >= needSpecialized ||
                                    rtmsCourses + openRtms >= needRtms);
        const std::string summary =
            plural(augmentation, "adequate failed augmentation trial",
                   "adequate failed augmentation trials") +
            ", " +
            plural(specialized, "adequate failed DBT / trauma-focused therapy",
                   "adequate failed DBT / trauma-focused therapies") +
            ", " + plural(rtmsCourses, "failed rTMS course", "failed rTMS courses");
        const std::string need =
            "VNS needs " + formatNumber(needAugmentation) + " adequate failed augmentation, and " +
            formatNumber(needSpecialized) + " adequate failed DBT / trauma-focused therapy or " +
            formatNumber(needRtms) + " failed rTMS course";
        const Provenance& from = m_rules.ladderAugmentation.from;
        if (complete) {
            f.add("vns.ladder", Effect::Info, "treatment ladder complete: " + summary, from);
        } else if (couldComplete) {
            f.add("vns.ladder", Effect::Review,
                  "treatment ladder may be incomplete (unassessable trials): " + summary + "; " +
                      need,
                  from);
        } else {
            f.add("vns.ladder", Effect::Blocks,
                  "treatment ladder incomplete: " + summary + "; " + need, from);
        }
    }

    const Case& m_case;
    const RuleSet& m_rules;
    std::optional<int> m_age;
    mutable int m_couldCount = 0;
    mutable int m_failedAny = 0;
    const std::vector<TrialAssessment>* m_trials = nullptr;
    const std::vector<CurrentSeverity>* m_severity = nullptr;
    RefractoryStatus m_status = RefractoryStatus::InsufficientData;
    int m_adequateFailed = 0;
};

json optionalBool(const std::optional<bool>& value) {
    return value ? json(*value) : json(nullptr);
}

json findingsJson(const ModalityDecision& decision) {
    json findings = json::array();
    for (const Finding& f : decision.findings) {
        findings.push_back({{"rule", f.rule},
                            {"effect", toString(f.effect)},
                            {"message", f.message},
                            {"source", f.source}});
    }
    return json{{"decision", toString(decision.decision)},
                {"on_label", decision.onLabel},
                {"on_label_reason", decision.onLabelReason},
                {"findings", findings}};
}

}  // namespace

Evaluation evaluate(const Case& input, const RuleSet& rules) {
    return Evaluator(input, rules).run();
}

json toJson(const Evaluation& e) {
    json trials = json::array();
    for (const TrialAssessment& t : e.trials) {
        json details = json::array();
        for (const TrialDetail& d : t.details) {
            details.push_back({{"reason", d.reason}, {"message", d.message}, {"source", d.source}});
        }
        trials.push_back({{"index", t.index},
                          {"summary", t.summary},
                          {"category", toString(t.category)},
                          {"first_line", optionalBool(t.firstLine)},
                          {"adequate", optionalBool(t.adequate)},
                          {"failed", optionalBool(t.failed)},
                          {"reasons", t.reasons},
                          {"details", details}});
    }
    json severity = json::array();
    for (const CurrentSeverity& s : e.currentSeverity) {
        severity.push_back(
            {{"instrument", s.instrument}, {"date", formatIsoDate(s.date)}, {"total", s.total}});
    }
    return json{{"rule_set", e.ruleSetId},
                {"rule_set_version", e.ruleSetVersion},
                {"rule_set_sha256", e.ruleSetDigest},
                {"evaluation_date", formatIsoDate(e.evaluationDate)},
                {"patient_id", e.patientId ? json(*e.patientId) : json(nullptr)},
                {"age_years", e.ageYears ? json(*e.ageYears) : json(nullptr)},
                {"refractory",
                 {{"status", toString(e.status)},
                  {"adequate_failed_first_line", e.adequateFailedFirstLine},
                  {"trials", trials}}},
                {"current_severity", severity},
                {"rtms", findingsJson(e.rtms)},
                {"vns", findingsJson(e.vns)}};
}

std::string formatReport(const Evaluation& e) {
    std::ostringstream out;
    const auto upper = [](std::string text) {
        for (char& c : text) {
            c = c == '_' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        return text;
    };
    out << "NeuroPlan eligibility, rule set " << e.ruleSetId << " " << e.ruleSetVersion << "\n";
    out << "Patient " << e.patientId.value_or("(no id)") << ", evaluated "
        << formatIsoDate(e.evaluationDate) << ", age "
        << (e.ageYears ? std::to_string(*e.ageYears) : std::string("unknown")) << "\n\n";
    out << "Refractory status: " << upper(toString(e.status)) << " (" << e.adequateFailedFirstLine
        << " adequate failed first-line)\n";
    for (const TrialAssessment& t : e.trials) {
        out << "  trial " << t.index << ": " << t.summary << "\n    " << toString(t.category)
            << ", ";
        if (!t.assessable) {
            out << "unassessable";
        } else if (t.adequate) {
            out << (*t.adequate ? "adequate" : "inadequate");
        } else {
            out << "adequacy not judged";
        }
        out << (t.failed ? (*t.failed ? ", failed" : ", not failed") : ", outcome unknown");
        for (std::size_t i = 0; i < t.reasons.size(); ++i) {
            out << (i == 0 ? " [" : ", ") << t.reasons[i] << (i + 1 == t.reasons.size() ? "]" : "");
        }
        out << "\n";
        for (const TrialDetail& d : t.details) {
            out << "      - " << d.message << "\n";
        }
    }
    out << "\nCurrent severity: ";
    if (e.currentSeverity.empty()) {
        out << "none in the window\n";
    }
    for (std::size_t i = 0; i < e.currentSeverity.size(); ++i) {
        const auto& s = e.currentSeverity[i];
        out << (i ? ", " : "") << s.instrument << " " << s.total << " on " << formatIsoDate(s.date);
    }
    if (!e.currentSeverity.empty()) {
        out << "\n";
    }
    for (const auto& [name, d] : {std::pair{"rTMS", &e.rtms}, std::pair{"VNS", &e.vns}}) {
        out << "\n"
            << name << ": " << upper(toString(d->decision))
            << (d->onLabel ? " (on-label)" : " (off-label)") << "\n";
        for (Effect effect : {Effect::Blocks, Effect::Review, Effect::Info}) {
            for (const Finding& f : d->findings) {
                if (f.effect != effect) {
                    continue;
                }
                out << "  [" << toString(f.effect) << "] " << f.rule << ": " << f.message << "\n"
                    << "      source: " << f.source << "\n";
            }
        }
    }
    out << "\nDecision support only: a physician reviews and signs.\n";
    return out.str();
}

}  // namespace neuroplan::eligibility
