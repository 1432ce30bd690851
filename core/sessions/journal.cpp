#include "sessions/journal.h"

#include <algorithm>

namespace neuroplan::sessions {

using nlohmann::json;

namespace {

/// One line per row for the batch's digest: every column, unambiguous (tab-separated, with
/// the free text last).
void appendDigestLine(std::string& out, std::int64_t seq, const JournalEvent& e) {
    const auto add = [&](const auto& value) {
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
            out += value;
        } else if (value) {
            out += std::to_string(*value);
        }
        out += '\t';
    };
    add(std::optional<std::int64_t>(seq));
    add(e.source);
    add(e.kind);
    add(e.deviceOffset);
    add(e.deviceTimeUs);
    add(e.wallUtc);
    add(e.pulses);
    add(e.trains);
    add(e.output);
    add(e.userId);
    add(std::optional<int>(e.recovered ? 1 : 0));
    out += e.detail;
    out += '\n';
}

}  // namespace

JournalEvent fromDeviceLog(const device::pb::LogEntry& entry, bool recovered) {
    JournalEvent event;
    event.source = "device";
    event.kind = entry.event();
    event.deviceOffset = static_cast<std::int64_t>(entry.offset());
    event.deviceTimeUs = static_cast<std::int64_t>(entry.device_time_us());
    event.pulses = entry.pulses_delivered();
    event.trains = entry.trains_delivered();
    event.output = entry.output();
    event.detail = entry.detail();
    event.recovered = recovered;
    return event;
}

json toJson(const StoredEvent& stored) {
    const JournalEvent& e = stored.event;
    const auto opt = [](const auto& value) { return value ? json(*value) : json(nullptr); };
    return {{"seq", stored.seq},
            {"source", e.source},
            {"kind", e.kind},
            {"device_offset", opt(e.deviceOffset)},
            {"device_time_us", opt(e.deviceTimeUs)},
            {"wall_utc", e.wallUtc},
            {"pulses", opt(e.pulses)},
            {"trains", opt(e.trains)},
            {"output", opt(e.output)},
            {"detail", e.detail},
            {"recovered", e.recovered}};
}

Result<std::vector<StoredEvent>> readJournal(store::Connection& db, std::int64_t sessionId) {
    auto rows = db.prepare(
        "SELECT seq, source, kind, device_offset, device_time_us, wall_utc, pulses, trains, "
        "output, detail, user_id, recovered FROM session_events WHERE session_id = ? ORDER BY "
        "seq");
    NP_TRY(rows);
    rows->bindAll(sessionId);
    std::vector<StoredEvent> out;
    for (;;) {
        auto more = rows->step();
        NP_TRY(more);
        if (!*more) {
            break;
        }
        StoredEvent stored;
        stored.seq = rows->columnInt(0);
        JournalEvent& e = stored.event;
        e.source = rows->columnText(1);
        e.kind = rows->columnText(2);
        const auto optInt = [&](int column) -> std::optional<std::int64_t> {
            return rows->isNull(column) ? std::nullopt
                                        : std::optional<std::int64_t>(rows->columnInt(column));
        };
        e.deviceOffset = optInt(3);
        e.deviceTimeUs = optInt(4);
        e.wallUtc = rows->columnText(5);
        e.pulses = optInt(6);
        e.trains = optInt(7);
        if (!rows->isNull(8)) {
            e.output = rows->columnDouble(8);
        }
        e.detail = rows->columnText(9);
        e.userId = optInt(10);
        e.recovered = rows->columnInt(11) != 0;
        out.push_back(std::move(stored));
    }
    return out;
}

Result<std::unique_ptr<Journal>> Journal::open(const std::filesystem::path& database,
                                               std::int64_t sessionId, JournalOptions options) {
    store::OpenOptions openOptions;
    openOptions.createIfMissing = false;
    auto store = store::Store::open(database, openOptions);
    NP_TRY(store);
    auto next = store->db().prepare(
        "SELECT coalesce(max(device_offset) + 1, 0) FROM session_events WHERE session_id = ?");
    NP_TRY(next);
    next->bindAll(sessionId);
    NP_TRY(next->step());
    const auto offset = static_cast<std::uint64_t>(next->columnInt(0));
    return std::unique_ptr<Journal>(
        new Journal(std::move(*store), sessionId, std::move(options), offset));
}

Journal::Journal(store::Store store, std::int64_t sessionId, JournalOptions options,
                 std::uint64_t nextOffset)
    : m_store(std::move(store)),
      m_session(sessionId),
      m_options(std::move(options)),
      m_nextOffset(nextOffset) {
    m_thread = std::thread([this] { run(); });
}

Journal::~Journal() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    m_thread.join();
}

bool Journal::append(JournalEvent event) {
    if (event.wallUtc.empty()) {
        event.wallUtc = formatUtc(m_store.clock()());
    }
    std::lock_guard lock(m_mutex);
    if (event.deviceOffset) {
        const auto offset = static_cast<std::uint64_t>(*event.deviceOffset);
        if (offset < m_nextOffset) {
            ++m_stats.duplicates;
            return false;
        }
        m_nextOffset = offset + 1;
    }
    if (m_queue.empty()) {
        m_firstQueued = std::chrono::steady_clock::now();
        m_wake.notify_all();
    }
    m_queue.push_back(Item{std::move(event), nullptr, nullptr});
    return true;
}

