// neuroplan::store — thin move-only RAII handles over SQLite: a connection, a prepared
// statement with bound parameters, and a transaction that rolls back unless committed.
// SQL text is always constant; values only ever reach SQLite through bind().
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace neuroplan::store {

class Statement;

class Connection {
  public:
    enum class Mode { ReadWrite, ReadWriteCreate, ReadOnly };

    /// Opens the file without running any statement on it.
    static Result<Connection> open(const std::filesystem::path& path, Mode mode);

    Connection(Connection&& other) noexcept;
    Connection& operator=(Connection&& other) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    /// Runs constant SQL with no parameters (DDL, PRAGMA, BEGIN/COMMIT).
    Status exec(std::string_view sql);
    Result<Statement> prepare(std::string_view sql);

    /// Runs a single-value query (e.g. a PRAGMA) and returns the integer.
    Result<std::int64_t> queryInt(std::string_view sql);

    std::int64_t lastInsertRowId() const;
    int changes() const;
    bool inTransaction() const;
    sqlite3* handle() const { return m_db; }

    /// An Error from the connection's last failure, naming what we were doing.
    Error lastError(std::string_view doing) const;

  private:
    explicit Connection(sqlite3* db) : m_db(db) {}
    sqlite3* m_db = nullptr;
};

class Statement {
  public:
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    /// Binds a value to 1-based parameter `index`. Failures are remembered and reported by
    /// the next step().
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, long long value) {
        return bind(index, static_cast<std::int64_t>(value));
    }
    Statement& bind(int index, double value);
    Statement& bind(int index, std::string_view value);
    Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
    Statement& bind(int index, const std::string& value) {
        return bind(index, std::string_view(value));
    }
    Statement& bindNull(int index);
    template <class T>
    Statement& bind(int index, const std::optional<T>& value) {
        return value ? bind(index, *value) : bindNull(index);
    }

    /// Binds every argument in order, from parameter 1.
    template <class... Args>
    Statement& bindAll(const Args&... args) {
        int index = 0;
        (bind(++index, args), ...);
        return *this;
    }

    /// Advances; true when a row is ready, false when done.
    Result<bool> step();
    /// Steps to completion, for statements that return no rows.
    Status run();
    Status reset();

    bool isNull(int column) const;
    std::int64_t columnInt(int column) const;
    double columnDouble(int column) const;
    std::string columnText(int column) const;
    std::optional<std::string> columnOptionalText(int column) const;

  private:
    friend class Connection;
    Statement(sqlite3* db, sqlite3_stmt* stmt) : m_db(db), m_stmt(stmt) {}
    void noteBind(int rc);

    sqlite3* m_db = nullptr;
    sqlite3_stmt* m_stmt = nullptr;
    int m_bindError = 0;
};

/// BEGIN IMMEDIATE on construction (so a writer never upgrades a read lock and deadlocks);
/// rolls back on destruction unless commit() succeeded.
class Transaction {
  public:
    static Result<Transaction> begin(Connection& db);
    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();

    Status commit();

  private:
    explicit Transaction(Connection* db) : m_db(db) {}
    Connection* m_db = nullptr;
    bool m_done = false;
};

}  // namespace neuroplan::store
