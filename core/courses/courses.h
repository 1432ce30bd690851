// neuroplan::courses — a patient's treatment courses, their versioned protocols, motor
// thresholds and physician approvals.
//
// A protocol is saved as a new version every time it changes; versions are immutable. A version
// reaches a device only when it is the course's latest and a physician approved exactly its
// content (bound by SHA-256): warnings acknowledged, a violation overridden with a written
// reason; an invalid protocol cannot be approved at all. Every write is audited.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocols/document.h"
#include "records/users.h"
#include "store/store.h"

namespace neuroplan::courses {

struct MotorThreshold {
    std::int64_t id = 0;
    std::string measuredOn;  ///< YYYY-MM-DD
    double valuePercentMso = 0;
    std::string method;  ///< emg_relative_frequency | adaptive | visual
    std::string device;
    std::string coil;
    std::string operatorLogin;
};

struct MotorThresholdInput {
    std::string measuredOn;
    double valuePercentMso = 0;
    std::string method;
    std::string device;
    std::string coil;
};

struct Course {
    std::int64_t id = 0;
    std::string mrn;
    std::string label;
    std::string kind;  ///< rtms | vns
    std::string createdUtc;
};

struct Approval {
    std::string physicianLogin;
    std::string approvedUtc;
    std::string verdictAtApproval;
    bool warningsAcknowledged = false;
    std::string overrideReason;
};

struct ProtocolVersion {
    std::int64_t id = 0;
    std::int64_t courseId = 0;
    int version = 0;
    nlohmann::json protocol;
    std::string contentSha256;
    std::string verdict;
    nlohmann::json report;  ///< protocols::toJson(Report) at save time
    std::string createdUtc;
    std::string createdBy;
    std::optional<Approval> approval;
    bool latest = false;
};

struct TitrationVisitInput {
    std::string visitOn;  ///< YYYY-MM-DD
    double currentMa = 0;
    bool tolerated = true;
    std::optional<double> leadImpedanceOhm;
    std::string note;
};

struct TitrationVisit {
    std::int64_t id = 0;
    TitrationVisitInput visit;
    std::string recordedBy;
};

/// Where a VNS course's titration stands: the plan, the visits so far and the next setting.
struct TitrationStatus {
    protocols::TitrationPlan plan;
    std::vector<TitrationVisit> visits;  ///< oldest first
    double nextCurrentMa = 0;
    bool held = false;  ///< the last visit was not tolerated, so the current is not raised
    bool atTarget = false;
};

nlohmann::json toJson(const TitrationStatus& status);
nlohmann::json toJson(const MotorThreshold& threshold);
nlohmann::json toJson(const Course& course);
nlohmann::json toJson(const ProtocolVersion& version);

/// The shortest written reason accepted for overriding a violation.
inline constexpr std::size_t kMinOverrideReasonLength = 10;

class CourseService {
  public:
    explicit CourseService(store::Store& store) : m_store(store) {}

    Result<MotorThreshold> recordMotorThreshold(const records::Actor& by, std::string_view mrn,
                                                const MotorThresholdInput& input);
    /// Newest first (by measurement date, then record order).
    Result<std::vector<MotorThreshold>> motorThresholds(const records::Actor& by,
                                                        std::string_view mrn);

    Result<Course> createCourse(const records::Actor& by, std::string_view mrn,
                                const std::string& label, const std::string& kind);
    Result<std::vector<Course>> courses(const records::Actor& by, std::string_view mrn);

    /// Parses, validates (rTMS: against the patient's latest motor threshold) and stores the
    /// protocol as the course's next version. Malformed documents are refused naming the path.
    Result<ProtocolVersion> saveProtocol(const records::Actor& by, std::int64_t courseId,
                                         const nlohmann::json& document);
    Result<std::vector<ProtocolVersion>> versions(const records::Actor& by, std::int64_t courseId);

    /// A physician approves the latest version. It is re-validated now; warnings must be
    /// acknowledged, a violation needs `overrideReason`, an invalid protocol is refused.
    Result<ProtocolVersion> approve(const records::Actor& by, std::int64_t versionId,
                                    bool acknowledgeWarnings, const std::string& overrideReason);

    /// The version a session may deliver: the course's latest, approved. Errors say why not.
    Result<ProtocolVersion> deliverable(const records::Actor& by, std::int64_t courseId);

    /// Records a titration visit of a VNS course: the current delivered, whether it was
    /// tolerated, and the lead impedance. The current must be a generator setting.
    Result<TitrationVisit> recordTitrationVisit(const records::Actor& by, std::int64_t courseId,
                                                const TitrationVisitInput& input);
    /// The course's titration: the default plan (protocols/data/vns-v1.json), its visits and the
    /// next current (held after a visit that was not tolerated).
    Result<TitrationStatus> titration(const records::Actor& by, std::int64_t courseId);

    /// The context an rTMS protocol of this patient is validated in, as of `today`.
    Result<protocols::RtmsContext> rtmsContext(std::int64_t patientId);

  private:
    Result<ProtocolVersion> loadVersion(std::int64_t versionId);
    Result<Course> loadCourse(std::int64_t courseId, std::int64_t* patientId);

    store::Store& m_store;
};

/// SHA-256 (hex) of the canonical JSON of a protocol: what an approval is bound to.
std::string contentHash(const nlohmann::json& protocol);

}  // namespace neuroplan::courses
