// neuroplan-cli device probe HOST:PORT — connects, does the handshake and prints what the device
// says it is (model, serial, firmware, capabilities), or the typed reason it failed.
#include <utility>  // before Asio (Boost 1.74 with C++20)

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <ostream>

#include "context.h"
#include "device/link.h"

namespace neuroplan::cli {

namespace {

using nlohmann::json;
namespace dev = neuroplan::device;
namespace pb = neuroplan::device::v1;

struct ProbeOptions {
    std::string target;
    std::string kind;
    int timeoutMs = 3000;
    std::string cert, key, ca;
    bool plaintext = false;
};

json capabilitiesJson(const pb::Hello& hello) {
    const pb::Capabilities& c = hello.capabilities();
    json caps = json::object();
    if (hello.kind() == pb::DEVICE_KIND_RTMS) {
        caps["frequency_hz"] = {c.min_frequency_hz(), c.max_frequency_hz()};
        caps["max_output_percent"] = c.max_output_percent();
        caps["max_pulses_per_train"] = c.max_pulses_per_train();
        caps["max_coil_temperature_c"] = c.max_coil_temperature_c();
        json patterns = json::array();
        for (int p : c.patterns()) {
            patterns.push_back(p == pb::PATTERN_ITBS   ? "itbs"
                               : p == pb::PATTERN_CTBS ? "ctbs"
                                                       : "conventional");
        }
        caps["patterns"] = patterns;
    } else {
        caps["max_current_ma"] = c.max_current_ma();
        caps["pulse_widths_us"] =
            json(std::vector<double>(c.pulse_widths_us().begin(), c.pulse_widths_us().end()));
        caps["frequency_hz"] = {c.min_frequency_hz(), c.max_frequency_hz()};
    }
    return caps;
}

std::string refusalName(pb::RefusalReason reason) {
    switch (reason) {
        case pb::REFUSAL_VERSION:
            return "version";
        case pb::REFUSAL_ROLE:
            return "role";
        case pb::REFUSAL_KIND:
            return "kind";
        case pb::REFUSAL_BUSY:
            return "busy";
        case pb::REFUSAL_NOT_HELLO:
            return "not_hello";
        case pb::REFUSAL_DEVICE_SAYS:
            return "device_says";
        default:
            return "unspecified";
    }
}

int probe(const Context& ctx, const ProbeOptions& o) {
    dev::LinkOptions options;
    auto address = dev::parseDeviceAddress(o.target, "HOST:PORT");
    if (!address) {
        return ctx.fail(address.error());
    }
    options.host = address->host;
    options.port = address->port;
    if (!o.kind.empty()) {
        options.expectKind = o.kind == "rtms" ? pb::DEVICE_KIND_RTMS : pb::DEVICE_KIND_VNS;
    }
    options.connectTimeout = options.handshakeTimeout = std::chrono::milliseconds(o.timeoutMs);
    options.reconnect = false;
    options.allowPlaintext = o.plaintext;
    if (!o.cert.empty() || !o.key.empty() || !o.ca.empty()) {
        if (o.cert.empty() || o.key.empty() || o.ca.empty()) {
            return ctx.fail(makeError(ErrorCode::InvalidInput, "--tls-cert",
                                      "TLS needs --tls-cert, --tls-key and --tls-ca together"));
        }
        options.tls = dev::TlsConfig{o.cert, o.key, o.ca};
    }

    dev::asio::io_context io;
    std::optional<dev::LinkEvent> outcome;
    auto link = dev::DeviceLink::create(io, options, [&](const dev::LinkEvent& event) {
        if (!outcome && (event.kind == dev::LinkEvent::Kind::Connected ||
                         event.kind == dev::LinkEvent::Kind::Down)) {
            outcome = event;
            io.stop();
        }
    });
    if (!link) {
        Error error = link.error();
        if (error.field == "host") {
            error.field = "HOST:PORT";
        }
        return ctx.fail(error);
    }
    (*link)->start();
    io.run();

    if (outcome->kind == dev::LinkEvent::Kind::Connected) {
        const pb::Hello& hello = outcome->peer;
        const std::string kind = hello.kind() == pb::DEVICE_KIND_RTMS ? "rtms" : "vns";
        if (ctx.json) {
            ctx.out << json{{"ok", true},
                            {"target", o.target},
                            {"kind", kind},
                            {"model", hello.model()},
                            {"serial", hello.serial()},
                            {"firmware", hello.firmware()},
                            {"protocol_version", hello.version()},
                            {"heartbeat_timeout_ms", hello.heartbeat_timeout_ms()},
                            {"capabilities", capabilitiesJson(hello)}}
                           .dump(2)
                    << '\n';
        } else {
            ctx.out << o.target << ": " << kind << " device\n"
                    << "  model:     " << hello.model() << '\n'
                    << "  serial:    " << hello.serial() << '\n'
                    << "  firmware:  " << hello.firmware() << '\n'
                    << "  protocol:  version " << hello.version() << ", heartbeat timeout "
                    << hello.heartbeat_timeout_ms() << " ms\n"
                    << "  capabilities: " << capabilitiesJson(hello).dump() << '\n';
        }
        return kExitOk;
    }
    const std::string reason = dev::toString(outcome->down);
    if (ctx.json) {
        json failure{
            {"ok", false}, {"target", o.target}, {"reason", reason}, {"detail", outcome->detail}};
        if (outcome->refusal != pb::REFUSAL_UNSPECIFIED) {
            failure["refusal"] = refusalName(outcome->refusal);
        }
        ctx.out << failure.dump(2) << '\n';
    }
    ctx.err << "neuroplan-cli: error: " << o.target << ": " << reason << ": " << outcome->detail
            << '\n';
    return kExitFailure;
}

}  // namespace

void registerDeviceCommands(CLI::App& app, Context& ctx) {
    CLI::App* device =
        app.add_subcommand("device", "The device link: stimulators and VNS programmers");
    device->require_subcommand(1);
    auto options = std::make_shared<ProbeOptions>();
    CLI::App* probeCommand = device->add_subcommand(
        "probe",
        "Connect, do the handshake and print the device's identity and capabilities "
        "(exit 0), or the reason it failed (exit 1)");
    probeCommand->add_option("target", options->target, "HOST:PORT")->required();
    probeCommand->add_option("--kind", options->kind, "refuse a device of another kind")
        ->check(CLI::IsMember({"rtms", "vns"}));
    probeCommand->add_option("--timeout-ms", options->timeoutMs, "connect and handshake deadline")
        ->check(CLI::Range(100, 60000));
    probeCommand->add_option("--tls-cert", options->cert, "PEM certificate of this controller");
    probeCommand->add_option("--tls-key", options->key, "PEM private key of this controller");
    probeCommand->add_option("--tls-ca", options->ca, "PEM certificate of the clinic CA");
    probeCommand->add_flag("--plaintext", options->plaintext,
                           "allow plaintext to a non-loopback address");
    ctx.on(probeCommand, [&ctx, options] { return probe(ctx, *options); });
}

}  // namespace neuroplan::cli
