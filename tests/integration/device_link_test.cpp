// The real device link (core/device/link.h) against real neurosim processes on 127.0.0.1.
// Every wait has a deadline; no assertion is about how long something took, only about what
// happened and in which order.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "device/link.h"
#include "support.h"

namespace {

using namespace neuroplan::device;
using neuroplan::testing::BackgroundProcess;
using Kind = LinkEvent::Kind;
using namespace std::chrono_literals;

const std::string kSha(64, 'a');

/// neurosim in the background; the port it listens on.
struct Sim {
    std::unique_ptr<BackgroundProcess> process;
    std::uint16_t port = 0;
    std::vector<std::uint16_t> ports;

    explicit Sim(const std::string& kind, std::vector<std::string> extra = {}, int count = 1) {
        std::vector<std::string> argv{NEUROSIM_PATH,        "--kind",      kind,
                                      "--listen",           "127.0.0.1:0", "--count",
                                      std::to_string(count)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        process = std::make_unique<BackgroundProcess>(argv);
        for (int i = 0; i < count; ++i) {
            const std::string line = process->readLine(10s);
            if (const std::uint16_t listening = neuroplan::testing::listeningPort(line)) {
                ports.push_back(listening);
            }
        }
        if (!ports.empty()) {
            port = ports.front();
        }
    }
};

/// A DeviceLink with its io_context on a thread, and the events it reported.
class Controller {
    asio::io_context m_io;  // first: outlives the link and its timers

  public:
    explicit Controller(std::uint16_t port, LinkOptions options = {}) {
        options.port = port;
        auto created = DeviceLink::create(m_io, options, [this](const LinkEvent& event) {
            std::lock_guard lock(m_mutex);
            m_events.push_back(event);
            m_changed.notify_all();
        });
        if (!created) {
            ADD_FAILURE() << created.error().describe();
            return;
        }
        link = *created;
        m_work.emplace(asio::make_work_guard(m_io));
        m_thread = std::thread([this] { m_io.run(); });
        link->start();
    }
    ~Controller() {
        if (link) {
            link->close();
        }
        m_work.reset();
        m_io.stop();
        if (m_thread.joinable()) {
            m_thread.join();
        }
    }

    /// The first event (after `from`) that matches, within `timeout`.
    std::optional<LinkEvent> waitFor(const std::function<bool(const LinkEvent&)>& match,
                                     std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(m_mutex);
        std::optional<LinkEvent> found;
        m_changed.wait_for(lock, timeout, [&] {
            for (; m_cursor < m_events.size(); ++m_cursor) {
                if (match(m_events[m_cursor])) {
                    found = m_events[m_cursor++];
                    return true;
                }
            }
            return false;
        });
        return found;
    }
    std::optional<LinkEvent> waitFor(Kind kind, std::chrono::milliseconds timeout = 10s) {
        return waitFor([kind](const LinkEvent& e) { return e.kind == kind; }, timeout);
    }
    pb::CommandResult run(pb::Command command) {
        auto future = link->send(std::move(command));
        if (future.wait_for(15s) != std::future_status::ready) {
            ADD_FAILURE() << "no result";
            return {};
        }
        return future.get();
    }
    std::vector<LinkEvent> events() {
        std::lock_guard lock(m_mutex);
        return {m_events.begin(), m_events.end()};
    }

    std::shared_ptr<DeviceLink> link;

