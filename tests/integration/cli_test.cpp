// End-to-end tests of the real neuroplan-cli binary on real database files.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support.h"

namespace neuroplan {
namespace {

using nlohmann::json;
using testing::ProcessResult;
using testing::runProcess;
using testing::TempDir;

constexpr const char* kCli = NEUROPLAN_CLI_PATH;
constexpr const char* kSqlite = "/usr/bin/sqlite3";
constexpr const char* kAdminPassword = "admin-password-123";

int lineCount(const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

class Cli : public ::testing::Test {
  protected:
    void SetUp() override {
        ProcessResult init = cli({"init"}, {{"NEUROPLAN_PASSWORD", kAdminPassword}});
        ASSERT_EQ(init.exitCode, 0) << init.err;
    }

    std::string db() const { return (m_dir / "clinic.db").string(); }

    /// Runs neuroplan-cli on this test's database, signed in as admin unless env says otherwise.
    ProcessResult cli(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
        std::vector<std::string> argv{kCli, "--db", db()};
        argv.insert(argv.end(), args.begin(), args.end());
        env.try_emplace("NEUROPLAN_USER", "admin");
        env.try_emplace("NEUROPLAN_PASSWORD", kAdminPassword);
        return runProcess(argv, env);
    }

    ProcessResult addAda(const std::string& birthDate = "1985-12-10") {
        return cli({"patient", "add", "--mrn", "MRN-001", "--family", "Lovelace", "--given", "Ada",
                    "--birth-date", birthDate, "--sex", "female"});
    }

    int patientCount() {
        ProcessResult list = cli({"patient", "list", "--json"});
        EXPECT_EQ(list.exitCode, 0) << list.err;
        return static_cast<int>(json::parse(list.out).size());
    }

    TempDir m_dir;
};

TEST_F(Cli, InitGeneratesAndPrintsAnAdminPasswordOnce) {
    TempDir other;
    const std::string path = (other / "new.db").string();
    ProcessResult first = runProcess({kCli, "--db", path, "init", "--json"});
    ASSERT_EQ(first.exitCode, 0) << first.err;
    const json created = json::parse(first.out);
    EXPECT_EQ(created["created_admin"], "admin");
    const std::string password = created["password"];
    EXPECT_GE(password.size(), 12u);

    ProcessResult again = runProcess({kCli, "--db", path, "init", "--json"});
    ASSERT_EQ(again.exitCode, 0) << again.err;
    EXPECT_TRUE(json::parse(again.out)["created_admin"].is_null());

    ProcessResult list =
        runProcess({kCli, "--db", path, "patient", "list"},
                   {{"NEUROPLAN_USER", "admin"}, {"NEUROPLAN_PASSWORD", password}});
    EXPECT_EQ(list.exitCode, 0) << list.err;
}

TEST_F(Cli, PatientAddListShow) {
    ProcessResult added = addAda();
    ASSERT_EQ(added.exitCode, 0) << added.err;
    EXPECT_NE(added.out.find("MRN-001"), std::string::npos);

    ProcessResult list = cli({"patient", "list"});
    ASSERT_EQ(list.exitCode, 0);
    EXPECT_NE(list.out.find("Lovelace"), std::string::npos);

    ProcessResult show = cli({"patient", "show", "--mrn", "MRN-001", "--json"});
    ASSERT_EQ(show.exitCode, 0) << show.err;
    const json patient = json::parse(show.out);
    EXPECT_EQ(patient["family_name"], "Lovelace");
    EXPECT_EQ(patient["birth_date"], "1985-12-10");
    EXPECT_EQ(patient["sex"], "female");
}

TEST_F(Cli, GlobalOptionsMayComeBeforeOrAfterTheCommand) {
    ASSERT_EQ(addAda().exitCode, 0);
    ProcessResult before =
        runProcess({kCli, "--json", "--db", db(), "--user", "admin", "patient", "list"},
                   {{"NEUROPLAN_PASSWORD", kAdminPassword}});
    ASSERT_EQ(before.exitCode, 0) << before.err;
    EXPECT_EQ(json::parse(before.out).size(), 1u);
}

TEST_F(Cli, DuplicateMrnIsOneLineExit2AndWritesNothing) {
    ASSERT_EQ(addAda().exitCode, 0);
    ProcessResult dup = addAda();
    EXPECT_EQ(dup.exitCode, 2);
    EXPECT_EQ(lineCount(dup.err), 1) << dup.err;
    EXPECT_NE(dup.err.find("--mrn"), std::string::npos) << dup.err;
    EXPECT_TRUE(dup.out.empty());
    EXPECT_EQ(patientCount(), 1);
}

TEST_F(Cli, InvalidDateIsOneLineExit2AndWritesNothing) {
    for (const char* date : {"2023-02-29", "1985-13-01", "12/10/1985", "tomorrow"}) {
        ProcessResult bad = addAda(date);
        EXPECT_EQ(bad.exitCode, 2) << date;
        EXPECT_EQ(lineCount(bad.err), 1) << bad.err;
        EXPECT_NE(bad.err.find("--birth-date"), std::string::npos) << bad.err;
    }
    EXPECT_EQ(patientCount(), 0);
}

TEST_F(Cli, InvalidSexNamesTheOption) {
    ProcessResult bad = cli({"patient", "add", "--mrn", "M1", "--family", "F", "--given", "G",
                             "--birth-date", "1990-01-01", "--sex", "yes"});
    EXPECT_EQ(bad.exitCode, 2);
    EXPECT_NE(bad.err.find("--sex"), std::string::npos) << bad.err;
}

TEST_F(Cli, UnknownOptionIsExit2) {
    ProcessResult bad = cli({"patient", "list", "--colour"});
    EXPECT_EQ(bad.exitCode, 2);
    EXPECT_EQ(lineCount(bad.err), 1) << bad.err;
    EXPECT_NE(bad.err.find("--colour"), std::string::npos) << bad.err;
}

TEST_F(Cli, MissingRequiredOptionIsExit2) {
    ProcessResult bad = cli({"patient", "add", "--mrn", "M1"});
    EXPECT_EQ(bad.exitCode, 2);
    EXPECT_EQ(lineCount(bad.err), 1) << bad.err;
    EXPECT_NE(bad.err.find("--family"), std::string::npos) << bad.err;
}

TEST_F(Cli, MissingDatabaseDirectoryIsExit2AndCreatesNothing) {
    const std::string path = (m_dir / "absent" / "x.db").string();
    ProcessResult bad = runProcess({kCli, "--db", path, "init"});
    EXPECT_EQ(bad.exitCode, 2);
    EXPECT_EQ(lineCount(bad.err), 1) << bad.err;
    EXPECT_NE(bad.err.find("--db"), std::string::npos) << bad.err;
    EXPECT_FALSE(std::filesystem::exists(m_dir / "absent"));
}

TEST_F(Cli, MissingDatabaseIsExit2AndIsNotCreated) {
    const std::string path = (m_dir / "never.db").string();
    ProcessResult bad = runProcess({kCli, "--db", path, "patient", "list"},
                                   {{"NEUROPLAN_USER", "admin"}, {"NEUROPLAN_PASSWORD", "x"}});
    EXPECT_EQ(bad.exitCode, 2);
    EXPECT_NE(bad.err.find("init"), std::string::npos) << bad.err;
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(Cli, ForeignFileIsRefused) {
    const auto path = m_dir / "notes.db";
    std::ofstream(path) << "not a database at all, just some notes\n";
    ProcessResult bad = runProcess({kCli, "--db", path.string(), "audit", "verify"});
    EXPECT_EQ(bad.exitCode, 2);
    EXPECT_NE(bad.err.find("not a NeuroPlan database"), std::string::npos) << bad.err;
}

TEST_F(Cli, WrongPasswordIsExit3) {
    ProcessResult bad = cli({"patient", "list"}, {{"NEUROPLAN_PASSWORD", "not-the-password"}});
    EXPECT_EQ(bad.exitCode, 3);
    EXPECT_EQ(lineCount(bad.err), 1) << bad.err;
}

TEST_F(Cli, MissingUserIsExit2) {
    std::vector<std::string> argv{kCli, "--db", db(), "patient", "list"};
    ProcessResult bad = runProcess(argv, {{"NEUROPLAN_USER", ""}, {"NEUROPLAN_PASSWORD", "x"}});
    EXPECT_EQ(bad.exitCode, 2);
    EXPECT_NE(bad.err.find("--user"), std::string::npos) << bad.err;
}

TEST_F(Cli, RolesAreEnforced) {
    ProcessResult tech =
        cli({"user", "add", "--login", "tom", "--display-name", "Tom T", "--role", "technician"},
            {{"NEUROPLAN_NEW_PASSWORD", "technician-pass-1"}});
    ASSERT_EQ(tech.exitCode, 0) << tech.err;
    ProcessResult refused =
        cli({"user", "add", "--login", "eve", "--display-name", "Eve", "--role", "admin",
             "--generate-password"},
            {{"NEUROPLAN_USER", "tom"}, {"NEUROPLAN_PASSWORD", "technician-pass-1"}});
    EXPECT_EQ(refused.exitCode, 3);
    EXPECT_NE(refused.err.find("may not manage users"), std::string::npos) << refused.err;
    ProcessResult users = cli({"user", "list", "--json"});
    ASSERT_EQ(users.exitCode, 0);
    EXPECT_EQ(json::parse(users.out).size(), 2u);
}

TEST_F(Cli, AuditVerifyPassesThenFailsAfterAnEditWithTheSqliteShell) {
    ASSERT_EQ(addAda().exitCode, 0);
    ProcessResult ok = cli({"audit", "verify"});
    EXPECT_EQ(ok.exitCode, 0) << ok.err;
    EXPECT_EQ(ok.out.rfind("OK", 0), 0u) << ok.out;

    ProcessResult edit =
        runProcess({kSqlite, db(),
                    "UPDATE audit_log SET summary = replace(summary, 'Lovelace', 'Byron') "
                    "WHERE entity = 'patient';"});
    ASSERT_EQ(edit.exitCode, 0) << edit.err;
    ProcessResult broken = cli({"audit", "verify", "--json"});
    EXPECT_EQ(broken.exitCode, 1);
    const json verdict = json::parse(broken.out);
    EXPECT_FALSE(verdict["intact"]);
    ProcessResult id =
        runProcess({kSqlite, db(), "SELECT id FROM audit_log WHERE entity = 'patient';"});
    EXPECT_EQ(verdict["first_broken_id"].get<int>(), std::stoi(id.out));
}

TEST_F(Cli, AuditVerifyFailsAfterADeleteWithTheSqliteShell) {
    ASSERT_EQ(addAda().exitCode, 0);
    ProcessResult del = runProcess({kSqlite, db(), "DELETE FROM audit_log WHERE id = 1;"});
    ASSERT_EQ(del.exitCode, 0) << del.err;
    ProcessResult broken = cli({"audit", "verify"});
    EXPECT_EQ(broken.exitCode, 1);
    EXPECT_NE(broken.out.find("BROKEN: audit entry 2"), std::string::npos) << broken.out;
}

TEST_F(Cli, EveryCommandHasHelp) {
    const std::vector<std::vector<std::string>> commands = {
        {"--help"},
        {"init", "--help"},
        {"patient", "--help"},
        {"patient", "add", "--help"},
        {"patient", "list", "--help"},
        {"patient", "show", "--help"},
        {"user", "--help"},
        {"user", "add", "--help"},
        {"user", "list", "--help"},
        {"audit", "--help"},
        {"audit", "verify", "--help"},
    };
    for (const auto& command : commands) {
        ProcessResult help = cli(command);
        EXPECT_EQ(help.exitCode, 0) << command.front();
        EXPECT_NE(help.out.find("Usage"), std::string::npos) << help.out;
    }
}

}  // namespace
}  // namespace neuroplan
