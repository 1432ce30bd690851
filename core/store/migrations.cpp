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
    Migration{3, "eligibility evaluations and physician signatures", R"sql(
-- One row per evaluation; a new evaluation supersedes the patient's earlier ones.
CREATE TABLE eligibility_evaluations (
    id                INTEGER PRIMARY KEY,
    patient_id        INTEGER NOT NULL REFERENCES patients (id),
    evaluated_utc     TEXT NOT NULL,
    evaluated_by      INTEGER NOT NULL REFERENCES users (id),
    rule_set_id       TEXT NOT NULL,
    rule_set_version  TEXT NOT NULL,
    case_json         TEXT NOT NULL,
    result_json       TEXT NOT NULL,
    refractory_status TEXT NOT NULL,
    rtms_decision     TEXT NOT NULL,
    vns_decision      TEXT NOT NULL
);
CREATE INDEX eligibility_by_patient ON eligibility_evaluations (patient_id, id);

-- A physician's signature on one evaluation; a reason is required where it differs.
CREATE TABLE eligibility_signatures (
    id            INTEGER PRIMARY KEY,
    evaluation_id INTEGER NOT NULL UNIQUE REFERENCES eligibility_evaluations (id),
    physician_id  INTEGER NOT NULL REFERENCES users (id),
    signed_utc    TEXT NOT NULL,
    rtms_decision TEXT NOT NULL CHECK (rtms_decision IN ('eligible', 'needs_review', 'not_eligible')),
    vns_decision  TEXT NOT NULL CHECK (vns_decision IN ('eligible', 'needs_review', 'not_eligible')),
    differs       INTEGER NOT NULL CHECK (differs IN (0, 1)),
    reason        TEXT,
    CHECK (differs = 0 OR length(trim(coalesce(reason, ''))) > 0)
);

-- Evaluations and signatures are records of what was decided: never changed, never removed.
CREATE TRIGGER eligibility_evaluations_no_update BEFORE UPDATE ON eligibility_evaluations
BEGIN SELECT RAISE(ABORT, 'eligibility evaluations are immutable'); END;
CREATE TRIGGER eligibility_evaluations_no_delete BEFORE DELETE ON eligibility_evaluations
BEGIN SELECT RAISE(ABORT, 'eligibility evaluations are immutable'); END;
CREATE TRIGGER eligibility_signatures_no_update BEFORE UPDATE ON eligibility_signatures
BEGIN SELECT RAISE(ABORT, 'signed eligibility decisions are immutable'); END;
CREATE TRIGGER eligibility_signatures_no_delete BEFORE DELETE ON eligibility_signatures
BEGIN SELECT RAISE(ABORT, 'signed eligibility decisions are immutable'); END;
)sql"},
    Migration{4, "motor thresholds, courses, versioned protocols and approvals", R"sql(
CREATE TABLE motor_thresholds (
    id                INTEGER PRIMARY KEY,
    patient_id        INTEGER NOT NULL REFERENCES patients (id),
    measured_on       TEXT NOT NULL,
    value_percent_mso REAL NOT NULL CHECK (value_percent_mso > 0 AND value_percent_mso <= 100),
    method            TEXT NOT NULL
                      CHECK (method IN ('emg_relative_frequency', 'adaptive', 'visual')),
    device            TEXT NOT NULL,
    coil              TEXT NOT NULL,
    operator_id       INTEGER NOT NULL REFERENCES users (id),
    recorded_utc      TEXT NOT NULL
);
CREATE INDEX motor_thresholds_by_patient ON motor_thresholds (patient_id, measured_on);

CREATE TABLE courses (
    id          INTEGER PRIMARY KEY,
    patient_id  INTEGER NOT NULL REFERENCES patients (id),
    label       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('rtms', 'vns')),
    created_utc TEXT NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES users (id),
    UNIQUE (patient_id, label)
);