  private:
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> m_work;
    std::thread m_thread;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<LinkEvent> m_events;
    std::size_t m_cursor = 0;
};

pb::Command loadRtms(double hz, std::uint32_t pulses, std::uint32_t trains, double output = 60,
                     std::string sha = kSha) {
    pb::Command command;
    auto* load = command.mutable_load();
    auto* p = load->mutable_rtms();
    p->set_pattern(pb::PATTERN_STANDARD);
    p->set_frequency_hz(hz);
    p->set_pulses_per_train(pulses);
    p->set_train_count(trains);
    p->set_inter_train_interval_s(0.2);
    p->set_output_percent(output);
    load->set_approved_sha256(std::move(sha));
    return command;
}

pb::Command simple(void (*set)(pb::Command&)) {
    pb::Command command;
    set(command);
    return command;
}
pb::Command arm() {
    return simple([](pb::Command& c) { c.mutable_arm(); });
}
pb::Command start() {
    return simple([](pb::Command& c) { c.mutable_start(); });
}
pb::Command stop() {
    return simple([](pb::Command& c) { c.mutable_stop(); });
}
pb::Command estop() {
    return simple([](pb::Command& c) { c.mutable_emergency_stop(); });
}
pb::Command readState() {
    return simple([](pb::Command& c) { c.mutable_read_state(); });
}

/// Connected, and the state read after connecting.
void connect(Controller& c) {
    ASSERT_TRUE(c.waitFor(Kind::Connected));
    auto reloaded =
        c.waitFor([](const LinkEvent& e) { return e.kind == Kind::State && e.reloaded; });
    ASSERT_TRUE(reloaded);
}

void startStimulating(Controller& c, double hz = 20, std::uint32_t pulses = 1000) {
    ASSERT_EQ(c.run(loadRtms(hz, pulses, 1)).status(), pb::COMMAND_DONE);
    ASSERT_EQ(c.run(arm()).status(), pb::COMMAND_DONE);
    ASSERT_EQ(c.run(start()).status(), pb::COMMAND_DONE);
    ASSERT_TRUE(c.waitFor(Kind::Telemetry));
}

TEST(DeviceLinkHandshake, ReportsIdentityAndCapabilities) {
    Sim sim("rtms");
    ASSERT_NE(sim.port, 0);
    Controller c(sim.port);
    auto connected = c.waitFor(Kind::Connected);
    ASSERT_TRUE(connected);
    EXPECT_EQ(connected->peer.kind(), pb::DEVICE_KIND_RTMS);
    EXPECT_EQ(connected->peer.role(), pb::ROLE_DEVICE);
    EXPECT_EQ(connected->peer.version(), 1u);
    EXPECT_FALSE(connected->peer.serial().empty());
    EXPECT_EQ(connected->peer.heartbeat_timeout_ms(), 500u);
    EXPECT_GT(connected->peer.capabilities().max_frequency_hz(), 0);
    auto reloaded =
        c.waitFor([](const LinkEvent& e) { return e.kind == Kind::State && e.reloaded; });
    ASSERT_TRUE(reloaded);
    EXPECT_EQ(reloaded->state.phase(), pb::PHASE_IDLE);
}

TEST(DeviceLinkHandshake, WrongKindIsRefusedWithATypedReason) {
    Sim sim("vns");
    LinkOptions options;
    options.expectKind = pb::DEVICE_KIND_RTMS;
    Controller c(sim.port, options);
    auto down = c.waitFor(Kind::Down);
    ASSERT_TRUE(down);
    EXPECT_EQ(down->down, LinkDown::Refused);
    EXPECT_EQ(down->refusal, pb::REFUSAL_KIND);
    EXPECT_FALSE(down->willReconnect);
}

TEST(DeviceLinkHandshake, InjectedRefusalIsTyped) {
    Sim sim("rtms", {"--fault", "refuse-handshake"});
    Controller c(sim.port);
    auto down = c.waitFor(Kind::Down);
    ASSERT_TRUE(down);
    EXPECT_EQ(down->down, LinkDown::Refused);
    EXPECT_EQ(down->refusal, pb::REFUSAL_DEVICE_SAYS);
}

TEST(DeviceLinkHandshake, SecondControllerIsRefusedAsBusy) {
    Sim sim("rtms");
    Controller first(sim.port);
    connect(first);
    Controller second(sim.port);
    auto down = second.waitFor(Kind::Down);
    ASSERT_TRUE(down);
    EXPECT_EQ(down->refusal, pb::REFUSAL_BUSY);
}

/// A raw connection that sends `first` and returns what the device answers (first frame).
std::optional<pb::Envelope> rawExchange(std::uint16_t port, const pb::Envelope& first) {
    asio::io_context io;
    tcp::socket socket(io);
    boost::system::error_code error;
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), error);
    if (error) {
        return std::nullopt;
    }
    asio::write(socket, asio::buffer(encodeFrame(first)), error);
    FrameDecoder decoder;
    pb::Envelope answer;
    char buffer[4096];
    for (;;) {
        const std::size_t n = socket.read_some(asio::buffer(buffer), error);
        if (error) {
            return std::nullopt;
        }
        decoder.append(std::string_view(buffer, n));
        if (decoder.next(answer) == FrameDecoder::Status::Frame) {
            return answer;
        }
    }
}

