// journal_bench — the session journal's sustained durable rate against SQLite's own batched
// insert rate measured in the same run (issue 7 target: the journal at least half of SQLite's).
// A program that prints figures, not a test.
//
// One clinic database in a temp dir (WAL, synchronous=FULL, foreign keys: what Store::open
// sets), one rTMS patient with an approved iTBS course, and a fresh checked-in session for each
// measurement. Each of N repetitions runs, one after the other so that both see the same load:
//   (b) the Journal: a producer appends device-log-like events (train_started/train_finished,
//       increasing device_offset) as fast as it can, then flush(); rate = events / (first
//       append until flush returned and every event is committed). Also batches, mean batch
//       size, append() latency p99 and max (append must never wait for the disk).
//   (a) floor: the same rows inserted into session_events (another session) through SQLite's
//       C API — one prepared INSERT, transactions of the mean batch size (b) just used, on a
//       connection with the same pragmas; events/s and p99 of the per-batch commit latency.
// Then the latency of Journal::commit() (one event, urgent: what a state transition costs),
// and the table: medians, the ratio journal/SQLite against the 0.5 target, PASS or FAIL.
//
// Usage: journal_bench [--events N] [--runs R] [--group-commit-ms M]   (docs/performance.md)
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "courses/courses.h"
#include "protocols/library.h"
#include "records/patients.h"
#include "sessions/journal.h"
#include "sessions/service.h"
#include "support.h"

namespace {

namespace ses = neuroplan::sessions;
using Clock = std::chrono::steady_clock;
using neuroplan::testing::TestClinic;

const char* const kInsert =
    "INSERT INTO session_events (session_id, seq, source, kind, device_offset, device_time_us, "
    "wall_utc, pulses, trains, output, detail, user_id, recovered) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

double micros(Clock::duration d) {
    return std::chrono::duration<double, std::micro>(d).count();
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) {
        return 0;
    }
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(rank, values.size() - 1)];
}

std::string loadAverage() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "journal_bench: %s\nusage: journal_bench [--events N] [--runs R] "
                 "[--group-commit-ms M]\n",
                 why);
    std::exit(2);
}

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "journal_bench: %s\n", what.c_str());
    std::exit(1);
}

template <class T>
T must(neuroplan::Result<T> result, const char* doing) {
    if (!result) {
        fail(std::string(doing) + ": " + result.error().describe());
    }
    return std::move(result).value();
}

/// What a device's log holds during an iTBS session: a train_started and a train_finished per
/// train of 30 pulses, with the device's counters. wall_utc is left empty (append() sets it)
/// unless `wallUtc` is given.
std::vector<ses::JournalEvent> deviceEvents(int count, const std::string& wallUtc) {
    std::vector<ses::JournalEvent> events;
    events.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        const std::int64_t train = i / 2;
        const bool finished = i % 2 == 1;
        ses::JournalEvent e;
        e.source = "device";
        e.kind = finished ? "train_finished" : "train_started";
        e.deviceOffset = i;
        e.deviceTimeUs = std::int64_t{i} * 5000;
        e.pulses = (train + (finished ? 1 : 0)) * 30;
        e.trains = train + (finished ? 1 : 0);
        e.output = 52.0;
        e.detail = finished ? "train " + std::to_string(train + 1) + ": 30 pulses at 52.0 %"
                            : "train " + std::to_string(train + 1) + " at 52.0 %";
        e.wallUtc = wallUtc;
        events.push_back(std::move(e));
    }
    return events;
}

/// The clinic: a patient with an approved iTBS course; checkIn() makes a fresh session each time.
struct Clinic {
    TestClinic clinic;
    std::int64_t versionId = 0;

