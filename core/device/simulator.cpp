#include "device/simulator.h"

#include <cmath>
#include <cstdlib>
#include <iostream>

#include "base/datafile.h"
#include "base/format.h"

namespace neuroplan::device {

std::string_view simulatorV1();  // embedded core/device/data/simulator-v1.json

namespace {

pb::CommandResult done() {
    pb::CommandResult result;
    result.set_status(pb::COMMAND_DONE);
    return result;
}

pb::CommandResult rejected(pb::RejectReason reason, const std::string& detail) {
    pb::CommandResult result;
    result.set_status(pb::COMMAND_REJECTED);
    result.set_reason(reason);
    result.set_detail(detail);
    return result;
}

bool isSha256Hex(const std::string& text) {
    if (text.size() != 64) {
        return false;
    }
    for (char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string_view simulatorModelText() {
    return simulatorV1();
}

Result<SimulatorModel> loadSimulatorModel(std::string_view text, std::string_view origin) {
    auto file = DataFile::parse(text, origin, "device-simulator");
    NP_TRY(file);
    const JsonObject top = file->top();
    auto rtms = top.requiredObject("rtms");
    NP_TRY(rtms);
    auto vns = top.requiredObject("vns");
    NP_TRY(vns);
    SimulatorModel model;
    const auto read = [&](const JsonObject& parent, const char* key,
                          Sourced<double>& out) -> Status {
        auto value = file->number(parent, key);
        NP_TRY(value);
        out = *value;
        return {};
    };
    NP_TRY(read(*rtms, "ambient_temperature_c", model.ambientC));
    NP_TRY(read(*rtms, "cutout_temperature_c", model.cutoutC));
    NP_TRY(read(*rtms, "heating_per_pulse_c_at_full_output", model.heatingPerPulseC));
    NP_TRY(read(*rtms, "cooling_time_constant_s", model.coolingTauS));
    NP_TRY(read(*rtms, "max_output_percent", model.maxOutputPercent));
    NP_TRY(read(*vns, "impedance_low_ohm", model.impedanceLowOhm));
    NP_TRY(read(*vns, "impedance_high_ohm", model.impedanceHighOhm));
    NP_TRY(read(*vns, "nominal_impedance_ohm", model.impedanceNominalOhm));
    NP_TRY(read(*vns, "battery_start_percent", model.batteryStartPercent));
    NP_TRY(read(*vns, "battery_drain_percent_per_ma_s", model.batteryDrainPercentPerMaS));
    NP_TRY(read(*vns, "impedance_test_duration_s", model.impedanceTestS));
    return model;
}

const SimulatorModel& builtInSimulatorModel() {
    static const SimulatorModel model = [] {
        auto loaded = loadSimulatorModel(simulatorV1(), "simulator-v1.json");
        if (!loaded) {
            std::cerr << "built-in simulator-v1.json is broken: " << loaded.error().describe()
                      << '\n';
            std::abort();
        }
        return *loaded;
    }();
    return model;
}

SimulatedDevice::SimulatedDevice(pb::DeviceKind kind, std::string serial, DeviceFaults faults,
                                 std::string rtmsProfile, double timeScale)
    : m_kind(kind),
      m_serial(std::move(serial)),
      m_faults(faults),
      m_model(builtInSimulatorModel()),
      m_timeScale(timeScale > 0 ? timeScale : 1.0) {
    const auto& library = protocols::Library::builtIn();
    const auto* rtms = library.findRtmsProfile(rtmsProfile);
    m_rtms = rtms != nullptr ? *rtms : library.rtmsProfiles.front();
    m_vns = library.vnsProfiles.front();
    m_state.set_phase(pb::PHASE_IDLE);
    m_state.set_coil_temperature_c(m_model.ambientC.value);
    if (kind == pb::DEVICE_KIND_VNS) {
        m_state.set_battery_percent(m_model.batteryStartPercent.value);
        m_state.set_impedance_ohm(m_faults.impedanceOutOfRange ? m_model.impedanceHighOhm.value * 2
                                                               : m_model.impedanceNominalOhm.value);
    }
    m_state.set_version(1);
    log("power_on", m_serial);
}

void SimulatedDevice::attach(std::shared_ptr<DeviceEndpoint> endpoint) {
    m_endpoint = std::move(endpoint);
    m_timer = std::make_unique<asio::steady_timer>(m_endpoint->strand());
}

pb::Hello SimulatedDevice::identity() const {
    pb::Hello hello;
    hello.set_role(pb::ROLE_DEVICE);
    hello.set_kind(m_kind);
    hello.set_serial(m_serial);
    hello.set_firmware("neurosim 1.0");
    pb::Capabilities* caps = hello.mutable_capabilities();
    if (m_kind == pb::DEVICE_KIND_RTMS) {
        hello.set_model("NeuroSim rTMS (" + m_rtms.label + ")");
        caps->set_min_frequency_hz(m_rtms.minFrequencyHz.value);
        caps->set_max_frequency_hz(m_rtms.maxFrequencyHz.value);
        caps->set_max_output_percent(m_model.maxOutputPercent.value);
        caps->set_max_pulses_per_train(static_cast<std::uint32_t>(m_rtms.maxPulsesPerTrain.value));
        caps->set_max_coil_temperature_c(m_model.cutoutC.value);
        for (const auto& pattern : m_rtms.patterns) {
            caps->add_patterns(pattern == "itbs"   ? pb::PATTERN_ITBS
                               : pattern == "ctbs" ? pb::PATTERN_CTBS
                                                   : pb::PATTERN_STANDARD);
        }
    } else {
        hello.set_model("NeuroSim VNS programmer (" + m_vns.label + ")");
        caps->set_max_current_ma(m_vns.currentMa.max);
        for (double width : m_vns.pulseWidthsUs) {
            caps->add_pulse_widths_us(width);
        }
        if (!m_vns.frequenciesHz.empty()) {
            caps->set_min_frequency_hz(m_vns.frequenciesHz.front());
            caps->set_max_frequency_hz(m_vns.frequenciesHz.back());
        }
    }
    return hello;
}

std::uint64_t SimulatedDevice::deviceMicros() const {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now() - m_born)
                                          .count());
}

void SimulatedDevice::log(const std::string& event, const std::string& detail) {
    pb::LogEntry entry;
    entry.set_offset(m_log.size());
    entry.set_device_time_us(deviceMicros());
    entry.set_event(event);
    entry.set_detail(detail);
    entry.set_pulses_delivered(m_state.pulses_delivered());
    entry.set_trains_delivered(m_state.trains_delivered());
    entry.set_output(m_kind == pb::DEVICE_KIND_VNS ? m_state.current_ma()
                                                   : m_state.output_percent());
    m_log.push_back(std::move(entry));
    m_state.set_log_size(m_log.size());
}

pb::LogChunk SimulatedDevice::readLog(std::uint64_t fromOffset, std::uint32_t maxEntries) const {
    pb::LogChunk chunk;
    std::uint64_t offset = fromOffset;
    for (; offset < m_log.size() && chunk.entries_size() < static_cast<int>(maxEntries); ++offset) {
        *chunk.add_entries() = m_log[offset];
    }
    chunk.set_next_offset(offset);
    chunk.set_log_size(m_log.size());
    return chunk;
}

void SimulatedDevice::changed() {
    m_state.set_version(m_state.version() + 1);
    if (m_endpoint) {
        m_endpoint->sendState();
    }
}

void SimulatedDevice::coolTo(std::chrono::steady_clock::time_point now) {
    const double dt = std::chrono::duration<double>(now - m_lastCooling).count() * m_timeScale;
    m_lastCooling = now;
    const double ambient = m_model.ambientC.value;
    const double excess = m_state.coil_temperature_c() - ambient;
    m_state.set_coil_temperature_c(ambient + excess * std::exp(-dt / m_model.coolingTauS.value));
}

pb::CommandResult SimulatedDevice::execute(const pb::Command& command) {
    const bool rtms = m_kind == pb::DEVICE_KIND_RTMS;
    const pb::Phase phase = m_state.phase();
    const auto wrongState = [&](const char* what) {
        return rejected(pb::REJECT_WRONG_STATE,
                        std::string(what) + " is not possible in phase " + pb::Phase_Name(phase));
    };
    pb::CommandResult result;
    switch (command.action_case()) {
        case pb::Command::kLoad:
            result = load(command.load());
            break;
        case pb::Command::kArm:
            if (phase != pb::PHASE_LOADED) {
                return wrongState("arm");
            }
            m_state.set_phase(pb::PHASE_ARMED);
            m_state.set_last_stop(pb::STOP_NONE);
            m_state.clear_last_stop_detail();
            log("armed", "");
            result = done();
            break;
        case pb::Command::kStart:
            if (phase != pb::PHASE_ARMED) {
                return wrongState("start");
            }
            {
                const std::uint32_t from = command.start().from_pulse();
                if (from > 0 && (!rtms || from >= m_state.pulses_planned())) {
                    return rejected(pb::REJECT_INVALID,
                                    rtms ? "from_pulse " + std::to_string(from) +
                                               " is not below the protocol's " +
                                               std::to_string(m_state.pulses_planned()) + " pulses"
                                         : "from_pulse is an rTMS setting");
                }
                const std::uint32_t perTrain =
                    rtms ? m_state.loaded().rtms().pulses_per_train() : 1;
                m_train = rtms ? from / perTrain : 0;
                m_pulseInTrain = rtms ? from % perTrain : 0;
                m_state.set_pulses_delivered(from);
                m_state.set_trains_delivered(m_train);
                m_pulses = from;
                log("started", from > 0 ? "from pulse " + std::to_string(from) : "");
                begin(from > 0);
                result = done();
                break;
            }
        case pb::Command::kPause:
            if (phase != pb::PHASE_STIMULATING) {
                return wrongState("pause");
            }
            m_timer->cancel();
            m_state.set_phase(pb::PHASE_PAUSED);
            log("paused", std::to_string(m_state.pulses_delivered()) + " pulses");
            result = done();
            break;
        case pb::Command::kResume:
            if (phase != pb::PHASE_PAUSED) {
                return wrongState("resume");
            }
            log("resumed", "");
            begin(true);
            result = done();
            break;
        case pb::Command::kStop:
            if (phase != pb::PHASE_STIMULATING && phase != pb::PHASE_PAUSED &&
                phase != pb::PHASE_ARMED) {
                return wrongState("stop");
            }
            stopStimulation(pb::STOP_OPERATOR, "stopped by the operator", pb::PHASE_LOADED);
            return done();
        case pb::Command::kEmergencyStop:
            // Always accepted, in every phase; disarms.
            if (phase == pb::PHASE_STIMULATING || phase == pb::PHASE_PAUSED ||
                phase == pb::PHASE_ARMED) {
                stopStimulation(pb::STOP_EMERGENCY, "emergency stop", pb::PHASE_LOADED);
            } else {
                log("emergency_stop", "nothing to stop");
            }
            return done();
        case pb::Command::kSetIntensity: {
            if (phase == pb::PHASE_IDLE || phase == pb::PHASE_FAULT) {
                return wrongState("set intensity");
            }
            if (rtms) {
                const double output = command.set_intensity().output_percent();
                if (!(output > 0) || output > m_approvedOutput) {
                    return rejected(pb::REJECT_OVER_LIMIT,
                                    "output " + formatNumber(output) + " % is outside 0-" +
                                        formatNumber(m_approvedOutput) +
                                        " % (the approved protocol's output)");
                }
                m_state.set_output_percent(output);
                m_state.mutable_loaded()->mutable_rtms()->set_output_percent(output);
                log("intensity", formatNumber(output) + " %");
            } else {
                const double current = command.set_intensity().current_ma();
                if (current < m_vns.currentMa.min || current > m_approvedOutput) {
                    return rejected(pb::REJECT_OVER_LIMIT,
                                    "current " + formatNumber(current) + " mA is outside " +
                                        formatNumber(m_vns.currentMa.min) + "-" +
                                        formatNumber(m_approvedOutput) +
                                        " mA (the approved programme's current)");
                }
                m_state.set_current_ma(current);
                m_state.mutable_loaded()->mutable_vns()->set_output_current_ma(current);
                log("intensity", formatNumber(current) + " mA");
            }
            result = done();
            break;
        }
        case pb::Command::kReadState:
            return done();
        case pb::Command::kInterrogate:
            if (rtms) {
                return rejected(pb::REJECT_WRONG_KIND, "interrogate is a VNS command");
            }
            log("interrogated", "");
            return done();
        case pb::Command::kProgram:
            if (rtms) {
                return rejected(pb::REJECT_WRONG_KIND, "program is a VNS command");
            }
            result = program(command.program().vns(), command.program().approved_sha256());
            break;
        case pb::Command::kImpedanceTest:
            if (rtms) {
                return rejected(pb::REJECT_WRONG_KIND, "impedance test is a VNS command");
            }
            return impedanceTest(command.id());
        case pb::Command::ACTION_NOT_SET:
            return rejected(pb::REJECT_INVALID, "command without an action");
    }
    if (result.status() == pb::COMMAND_DONE) {
        changed();
    }
    return result;
}

pb::CommandResult SimulatedDevice::load(const pb::LoadProtocol& load) {
    const pb::Phase phase = m_state.phase();
    if (phase == pb::PHASE_ARMED || phase == pb::PHASE_STIMULATING || phase == pb::PHASE_PAUSED) {
        return rejected(pb::REJECT_WRONG_STATE, "stop before loading another protocol");
    }
    if (!isSha256Hex(load.approved_sha256())) {
        return rejected(pb::REJECT_HASH_MISSING,
                        "a protocol is loaded only with the SHA-256 of its approved version");
    }
    if (m_kind == pb::DEVICE_KIND_VNS) {
        if (!load.has_vns()) {
            return rejected(pb::REJECT_WRONG_KIND, "this is a VNS programmer");
        }
        return program(load.vns(), load.approved_sha256());
    }
    if (!load.has_rtms()) {
        return rejected(pb::REJECT_WRONG_KIND, "this is an rTMS stimulator");
    }
    const pb::RtmsParameters& p = load.rtms();
    const auto over = [](const std::string& detail) {
        return rejected(pb::REJECT_OVER_LIMIT, detail);
    };
    const bool tbs = p.pattern() == pb::PATTERN_ITBS || p.pattern() == pb::PATTERN_CTBS;
    const std::string patternName = p.pattern() == pb::PATTERN_ITBS   ? "itbs"
                                    : p.pattern() == pb::PATTERN_CTBS ? "ctbs"
                                                                      : "conventional";
    if (p.pattern() == pb::PATTERN_UNSPECIFIED) {
        return rejected(pb::REJECT_INVALID, "pattern is required");
    }
    if (std::find(m_rtms.patterns.begin(), m_rtms.patterns.end(), patternName) ==
        m_rtms.patterns.end()) {
        return rejected(pb::REJECT_NOT_SUPPORTED, "pattern " + patternName + " is not supported");
    }
    const double pulseRate = tbs ? p.burst_frequency_hz() : p.frequency_hz();
    if (!(p.frequency_hz() > 0) || pulseRate < m_rtms.minFrequencyHz.value ||
        pulseRate > m_rtms.maxFrequencyHz.value) {
        return over("frequency " + formatNumber(pulseRate) + " Hz is outside " +
                    formatNumber(m_rtms.minFrequencyHz.value) + "-" +
                    formatNumber(m_rtms.maxFrequencyHz.value) + " Hz");
    }
    if (tbs && p.pulses_per_burst() == 0) {
        return rejected(pb::REJECT_INVALID, "pulses_per_burst is required for theta burst");
    }
    if (p.pulses_per_train() == 0 || p.train_count() == 0) {
        return rejected(pb::REJECT_INVALID, "pulses_per_train and train_count are required");
    }
    if (p.pulses_per_train() > m_rtms.maxPulsesPerTrain.value) {
        return over(std::to_string(p.pulses_per_train()) + " pulses per train exceed " +
                    formatNumber(m_rtms.maxPulsesPerTrain.value));
    }
    if (m_rtms.maxTrains && p.train_count() > m_rtms.maxTrains->value) {
        return over(std::to_string(p.train_count()) + " trains exceed " +
                    formatNumber(m_rtms.maxTrains->value));
    }
    if (!(p.output_percent() > 0) || p.output_percent() > m_model.maxOutputPercent.value) {
        return over("output " + formatNumber(p.output_percent()) + " % is outside 0-" +
                    formatNumber(m_model.maxOutputPercent.value) + " %");
    }
    if (p.inter_train_interval_s() < 0) {
        return rejected(pb::REJECT_INVALID, "inter_train_interval_s must not be negative");
    }
    if (tbs && (p.pulses_per_burst() - 1) / p.burst_frequency_hz() >= 1.0 / p.frequency_hz()) {
        return over("a burst of " + std::to_string(p.pulses_per_burst()) + " pulses at " +
                    formatNumber(p.burst_frequency_hz()) + " Hz does not fit its " +
                    formatNumber(p.frequency_hz()) + " Hz repetition");
    }
    // Checked before anything changes: a refused load leaves the device as it was.
    const double trainS = pulseOffsetS(p, p.pulses_per_train() - 1);
    if (trainS > m_rtms.maxTrainS.value) {
        return over("a train lasts " + formatNumber(trainS) + " s, more than " +
                    formatNumber(m_rtms.maxTrainS.value) + " s");
    }
    m_state.clear_loaded();
    *m_state.mutable_loaded() = load;
    m_approvedOutput = p.output_percent();
    m_state.set_output_percent(p.output_percent());
    m_state.set_pulses_planned(p.pulses_per_train() * p.train_count());
    m_state.set_pulses_delivered(0);
    m_state.set_trains_delivered(0);
    m_state.set_phase(pb::PHASE_LOADED);
    log("loaded", load.approved_sha256());
    return done();
}

pb::CommandResult SimulatedDevice::program(const pb::VnsParameters& vns, const std::string& hash) {
    const pb::Phase phase = m_state.phase();
    if (phase == pb::PHASE_STIMULATING || phase == pb::PHASE_PAUSED || phase == pb::PHASE_ARMED) {
        return rejected(pb::REJECT_WRONG_STATE, "stop before programming");
    }
    if (!isSha256Hex(hash)) {
        return rejected(pb::REJECT_HASH_MISSING,
                        "a generator is programmed only with the SHA-256 of its approved settings");
    }
    const auto over = [](const std::string& detail) {
        return rejected(pb::REJECT_OVER_LIMIT, detail);
    };
    const auto inMenu = [](const std::vector<double>& menu, double value) {
        return std::any_of(menu.begin(), menu.end(),
                           [&](double m) { return std::fabs(m - value) < 1e-9; });
    };
    if (vns.output_current_ma() < m_vns.currentMa.min ||
        vns.output_current_ma() > m_vns.currentMa.max) {
        return over("current " + formatNumber(vns.output_current_ma()) + " mA is outside " +
                    formatNumber(m_vns.currentMa.min) + "-" + formatNumber(m_vns.currentMa.max) +
                    " mA");
    }
    if (!inMenu(m_vns.pulseWidthsUs, vns.pulse_width_us())) {
        return over("pulse width " + formatNumber(vns.pulse_width_us()) + " µs is not in the menu");
    }
    if (!inMenu(m_vns.frequenciesHz, vns.frequency_hz())) {
        return over("frequency " + formatNumber(vns.frequency_hz()) + " Hz is not in the menu");
    }
    if (vns.on_time_s() < m_vns.onTimeS.min || vns.on_time_s() > m_vns.onTimeS.max) {
        return over("on time " + formatNumber(vns.on_time_s()) + " s is outside " +
                    formatNumber(m_vns.onTimeS.min) + "-" + formatNumber(m_vns.onTimeS.max) + " s");
    }
    const double offMin = vns.off_time_s() / 60.0;
    if (offMin < m_vns.offTimeMin.min || offMin > m_vns.offTimeMin.max) {
        return over("off time " + formatNumber(vns.off_time_s()) + " s is outside " +
                    formatNumber(m_vns.offTimeMin.min * 60) + "-" +
                    formatNumber(m_vns.offTimeMin.max * 60) + " s");
    }
    m_state.clear_loaded();
    *m_state.mutable_loaded()->mutable_vns() = vns;
    m_state.mutable_loaded()->set_approved_sha256(hash);
    m_approvedOutput = vns.output_current_ma();
    m_state.set_current_ma(vns.output_current_ma());
    m_state.set_phase(pb::PHASE_LOADED);
    log("programmed", formatNumber(vns.output_current_ma()) + " mA");
    return done();
}

pb::CommandResult SimulatedDevice::impedanceTest(std::uint64_t id) {
    if (m_state.phase() == pb::PHASE_STIMULATING) {
        return rejected(pb::REJECT_WRONG_STATE, "stop before an impedance test");
    }
    auto timer = std::make_shared<asio::steady_timer>(m_endpoint->strand(),
                                                      scaled(m_model.impedanceTestS.value));
    timer->async_wait([this, timer, id](boost::system::error_code error) {
        if (error) {
            return;
        }
        const double ohm = m_state.impedance_ohm();
        pb::CommandResult result;
        result.set_id(id);
        log("impedance", formatNumber(ohm) + " ohm");
        if (ohm < m_model.impedanceLowOhm.value || ohm > m_model.impedanceHighOhm.value) {
            fault(pb::FAULT_IMPEDANCE_OUT_OF_RANGE,
                  "lead impedance " + formatNumber(ohm) + " ohm is outside " +
                      formatNumber(m_model.impedanceLowOhm.value) + "-" +
                      formatNumber(m_model.impedanceHighOhm.value) + " ohm",
                  ohm);
            result.set_status(pb::COMMAND_FAILED);
            result.set_detail("lead impedance out of range");
        } else {
            result.set_status(pb::COMMAND_DONE);
        }
        changed();
        m_endpoint->complete(result);
    });
    pb::CommandResult accepted;
    accepted.set_status(pb::COMMAND_ACCEPTED);
    return accepted;
}

double SimulatedDevice::pulseOffsetS(const pb::RtmsParameters& p, std::uint32_t index) {
    if (p.frequency_hz() <= 0) {
        return 0;  // VNS, or nothing loaded
    }
    if (p.pattern() == pb::PATTERN_ITBS || p.pattern() == pb::PATTERN_CTBS) {
        const std::uint32_t burst = index / p.pulses_per_burst();
        const std::uint32_t within = index % p.pulses_per_burst();
        return burst / p.frequency_hz() + within / p.burst_frequency_hz();
    }
    return index / p.frequency_hz();
}

std::chrono::steady_clock::duration SimulatedDevice::scaled(double simulatedS) const {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(simulatedS / m_timeScale));
}

void SimulatedDevice::begin(bool resuming) {
    m_state.set_phase(pb::PHASE_STIMULATING);
    const auto now = std::chrono::steady_clock::now();
    const auto seconds = [this](double s) { return scaled(s); };
    if (!resuming || m_kind == pb::DEVICE_KIND_VNS) {
        m_trainStart = now;  // the first pulse at once
    } else if (m_pulseInTrain > 0) {
        // Mid-train: the next pulse one pulse interval after resuming, never sooner.
        const double gap = pulseOffsetS(m_pulseInTrain) - pulseOffsetS(m_pulseInTrain - 1);
        m_trainStart = now + seconds(gap) - seconds(pulseOffsetS(m_pulseInTrain));
    } else {
        // Between trains: a whole inter-train pause after resuming.
        m_trainStart =
            std::max(m_trainStart, now + seconds(m_state.loaded().rtms().inter_train_interval_s()));
    }
    schedule();
}

void SimulatedDevice::schedule() {
    if (m_kind == pb::DEVICE_KIND_VNS) {
        // VNS: one train per ON period; the next after OFF.
        const pb::VnsParameters& v = m_state.loaded().vns();
        m_timer->expires_after(scaled(m_train == 0 ? 0.0 : v.on_time_s() + v.off_time_s()));
    } else {
        m_timer->expires_at(m_trainStart + scaled(pulseOffsetS(m_pulseInTrain)));
    }
    m_timer->async_wait([this](boost::system::error_code error) {
        if (!error && m_state.phase() == pb::PHASE_STIMULATING) {
            pulse();
        }
    });
}

void SimulatedDevice::pulse() {
    const auto now = std::chrono::steady_clock::now();
    pb::Telemetry telemetry;
    telemetry.set_device_time_us(deviceMicros());
    if (m_kind == pb::DEVICE_KIND_VNS) {
        const pb::VnsParameters& v = m_state.loaded().vns();
        ++m_train;
        m_state.set_trains_delivered(m_train);
        const double drain =
            m_model.batteryDrainPercentPerMaS.value * v.output_current_ma() * v.on_time_s();
        m_state.set_battery_percent(std::max(0.0, m_state.battery_percent() - drain));
        log("train_finished", "ON period " + std::to_string(m_train) + " at " +
                                  formatNumber(v.output_current_ma()) + " mA");
        telemetry.set_train_index(m_train);
        telemetry.set_delivered_output(v.output_current_ma());
        telemetry.set_impedance_ohm(m_state.impedance_ohm());
        telemetry.set_battery_percent(m_state.battery_percent());
        m_endpoint->sendTelemetry(telemetry);
        schedule();
        return;
    }
    const pb::RtmsParameters& p = m_state.loaded().rtms();
    const std::uint32_t index = m_state.pulses_delivered() + 1;
    if (m_faults.coilDisconnectedAtPulse && index == *m_faults.coilDisconnectedAtPulse) {
        fault(pb::FAULT_COIL_DISCONNECTED, "coil disconnected", 0);
        return;
    }
    coolTo(now);
    const double output = m_state.output_percent() / 100.0;
    double temperature =
        m_state.coil_temperature_c() + m_model.heatingPerPulseC.value * output * output;
    if (m_faults.overTemperatureAtPulse && index == *m_faults.overTemperatureAtPulse) {
        temperature = m_model.cutoutC.value + 0.5;  // injected
    }
    m_state.set_coil_temperature_c(temperature);
    if (temperature >= m_model.cutoutC.value) {
        fault(pb::FAULT_COIL_OVER_TEMPERATURE,
              "coil at " + formatNumber(temperature) + " °C; cut-out at " +
                  formatNumber(m_model.cutoutC.value) + " °C",
              temperature);
        return;
    }
    if (m_pulseInTrain == 0) {
        log("train_started", "train " + std::to_string(m_train + 1) + " at " +
                                 formatNumber(m_state.output_percent()) + " %");
    }
    m_state.set_pulses_delivered(index);
    m_pulses = index;
    telemetry.set_pulse_index(index);
    telemetry.set_train_index(m_train + 1);
    telemetry.set_delivered_output(m_state.output_percent());
    telemetry.set_coil_temperature_c(temperature);
    m_endpoint->sendTelemetry(telemetry);
    ++m_pulseInTrain;
    if (m_pulseInTrain >= p.pulses_per_train()) {
        ++m_train;
        m_pulseInTrain = 0;
        m_state.set_trains_delivered(m_train);
        log("train_finished", "train " + std::to_string(m_train) + ": " +
                                  std::to_string(p.pulses_per_train()) + " pulses at " +
                                  formatNumber(m_state.output_percent()) + " %");
        if (m_train >= p.train_count()) {
            stopStimulation(pb::STOP_COMPLETED, "protocol completed", pb::PHASE_LOADED);
            return;
        }
        // The next train starts after the pause that follows this one.
        m_trainStart = now + scaled(p.inter_train_interval_s());
        changed();
    }
    schedule();
}

void SimulatedDevice::stopStimulation(pb::StopCause cause, const std::string& detail,
                                      pb::Phase next) {
    if (m_timer) {
        m_timer->cancel();
    }
    m_lastStopNanos = std::chrono::steady_clock::now().time_since_epoch().count();
    m_state.set_phase(next);
    m_state.set_last_stop(cause);
    m_state.set_last_stop_detail(detail);
    m_pulseInTrain = 0;
    log("stopped", pb::StopCause_Name(cause) + ": " + detail + " after " +
                       std::to_string(m_state.pulses_delivered()) + " pulses");
    changed();
}

void SimulatedDevice::fault(pb::FaultCode code, const std::string& detail, double value) {
    pb::Fault fault;
    fault.set_code(code);
    fault.set_detail(detail);
    fault.set_at_pulse(m_state.pulses_delivered());
    fault.set_value(value);
    log("fault", pb::FaultCode_Name(code) + ": " + detail);
    const pb::Phase phase = m_state.phase();
    if (phase == pb::PHASE_STIMULATING || phase == pb::PHASE_PAUSED || phase == pb::PHASE_ARMED) {
        stopStimulation(pb::STOP_FAULT, detail, pb::PHASE_FAULT);
    }
    if (m_endpoint) {
        m_endpoint->sendFault(fault);
    }
}

void SimulatedDevice::linkLost(const std::string& why) {
    const pb::Phase phase = m_state.phase();
    if (phase == pb::PHASE_STIMULATING || phase == pb::PHASE_PAUSED || phase == pb::PHASE_ARMED) {
        stopStimulation(pb::STOP_LINK_LOST, why, pb::PHASE_LOADED);
    } else {
        log("link_lost", why);
    }
}

}  // namespace neuroplan::device