TEST(DeviceLinkHandshake, DeviceRefusesAnIncompatibleVersionRoleOrFirstMessage) {
    Sim sim("rtms");
    pb::Envelope hello;
    hello.mutable_hello()->set_role(pb::ROLE_CONTROLLER);
    hello.mutable_hello()->set_version_min(2);
    hello.mutable_hello()->set_version_max(3);
    auto answer = rawExchange(sim.port, hello);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->refusal().reason(), pb::REFUSAL_VERSION) << answer->DebugString();

    hello.mutable_hello()->set_version_min(1);
    hello.mutable_hello()->set_version_max(1);
    hello.mutable_hello()->set_role(pb::ROLE_DEVICE);  // a device calling a device
    answer = rawExchange(sim.port, hello);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->refusal().reason(), pb::REFUSAL_ROLE);

    pb::Envelope notHello;
    notHello.mutable_heartbeat()->set_counter(1);
    answer = rawExchange(sim.port, notHello);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->refusal().reason(), pb::REFUSAL_NOT_HELLO);

    // A controller speaking versions 1..5 is answered with the one both speak.
    hello.mutable_hello()->set_role(pb::ROLE_CONTROLLER);
    hello.mutable_hello()->set_version_max(5);
    answer = rawExchange(sim.port, hello);
    ASSERT_TRUE(answer);
    ASSERT_TRUE(answer->has_hello());
    EXPECT_EQ(answer->hello().version(), 1u);
}

TEST(DeviceLinkHandshake, NothingListeningIsConnectFailed) {
    Sim sim("rtms");
    const std::uint16_t port = sim.port;
    sim.process->kill();
    LinkOptions options;
    options.reconnect = false;
    Controller c(port, options);
    auto down = c.waitFor(Kind::Down);
    ASSERT_TRUE(down);
    EXPECT_EQ(down->down, LinkDown::ConnectFailed);
}

TEST(DeviceLinkHandshake, PlaintextOffLoopbackIsRefusedBeforeConnecting) {
    asio::io_context io;
    LinkOptions options;
    options.host = "192.0.2.10";
    options.port = 9;
    auto link = DeviceLink::create(io, options, nullptr);
    ASSERT_FALSE(link);
    EXPECT_EQ(link.error().field, "host");
    options.allowPlaintext = true;
    EXPECT_TRUE(DeviceLink::create(io, options, nullptr));
}

TEST(DeviceLinkCommands, LoadArmStartStopWithEverySettingReadBack) {
    Sim sim("rtms");
    Controller c(sim.port);
    connect(c);
    auto loaded = c.run(loadRtms(10, 20, 2, 55));
    ASSERT_EQ(loaded.status(), pb::COMMAND_DONE) << loaded.detail();
    EXPECT_EQ(loaded.state().phase(), pb::PHASE_LOADED);
    EXPECT_EQ(loaded.state().loaded().approved_sha256(), kSha);
    EXPECT_EQ(loaded.state().loaded().rtms().frequency_hz(), 10);
    EXPECT_EQ(loaded.state().loaded().rtms().pulses_per_train(), 20u);
    EXPECT_EQ(loaded.state().loaded().rtms().train_count(), 2u);
    EXPECT_EQ(loaded.state().output_percent(), 55);
    EXPECT_EQ(loaded.state().pulses_planned(), 40u);
    EXPECT_EQ(c.run(arm()).state().phase(), pb::PHASE_ARMED);
    EXPECT_EQ(c.run(start()).state().phase(), pb::PHASE_STIMULATING);
    auto telemetry = c.waitFor(Kind::Telemetry);
    ASSERT_TRUE(telemetry);
    EXPECT_EQ(telemetry->telemetry.pulse_index(), 1u);
    EXPECT_EQ(telemetry->telemetry.delivered_output(), 55);
    auto stopped = c.run(stop());
    EXPECT_EQ(stopped.status(), pb::COMMAND_DONE);
    EXPECT_EQ(stopped.state().phase(), pb::PHASE_LOADED);
    EXPECT_EQ(stopped.state().last_stop(), pb::STOP_OPERATOR);
}

