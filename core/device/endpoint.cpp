#include "device/endpoint.h"

#include <algorithm>
#include <array>

namespace neuroplan::device {

namespace {
constexpr std::size_t kRememberedResults = 4096;
constexpr std::size_t kReadChunk = 16 * 1024;
/// Log entries per chunk: 100 entries with details of a few hundred bytes stay far below the
/// 64 KiB frame limit.
constexpr std::uint32_t kMaxLogEntries = 100;
/// Frames gathered into one write.
constexpr std::size_t kMaxFramesPerWrite = 64;

bool isFinal(pb::CommandStatus status) {
    return status == pb::COMMAND_DONE || status == pb::COMMAND_REJECTED ||
           status == pb::COMMAND_FAILED;
}
}  // namespace

/// One controller connection.
class DeviceEndpoint::Session : public std::enable_shared_from_this<Session> {
  public:
    Session(DeviceEndpoint& owner)
        : m_owner(owner),
          m_transport(owner.m_strand, owner.m_options.tls),
          m_handshakeTimer(owner.m_strand),
          m_heartbeatTimer(owner.m_strand),
          m_watchdog(owner.m_strand) {}

    Transport& transport() { return m_transport; }
    bool handshaken() const { return m_handshaken; }

    void start() {
        auto self = shared_from_this();
        m_handshakeTimer.expires_after(m_owner.m_options.handshakeTimeout);
        m_handshakeTimer.async_wait([self](boost::system::error_code error) {
            if (!error && !self->m_handshaken) {
                self->close("handshake timed out");
            }
        });
        m_transport.asyncHandshake(true, [self](boost::system::error_code error) {
            if (error) {
                self->close("TLS handshake failed: " + error.message());
                return;
            }
            self->read();
        });
    }

    void send(const pb::Envelope& envelope, bool urgent = false) {
        if (m_closed) {
            return;
        }
        std::string frame = encodeFrame(envelope);
        ++m_owner.m_framesSent;
        const auto& corrupt = m_owner.m_options.faults.corruptFrame;
        if (corrupt && m_owner.m_framesSent == *corrupt) {
            // A frame with a valid length and a body that is not an envelope.
            std::fill(frame.begin() + kHeaderBytes, frame.end(), '\xff');
        }
        if (urgent) {
            // Ahead of everything not yet being written.
            m_queue.insert(m_queue.begin() + static_cast<std::ptrdiff_t>(m_inFlight),
                           std::move(frame));
        } else {
            m_queue.push_back(std::move(frame));
        }
        if (!m_writing) {
            write();
        }
    }

    void close(const std::string& why) {
        if (m_closed) {
            return;
        }
        m_closed = true;
        m_transport.close();
        for (auto* timer : {&m_handshakeTimer, &m_heartbeatTimer, &m_watchdog}) {
            timer->cancel();
        }
        if (m_handshaken) {
            m_owner.m_behaviour.linkLost(why);
        }
        if (m_owner.m_session.get() == this) {
            m_owner.m_session.reset();
        }
    }

  private:
    void read() {
        auto self = shared_from_this();
        m_transport.async_read_some(
            asio::buffer(m_buffer), [self](boost::system::error_code error, std::size_t n) {
                if (self->m_closed) {
                    return;
                }
                if (error) {
                    self->close(error == asio::error::eof ? "controller closed the connection"
                                                          : "connection lost: " + error.message());
                    return;
                }
                const auto drained = self->m_decoder.drain(
                    std::string_view(self->m_buffer.data(), n),
                    [&](const pb::Envelope& envelope) { self->onFrame(envelope); },
                    [](FrameError) {},  // one bad frame is dropped; the stream is still in step
                    [&] { return self->m_closed; });
                if (drained == FrameDecoder::Drained::Failed) {
                    self->close(std::string("bad frame from controller: ") +
                                toString(self->m_decoder.error()));
                } else if (drained == FrameDecoder::Drained::NeedMore) {
                    self->read();
                }
            });
    }

