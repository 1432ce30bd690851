#include "sessions/machine.h"

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace neuroplan::sessions {

namespace pb = device::pb;

namespace {

constexpr std::array kNames{
    std::pair{SessionStatus::Scheduled, "scheduled"},
    std::pair{SessionStatus::CheckedIn, "checked_in"},
    std::pair{SessionStatus::Ready, "ready"},
    std::pair{SessionStatus::Running, "running"},
    std::pair{SessionStatus::Paused, "paused"},
    std::pair{SessionStatus::Completed, "completed"},
    std::pair{SessionStatus::StoppedEarly, "stopped_early"},
    std::pair{SessionStatus::Aborted, "aborted"},
    std::pair{SessionStatus::Interrupted, "interrupted"},
};

/// The shortest text that reads back as the same double: a read-back difference is never
/// hidden by rounding (unlike formatNumber).
std::string exactNumber(double value) {
    char buffer[32];
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
    return std::string(buffer, end);
}

}  // namespace

const char* toString(SessionStatus status) {
    for (const auto& [value, name] : kNames) {
        if (value == status) {
            return name;
        }
    }
    return "?";
}

std::optional<SessionStatus> parseStatus(std::string_view text) {
    for (const auto& [value, name] : kNames) {
        if (text == name) {
            return value;
        }
    }
    return std::nullopt;
}

bool isFinal(SessionStatus status) {
    return status == SessionStatus::Completed || status == SessionStatus::StoppedEarly ||
           status == SessionStatus::Aborted;
}

bool isActive(SessionStatus status) {
    return status == SessionStatus::CheckedIn || status == SessionStatus::Ready ||
           status == SessionStatus::Running || status == SessionStatus::Paused;
}

Status checkTransition(SessionStatus from, SessionStatus to) {
    using S = SessionStatus;
    const auto allowed = [&]() -> bool {
        switch (from) {
            case S::Scheduled:
                return to == S::CheckedIn || to == S::Aborted;
            case S::CheckedIn:
                return to == S::Ready || to == S::Aborted || to == S::Interrupted;
            case S::Ready:
                // Back to checked_in when the device goes away before the start; stopped
                // early when a resumed session is given up before it restarts.
                return to == S::Running || to == S::CheckedIn || to == S::Aborted ||
                       to == S::StoppedEarly || to == S::Interrupted;
            case S::Running:
                // Aborted: the device refused to start, nothing was delivered.
                return to == S::Paused || to == S::Completed || to == S::StoppedEarly ||
                       to == S::Aborted || to == S::Interrupted;
            case S::Paused:
                return to == S::Running || to == S::StoppedEarly || to == S::Completed ||
                       to == S::Interrupted;
            case S::Interrupted:
                // Resumed (the device is prepared again), or closed by the technician.
                return to == S::Ready || to == S::CheckedIn || to == S::StoppedEarly ||
                       to == S::Completed || to == S::Aborted;
            case S::Completed:
            case S::StoppedEarly:
            case S::Aborted:
                return false;
        }
        return false;
    }();
    if (allowed) {
        return {};
    }
    std::string why;
    if (isFinal(from)) {
        why = "the session has ended (" + std::string(toString(from)) + ") and its record is final";
    } else if (to == SessionStatus::Running && from != SessionStatus::Ready &&
               from != SessionStatus::Paused) {
        why =
            "a session starts only when ready (protocol approved, motor threshold current, "
            "screening confirmed, device loaded and read back)";
    } else {
        why = "not a step of the session's state machine";
    }
    return makeError(
        ErrorCode::Conflict, "status",
        std::string("cannot go from ") + toString(from) + " to " + toString(to) + ": " + why);
}

bool Checklist::allOk() const {
    return firstFailure() == nullptr;
}

const CheckItem* Checklist::firstFailure() const {
    for (const auto& item : items) {
        if (!item.ok) {
            return &item;
        }
    }
    return nullptr;
}

nlohmann::json toJson(const Checklist& checklist) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& item : checklist.items) {
        items.push_back({{"id", item.id},
                         {"label", item.label},
                         {"ok", item.ok},
                         {"detail", item.detail},
                         {"source", item.source}});
    }
    return {{"ready", checklist.allOk()}, {"items", items}};
}

std::uint32_t plannedPulses(const protocols::Protocol& protocol) {
    const auto* rtms = std::get_if<protocols::RtmsProtocol>(&protocol);
    if (rtms == nullptr) {
        return 0;
    }
    const auto derived = protocols::validateRtms(*rtms, protocols::RtmsContext{}).derived;
    return derived ? static_cast<std::uint32_t>(derived->pulsesPerSession) : 0;
}

