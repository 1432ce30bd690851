#include "store/store.h"

#include <sodium.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <system_error>

namespace neuroplan::store {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct AuditRow {
    std::int64_t id = 0;
    std::string atUtc;
    std::optional<std::int64_t> userId;
    std::string userLogin;
    std::string entity;
    std::string entityId;
    std::string action;
    std::string summary;
    std::string prevHash;
};

/// The hash of an entry: SHA-256 over a canonical JSON array of every stored field, the
/// previous entry's hash included.
std::string entryHash(const AuditRow& row) {
    const json canonical = json::array(
        {row.id, row.atUtc, row.userId ? json(*row.userId) : json(nullptr), row.userLogin,
         row.entity, row.entityId, row.action, row.summary, row.prevHash});
    return sha256Hex(canonical.dump());
}

Error notOurs(const fs::path& path, const std::string& why) {
    return makeError(
        ErrorCode::IncompatibleStore, "db",
        "'" + path.string() + "' is not a NeuroPlan database (" + why + "); it was left untouched");
}

}  // namespace

std::string sha256Hex(std::string_view data) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return hex;
}

const char* toString(OpenOutcome outcome) {
    switch (outcome) {
        case OpenOutcome::Created:
            return "created";
        case OpenOutcome::Current:
            return "current";
        case OpenOutcome::Upgraded:
            return "upgraded";
    }
    return "current";
}