    void write() {
        if (m_queue.empty() || m_closed) {
            m_writing = false;
            return;
        }
        m_writing = true;
        // Everything queued goes out in one write (telemetry from a fast train piles up); the
        // deadline is checked on the heartbeat tick rather than with a timer per write.
        m_writeStarted = std::chrono::steady_clock::now();
        m_inFlight = std::min<std::size_t>(m_queue.size(), kMaxFramesPerWrite);
        m_buffers.clear();
        for (std::size_t i = 0; i < m_inFlight; ++i) {
            m_buffers.push_back(asio::buffer(m_queue[i]));
        }
        auto self = shared_from_this();
        asio::async_write(
            m_transport, m_buffers, [self](boost::system::error_code error, std::size_t) {
                if (self->m_closed) {
                    return;
                }
                if (error) {
                    self->close("write failed: " + error.message());
                    return;
                }
                self->m_queue.erase(
                    self->m_queue.begin(),
                    self->m_queue.begin() + static_cast<std::ptrdiff_t>(self->m_inFlight));
                self->m_inFlight = 0;
                self->write();
            });
    }

    void refuse(pb::RefusalReason reason, const std::string& detail) {
        pb::Envelope envelope;
        envelope.mutable_refusal()->set_reason(reason);
        envelope.mutable_refusal()->set_detail(detail);
        send(envelope);
        // Close once the refusal is written (or the handshake deadline passes).
        auto self = shared_from_this();
        m_refusing = true;
        asio::post(m_owner.m_strand, [self] { self->closeAfterFlush(); });
    }

    void closeAfterFlush() {
        if (m_closed) {
            return;
        }
        if (!m_writing && m_queue.empty()) {
            close("handshake refused");
            return;
        }
        auto self = shared_from_this();
        m_heartbeatTimer.expires_after(std::chrono::milliseconds(5));
        m_heartbeatTimer.async_wait([self](boost::system::error_code error) {
            if (!error) {
                self->closeAfterFlush();
            }
        });
    }

    void onHello(const pb::Hello& hello) {
        const pb::Hello mine = m_owner.m_behaviour.identity();
        const std::uint32_t low = std::max(hello.version_min(), kVersionMin);
        const std::uint32_t high = std::min(hello.version_max(), kVersionMax);
        if (hello.role() != pb::ROLE_CONTROLLER) {
            refuse(pb::REFUSAL_ROLE, "this is a device; only a controller may connect");
            return;
        }
        if (low > high) {
            refuse(pb::REFUSAL_VERSION, "device speaks versions " + std::to_string(kVersionMin) +
                                            ".." + std::to_string(kVersionMax));
            return;
        }
        if (hello.kind() != pb::DEVICE_KIND_UNSPECIFIED && hello.kind() != mine.kind()) {
            refuse(pb::REFUSAL_KIND, "this device is " + pb::DeviceKind_Name(mine.kind()));
            return;
        }
        if (m_owner.m_options.faults.refuseHandshake) {
            refuse(pb::REFUSAL_DEVICE_SAYS, "handshake refused (injected fault)");
            return;
        }
        // The device's limit is binding; a controller may ask for a shorter timeout.
        auto timeout = m_owner.m_options.heartbeatTimeout;
        if (hello.heartbeat_timeout_ms() > 0) {
            // Not below 50 ms: shorter would stop stimulation on ordinary scheduling jitter.
            const auto floor = std::min(std::chrono::milliseconds(50), timeout);
            timeout =
                std::clamp(std::chrono::milliseconds(hello.heartbeat_timeout_ms()), floor, timeout);
        }
        m_timeout = timeout;
        pb::Envelope reply;
        *reply.mutable_hello() = mine;
        reply.mutable_hello()->set_role(pb::ROLE_DEVICE);
        reply.mutable_hello()->set_version_min(kVersionMin);
        reply.mutable_hello()->set_version_max(kVersionMax);
        reply.mutable_hello()->set_version(high);
        reply.mutable_hello()->set_heartbeat_timeout_ms(
            static_cast<std::uint32_t>(timeout.count()));
        send(reply);
        m_handshaken = true;
        m_handshakeTimer.cancel();
        heartbeat();
        armWatchdog();
    }