TEST(DeviceLinkCommands, ACourseRunsToCompletion) {
    Sim sim("rtms");
    Controller c(sim.port);
    connect(c);
    ASSERT_EQ(c.run(loadRtms(50, 10, 2)).status(), pb::COMMAND_DONE);
    ASSERT_EQ(c.run(arm()).status(), pb::COMMAND_DONE);
    ASSERT_EQ(c.run(start()).status(), pb::COMMAND_DONE);
    auto done = c.waitFor([](const LinkEvent& e) {
        return e.kind == Kind::State && e.state.last_stop() == pb::STOP_COMPLETED;
    });
    ASSERT_TRUE(done);
    EXPECT_EQ(done->state.pulses_delivered(), 20u);
    EXPECT_EQ(done->state.trains_delivered(), 2u);
    // Telemetry: 20 pulses, consecutive sequence numbers, none lost.
    int pulses = 0;
    for (const auto& e : c.events()) {
        if (e.kind == Kind::Telemetry) {
            ++pulses;
            EXPECT_EQ(e.telemetryLost, 0u);
        }
    }
    EXPECT_EQ(pulses, 20);
}

TEST(DeviceLinkCommands, DeviceEnforcesItsOwnLimits) {
    Sim sim("rtms");
    Controller c(sim.port);
    connect(c);
    auto noHash = c.run(loadRtms(10, 20, 1, 60, ""));
    EXPECT_EQ(noHash.status(), pb::COMMAND_REJECTED);
    EXPECT_EQ(noHash.reason(), pb::REJECT_HASH_MISSING);
    auto overOutput = c.run(loadRtms(10, 20, 1, 150));
    EXPECT_EQ(overOutput.reason(), pb::REJECT_OVER_LIMIT);
    auto overFrequency = c.run(loadRtms(500, 20, 1));
    EXPECT_EQ(overFrequency.reason(), pb::REJECT_OVER_LIMIT);
    auto tooManyPulses = c.run(loadRtms(10, 5000, 1));
    EXPECT_EQ(tooManyPulses.reason(), pb::REJECT_OVER_LIMIT);
    auto startUnarmed = c.run(start());
    EXPECT_EQ(startUnarmed.status(), pb::COMMAND_REJECTED);
    EXPECT_EQ(startUnarmed.reason(), pb::REJECT_WRONG_STATE);
    pb::Command vnsOnRtms;
    vnsOnRtms.mutable_impedance_test();
    EXPECT_EQ(c.run(vnsOnRtms).reason(), pb::REJECT_WRONG_KIND);
    // Nothing was loaded by any of them.
    EXPECT_EQ(c.run(readState()).state().phase(), pb::PHASE_IDLE);
}

TEST(DeviceLinkCommands, ARefusedLoadLeavesTheDeviceAsItWas) {
    Sim sim("rtms", {"--profile", "magstim-rapid2-like"});
    Controller c(sim.port);
    connect(c);
    ASSERT_EQ(c.run(loadRtms(10, 20, 1)).status(), pb::COMMAND_DONE);
    // 1000 pulses at 10 Hz last 99.9 s: longer than the profile's 10 s train.
    auto refused = c.run(loadRtms(10, 1000, 1, 70, std::string(64, 'b')));
    EXPECT_EQ(refused.reason(), pb::REJECT_OVER_LIMIT);
    EXPECT_EQ(refused.state().phase(), pb::PHASE_LOADED);
    EXPECT_EQ(refused.state().loaded().approved_sha256(), kSha);
    EXPECT_EQ(refused.state().loaded().rtms().pulses_per_train(), 20u);
}

