// device_link_bench — how fast and how safe NeuroPlan's device link is on loopback (issue 6).
// A program that prints figures, not a test. In one run:
//   (1) floor: a plain Asio ping-pong over TCP with frames of the same sizes as (2)
//   (2) the link's command round trip (ReadState -> CommandResult with the full state), median
//       and p99, and its ratio to (1). Both are driven the same way: the next request is issued
//       from the completion of the previous one, each side on its own io_context thread; (1)
//       and (2) alternate in 10 blocks so that both see the same machine load.
//   (3) emergency-stop round trip while 20 simulated devices each stream per-pulse telemetry at
//       50 Hz: median, p99, and telemetry messages lost (sequence gaps)
//   (4) time from a link cut (controller goes silent) to the simulated device stopping, max over
//       100 cuts, against the 500 ms heartbeat timeout
// Devices are SimulatedDevice + DeviceEndpoint in this process (what neurosim runs), so the
// device's stop time and the cut time come from the same steady clock.
//
// Usage: device_link_bench [--round-trips N] [--estops N] [--cuts N]   (docs/performance.md)
#include <utility>  // before Asio (Boost 1.74 with C++20)

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "device/link.h"
#include "device/simulator.h"

namespace {

using namespace neuroplan::device;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string kSha(64, 'a');

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

/// An io_context on its own thread.
struct Runner {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    std::thread thread{[this] { io.run(); }};
    ~Runner() {
        work.reset();
        io.stop();
        thread.join();
    }
};

/// Simulated devices in one io_context, as `neurosim --count N` runs them.
struct Devices {
    Runner runner;
    std::vector<std::unique_ptr<SimulatedDevice>> sims;
    std::vector<std::shared_ptr<DeviceEndpoint>> endpoints;
    std::vector<std::uint16_t> ports;

    explicit Devices(int count) {
        for (int i = 0; i < count; ++i) {
            sims.push_back(std::make_unique<SimulatedDevice>(
                pb::DEVICE_KIND_RTMS, "BENCH-" + std::to_string(i), DeviceFaults{}));
            auto endpoint = std::make_shared<DeviceEndpoint>(
                runner.io, asio::make_strand(runner.io), *sims.back(), EndpointOptions{});
            sims.back()->attach(endpoint);
            auto port = endpoint->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
            if (!port) {
                std::fprintf(stderr, "listen: %s\n", port.error().describe().c_str());
                std::exit(1);
            }
            ports.push_back(*port);
            endpoints.push_back(endpoint);
        }
    }
    ~Devices() {
        for (auto& e : endpoints) {
            e->stop();
        }
        std::this_thread::sleep_for(50ms);
    }
};

/// A link and a place to wait for its events.
struct Link {
    std::shared_ptr<DeviceLink> link;
    std::mutex mutex;
    std::condition_variable changed;
    bool up = false;
    bool reloaded = false;
    int connections = 0;
    std::uint64_t telemetry = 0;
    std::uint64_t lost = 0;
    std::function<void(const LinkEvent&)> onResult;  // called on the link's strand

