// neuroplan-cli scale score | record | trend, the real binary on a real database.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support.h"

namespace neuroplan {
namespace {

using nlohmann::json;
using testing::ProcessResult;
using testing::runProcess;

constexpr const char* kCli = NEUROPLAN_CLI_PATH;
constexpr const char* kPassword = "admin-password-123";

class ScaleCli : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(cli({"init"}).exitCode, 0);
        ASSERT_EQ(cli({"patient", "add", "--mrn", "P-1", "--family", "F", "--given", "G",
                       "--birth-date", "1980-01-01", "--sex", "female"})
                      .exitCode,
                  0);
    }
    ProcessResult cli(std::vector<std::string> args) {
        std::vector<std::string> argv{kCli, "--db", (m_dir / "c.db").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return runProcess(argv, {{"NEUROPLAN_USER", "admin"}, {"NEUROPLAN_PASSWORD", kPassword}});
    }
    int administrations() {
        ProcessResult r = cli({"scale", "trend", "--mrn", "P-1", "--instrument", "gad7", "--json"});
        EXPECT_EQ(r.exitCode, 0) << r.err;
        return static_cast<int>(json::parse(r.out)["points"].size());
    }
    testing::TempDir m_dir;
};

TEST_F(ScaleCli, ScorePrintsTotalBandAndAlerts) {
    ProcessResult r =
        cli({"scale", "score", "--instrument", "gad7", "--items", "3,2,3,1,2,2,3", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const json s = json::parse(r.out);
    EXPECT_EQ(s["total"], 16);
    EXPECT_EQ(s["band"], "severe");
    ProcessResult phq =
        cli({"scale", "score", "--instrument", "phq9", "--items", "0,0,0,0,0,0,0,0,1", "--json"});
    EXPECT_EQ(json::parse(phq.out)["alerts"][0]["id"], "suicidality_item_positive");
}

TEST_F(ScaleCli, RecordAndTrendEndToEnd) {
    for (const auto& [items, context, date] :
         std::vector<std::tuple<const char*, const char*, const char*>>{
             {"3,3,3,3,2,2,2", "baseline", "2026-09-01"},
             {"1,1,2,1,1,1,1", "weekly", "2026-10-01"},
             {"1,0,1,0,1,0,0", "follow_up", "2026-11-01"}}) {
        ProcessResult r = cli({"scale", "record", "--mrn", "P-1", "--instrument", "gad7", "--items",
                               items, "--context", context, "--date", date});
        ASSERT_EQ(r.exitCode, 0) << r.err;
    }
    ProcessResult t = cli({"scale", "trend", "--mrn", "P-1", "--instrument", "gad7", "--json"});
    ASSERT_EQ(t.exitCode, 0) << t.err;
    const json trend = json::parse(t.out);
    EXPECT_EQ(trend["baseline"]["total"], 18);
    ASSERT_EQ(trend["points"].size(), 3u);
    EXPECT_EQ(trend["points"][1]["response"], true);  // 8: 56 % reduction
    EXPECT_EQ(trend["points"][1]["remission"], false);
    EXPECT_EQ(trend["points"][2]["remission"], true);  // 3 <= 4
    ProcessResult text = cli({"scale", "trend", "--mrn", "P-1", "--instrument", "gad7"});
    EXPECT_NE(text.out.find("REMISSION"), std::string::npos) << text.out;
}

TEST_F(ScaleCli, BadItemsExit2NamingTheItemAndStoreNothing) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"3,2,3,1,2,2,3,1", "--items"},  // too many
        {"3,2,9,1,2,2,3", "items[2]"},   // out of range
        {"3,2,x,1,2,2,3", "items[2]"},   // not a number
    };
    for (const auto& [items, field] : cases) {
        ProcessResult r = cli({"scale", "record", "--mrn", "P-1", "--instrument", "gad7", "--items",
                               items, "--context", "weekly"});
        EXPECT_EQ(r.exitCode, 2) << items;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_NE(r.err.find(field), std::string::npos) << r.err;
    }
    EXPECT_EQ(administrations(), 0);
}

TEST_F(ScaleCli, ListShowsEveryInstrument) {
    ProcessResult r = cli({"scale", "list", "--json"});
    ASSERT_EQ(r.exitCode, 0);
    EXPECT_EQ(json::parse(r.out)["instruments"].size(), 11u);
}

}  // namespace
}  // namespace neuroplan
