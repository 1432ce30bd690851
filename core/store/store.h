// neuroplan::store — the clinical record store: one SQLite file, schema migrations built into
// the binary, and a hash-chained audit trail that every write appends to in its own
// transaction.
//
// Threading: a Store is one connection; use it from one thread at a time. Several processes
// may open the same file (WAL, busy timeout).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"
#include "base/time.h"
#include "store/sqlite.h"

namespace neuroplan::store {

/// SQLite application_id of a NeuroPlan database ("NPLN").
inline constexpr std::int32_t kApplicationId = 0x4E504C4E;

struct Migration {
    int version;            ///< 1, 2, 3 ... in order, never renumbered
    std::string_view name;  ///< what it adds, for the audit trail
    std::string_view sql;   ///< constant DDL run inside the migration's transaction
};

/// Every migration this program knows, in order. The last one's version is the schema
/// version this program writes.
std::span<const Migration> migrations();
int latestSchemaVersion();

enum class OpenOutcome {
    Created,   ///< a new (or empty) file was given the whole schema
    Current,   ///< the file was already at this program's version
    Upgraded,  ///< older migrations were found and the missing ones applied
};
const char* toString(OpenOutcome outcome);

struct OpenReport {
    OpenOutcome outcome = OpenOutcome::Current;
    int fromVersion = 0;
    int toVersion = 0;
};

struct OpenOptions {
    bool createIfMissing = true;
    /// Stop migrating at this version (tests build older schemas with it). 0 = latest.
    int targetVersion = 0;
    Clock clock = systemClock();
};

/// Who is writing, as the audit trail records it. userId is empty for the system itself
/// (migrations, first-run bootstrap).
struct AuditIdentity {
    std::optional<std::int64_t> userId;
    std::string login;
};

/// What a write may do inside its transaction: run statements and append audit entries.
class WriteContext {
  public:
    Connection& db() { return m_db; }

    /// Appends an audit entry chained to the previous one. `before`/`after` are JSON
    /// snapshots (null when the entity did not exist before / does not after).
    Status audit(std::string_view entity, std::string_view entityId, std::string_view action,
                 const nlohmann::json& before, const nlohmann::json& after);

    int auditEntries() const { return m_entries; }

  private:
    friend class Store;
    WriteContext(Connection& db, AuditIdentity who, Instant at)
        : m_db(db), m_who(std::move(who)), m_at(at) {}
    Connection& m_db;
    AuditIdentity m_who;
    Instant m_at;
    int m_entries = 0;
};

struct AuditVerification {
    bool intact = true;
    std::int64_t entries = 0;
    std::optional<std::int64_t> firstBrokenId;  ///< the first entry that fails the check
    std::string problem;                        ///< why, when broken
};

class Store {
  public:
    /// Opens (creating if allowed and missing) and migrates. Refuses, leaving the file as it
    /// was, a database newer than this program or a file that is not a NeuroPlan database.
    static Result<Store> open(const std::filesystem::path& path, OpenOptions options = {});

    const OpenReport& openReport() const { return m_report; }
    const std::filesystem::path& path() const { return m_path; }
    int schemaVersion() const { return m_report.toVersion; }
    const Clock& clock() const { return m_clock; }

    /// For reads. Writes go through write().
    Connection& db() { return m_db; }

    /// Runs `body` in one IMMEDIATE transaction and commits only if it succeeded and appended
    /// at least one audit entry: an unaudited write is a bug and is rolled back.
    Status write(const AuditIdentity& who, const std::function<Status(WriteContext&)>& body);

    /// Recomputes the whole hash chain and checks it against the stored head.
    Result<AuditVerification> verifyAudit();

  private:
    Store(Connection db, std::filesystem::path path, OpenReport report, Clock clock)
        : m_db(std::move(db)),
          m_path(std::move(path)),
          m_report(report),
          m_clock(std::move(clock)) {}

    Connection m_db;
    std::filesystem::path m_path;
    OpenReport m_report;
    Clock m_clock;
};

/// SHA-256 of `data` as 64 lowercase hex digits (the audit chain's and the approvals' hash).
std::string sha256Hex(std::string_view data);

/// The default database: $NEUROPLAN_DB if set, else $XDG_DATA_HOME/neuroplan/neuroplan.db,
/// else ~/.local/share/neuroplan/neuroplan.db. The app and the CLI share it.
std::filesystem::path defaultDatabasePath();

}  // namespace neuroplan::store