-- Every change is a new version; a version is never edited.
CREATE TABLE protocol_versions (
    id             INTEGER PRIMARY KEY,
    course_id      INTEGER NOT NULL REFERENCES courses (id),
    version        INTEGER NOT NULL CHECK (version >= 1),
    protocol_json  TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    verdict        TEXT NOT NULL CHECK (verdict IN ('ok', 'warning', 'violation', 'invalid')),
    report_json    TEXT NOT NULL,
    created_utc    TEXT NOT NULL,
    created_by     INTEGER NOT NULL REFERENCES users (id),
    UNIQUE (course_id, version)
);

-- A physician's approval of one version, bound to its content hash.
CREATE TABLE protocol_approvals (
    id                    INTEGER PRIMARY KEY,
    protocol_version_id   INTEGER NOT NULL UNIQUE REFERENCES protocol_versions (id),
    physician_id          INTEGER NOT NULL REFERENCES users (id),
    approved_utc          TEXT NOT NULL,
    content_sha256        TEXT NOT NULL,
    verdict_at_approval   TEXT NOT NULL CHECK (verdict_at_approval IN ('ok', 'warning', 'violation')),
    warnings_acknowledged INTEGER NOT NULL CHECK (warnings_acknowledged IN (0, 1)),
    override_reason       TEXT,
    CHECK (verdict_at_approval <> 'violation' OR length(trim(coalesce(override_reason, ''))) > 0),
    CHECK (verdict_at_approval <> 'warning' OR warnings_acknowledged = 1)
);

