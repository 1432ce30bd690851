// neurosim: simulated rTMS stimulators and VNS programmers for NeuroPlan's device link.
//
//   neurosim --kind rtms|vns --listen 127.0.0.1:PORT [--count N] [--seed N] [--fault F ...]
//            [--heartbeat-timeout-ms MS] [--profile ID] [--tls-cert F --tls-key F --tls-ca F]
//            [--plaintext] [--time-scale X]
//
// Port 0 picks free ports. One line per device on stdout once it listens:
//   neurosim: listening rtms NSIM-RTMS-1000 127.0.0.1:40123
// Faults (docs/device-protocol.md, "Fault injection"): drop-after=N, delay-ms=MS,
// corrupt-frame=N, refuse-handshake, silent-after=N, overtemp-at-pulse=N,
// coil-disconnect-at-pulse=N, impedance-out-of-range.
#include <utility>  // before Asio (Boost 1.74 with C++20)

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "device/endpoint.h"
#include "device/simulator.h"

namespace {

using namespace neuroplan;
using namespace neuroplan::device;

int usage(const std::string& field, const std::string& message) {
    std::cerr << "neurosim: error: " << field << ": " << message << '\n';
    return 2;
}

bool parseCount(const std::string& text, std::uint64_t& out) {
    try {
        std::size_t used = 0;
        const unsigned long long value = std::stoull(text, &used);
        if (used != text.size()) {
            return false;
        }
        out = value;
        return true;
    } catch (...) {
        return false;
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"neurosim: simulated rTMS stimulators and VNS programmers for NeuroPlan"};
    app.set_version_flag("--version", std::string("neurosim ") + NEUROPLAN_VERSION);
    std::string kind;
    std::string listen;
    int count = 1;
    std::uint64_t seed = 1;
    std::vector<std::string> faults;
    int heartbeatMs = 500;
    std::string profile = "generic-rtms";
    double timeScale = 1.0;
    std::string cert, key, ca;
    bool plaintext = false;
    app.add_option("--kind", kind, "rtms or vns")
        ->required()
        ->check(CLI::IsMember({"rtms", "vns"}));
    app.add_option("--listen", listen, "HOST:PORT (port 0: any free port)")->required();
    app.add_option("--count", count, "devices in this process, on consecutive ports")
        ->check(CLI::Range(1, 64));
    app.add_option("--seed", seed, "serial numbers (NSIM-KIND-<seed*1000+i>)");
    app.add_option("--fault", faults, "inject a fault (repeatable)");
    app.add_option("--heartbeat-timeout-ms", heartbeatMs,
                   "stop stimulating when the controller is silent this long")
        ->check(CLI::Range(50, 10000));
    app.add_option("--profile", profile, "rTMS device profile (device-profiles-v1)");
    app.add_option("--time-scale", timeScale,
                   "run the protocol's timing this many times faster (1-1000; tests only)");
    app.add_option("--tls-cert", cert, "PEM certificate of this device");
    app.add_option("--tls-key", key, "PEM private key of this device");
    app.add_option("--tls-ca", ca, "PEM certificate of the clinic CA");
    app.add_flag("--plaintext", plaintext, "allow plaintext on a non-loopback address");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            return app.exit(e);
        }
        std::cerr << "neurosim: error: " << e.what() << '\n';
        return 2;
    }

    EndpointOptions endpointOptions;
    endpointOptions.heartbeatTimeout = std::chrono::milliseconds(heartbeatMs);
    DeviceFaults deviceFaults;
    for (const std::string& fault : faults) {
        const auto eq = fault.find('=');
        const std::string name = fault.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : fault.substr(eq + 1);
        std::uint64_t n = 0;
        const bool numeric = eq != std::string::npos && parseCount(value, n);
        if (name == "refuse-handshake" && eq == std::string::npos) {
            endpointOptions.faults.refuseHandshake = true;
        } else if (name == "impedance-out-of-range" && eq == std::string::npos) {
            deviceFaults.impedanceOutOfRange = true;
        } else if (name == "drop-after" && numeric) {
            endpointOptions.faults.dropAfterMessages = n;
        } else if (name == "delay-ms" && numeric) {
            endpointOptions.faults.replyDelay = std::chrono::milliseconds(n);
        } else if (name == "corrupt-frame" && numeric && n > 0) {
            endpointOptions.faults.corruptFrame = n;
        } else if (name == "silent-after" && numeric) {
            endpointOptions.faults.silentAfterMessages = n;
        } else if (name == "overtemp-at-pulse" && numeric && n > 0) {
            deviceFaults.overTemperatureAtPulse = static_cast<std::uint32_t>(n);
        } else if (name == "coil-disconnect-at-pulse" && numeric && n > 0) {
            deviceFaults.coilDisconnectedAtPulse = static_cast<std::uint32_t>(n);
        } else {
            return usage("--fault", "'" + fault +
                                        "' is not one of drop-after=N, delay-ms=MS, "
                                        "corrupt-frame=N, refuse-handshake, silent-after=N, "
                                        "overtemp-at-pulse=N, coil-disconnect-at-pulse=N, "
                                        "impedance-out-of-range");
        }
    }
    if (!(timeScale >= 1.0 && timeScale <= 1000.0)) {
        return usage("--time-scale", "expected a number from 1 to 1000");
    }
    if (protocols::Library::builtIn().findRtmsProfile(profile) == nullptr) {
        return usage("--profile", "'" + profile + "' is not a device profile");
    }

    const auto colon = listen.rfind(':');
    std::uint64_t port = 0;
    if (colon == std::string::npos || !parseCount(listen.substr(colon + 1), port) || port > 65535) {
        return usage("--listen", "expected HOST:PORT, e.g. 127.0.0.1:0");
    }
    boost::system::error_code addressError;
    const auto address = asio::ip::make_address(listen.substr(0, colon), addressError);
    if (addressError) {
        return usage("--listen", "'" + listen.substr(0, colon) + "' is not an IP address");
    }
    std::optional<TlsConfig> tls;
    if (!cert.empty() || !key.empty() || !ca.empty()) {
        if (cert.empty() || key.empty() || ca.empty()) {
            return usage("--tls-cert", "TLS needs --tls-cert, --tls-key and --tls-ca together");
        }
        tls = TlsConfig{cert, key, ca};
        auto context = makeTlsContext(*tls, true);
        if (!context) {
            return usage(context.error().field, context.error().message);
        }
        endpointOptions.tls = *context;
    }
    if (auto policy = checkTransportPolicy(address, tls, plaintext, "--listen"); !policy) {
        return usage(policy.error().field, policy.error().message);
    }

    asio::io_context io;
    const pb::DeviceKind deviceKind = kind == "rtms" ? pb::DEVICE_KIND_RTMS : pb::DEVICE_KIND_VNS;
    std::vector<std::unique_ptr<SimulatedDevice>> devices;
    std::vector<std::shared_ptr<DeviceEndpoint>> endpoints;
    for (int i = 0; i < count; ++i) {
        char serial[64];
        std::snprintf(serial, sizeof serial, "NSIM-%s-%04llu", kind == "rtms" ? "RTMS" : "VNS",
                      static_cast<unsigned long long>(seed * 1000 + static_cast<unsigned>(i)));
        devices.push_back(std::make_unique<SimulatedDevice>(deviceKind, serial, deviceFaults,
                                                            profile, timeScale));
        auto endpoint = std::make_shared<DeviceEndpoint>(io, asio::make_strand(io), *devices.back(),
                                                         endpointOptions);
        devices.back()->attach(endpoint);
        const std::uint16_t wanted = port == 0 ? 0 : static_cast<std::uint16_t>(port + i);
        auto bound = endpoint->listen(tcp::endpoint(address, wanted));
        if (!bound) {
            std::cerr << "neurosim: error: " << bound.error().field << ": " << bound.error().message
                      << '\n';
            return 1;
        }
        std::cout << "neurosim: listening " << kind << ' ' << serial << ' ' << address.to_string()
                  << ':' << *bound << std::endl;
        endpoints.push_back(endpoint);
    }
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) {
        for (auto& endpoint : endpoints) {
            endpoint->stop();  // posts: each device stops stimulating and logs why
        }
        asio::post(io, [&io] { io.stop(); });
    });
    io.run();
    return 0;
}
