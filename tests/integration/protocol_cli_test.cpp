// End-to-end tests of the real `neuroplan-cli protocol` binary (issue 5): the templates list with
// verdicts, validating each template and protocol files of every verdict with the documented
// exit codes (0 ok/warning, 1 violation/invalid, 2 malformed), the patient's motor threshold
// and the target device, and `protocol show` output that `protocol validate` accepts back.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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

// The shipped templates and their verdicts (docs/protocol-format.md).
const std::vector<std::pair<std::string, std::string>> kTemplates{
    {"lf-1hz-right-dlpfc", "ok"},   {"hf-20hz-right-dlpfc", "ok"}, {"hf-10hz-left-dlpfc", "ok"},
    {"itbs-left-dlpfc", "warning"}, {"ctbs-right-dlpfc", "ok"},    {"accelerated-itbs-saint", "ok"},
};

int lineCount(const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

/// Every finding has the documented keys, and every finding above ok names its source.
void expectWellFormedFindings(const json& report) {
    ASSERT_TRUE(report.contains("verdict")) << report.dump(2);
    ASSERT_TRUE(report.contains("derived")) << report.dump(2);
    ASSERT_TRUE(report.contains("findings") && report["findings"].is_array()) << report.dump(2);
    for (const json& f : report["findings"]) {
        for (const char* key : {"rule", "severity", "message", "source"}) {
            ASSERT_TRUE(f.contains(key)) << f.dump();
        }
        if (f["severity"] != "ok") {
            EXPECT_FALSE(f["source"].get<std::string>().empty())
                << "a finding above ok has no source: " << f.dump();
        }
    }
}

/// Runs neuroplan-cli with a database path that must never be created (protocols read none).
class ProtocolCli : public ::testing::Test {
  protected:
    void TearDown() override {
        EXPECT_FALSE(fs::exists(unusedDb())) << "a protocol command touched a database";
    }

    fs::path unusedDb() const { return m_dir / "never.db"; }

    ProcessResult cli(std::vector<std::string> args) {
        std::vector<std::string> argv{kCli};
        argv.insert(argv.end(), args.begin(), args.end());
        return runProcess(argv, {{"NEUROPLAN_DB", unusedDb().string()},
                                 {"XDG_DATA_HOME", (m_dir / "xdg").string()}});
    }

    /// Runs a command that prints JSON; expects `exitCode` and nothing on stderr.
    json cliJson(std::vector<std::string> args, int exitCode = 0) {
        const ProcessResult r = cli(std::move(args));
        EXPECT_EQ(r.exitCode, exitCode) << r.out << r.err;
        EXPECT_TRUE(r.err.empty()) << r.err;
        try {
            return json::parse(r.out);
        } catch (const json::exception& e) {
            ADD_FAILURE() << "not JSON (" << e.what() << "): " << r.out;
            return json::object();
        }
    }

    fs::path writeText(const std::string& name, const std::string& text) {
        const fs::path path = m_dir / name;
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }

    fs::path write(const std::string& name, const json& document) {
        return writeText(name, document.dump(2));
    }

    /// Refused input: exit 2, nothing on stdout, one stderr line in the house format.
    void expectRefused(const ProcessResult& r, const std::string& needle) {
        EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
        EXPECT_EQ(lineCount(r.err), 1) << r.err;
        EXPECT_EQ(r.err.rfind("neuroplan-cli: error: ", 0), 0u) << r.err;
        EXPECT_NE(r.err.find(needle), std::string::npos)
            << "expected '" << needle << "' in " << r.err;
    }

    /// A template's protocol body, from `protocol show --template ID --json`.
    json templateBody(const std::string& id) {
        return cliJson({"protocol", "show", "--template", id, "--json"});
    }

    TempDir m_dir;
};

json tenHz() {
    return {{"kind", "rtms"},
            {"pattern", "conventional"},
            {"frequency_hz", 10},
            {"intensity_percent_rmt", 120},
            {"train_duration_s", 4},
            {"inter_train_interval_s", 26},
            {"trains", 75},
            {"target", "left_dlpfc"},
            {"coil", "figure8"},
            {"sessions_per_day", 1},
            {"sessions_in_course", 30}};
}

json itbs() {
    return {{"kind", "rtms"},          {"pattern", "itbs"},           {"intensity_percent_rmt", 90},
            {"train_duration_s", 2},   {"inter_train_interval_s", 8}, {"trains", 20},
            {"sessions_in_course", 30}};
}

json vns() {
    return {{"kind", "vns"},      {"output_current_ma", 1.0}, {"pulse_width_us", 250},
            {"frequency_hz", 20}, {"on_time_s", 30},          {"off_time_min", 5}};
}

// ---- templates -------------------------------------------------------------------------------

TEST_F(ProtocolCli, TemplatesListsAllSixWithVerdictFindingsAndDerived) {
    const json list = cliJson({"protocol", "templates", "--json"});
    ASSERT_TRUE(list.is_array()) << list.dump(2);
    ASSERT_EQ(list.size(), kTemplates.size());
    std::set<std::string> seen;
    for (const json& entry : list) {
        const std::string id = entry.value("id", "");
        SCOPED_TRACE(id);
        seen.insert(id);
        expectWellFormedFindings(entry);
        const auto it = std::find_if(kTemplates.begin(), kTemplates.end(),
                                     [&](const auto& t) { return t.first == id; });
        ASSERT_NE(it, kTemplates.end()) << "unexpected template " << id;
        EXPECT_EQ(entry["verdict"], it->second) << entry["findings"].dump(2);
        ASSERT_TRUE(entry["derived"].is_object());
        EXPECT_GT(entry["derived"]["pulses_per_session"].get<long long>(), 0);
        EXPECT_GT(entry["derived"]["session_duration_s"].get<double>(), 0);
        EXPECT_TRUE(entry["derived"]["output_percent_mso"].is_null());
        EXPECT_TRUE(entry["derived"].contains("timing"));
        EXPECT_FALSE(entry.value("label", "").empty());
        EXPECT_FALSE(entry.value("source", "").empty());
        EXPECT_EQ(entry["protocol"]["kind"], "rtms");
    }
    EXPECT_EQ(seen.size(), kTemplates.size());
}

TEST_F(ProtocolCli, TemplatesTextNamesEveryTemplateAndItsVerdict) {
    const ProcessResult r = cli({"protocol", "templates"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    for (const auto& [id, verdict] : kTemplates) {
        EXPECT_NE(r.out.find(id), std::string::npos) << id;
    }
    EXPECT_NE(r.out.find("verdict warning"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("[warning] tbs.intensity"), std::string::npos) << r.out;
}

TEST_F(ProtocolCli, ValidateEachTemplateGivesTheListedVerdict) {
    const json list = cliJson({"protocol", "templates", "--json"});
    for (const auto& [id, verdict] : kTemplates) {
        SCOPED_TRACE(id);
        const json report = cliJson({"protocol", "validate", "--template", id, "--json"});
        expectWellFormedFindings(report);
        EXPECT_EQ(report["verdict"], verdict);
        for (const json& entry : list) {
            if (entry["id"] == id) {
                EXPECT_EQ(report["verdict"], entry["verdict"]);
                EXPECT_EQ(report["findings"], entry["findings"]);
                EXPECT_EQ(report["derived"], entry["derived"]);
            }
        }
    }
}

TEST_F(ProtocolCli, UnknownTemplateIsRefused) {
    expectRefused(cli({"protocol", "validate", "--template", "no-such-template", "--json"}),
                  "no-such-template");
}

// ---- validate FILE: verdicts and exit codes ------------------------------------------------

TEST_F(ProtocolCli, ValidateFileExitCodesFollowTheVerdict) {
    struct Case {
        std::string name;
        json document;
        std::string verdict;
        int exitCode;
        std::string rule;  ///< a finding that must be present
    };
    json warning = tenHz();
    warning["intensity_percent_rmt"] = 110;
    warning["train_duration_s"] = 5.1;  // > the ">5" cell at 10 Hz / 110 %
    json violation = tenHz();
    violation["train_duration_s"] = 4.3;  // > the 4.2 cell at 10 Hz / 120 %
    json invalid = tenHz();
    invalid.erase("trains");
    json vnsOk = vns();
    json vnsInvalid = vns();
    vnsInvalid["output_current_ma"] = 2.125;
    json vnsWarning = vns();
    vnsWarning["last_delivered_current_ma"] = 0.625;
    const std::vector<Case> cases{
        {"ok", tenHz(), "ok", 0, "wassermann.train_duration"},
        {"warning", warning, "warning", 0, "wassermann.train_duration"},
        {"violation", violation, "violation", 1, "wassermann.train_duration"},
        {"invalid", invalid, "invalid", 1, "value.missing"},
        {"vns-ok", vnsOk, "ok", 0, ""},
        {"vns-warning", vnsWarning, "warning", 0, "vns.current_step"},
        {"vns-invalid", vnsInvalid, "invalid", 1, "device.current"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        const fs::path file = write(c.name + ".json", c.document);
        const json report = cliJson({"protocol", "validate", file.string(), "--json"}, c.exitCode);
        EXPECT_EQ(report["verdict"], c.verdict) << report.dump(2);
        ASSERT_TRUE(report.contains("findings"));
        if (!c.rule.empty()) {
            bool found = false;
            for (const json& f : report["findings"]) {
                found = found || f["rule"] == c.rule;
            }
            EXPECT_TRUE(found) << c.rule << " in " << report["findings"].dump(2);
        }
        // The text report has the same exit code and says the verdict.
        const ProcessResult text = cli({"protocol", "validate", file.string()});
        EXPECT_EQ(text.exitCode, c.exitCode) << text.err;
        EXPECT_NE(text.out.find("Verdict: " + c.verdict), std::string::npos) << text.out;
    }
}

TEST_F(ProtocolCli, InvalidFindingsNameTheirSource) {
    // Missing values are invalid findings: like every finding above ok, they need a source.
    json invalid = tenHz();
    invalid.erase("trains");
    const json report =
        cliJson({"protocol", "validate", write("invalid.json", invalid).string(), "--json"}, 1);
    for (const json& f : report["findings"]) {
        if (f["severity"] != "ok" && f["source"].get<std::string>().empty()) {
            ADD_FAILURE() << "the " << f["rule"] << " finding carries no source: " << f.dump();
        }
    }
    expectWellFormedFindings(report);
}

TEST_F(ProtocolCli, MalformedFilesExitTwoWithOneLineNamingTheField) {
    struct Case {
        std::string name;
        std::string text;
        std::string field;
    };
    const auto with = [](json d, const std::string& key, json value) {
        d[key] = std::move(value);
        return d.dump(2);
    };
    json magnet = vns();
    magnet["magnet"] = {{"output_current_ma", 1.25}, {"frequency_hz", 20}};
    const std::vector<Case> cases{
        {"unknown-key", with(tenHz(), "frequency", 10), "frequency"},
        {"wrong-type", with(tenHz(), "trains", "75"), "trains"},
        {"non-integer", with(tenHz(), "trains", 75.5), "trains"},
        {"burst-on-conventional", with(tenHz(), "pulses_per_burst", 3), "pulses_per_burst"},
        {"frequency-on-itbs", with(itbs(), "frequency_hz", 50), "frequency_hz"},
        {"unknown-pattern", with(tenHz(), "pattern", "qpulse"), "pattern"},
        {"target-not-text", with(tenHz(), "target", 8), "target"},
        {"vns-magnet", magnet.dump(2), "magnet.frequency_hz"},
        {"not-an-object", "[1, 2]", "(document)"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        const fs::path file = writeText(c.name + ".json", c.text);
        const ProcessResult r = cli({"protocol", "validate", file.string(), "--json"});
        // "neuroplan-cli: error: PATH: message", the field path first.
        expectRefused(r, "neuroplan-cli: error: " + c.field + ": ");
    }
    // A JSON syntax error names the file instead of a field.
    const fs::path broken = writeText("syntax.json", "{\"kind\": \"rtms\",");
    expectRefused(cli({"protocol", "validate", broken.string(), "--json"}),
                  "neuroplan-cli: error: " + broken.string() + ": ");
}

TEST_F(ProtocolCli, MalformedFieldsThatShareAnOptionsNameKeepTheirPath) {
    // "kind" and "coil" are also option names elsewhere in the CLI (courses); an error in a
    // protocol file must still name the file's field, not an option `protocol validate` lacks.
    struct Case {
        std::string name;
        json document;
        std::string field;
    };
    json noKind = tenHz();
    noKind.erase("kind");
    json unknownKind = tenHz();
    unknownKind["kind"] = "tdcs";
    json coil = tenHz();
    coil["coil"] = 8;
    const std::vector<Case> cases{
        {"missing-kind", noKind, "kind"},
        {"unknown-kind", unknownKind, "kind"},
        {"coil-not-text", coil, "coil"},
    };
    std::string misnamed;
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        const ProcessResult r =
            cli({"protocol", "validate", write(c.name + ".json", c.document).string(), "--json"});
        expectRefused(r, c.field);
        const std::string prefix = "neuroplan-cli: error: ";
        if (r.err.rfind(prefix + "--" + c.field + ": ", 0) == 0) {
            misnamed += "\n  " + c.name + ": " + r.err.substr(0, r.err.size() - 1);
        } else {
            EXPECT_EQ(r.err.rfind(prefix + c.field + ": ", 0), 0u) << r.err;
        }
    }
    if (!misnamed.empty()) {
        ADD_FAILURE() << "a protocol file's field is reported as a command-line option "
                         "(app/cli/cli.cpp optionForField maps kind -> --kind, coil -> --coil) "
                         "although `protocol validate` has no such option:"
                      << misnamed;
    }
}

TEST_F(ProtocolCli, MissingFileIsRefused) {
    const fs::path missing = m_dir / "no-such-protocol.json";
    expectRefused(cli({"protocol", "validate", missing.string(), "--json"}), "no-such-protocol");
    expectRefused(cli({"protocol", "show", missing.string()}), "no-such-protocol");
}

TEST_F(ProtocolCli, NoFileNorTemplateIsRefused) {
    expectRefused(cli({"protocol", "validate", "--json"}), "FILE");
}

// ---- the patient's motor threshold and the target device -----------------------------------

TEST_F(ProtocolCli, MotorThresholdGivesTheOutputInPercentMso) {
    const json report = cliJson(
        {"protocol", "validate", "--template", "hf-10hz-left-dlpfc", "--rmt", "60", "--json"});
    EXPECT_EQ(report["verdict"], "ok") << report.dump(2);
    ASSERT_TRUE(report["derived"]["output_percent_mso"].is_number()) << report.dump(2);
    EXPECT_NEAR(report["derived"]["output_percent_mso"].get<double>(), 72, 1e-9);
}

TEST_F(ProtocolCli, OutputAboveTheStimulatorMaximumIsInvalid) {
    // RMT 90 %MSO x 120 % = 108 %MSO.
    const json report = cliJson(
        {"protocol", "validate", "--template", "hf-10hz-left-dlpfc", "--rmt", "90", "--json"}, 1);
    expectWellFormedFindings(report);
    EXPECT_EQ(report["verdict"], "invalid");
    EXPECT_NEAR(report["derived"]["output_percent_mso"].get<double>(), 108, 1e-9);
    bool found = false;
    for (const json& f : report["findings"]) {
        found = found || (f["rule"] == "output.max_mso" && f["severity"] == "invalid");
    }
    EXPECT_TRUE(found) << report["findings"].dump(2);
}

TEST_F(ProtocolCli, StaleMotorThresholdWarns) {
    const json fresh = cliJson({"protocol", "validate", "--template", "hf-10hz-left-dlpfc", "--rmt",
                                "60", "--mt-age-days", "7", "--json"});
    EXPECT_EQ(fresh["verdict"], "ok");
    const json stale = cliJson({"protocol", "validate", "--template", "hf-10hz-left-dlpfc", "--rmt",
                                "60", "--mt-age-days", "8", "--json"});
    EXPECT_EQ(stale["verdict"], "warning") << stale.dump(2);
}

TEST_F(ProtocolCli, RapidTwoLikeDeviceCannotRunTheOneHertzTemplate) {
    const json generic =
        cliJson({"protocol", "validate", "--template", "lf-1hz-right-dlpfc", "--json"});
    EXPECT_EQ(generic["verdict"], "ok");
    const json report = cliJson({"protocol", "validate", "--template", "lf-1hz-right-dlpfc",
                                 "--device", "magstim-rapid2-like", "--json"},
                                1);
    expectWellFormedFindings(report);
    EXPECT_EQ(report["verdict"], "invalid");
    EXPECT_EQ(report["protocol"]["device_profile"], "magstim-rapid2-like");
    bool found = false;
    for (const json& f : report["findings"]) {
        found = found || (f["rule"] == "device.train_duration" && f["severity"] == "invalid");
    }
    EXPECT_TRUE(found) << report["findings"].dump(2);
}

TEST_F(ProtocolCli, UnknownDeviceIsInvalid) {
    const json report = cliJson({"protocol", "validate", "--template", "hf-10hz-left-dlpfc",
                                 "--device", "no-such-device", "--json"},
                                1);
    EXPECT_EQ(report["verdict"], "invalid");
}

// ---- show ---------------------------------------------------------------------------------------

TEST_F(ProtocolCli, ShowPrintsAProtocolThatValidateAccepts) {
    const json body = templateBody("itbs-left-dlpfc");
    EXPECT_EQ(body["kind"], "rtms");
    EXPECT_EQ(body["pattern"], "itbs");
    const fs::path file = write("itbs.json", body);
    const json report = cliJson({"protocol", "validate", file.string(), "--json"});
    EXPECT_EQ(report["verdict"], "warning");
    EXPECT_EQ(report["derived"]["pulses_per_session"], 600);
    EXPECT_EQ(report["protocol"], body);
    // And show reads the file back unchanged.
    EXPECT_EQ(cliJson({"protocol", "show", file.string(), "--json"}), body);
}

TEST_F(ProtocolCli, EveryTemplateShownAndValidatedFromAFileKeepsItsVerdict) {
    for (const auto& [id, verdict] : kTemplates) {
        SCOPED_TRACE(id);
        const fs::path file = write(id + ".json", templateBody(id));
        const json report = cliJson({"protocol", "validate", file.string(), "--json"});
        EXPECT_EQ(report["verdict"], verdict);
    }
}

TEST_F(ProtocolCli, ShowTextHasDerivedValuesAndVerdict) {
    const ProcessResult r = cli({"protocol", "show", "--template", "hf-10hz-left-dlpfc"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("Derived:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"pulses_per_session\": 3000"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Verdict: ok"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace neuroplan
