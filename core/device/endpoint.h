// neuroplan::device — the device side of the link, reused by the simulator (and by any real
// device adapter): accepts one controller at a time, does the handshake, answers heartbeats,
// stops the device when the controller's heartbeats stop, keeps command ids idempotent, and
// passes commands to a DeviceBehaviour. Everything of one device runs on one strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "device/framing.h"
#include "device/transport.h"

namespace neuroplan::device {

class DeviceEndpoint;

/// What the endpoint needs from the device it fronts. Called on the endpoint's strand.
class DeviceBehaviour {
  public:
    virtual ~DeviceBehaviour() = default;
    /// The device's identity and capabilities for the handshake.
    virtual pb::Hello identity() const = 0;
    /// Runs a command. A final result (DONE, REJECTED, FAILED) is sent at once; ACCEPTED means
    /// the device finishes later through DeviceEndpoint::complete().
    virtual pb::CommandResult execute(const pb::Command& command) = 0;
    virtual pb::State state() const = 0;
    /// The controller's heartbeats stopped (or the link dropped): stop and disarm.
    virtual void linkLost(const std::string& why) = 0;
    virtual pb::LogChunk readLog(std::uint64_t fromOffset, std::uint32_t maxEntries) const = 0;
};

/// Protocol-level faults the simulator can inject (docs/device-protocol.md, "Fault injection").
struct EndpointFaults {
    std::optional<std::uint64_t> dropAfterMessages;  ///< close after receiving N messages
    std::chrono::milliseconds replyDelay{0};         ///< delay every command result
    std::optional<std::uint64_t> corruptFrame;       ///< send garbage as the Nth frame
    bool refuseHandshake = false;
    std::optional<std::uint64_t> silentAfterMessages;  ///< stop heartbeats after N messages
};

struct EndpointOptions {
    std::chrono::milliseconds heartbeatTimeout{500};  ///< the most the device accepts
    std::chrono::milliseconds handshakeTimeout{2000};
    std::chrono::milliseconds writeTimeout{1000};
    EndpointFaults faults;
    std::shared_ptr<asio::ssl::context> tls;  ///< null: plaintext
};

class DeviceEndpoint : public std::enable_shared_from_this<DeviceEndpoint> {
  public:
    using Strand = asio::strand<asio::io_context::executor_type>;

    DeviceEndpoint(asio::io_context& io, Strand strand, DeviceBehaviour& behaviour,
                   EndpointOptions options);

    /// Binds and listens; port 0 picks a free port. Returns the bound port.
    Result<std::uint16_t> listen(const tcp::endpoint& at);
    void stop();

    // Device -> controller. Safe to call on the strand at any time; dropped when no controller.
    void sendState();
    void sendTelemetry(pb::Telemetry telemetry);  // fills the sequence number
    void sendFault(const pb::Fault& fault);
    /// Finishes an ACCEPTED command.
    void complete(pb::CommandResult result);

    bool connected() const { return m_session != nullptr; }
    const Strand& strand() const { return m_strand; }

  private:
    class Session;
    void accept();

    asio::io_context& m_io;
    Strand m_strand;
    DeviceBehaviour& m_behaviour;
    EndpointOptions m_options;
    tcp::acceptor m_acceptor;
    std::shared_ptr<Session> m_session;
    struct Remembered {
        std::string command;  // the command's bytes: the same id must mean the same command
        pb::CommandResult result;
    };
    void remember(const pb::Command& command, const pb::CommandResult& result);
    std::map<std::uint64_t, Remembered> m_results;  // idempotency: id -> first result
    std::deque<std::uint64_t> m_resultOrder;
    std::uint64_t m_messagesReceived = 0;
    std::uint64_t m_framesSent = 0;
};

}  // namespace neuroplan::device
