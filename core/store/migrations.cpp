// The schema, as numbered migrations. Append new ones at the end; never edit or renumber a
// migration that has shipped (databases in clinics were built by it).
#include <array>

#include "store/store.h"

namespace neuroplan::store {

namespace {

constexpr std::array kMigrations{
    Migration{1, "users and audit trail", R"sql(
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE CHECK (length(login) BETWEEN 1 AND 64),
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('technician', 'physician', 'admin')),
    password_hash TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_utc   TEXT NOT NULL
);

-- Append-only; each entry's hash covers the previous hash and the entry itself.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at_utc      TEXT NOT NULL,
    user_id     INTEGER,
    user_login  TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    action      TEXT NOT NULL,
    summary     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

-- The newest entry's id and hash, so that deleting the tail of the log is detected too.
CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    last_id   INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
)sql"},
    Migration{2, "patients", R"sql(
CREATE TABLE patients (
    id           INTEGER PRIMARY KEY,
    mrn          TEXT NOT NULL UNIQUE,
    family_name  TEXT NOT NULL,
    given_name   TEXT NOT NULL,
    birth_date   TEXT NOT NULL,
    sex          TEXT NOT NULL CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    created_utc  TEXT NOT NULL,
    updated_utc  TEXT NOT NULL
);
CREATE INDEX patients_by_name ON patients (family_name, given_name);
)sql"},
};

}  // namespace

std::span<const Migration> migrations() {
    return kMigrations;
}

int latestSchemaVersion() {
    return kMigrations.back().version;
}

}  // namespace neuroplan::store
