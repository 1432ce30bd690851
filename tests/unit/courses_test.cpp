// Courses, motor thresholds, versioned protocols and physician approval on a real database.
#include <gtest/gtest.h>

#include "courses/courses.h"
#include "protocols/library.h"
#include "records/patients.h"
#include "support.h"

namespace neuroplan::courses {
namespace {

using neuroplan::testing::TestClinic;
using nlohmann::json;

std::string daysAgo(int days) {
    const auto today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
    return formatIsoDate(Date{today - std::chrono::days{days}});
}

json templateProtocol(const char* id) {
    return protocols::Library::builtIn().findTemplate(id)->protocol;
}

class Courses : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(records::PatientService(*clinic.store)
                        .add(clinic.technician, {"P-1", "Patient", "Pat", "1980-01-01", "female"})
                        .ok());
        auto c = service.createCourse(clinic.technician, "P-1", "rTMS course 1", "rtms");
        ASSERT_TRUE(c.ok()) << c.error().describe();
        course = *c;
    }
    void recordMt(double value, int ageDays) {
        auto t = service.recordMotorThreshold(
            clinic.technician, "P-1",
            {daysAgo(ageDays), value, "emg_relative_frequency", "Rapid2", "D70"});
        ASSERT_TRUE(t.ok()) << t.error().describe();
    }
    ProtocolVersion save(const json& protocol) {
        auto v = service.saveProtocol(clinic.technician, course.id, protocol);
        EXPECT_TRUE(v.ok()) << v.error().describe();
        return *v;
    }

    TestClinic clinic;
    CourseService service{*clinic.store};
    Course course;
};

TEST_F(Courses, MotorThresholdInputIsValidatedByField) {
    const std::pair<MotorThresholdInput, const char*> cases[] = {
        {{"2026-02-30", 50, "adaptive", "d", "c"}, "measured_on"},
        {{"2999-01-01", 50, "adaptive", "d", "c"}, "measured_on"},
        {{daysAgo(1), 0, "adaptive", "d", "c"}, "value_percent_mso"},
        {{daysAgo(1), 100.5, "adaptive", "d", "c"}, "value_percent_mso"},
        {{daysAgo(1), 50, "guess", "d", "c"}, "method"},
        {{daysAgo(1), 50, "adaptive", " ", "c"}, "device"},
        {{daysAgo(1), 50, "adaptive", "d", ""}, "coil"},
    };
    for (const auto& [input, field] : cases) {
        auto t = service.recordMotorThreshold(clinic.technician, "P-1", input);
        ASSERT_FALSE(t.ok()) << field;
        EXPECT_EQ(t.error().field, field);
    }
    EXPECT_TRUE(service.motorThresholds(clinic.technician, "P-1")->empty());
}

TEST_F(Courses, TheLatestMotorThresholdDrivesTheOutput) {
    recordMt(70, 20);
    recordMt(60, 2);
    const ProtocolVersion v = save(templateProtocol("hf-10hz-left-dlpfc"));
    EXPECT_DOUBLE_EQ(v.report["derived"]["output_percent_mso"].get<double>(), 72.0);
    EXPECT_EQ(v.verdict, "ok");
}

TEST_F(Courses, AStaleMotorThresholdWarns) {
    const double interval = protocols::Library::builtIn().safety.mtRedeterminationDays.value;
    recordMt(60, static_cast<int>(interval) + 1);
    const ProtocolVersion v = save(templateProtocol("hf-10hz-left-dlpfc"));
    EXPECT_EQ(v.verdict, "warning");
    EXPECT_NE(v.report.dump().find("mt.stale"), std::string::npos);
}

TEST_F(Courses, OutputAbove100PercentMsoIsInvalidAndCannotBeApproved) {
    recordMt(90, 1);  // 90 %MSO x 120 % = 108 %MSO
    const ProtocolVersion v = save(templateProtocol("hf-10hz-left-dlpfc"));
    EXPECT_EQ(v.verdict, "invalid");
    auto approved = service.approve(clinic.physician, v.id, true, "a long enough reason here");
    ASSERT_FALSE(approved.ok());
    EXPECT_EQ(approved.error().code, ErrorCode::Conflict);
    EXPECT_NE(approved.error().message.find("output.max_mso"), std::string::npos);
}