Result<DevicePlan> devicePlan(const protocols::Protocol& protocol,
                              std::optional<double> rmtPercentMso,
                              const std::string& contentSha256) {
    DevicePlan plan;
    plan.load.set_approved_sha256(contentSha256);
    if (const auto* rtms = std::get_if<protocols::RtmsProtocol>(&protocol)) {
        if (!rmtPercentMso) {
            return makeError(ErrorCode::Conflict, "motor_threshold",
                             "an rTMS session needs the patient's resting motor threshold");
        }
        const protocols::RtmsValidation validation =
            protocols::validateRtms(*rtms, protocols::RtmsContext{rmtPercentMso, std::nullopt});
        if (!validation.derived || !validation.derived->outputPercentMso || !rtms->trains) {
            return makeError(ErrorCode::Conflict, "protocol",
                             "the protocol's timing or intensity is incomplete");
        }
        const protocols::RtmsDerived& d = *validation.derived;
        pb::RtmsParameters* p = plan.load.mutable_rtms();
        if (rtms->thetaBurst()) {
            p->set_pattern(rtms->pattern == "itbs" ? pb::PATTERN_ITBS : pb::PATTERN_CTBS);
            p->set_frequency_hz(1.0 / d.interBurstIntervalS);
            p->set_burst_frequency_hz(1.0 / d.interPulseIntervalS);
            p->set_pulses_per_burst(static_cast<std::uint32_t>(d.pulsesInBurst));
        } else {
            p->set_pattern(pb::PATTERN_STANDARD);
            p->set_frequency_hz(*rtms->frequencyHz);
        }
        p->set_pulses_per_train(static_cast<std::uint32_t>(d.pulsesPerTrain));
        p->set_train_count(static_cast<std::uint32_t>(*rtms->trains));
        p->set_inter_train_interval_s(rtms->interTrainIntervalS.value_or(0));
        p->set_output_percent(*d.outputPercentMso);
        plan.pulsesPlanned = static_cast<std::uint32_t>(d.pulsesPerSession);
        plan.outputPercentMso = *d.outputPercentMso;
        return plan;
    }
    const auto& vns = std::get<protocols::VnsParameters>(protocol);
    if (!vns.outputCurrentMa || !vns.frequencyHz || !vns.pulseWidthUs || !vns.onTimeS ||
        !vns.offTimeMin) {
        return makeError(ErrorCode::Conflict, "protocol", "the VNS parameters are incomplete");
    }
    pb::VnsParameters* v = plan.load.mutable_vns();
    v->set_output_current_ma(*vns.outputCurrentMa);
    v->set_frequency_hz(*vns.frequencyHz);
    v->set_pulse_width_us(*vns.pulseWidthUs);
    v->set_on_time_s(*vns.onTimeS);
    v->set_off_time_s(*vns.offTimeMin * 60.0);
    return plan;
}

nlohmann::json toJson(const pb::LoadProtocol& load) {
    nlohmann::json out{{"approved_sha256", load.approved_sha256()}};
    if (load.has_rtms()) {
        const auto& p = load.rtms();
        out["rtms"] = {{"pattern", pb::Pattern_Name(p.pattern())},
                       {"frequency_hz", p.frequency_hz()},
                       {"burst_frequency_hz", p.burst_frequency_hz()},
                       {"pulses_per_burst", p.pulses_per_burst()},
                       {"pulses_per_train", p.pulses_per_train()},
                       {"train_count", p.train_count()},
                       {"inter_train_interval_s", p.inter_train_interval_s()},
                       {"output_percent", p.output_percent()}};
    }
    if (load.has_vns()) {
        const auto& v = load.vns();
        out["vns"] = {{"output_current_ma", v.output_current_ma()},
                      {"frequency_hz", v.frequency_hz()},
                      {"pulse_width_us", v.pulse_width_us()},
                      {"on_time_s", v.on_time_s()},
                      {"off_time_s", v.off_time_s()}};
    }
    return out;
}

std::vector<std::string> readBackDifferences(const pb::LoadProtocol& sent, const pb::State& state) {
    std::vector<std::string> out;
    const pb::LoadProtocol& held = state.loaded();
    const auto compare = [&](const char* name, double a, double b) {
        if (std::fabs(a - b) > 1e-9 * std::max(1.0, std::fabs(a))) {
            out.push_back(std::string(name) + ": sent " + exactNumber(a) + ", device " +
                          exactNumber(b));
        }
    };
    if (held.approved_sha256() != sent.approved_sha256()) {
        out.push_back("approved_sha256: sent " + sent.approved_sha256() + ", device " +
                      (held.approved_sha256().empty() ? "none" : held.approved_sha256()));
    }
    if (sent.has_rtms() != held.has_rtms() || sent.has_vns() != held.has_vns()) {
        out.push_back("kind: the device holds another kind of protocol");
        return out;
    }
    if (sent.has_rtms()) {
        const auto& a = sent.rtms();
        const auto& b = held.rtms();
        if (a.pattern() != b.pattern()) {
            out.push_back("pattern: sent " + pb::Pattern_Name(a.pattern()) + ", device " +
                          pb::Pattern_Name(b.pattern()));
        }
        compare("frequency_hz", a.frequency_hz(), b.frequency_hz());
        compare("burst_frequency_hz", a.burst_frequency_hz(), b.burst_frequency_hz());
        compare("pulses_per_burst", a.pulses_per_burst(), b.pulses_per_burst());
        compare("pulses_per_train", a.pulses_per_train(), b.pulses_per_train());
        compare("train_count", a.train_count(), b.train_count());
        compare("inter_train_interval_s", a.inter_train_interval_s(), b.inter_train_interval_s());
        compare("output_percent", a.output_percent(), b.output_percent());
    }
    if (sent.has_vns()) {
        const auto& a = sent.vns();
        const auto& b = held.vns();
        compare("output_current_ma", a.output_current_ma(), b.output_current_ma());
        compare("frequency_hz", a.frequency_hz(), b.frequency_hz());
        compare("pulse_width_us", a.pulse_width_us(), b.pulse_width_us());
        compare("on_time_s", a.on_time_s(), b.on_time_s());
        compare("off_time_s", a.off_time_s(), b.off_time_s());
    }
    return out;
}

}  // namespace neuroplan::sessions
