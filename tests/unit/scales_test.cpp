// Instrument definitions, scoring, alerts, incomplete forms, response and remission, storage.
#include <gtest/gtest.h>

#include "records/patients.h"
#include "scales/instruments.h"
#include "scales/service.h"
#include "support.h"

namespace neuroplan::scales {
namespace {

using neuroplan::testing::TestClinic;

const Instrument& get(const char* id) {
    const Instrument* instrument = InstrumentCatalog::builtIn().find(id);
    EXPECT_NE(instrument, nullptr) << id;
    return *instrument;
}

/// A complete form whose items add up to `total` (filling items from the first).
std::vector<std::optional<long long>> formWithTotal(const Instrument& in, int total) {
    std::vector<std::optional<long long>> items(static_cast<std::size_t>(in.items), in.itemMin);
    int left = total - in.items * in.itemMin;
    for (auto& item : items) {
        const int add = std::min(left, in.itemMax - in.itemMin);
        *item += add;
        left -= add;
    }
    return items;
}

Score scoreOf(const char* id, int total, const char* bandSet = "") {
    auto s = scoreForm(get(id), formWithTotal(get(id), total), bandSet, "items");
    EXPECT_TRUE(s.ok()) << s.error().describe();
    return *s;
}

TEST(Catalog, EveryInstrumentOfTheIssueIsDefined) {
    for (const char* id : {"gad7", "phq9", "hama", "pdss", "pswq", "cgi_s", "cgi_i", "audit", "mdq",
                           "dast10", "bai"}) {
        const Instrument& in = get(id);
        EXPECT_FALSE(in.rater.empty()) << id;
        EXPECT_FALSE(in.recall.empty()) << id;
        EXPECT_FALSE(in.licence.empty()) << id;
        EXPECT_FALSE(in.from.citation.empty()) << id;
        if (!in.totalOnly) {
            EXPECT_EQ(static_cast<int>(in.itemLabels.size()), in.items) << id;
        }
    }
    EXPECT_TRUE(get("bai").totalOnly);
    EXPECT_EQ(get("gad7").loincTotal, "70274-6");
    EXPECT_EQ(get("phq9").loincTotal, "44261-6");
    EXPECT_TRUE(get("hama").loincTotal.empty());
}

struct BandCase {
    const char* instrument;
    const char* bandSet;
    int total;
    const char* band;
};

class Bands : public ::testing::TestWithParam<BandCase> {};

TEST_P(Bands, BoundariesFallInTheRightBand) {
    const BandCase& c = GetParam();
    const Score s = scoreOf(c.instrument, c.total, c.bandSet);
    ASSERT_TRUE(s.complete);
    EXPECT_EQ(*s.total, c.total);
    EXPECT_EQ(s.band.value_or("(none)"), c.band);
}

INSTANTIATE_TEST_SUITE_P(
    Instruments, Bands,
    ::testing::Values(
        BandCase{"gad7", "", 0, "minimal"}, BandCase{"gad7", "", 4, "minimal"},
        BandCase{"gad7", "", 5, "mild"}, BandCase{"gad7", "", 9, "mild"},
        BandCase{"gad7", "", 10, "moderate"}, BandCase{"gad7", "", 14, "moderate"},
        BandCase{"gad7", "", 15, "severe"}, BandCase{"gad7", "", 21, "severe"},
        BandCase{"phq9", "", 4, "minimal"}, BandCase{"phq9", "", 5, "mild"},
        BandCase{"phq9", "", 14, "moderate"}, BandCase{"phq9", "", 15, "moderately severe"},
        BandCase{"phq9", "", 19, "moderately severe"}, BandCase{"phq9", "", 20, "severe"},
        BandCase{"hama", "", 7, "minimal"}, BandCase{"hama", "", 8, "mild"},
        BandCase{"hama", "", 14, "mild"}, BandCase{"hama", "", 15, "moderate"},
        BandCase{"hama", "", 23, "moderate"}, BandCase{"hama", "", 24, "severe"},
        BandCase{"hama", "older", 17, "mild"}, BandCase{"hama", "older", 18, "mild to moderate"},
        BandCase{"hama", "older", 24, "mild to moderate"},
        BandCase{"hama", "older", 25, "moderate to severe"},
        BandCase{"hama", "older", 30, "moderate to severe"},
        BandCase{"hama", "older", 31, "severe"}, BandCase{"audit", "", 7, "low risk"},
        BandCase{"audit", "", 8, "hazardous"}, BandCase{"audit", "", 15, "hazardous"},
        BandCase{"audit", "", 16, "harmful"}, BandCase{"audit", "", 20, "possible dependence"},
        BandCase{"cgi_s", "", 1, "normal"}, BandCase{"cgi_s", "", 4, "moderately ill"},
        BandCase{"cgi_s", "", 7, "among the most extremely ill"},
        BandCase{"cgi_i", "", 2, "much improved"}, BandCase{"cgi_i", "", 4, "no change"}),
    [](const ::testing::TestParamInfo<BandCase>& p) {
        return std::string(p.param.instrument) + (*p.param.bandSet ? "_" : "") + p.param.bandSet +
               "_" + std::to_string(p.param.total);
    });

TEST(Scoring, Dast10ThreeOrMoreIsModerate) {
    // Item 3 is reverse scored: answering "yes" (1) to it counts 0.
    std::vector<std::optional<long long>> items{1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
    auto two = scoreForm(get("dast10"), items, "", "items");
    EXPECT_EQ(*two->total, 2);
    EXPECT_EQ(*two->band, "low level");
    items[3] = 1;
    auto three = scoreForm(get("dast10"), items, "", "items");
    EXPECT_EQ(*three->total, 3);
    EXPECT_EQ(*three->band, "moderate level");
}

TEST(Scoring, PswqReverseScoresItems1_3_8_10_11) {
    std::vector<std::optional<long long>> items(16, 1);  // every answer "1"
    auto s = scoreForm(get("pswq"), items, "", "items");
    ASSERT_TRUE(s.ok());
    // 11 items count 1, the 5 reverse-scored ones count 5.
    EXPECT_EQ(*s->total, 11 * 1 + 5 * 5);
}

TEST(Scoring, Dast10ReverseScoresItem3) {
    std::vector<std::optional<long long>> items(10, 0);
    EXPECT_EQ(*scoreForm(get("dast10"), items, "", "items")->total, 1);  // item 3 "no" counts
}

TEST(Scoring, ItemsAreValidatedAndNamed) {
    auto outOfRange = scoreForm(get("gad7"), {3, 2, 4}, "", "items");
    ASSERT_FALSE(outOfRange.ok());
    EXPECT_EQ(outOfRange.error().field, "items[2]");
    auto tooMany = scoreForm(get("gad7"), std::vector<std::optional<long long>>(8, 1), "", "items");
    ASSERT_FALSE(tooMany.ok());
    EXPECT_EQ(tooMany.error().field, "items");
    auto audit = formWithTotal(get("audit"), 0);
    audit[8] = 1;  // items 9 and 10 allow 0, 2 or 4 only
    auto bad = scoreForm(get("audit"), audit, "", "items");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().field, "items[8]");
    audit[8] = 2;
    EXPECT_TRUE(scoreForm(get("audit"), audit, "", "items").ok());
    auto unknownSet = scoreForm(get("hama"), formWithTotal(get("hama"), 10), "newest", "items");
    ASSERT_FALSE(unknownSet.ok());
    EXPECT_EQ(unknownSet.error().field, "band_set");
}

TEST(Scoring, IncompleteFormsHaveNoTotalAndNoBand) {
    std::vector<std::optional<long long>> items{3, 3, 3, std::nullopt, 3, 3, 3};
    auto s = scoreForm(get("gad7"), items, "", "items");
    ASSERT_TRUE(s.ok());
    EXPECT_FALSE(s->complete);
    EXPECT_EQ(s->answered, 6);
    EXPECT_FALSE(s->total.has_value());
    EXPECT_FALSE(s->band.has_value());
    auto shortForm = scoreForm(get("gad7"), {3, 3}, "", "items");
    EXPECT_FALSE(shortForm->complete);
}

TEST(Scoring, Phq9Item9AboveZeroAlertsEvenOnAnIncompleteForm) {
    std::vector<std::optional<long long>> items(9, 0);
    EXPECT_TRUE(scoreForm(get("phq9"), items, "", "items")->alerts.empty());
    items[8] = 1;
    auto s = scoreForm(get("phq9"), items, "", "items");
    ASSERT_EQ(s->alerts.size(), 1u);
    EXPECT_EQ(s->alerts[0].id, "suicidality_item_positive");
    EXPECT_FALSE(s->alerts[0].source.empty());
    items[0] = std::nullopt;
    EXPECT_EQ(scoreForm(get("phq9"), items, "", "items")->alerts.size(), 1u);
}

TEST(Scoring, MdqScreenNeedsSevenItemsSamePeriodAndAModerateProblem) {
    std::vector<std::optional<long long>> items{1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 2};
    EXPECT_TRUE(*scoreForm(get("mdq"), items, "", "items")->screenPositive);
    items[6] = 0;  // six of 13
    EXPECT_FALSE(*scoreForm(get("mdq"), items, "", "items")->screenPositive);
    items[6] = 1;
    items[14] = 1;  // only a minor problem
    EXPECT_FALSE(*scoreForm(get("mdq"), items, "", "items")->screenPositive);
    items[14] = 2;
    items[13] = 0;  // not in the same period
    EXPECT_FALSE(*scoreForm(get("mdq"), items, "", "items")->screenPositive);
}

TEST(Scoring, BaiIsTotalOnly) {
    EXPECT_FALSE(scoreForm(get("bai"), {1, 2}, "", "items").ok());
    EXPECT_EQ(*scoreTotal(get("bai"), 26, "", "total")->band, "severe");
    EXPECT_EQ(*scoreTotal(get("bai"), 25, "", "total")->band, "moderate");
    EXPECT_FALSE(scoreTotal(get("bai"), 64, "", "total").ok());
}

TEST(Progress, ResponseAndRemissionEdges) {
    // 50 % reduction is a response; 49 % is not.
    EXPECT_TRUE(*progress(get("hama"), 30, 15).response);
    EXPECT_FALSE(*progress(get("hama"), 30, 16).response);
    EXPECT_DOUBLE_EQ(*progress(get("hama"), 30, 15).reductionPercent, 50.0);
    // PDSS responds at 40 %.
    EXPECT_TRUE(*progress(get("pdss"), 20, 12).response);
    EXPECT_FALSE(*progress(get("pdss"), 20, 13).response);
    // Remission: HAM-A <= 7, GAD-7 <= 4, PHQ-9 <= 4, PDSS <= 5.
    EXPECT_TRUE(*progress(get("hama"), 30, 7).remission);
    EXPECT_FALSE(*progress(get("hama"), 30, 8).remission);
    EXPECT_TRUE(*progress(get("gad7"), 15, 4).remission);
    EXPECT_FALSE(*progress(get("gad7"), 15, 5).remission);
    EXPECT_TRUE(*progress(get("phq9"), 15, 4).remission);
    EXPECT_TRUE(*progress(get("pdss"), 15, 5).remission);
    EXPECT_FALSE(*progress(get("pdss"), 15, 6).remission);
    // CGI-I: 1-2 is a responder, whatever the baseline.
    EXPECT_TRUE(*progress(get("cgi_i"), std::nullopt, 2).response);
    EXPECT_FALSE(*progress(get("cgi_i"), std::nullopt, 3).response);
    // No baseline (or a zero one): no percent change.
    EXPECT_FALSE(progress(get("gad7"), std::nullopt, 5).reductionPercent.has_value());
    EXPECT_FALSE(progress(get("gad7"), 0, 0).reductionPercent.has_value());
}

class Administrations : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(records::PatientService(*clinic.store)
                        .add(clinic.technician, {"P-1", "Patient", "Pat", "1980-01-01", "female"})
                        .ok());
    }
    Administration record(const char* instrument, int total, const char* context,
                          const char* date) {
        AdministrationInput in;
        in.instrument = instrument;
        in.items = formWithTotal(get(instrument), total);
        in.context = context;
        in.administeredOn = date;
        auto a = service.record(clinic.technician, "P-1", in);
        EXPECT_TRUE(a.ok()) << a.error().describe();
        return *a;
    }
    TestClinic clinic;
    ScaleService service{*clinic.store};
};

