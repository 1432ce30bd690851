// Stored evaluations and physician sign-off on a real database.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "eligibility/service.h"
#include "records/patients.h"
#include "support.h"

namespace neuroplan::eligibility {
namespace {

using neuroplan::testing::TestClinic;
using nlohmann::json;

json exampleCase(const char* name) {
    std::ifstream in(std::string(NEUROPLAN_SOURCE_DIR) + "/docs/examples/cases/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
}

class SignOff : public ::testing::Test {
  protected:
    void SetUp() override {
        records::PatientService patients(*clinic.store);
        ASSERT_TRUE(
            patients.add(clinic.technician, {"DEMO-001", "Example", "Erin", "1984-05-17", "female"})
                .ok());
        ASSERT_TRUE(
            patients.add(clinic.technician, {"DEMO-002", "Other", "Olli", "1975-02-03", "male"})
                .ok());
    }
    std::int64_t auditCount() {
        return clinic.store->db().queryInt("SELECT count(*) FROM audit_log").value();
    }
    StoredEvaluation recordEligible() {
        auto stored =
            service.record(clinic.technician, "DEMO-001", exampleCase("rtms-eligible.json"));
        EXPECT_TRUE(stored.ok()) << stored.error().describe();
        return *stored;
    }

    TestClinic clinic;
    EligibilityService service{*clinic.store};
};

TEST_F(SignOff, RecordStoresTheRuleSetCaseAndResult) {
    const auto before = auditCount();
    const StoredEvaluation e = recordEligible();
    EXPECT_EQ(e.mrn, "DEMO-001");
    EXPECT_EQ(e.ruleSetId, "refractory-anxiety-v1");
    EXPECT_EQ(e.rtms, Decision::Eligible);
    EXPECT_EQ(e.vns, Decision::NotEligible);
    EXPECT_EQ(e.result["refractory"]["status"], "refractory");
    EXPECT_EQ(e.caseDocument["patient"]["id"], "DEMO-001");
    EXPECT_FALSE(e.signature.has_value());
    EXPECT_EQ(auditCount(), before + 1);
}

TEST_F(SignOff, RecordFillsThePatientBlockFromTheRecord) {
    json c = exampleCase("rtms-eligible.json");
    c.erase("patient");
    auto stored = service.record(clinic.technician, "DEMO-001", c);
    ASSERT_TRUE(stored.ok()) << stored.error().describe();
    EXPECT_EQ(stored->result["age_years"], 42);
    EXPECT_EQ(stored->caseDocument["patient"]["birth_date"], "1984-05-17");
}

TEST_F(SignOff, RecordRefusesACaseAboutSomeoneElse) {
    auto wrong = service.record(clinic.technician, "DEMO-002", exampleCase("rtms-eligible.json"));
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().code, ErrorCode::Conflict);
    EXPECT_EQ(wrong.error().field, "patient.id");
    json c = exampleCase("rtms-eligible.json");
    c["patient"]["id"] = "DEMO-002";
    auto birth = service.record(clinic.technician, "DEMO-002", c);
    ASSERT_FALSE(birth.ok());
    EXPECT_EQ(birth.error().field, "patient.birth_date");
}

TEST_F(SignOff, MalformedCaseIsRefusedWithItsPathAndNothingStored) {
    json c = exampleCase("rtms-eligible.json");
    c["trials"][1]["weeks_at_dose"] = -1;
    const auto before = auditCount();
    auto bad = service.record(clinic.technician, "DEMO-001", c);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().field, "trials[1].weeks_at_dose");
    EXPECT_EQ(auditCount(), before);
}

TEST_F(SignOff, OnlyAPhysicianSigns) {
    const StoredEvaluation e = recordEligible();
    for (const records::Actor* actor : {&clinic.technician, &clinic.admin}) {
        auto refused = service.sign(*actor, e.id, e.rtms, e.vns, "");
        ASSERT_FALSE(refused.ok());
        EXPECT_EQ(refused.error().code, ErrorCode::PermissionDenied);
    }
    auto signedByDoctor = service.sign(clinic.physician, e.id, e.rtms, e.vns, "");
    ASSERT_TRUE(signedByDoctor.ok()) << signedByDoctor.error().describe();
    ASSERT_TRUE(signedByDoctor->signature.has_value());
    EXPECT_EQ(signedByDoctor->signature->physicianLogin, "doc");
    EXPECT_FALSE(signedByDoctor->signature->differs);
}

TEST_F(SignOff, ADifferentDecisionNeedsAWrittenReason) {
    const StoredEvaluation e = recordEligible();
    for (const char* reason : {"", "   ", "because"}) {
        auto refused =
            service.sign(clinic.physician, e.id, Decision::Eligible, Decision::Eligible, reason);
        ASSERT_FALSE(refused.ok()) << reason;
        EXPECT_EQ(refused.error().field, "reason");
    }
    auto overridden = service.sign(clinic.physician, e.id, Decision::Eligible, Decision::Eligible,
                                   "ladder completed elsewhere; records requested");
    ASSERT_TRUE(overridden.ok()) << overridden.error().describe();
    EXPECT_TRUE(overridden->signature->differs);
    EXPECT_EQ(overridden->signature->reason, "ladder completed elsewhere; records requested");
}

TEST_F(SignOff, SignedDecisionsAreImmutable) {
    const StoredEvaluation e = recordEligible();
    ASSERT_TRUE(service.sign(clinic.physician, e.id, e.rtms, e.vns, "").ok());
    auto again = service.sign(clinic.physician, e.id, Decision::NotEligible, e.vns,
                              "changed my mind about this");
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::Conflict);
    // Not even SQL gets past the triggers.
    EXPECT_FALSE(clinic.store->db()
                     .exec("UPDATE eligibility_signatures SET rtms_decision = 'eligible'")
                     .ok());
    EXPECT_FALSE(clinic.store->db().exec("DELETE FROM eligibility_signatures").ok());
    EXPECT_FALSE(
        clinic.store->db().exec("UPDATE eligibility_evaluations SET vns_decision = 'x'").ok());
    EXPECT_FALSE(clinic.store->db().exec("DELETE FROM eligibility_evaluations").ok());
}