TEST(DeviceLinkCommands, IntensityNeverExceedsTheApprovedOutput) {
    Sim sim("rtms");
    Controller c(sim.port);
    connect(c);
    ASSERT_EQ(c.run(loadRtms(10, 20, 1, 60)).status(), pb::COMMAND_DONE);
    pb::Command lower;
    lower.mutable_set_intensity()->set_output_percent(50);
    EXPECT_EQ(c.run(lower).state().output_percent(), 50);
    pb::Command higher;
    higher.mutable_set_intensity()->set_output_percent(61);
    EXPECT_EQ(c.run(higher).reason(), pb::REJECT_OVER_LIMIT);
}

TEST(DeviceLinkCommands, PauseAndResumeContinueTheCount) {
    Sim sim("rtms");
    Controller c(sim.port);
    connect(c);
    startStimulating(c, 20, 60);
    pb::Command pause;
    pause.mutable_pause();
    auto paused = c.run(pause);
    ASSERT_EQ(paused.state().phase(), pb::PHASE_PAUSED);
    const auto at = paused.state().pulses_delivered();
    EXPECT_EQ(c.run(readState()).state().pulses_delivered(), at);
    pb::Command resume;
    resume.mutable_resume();
    ASSERT_EQ(c.run(resume).status(), pb::COMMAND_DONE);
    auto done = c.waitFor([](const LinkEvent& e) {
        return e.kind == Kind::State && e.state.last_stop() == pb::STOP_COMPLETED;
    });
    ASSERT_TRUE(done);
    EXPECT_EQ(done->state.pulses_delivered(), 60u);
}

TEST(DeviceLinkCommands, AnIdReusedForAnotherCommandIsRejected) {
    Sim sim("rtms");
    Controller c(sim.port);
    connect(c);
    pb::Command load = loadRtms(10, 20, 1);
    load.set_id(77);
    ASSERT_EQ(c.run(load).status(), pb::COMMAND_DONE);
    pb::Command other = arm();
    other.set_id(77);
    auto result = c.run(other);
    EXPECT_EQ(result.status(), pb::COMMAND_REJECTED);
    EXPECT_EQ(result.reason(), pb::REJECT_INVALID);
    EXPECT_EQ(result.state().phase(), pb::PHASE_LOADED);  // not armed
}

TEST(DeviceLinkCommands, RetriedCommandIdIsNotExecutedTwice) {
    Sim sim("rtms");
    Controller c(sim.port);
    connect(c);
    ASSERT_EQ(c.run(loadRtms(10, 100, 1)).status(), pb::COMMAND_DONE);
    ASSERT_EQ(c.run(arm()).status(), pb::COMMAND_DONE);
    pb::Command first = start();
    first.set_id(1000);
    ASSERT_EQ(c.run(first).status(), pb::COMMAND_DONE);
    // The same id again: answered with the first result, not "start while stimulating".
    auto again = c.run(first);
    EXPECT_EQ(again.status(), pb::COMMAND_DONE);
    EXPECT_EQ(again.id(), 1000u);
    c.run(stop());
    // The device log shows one start.
    c.link->requestLog(0, 100);
    auto log = c.waitFor(Kind::Log);
    ASSERT_TRUE(log);
    int starts = 0;
    for (const auto& entry : log->log.entries()) {
        starts += entry.event() == "started" ? 1 : 0;
    }
    EXPECT_EQ(starts, 1);
}

TEST(DeviceLinkSafety, EmergencyStopDuringATrain) {
    Sim sim("rtms");
    Controller c(sim.port);
    connect(c);
    startStimulating(c);
    auto result = c.run(estop());
    EXPECT_EQ(result.status(), pb::COMMAND_DONE);
    EXPECT_EQ(result.state().phase(), pb::PHASE_LOADED);  // disarmed
    EXPECT_EQ(result.state().last_stop(), pb::STOP_EMERGENCY);
    const auto pulses = result.state().pulses_delivered();
    EXPECT_LT(pulses, 1000u);
    EXPECT_EQ(c.run(readState()).state().pulses_delivered(), pulses);  // nothing after the stop
}