TEST_F(Administrations, TrendUsesTheBaselineContextAndMarksResponseAndRemission) {
    record("hama", 20, "screening", "2026-09-01");
    const Administration baseline = record("hama", 30, "baseline", "2026-09-15");
    record("hama", 15, "weekly", "2026-10-01");
    record("hama", 7, "follow_up", "2026-11-01");
    auto t = service.trend(clinic.physician, "P-1", "hama");
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(t->baseline.has_value());
    EXPECT_EQ(t->baseline->id, baseline.id);
    ASSERT_EQ(t->points.size(), 4u);
    EXPECT_TRUE(*t->points[2].progress.response);
    EXPECT_FALSE(*t->points[2].progress.remission);
    EXPECT_TRUE(*t->points[3].progress.remission);
    // A chosen baseline.
    auto chosen = service.trend(clinic.physician, "P-1", "hama", t->points[0].administration.id);
    ASSERT_TRUE(chosen.ok());
    EXPECT_DOUBLE_EQ(*chosen->points[2].progress.reductionPercent, 25.0);
}

TEST_F(Administrations, IncompleteFormsAreStoredWithoutABandAndLeftOutOfTrends) {
    AdministrationInput in;
    in.instrument = "gad7";
    in.items = {3, 3, std::nullopt};
    in.context = "weekly";
    in.administeredOn = "2026-10-01";
    auto a = service.record(clinic.technician, "P-1", in);
    ASSERT_TRUE(a.ok());
    EXPECT_FALSE(a->score.complete);
    EXPECT_EQ(clinic.store->db()
                  .queryInt("SELECT count(*) FROM scale_administrations WHERE band IS NULL AND "
                            "complete = 0")
                  .value(),
              1);
    EXPECT_TRUE(service.trend(clinic.physician, "P-1", "gad7")->points.empty());
}