    Clinic() {
        auto& store = *clinic.store;
        const std::string today = neuroplan::formatUtc(store.clock()()).substr(0, 10);
        must(neuroplan::records::PatientService(store).add(
                 clinic.technician, {"BENCH-1", "Bench", "Bea", "1980-01-01", "female"}),
             "add patient");
        neuroplan::courses::CourseService courses(store);
        must(courses.recordMotorThreshold(
                 clinic.technician, "BENCH-1",
                 {today, 50, "emg_relative_frequency", "MagPro", "Cool-B65"}),
             "record motor threshold");
        auto course =
            must(courses.createCourse(clinic.technician, "BENCH-1", "rTMS", "rtms"), "add course");
        const auto* itbs = neuroplan::protocols::Library::builtIn().findTemplate("itbs-left-dlpfc");
        if (itbs == nullptr) {
            fail("the itbs-left-dlpfc template is missing");
        }
        auto version = must(courses.saveProtocol(clinic.technician, course.id, itbs->protocol),
                            "save protocol");
        must(courses.approve(clinic.physician, version.id, true, ""), "approve protocol");
        versionId = version.id;
    }

    std::int64_t newSession() {
        ses::SessionService service(*clinic.store);
        return must(service.checkIn(clinic.technician, "BENCH-1", versionId, "127.0.0.1:1"),
                    "check in")
            .id;
    }
};

struct JournalRun {
    double seconds = 0;
    double rate = 0;
    std::uint64_t batches = 0;
    double meanBatch = 0;
    double appendP99Us = 0;
    double appendMaxUs = 0;
    bool flushEarly = false;  ///< flush() returned before every event was committed
};

JournalRun runJournal(Clinic& c, int count, std::chrono::milliseconds groupCommit) {
    const std::int64_t session = c.newSession();
    auto journal = must(ses::Journal::open(c.clinic.dbPath(), session,
                                           {groupCommit, c.clinic.technician.auditIdentity()}),
                        "open journal");
    std::vector<ses::JournalEvent> events = deviceEvents(count, "");
    std::vector<double> appendUs(events.size());
    const auto start = Clock::now();
    for (std::size_t i = 0; i < events.size(); ++i) {
        const auto before = Clock::now();
        if (!journal->append(std::move(events[i]))) {
            fail("append refused a new device offset");
        }
        appendUs[i] = micros(Clock::now() - before);
    }
    if (auto flushed = journal->flush(); !flushed) {
        fail("flush: " + flushed.error().describe());
    }
    auto end = Clock::now();
    JournalRun run;
    // The rate must be a durable rate. flush() returns at once when the queue is empty, even
    // while the committer still writes the batch it took; if that happened, wait for the
    // batch here and say so.
    while (journal->stats().events < static_cast<std::uint64_t>(count)) {
        run.flushEarly = true;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        end = Clock::now();
    }
    const ses::JournalStats stats = journal->stats();
    run.seconds = seconds(end - start);
    run.rate = count / run.seconds;
    run.batches = stats.batches;
    run.meanBatch = static_cast<double>(stats.events) / static_cast<double>(stats.batches);
    run.appendP99Us = percentile(appendUs, 0.99);
    run.appendMaxUs = *std::max_element(appendUs.begin(), appendUs.end());
    return run;
}

struct FloorRun {
    double rate = 0;
    double commitP99Ms = 0;
};

void exec(sqlite3* db, const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        const std::string text = message != nullptr ? message : "?";
        sqlite3_free(message);
        fail(std::string(sql) + ": " + text);
    }
}

