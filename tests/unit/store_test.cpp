#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "store/store.h"
#include "support.h"

namespace neuroplan::store {
namespace {

using neuroplan::testing::readFile;
using neuroplan::testing::TempDir;

const AuditIdentity kTester{std::nullopt, "tester"};

Store openOrDie(const std::filesystem::path& path, OpenOptions options = {}) {
    auto opened = Store::open(path, std::move(options));
    if (!opened) {
        throw std::runtime_error(opened.error().describe());
    }
    return std::move(opened).value();
}

std::int64_t countRows(Store& store, const char* table) {
    return store.db().queryInt(std::string("SELECT count(*) FROM ") + table).value();
}

/// Runs raw SQL on a file the way an outside tool would, bypassing the store.
void rawExec(const std::filesystem::path& path, const std::string& sql) {
    auto db = Connection::open(path, Connection::Mode::ReadWriteCreate);
    ASSERT_TRUE(db.ok());
    auto done = db->exec(sql);
    ASSERT_TRUE(done.ok()) << done.error().describe();
}

TEST(StoreOpen, FreshFileIsCreatedAtTheLatestVersion) {
    TempDir dir;
    Store store = openOrDie(dir / "np.db");
    EXPECT_EQ(store.openReport().outcome, OpenOutcome::Created);
    EXPECT_EQ(store.openReport().fromVersion, 0);
    EXPECT_EQ(store.schemaVersion(), latestSchemaVersion());
    EXPECT_EQ(store.db().queryInt("PRAGMA application_id").value(), kApplicationId);
    EXPECT_EQ(store.db().queryInt("PRAGMA user_version").value(), latestSchemaVersion());
}

TEST(StoreOpen, ConnectionIsConfiguredForClinicalRecords) {
    TempDir dir;
    Store store = openOrDie(dir / "np.db");
    auto mode = store.db().prepare("PRAGMA journal_mode");
    ASSERT_TRUE(mode.ok());
    ASSERT_TRUE(mode->step().value());
    EXPECT_EQ(mode->columnText(0), "wal");
    EXPECT_EQ(store.db().queryInt("PRAGMA foreign_keys").value(), 1);
    EXPECT_EQ(store.db().queryInt("PRAGMA busy_timeout").value(), 5000);
}

TEST(StoreOpen, CurrentFileIsOpenedAsIs) {
    TempDir dir;
    { openOrDie(dir / "np.db"); }
    Store again = openOrDie(dir / "np.db");
    EXPECT_EQ(again.openReport().outcome, OpenOutcome::Current);
    EXPECT_EQ(again.openReport().fromVersion, latestSchemaVersion());
}

TEST(StoreOpen, EveryOlderSchemaIsUpgradedKeepingItsData) {
    for (int from = 1; from < latestSchemaVersion(); ++from) {
        TempDir dir;
        {
            OpenOptions old;
            old.targetVersion = from;
            Store store = openOrDie(dir / "np.db", old);
            ASSERT_EQ(store.schemaVersion(), from);
            ASSERT_TRUE(store
                            .write(kTester,
                                   [](WriteContext& w) -> Status {
                                       auto insert = w.db().prepare(
                                           "INSERT INTO users (login, display_name, role, "
                                           "password_hash, created_utc) VALUES (?, ?, ?, ?, ?)");
                                       NP_TRY(insert);
                                       insert->bindAll("old", "Old User", "admin", "x", "t");
                                       NP_TRY(insert->run());
                                       return w.audit("user", "1", "create", nullptr, "old");
                                   })
                            .ok());
        }
        Store upgraded = openOrDie(dir / "np.db");
        EXPECT_EQ(upgraded.openReport().outcome, OpenOutcome::Upgraded) << from;
        EXPECT_EQ(upgraded.openReport().fromVersion, from);
        EXPECT_EQ(upgraded.schemaVersion(), latestSchemaVersion());
        EXPECT_EQ(countRows(upgraded, "users"), 1);
        auto verdict = upgraded.verifyAudit();
        ASSERT_TRUE(verdict.ok());
        EXPECT_TRUE(verdict->intact) << verdict->problem;
    }
}

TEST(StoreOpen, NewerDatabaseIsRefusedAndLeftUntouched) {
    TempDir dir;
    { openOrDie(dir / "np.db"); }
    rawExec(dir / "np.db",
            "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE; "
            "PRAGMA user_version = " +
                std::to_string(latestSchemaVersion() + 1));
    const std::string before = readFile(dir / "np.db");
    auto opened = Store::open(dir / "np.db");
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code, ErrorCode::IncompatibleStore);
    EXPECT_EQ(opened.error().field, "db");
    EXPECT_NE(opened.error().message.find("newer"), std::string::npos);
    EXPECT_EQ(readFile(dir / "np.db"), before);
}

TEST(StoreOpen, ForeignSqliteDatabaseIsRefusedAndLeftUntouched) {
    TempDir dir;
    rawExec(dir / "other.db", "CREATE TABLE things (x); INSERT INTO things VALUES (1);");
    const std::string before = readFile(dir / "other.db");
    auto opened = Store::open(dir / "other.db");
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code, ErrorCode::IncompatibleStore);
    EXPECT_NE(opened.error().message.find("not a NeuroPlan database"), std::string::npos);
    EXPECT_EQ(readFile(dir / "other.db"), before);
}

TEST(StoreOpen, NonSqliteFileIsRefusedAndLeftUntouched) {
    TempDir dir;
    const std::string text(4096, 'x');
    std::ofstream(dir / "notes.txt") << text;
    auto opened = Store::open(dir / "notes.txt");
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code, ErrorCode::IncompatibleStore);
    EXPECT_EQ(readFile(dir / "notes.txt"), text);
}

