// neuroplan::sessions — the session journal: an append-only log of every device event and
// every operator and system action of one session, made durable by group commit.
//
// Events are queued from any thread and committed by the journal's own thread in one
// transaction per batch (its own SQLite connection; WAL, synchronous=FULL), at the latest
// `groupCommit` after the first event of the batch was queued. A transition is committed with
// commit(), which waits until its batch is durable. A crash loses at most the batch not yet
// committed; device events are then read again from the device's own log (by offset), and an
// offset already journaled is never journaled twice. Every batch appends one audit entry with
// the SHA-256 of the rows it wrote.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "base/time.h"
#include "device/framing.h"
#include "store/store.h"

namespace neuroplan::sessions {

struct JournalEvent {
    std::string source;  ///< device | operator | system
    std::string kind;    ///< device: the device log's event; else the action (start, pause, ...)
    std::optional<std::int64_t> deviceOffset;  ///< device events: the device log offset
    std::optional<std::int64_t> deviceTimeUs;
    std::optional<std::int64_t> pulses;  ///< the device's counters at that moment
    std::optional<std::int64_t> trains;
    std::optional<double> output;
    std::string detail;
    std::optional<std::int64_t> userId;
    bool recovered = false;  ///< filled from the device log after a crash or a link loss
    std::string wallUtc;     ///< set when queued if empty
};

/// A device log entry as a journal event.
JournalEvent fromDeviceLog(const device::pb::LogEntry& entry, bool recovered);

/// A journaled event as stored (for show, tests and recovery).
struct StoredEvent {
    std::int64_t seq = 0;
    JournalEvent event;
};
nlohmann::json toJson(const StoredEvent& stored);
/// The session's journal, oldest first.
Result<std::vector<StoredEvent>> readJournal(store::Connection& db, std::int64_t sessionId);

struct JournalOptions {
    std::chrono::milliseconds groupCommit{50};
    store::AuditIdentity who;
};

struct JournalStats {
    std::uint64_t events = 0;      ///< committed
    std::uint64_t batches = 0;     ///< committed transactions
    std::uint64_t duplicates = 0;  ///< device entries dropped because already journaled
    std::uint64_t failures = 0;    ///< batches that failed and were retried
};

class Journal {
  public:
    /// Opens a connection of its own to the database and starts the committing thread.
    static Result<std::unique_ptr<Journal>> open(const std::filesystem::path& database,
                                                 std::int64_t sessionId, JournalOptions options);
    ~Journal();  ///< commits what is queued, then stops
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;

    /// Queues an event for the next batch. A device event whose offset is already journaled
    /// (or queued) is dropped and false returned.
    bool append(JournalEvent event);
    /// Queues `event` and waits until it is committed; `alsoDo` runs in the same transaction
    /// (e.g. the session row's new status), so the record never shows one without the other.
    Status commit(JournalEvent event, std::function<Status(store::WriteContext&)> alsoDo = nullptr);
    /// Waits until everything queued so far is committed.
    Status flush();

    /// One past the last device log offset journaled or queued (0: none yet).
    std::uint64_t nextDeviceOffset() const;
    JournalStats stats() const;
    std::int64_t sessionId() const { return m_session; }

  private:
    struct Item {
        JournalEvent event;
        std::function<Status(store::WriteContext&)> alsoDo;
        std::shared_ptr<std::promise<Status>> done;
    };
    Journal(store::Store store, std::int64_t sessionId, JournalOptions options,
            std::uint64_t nextOffset);
    void run();
    Status commitBatch(std::vector<Item>& batch);
    std::future<Status> enqueue(Item item, bool urgent);

    store::Store m_store;
    std::int64_t m_session;
    JournalOptions m_options;
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::vector<Item> m_queue;
    std::chrono::steady_clock::time_point m_firstQueued;
    bool m_urgent = false;
    bool m_committing = false;  ///< the committer holds a batch taken from m_queue
    bool m_stop = false;
    std::uint64_t m_nextOffset = 0;
    JournalStats m_stats;
    std::thread m_thread;
};

}  // namespace neuroplan::sessions