std::future<Status> Journal::enqueue(Item item, bool urgent) {
    item.done = std::make_shared<std::promise<Status>>();
    auto future = item.done->get_future();
    {
        std::lock_guard lock(m_mutex);
        if (m_queue.empty()) {
            m_firstQueued = std::chrono::steady_clock::now();
        }
        m_queue.push_back(std::move(item));
        m_urgent = m_urgent || urgent;
    }
    m_wake.notify_all();
    return future;
}

Status Journal::commit(JournalEvent event, std::function<Status(store::WriteContext&)> alsoDo) {
    if (event.wallUtc.empty()) {
        event.wallUtc = formatUtc(m_store.clock()());
    }
    return enqueue(Item{std::move(event), std::move(alsoDo), nullptr}, true).get();
}

Status Journal::flush() {
    {
        std::lock_guard lock(m_mutex);
        if (m_queue.empty() && !m_committing) {
            return {};
        }
    }
    JournalEvent none;  // a marker: no row of its own
    return enqueue(Item{std::move(none), nullptr, nullptr}, true).get();
}

std::uint64_t Journal::nextDeviceOffset() const {
    std::lock_guard lock(m_mutex);
    return m_nextOffset;
}

JournalStats Journal::stats() const {
    std::lock_guard lock(m_mutex);
    return m_stats;
}

void Journal::run() {
    std::unique_lock lock(m_mutex);
    for (;;) {
        if (m_queue.empty()) {
            if (m_stop) {
                return;
            }
            m_wake.wait(lock);
            continue;
        }
        const auto due = m_firstQueued + m_options.groupCommit;
        if (!m_urgent && !m_stop && std::chrono::steady_clock::now() < due) {
            m_wake.wait_until(lock, due);
            continue;
        }
        std::vector<Item> batch;
        batch.swap(m_queue);
        m_urgent = false;
        m_committing = true;
        lock.unlock();
        Status status = commitBatch(batch);
        lock.lock();
        m_committing = false;
        if (status) {
            ++m_stats.batches;
            for (const Item& item : batch) {
                m_stats.events += item.event.kind.empty() ? 0 : 1;
            }
        } else {
            ++m_stats.failures;
        }
        // Waiters learn the outcome. After a failure the plain events are queued again (in
        // front of newer ones) and retried; an action with its own transaction work is not.
        std::vector<Item> retry;
        for (Item& item : batch) {
            if (item.done) {
                item.done->set_value(status);
            } else if (!status) {
                retry.push_back(std::move(item));
            }
        }
        if (!retry.empty()) {
            for (Item& item : m_queue) {
                retry.push_back(std::move(item));
            }
            m_queue = std::move(retry);
            m_firstQueued = std::chrono::steady_clock::now();
            if (m_stop) {
                return;  // give up at shutdown: the device log still has every device event
            }
        }
    }
}

Status Journal::commitBatch(std::vector<Item>& batch) {
    const bool work = std::any_of(batch.begin(), batch.end(), [](const Item& item) {
        return !item.event.kind.empty() || item.alsoDo;
    });
    if (!work) {
        return {};  // only flush markers: everything before them is committed already
    }
    return m_store.write(m_options.who, [&](store::WriteContext& w) -> Status {
        auto last =
            w.db().prepare("SELECT coalesce(max(seq), 0) FROM session_events WHERE session_id = ?");
        NP_TRY(last);
        last->bindAll(m_session);
        NP_TRY(last->step());
        std::int64_t seq = last->columnInt(0);
        const std::int64_t first = seq + 1;
        auto insert = w.db().prepare(
            "INSERT INTO session_events (session_id, seq, source, kind, device_offset, "
            "device_time_us, wall_utc, pulses, trains, output, detail, user_id, recovered) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        NP_TRY(insert);
        std::string digestInput;
        for (Item& item : batch) {
            const JournalEvent& e = item.event;
            if (!e.kind.empty()) {
                ++seq;
                insert->bindAll(m_session, seq, e.source, e.kind, e.deviceOffset, e.deviceTimeUs,
                                e.wallUtc, e.pulses, e.trains, e.output, e.detail, e.userId,
                                e.recovered ? 1 : 0);
                NP_TRY(insert->run());
                NP_TRY(insert->reset());
                appendDigestLine(digestInput, seq, e);
            }
            if (item.alsoDo) {
                NP_TRY(item.alsoDo(w));
                // It may have appended rows of its own (a "reconciled" event): number on after
                // them, or the next event of this batch would take a seq already used.
                NP_TRY(last->reset());
                last->bindAll(m_session);
                NP_TRY(last->step());
                seq = last->columnInt(0);
            }
        }
        if (seq >= first) {
            NP_TRY(w.audit("session", std::to_string(m_session), "journal", nullptr,
                           json{{"first_seq", first},
                                {"last_seq", seq},
                                {"events", seq - first + 1},
                                {"sha256", store::sha256Hex(digestInput)}}));
        }
        return {};
    });
}

}  // namespace neuroplan::sessions
