// neuroplan::eligibility — the rule set (data file refractory-anxiety-v1.json): every threshold,
// catalog row and screening list the rules read, each with its source. A clinic may load its own
// edited copy; it is validated exactly like the built-in one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/datafile.h"
#include "base/result.h"

namespace neuroplan::eligibility {

struct Drug {
    std::string agent;
    std::string drugClass;
    bool firstLine = false;
    Sourced<double> minTherapeuticMg;
    Sourced<double> usualMaxMg;
};

/// A CPIC row: at this phenotype of this gene, these agents are cleared too fast
/// ("fast_clearance") or accumulate ("accumulation").
struct PgxRule {
    std::string gene;
    std::string phenotype;
    std::vector<std::string> agents;
    std::string effect;
    std::string advice;
    std::string strength;
    Provenance from;
};

struct ScreeningItem {
    std::string item;
    std::string label;
    Provenance from;
};

struct ComorbidityRule {
    std::string item;
    std::string label;
    std::vector<std::string> reviewWhen;
    Provenance from;
};

struct SeverityRule {
    std::string instrument;
    Sourced<double> rtmsMin;
    Sourced<double> vnsMin;
};

struct OnLabel {
    bool value = false;
    std::string reason;
    Provenance from;
};

struct SourcedList {
    std::vector<std::string> value;
    Provenance from;
    bool contains(std::string_view v) const;
};

struct RuleSet {
    std::string id;
    std::string version;
    std::string digest;       ///< SHA-256 of the file's bytes, hex: which values were used
    bool clinicCopy = false;  ///< loaded from a clinic's file rather than built in

    Sourced<double> minWeeksAtDose;
    Sourced<double> minPsychotherapySessions;
    Sourced<double> refractoryMinAdequateFailed;
    SourcedList failedOutcomes;
    SourcedList firstLinePsychotherapies;
    SourcedList specializedPsychotherapies;
    std::vector<Drug> drugs;
    std::vector<PgxRule> pharmacogenomics;
    Sourced<double> lookbackDays;
    std::vector<SeverityRule> severity;
    Sourced<double> minimumAgeYears;
    std::vector<ScreeningItem> workup;
    std::vector<ComorbidityRule> comorbidities;
    std::vector<ScreeningItem> rtmsAbsolute;
    std::vector<ScreeningItem> rtmsRelative;
    OnLabel rtmsOnLabel;
    std::vector<ScreeningItem> vnsContraindications;
    std::vector<ScreeningItem> vnsPrecautions;
    ScreeningItem vnsSurgicalClearance;
    Sourced<double> ladderAugmentation;
    Sourced<double> ladderSpecialized;
    Sourced<double> ladderRtms;
    OnLabel vnsOnLabel;

    /// "refractory-anxiety-v1 1.0.0", with "(clinic copy sha256:…)" for a clinic's file so that
    /// stored decisions say which values produced them.
    std::string label() const;
    /// The version as stored with a decision: the version, plus the digest for a clinic copy.
    std::string storedVersion() const;
    const Drug* findDrug(std::string_view agent) const;
    const SeverityRule* findSeverity(std::string_view instrument) const;

    /// The rule set built into the program (parsed once).
    static const RuleSet& builtIn();
    /// The built-in file's text, for `eligibility rules --export`.
    static std::string_view builtInText();
    static Result<RuleSet> fromText(std::string_view text, std::string_view origin);
    /// A clinic's edited copy: loaded like the built-in file, and then held to the built-in
    /// file's bounds (min_weeks_at_dose stays within its allowed range, which the copy cannot
    /// move).
    static Result<RuleSet> fromClinicCopy(std::string_view text, std::string_view origin);
};

/// "citation [id, confidence]" for findings.
std::string describeSource(const Provenance& from);

}  // namespace neuroplan::eligibility