TEST(DeviceLinkSafety, LinkCutMidTrainStopsTheDeviceAndTheControllerSeesWhy) {
    Sim sim("rtms");
    Controller c(sim.port);
    connect(c);
    startStimulating(c);
    c.link->simulateCut();  // the network goes silent: no heartbeats, no close
    auto down = c.waitFor(Kind::Down);
    ASSERT_TRUE(down);
    EXPECT_TRUE(down->willReconnect);
    ASSERT_TRUE(c.waitFor(Kind::Connected));
    auto reloaded =
        c.waitFor([](const LinkEvent& e) { return e.kind == Kind::State && e.reloaded; });
    ASSERT_TRUE(reloaded);
    EXPECT_EQ(reloaded->state.phase(), pb::PHASE_LOADED);  // stopped and disarmed by itself
    EXPECT_EQ(reloaded->state.last_stop(), pb::STOP_LINK_LOST);
    EXPECT_NE(reloaded->state.last_stop_detail().find("no heartbeat"), std::string::npos);
    EXPECT_LT(reloaded->state.pulses_delivered(), 1000u);
}

TEST(DeviceLinkSafety, ControllerProcessDeathStopsTheDevice) {
    Sim sim("rtms");
    {
        Controller c(sim.port);
        connect(c);
        startStimulating(c);
    }                            // the controller goes away (connection closed)
    Controller again(sim.port);  // the device may still hold the old session briefly: BUSY retries
    connect(again);
    auto state = again.run(readState()).state();
    EXPECT_EQ(state.phase(), pb::PHASE_LOADED);
    EXPECT_TRUE(state.last_stop() == pb::STOP_LINK_LOST) << pb::StopCause_Name(state.last_stop());
}

TEST(DeviceLinkSafety, DeviceThatStopsAnsweringHeartbeatsIsReported) {
    Sim sim("rtms", {"--fault", "silent-after=3"});
    Controller c(sim.port);
    ASSERT_TRUE(c.waitFor(Kind::Connected));
    auto down = c.waitFor(Kind::Down);
    ASSERT_TRUE(down);
    EXPECT_EQ(down->down, LinkDown::HeartbeatLost);
}