TEST_F(Administrations, BadInputNamesTheFieldAndStoresNothing) {
    const auto before = clinic.store->db().queryInt("SELECT count(*) FROM audit_log").value();
    AdministrationInput in;
    in.instrument = "gad7";
    in.items = {3, 3, 9};
    in.context = "weekly";
    in.administeredOn = "2026-10-01";
    EXPECT_EQ(service.record(clinic.technician, "P-1", in).error().field, "items[2]");
    in.items = {3};
    in.context = "sometimes";
    EXPECT_EQ(service.record(clinic.technician, "P-1", in).error().field, "context");
    in.context = "pre_session";
    EXPECT_EQ(service.record(clinic.technician, "P-1", in).error().field, "session");
    in.context = "weekly";
    in.administeredOn = "2026-13-01";
    EXPECT_EQ(service.record(clinic.technician, "P-1", in).error().field, "date");
    in.instrument = "bdi";
    EXPECT_EQ(service.record(clinic.technician, "P-1", in).error().field, "instrument");
    EXPECT_EQ(clinic.store->db().queryInt("SELECT count(*) FROM audit_log").value(), before);
}

TEST_F(Administrations, TheSuicidalityAlertIsInTheAuditTrail) {
    AdministrationInput in;
    in.instrument = "phq9";
    in.items = {0, 0, 0, 0, 0, 0, 0, 0, 2};
    in.context = "weekly";
    in.administeredOn = "2026-10-01";
    auto a = service.record(clinic.technician, "P-1", in);
    ASSERT_TRUE(a.ok());
    ASSERT_EQ(a->score.alerts.size(), 1u);
    EXPECT_EQ(clinic.store->db()
                  .queryInt("SELECT count(*) FROM audit_log WHERE entity = 'scale_administration' "
                            "AND summary LIKE '%suicidality_item_positive%'")
                  .value(),
              1);
    EXPECT_TRUE(clinic.store->verifyAudit()->intact);
}

TEST_F(Administrations, TheClinicChoosesTheHamABandSet) {
    EXPECT_EQ(record("hama", 20, "weekly", "2026-10-01").score.band, "moderate");  // Matza 2010
    const Status technician = service.setClinicBandSet(clinic.technician, "hama", "older");
    ASSERT_FALSE(technician.ok());
    EXPECT_EQ(technician.error().code, ErrorCode::PermissionDenied);
    EXPECT_EQ(service.setClinicBandSet(clinic.admin, "hama", "newest").error().field, "band_set");
    ASSERT_TRUE(service.setClinicBandSet(clinic.admin, "hama", "older").ok());
    const Administration older = record("hama", 20, "weekly", "2026-10-08");
    EXPECT_EQ(older.score.band, "mild to moderate");
    EXPECT_EQ(older.score.bandSet, "older");
    EXPECT_TRUE(clinic.store->verifyAudit()->intact);
}

}  // namespace
}  // namespace neuroplan::scales