    Link(asio::io_context& io, std::uint16_t port) {
        LinkOptions options;
        options.port = port;
        options.reconnectMin = 20ms;
        auto created = DeviceLink::create(io, options, [this](const LinkEvent& e) {
            if (e.kind == LinkEvent::Kind::Result && onResult) {
                onResult(e);
            }
            std::lock_guard lock(mutex);
            switch (e.kind) {
                case LinkEvent::Kind::Connected:
                    up = true;
                    ++connections;
                    break;
                case LinkEvent::Kind::Down:
                    up = false;
                    reloaded = false;
                    break;
                case LinkEvent::Kind::State:
                    reloaded = reloaded || e.reloaded;
                    break;
                case LinkEvent::Kind::Telemetry:
                    ++telemetry;
                    lost += e.telemetryLost;
                    break;
                default:
                    break;
            }
            changed.notify_all();
        });
        link = *created;
        link->start();
    }
    void waitReady() {
        std::unique_lock lock(mutex);
        changed.wait_for(lock, 10s, [&] { return up && reloaded; });
    }
    pb::CommandResult run(pb::Command command) { return link->send(std::move(command)).get(); }
};

pb::Command loadRtms(double hz, std::uint32_t pulses) {
    pb::Command command;
    auto* p = command.mutable_load()->mutable_rtms();
    p->set_pattern(pb::PATTERN_STANDARD);
    p->set_frequency_hz(hz);
    p->set_pulses_per_train(pulses);
    p->set_train_count(1);
    p->set_output_percent(50);
    command.mutable_load()->set_approved_sha256(kSha);
    return command;
}
pb::Command action(void (*set)(pb::Command&)) {
    pb::Command c;
    set(c);
    return c;
}

void startStimulating(Link& l) {
    l.run(action([](pb::Command& c) { c.mutable_arm(); }));
    l.run(action([](pb::Command& c) { c.mutable_start(); }));
}

// ---- (1) the floor
// -------------------------------------------------------------------------------

/// Echo-style server: reads a request of `requestBytes`, answers `replyBytes`.
std::vector<double> asioPingPong(std::size_t requestBytes, std::size_t replyBytes, int rounds) {
    Runner serverSide;
    Runner clientSide;
    tcp::acceptor acceptor(serverSide.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket server(serverSide.io);
    tcp::socket client(clientSide.io);
    std::string request(requestBytes, 'q'), reply(replyBytes, 'r');
    std::string serverBuffer(requestBytes, 0), clientBuffer(replyBytes, 0);
    std::function<void()> serve = [&] {
        asio::async_read(server, asio::buffer(serverBuffer),
                         [&](boost::system::error_code e, std::size_t) {
                             if (e) {
                                 return;
                             }
                             asio::async_write(server, asio::buffer(reply),
                                               [&](boost::system::error_code e2, std::size_t) {
                                                   if (!e2) {
                                                       serve();
                                                   }
                                               });
                         });
    };
    acceptor.async_accept(server, [&](boost::system::error_code e) {
        if (!e) {
            server.set_option(tcp::no_delay(true));
            serve();
        }
    });
    client.connect(acceptor.local_endpoint());
    client.set_option(tcp::no_delay(true));
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(rounds));
    std::promise<void> finished;
    Clock::time_point sent;
    std::function<void()> ping = [&] {
        sent = Clock::now();
        asio::async_write(client, asio::buffer(request),
                          [&](boost::system::error_code e, std::size_t) {
                              if (e) {
                                  return;
                              }
                              asio::async_read(client, asio::buffer(clientBuffer),
                                               [&](boost::system::error_code e2, std::size_t) {
                                                   if (e2) {
                                                       return;
                                                   }
                                                   samples.push_back(micros(Clock::now() - sent));
                                                   if (static_cast<int>(samples.size()) == rounds) {
                                                       finished.set_value();
                                                   } else {
                                                       ping();
                                                   }
                                               });
                          });
    };
    asio::post(clientSide.io, ping);
    finished.get_future().wait();
    boost::system::error_code ignored;
    client.close(ignored);
    asio::post(serverSide.io, [&] {
        server.close(ignored);
        acceptor.close(ignored);
    });
    std::this_thread::sleep_for(20ms);
    return samples;
}

// ---- (2) the link's command round trip
// -----------------------------------------------------------

std::vector<double> linkRoundTrips(int rounds, std::size_t& requestBytes, std::size_t& replyBytes) {
    Devices devices(1);
    Runner controller;
    Link l(controller.io, devices.ports[0]);
    l.waitReady();
    l.run(loadRtms(10, 100));  // a loaded state: the reply carries the whole protocol
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(rounds));
    std::promise<void> finished;
    Clock::time_point sent;
    std::uint64_t expected = 0;
    const pb::Command read = action([](pb::Command& c) { c.mutable_read_state(); });
    const auto next = [&] {
        pb::Command command = read;
        command.set_id(l.link->nextCommandId());
        expected = command.id();
        sent = Clock::now();
        (void)l.link->send(std::move(command));
    };
    l.onResult = [&](const LinkEvent& e) {
        if (e.result.id() != expected) {
            return;
        }
        samples.push_back(micros(Clock::now() - sent));
        if (requestBytes == 0) {
            pb::Envelope request;
            *request.mutable_command() = read;
            request.mutable_command()->set_id(e.result.id());
            pb::Envelope reply;
            *reply.mutable_result() = e.result;
            requestBytes = encodeFrame(request).size();
            replyBytes = encodeFrame(reply).size();
        }
        if (static_cast<int>(samples.size()) == rounds) {
            finished.set_value();
        } else {
            next();
        }
    };
    asio::post(l.link->strand(), next);
    finished.get_future().wait();
    l.onResult = nullptr;
    l.link->close();
    std::this_thread::sleep_for(20ms);
    return samples;
}