/// SQLite alone: the same rows, one prepared statement, `batch` rows per transaction.
FloorRun runFloor(Clinic& c, int count, int batch) {
    const std::int64_t session = c.newSession();
    const std::vector<ses::JournalEvent> events =
        deviceEvents(count, neuroplan::formatUtc(c.clinic.store->clock()()));
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(c.clinic.dbPath().c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) !=
        SQLITE_OK) {
        fail("open the database for the floor");
    }
    exec(db, "PRAGMA journal_mode=WAL");
    exec(db, "PRAGMA synchronous=FULL");
    exec(db, "PRAGMA foreign_keys=ON");
    exec(db, "PRAGMA busy_timeout=5000");
    sqlite3_stmt* insert = nullptr;
    if (sqlite3_prepare_v3(db, kInsert, -1, SQLITE_PREPARE_PERSISTENT, &insert, nullptr) !=
        SQLITE_OK) {
        fail(std::string("prepare: ") + sqlite3_errmsg(db));
    }
    // checkIn journaled the session's first event: continue after it, as the journal does.
    auto last = must(
        c.clinic.store->db().prepare("SELECT max(seq) FROM session_events WHERE session_id = ?"),
        "read the last seq");
    last.bindAll(session);
    must(last.step(), "read the last seq");
    std::int64_t seq = last.columnInt(0);
    std::vector<double> commitMs;
    const auto start = Clock::now();
    for (int first = 0; first < count; first += batch) {
        const auto begun = Clock::now();
        exec(db, "BEGIN IMMEDIATE");
        for (int i = first; i < std::min(count, first + batch); ++i) {
            const ses::JournalEvent& e = events[static_cast<std::size_t>(i)];
            sqlite3_bind_int64(insert, 1, session);
            sqlite3_bind_int64(insert, 2, ++seq);
            sqlite3_bind_text(insert, 3, e.source.data(), static_cast<int>(e.source.size()),
                              SQLITE_STATIC);
            sqlite3_bind_text(insert, 4, e.kind.data(), static_cast<int>(e.kind.size()),
                              SQLITE_STATIC);
            sqlite3_bind_int64(insert, 5, *e.deviceOffset);
            sqlite3_bind_int64(insert, 6, *e.deviceTimeUs);
            sqlite3_bind_text(insert, 7, e.wallUtc.data(), static_cast<int>(e.wallUtc.size()),
                              SQLITE_STATIC);
            sqlite3_bind_int64(insert, 8, *e.pulses);
            sqlite3_bind_int64(insert, 9, *e.trains);
            sqlite3_bind_double(insert, 10, *e.output);
            sqlite3_bind_text(insert, 11, e.detail.data(), static_cast<int>(e.detail.size()),
                              SQLITE_STATIC);
            sqlite3_bind_null(insert, 12);
            sqlite3_bind_int(insert, 13, 0);
            if (sqlite3_step(insert) != SQLITE_DONE) {
                fail(std::string("insert: ") + sqlite3_errmsg(db));
            }
            sqlite3_reset(insert);
        }
        exec(db, "COMMIT");
        commitMs.push_back(micros(Clock::now() - begun) / 1000.0);
    }
    const double total = seconds(Clock::now() - start);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    return {count / total, percentile(commitMs, 0.99)};
}

/// Journal::commit() of one event at a time: the latency of a state transition.
std::vector<double> commitLatenciesMs(Clinic& c, int count, std::chrono::milliseconds group) {
    const std::int64_t session = c.newSession();
    auto journal = must(ses::Journal::open(c.clinic.dbPath(), session,
                                           {group, c.clinic.technician.auditIdentity()}),
                        "open journal");
    std::vector<double> ms;
    for (int i = 0; i < count; ++i) {
        ses::JournalEvent e;
        e.source = "system";
        e.kind = "checkpoint";
        e.detail = "bench " + std::to_string(i);
        const auto before = Clock::now();
        if (auto done = journal->commit(std::move(e)); !done) {
            fail("commit: " + done.error().describe());
        }
        ms.push_back(micros(Clock::now() - before) / 1000.0);
    }
    return ms;
}

double median(std::vector<double> values) {
    return percentile(std::move(values), 0.5);
}

}  // namespace

