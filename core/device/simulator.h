// neuroplan::device — a simulated rTMS stimulator or VNS programmer behind a DeviceEndpoint.
// It models the device, not just the protocol: pulses at the protocol's timing, coil heating
// and cooling with an over-temperature cut-out, an output limit, VNS lead impedance and battery,
// and its own safety limits (device-profiles-v1 and simulator-v1), which it enforces whatever
// the controller says. Used by neurosim and by tests/bench/device_link_bench.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "device/endpoint.h"
#include "protocols/library.h"

namespace neuroplan::device {

/// The physical model (core/device/data/simulator-v1.json).
struct SimulatorModel {
    Sourced<double> ambientC, cutoutC, heatingPerPulseC, coolingTauS, maxOutputPercent;
    Sourced<double> impedanceLowOhm, impedanceHighOhm, impedanceNominalOhm, batteryStartPercent,
        batteryDrainPercentPerMaS, impedanceTestS;
};
Result<SimulatorModel> loadSimulatorModel(std::string_view text, std::string_view origin);
/// The built-in model.
const SimulatorModel& builtInSimulatorModel();
std::string_view simulatorModelText();

/// Device-level faults to inject (protocol-level ones are EndpointFaults).
struct DeviceFaults {
    std::optional<std::uint32_t> overTemperatureAtPulse;  ///< coil over-temperature at pulse N
    std::optional<std::uint32_t> coilDisconnectedAtPulse;
    bool impedanceOutOfRange = false;  ///< VNS: the lead measures out of range
};

class SimulatedDevice : public DeviceBehaviour {
  public:
    /// `timeScale` > 1 runs the protocol's timing that many times faster (tests: a 3-minute
    /// session in 2 seconds); the physics (heating per pulse, cooling) follow simulated time.
    SimulatedDevice(pb::DeviceKind kind, std::string serial, DeviceFaults faults,
                    std::string rtmsProfile = "generic-rtms", double timeScale = 1.0);
    /// Connects the model to its endpoint (for telemetry, faults and timers on its strand).
    void attach(std::shared_ptr<DeviceEndpoint> endpoint);

    pb::Hello identity() const override;
    pb::CommandResult execute(const pb::Command& command) override;
    pb::State state() const override { return m_state; }
    void linkLost(const std::string& why) override;
    pb::LogChunk readLog(std::uint64_t fromOffset, std::uint32_t maxEntries) const override;

    /// When stimulation last stopped for any reason (steady clock, ns since epoch; 0: never).
    /// Readable from any thread (the benchmark compares it with the cut time).
    std::int64_t lastStopNanos() const { return m_lastStopNanos.load(); }
    std::uint64_t pulsesDelivered() const { return m_pulses.load(); }

  private:
    pb::CommandResult load(const pb::LoadProtocol& load);
    pb::CommandResult program(const pb::VnsParameters& vns, const std::string& hash);
    pb::CommandResult impedanceTest(std::uint64_t id);
    void begin(bool resuming);
    void schedule();
    void pulse();
    void stopStimulation(pb::StopCause cause, const std::string& detail, pb::Phase next);
    void fault(pb::FaultCode code, const std::string& detail, double value);
    void coolTo(std::chrono::steady_clock::time_point now);
    void changed();
    void log(const std::string& event, const std::string& detail);
    std::uint64_t deviceMicros() const;
    /// Seconds from the start of a train to pulse `index` of that train.
    static double pulseOffsetS(const pb::RtmsParameters& p, std::uint32_t index);
    double pulseOffsetS(std::uint32_t index) const {
        return pulseOffsetS(m_state.loaded().rtms(), index);
    }
    /// Simulated seconds as a duration of the real clock.
    std::chrono::steady_clock::duration scaled(double simulatedS) const;

    pb::DeviceKind m_kind;
    std::string m_serial;
    DeviceFaults m_faults;
    const SimulatorModel& m_model;
    double m_timeScale = 1.0;
    protocols::RtmsDeviceProfile m_rtms;
    protocols::VnsGeneratorProfile m_vns;
    std::shared_ptr<DeviceEndpoint> m_endpoint;
    std::unique_ptr<asio::steady_timer> m_timer;
    pb::State m_state;
    std::vector<pb::LogEntry> m_log;
    std::chrono::steady_clock::time_point m_born = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point m_lastCooling = m_born;
    std::chrono::steady_clock::time_point m_trainStart;
    std::uint32_t m_pulseInTrain = 0;
    std::uint32_t m_train = 0;
    double m_approvedOutput = 0;  ///< rTMS % output or VNS mA of the loaded, approved protocol
    std::atomic<std::int64_t> m_lastStopNanos{0};
    std::atomic<std::uint64_t> m_pulses{0};
};

}  // namespace neuroplan::device