TEST(DeviceLinkSafety, DevicePowerLossIsReportedAndPendingCommandsFail) {
    Sim sim("rtms", {"--fault", "delay-ms=1000"});
    Controller c(sim.port);
    connect(c);
    auto pending = c.link->send(readState());
    sim.process->kill();
    auto down = c.waitFor(Kind::Down);
    ASSERT_TRUE(down);
    EXPECT_EQ(down->down, LinkDown::PeerClosed);
    ASSERT_EQ(pending.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(pending.get().status(), pb::COMMAND_FAILED);
}

TEST(DeviceLinkReconnect, StateIsReloadedAfterADroppedConnection) {
    Sim sim("rtms", {"--fault", "drop-after=12"});
    Controller c(sim.port);
    connect(c);
    ASSERT_EQ(c.run(loadRtms(10, 20, 1)).status(), pb::COMMAND_DONE);
    // Heartbeats push the count past 12: the device drops the connection.
    auto down = c.waitFor(Kind::Down);
    ASSERT_TRUE(down);
    ASSERT_TRUE(c.waitFor(Kind::Connected));
    auto reloaded =
        c.waitFor([](const LinkEvent& e) { return e.kind == Kind::State && e.reloaded; });
    ASSERT_TRUE(reloaded);
    EXPECT_EQ(reloaded->state.phase(), pb::PHASE_LOADED);
    EXPECT_EQ(reloaded->state.loaded().approved_sha256(), kSha);
}

TEST(DeviceLinkFaults, CoilOverTemperatureStopsAndIsTyped) {
    Sim sim("rtms", {"--fault", "overtemp-at-pulse=5"});
    Controller c(sim.port);
    connect(c);
    ASSERT_EQ(c.run(loadRtms(20, 100, 1)).status(), pb::COMMAND_DONE);
    ASSERT_EQ(c.run(arm()).status(), pb::COMMAND_DONE);
    ASSERT_EQ(c.run(start()).status(), pb::COMMAND_DONE);
    auto fault = c.waitFor(Kind::Fault);
    ASSERT_TRUE(fault);
    EXPECT_EQ(fault->fault.code(), pb::FAULT_COIL_OVER_TEMPERATURE);
    EXPECT_EQ(fault->fault.at_pulse(), 4u);
    auto state = c.run(readState()).state();
    EXPECT_EQ(state.phase(), pb::PHASE_FAULT);
    EXPECT_EQ(state.last_stop(), pb::STOP_FAULT);
    EXPECT_EQ(c.run(arm()).reason(), pb::REJECT_WRONG_STATE);
}

TEST(DeviceLinkFaults, CoilDisconnectedIsTyped) {
    Sim sim("rtms", {"--fault", "coil-disconnect-at-pulse=3"});
    Controller c(sim.port);
    connect(c);
    ASSERT_EQ(c.run(loadRtms(20, 100, 1)).status(), pb::COMMAND_DONE);
    ASSERT_EQ(c.run(arm()).status(), pb::COMMAND_DONE);
    ASSERT_EQ(c.run(start()).status(), pb::COMMAND_DONE);
    auto fault = c.waitFor(Kind::Fault);
    ASSERT_TRUE(fault);
    EXPECT_EQ(fault->fault.code(), pb::FAULT_COIL_DISCONNECTED);
}

TEST(DeviceLinkFaults, CorruptFrameIsDroppedAndReported) {
    // Frames 1-3 are the device's Hello, its first heartbeat and the reload result; the fifth
    // (a heartbeat) arrives as garbage.
    Sim sim("rtms", {"--fault", "corrupt-frame=5"});
    Controller c(sim.port);
    connect(c);
    auto dropped = c.waitFor(Kind::Dropped);
    ASSERT_TRUE(dropped);
    EXPECT_EQ(dropped->dropped, FrameError::Garbage);
    // The link stays up.
    EXPECT_EQ(c.run(readState()).status(), pb::COMMAND_DONE);
}

TEST(DeviceLinkFaults, SlowRepliesTimeOutAsFailed) {
    Sim sim("rtms", {"--fault", "delay-ms=1500"});
    LinkOptions options;
    options.commandTimeout = 300ms;
    Controller c(sim.port, options);
    ASSERT_TRUE(c.waitFor(Kind::Connected));
    auto result = c.run(readState());
    EXPECT_EQ(result.status(), pb::COMMAND_FAILED);
    EXPECT_NE(result.detail().find("no answer"), std::string::npos);
}

TEST(DeviceLinkVns, ProgramInterrogateAndImpedance) {
    Sim sim("vns");
    Controller c(sim.port);
    connect(c);
    pb::Command program;
    auto* v = program.mutable_program()->mutable_vns();
    v->set_output_current_ma(0.25);
    v->set_frequency_hz(20);
    v->set_pulse_width_us(250);
    v->set_on_time_s(30);
    v->set_off_time_s(300);
    EXPECT_EQ(c.run(program).reason(), pb::REJECT_HASH_MISSING);  // only approved settings
    program.mutable_program()->set_approved_sha256(kSha);
    auto programmed = c.run(program);
    ASSERT_EQ(programmed.status(), pb::COMMAND_DONE) << programmed.detail();
    EXPECT_EQ(programmed.state().loaded().vns().output_current_ma(), 0.25);
    pb::Command interrogate;
    interrogate.mutable_interrogate();
    auto state = c.run(interrogate).state();
    EXPECT_GT(state.battery_percent(), 0);
    pb::Command impedance;
    impedance.mutable_impedance_test();
    auto measured = c.run(impedance);
    EXPECT_EQ(measured.status(), pb::COMMAND_DONE);
    EXPECT_GT(measured.state().impedance_ohm(), 0);
    // Over the generator's limit.
    v->set_output_current_ma(4.0);
    EXPECT_EQ(c.run(program).reason(), pb::REJECT_OVER_LIMIT);
}

TEST(DeviceLinkVns, ImpedanceOutOfRangeIsAFault) {
    Sim sim("vns", {"--fault", "impedance-out-of-range"});
    Controller c(sim.port);
    connect(c);
    pb::Command impedance;
    impedance.mutable_impedance_test();
    auto result = c.run(impedance);
    EXPECT_EQ(result.status(), pb::COMMAND_FAILED);
    auto fault = c.waitFor(Kind::Fault);
    ASSERT_TRUE(fault);
    EXPECT_EQ(fault->fault.code(), pb::FAULT_IMPEDANCE_OUT_OF_RANGE);
}

TEST(DeviceLinkSim, SeveralDevicesInOneProcess) {
    Sim sim("rtms", {}, 3);
    ASSERT_EQ(sim.ports.size(), 3u);
    std::set<std::string> serials;
    for (auto port : sim.ports) {
        Controller c(port);
        auto connected = c.waitFor(Kind::Connected);
        ASSERT_TRUE(connected);
        serials.insert(connected->peer.serial());
    }
    EXPECT_EQ(serials.size(), 3u);
}

// ---- TLS ---------------------------------------------------------------------------------------

/// A clinic CA and certificates for one device and one controller, made with openssl.
struct Pki {
    neuroplan::testing::TempDir dir;
    bool ok = false;
    Pki() {
        const std::string d = dir.path().string();
        const std::string script =
            "set -e; cd '" + d +
            "';"
            "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
            "-subj '/CN=Test Clinic CA' 2>/dev/null;"
            "for n in device controller; do "
            "openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj \"/CN=$n\" "
            "2>/dev/null;"
            "openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem "
            "-days 2 2>/dev/null; done;"
            "openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.pem -days 2 "
            "-subj '/CN=rogue' 2>/dev/null";
        ok = neuroplan::testing::runProcess({"/bin/sh", "-c", script}).exitCode == 0;
    }
    std::string operator()(const std::string& name) const { return (dir.path() / name).string(); }
};

TEST(DeviceLinkTls, MutualTlsHandshake) {
    Pki pki;
    ASSERT_TRUE(pki.ok);
    Sim sim("rtms", {"--tls-cert", pki("device.pem"), "--tls-key", pki("device.key"), "--tls-ca",
                     pki("ca.pem")});
    LinkOptions options;
    options.tls = TlsConfig{pki("controller.pem"), pki("controller.key"), pki("ca.pem")};
    Controller c(sim.port, options);
    connect(c);
    EXPECT_EQ(c.run(readState()).status(), pb::COMMAND_DONE);
}

TEST(DeviceLinkTls, ControllerWithoutACertificateTheCaSignedIsRejected) {
    Pki pki;
    ASSERT_TRUE(pki.ok);
    Sim sim("rtms", {"--tls-cert", pki("device.pem"), "--tls-key", pki("device.key"), "--tls-ca",
                     pki("ca.pem")});
    LinkOptions options;
    options.reconnect = false;
    options.tls = TlsConfig{pki("rogue.pem"), pki("rogue.key"), pki("ca.pem")};
    Controller c(sim.port, options);
    auto down = c.waitFor(Kind::Down);
    ASSERT_TRUE(down);
    EXPECT_NE(down->down, LinkDown::Closed);
    EXPECT_FALSE(c.waitFor(Kind::Connected, 500ms));
}

TEST(DeviceLinkTls, PlaintextControllerCannotTalkToATlsDevice) {
    Pki pki;
    ASSERT_TRUE(pki.ok);
    Sim sim("rtms", {"--tls-cert", pki("device.pem"), "--tls-key", pki("device.key"), "--tls-ca",
                     pki("ca.pem")});
    LinkOptions options;
    options.reconnect = false;
    options.handshakeTimeout = 1000ms;
    Controller c(sim.port, options);
    auto down = c.waitFor(Kind::Down);
    ASSERT_TRUE(down);
    EXPECT_FALSE(c.waitFor(Kind::Connected, 200ms));
}

}  // namespace
