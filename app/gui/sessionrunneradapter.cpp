#include <utility>  // before Asio (Boost 1.74 with C++20)

#include "sessionrunneradapter.h"

#include <QMetaObject>
#include <QPointer>
#include <chrono>

namespace neuroplan::gui {

namespace ses = neuroplan::sessions;

SessionRunnerAdapter::SessionRunnerAdapter(QObject* parent) : QObject(parent) {
    qRegisterMetaType<ses::RunnerEvent>();
    qRegisterMetaType<ses::Checklist>();
    m_commandThread = std::thread([this] { commandLoop(); });
    m_emergencyThread = std::thread([this] { emergencyLoop(); });
}

SessionRunnerAdapter::~SessionRunnerAdapter() {
    {
        std::lock_guard lock(m_queueMutex);
        m_stopping = true;  // the loops finish what is queued first
    }
    m_queueReady.notify_all();
    m_commandThread.join();
    m_emergencyThread.join();
    Runner last;
    {
        std::lock_guard lock(m_runnerMutex);
        last.swap(m_runner);
    }
    last.reset();  // stops a session still stimulating (the program is closing)
}

Status SessionRunnerAdapter::open(ses::RunnerOptions options) {
    if (isOpen()) {
        return makeError(ErrorCode::Conflict, "session",
                         "session " + std::to_string(sessionId()) + " is still open here");
    }
    // The runner calls back on its own threads; every event is handed to this object's thread.
    QPointer<SessionRunnerAdapter> self(this);
    const std::int64_t id = options.sessionId;
    auto opened =
        ses::SessionRunner::open(std::move(options), [self](const ses::RunnerEvent& event) {
            QMetaObject::invokeMethod(
                self.data(),
                [self, event] {
                    if (self) {
                        emit self->runnerEvent(event);
                    }
                },
                Qt::QueuedConnection);
        });
    NP_TRY(opened);
    std::lock_guard lock(m_runnerMutex);
    m_runner = Runner(std::move(*opened));
    m_sessionId = id;
    return {};
}

bool SessionRunnerAdapter::isOpen() const {
    return runner() != nullptr;
}

std::int64_t SessionRunnerAdapter::sessionId() const {
    std::lock_guard lock(m_runnerMutex);
    return m_runner ? m_sessionId : 0;
}

std::optional<ses::Progress> SessionRunnerAdapter::progress() const {
    if (const Runner r = runner()) {
        return r->progress();
    }
    return std::nullopt;
}

SessionRunnerAdapter::Runner SessionRunnerAdapter::runner() const {
    std::lock_guard lock(m_runnerMutex);
    return m_runner;
}

void SessionRunnerAdapter::enqueue(std::function<void(ses::SessionRunner*)> call) {
    if (m_pending++ == 0) {
        emit busyChanged(true);
    }
    {
        std::lock_guard lock(m_queueMutex);
        m_queue.push_back([this, call = std::move(call)] {
            const Runner r = runner();
            std::lock_guard owner(m_ownerCall);
            call(r.get());
        });
    }
    m_queueReady.notify_all();
}

void SessionRunnerAdapter::finish(std::function<void()> done) {
    QMetaObject::invokeMethod(
        this,
        [this, done = std::move(done)] {
            if (done) {
                done();
            }
            if (--m_pending == 0) {
                emit busyChanged(false);
            }
        },
        Qt::QueuedConnection);
}

namespace {

QString errorText(const Error& error) {
    return QString::fromStdString(error.message);
}

QString notOpen() {
    return QObject::tr("no session is open");
}

}  // namespace

void SessionRunnerAdapter::prepare(bool screeningConfirmed) {
    enqueue([this, screeningConfirmed](ses::SessionRunner* r) {
        if (r == nullptr) {
            finish([this] { emit commandFinished("prepare", notOpen()); });
            return;
        }
        auto checklist = r->prepare(screeningConfirmed);
        if (!checklist) {
            finish([this, error = errorText(checklist.error())] {
                emit commandFinished("prepare", error);
            });
            return;
        }
        finish([this, list = std::move(*checklist)] {
            emit prepared(list);
            emit commandFinished("prepare", QString());
        });
    });
}

void SessionRunnerAdapter::start() {
    enqueue([this](ses::SessionRunner* r) {
        const Status done = r ? r->start() : makeError(ErrorCode::Conflict, "", "not open");
        finish([this, error = done ? QString() : errorText(done.error())] {
            emit commandFinished("start", error);
        });
    });
}

void SessionRunnerAdapter::pause() {
    enqueue([this](ses::SessionRunner* r) {
        const Status done = r ? r->pause() : makeError(ErrorCode::Conflict, "", "not open");
        finish([this, error = done ? QString() : errorText(done.error())] {
            emit commandFinished("pause", error);
        });
    });
}

void SessionRunnerAdapter::resume() {
    enqueue([this](ses::SessionRunner* r) {
        const Status done = r ? r->resume() : makeError(ErrorCode::Conflict, "", "not open");
        finish([this, error = done ? QString() : errorText(done.error())] {
            emit commandFinished("resume", error);
        });
    });
}

void SessionRunnerAdapter::stop(const QString& reason) {
    enqueue([this, reason = reason.toStdString()](ses::SessionRunner* r) {
        const Status done = r ? r->stop(reason) : makeError(ErrorCode::Conflict, "", "not open");
        finish([this, error = done ? QString() : errorText(done.error())] {
            emit commandFinished("stop", error);
        });
    });
}

void SessionRunnerAdapter::pollStopRequest() {
    enqueue([this](ses::SessionRunner* r) {
        if (r != nullptr) {
            r->pollStopRequest();
        }
        finish([this] { emit commandFinished("poll", QString()); });
    });
}

void SessionRunnerAdapter::close() {
    enqueue([this](ses::SessionRunner*) {
        Runner released;
        std::int64_t id = 0;
        {
            std::lock_guard lock(m_runnerMutex);
            released.swap(m_runner);
            id = m_sessionId;
            m_sessionId = 0;
        }
        // Destroyed here (journal flushed, lock released) unless an emergency stop still
        // holds it; then on the emergency thread when that returns.
        released.reset();
        finish([this, id] { emit closed(id); });
    });
}

void SessionRunnerAdapter::emergencyStop(const QString& reason) {
    {
        std::lock_guard lock(m_queueMutex);
        m_emergencies.push_back(reason.toStdString());
    }
    m_queueReady.notify_all();
}

void SessionRunnerAdapter::commandLoop() {
    std::unique_lock lock(m_queueMutex);
    for (;;) {
        m_queueReady.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
        if (m_queue.empty()) {
            return;
        }
        auto task = std::move(m_queue.front());
        m_queue.pop_front();
        lock.unlock();
        task();
        lock.lock();
    }
}

void SessionRunnerAdapter::emergencyLoop() {
    std::unique_lock lock(m_queueMutex);
    for (;;) {
        m_queueReady.wait(lock, [&] { return m_stopping || !m_emergencies.empty(); });
        if (m_emergencies.empty()) {
            return;
        }
        const std::string reason = std::move(m_emergencies.front());
        m_emergencies.pop_front();
        lock.unlock();

        QString detail;
        if (const Runner r = runner()) {
            // Once the session runs (or is paused, or ended), the runner's emergency stop
            // touches only the device link and the journal: send it now, whatever command is in
            // flight. Before that (checked in, ready) nothing is stimulating and the stop also
            // writes through the owner's database connection, which a command in flight
            // (prepare, start) may be using: wait for that command to return, or for the
            // session to start running, whichever comes first.
            std::unique_lock owner(m_ownerCall, std::defer_lock);
            ses::SessionStatus status = r->progress().status;
            while (
                (status == ses::SessionStatus::CheckedIn || status == ses::SessionStatus::Ready) &&
                !owner.try_lock()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
                status = r->progress().status;
            }
            status = r->progress().status;
            if (ses::isFinal(status)) {
                detail = tr("the session had already ended (%1)")
                             .arg(QString::fromLatin1(ses::toString(status)));
            } else {
                const Status sent = r->emergencyStop(reason);
                detail = sent ? tr("emergency stop sent; session %1")
                                    .arg(QString::fromLatin1(ses::toString(r->progress().status)))
                              : errorText(sent.error());
            }
        } else {
            detail = tr("no session is open on this console");
        }
        QMetaObject::invokeMethod(
            this, [this, detail] { emit emergencyStopFinished(detail); }, Qt::QueuedConnection);
        lock.lock();
    }
}

}  // namespace neuroplan::gui