TEST_F(Courses, EachSaveIsANewImmutableVersion) {
    recordMt(55, 1);
    const ProtocolVersion first = save(templateProtocol("hf-10hz-left-dlpfc"));
    json changed = templateProtocol("hf-10hz-left-dlpfc");
    changed["trains"] = 60;
    const ProtocolVersion second = save(changed);
    EXPECT_EQ(first.version, 1);
    EXPECT_EQ(second.version, 2);
    EXPECT_NE(first.contentSha256, second.contentSha256);
    auto all = service.versions(clinic.physician, course.id);
    ASSERT_EQ(all->size(), 2u);
    EXPECT_TRUE(all->front().latest);
    EXPECT_FALSE(all->back().latest);
    EXPECT_FALSE(clinic.store->db().exec("UPDATE protocol_versions SET verdict = 'ok'").ok());
    EXPECT_FALSE(clinic.store->db().exec("DELETE FROM protocol_versions").ok());
}

TEST_F(Courses, OnlyAPhysicianApproves) {
    recordMt(55, 1);
    const ProtocolVersion v = save(templateProtocol("hf-10hz-left-dlpfc"));
    for (const records::Actor* actor : {&clinic.technician, &clinic.admin}) {
        auto refused = service.approve(*actor, v.id, false, "");
        ASSERT_FALSE(refused.ok());
        EXPECT_EQ(refused.error().code, ErrorCode::PermissionDenied);
    }
    auto approved = service.approve(clinic.physician, v.id, false, "");
    ASSERT_TRUE(approved.ok()) << approved.error().describe();
    EXPECT_EQ(approved->approval->physicianLogin, "doc");
    EXPECT_EQ(approved->approval->verdictAtApproval, "ok");
    auto again = service.approve(clinic.physician, v.id, false, "");
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::Conflict);
}

TEST_F(Courses, WarningsMustBeAcknowledged) {
    recordMt(55, 1);
    const ProtocolVersion v = save(templateProtocol("itbs-left-dlpfc"));
    ASSERT_EQ(v.verdict, "warning");
    auto refused = service.approve(clinic.physician, v.id, false, "");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().field, "acknowledge_warnings");
    auto approved = service.approve(clinic.physician, v.id, true, "");
    ASSERT_TRUE(approved.ok());
    EXPECT_TRUE(approved->approval->warningsAcknowledged);
}

TEST_F(Courses, AViolationNeedsAWrittenOverride) {
    recordMt(55, 1);
    json itbs = templateProtocol("itbs-left-dlpfc");
    itbs["intensity_percent_rmt"] = 130;
    const ProtocolVersion v = save(itbs);
    ASSERT_EQ(v.verdict, "violation");
    for (const char* reason : {"", "   ", "too short"}) {
        auto refused = service.approve(clinic.physician, v.id, true, reason);
        ASSERT_FALSE(refused.ok()) << reason;
        EXPECT_EQ(refused.error().field, "override_reason");
    }
    auto approved = service.approve(clinic.physician, v.id, true, "research protocol, IRB 2026-17");
    ASSERT_TRUE(approved.ok());
    EXPECT_EQ(approved->approval->overrideReason, "research protocol, IRB 2026-17");
    EXPECT_EQ(approved->approval->verdictAtApproval, "violation");
}

TEST_F(Courses, OnlyTheLatestVersionIsDeliverableAndAChangeNeedsApprovalAgain) {
    recordMt(55, 1);
    auto none = service.deliverable(clinic.technician, course.id);
    ASSERT_FALSE(none.ok());
    const ProtocolVersion first = save(templateProtocol("hf-10hz-left-dlpfc"));
    auto unapproved = service.deliverable(clinic.technician, course.id);
    ASSERT_FALSE(unapproved.ok());
    EXPECT_NE(unapproved.error().message.find("not approved"), std::string::npos);
    ASSERT_TRUE(service.approve(clinic.physician, first.id, false, "").ok());
    auto ready = service.deliverable(clinic.technician, course.id);
    ASSERT_TRUE(ready.ok());
    EXPECT_EQ(ready->contentSha256, first.contentSha256);

    json changed = templateProtocol("hf-10hz-left-dlpfc");
    changed["trains"] = 60;
    const ProtocolVersion second = save(changed);
    EXPECT_FALSE(service.deliverable(clinic.technician, course.id).ok());
    auto stale = service.approve(clinic.physician, first.id, false, "");
    EXPECT_FALSE(stale.ok());  // approved already, and not the latest
    ASSERT_TRUE(service.approve(clinic.physician, second.id, false, "").ok());
    EXPECT_EQ(service.deliverable(clinic.technician, course.id)->version, 2);
}

TEST_F(Courses, ProtocolKindMustMatchTheCourse) {
    json vns{{"kind", "vns"},      {"output_current_ma", 1.0}, {"pulse_width_us", 250},
             {"frequency_hz", 20}, {"on_time_s", 30},          {"off_time_min", 5}};
    auto wrong = service.saveProtocol(clinic.technician, course.id, vns);
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().field, "kind");
}

