// neuroplan::device — the controller side of the link: one DeviceLink per device, its own
// strand, a single-writer queue (emergency stop goes to the front), deadlines on connect,
// handshake and write, heartbeats both ways, and reconnection with backoff. After every
// (re)connection the link reads the device's whole state (a State event with reloaded = true)
// and trusts nothing it cached; if that state does not come within handshakeTimeout the link is
// dropped and tried again.
//
// Events reach the owner through one callback, called on the link's strand. The Qt app wraps
// it in a thin adapter that re-emits them as queued signals.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "device/framing.h"
#include "device/transport.h"

namespace neuroplan::device {

struct LinkOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    pb::DeviceKind expectKind = pb::DEVICE_KIND_UNSPECIFIED;  ///< refuse a device of another kind
    std::string controllerName = "NeuroPlan";
    std::chrono::milliseconds heartbeatTimeout{500};
    std::chrono::milliseconds connectTimeout{2000};
    std::chrono::milliseconds handshakeTimeout{2000};
    std::chrono::milliseconds writeTimeout{1000};
    std::chrono::milliseconds commandTimeout{5000};
    std::chrono::milliseconds reconnectMin{100};
    std::chrono::milliseconds reconnectMax{2000};
    bool reconnect = true;
    std::optional<TlsConfig> tls;
    bool allowPlaintext = false;  ///< plaintext to a non-loopback peer (explicit risk)
};

/// Why the link is down.
enum class LinkDown {
    ConnectFailed,     ///< no TCP connection (refused, unreachable, timed out)
    TlsFailed,         ///< the TLS handshake failed (certificate, CA)
    HandshakeTimeout,  ///< no Hello in time
    Refused,           ///< the peer refused the handshake (see refusal)
    Incompatible,      ///< we refused the peer (version, role, kind)
    HeartbeatLost,     ///< the device's heartbeats stopped
    PeerClosed,        ///< the device closed the connection
    ProtocolError,     ///< a frame that desynchronised the stream
    WriteTimeout,
    Closed,  ///< close() was called
};
const char* toString(LinkDown reason);

struct LinkEvent {
    enum class Kind { Connected, Down, State, Telemetry, Fault, Result, Log, Dropped };
    Kind kind = Kind::State;
    pb::Hello peer;                                       // Connected
    LinkDown down = LinkDown::Closed;                     // Down
    pb::RefusalReason refusal = pb::REFUSAL_UNSPECIFIED;  // Down: Refused / Incompatible
    std::string detail;                                   // Down: what happened, for a person
    bool willReconnect = false;                           // Down
    pb::State state;  // State (reloaded: the first after a connection)
    bool reloaded = false;
    pb::Telemetry telemetry;
    std::uint64_t telemetryLost = 0;  // Telemetry: gap in sequence numbers before this one
    pb::Fault fault;
    pb::CommandResult result;  // Result (every one, including intermediate ones)
    pb::LogChunk log;
    FrameError dropped = FrameError::None;  // Dropped: an unreadable frame was skipped
};

class DeviceLink : public std::enable_shared_from_this<DeviceLink> {
  public:
    using Strand = asio::strand<asio::io_context::executor_type>;
    using Handler = std::function<void(const LinkEvent&)>;

    /// Validates the options (address, transport policy, TLS files); does not connect yet.
    static Result<std::shared_ptr<DeviceLink>> create(asio::io_context& io, LinkOptions options,
                                                      Handler handler);
    ~DeviceLink();

    void start();  ///< connect (and keep reconnecting if options.reconnect)
    void close();  ///< stop for good; pending commands fail

    /// Sends a command (id 0: the link picks one). The future gives the final result (DONE,
    /// REJECTED or FAILED); it is FAILED with a reason if the link goes down first or no final
    /// answer comes within commandTimeout. Emergency stop is written ahead of queued frames.
    std::future<pb::CommandResult> send(pb::Command command);
    /// Asks for the device log from `offset` (answer: a Log event).
    void requestLog(std::uint64_t offset, std::uint32_t maxEntries);
    std::uint64_t nextCommandId();

    /// Test hook: behave as if the network went silent (no more writes, no heartbeats, no
    /// close) so the device's own watchdog must act.
    void simulateCut();

    const Strand& strand() const { return m_strand; }

  private:
    DeviceLink(asio::io_context& io, LinkOptions options, Handler handler,
               std::shared_ptr<asio::ssl::context> tls, asio::ip::address address);
    struct Pending {
        std::promise<pb::CommandResult> promise;
        std::chrono::steady_clock::time_point deadline;  ///< checked by supervise()
    };

    void connect();
    void onConnected();
    void read();
    void write();
    void enqueue(const pb::Envelope& envelope, bool urgent);
    void onFrame(const pb::Envelope& envelope);
    void onHello(const pb::Hello& hello);
    void heartbeat();
    /// On every heartbeat tick: a write that takes longer than writeTimeout drops the link;
    /// commands past their deadline fail.
    void supervise();
    void armWatchdog();
    void down(LinkDown reason, const std::string& detail,
              pb::RefusalReason refusal = pb::REFUSAL_UNSPECIFIED);
    void finish(std::uint64_t id, pb::CommandResult result);
    /// A result the link decides itself (deadline, link down): reported as a Result event too.
    void failLocally(std::uint64_t id, const pb::CommandResult& result);
    void notify(LinkEvent event);

    asio::io_context& m_io;
    Strand m_strand;
    LinkOptions m_options;
    Handler m_handler;
    std::shared_ptr<asio::ssl::context> m_tls;
    asio::ip::address m_address;
    std::unique_ptr<Transport> m_transport;
    FrameDecoder m_decoder;
    std::array<char, 16 * 1024> m_buffer{};
    std::deque<std::string> m_queue;
    bool m_writing = false;
    bool m_up = false;         // handshake done
    bool m_connected = false;  // TCP (and TLS) up
    bool m_closed = false;
    bool m_cut = false;
    bool m_reloadPending = false;
    std::uint64_t m_generation = 0;  // bumps per connection; stale handlers check it
    std::chrono::milliseconds m_backoff;
    std::chrono::milliseconds m_timeout;
    std::uint64_t m_heartbeats = 0;
    std::uint64_t m_lastTelemetry = 0;
    std::atomic<std::uint64_t> m_nextId;  // starts at a random value in 1..2^62
    std::map<std::uint64_t, Pending> m_pending;
    std::uint64_t m_reloadId = 0;
    asio::steady_timer m_timer;  // connect / handshake / reconnect
    asio::steady_timer m_heartbeatTimer;
    asio::steady_timer m_watchdog;
    std::chrono::steady_clock::time_point m_writeStarted;
};

}  // namespace neuroplan::device