Status WriteContext::audit(std::string_view entity, std::string_view entityId,
                           std::string_view action, const json& before, const json& after) {
    auto head = m_db.prepare("SELECT last_id, last_hash FROM audit_head WHERE id = 1");
    NP_TRY(head);
    auto found = head->step();
    NP_TRY(found);
    if (!*found) {
        return makeError(ErrorCode::Internal, "", "the audit head row is missing");
    }
    AuditRow row;
    row.id = head->columnInt(0) + 1;
    row.prevHash = head->columnText(1);
    row.atUtc = formatUtc(m_at);
    row.userId = m_who.userId;
    row.userLogin = m_who.login;
    row.entity = entity;
    row.entityId = entityId;
    row.action = action;
    row.summary = json{{"before", before}, {"after", after}}.dump();
    const std::string hash = entryHash(row);

    auto insert = m_db.prepare(
        "INSERT INTO audit_log (id, at_utc, user_id, user_login, entity, entity_id, action, "
        "summary, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    NP_TRY(insert);
    insert->bindAll(row.id, row.atUtc, row.userId, row.userLogin, row.entity, row.entityId,
                    row.action, row.summary, row.prevHash, hash);
    NP_TRY(insert->run());

    auto update = m_db.prepare("UPDATE audit_head SET last_id = ?, last_hash = ? WHERE id = 1");
    NP_TRY(update);
    update->bindAll(row.id, hash);
    NP_TRY(update->run());
    ++m_entries;
    return {};
}

Result<Store> Store::open(const fs::path& path, OpenOptions options) {
    if (sodium_init() < 0) {
        return makeError(ErrorCode::Internal, "", "libsodium failed to initialise");
    }
    std::error_code ec;
    const bool exists = fs::exists(path, ec);
    if (!exists) {
        const fs::path parent = path.parent_path();
        if (!parent.empty() && !fs::is_directory(parent, ec)) {
            return makeError(ErrorCode::InvalidInput, "db",
                             "directory '" + parent.string() + "' does not exist");
        }
        if (!options.createIfMissing) {
            return makeError(ErrorCode::NotFound, "db", "no database at '" + path.string() + "'");
        }
    } else if (!fs::is_regular_file(path, ec)) {
        return makeError(ErrorCode::InvalidInput, "db", "'" + path.string() + "' is not a file");
    }

    auto opened = Connection::open(
        path, exists ? Connection::Mode::ReadWrite : Connection::Mode::ReadWriteCreate);
    NP_TRY(opened);
    Connection db = std::move(opened).value();
    NP_TRY(db.exec("PRAGMA busy_timeout = 5000"));  // per connection; writes nothing

    // Inspect with reads only: a file we refuse must be left exactly as it was.
    auto appId = db.queryInt("PRAGMA application_id");
    if (!appId) {
        if (appId.error().code == ErrorCode::IncompatibleStore) {
            return notOurs(path, "not an SQLite file");
        }
        return appId.error();
    }
    auto version = db.queryInt("PRAGMA user_version");
    NP_TRY(version);
    auto objects = db.queryInt("SELECT count(*) FROM sqlite_master");
    NP_TRY(objects);
    const bool empty = *appId == 0 && *version == 0 && *objects == 0;
    if (!empty && *appId != kApplicationId) {
        char id[16];
        std::snprintf(id, sizeof id, "0x%08llx", static_cast<unsigned long long>(*appId));
        return notOurs(path, std::string("application id ") + id);
    }
    const int latest = latestSchemaVersion();
    if (*version > latest) {
        return makeError(ErrorCode::IncompatibleStore, "db",
                         "'" + path.string() + "' has schema version " + std::to_string(*version) +
                             ", newer than this NeuroPlan supports (" + std::to_string(latest) +
                             "); use a newer NeuroPlan. The file was left untouched");
    }

    NP_TRY(db.exec("PRAGMA journal_mode = WAL"));
    NP_TRY(db.exec("PRAGMA synchronous = FULL"));  // clinical records: durable at commit
    NP_TRY(db.exec("PRAGMA foreign_keys = ON"));

    OpenReport report;
    report.fromVersion = static_cast<int>(*version);
    const int target = options.targetVersion > 0 ? options.targetVersion : latest;
    int applied = 0;
    for (const Migration& migration : migrations()) {
        if (migration.version <= report.fromVersion || migration.version > target) {
            continue;
        }
        auto tx = Transaction::begin(db);
        NP_TRY(tx);
        auto now = db.queryInt("PRAGMA user_version");  // another process may have won
        NP_TRY(now);
        if (*now >= migration.version) {
            continue;
        }
        NP_TRY(db.exec(migration.sql));
        if (migration.version == 1) {
            NP_TRY(db.exec("PRAGMA application_id = " + std::to_string(kApplicationId)));
        }
        // PRAGMA takes no bound parameters; the number is ours, not outside input.
        NP_TRY(db.exec("PRAGMA user_version = " + std::to_string(migration.version)));
        WriteContext context(db, AuditIdentity{std::nullopt, "system"}, options.clock());
        NP_TRY(context.audit("schema", std::to_string(migration.version), "migrate", nullptr,
                             json{{"version", migration.version}, {"name", migration.name}}));
        NP_TRY(tx->commit());
        ++applied;
    }
    auto finalVersion = db.queryInt("PRAGMA user_version");
    NP_TRY(finalVersion);
    report.toVersion = static_cast<int>(*finalVersion);
    report.outcome = report.fromVersion == 0 && applied > 0 ? OpenOutcome::Created
                     : applied > 0                          ? OpenOutcome::Upgraded
                                                            : OpenOutcome::Current;
    return Store(std::move(db), path, report, std::move(options.clock));
}

Status Store::write(const AuditIdentity& who, const std::function<Status(WriteContext&)>& body) {
    auto tx = Transaction::begin(m_db);
    NP_TRY(tx);
    WriteContext context(m_db, who, m_clock());
    NP_TRY(body(context));
    if (context.auditEntries() == 0) {
        return makeError(ErrorCode::Internal, "",
                         "a write without an audit entry was rolled back (a bug)");
    }
    return tx->commit();
}

Result<AuditVerification> Store::verifyAudit() {
    AuditVerification result;
    const auto broken = [&](std::int64_t id, std::string problem) {
        result.intact = false;
        result.firstBrokenId = id;
        result.problem = std::move(problem);
        return result;
    };

    auto rows = m_db.prepare(
        "SELECT id, at_utc, user_id, user_login, entity, entity_id, action, summary, prev_hash, "
        "hash FROM audit_log ORDER BY id");
    NP_TRY(rows);
    std::string expectedPrev(kGenesisHash);
    std::int64_t expectedId = 1;
    for (;;) {
        auto more = rows->step();
        NP_TRY(more);
        if (!*more) {
            break;
        }
        AuditRow row;
        row.id = rows->columnInt(0);
        row.atUtc = rows->columnText(1);
        if (!rows->isNull(2)) {
            row.userId = rows->columnInt(2);
        }
        row.userLogin = rows->columnText(3);
        row.entity = rows->columnText(4);
        row.entityId = rows->columnText(5);
        row.action = rows->columnText(6);
        row.summary = rows->columnText(7);
        row.prevHash = rows->columnText(8);
        const std::string stored = rows->columnText(9);
        ++result.entries;

        if (row.id != expectedId) {
            return broken(row.id, "entries " + std::to_string(expectedId) + " to " +
                                      std::to_string(row.id - 1) + " are missing");
        }
        if (row.prevHash != expectedPrev) {
            return broken(row.id, "its link to the previous entry does not match");
        }
        if (entryHash(row) != stored) {
            return broken(row.id, "its contents do not match its hash (the entry was altered)");
        }
        expectedPrev = stored;
        ++expectedId;
    }

    auto head = m_db.prepare("SELECT last_id, last_hash FROM audit_head WHERE id = 1");
    NP_TRY(head);
    auto found = head->step();
    NP_TRY(found);
    if (!*found) {
        return broken(expectedId, "the audit head record is missing");
    }
    const std::int64_t lastId = head->columnInt(0);
    if (lastId != expectedId - 1 || head->columnText(1) != expectedPrev) {
        if (lastId >= expectedId) {
            return broken(expectedId, "entries " + std::to_string(expectedId) + " to " +
                                          std::to_string(lastId) + " were deleted");
        }
        return broken(lastId + 1, "the audit head does not match the newest entry");
    }
    return result;
}

fs::path defaultDatabasePath() {
    if (const char* explicitPath = std::getenv("NEUROPLAN_DB"); explicitPath && *explicitPath) {
        return explicitPath;
    }
    fs::path base;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
        base = xdg;
    } else if (const char* home = std::getenv("HOME"); home && *home) {
        base = fs::path(home) / ".local" / "share";
    } else {
        base = fs::current_path();
    }
    return base / "neuroplan" / "neuroplan.db";
}

}  // namespace neuroplan::store