// ---- (3) emergency stop under telemetry load
// -----------------------------------------------------

struct EstopFigures {
    std::vector<double> samples;
    std::uint64_t telemetry = 0;
    std::uint64_t lost = 0;
    int devices = 0;
};

EstopFigures estopUnderLoad(int deviceCount, int estops) {
    Devices devices(deviceCount);
    Runner controller;
    std::vector<std::unique_ptr<Link>> links;
    for (int i = 0; i < deviceCount; ++i) {
        links.push_back(
            std::make_unique<Link>(controller.io, devices.ports[static_cast<std::size_t>(i)]));
    }
    for (auto& l : links) {
        l->waitReady();
        l->run(loadRtms(50, 1800));  // 50 pulses a second, one telemetry message each
        startStimulating(*l);
    }
    std::this_thread::sleep_for(1s);  // every device streaming
    EstopFigures figures;
    figures.devices = deviceCount;
    // The round trip ends when the result reaches the controller's link (its io thread), not
    // when this thread wakes up from the future.
    std::atomic<std::uint64_t> expected{0};
    std::atomic<Clock::rep> arrived{0};
    for (auto& l : links) {
        l->onResult = [&](const LinkEvent& e) {
            if (e.result.id() == expected.load() && e.result.status() == pb::COMMAND_DONE) {
                arrived = Clock::now().time_since_epoch().count();
            }
        };
    }
    for (int i = 0; i < estops; ++i) {
        Link& l = *links[static_cast<std::size_t>(i % deviceCount)];
        pb::Command estop = action([](pb::Command& c) { c.mutable_emergency_stop(); });
        estop.set_id(l.link->nextCommandId());
        expected = estop.id();
        const auto sent = Clock::now();
        const auto result = l.run(std::move(estop));
        figures.samples.push_back(
            micros(Clock::time_point(Clock::duration(arrived.load())) - sent));
        if (result.status() != pb::COMMAND_DONE ||
            result.state().last_stop() != pb::STOP_EMERGENCY) {
            std::fprintf(stderr, "emergency stop %d: unexpected result %s\n", i,
                         result.DebugString().c_str());
        }
        startStimulating(l);  // back to streaming
        std::this_thread::sleep_for(50ms);
    }
    for (auto& l : links) {
        l->onResult = nullptr;
        l->run(action([](pb::Command& c) { c.mutable_stop(); }));
        std::lock_guard lock(l->mutex);
        figures.telemetry += l->telemetry;
        figures.lost += l->lost;
    }
    for (auto& l : links) {
        l->link->close();
    }
    std::this_thread::sleep_for(50ms);
    return figures;
}

// ---- (4) link cut to device stop
// -----------------------------------------------------------------

bool failedCuts = false;

