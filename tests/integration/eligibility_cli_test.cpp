// End-to-end tests of the real `neuroplan-cli eligibility` binary: every documented example
// evaluates to the outcome it claims (docs/examples/cases/expected.json), the JSON output has the
// documented shape, malformed case files and broken clinic rule sets are refused with exit 2 and
// one line naming the field, and the rule set can be shown and exported.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "support.h"

namespace neuroplan {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ProcessResult;
using testing::runProcess;
using testing::TempDir;

constexpr const char* kCli = NEUROPLAN_CLI_PATH;

fs::path examplesDir() {
    return fs::path(NEUROPLAN_SOURCE_DIR) / "docs" / "examples" / "cases";
}

json readJson(const fs::path& path) {
    return json::parse(testing::readFile(path));
}

void writeFile(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

int lineCount(const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

/// Runs neuroplan-cli with a database path that must never be created (evaluation reads none).
class EligibilityCli : public ::testing::Test {
  protected:
    void TearDown() override {
        EXPECT_FALSE(fs::exists(unusedDb())) << "eligibility evaluate/rules touched a database";
    }

    fs::path unusedDb() const { return m_dir / "never.db"; }

    ProcessResult cli(std::vector<std::string> args) {
        std::vector<std::string> argv{kCli};
        argv.insert(argv.end(), args.begin(), args.end());
        return runProcess(argv, {{"NEUROPLAN_DB", unusedDb().string()},
                                 {"XDG_DATA_HOME", (m_dir / "xdg").string()}});
    }

    ProcessResult evaluate(const fs::path& casePath, std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"eligibility", "evaluate", casePath.string(), "--json"};
        args.insert(args.end(), extra.begin(), extra.end());
        return cli(args);
    }

    /// Evaluates and parses the JSON output; fails the test on a non-zero exit.
    json evaluateJson(const fs::path& casePath, std::vector<std::string> extra = {}) {
        ProcessResult r = evaluate(casePath, std::move(extra));
        EXPECT_EQ(r.exitCode, 0) << r.err;
        EXPECT_TRUE(r.err.empty()) << r.err;
        if (r.exitCode != 0) {
            return json::object();
        }
        return json::parse(r.out);
    }

    /// Writes `document` into this test's directory.
    fs::path write(const std::string& name, const json& document) {
        const fs::path path = m_dir / name;
        writeFile(path, document.dump(2));
        return path;
    }

    /// A refused case: exit 2, nothing on stdout, exactly one stderr line in the house format.
    void expectRefused(const ProcessResult& r, const std::string& needle) {
        EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
        EXPECT_EQ(lineCount(r.err), 1) << r.err;
        EXPECT_EQ(r.err.rfind("neuroplan-cli: error: ", 0), 0u) << r.err;
        EXPECT_NE(r.err.find(needle), std::string::npos)
            << "expected '" << needle << "' in " << r.err;
    }

    TempDir m_dir;
};

// ---- the documented examples --------------------------------------------------------------------

TEST_F(EligibilityCli, EveryExampleIsListedInExpected) {
    const json expected = readJson(examplesDir() / "expected.json");
    std::set<std::string> files;
    for (const auto& entry : fs::directory_iterator(examplesDir())) {
        const std::string name = entry.path().filename().string();
        if (entry.path().extension() == ".json" && name != "expected.json") {
            files.insert(name);
        }
    }
    std::set<std::string> listed;
    for (const auto& [name, claim] : expected.items()) {
        if (name != "note") {
            listed.insert(name);
        }
    }
    EXPECT_EQ(files, listed);
    EXPECT_GE(listed.size(), 6u);
}

TEST_F(EligibilityCli, ExamplesEvaluateToTheOutcomesTheyClaim) {
    const json expected = readJson(examplesDir() / "expected.json");
    for (const auto& [name, claim] : expected.items()) {
        if (name == "note") {
            continue;
        }
        SCOPED_TRACE(name);
        const json out = evaluateJson(examplesDir() / name);
        ASSERT_TRUE(out.contains("refractory")) << out.dump();
        EXPECT_EQ(out["refractory"]["status"], claim["status"]);
        EXPECT_EQ(out["rtms"]["decision"], claim["rtms"]) << out["rtms"].dump(2);
        EXPECT_EQ(out["vns"]["decision"], claim["vns"]) << out["vns"].dump(2);
    }
}

TEST_F(EligibilityCli, JsonOutputHasTheDocumentedShape) {
    const json expected = readJson(examplesDir() / "expected.json");
    for (const auto& [name, claim] : expected.items()) {
        if (name == "note") {
            continue;
        }
        SCOPED_TRACE(name);
        const json input = readJson(examplesDir() / name);
        const json out = evaluateJson(examplesDir() / name);
        ASSERT_TRUE(out.is_object());
        EXPECT_EQ(out["rule_set"], "refractory-anxiety-v1");

        const json& refractory = out["refractory"];
        ASSERT_TRUE(refractory.is_object());
        EXPECT_TRUE(refractory["status"].is_string());
        EXPECT_TRUE(refractory["adequate_failed_first_line"].is_number_integer());
        ASSERT_TRUE(refractory["trials"].is_array());
        ASSERT_EQ(refractory["trials"].size(), input["trials"].size());
        for (std::size_t i = 0; i < refractory["trials"].size(); ++i) {
            const json& t = refractory["trials"][i];
            EXPECT_EQ(t["index"], i);
            for (const char* key : {"first_line", "adequate", "failed"}) {
                ASSERT_TRUE(t.contains(key)) << key;
                EXPECT_TRUE(t[key].is_boolean() || t[key].is_null()) << key << ": " << t.dump();
            }
            ASSERT_TRUE(t["reasons"].is_array());
            for (const json& reason : t["reasons"]) {
                static const std::set<std::string> kReasons{
                    "subtherapeutic_dose", "short_duration",  "early_stop_side_effects",
                    "poor_adherence",      "pharmacokinetic", "incomplete_therapy",
                    "unassessable"};
                EXPECT_TRUE(kReasons.count(reason.get<std::string>())) << reason;
            }
        }

        for (const char* modality : {"rtms", "vns"}) {
            SCOPED_TRACE(modality);
            const json& d = out[modality];
            ASSERT_TRUE(d.is_object());
            EXPECT_TRUE(d["decision"] == "eligible" || d["decision"] == "needs_review" ||
                        d["decision"] == "not_eligible");
            EXPECT_EQ(d["on_label"], false);
            ASSERT_TRUE(d["findings"].is_array());
            ASSERT_FALSE(d["findings"].empty());
            bool blocks = false;
            bool review = false;
            for (const json& f : d["findings"]) {
                for (const char* key : {"rule", "effect", "message", "source"}) {
                    ASSERT_TRUE(f.contains(key) && f[key].is_string()) << f.dump();
                    EXPECT_FALSE(f[key].get<std::string>().empty()) << f.dump();
                }
                EXPECT_TRUE(f["effect"] == "blocks" || f["effect"] == "review" ||
                            f["effect"] == "info")
                    << f.dump();
                blocks = blocks || f["effect"] == "blocks";
                review = review || f["effect"] == "review";
            }
            const char* derived = blocks ? "not_eligible" : review ? "needs_review" : "eligible";
            EXPECT_EQ(d["decision"], derived);
        }
    }
}

TEST_F(EligibilityCli, PseudoResistantExampleExplainsEachTrial) {
    const json out = evaluateJson(examplesDir() / "pseudo-resistant.json");
    const json& trials = out["refractory"]["trials"];
    ASSERT_EQ(trials.size(), 3u);
    EXPECT_EQ(trials[0]["reasons"], json({"subtherapeutic_dose"}));
    std::vector<std::string> second = trials[1]["reasons"];
    std::sort(second.begin(), second.end());
    EXPECT_EQ(second, (std::vector<std::string>{"early_stop_side_effects", "pharmacokinetic",
                                                "short_duration"}));
    EXPECT_EQ(trials[2]["reasons"], json({"poor_adherence"}));
    EXPECT_EQ(out["refractory"]["adequate_failed_first_line"], 0);
}

TEST_F(EligibilityCli, ReadableReportWithoutJson) {
    ProcessResult r =
        cli({"eligibility", "evaluate", (examplesDir() / "needs-review.json").string()});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("refractory-anxiety-v1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("rTMS: NEEDS REVIEW"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("workup.thyroid"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("source: "), std::string::npos) << r.out;
    EXPECT_FALSE(json::accept(r.out));
}

TEST_F(EligibilityCli, JsonFlagMayComeBeforeTheCommand) {
    ProcessResult r =
        cli({"--json", "eligibility", "evaluate", (examplesDir() / "rtms-eligible.json").string()});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["rtms"]["decision"], "eligible");
}

// ---- malformed case files -----------------------------------------------------------------------

struct Malformed {
    const char* name;
    std::function<void(json&)> change;
    const char* field;
};

/// Malformed variants of rtms-eligible.json whose field is a path inside the file.
std::vector<Malformed> nestedMalformed() {
    return {
        {"unknown-enum", [](json& c) { c["trials"][0]["outcome"] = "better"; },
         "trials[0].outcome"},
        {"wrong-type", [](json& c) { c["trials"][0]["daily_dose_mg"] = "20"; },
         "trials[0].daily_dose_mg"},
        {"negative-dose", [](json& c) { c["trials"][1]["daily_dose_mg"] = -75; },
         "trials[1].daily_dose_mg"},
        {"negative-weeks", [](json& c) { c["trials"][1]["weeks_at_dose"] = -1; },
         "trials[1].weeks_at_dose"},
        {"impossible-scale-date", [](json& c) { c["scales"][1]["date"] = "2026-02-30"; },
         "scales[1].date"},
        {"impossible-birth-date", [](json& c) { c["patient"]["birth_date"] = "1984-02-30"; },
         "patient.birth_date"},
        {"unknown-key", [](json& c) { c["trials"][0]["dose_mg"] = 20; }, "trials[0].dose_mg"},
        {"missing-trial-type", [](json& c) { c["trials"][2].erase("type"); }, "trials[2].type"},
        {"item-out-of-range", [](json& c) { c["scales"][0]["items"][2] = 7; },
         "scales[0].items[2]"},
        {"wrong-item-count",
         [](json& c) {
             c["scales"][0]["items"] = {1, 2, 3};
         },
         "scales[0].items"},
        {"items-and-total-disagree", [](json& c) { c["scales"][0]["total"] = 5; },
         "scales[0].total"},
        {"screening-not-boolean", [](json& c) { c["rtms_screening"]["pregnancy"] = "no"; },
         "rtms_screening.pregnancy"},
    };
}

TEST_F(EligibilityCli, MalformedCaseExits2WithOneLineNamingThePath) {
    const json example = readJson(examplesDir() / "rtms-eligible.json");
    for (const Malformed& row : nestedMalformed()) {
        SCOPED_TRACE(row.name);
        json c = example;
        row.change(c);
        expectRefused(evaluate(write(std::string(row.name) + ".json", c)), row.field);
    }
}

TEST_F(EligibilityCli, MalformedTopLevelFieldIsNamedAsACaseFieldNotAnOption) {
    const json example = readJson(examplesDir() / "rtms-eligible.json");
    const std::vector<Malformed> rows{
        {"impossible-evaluation-date", [](json& c) { c["evaluation_date"] = "2026-02-30"; },
         "evaluation_date"},
        {"missing-evaluation-date", [](json& c) { c.erase("evaluation_date"); }, "evaluation_date"},
        {"unknown-top-level-key", [](json& c) { c["colour"] = "blue"; }, "colour"},
        {"unknown-diagnosis", [](json& c) { c["diagnosis"] = "depression"; }, "diagnosis"},
    };
    for (const Malformed& row : rows) {
        SCOPED_TRACE(row.name);
        json c = example;
        row.change(c);
        const ProcessResult r = evaluate(write(std::string(row.name) + ".json", c));
        expectRefused(r, std::string(": ") + row.field + ": ");
        EXPECT_EQ(r.err.find("--"), std::string::npos) << r.err;
    }
    // The same mapping turns a case file without an extension into an "option".
    const fs::path noExtension = m_dir / "case";
    writeFile(noExtension, "{not json");
    const ProcessResult r = evaluate(noExtension);
    expectRefused(r, noExtension.string());
    EXPECT_EQ(r.err.find("--"), std::string::npos) << r.err;
}

TEST_F(EligibilityCli, MalformedTopLevelFieldStillExits2WithOneLine) {
    // What holds today beside the naming bug above: refused, one line, nothing evaluated.
    json c = readJson(examplesDir() / "rtms-eligible.json");
    c["evaluation_date"] = "2026-02-30";
    expectRefused(evaluate(write("bad-date.json", c)), "2026-02-30");
    c.erase("evaluation_date");
    expectRefused(evaluate(write("no-date.json", c)), "required");
}

TEST_F(EligibilityCli, NonJsonFileExits2NamingTheFile) {
    const fs::path path = m_dir / "broken.json";
    writeFile(path, "{\"evaluation_date\": \"2026-11-02\",\n \"trials\": [\n");
    expectRefused(evaluate(path), path.string());
}

TEST_F(EligibilityCli, MissingCaseFileExits2) {
    const fs::path path = m_dir / "absent.json";
    expectRefused(evaluate(path), path.string());
}

TEST_F(EligibilityCli, MissingCaseArgumentExits2) {
    ProcessResult r = cli({"eligibility", "evaluate", "--json"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_EQ(lineCount(r.err), 1) << r.err;
}

// ---- clinic rule sets ---------------------------------------------------------------------------

json builtInRules() {
    return readJson(fs::path(NEUROPLAN_SOURCE_DIR) / "core" / "eligibility" / "data" /
                    "refractory-anxiety-v1.json");
}

TEST_F(EligibilityCli, BrokenClinicRulesExit2NamingRules) {
    const fs::path example = examplesDir() / "rtms-eligible.json";
    struct Row {
        const char* name;
        std::function<void(json&)> change;
        const char* field;
    };
    const std::vector<Row> rows{
        {"weeks-out-of-range", [](json& r) { r["adequacy"]["min_weeks_at_dose"]["value"] = 13; },
         "adequacy.min_weeks_at_dose.value"},
        {"unknown-item",
         [](json& r) { r["rtms"]["absolute_contraindications"][0]["item"] = "metal"; },
         "rtms.absolute_contraindications[0].item"},
        {"unknown-source",
         [](json& r) { r["drugs"][0]["min_therapeutic_mg"]["source"] = "hearsay"; },
         "drugs[0].min_therapeutic_mg.source"},
    };
    for (const Row& row : rows) {
        SCOPED_TRACE(row.name);
        json rules = builtInRules();
        row.change(rules);
        const fs::path path = write(std::string(row.name) + "-rules.json", rules);
        const ProcessResult r = evaluate(example, {"--rules", path.string()});
        expectRefused(r, "--rules");
        EXPECT_NE(r.err.find(row.field), std::string::npos) << r.err;

        expectRefused(cli({"eligibility", "rules", "--rules", path.string()}), "--rules");
    }
    writeFile(m_dir / "not-json-rules.json", "{\"format\": ");
    expectRefused(evaluate(example, {"--rules", (m_dir / "not-json-rules.json").string()}),
                  "--rules");
    expectRefused(evaluate(example, {"--rules", (m_dir / "absent-rules.json").string()}),
                  "--rules");
}

TEST_F(EligibilityCli, ClinicRulesWithTwelveWeeksChangeTheOutcome) {
    json rules = builtInRules();
    rules["adequacy"]["min_weeks_at_dose"]["value"] = 12;
    const fs::path rulesPath = write("twelve-weeks.json", rules);
    // Two first-line SSRIs at 10 weeks: refractory under 8 weeks, pseudo-resistant under 12.
    json c = readJson(examplesDir() / "rtms-eligible.json");
    c["trials"] = json::array({c["trials"][0], c["trials"][0]});
    c["trials"][1]["agent"] = "sertraline";
    c["trials"][1]["daily_dose_mg"] = 150;
    const fs::path casePath = write("ten-weeks.json", c);

    const json builtIn = evaluateJson(casePath);
    EXPECT_EQ(builtIn["refractory"]["status"], "refractory");
    EXPECT_EQ(builtIn["rtms"]["decision"], "eligible");

    const json clinic = evaluateJson(casePath, {"--rules", rulesPath.string()});
    EXPECT_EQ(clinic["refractory"]["status"], "pseudo_resistant");
    EXPECT_EQ(clinic["refractory"]["trials"][0]["reasons"], json({"short_duration"}));
    EXPECT_EQ(clinic["rtms"]["decision"], "not_eligible");
}

TEST_F(EligibilityCli, RulesCommandShowsTheRuleSet) {
    ProcessResult r = cli({"eligibility", "rules"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("refractory-anxiety-v1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("sertraline"), std::string::npos) << r.out;
    EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(EligibilityCli, RulesExportIsTheBuiltInFile) {
    ProcessResult r = cli({"eligibility", "rules", "--export"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const json exported = json::parse(r.out);
    EXPECT_EQ(exported["id"], "refractory-anxiety-v1");
    EXPECT_EQ(exported["kind"], "eligibility-rule-set");
    EXPECT_EQ(exported, builtInRules());

    // The export is a valid starting point for a clinic's copy.
    const fs::path copy = m_dir / "clinic-copy.json";
    writeFile(copy, r.out);
    const json out = evaluateJson(examplesDir() / "rtms-eligible.json", {"--rules", copy.string()});
    EXPECT_EQ(out["rtms"]["decision"], "eligible");
}

TEST_F(EligibilityCli, EveryEligibilityCommandHasHelp) {
    for (const std::vector<std::string>& command :
         {std::vector<std::string>{"eligibility", "--help"},
          std::vector<std::string>{"eligibility", "evaluate", "--help"},
          std::vector<std::string>{"eligibility", "rules", "--help"}}) {
        ProcessResult r = cli(command);
        EXPECT_EQ(r.exitCode, 0) << command.back();
        EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
    }
}

}  // namespace
}  // namespace neuroplan
