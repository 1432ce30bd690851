// The Qt adapter over the device link, against a real neurosim: events arrive as queued signals
// on the GUI thread, never on the link's Asio thread.
#include <gtest/gtest.h>

#include <QCoreApplication>
#include <QSignalSpy>
#include <QThread>

#include "devicelinkadapter.h"
#include "support.h"

namespace {

using namespace neuroplan;
using namespace std::chrono_literals;

TEST(DeviceLinkAdapter, SignalsArriveOnTheGuiThread) {
    neuroplan::testing::BackgroundProcess sim(
        {NEUROSIM_PATH, "--kind", "rtms", "--listen", "127.0.0.1:0"});
    const std::string line = sim.readLine(10s);
    device::LinkOptions options;
    options.port = neuroplan::testing::listeningPort(line);
    ASSERT_NE(options.port, 0) << line;
    gui::DeviceLinkAdapter adapter(options);
    ASSERT_TRUE(adapter.valid()) << adapter.error().toStdString();

    bool everyOnGuiThread = true;
    QObject::connect(&adapter, &gui::DeviceLinkAdapter::stateChanged, [&] {
        everyOnGuiThread = everyOnGuiThread && QThread::currentThread() == qApp->thread();
    });
    QSignalSpy connected(&adapter, &gui::DeviceLinkAdapter::connected);
    QSignalSpy state(&adapter, &gui::DeviceLinkAdapter::stateChanged);
    QSignalSpy finished(&adapter, &gui::DeviceLinkAdapter::commandFinished);
    adapter.start();
    ASSERT_TRUE(connected.wait(10000));
    EXPECT_EQ(connected.at(0).at(0).toString(), "rtms");
    ASSERT_TRUE(state.count() > 0 || state.wait(10000));
    EXPECT_TRUE(state.at(0).at(1).toBool());  // the first state is the reload

    const quint64 id = adapter.emergencyStop();
    std::optional<device::pb::CommandResult> result;
    for (int i = 0; !result && i < 50; ++i) {
        for (const auto& args : finished) {
            if (args.at(0).toULongLong() == id) {
                result = args.at(1).value<device::pb::CommandResult>();
            }
        }
        if (!result) {
            finished.wait(200);
        }
    }
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status(), device::pb::COMMAND_DONE);
    EXPECT_EQ(result->state().last_stop(), device::pb::STOP_NONE);  // nothing was stimulating
    EXPECT_TRUE(everyOnGuiThread);
}

TEST(DeviceLinkAdapter, BadAddressIsReportedNotThrown) {
    device::LinkOptions options;
    options.host = "not-an-address";
    gui::DeviceLinkAdapter adapter(options);
    EXPECT_FALSE(adapter.valid());
    EXPECT_TRUE(adapter.error().contains("not an IP address"));
}

}  // namespace