std::vector<double> cutToStop(int deviceCount, int cuts) {
    Devices devices(deviceCount);
    Runner controller;
    std::vector<std::unique_ptr<Link>> links;
    for (int i = 0; i < deviceCount; ++i) {
        links.push_back(
            std::make_unique<Link>(controller.io, devices.ports[static_cast<std::size_t>(i)]));
    }
    for (auto& l : links) {
        l->waitReady();
        l->run(loadRtms(20, 1800));
    }
    std::vector<double> samples;
    for (int done = 0; done < cuts;) {
        const int batch = std::min(deviceCount, cuts - done);
        done += batch;
        std::vector<std::int64_t> before(static_cast<std::size_t>(batch));
        std::vector<int> connectionsBefore(static_cast<std::size_t>(batch));
        std::vector<Clock::time_point> cutAt(static_cast<std::size_t>(batch));
        for (int i = 0; i < batch; ++i) {
            startStimulating(*links[static_cast<std::size_t>(i)]);
        }
        std::this_thread::sleep_for(300ms);
        for (int i = 0; i < batch; ++i) {
            const auto k = static_cast<std::size_t>(i);
            if (devices.sims[k]->pulsesDelivered() == 0) {
                std::fprintf(stderr, "cut: device %zu was not stimulating\n", k);
                std::exit(1);
            }
            before[k] = devices.sims[k]->lastStopNanos();
            {
                std::lock_guard lock(links[k]->mutex);
                connectionsBefore[k] = links[k]->connections;
            }
            cutAt[k] = Clock::now();
            links[k]->link->simulateCut();
        }
        for (int i = 0; i < batch; ++i) {
            const auto k = static_cast<std::size_t>(i);
            const auto deadline = Clock::now() + 5s;
            while (devices.sims[k]->lastStopNanos() == before[k] && Clock::now() < deadline) {
                std::this_thread::sleep_for(1ms);
            }
            const std::int64_t stopped = devices.sims[k]->lastStopNanos();
            if (stopped == before[k]) {
                std::fprintf(stderr, "cut: device %zu did not stop within 5 s\n", k);
                failedCuts = true;
                continue;
            }
            samples.push_back(static_cast<double>(stopped - cutAt[k].time_since_epoch().count()) /
                              1e6);
        }
        // Reconnected (a new connection, not the cut one) and the state reloaded.
        for (int i = 0; i < batch; ++i) {
            Link& l = *links[static_cast<std::size_t>(i)];
            std::unique_lock lock(l.mutex);
            l.changed.wait_for(lock, 10s, [&] {
                return l.connections > connectionsBefore[static_cast<std::size_t>(i)] && l.up &&
                       l.reloaded;
            });
        }
    }
    for (auto& l : links) {
        l->link->close();
    }
    std::this_thread::sleep_for(50ms);
    return samples;
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = 20000;
    int estops = 200;
    int cuts = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const int value = std::atoi(argv[i + 1]);
        if (flag == "--round-trips") {
            rounds = value;
        } else if (flag == "--estops") {
            estops = value;
        } else if (flag == "--cuts") {
            cuts = value;
        } else {
            std::fprintf(stderr,
                         "usage: device_link_bench [--round-trips N] [--estops N] [--cuts N]\n");
            return 2;
        }
    }
    // Floor and link alternate in 10 blocks, so that both see the same machine load.
    std::size_t requestBytes = 0, replyBytes = 0;
    std::vector<double> link, floor;
    constexpr int kBlocks = 10;
    for (int block = 0; block < kBlocks; ++block) {
        const auto l = linkRoundTrips(std::max(1, rounds / kBlocks), requestBytes, replyBytes);
        link.insert(link.end(), l.begin(), l.end());
        const auto f = asioPingPong(requestBytes, replyBytes, std::max(1, rounds / kBlocks));
        floor.insert(floor.end(), f.begin(), f.end());
    }
    const double floorMedian = percentile(floor, 0.5);
    const double linkMedian = percentile(link, 0.5);
    std::printf(
        "device_link_bench: loopback, %d round trips, request %zu bytes, reply %zu bytes\n\n",
        rounds, requestBytes, replyBytes);
    std::printf("(1) asio ping-pong (floor)   median %8.1f us   p99 %8.1f us\n", floorMedian,
                percentile(floor, 0.99));
    std::printf(
        "(2) link command round trip  median %8.1f us   p99 %8.1f us   ratio to floor %.2f "
        "(target <= 1.5)\n",
        linkMedian, percentile(link, 0.99), linkMedian / floorMedian);

    const auto estop = estopUnderLoad(20, estops);
    std::printf(
        "(3) emergency stop, %d devices streaming per-pulse telemetry at 50 Hz:\n"
        "    %zu stops  median %8.1f us   p99 %8.1f us (target p99 < 2000 us)   telemetry "
        "%llu messages, lost %llu (target 0)\n",
        estop.devices, estop.samples.size(), percentile(estop.samples, 0.5),
        percentile(estop.samples, 0.99), static_cast<unsigned long long>(estop.telemetry),
        static_cast<unsigned long long>(estop.lost));

    const auto cut = cutToStop(20, cuts);
    std::printf(
        "(4) link cut -> device stopped, %zu cuts:  median %.1f ms   max %.1f ms   (heartbeat "
        "timeout 500 ms; target: max within it)\n",
        cut.size(), percentile(cut, 0.5), *std::max_element(cut.begin(), cut.end()));
    if (failedCuts) {
        std::printf("    SOME DEVICES DID NOT STOP (see stderr)\n");
        return 1;
    }
    return 0;
}
