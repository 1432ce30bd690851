// neuroplan::sessions — the session state machine, the readiness checklist, the device
// parameters a session sends, and the read-back check. Pure functions; no database, no device.
//
//   scheduled -> checked_in -> ready -> running <-> paused -> completed | stopped_early
//   aborted (before anything was delivered), interrupted (the program running it died or the
//   link did not come back); an interrupted session is resumed (-> ready) or closed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "device/framing.h"
#include "protocols/document.h"

namespace neuroplan::sessions {

enum class SessionStatus {
    Scheduled,
    CheckedIn,
    Ready,
    Running,
    Paused,
    Completed,
    StoppedEarly,
    Aborted,
    Interrupted,
};

const char* toString(SessionStatus status);
std::optional<SessionStatus> parseStatus(std::string_view text);
/// Completed, stopped early or aborted: the record is final.
bool isFinal(SessionStatus status);
/// A session some program is (or was, until it died) running: checked in, ready, running,
/// paused.
bool isActive(SessionStatus status);

/// Ok if `from -> to` is a transition of the machine; otherwise an error (Conflict, field
/// "status") saying why not.
Status checkTransition(SessionStatus from, SessionStatus to);

/// One line of the pre-start checklist.
struct CheckItem {
    std::string id;  ///< protocol.approved, protocol.unchanged, motor_threshold.current, ...
    std::string label;
    bool ok = false;
    std::string detail;  ///< why (not), for a person
    std::string source;  ///< where the rule comes from (data file value or issue)
};

struct Checklist {
    std::vector<CheckItem> items;
    bool allOk() const;
    /// The first failing item, for a one-line refusal.
    const CheckItem* firstFailure() const;
};
nlohmann::json toJson(const Checklist& checklist);

/// What a session sends to the device: the approved parameters, with the rTMS output in %
/// machine output computed from the motor threshold, and the approved content hash.
struct DevicePlan {
    device::pb::LoadProtocol load;
    std::uint32_t pulsesPlanned = 0;  ///< rTMS: pulses; VNS: 0 (runs until stopped)
    double outputPercentMso = 0;      ///< rTMS
};

/// Pulses one session of the protocol delivers (rTMS; 0 for VNS, which runs until stopped, or
/// for an incomplete protocol). Independent of the motor threshold.
std::uint32_t plannedPulses(const protocols::Protocol& protocol);

/// Builds the device plan of an approved protocol. rTMS needs the resting motor threshold.
Result<DevicePlan> devicePlan(const protocols::Protocol& protocol,
                              std::optional<double> rmtPercentMso,
                              const std::string& contentSha256);
nlohmann::json toJson(const device::pb::LoadProtocol& load);

/// Compares what the device holds (its State, read back after loading) with what was sent.
/// Empty when identical; otherwise each differing setting, "frequency_hz: sent 10, device 20".
std::vector<std::string> readBackDifferences(const device::pb::LoadProtocol& sent,
                                             const device::pb::State& state);

}  // namespace neuroplan::sessions