TEST(StoreOpen, EmptyFileBecomesANewDatabase) {
    TempDir dir;
    std::ofstream(dir / "empty.db").flush();
    Store store = openOrDie(dir / "empty.db");
    EXPECT_EQ(store.openReport().outcome, OpenOutcome::Created);
}

TEST(StoreOpen, MissingDirectoryIsAnInputError) {
    TempDir dir;
    auto opened = Store::open(dir / "no" / "such" / "np.db");
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code, ErrorCode::InvalidInput);
    EXPECT_EQ(opened.error().field, "db");
    EXPECT_FALSE(std::filesystem::exists(dir / "no"));
}

TEST(StoreOpen, MissingFileIsNotCreatedWhenNotAllowed) {
    TempDir dir;
    OpenOptions options;
    options.createIfMissing = false;
    auto opened = Store::open(dir / "np.db", options);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code, ErrorCode::NotFound);
    EXPECT_FALSE(std::filesystem::exists(dir / "np.db"));
}

TEST(StoreOpen, EachMigrationIsRecordedInTheAuditTrail) {
    TempDir dir;
    Store store = openOrDie(dir / "np.db");
    EXPECT_EQ(store.db().queryInt("SELECT count(*) FROM audit_log WHERE entity = 'schema'").value(),
              latestSchemaVersion());
}

TEST(StoreWrite, UnauditedWriteIsRolledBack) {
    TempDir dir;
    Store store = openOrDie(dir / "np.db");
    const Status status = store.write(kTester, [](WriteContext& w) -> Status {
        return w.db().exec(
            "INSERT INTO users (login, display_name, role, password_hash, created_utc) "
            "VALUES ('sneaky', 'S', 'admin', 'x', 't')");
    });
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::Internal);
    EXPECT_EQ(countRows(store, "users"), 0);
}

TEST(StoreWrite, FailedBodyRollsBackItsAuditEntryToo) {
    TempDir dir;
    Store store = openOrDie(dir / "np.db");
    const auto entriesBefore = countRows(store, "audit_log");
    const Status status = store.write(kTester, [](WriteContext& w) -> Status {
        NP_TRY(w.audit("thing", "1", "create", nullptr, "x"));
        return makeError(ErrorCode::Conflict, "thing", "changed my mind");
    });
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(countRows(store, "audit_log"), entriesBefore);
    EXPECT_TRUE(store.verifyAudit()->intact);
}

class AuditChain : public ::testing::Test {
  protected:
    void SetUp() override {
        Store store = openOrDie(path());
        for (int i = 0; i < 5; ++i) {
            ASSERT_TRUE(store
                            .write(kTester,
                                   [i](WriteContext& w) {
                                       return w.audit("thing", std::to_string(i), "create", nullptr,
                                                      nlohmann::json{{"n", i}});
                                   })
                            .ok());
        }
        m_entries = countRows(store, "audit_log");
    }
    std::filesystem::path path() const { return m_dir / "np.db"; }
    AuditVerification verify() {
        Store store = openOrDie(path());
        auto verdict = store.verifyAudit();
        EXPECT_TRUE(verdict.ok());
        return *verdict;
    }

    TempDir m_dir;
    std::int64_t m_entries = 0;
};

TEST_F(AuditChain, IntactChainVerifies) {
    const auto verdict = verify();
    EXPECT_TRUE(verdict.intact);
    EXPECT_EQ(verdict.entries, m_entries);
    EXPECT_FALSE(verdict.firstBrokenId.has_value());
}

TEST_F(AuditChain, EditedEntryIsDetectedAtThatEntry) {
    rawExec(path(), "UPDATE audit_log SET summary = '{\"after\":{\"n\":99}}' WHERE id = 4");
    const auto verdict = verify();
    EXPECT_FALSE(verdict.intact);
    EXPECT_EQ(verdict.firstBrokenId, 4);
}

TEST_F(AuditChain, EditedUserIsDetected) {
    rawExec(path(), "UPDATE audit_log SET user_login = 'someone-else' WHERE id = 3");
    EXPECT_EQ(verify().firstBrokenId, 3);
}

TEST_F(AuditChain, DeletedMiddleEntryIsDetected) {
    rawExec(path(), "DELETE FROM audit_log WHERE id = 3");
    const auto verdict = verify();
    EXPECT_FALSE(verdict.intact);
    EXPECT_EQ(verdict.firstBrokenId, 4);
}

TEST_F(AuditChain, DeletedNewestEntryIsDetected) {
    rawExec(path(), "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)");
    const auto verdict = verify();
    EXPECT_FALSE(verdict.intact);
    EXPECT_EQ(verdict.firstBrokenId, m_entries);
}

TEST_F(AuditChain, RenumberedEntriesAreDetected) {
    rawExec(path(),
            "DELETE FROM audit_log WHERE id = 2; UPDATE audit_log SET id = id - 1 "
            "WHERE id > 2;");
    EXPECT_FALSE(verify().intact);
}

TEST(DefaultPath, FollowsTheEnvironment) {
    ::setenv("NEUROPLAN_DB", "/tmp/explicit.db", 1);
    EXPECT_EQ(defaultDatabasePath(), "/tmp/explicit.db");
    ::unsetenv("NEUROPLAN_DB");
    ::setenv("XDG_DATA_HOME", "/tmp/xdg", 1);
    EXPECT_EQ(defaultDatabasePath(), "/tmp/xdg/neuroplan/neuroplan.db");
    ::unsetenv("XDG_DATA_HOME");
}

}  // namespace
}  // namespace neuroplan::store
