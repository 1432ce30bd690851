#include "store/sqlite.h"

#include <sqlite3.h>

#include <utility>

namespace neuroplan::store {

Result<Connection> Connection::open(const std::filesystem::path& path, Mode mode) {
    int flags = SQLITE_OPEN_NOMUTEX;
    switch (mode) {
        case Mode::ReadWrite:
            flags |= SQLITE_OPEN_READWRITE;
            break;
        case Mode::ReadWriteCreate:
            flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
            break;
        case Mode::ReadOnly:
            flags |= SQLITE_OPEN_READONLY;
            break;
    }
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close_v2(db);
        return makeError(ErrorCode::Storage, "db",
                         "cannot open '" + path.string() + "': " + message);
    }
    sqlite3_extended_result_codes(db, 1);
    return Connection(db);
}

Connection::Connection(Connection&& other) noexcept : m_db(std::exchange(other.m_db, nullptr)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        sqlite3_close_v2(m_db);
        m_db = std::exchange(other.m_db, nullptr);
    }
    return *this;
}

Connection::~Connection() {
    sqlite3_close_v2(m_db);
}

Error Connection::lastError(std::string_view doing) const {
    const int rc = sqlite3_errcode(m_db);
    const ErrorCode code = (rc & 0xff) == SQLITE_NOTADB       ? ErrorCode::IncompatibleStore
                           : (rc & 0xff) == SQLITE_CONSTRAINT ? ErrorCode::Conflict
                                                              : ErrorCode::Storage;
    return makeError(code, "", std::string(doing) + ": " + sqlite3_errmsg(m_db));
}

Status Connection::exec(std::string_view sql) {
    const std::string text(sql);
    if (sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
        return lastError("running SQL");
    }
    return {};
}

Result<Statement> Connection::prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(m_db, sql.data(), static_cast<int>(sql.size()), 0, &stmt, nullptr) !=
        SQLITE_OK) {
        return lastError("preparing SQL");
    }
    return Statement(m_db, stmt);
}

Result<std::int64_t> Connection::queryInt(std::string_view sql) {
    auto stmt = prepare(sql);
    NP_TRY(stmt);
    auto row = stmt->step();
    NP_TRY(row);
    if (!*row) {
        return makeError(ErrorCode::Internal, "", "query returned no row");
    }
    return stmt->columnInt(0);
}

std::int64_t Connection::lastInsertRowId() const {
    return sqlite3_last_insert_rowid(m_db);
}
int Connection::changes() const {
    return sqlite3_changes(m_db);
}
bool Connection::inTransaction() const {
    return sqlite3_get_autocommit(m_db) == 0;
}

Statement::Statement(Statement&& other) noexcept
    : m_db(other.m_db),
      m_stmt(std::exchange(other.m_stmt, nullptr)),
      m_bindError(other.m_bindError) {}

Statement& Statement::operator=(Statement&& other) noexcept {
    if (this != &other) {
        sqlite3_finalize(m_stmt);
        m_db = other.m_db;
        m_stmt = std::exchange(other.m_stmt, nullptr);
        m_bindError = other.m_bindError;
    }
    return *this;
}

Statement::~Statement() {
    sqlite3_finalize(m_stmt);
}

void Statement::noteBind(int rc) {
    if (rc != SQLITE_OK && m_bindError == 0) {
        m_bindError = rc;
    }
}

Statement& Statement::bind(int index, std::int64_t value) {
    noteBind(sqlite3_bind_int64(m_stmt, index, value));
    return *this;
}

Statement& Statement::bind(int index, double value) {
    noteBind(sqlite3_bind_double(m_stmt, index, value));
    return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
    noteBind(sqlite3_bind_text64(m_stmt, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                 SQLITE_UTF8));
    return *this;
}

Statement& Statement::bindNull(int index) {
    noteBind(sqlite3_bind_null(m_stmt, index));
    return *this;
}

Result<bool> Statement::step() {
    if (m_bindError != 0) {
        return makeError(ErrorCode::Internal, "",
                         std::string("binding a parameter: ") + sqlite3_errstr(m_bindError));
    }
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    const ErrorCode code = (rc & 0xff) == SQLITE_CONSTRAINT ? ErrorCode::Conflict
                           : (rc & 0xff) == SQLITE_NOTADB   ? ErrorCode::IncompatibleStore
                                                            : ErrorCode::Storage;
    return makeError(code, "", sqlite3_errmsg(m_db));
}

Status Statement::run() {
    for (;;) {
        auto row = step();
        NP_TRY(row);
        if (!*row) {
            return {};
        }
    }
}

Status Statement::reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
    m_bindError = 0;
    return {};
}

bool Statement::isNull(int column) const {
    return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}

std::int64_t Statement::columnInt(int column) const {
    return sqlite3_column_int64(m_stmt, column);
}

double Statement::columnDouble(int column) const {
    return sqlite3_column_double(m_stmt, column);
}

std::string Statement::columnText(int column) const {
    const auto* text = sqlite3_column_text(m_stmt, column);
    const int size = sqlite3_column_bytes(m_stmt, column);
    return text ? std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size))
                : std::string();
}

std::optional<std::string> Statement::columnOptionalText(int column) const {
    if (isNull(column)) {
        return std::nullopt;
    }
    return columnText(column);
}

Result<Transaction> Transaction::begin(Connection& db) {
    NP_TRY(db.exec("BEGIN IMMEDIATE"));
    return Transaction(&db);
}

Transaction::Transaction(Transaction&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_done(other.m_done) {}

Transaction::~Transaction() {
    if (m_db != nullptr && !m_done) {
        (void)m_db->exec("ROLLBACK");
    }
}

Status Transaction::commit() {
    NP_TRY(m_db->exec("COMMIT"));
    m_done = true;
    return {};
}

}  // namespace neuroplan::store