    void heartbeat() {
        if (m_closed) {
            return;
        }
        if (m_writing &&
            std::chrono::steady_clock::now() - m_writeStarted > m_owner.m_options.writeTimeout) {
            close("write to controller timed out");
            return;
        }
        const auto& silent = m_owner.m_options.faults.silentAfterMessages;
        if (!(silent && m_owner.m_messagesReceived >= *silent)) {
            pb::Envelope envelope;
            envelope.mutable_heartbeat()->set_counter(++m_heartbeats);
            send(envelope);
        }
        auto self = shared_from_this();
        m_heartbeatTimer.expires_after(m_timeout / 5);
        m_heartbeatTimer.async_wait([self](boost::system::error_code error) {
            if (!error) {
                self->heartbeat();
            }
        });
    }

    void armWatchdog() {
        auto self = shared_from_this();
        m_watchdog.expires_after(m_timeout);
        m_watchdog.async_wait([self](boost::system::error_code error) {
            if (!error && !self->m_closed) {
                self->close("no heartbeat from the controller for " +
                            std::to_string(self->m_timeout.count()) + " ms");
            }
        });
    }

    void onFrame(const pb::Envelope& envelope) {
        ++m_owner.m_messagesReceived;
        const auto& drop = m_owner.m_options.faults.dropAfterMessages;
        if (drop && m_owner.m_messagesReceived > *drop) {
            close("connection dropped (injected fault)");
            return;
        }
        if (m_refusing) {
            return;
        }
        if (!m_handshaken) {
            if (!envelope.has_hello()) {
                refuse(pb::REFUSAL_NOT_HELLO, "the first message must be a Hello");
                return;
            }
            onHello(envelope.hello());
            return;
        }
        switch (envelope.body_case()) {
            case pb::Envelope::kHeartbeat:
                armWatchdog();
                break;
            case pb::Envelope::kCommand:
                onCommand(envelope.command());
                break;
            case pb::Envelope::kLogRequest: {
                pb::Envelope reply;
                *reply.mutable_log_chunk() = m_owner.m_behaviour.readLog(
                    envelope.log_request().from_offset(),
                    std::min<std::uint32_t>(envelope.log_request().max_entries(), kMaxLogEntries));
                send(reply);
                break;
            }
            default:
                break;  // nothing else is meaningful from a controller; ignored
        }
    }

    void onCommand(const pb::Command& command) {
        const bool urgent = command.has_emergency_stop();
        const auto known = m_owner.m_results.find(command.id());
        pb::CommandResult result;
        if (known != m_owner.m_results.end() && !urgent) {
            if (known->second.command == command.SerializeAsString()) {
                result = known->second.result;  // a retry: answer again, do not execute again
            } else {
                result.set_id(command.id());
                result.set_status(pb::COMMAND_REJECTED);
                result.set_reason(pb::REJECT_INVALID);
                result.set_detail("command id " + std::to_string(command.id()) +
                                  " was already used for a different command");
            }
        } else {
            // Emergency stop runs every time: stopping twice is harmless, not stopping is not.
            result = m_owner.m_behaviour.execute(command);
            result.set_id(command.id());
            if (isFinal(result.status()) || result.status() == pb::COMMAND_ACCEPTED) {
                m_owner.remember(command, result);
            }
        }
        *result.mutable_state() = m_owner.m_behaviour.state();
        pb::Envelope envelope;
        *envelope.mutable_result() = std::move(result);
        const auto delay = m_owner.m_options.faults.replyDelay;
        if (delay.count() > 0 && !urgent) {
            auto self = shared_from_this();
            auto timer = std::make_shared<asio::steady_timer>(m_owner.m_strand, delay);
            timer->async_wait(
                [self, timer, envelope](boost::system::error_code) { self->send(envelope); });
            return;
        }
        send(envelope, urgent);
    }

    DeviceEndpoint& m_owner;
    Transport m_transport;
    FrameDecoder m_decoder;
    std::array<char, kReadChunk> m_buffer{};
    std::deque<std::string> m_queue;
    bool m_writing = false;
    bool m_closed = false;
    bool m_handshaken = false;
    bool m_refusing = false;
    std::chrono::milliseconds m_timeout{500};
    std::uint64_t m_heartbeats = 0;
    std::uint64_t m_telemetrySequence = 0;
    asio::steady_timer m_handshakeTimer;
    asio::steady_timer m_heartbeatTimer;
    asio::steady_timer m_watchdog;
    std::chrono::steady_clock::time_point m_writeStarted;
    std::size_t m_inFlight = 0;  // frames at the front of m_queue being written
    std::vector<asio::const_buffer> m_buffers;

