#include "device/link.h"

#include <algorithm>
#include <random>

namespace neuroplan::device {

const char* toString(LinkDown reason) {
    switch (reason) {
        case LinkDown::ConnectFailed:
            return "connect_failed";
        case LinkDown::TlsFailed:
            return "tls_failed";
        case LinkDown::HandshakeTimeout:
            return "handshake_timeout";
        case LinkDown::Refused:
            return "refused";
        case LinkDown::Incompatible:
            return "incompatible";
        case LinkDown::HeartbeatLost:
            return "heartbeat_lost";
        case LinkDown::PeerClosed:
            return "peer_closed";
        case LinkDown::ProtocolError:
            return "protocol_error";
        case LinkDown::WriteTimeout:
            return "write_timeout";
        case LinkDown::Closed:
            return "closed";
    }
    return "unknown";
}

namespace {
bool isFinal(pb::CommandStatus status) {
    return status == pb::COMMAND_DONE || status == pb::COMMAND_REJECTED ||
           status == pb::COMMAND_FAILED;
}

/// Ids from different controllers (or runs) must not collide at the device, which remembers
/// them: start at a random value in 1..2^62, leaving room to count up.
std::uint64_t randomCommandIdStart() {
    std::random_device device;
    const std::uint64_t high = device();
    const std::uint64_t low = device();
    return (((high << 32) | low) & 0x3FFFFFFFFFFFFFFFULL) + 1;
}

pb::CommandResult failed(std::uint64_t id, const std::string& detail) {
    pb::CommandResult result;
    result.set_id(id);
    result.set_status(pb::COMMAND_FAILED);
    result.set_detail(detail);
    return result;
}
}  // namespace

Result<std::shared_ptr<DeviceLink>> DeviceLink::create(asio::io_context& io, LinkOptions options,
                                                       Handler handler) {
    boost::system::error_code error;
    const auto address = asio::ip::make_address(options.host, error);
    if (error) {
        return makeError(ErrorCode::InvalidInput, "host",
                         "'" + options.host + "' is not an IP address");
    }
    NP_TRY(checkTransportPolicy(address, options.tls, options.allowPlaintext, "host"));
    std::shared_ptr<asio::ssl::context> tls;
    if (options.tls) {
        auto context = makeTlsContext(*options.tls, false);
        NP_TRY(context);
        tls = *context;
    }
    return std::shared_ptr<DeviceLink>(
        new DeviceLink(io, std::move(options), std::move(handler), std::move(tls), address));
}

DeviceLink::DeviceLink(asio::io_context& io, LinkOptions options, Handler handler,
                       std::shared_ptr<asio::ssl::context> tls, asio::ip::address address)
    : m_io(io),
      m_strand(asio::make_strand(io)),
      m_options(std::move(options)),
      m_handler(std::move(handler)),
      m_tls(std::move(tls)),
      m_address(address),
      m_backoff(m_options.reconnectMin),
      m_timeout(m_options.heartbeatTimeout),
      m_nextId(randomCommandIdStart()),
      m_timer(m_strand),
      m_heartbeatTimer(m_strand),
      m_watchdog(m_strand) {}

DeviceLink::~DeviceLink() = default;

std::uint64_t DeviceLink::nextCommandId() {
    return m_nextId.fetch_add(1);
}

void DeviceLink::start() {
    asio::post(m_strand, [self = shared_from_this()] { self->connect(); });
}

void DeviceLink::close() {
    asio::post(m_strand, [self = shared_from_this()] {
        if (!self->m_closed) {
            self->down(LinkDown::Closed, "closed by the controller");
            self->m_closed = true;
            self->m_timer.cancel();
        }
    });
}

void DeviceLink::simulateCut() {
    asio::post(m_strand, [self = shared_from_this()] {
        self->m_cut = true;
        self->m_heartbeatTimer.cancel();
        self->m_watchdog.cancel();
    });
}

void DeviceLink::notify(LinkEvent event) {
    if (m_handler) {
        m_handler(event);
    }
}

void DeviceLink::connect() {
    if (m_closed) {
        return;
    }
    const std::uint64_t generation = ++m_generation;
    m_transport = std::make_unique<Transport>(m_strand, m_tls);
    m_decoder = FrameDecoder{};
    m_queue.clear();
    m_writing = false;
    m_up = false;
    m_connected = false;
    m_cut = false;
    auto self = shared_from_this();
    m_timer.expires_after(m_options.connectTimeout);
    m_timer.async_wait([self, generation](boost::system::error_code error) {
        if (!error && generation == self->m_generation && !self->m_connected) {
            self->down(LinkDown::ConnectFailed,
                       "no connection within " +
                           std::to_string(self->m_options.connectTimeout.count()) + " ms");
        }
    });
    m_transport->socket().async_connect(
        tcp::endpoint(m_address, m_options.port),
        [self, generation](boost::system::error_code error) {
            if (generation != self->m_generation || self->m_closed) {
                return;
            }
            if (error) {
                self->down(LinkDown::ConnectFailed, "cannot connect to " + self->m_options.host +
                                                        ":" + std::to_string(self->m_options.port) +
                                                        ": " + error.message());
                return;
            }
            boost::system::error_code ignored;
            self->m_transport->socket().set_option(tcp::no_delay(true), ignored);
            self->m_transport->asyncHandshake(false, [self, generation](
                                                         boost::system::error_code tlsError) {
                if (generation != self->m_generation || self->m_closed) {
                    return;
                }
                if (tlsError) {
                    self->down(LinkDown::TlsFailed, "TLS handshake failed: " + tlsError.message());
                    return;
                }
                self->onConnected();
            });
        });
}

void DeviceLink::onConnected() {
    m_connected = true;
    const std::uint64_t generation = m_generation;
    auto self = shared_from_this();
    m_timer.expires_after(m_options.handshakeTimeout);
    m_timer.async_wait([self, generation](boost::system::error_code error) {
        if (!error && generation == self->m_generation && !self->m_up) {
            self->down(LinkDown::HandshakeTimeout,
                       "the device did not answer the handshake within " +
                           std::to_string(self->m_options.handshakeTimeout.count()) + " ms");
        }
    });
    pb::Envelope envelope;
    pb::Hello* hello = envelope.mutable_hello();
    hello->set_version_min(kVersionMin);
    hello->set_version_max(kVersionMax);
    hello->set_role(pb::ROLE_CONTROLLER);
    hello->set_kind(m_options.expectKind);
    hello->set_model(m_options.controllerName);
    hello->set_heartbeat_timeout_ms(static_cast<std::uint32_t>(m_options.heartbeatTimeout.count()));
    enqueue(envelope, false);
    read();
}

void DeviceLink::read() {
    const std::uint64_t generation = m_generation;
    auto self = shared_from_this();
    m_transport->async_read_some(
        asio::buffer(m_buffer), [self, generation](boost::system::error_code error, std::size_t n) {
            if (generation != self->m_generation || self->m_closed) {
                return;
            }
            if (error) {
                self->down(LinkDown::PeerClosed, error == asio::error::eof
                                                     ? "the device closed the connection"
                                                     : "connection lost: " + error.message());
                return;
            }
            const auto drained = self->m_decoder.drain(
                std::string_view(self->m_buffer.data(), n),
                [&](const pb::Envelope& envelope) { self->onFrame(envelope); },
                [&](FrameError skipped) {
                    // One unreadable frame: dropped (and reported), the stream is still in step.
                    LinkEvent dropped;
                    dropped.kind = LinkEvent::Kind::Dropped;
                    dropped.dropped = skipped;
                    dropped.detail = toString(skipped);
                    self->notify(std::move(dropped));
                },
                [&] { return generation != self->m_generation || self->m_closed; });
            if (drained == FrameDecoder::Drained::Failed) {
                self->down(LinkDown::ProtocolError, std::string("bad frame from the device: ") +
                                                        toString(self->m_decoder.error()));
            } else if (drained == FrameDecoder::Drained::NeedMore) {
                self->read();
            }
        });
}

void DeviceLink::enqueue(const pb::Envelope& envelope, bool urgent) {
    if (m_cut) {
        return;
    }
    std::string frame = encodeFrame(envelope);
    if (urgent) {
        m_queue.insert(m_queue.begin() + (m_writing ? 1 : 0), std::move(frame));
    } else {
        m_queue.push_back(std::move(frame));
    }
    if (!m_writing) {
        write();
    }
}

void DeviceLink::write() {
    if (m_queue.empty() || !m_connected || m_cut) {
        m_writing = false;
        return;
    }
    m_writing = true;
    // The write deadline is checked by the heartbeat tick (supervise()), not by a timer per
    // write: arming and cancelling a timer costs system calls on every frame.
    m_writeStarted = std::chrono::steady_clock::now();
    const std::uint64_t generation = m_generation;
    auto self = shared_from_this();
    asio::async_write(*m_transport, asio::buffer(m_queue.front()),
                      [self, generation](boost::system::error_code error, std::size_t) {
                          if (generation != self->m_generation || self->m_closed) {
                              return;
                          }
                          if (error) {
                              self->down(LinkDown::PeerClosed, "write failed: " + error.message());
                              return;
                          }
                          self->m_queue.pop_front();
                          self->write();
                      });
}

void DeviceLink::onFrame(const pb::Envelope& envelope) {
    if (!m_up) {
        if (envelope.has_refusal()) {
            down(LinkDown::Refused,
                 "the device refused: " + pb::RefusalReason_Name(envelope.refusal().reason()) +
                     (envelope.refusal().detail().empty()
                          ? ""
                          : " (" + envelope.refusal().detail() + ")"),
                 envelope.refusal().reason());
        } else if (envelope.has_hello()) {
            onHello(envelope.hello());
        } else {
            down(LinkDown::ProtocolError, "the device sent something before its Hello");
        }
        return;
    }
    LinkEvent event;
    switch (envelope.body_case()) {
        case pb::Envelope::kHeartbeat:
            armWatchdog();
            return;
        case pb::Envelope::kResult: {
            const pb::CommandResult& result = envelope.result();
            if (result.id() == m_reloadId && m_reloadPending && isFinal(result.status())) {
                m_reloadPending = false;
                m_timer.cancel();
                LinkEvent state;
                state.kind = LinkEvent::Kind::State;
                state.state = result.state();
                state.reloaded = true;
                notify(std::move(state));
            }
            event.kind = LinkEvent::Kind::Result;
            event.result = result;
            notify(event);
            if (isFinal(result.status())) {
                finish(result.id(), result);
            }
            return;
        }
        case pb::Envelope::kState:
            event.kind = LinkEvent::Kind::State;
            event.state = envelope.state();
            break;
        case pb::Envelope::kTelemetry:
            event.kind = LinkEvent::Kind::Telemetry;
            event.telemetry = envelope.telemetry();
            if (m_lastTelemetry != 0 && event.telemetry.sequence() > m_lastTelemetry + 1) {
                event.telemetryLost = event.telemetry.sequence() - m_lastTelemetry - 1;
            }
            m_lastTelemetry = event.telemetry.sequence();
            break;
        case pb::Envelope::kFault:
            event.kind = LinkEvent::Kind::Fault;
            event.fault = envelope.fault();
            break;
        case pb::Envelope::kLogChunk:
            event.kind = LinkEvent::Kind::Log;
            event.log = envelope.log_chunk();
            break;
        default:
            return;  // nothing else is meaningful from a device
    }
    notify(std::move(event));
}

void DeviceLink::onHello(const pb::Hello& hello) {
    const auto refuse = [&](pb::RefusalReason reason, const std::string& detail) {
        pb::Envelope envelope;
        envelope.mutable_refusal()->set_reason(reason);
        envelope.mutable_refusal()->set_detail(detail);
        enqueue(envelope, true);
        down(LinkDown::Incompatible, detail, reason);
    };
    if (hello.role() != pb::ROLE_DEVICE) {
        refuse(pb::REFUSAL_ROLE,
               "the peer is not a device (role " + pb::Role_Name(hello.role()) + ")");
        return;
    }
    if (hello.version() < kVersionMin || hello.version() > kVersionMax) {
        refuse(pb::REFUSAL_VERSION, "the device chose protocol version " +
                                        std::to_string(hello.version()) + "; this build speaks " +
                                        std::to_string(kVersionMin) + ".." +
                                        std::to_string(kVersionMax));
        return;
    }
    if (m_options.expectKind != pb::DEVICE_KIND_UNSPECIFIED &&
        hello.kind() != m_options.expectKind) {
        refuse(pb::REFUSAL_KIND, "expected a " + pb::DeviceKind_Name(m_options.expectKind) +
                                     " device, found " + pb::DeviceKind_Name(hello.kind()));
        return;
    }
    m_up = true;
    m_timer.cancel();
    m_backoff = m_options.reconnectMin;
    m_timeout = hello.heartbeat_timeout_ms() > 0
                    ? std::chrono::milliseconds(hello.heartbeat_timeout_ms())
                    : m_options.heartbeatTimeout;
    m_lastTelemetry = 0;
    LinkEvent event;
    event.kind = LinkEvent::Kind::Connected;
    event.peer = hello;
    notify(std::move(event));
    heartbeat();
    armWatchdog();
    // Trust nothing cached: read the whole state before anything else.
    pb::Envelope envelope;
    m_reloadId = nextCommandId();
    m_reloadPending = true;
    envelope.mutable_command()->set_id(m_reloadId);
    envelope.mutable_command()->mutable_read_state();
    enqueue(envelope, false);
    const std::uint64_t generation = m_generation;
    auto self = shared_from_this();
    m_timer.expires_after(m_options.handshakeTimeout);  // reading the state is part of connecting
    m_timer.async_wait([self, generation](boost::system::error_code error) {
        if (!error && generation == self->m_generation && self->m_reloadPending) {
            self->down(LinkDown::ProtocolError,
                       "the device did not send its state after connecting");
        }
    });
}

void DeviceLink::supervise() {
    const auto now = std::chrono::steady_clock::now();
    if (m_writing && now - m_writeStarted > m_options.writeTimeout) {
        down(LinkDown::WriteTimeout, "a write to the device did not finish in time");
        return;
    }
    std::vector<std::uint64_t> late;
    for (const auto& [id, entry] : m_pending) {
        if (now >= entry.deadline) {
            late.push_back(id);
        }
    }
    for (std::uint64_t id : late) {
        failLocally(id, failed(id, "no answer from the device within " +
                                       std::to_string(m_options.commandTimeout.count()) + " ms"));
    }
}

void DeviceLink::heartbeat() {
    if (!m_up || m_cut) {
        return;
    }
    const std::uint64_t before = m_generation;
    supervise();
    if (before != m_generation) {
        return;  // the link went down
    }
    pb::Envelope envelope;
    envelope.mutable_heartbeat()->set_counter(++m_heartbeats);
    enqueue(envelope, false);
    const std::uint64_t generation = m_generation;
    auto self = shared_from_this();
    m_heartbeatTimer.expires_after(m_timeout / 5);
    m_heartbeatTimer.async_wait([self, generation](boost::system::error_code error) {
        if (!error && generation == self->m_generation) {
            self->heartbeat();
        }
    });
}

void DeviceLink::armWatchdog() {
    if (m_cut) {
        return;
    }
    const std::uint64_t generation = m_generation;
    auto self = shared_from_this();
    m_watchdog.expires_after(m_timeout);
    m_watchdog.async_wait([self, generation](boost::system::error_code error) {
        if (!error && generation == self->m_generation && self->m_up) {
            self->down(LinkDown::HeartbeatLost, "no heartbeat from the device for " +
                                                    std::to_string(self->m_timeout.count()) +
                                                    " ms");
        }
    });
}

void DeviceLink::down(LinkDown reason, const std::string& detail, pb::RefusalReason refusal) {
    if (m_closed) {
        return;
    }
    ++m_generation;  // every handler of this connection is now stale
    const bool wasUp = m_up;
    m_up = false;
    m_connected = false;
    m_writing = false;
    m_queue.clear();
    m_reloadPending = false;
    if (m_transport) {
        m_transport->close();
    }
    for (auto* timer : {&m_heartbeatTimer, &m_watchdog}) {
        timer->cancel();
    }
    m_timer.cancel();
    // Commands in flight are not retried on another connection: the operator decides.
    auto pending = std::move(m_pending);
    m_pending.clear();
    for (auto& [id, entry] : pending) {
        const auto result =
            failed(id, std::string("link down before the device answered: ") + detail);
        LinkEvent failure;
        failure.kind = LinkEvent::Kind::Result;
        failure.result = result;
        notify(failure);
        entry.promise.set_value(result);
    }
    // A refusal is final, except BUSY: another controller may let go of the device.
    const bool refusedForGood = (reason == LinkDown::Refused && refusal != pb::REFUSAL_BUSY) ||
                                reason == LinkDown::Incompatible;
    const bool again = m_options.reconnect && reason != LinkDown::Closed && !refusedForGood;
    LinkEvent event;
    event.kind = LinkEvent::Kind::Down;
    event.down = reason;
    event.refusal = refusal;
    event.detail = detail;
    event.willReconnect = again;
    (void)wasUp;
    notify(std::move(event));
    if (again) {
        auto self = shared_from_this();
        m_timer.expires_after(m_backoff);
        m_backoff = std::min(m_backoff * 2, m_options.reconnectMax);
        m_timer.async_wait([self](boost::system::error_code error) {
            if (!error) {
                self->connect();
            }
        });
    }
}

void DeviceLink::failLocally(std::uint64_t id, const pb::CommandResult& result) {
    // Owners that follow results through events (the Qt adapter) learn of it too.
    LinkEvent event;
    event.kind = LinkEvent::Kind::Result;
    event.result = result;
    notify(event);
    finish(id, result);
}

void DeviceLink::finish(std::uint64_t id, pb::CommandResult result) {
    const auto it = m_pending.find(id);
    if (it == m_pending.end()) {
        return;
    }
    it->second.promise.set_value(std::move(result));
    m_pending.erase(it);
}

std::future<pb::CommandResult> DeviceLink::send(pb::Command command) {
    if (command.id() == 0) {
        command.set_id(nextCommandId());
    }
    auto promise = std::make_shared<std::promise<pb::CommandResult>>();
    auto future = promise->get_future();
    asio::post(m_strand, [self = shared_from_this(), command = std::move(command), promise] {
        const std::uint64_t id = command.id();
        if (!self->m_up || self->m_closed) {
            const auto result = failed(id, "the device is not connected");
            LinkEvent event;
            event.kind = LinkEvent::Kind::Result;
            event.result = result;
            self->notify(event);
            promise->set_value(result);
            return;
        }
        if (self->m_pending.count(id) != 0) {
            promise->set_value(failed(id, "a command with this id is already waiting"));
            return;
        }
        Pending entry;
        entry.promise = std::move(*promise);
        entry.deadline = std::chrono::steady_clock::now() + self->m_options.commandTimeout;
        self->m_pending.emplace(id, std::move(entry));
        pb::Envelope envelope;
        *envelope.mutable_command() = command;
        self->enqueue(envelope, command.has_emergency_stop());
    });
    return future;
}

void DeviceLink::requestLog(std::uint64_t offset, std::uint32_t maxEntries) {
    asio::post(m_strand, [self = shared_from_this(), offset, maxEntries] {
        if (!self->m_up) {
            return;
        }
        pb::Envelope envelope;
        envelope.mutable_log_request()->set_from_offset(offset);
        envelope.mutable_log_request()->set_max_entries(maxEntries);
        self->enqueue(envelope, false);
    });
}

}  // namespace neuroplan::device