CREATE TRIGGER protocol_versions_no_update BEFORE UPDATE ON protocol_versions
BEGIN SELECT RAISE(ABORT, 'protocol versions are immutable; save a new version'); END;
CREATE TRIGGER protocol_versions_no_delete BEFORE DELETE ON protocol_versions
BEGIN SELECT RAISE(ABORT, 'protocol versions are immutable'); END;
CREATE TRIGGER protocol_approvals_no_update BEFORE UPDATE ON protocol_approvals
BEGIN SELECT RAISE(ABORT, 'protocol approvals are immutable'); END;
CREATE TRIGGER protocol_approvals_no_delete BEFORE DELETE ON protocol_approvals
BEGIN SELECT RAISE(ABORT, 'protocol approvals are immutable'); END;
CREATE TRIGGER motor_thresholds_no_update BEFORE UPDATE ON motor_thresholds
BEGIN SELECT RAISE(ABORT, 'motor threshold records are immutable; record a new one'); END;
)sql"},
    Migration{5, "VNS titration visits", R"sql(
CREATE TABLE titration_visits (
    id                 INTEGER PRIMARY KEY,
    course_id          INTEGER NOT NULL REFERENCES courses (id),
    visit_on           TEXT NOT NULL,
    current_ma         REAL NOT NULL CHECK (current_ma >= 0),
    tolerated          INTEGER NOT NULL CHECK (tolerated IN (0, 1)),
    lead_impedance_ohm REAL CHECK (lead_impedance_ohm IS NULL OR lead_impedance_ohm > 0),
    note               TEXT,
    recorded_by        INTEGER NOT NULL REFERENCES users (id),
    recorded_utc       TEXT NOT NULL
);
CREATE INDEX titration_visits_by_course ON titration_visits (course_id, visit_on, id);
CREATE TRIGGER titration_visits_no_update BEFORE UPDATE ON titration_visits
BEGIN SELECT RAISE(ABORT, 'titration visits are immutable'); END;
)sql"},
    Migration{6, "symptom scale administrations", R"sql(
CREATE TABLE scale_administrations (
    id               INTEGER PRIMARY KEY,
    patient_id       INTEGER NOT NULL REFERENCES patients (id),
    instrument       TEXT NOT NULL,
    catalog_version  TEXT NOT NULL,
    administered_on  TEXT NOT NULL,
    rater_id         INTEGER NOT NULL REFERENCES users (id),
    context          TEXT NOT NULL CHECK (context IN ('screening', 'baseline', 'weekly',
                                                      'pre_session', 'post_session', 'follow_up')),
    session_number   INTEGER CHECK (session_number IS NULL OR session_number >= 1),
    items_json       TEXT NOT NULL,
    complete         INTEGER NOT NULL CHECK (complete IN (0, 1)),
    total            INTEGER,
    band             TEXT,
    band_set         TEXT,
    alerts_json      TEXT NOT NULL,
    recorded_utc     TEXT NOT NULL,
    CHECK (complete = 1 OR band IS NULL)
);
CREATE INDEX scale_administrations_by_patient
    ON scale_administrations (patient_id, instrument, administered_on, id);
CREATE TRIGGER scale_administrations_no_update BEFORE UPDATE ON scale_administrations
BEGIN SELECT RAISE(ABORT, 'scale administrations are immutable; record a correction'); END;
)sql"},
    Migration{7, "clinic settings", R"sql(
CREATE TABLE clinic_settings (
    key          TEXT PRIMARY KEY,
    value        TEXT NOT NULL,
    updated_utc  TEXT NOT NULL,
    updated_by   INTEGER NOT NULL REFERENCES users (id)
);
)sql"},
    Migration{8, "scheduling: resources, opening hours, closures, plans, appointments, changes",
              R"sql(
-- Devices, rooms and staff a session needs; a device out of service takes no new sessions.
CREATE TABLE schedule_devices (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE CHECK (length(trim(name)) BETWEEN 1 AND 64),
    kind           TEXT NOT NULL CHECK (kind IN ('rtms', 'vns')),
    model          TEXT NOT NULL,
    serial         TEXT NOT NULL UNIQUE,
    coils_json     TEXT NOT NULL,
    in_service     INTEGER NOT NULL DEFAULT 1 CHECK (in_service IN (0, 1)),
    created_utc    TEXT NOT NULL
);
CREATE TABLE schedule_rooms (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE CHECK (length(trim(name)) BETWEEN 1 AND 64),
    created_utc TEXT NOT NULL
);
CREATE TABLE schedule_staff (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 32),
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('technician', 'nurse', 'physician')),
    created_utc  TEXT NOT NULL
);
-- Working hours (staff_id set) and clinic opening hours (staff_id NULL), in local minutes.
CREATE TABLE schedule_hours (
    id        INTEGER PRIMARY KEY,
    staff_id  INTEGER REFERENCES schedule_staff (id),
    weekday   INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_min INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1440),
    end_min   INTEGER NOT NULL CHECK (end_min BETWEEN 0 AND 1440),
    CHECK (start_min < end_min)
);
CREATE UNIQUE INDEX schedule_hours_one_range ON schedule_hours (coalesce(staff_id, 0), weekday);
-- Whole days the clinic is closed (public holidays imported from iCalendar, closures).
CREATE TABLE schedule_closures (
    id          INTEGER PRIMARY KEY,
    on_date     TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL,
    uid         TEXT NOT NULL,
    created_utc TEXT NOT NULL
);
-- What a course was planned with: fixed at planning time.
CREATE TABLE schedule_plans (
    course_id           INTEGER PRIMARY KEY REFERENCES courses (id),
    protocol_version_id INTEGER NOT NULL REFERENCES protocol_versions (id),
    rules_json          TEXT NOT NULL,
    start_date          TEXT NOT NULL,
    planned_end_date    TEXT NOT NULL,
    time_zone           TEXT NOT NULL,
    created_utc         TEXT NOT NULL,
    created_by          INTEGER NOT NULL REFERENCES users (id)
);
-- One row per session: clinic-local date and minute with the zone name; UTC minutes for
-- conflicts. Status changes and moves update the row; schedule_changes keeps the history.
CREATE TABLE schedule_appointments (
    id            INTEGER PRIMARY KEY,
    course_id     INTEGER NOT NULL REFERENCES schedule_plans (course_id),
    patient_id    INTEGER NOT NULL REFERENCES patients (id),
    local_date    TEXT NOT NULL,
    local_start   INTEGER NOT NULL CHECK (local_start BETWEEN 0 AND 1439),
    duration_min  INTEGER NOT NULL CHECK (duration_min > 0),
    time_zone     TEXT NOT NULL,
    start_utc_min INTEGER NOT NULL,
    end_utc_min   INTEGER NOT NULL CHECK (end_utc_min > start_utc_min),
    device_id     INTEGER NOT NULL REFERENCES schedule_devices (id),
    room_id       INTEGER NOT NULL REFERENCES schedule_rooms (id),
    staff_id      INTEGER NOT NULL REFERENCES schedule_staff (id),
    status        TEXT NOT NULL CHECK (status IN ('scheduled', 'checked_in', 'missed', 'cancelled')),
    phase         TEXT NOT NULL,
    replaces_id   INTEGER REFERENCES schedule_appointments (id),
    checked_in_utc TEXT,
    created_utc   TEXT NOT NULL
);
CREATE INDEX schedule_appointments_by_time ON schedule_appointments (local_date, local_start);
CREATE INDEX schedule_appointments_by_course ON schedule_appointments (course_id, start_utc_min);
CREATE INDEX schedule_appointments_by_end ON schedule_appointments (end_utc_min);
CREATE TRIGGER schedule_appointments_no_delete BEFORE DELETE ON schedule_appointments
BEGIN SELECT RAISE(ABORT, 'appointments are kept; cancel them instead'); END;
-- Every change to the schedule, with its reason.
CREATE TABLE schedule_changes (
    id             INTEGER PRIMARY KEY,
    at_utc         TEXT NOT NULL,
    user_id        INTEGER NOT NULL REFERENCES users (id),
    action         TEXT NOT NULL CHECK (action IN ('plan', 'move', 'cancel', 'missed', 'replace',
                                                   'check_in', 'reassign', 'device_out',
                                                   'device_in')),
    appointment_id INTEGER REFERENCES schedule_appointments (id),
    course_id      INTEGER REFERENCES courses (id),
    device_id      INTEGER REFERENCES schedule_devices (id),
    reason         TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    before_json    TEXT,
    after_json     TEXT
);
CREATE INDEX schedule_changes_by_appointment ON schedule_changes (appointment_id);
CREATE TRIGGER schedule_changes_no_update BEFORE UPDATE ON schedule_changes
BEGIN SELECT RAISE(ABORT, 'schedule changes are history'); END;
CREATE TRIGGER schedule_changes_no_delete BEFORE DELETE ON schedule_changes
BEGIN SELECT RAISE(ABORT, 'schedule changes are history'); END;
)sql"},
    Migration{9, "treatment sessions: journal, adverse events, course review flags", R"sql(
-- One treatment session: what was to be delivered (the approved version, its hash and the
-- device parameters sent), on which device, and how it ended. The row changes while the
-- session runs; once it has ended (completed, stopped_early, aborted) it is frozen.
CREATE TABLE sessions (
    id                  INTEGER PRIMARY KEY,
    patient_id          INTEGER NOT NULL REFERENCES patients (id),
    course_id           INTEGER NOT NULL REFERENCES courses (id),
    protocol_version_id INTEGER NOT NULL REFERENCES protocol_versions (id),
    content_sha256      TEXT NOT NULL CHECK (length(content_sha256) = 64),
    appointment_id      INTEGER REFERENCES schedule_appointments (id),
    kind                TEXT NOT NULL CHECK (kind IN ('rtms', 'vns')),
    device_address      TEXT NOT NULL,
    device_serial       TEXT,
    device_model        TEXT,
    load_offset         INTEGER,
    parameters_json     TEXT NOT NULL,
    pulses_planned      INTEGER NOT NULL CHECK (pulses_planned >= 0),
    motor_threshold_id  INTEGER REFERENCES motor_thresholds (id),
    operator_id         INTEGER NOT NULL REFERENCES users (id),
    status              TEXT NOT NULL CHECK (status IN ('scheduled', 'checked_in', 'ready',
                            'running', 'paused', 'completed', 'stopped_early', 'aborted',
                            'interrupted')),
    status_reason       TEXT,
    stop_request        TEXT,
    created_utc         TEXT NOT NULL,
    started_utc         TEXT,
    ended_utc           TEXT,
    device_pulses       INTEGER,
    logged_pulses       INTEGER,
    reconciled_utc      TEXT,
    reconciliation      TEXT
);
CREATE INDEX sessions_by_course ON sessions (course_id, id);
CREATE INDEX sessions_by_status ON sessions (status);
CREATE TRIGGER sessions_frozen BEFORE UPDATE ON sessions
WHEN OLD.status IN ('completed', 'stopped_early', 'aborted')
BEGIN SELECT RAISE(ABORT, 'an ended session is a record and cannot change'); END;
CREATE TRIGGER sessions_no_delete BEFORE DELETE ON sessions
BEGIN SELECT RAISE(ABORT, 'sessions are records and are kept'); END;
-- The journal: every device event (from the device's own log, by offset) and every operator
-- or system action, appended in group commits. seq counts from 1 per session without gaps;
-- a device log entry is journaled at most once per session.
CREATE TABLE session_events (
    id             INTEGER PRIMARY KEY,
    session_id     INTEGER NOT NULL REFERENCES sessions (id),
    seq            INTEGER NOT NULL CHECK (seq >= 1),
    source         TEXT NOT NULL CHECK (source IN ('device', 'operator', 'system')),
    kind           TEXT NOT NULL,
    device_offset  INTEGER,
    device_time_us INTEGER,
    wall_utc       TEXT NOT NULL,
    pulses         INTEGER,
    trains         INTEGER,
    output         REAL,
    detail         TEXT NOT NULL DEFAULT '',
    user_id        INTEGER REFERENCES users (id),
    recovered      INTEGER NOT NULL DEFAULT 0 CHECK (recovered IN (0, 1)),
    UNIQUE (session_id, seq),
    UNIQUE (session_id, device_offset),
    CHECK ((source = 'device') = (device_offset IS NOT NULL))
);
CREATE TRIGGER session_events_no_update BEFORE UPDATE ON session_events
BEGIN SELECT RAISE(ABORT, 'the session journal is append-only'); END;
CREATE TRIGGER session_events_no_delete BEFORE DELETE ON session_events
BEGIN SELECT RAISE(ABORT, 'the session journal is append-only'); END;
CREATE TABLE session_adverse_events (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES sessions (id),
    type         TEXT NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('mild', 'moderate', 'severe')),
    action_taken TEXT NOT NULL CHECK (length(trim(action_taken)) > 0),
    note         TEXT NOT NULL DEFAULT '',
    stopped_session INTEGER NOT NULL CHECK (stopped_session IN (0, 1)),
    recorded_utc TEXT NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id)
);
CREATE INDEX session_adverse_events_by_session ON session_adverse_events (session_id);
CREATE TRIGGER session_adverse_events_no_update BEFORE UPDATE ON session_adverse_events
BEGIN SELECT RAISE(ABORT, 'adverse events are records; record a correction instead'); END;
CREATE TRIGGER session_adverse_events_no_delete BEFORE DELETE ON session_adverse_events
BEGIN SELECT RAISE(ABORT, 'adverse events are records'); END;
-- A course a physician must review before its next session (e.g. after a seizure).
CREATE TABLE course_review_flags (
    id           INTEGER PRIMARY KEY,
    course_id    INTEGER NOT NULL REFERENCES courses (id),
    session_id   INTEGER REFERENCES sessions (id),
    reason       TEXT NOT NULL,
    flagged_utc  TEXT NOT NULL,
    cleared_utc  TEXT,
    cleared_by   INTEGER REFERENCES users (id),
    clear_note   TEXT
);
CREATE INDEX course_review_flags_by_course ON course_review_flags (course_id);
CREATE TRIGGER course_review_flags_kept BEFORE DELETE ON course_review_flags
BEGIN SELECT RAISE(ABORT, 'review flags are records'); END;
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