    friend class DeviceEndpoint;
};

DeviceEndpoint::DeviceEndpoint(asio::io_context& io, Strand strand, DeviceBehaviour& behaviour,
                               EndpointOptions options)
    : m_io(io),
      m_strand(std::move(strand)),
      m_behaviour(behaviour),
      m_options(std::move(options)),
      m_acceptor(m_strand) {}

Result<std::uint16_t> DeviceEndpoint::listen(const tcp::endpoint& at) {
    boost::system::error_code error;
    m_acceptor.open(at.protocol(), error);
    if (!error) {
        m_acceptor.set_option(tcp::acceptor::reuse_address(true), error);
    }
    if (!error) {
        m_acceptor.bind(at, error);
    }
    if (!error) {
        m_acceptor.listen(asio::socket_base::max_listen_connections, error);
    }
    if (error) {
        return makeError(ErrorCode::InvalidInput, "--listen",
                         "cannot listen on " + at.address().to_string() + ":" +
                             std::to_string(at.port()) + ": " + error.message());
    }
    const std::uint16_t port = m_acceptor.local_endpoint().port();
    asio::post(m_strand, [self = shared_from_this()] { self->accept(); });
    return port;
}

void DeviceEndpoint::stop() {
    asio::post(m_strand, [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->m_acceptor.close(ignored);
        if (self->m_session) {
            self->m_session->close("device shutting down");
        }
    });
}

void DeviceEndpoint::accept() {
    auto session = std::make_shared<Session>(*this);
    m_acceptor.async_accept(session->transport().socket(), [self = shared_from_this(), session](
                                                               boost::system::error_code error) {
        if (error == asio::error::operation_aborted) {
            return;
        }
        if (!error) {
            boost::system::error_code ignored;
            session->transport().socket().set_option(tcp::no_delay(true), ignored);
            if (self->m_session) {
                // One controller at a time: tell the second one why.
                session->start();
                session->refuse(pb::REFUSAL_BUSY, "another controller holds this device");
            } else {
                self->m_session = session;
                self->m_messagesReceived = 0;
                session->start();
            }
        }
        self->accept();
    });
}

void DeviceEndpoint::remember(const pb::Command& command, const pb::CommandResult& result) {
    if (m_results.find(result.id()) == m_results.end()) {
        m_resultOrder.push_back(result.id());
        if (m_resultOrder.size() > kRememberedResults) {
            m_results.erase(m_resultOrder.front());
            m_resultOrder.pop_front();
        }
    }
    Remembered& entry = m_results[result.id()];
    entry.command = command.SerializeAsString();
    entry.result = result;
    entry.result.clear_state();
}

void DeviceEndpoint::sendState() {
    if (m_session && m_session->handshaken()) {
        pb::Envelope envelope;
        *envelope.mutable_state() = m_behaviour.state();
        m_session->send(envelope);
    }
}

void DeviceEndpoint::sendTelemetry(pb::Telemetry telemetry) {
    if (m_session && m_session->handshaken()) {
        telemetry.set_sequence(++m_session->m_telemetrySequence);
        pb::Envelope envelope;
        *envelope.mutable_telemetry() = std::move(telemetry);
        m_session->send(envelope);
    }
}

void DeviceEndpoint::sendFault(const pb::Fault& fault) {
    if (m_session && m_session->handshaken()) {
        pb::Envelope envelope;
        *envelope.mutable_fault() = fault;
        m_session->send(envelope, true);
    }
}

void DeviceEndpoint::complete(pb::CommandResult result) {
    if (auto known = m_results.find(result.id()); known != m_results.end()) {
        known->second.result = result;  // the final result replaces ACCEPTED
        known->second.result.clear_state();
    }
    if (m_session && m_session->handshaken()) {
        *result.mutable_state() = m_behaviour.state();
        pb::Envelope envelope;
        *envelope.mutable_result() = std::move(result);
        m_session->send(envelope);
    }
}

}  // namespace neuroplan::device