TEST_F(SignOff, ANewEvaluationSupersedesAndOnlyTheLatestIsSigned) {
    const StoredEvaluation first = recordEligible();
    ASSERT_TRUE(service.sign(clinic.physician, first.id, first.rtms, first.vns, "").ok());
    auto current = service.currentSigned(clinic.physician, "DEMO-001");
    ASSERT_TRUE(current.ok());
    ASSERT_TRUE(current->has_value());
    EXPECT_EQ((*current)->id, first.id);

    const StoredEvaluation second = recordEligible();
    auto history = service.history(clinic.physician, "DEMO-001");
    ASSERT_TRUE(history.ok());
    ASSERT_EQ(history->size(), 2u);
    EXPECT_EQ(history->front().id, second.id);
    EXPECT_EQ(history->back().supersededBy, second.id);
    EXPECT_TRUE(history->back().signature.has_value());  // the old signature stays as it was

    // The latest evaluation is unsigned, so there is no current signed decision.
    current = service.currentSigned(clinic.physician, "DEMO-001");
    ASSERT_TRUE(current.ok());
    EXPECT_FALSE(current->has_value());

    auto stale = service.sign(clinic.physician, first.id, first.rtms, first.vns, "");
    ASSERT_FALSE(stale.ok());
    EXPECT_EQ(stale.error().code, ErrorCode::Conflict);
}

TEST_F(SignOff, UnknownEvaluationIsNotFound) {
    auto missing = service.sign(clinic.physician, 999, Decision::Eligible, Decision::Eligible, "");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}

TEST_F(SignOff, EveryStepIsAuditedAndTheChainHolds) {
    const StoredEvaluation e = recordEligible();
    ASSERT_TRUE(service.sign(clinic.physician, e.id, e.rtms, e.vns, "").ok());
    EXPECT_EQ(clinic.store->db()
                  .queryInt("SELECT count(*) FROM audit_log WHERE entity LIKE 'eligibility_%'")
                  .value(),
              2);
    EXPECT_TRUE(clinic.store->verifyAudit()->intact);
}

}  // namespace
}  // namespace neuroplan::eligibility