int main(int argc, char** argv) {
    int count = 200000;
    int runs = 5;
    int groupMs = 50;  // sessions-v1.json's group_commit_interval_ms
    for (int i = 1; i < argc; ++i) {
        auto next = [&]() -> int {
            if (i + 1 >= argc) {
                usage("a value is missing");
            }
            const int value = std::atoi(argv[++i]);
            if (value <= 0) {
                usage("values must be positive whole numbers");
            }
            return value;
        };
        if (std::strcmp(argv[i], "--events") == 0) {
            count = next();
        } else if (std::strcmp(argv[i], "--runs") == 0) {
            runs = next();
        } else if (std::strcmp(argv[i], "--group-commit-ms") == 0) {
            groupMs = next();
        } else {
            usage("unknown option");
        }
    }
    const std::chrono::milliseconds group(groupMs);

    std::printf("journal_bench: %d events x %d runs, group commit %d ms, SQLite %s\n", count, runs,
                groupMs, sqlite3_libversion());
    std::printf("load average before: %s\n", loadAverage().c_str());
    Clinic c;
    std::printf("database: %s (WAL, synchronous=FULL)\n\n", c.clinic.dbPath().c_str());

    std::printf("%-4s | %12s %8s %10s %11s %11s | %10s %12s %13s | %6s\n", "run", "journal ev/s",
                "batches", "mean batch", "append p99", "append max", "floor batch", "SQLite ev/s",
                "commit p99", "ratio");
    std::vector<double> journalRates, floorRates, ratios, meanBatches, appendP99s, appendMaxes,
        floorP99s;
    int earlyFlushes = 0;
    for (int r = 1; r <= runs; ++r) {
        const JournalRun j = runJournal(c, count, group);
        const int batch = std::max(1, static_cast<int>(j.meanBatch + 0.5));
        const FloorRun f = runFloor(c, count, batch);
        earlyFlushes += j.flushEarly ? 1 : 0;
        journalRates.push_back(j.rate);
        floorRates.push_back(f.rate);
        ratios.push_back(j.rate / f.rate);
        meanBatches.push_back(j.meanBatch);
        appendP99s.push_back(j.appendP99Us);
        appendMaxes.push_back(j.appendMaxUs);
        floorP99s.push_back(f.commitP99Ms);
        std::printf(
            "%-4d | %12.0f %8llu %10.0f %8.2f us %8.0f us | %11d %12.0f %10.1f ms | %6.3f%s\n", r,
            j.rate, static_cast<unsigned long long>(j.batches), j.meanBatch, j.appendP99Us,
            j.appendMaxUs, batch, f.rate, f.commitP99Ms, j.rate / f.rate,
            j.flushEarly ? "  (flush returned early)" : "");
        std::fflush(stdout);
    }
    const double journalRate = median(journalRates);
    const double floorRate = median(floorRates);
    const double ratio = journalRate / floorRate;
    std::printf("%-4s | %12.0f %8s %10.0f %8.2f us %8.0f us | %11s %12.0f %10.1f ms | %6.3f\n\n",
                "med", journalRate, "", median(meanBatches), median(appendP99s),
                median(appendMaxes), "", floorRate, median(floorP99s), median(ratios));

    const std::vector<double> commitMs = commitLatenciesMs(c, 50, group);
    std::printf(
        "Journal::commit() of one event (a state transition), 50 times: median %.2f ms, "
        "p99 %.2f ms\n",
        median(commitMs), percentile(commitMs, 0.99));
    std::printf("load average after: %s\n\n", loadAverage().c_str());

    std::printf("journal (durable)        %12.0f events/s  (median of %d)\n", journalRate, runs);
    std::printf("SQLite batched insert    %12.0f events/s  (median of %d)\n", floorRate, runs);
    std::printf("journal / SQLite         %12.3f           (target >= 0.5): %s\n", ratio,
                ratio >= 0.5 ? "PASS" : "FAIL");
    std::printf("headroom                 %12.0f x one session's ~1 event/s\n", journalRate);
    if (earlyFlushes > 0) {
        std::printf(
            "note: in %d of %d runs flush() returned before every event was committed "
            "(the rate above waits for them)\n",
            earlyFlushes, runs);
    }
    return 0;
}