TEST_F(Courses, MalformedProtocolIsRefusedWithItsPathAndNothingStored) {
    json bad = templateProtocol("hf-10hz-left-dlpfc");
    bad["trains"] = "many";
    const auto before = clinic.store->db().queryInt("SELECT count(*) FROM audit_log").value();
    auto refused = service.saveProtocol(clinic.technician, course.id, bad);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().field, "trains");
    EXPECT_EQ(clinic.store->db().queryInt("SELECT count(*) FROM audit_log").value(), before);
}

TEST_F(Courses, DuplicateCourseLabelIsAConflict) {
    auto again = service.createCourse(clinic.technician, "P-1", "rTMS course 1", "rtms");
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::Conflict);
    auto badKind = service.createCourse(clinic.technician, "P-1", "x", "ect");
    ASSERT_FALSE(badKind.ok());
    EXPECT_EQ(badKind.error().field, "kind");
}

TEST_F(Courses, EveryWriteIsAuditedAndTheChainHolds) {
    recordMt(55, 1);
    const ProtocolVersion v = save(templateProtocol("hf-10hz-left-dlpfc"));
    ASSERT_TRUE(service.approve(clinic.physician, v.id, false, "").ok());
    for (const char* entity :
         {"course", "motor_threshold", "protocol_version", "protocol_approval"}) {
        auto count = clinic.store->db().prepare("SELECT count(*) FROM audit_log WHERE entity = ?");
        count->bindAll(entity);
        ASSERT_TRUE(count->step().value());
        EXPECT_EQ(count->columnInt(0), 1) << entity;
    }
    EXPECT_TRUE(clinic.store->verifyAudit()->intact);
}

TEST_F(Courses, TitrationStepsUpAndHoldsAfterAVisitThatWasNotTolerated) {
    auto vns = service.createCourse(clinic.technician, "P-1", "VNS", "vns");
    ASSERT_TRUE(vns.ok());
    auto start = service.titration(clinic.technician, vns->id);
    ASSERT_TRUE(start.ok());
    const auto& rules = protocols::Library::builtIn().vns;
    EXPECT_DOUBLE_EQ(start->nextCurrentMa, rules.titrationStartMa.value);

    const auto visitAt = [&](double ma, bool tolerated, int ago) {
        auto v = service.recordTitrationVisit(clinic.technician, vns->id,
                                              {daysAgo(ago), ma, tolerated, 2500.0, ""});
        ASSERT_TRUE(v.ok()) << v.error().describe();
    };
    visitAt(0.25, true, 28);
    EXPECT_DOUBLE_EQ(service.titration(clinic.technician, vns->id)->nextCurrentMa, 0.5);
    visitAt(0.5, false, 14);
    auto held = service.titration(clinic.technician, vns->id);
    EXPECT_TRUE(held->held);
    EXPECT_DOUBLE_EQ(held->nextCurrentMa, 0.5);
    visitAt(0.5, true, 0);
    EXPECT_DOUBLE_EQ(service.titration(clinic.technician, vns->id)->nextCurrentMa, 0.75);
    EXPECT_EQ(service.titration(clinic.technician, vns->id)->visits.size(), 3u);
}

TEST_F(Courses, TitrationVisitsAreValidated) {
    auto vns = service.createCourse(clinic.technician, "P-1", "VNS", "vns");
    ASSERT_TRUE(vns.ok());
    const std::pair<TitrationVisitInput, const char*> cases[] = {
        {{daysAgo(0), 0.3, true, std::nullopt, ""}, "current_ma"},
        {{daysAgo(0), 3.75, true, std::nullopt, ""}, "current_ma"},
        {{"2999-01-01", 0.25, true, std::nullopt, ""}, "visit_on"},
        {{daysAgo(0), 0.25, true, -5.0, ""}, "lead_impedance_ohm"},
    };
    for (const auto& [input, field] : cases) {
        auto v = service.recordTitrationVisit(clinic.technician, vns->id, input);
        ASSERT_FALSE(v.ok()) << field;
        EXPECT_EQ(v.error().field, field);
    }
    auto rtms = service.recordTitrationVisit(clinic.technician, course.id,
                                             {daysAgo(0), 0.25, true, std::nullopt, ""});
    ASSERT_FALSE(rtms.ok());
    EXPECT_EQ(rtms.error().field, "course");
}

}  // namespace
}  // namespace neuroplan::courses
