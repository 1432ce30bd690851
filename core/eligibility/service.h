// neuroplan::eligibility — stored evaluations and physician sign-off.
//
// An evaluation is stored with the rule-set version, the case as submitted and the full
// result; it is never changed. A newer evaluation of the same patient supersedes the older
// ones. Only a physician signs, only the patient's latest evaluation, only once; a signature
// that differs from the computed decisions needs a written reason. Every write is audited.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eligibility/evaluate.h"
#include "eligibility/ruleset.h"
#include "records/users.h"
#include "store/store.h"

namespace neuroplan::eligibility {

struct Signature {
    std::string physicianLogin;
    std::string physicianName;
    std::string signedUtc;
    Decision rtms = Decision::NeedsReview;
    Decision vns = Decision::NeedsReview;
    bool differs = false;
    std::string reason;
};

struct StoredEvaluation {
    std::int64_t id = 0;
    std::string mrn;
    std::string evaluatedUtc;
    std::string evaluatedBy;
    std::string ruleSetId;
    std::string ruleSetVersion;
    nlohmann::json caseDocument;
    nlohmann::json result;  ///< toJson(Evaluation)
    RefractoryStatus status = RefractoryStatus::InsufficientData;
    Decision rtms = Decision::NeedsReview;
    Decision vns = Decision::NeedsReview;
    std::optional<Signature> signature;
    std::optional<std::int64_t> supersededBy;
};

nlohmann::json toJson(const StoredEvaluation& stored);

/// The shortest reason accepted for a signature that departs from the computed decision.
inline constexpr std::size_t kMinOverrideReasonLength = 10;

class EligibilityService {
  public:
    EligibilityService(store::Store& store, const RuleSet& rules = RuleSet::builtIn())
        : m_store(store), m_rules(rules) {}

    /// Evaluates a case for the patient and stores it. The case's patient id, birth date and
    /// sex must agree with the patient record; where the case leaves them out, the record's are
    /// used. Errors name the case's field path.
    Result<StoredEvaluation> record(const records::Actor& by, std::string_view mrn,
                                    const nlohmann::json& caseDocument);

    /// Signs the evaluation (physicians only).
    Result<StoredEvaluation> sign(const records::Actor& by, std::int64_t evaluationId,
                                  Decision rtms, Decision vns, const std::string& reason);

    Result<StoredEvaluation> get(const records::Actor& by, std::int64_t evaluationId);
    /// Newest first.
    Result<std::vector<StoredEvaluation>> history(const records::Actor& by, std::string_view mrn);
    /// The patient's latest evaluation if it is signed (what a session start checks).
    Result<std::optional<StoredEvaluation>> currentSigned(const records::Actor& by,
                                                          std::string_view mrn);

  private:
    Result<StoredEvaluation> load(std::int64_t evaluationId);

    store::Store& m_store;
    const RuleSet& m_rules;
};

}  // namespace neuroplan::eligibility
