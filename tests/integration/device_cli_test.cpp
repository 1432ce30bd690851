// `neuroplan-cli device probe` against real neurosim processes: the handshake or a typed failure
// (exit 0 / 1), and bad input (exit 2, one line naming what is wrong).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support.h"

namespace {

using neuroplan::testing::BackgroundProcess;
using neuroplan::testing::runProcess;
using nlohmann::json;
using namespace std::chrono_literals;

struct Sim {
    BackgroundProcess process;
    std::string target;
    explicit Sim(const std::string& kind, const std::vector<std::string>& extra = {})
        : process([&] {
              std::vector<std::string> argv{NEUROSIM_PATH, "--kind", kind, "--listen",
                                            "127.0.0.1:0"};
              argv.insert(argv.end(), extra.begin(), extra.end());
              return argv;
          }()) {
        const std::uint16_t port = neuroplan::testing::listeningPort(process.readLine(10s));
        if (port != 0) {
            target = "127.0.0.1:" + std::to_string(port);
        }
    }
};

neuroplan::testing::ProcessResult probe(std::vector<std::string> args) {
    args.insert(args.begin(), {NEUROPLAN_CLI_PATH, "device", "probe"});
    return runProcess(args, {}, 30s);
}

TEST(DeviceProbe, PrintsTheHandshake) {
    Sim sim("rtms");
    ASSERT_FALSE(sim.target.empty());
    const auto r = probe({sim.target});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("rtms device"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("serial:    NSIM-RTMS-"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("max_output_percent"), std::string::npos) << r.out;
}

TEST(DeviceProbe, JsonHasModelAndCapabilities) {
    Sim sim("vns");
    const auto r = probe({sim.target, "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["ok"], true);
    EXPECT_EQ(j["kind"], "vns");
    EXPECT_EQ(j["protocol_version"], 1);
    EXPECT_EQ(j["capabilities"]["max_current_ma"], 3.5);
    EXPECT_EQ(j["capabilities"]["pulse_widths_us"].size(), 5u);
}

TEST(DeviceProbe, RefusalIsTypedWithExitOne) {
    Sim sim("vns");
    const auto r = probe({sim.target, "--kind", "rtms", "--json"});
    EXPECT_EQ(r.exitCode, 1);
    const json j = json::parse(r.out);
    EXPECT_EQ(j["ok"], false);
    EXPECT_EQ(j["reason"], "refused");
    EXPECT_EQ(j["refusal"], "kind");
    EXPECT_NE(r.err.find("neuroplan-cli: error: " + sim.target + ": refused"), std::string::npos)
        << r.err;
}

TEST(DeviceProbe, InjectedRefusalAndNothingListening) {
    Sim sim("rtms", {"--fault", "refuse-handshake"});
    const auto refused = probe({sim.target, "--json"});
    EXPECT_EQ(refused.exitCode, 1);
    EXPECT_EQ(json::parse(refused.out)["refusal"], "device_says");
    const std::string target = sim.target;
    sim.process.kill();
    const auto nobody = probe({target});
    EXPECT_EQ(nobody.exitCode, 1);
    EXPECT_NE(nobody.err.find("connect_failed"), std::string::npos) << nobody.err;
}

TEST(DeviceProbe, BadInputIsExitTwoNamingTheField) {
    struct Row {
        std::vector<std::string> args;
        std::string field;
    };
    const std::vector<Row> rows{
        {{"no-port"}, "HOST:PORT"},
        {{"127.0.0.1:abc"}, "HOST:PORT"},
        {{"127.0.0.1:0"}, "HOST:PORT"},
        {{"127.0.0.1:70000"}, "HOST:PORT"},
        {{"clinic-tms:4000"}, "HOST:PORT"},
        {{"192.0.2.10:4000"}, "HOST:PORT"},  // plaintext off loopback
        {{"127.0.0.1:4000", "--tls-cert", "a.pem"}, "--tls-cert"},
        {{"127.0.0.1:4000", "--kind", "ect"}, "--kind"},
        {{"127.0.0.1:4000", "--timeout-ms", "5"}, "--timeout-ms"},
    };
    for (const auto& row : rows) {
        SCOPED_TRACE(row.args.front() + " " + row.field);
        const auto r = probe(row.args);
        EXPECT_EQ(r.exitCode, 2) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_NE(r.err.find(row.field), std::string::npos) << r.err;
    }
}

}  // namespace
