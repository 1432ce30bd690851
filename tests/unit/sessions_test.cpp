// The session state machine, the device plan and read-back check, the session rules data
// file, and the journal (group commit, duplicates, append-only, audit) on a real SQLite file.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "courses/courses.h"
#include "records/patients.h"
#include "sessions/journal.h"
#include "sessions/machine.h"
#include "sessions/rules.h"
#include "sessions/service.h"
#include "support.h"

namespace {

using namespace neuroplan;
using namespace neuroplan::sessions;
namespace pb = neuroplan::device::pb;

constexpr SessionStatus kAll[] = {
    SessionStatus::Scheduled,    SessionStatus::CheckedIn, SessionStatus::Ready,
    SessionStatus::Running,      SessionStatus::Paused,    SessionStatus::Completed,
    SessionStatus::StoppedEarly, SessionStatus::Aborted,   SessionStatus::Interrupted,
};

TEST(SessionMachine, AllowsExactlyTheDocumentedTransitions) {
    using S = SessionStatus;
    const std::set<std::pair<S, S>> allowed{
        {S::Scheduled, S::CheckedIn},   {S::Scheduled, S::Aborted},
        {S::CheckedIn, S::Ready},       {S::CheckedIn, S::Aborted},
        {S::CheckedIn, S::Interrupted}, {S::Ready, S::Running},
        {S::Ready, S::CheckedIn},       {S::Ready, S::Aborted},
        {S::Ready, S::StoppedEarly},    {S::Ready, S::Interrupted},
        {S::Running, S::Paused},        {S::Running, S::Completed},
        {S::Running, S::StoppedEarly},  {S::Running, S::Aborted},
        {S::Running, S::Interrupted},   {S::Paused, S::Running},
        {S::Paused, S::StoppedEarly},   {S::Paused, S::Completed},
        {S::Paused, S::Interrupted},    {S::Interrupted, S::Ready},
        {S::Interrupted, S::CheckedIn}, {S::Interrupted, S::StoppedEarly},
        {S::Interrupted, S::Completed}, {S::Interrupted, S::Aborted},
    };
    for (S from : kAll) {
        for (S to : kAll) {
            const Status status = checkTransition(from, to);
            EXPECT_EQ(status.ok(), allowed.count({from, to}) == 1)
                << toString(from) << " -> " << toString(to);
            if (!status) {
                EXPECT_EQ(status.error().field, "status");
                EXPECT_NE(status.error().message.find(toString(from)), std::string::npos);
            }
        }
    }
}

TEST(SessionMachine, StartingBeforeReadyExplainsWhy) {
    const Status status = checkTransition(SessionStatus::CheckedIn, SessionStatus::Running);
    ASSERT_FALSE(status);
    EXPECT_NE(status.error().message.find("starts only when ready"), std::string::npos);
    const Status ended = checkTransition(SessionStatus::Completed, SessionStatus::Running);
    EXPECT_NE(ended.error().message.find("record is final"), std::string::npos);
}

TEST(SessionMachine, StatusNamesRoundTrip) {
    for (SessionStatus status : kAll) {
        EXPECT_EQ(parseStatus(toString(status)), status);
    }
    EXPECT_FALSE(parseStatus("done"));
}

TEST(SessionDevicePlan, ItbsTemplateBecomesDeviceParameters) {
    const auto& library = protocols::Library::builtIn();
    auto protocol = protocols::parseProtocol(library.findTemplate("itbs-left-dlpfc")->protocol);
    ASSERT_TRUE(protocol);
    auto plan = devicePlan(*protocol, 52.0, std::string(64, 'a'));
    ASSERT_TRUE(plan) << plan.error().describe();
    const pb::RtmsParameters& p = plan->load.rtms();
    EXPECT_EQ(p.pattern(), pb::PATTERN_ITBS);
    EXPECT_DOUBLE_EQ(p.frequency_hz(), 5.0);
    EXPECT_DOUBLE_EQ(p.burst_frequency_hz(), 50.0);
    EXPECT_EQ(p.pulses_per_burst(), 3U);
    EXPECT_EQ(p.pulses_per_train() * p.train_count(), 600U);
    EXPECT_EQ(plan->pulsesPlanned, 600U);
    EXPECT_NEAR(p.output_percent(), 52.0 * 1.2, 1e-9);  // 120 % RMT
    EXPECT_EQ(plan->load.approved_sha256(), std::string(64, 'a'));
    // No motor threshold: no rTMS plan.
    auto missing = devicePlan(*protocol, std::nullopt, std::string(64, 'a'));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().field, "motor_threshold");
}

TEST(SessionReadBack, NamesEveryDifferingSetting) {
    pb::LoadProtocol sent;
    sent.set_approved_sha256(std::string(64, 'b'));
    sent.mutable_rtms()->set_frequency_hz(10);
    sent.mutable_rtms()->set_output_percent(60);
    pb::State state;
    *state.mutable_loaded() = sent;
    EXPECT_TRUE(readBackDifferences(sent, state).empty());
    state.mutable_loaded()->mutable_rtms()->set_output_percent(61);
    state.mutable_loaded()->set_approved_sha256(std::string(64, 'c'));
    const auto differences = readBackDifferences(sent, state);
    ASSERT_EQ(differences.size(), 2U);
    EXPECT_NE(differences[0].find("approved_sha256"), std::string::npos);
    EXPECT_EQ(differences[1], "output_percent: sent 60, device 61");
    state.mutable_loaded()->clear_rtms();
    state.mutable_loaded()->mutable_vns();
    EXPECT_NE(readBackDifferences(sent, state).back().find("another kind"), std::string::npos);
}

TEST(SessionRules, BuiltInFileHasEveryAdverseEventWithItsSource) {
    const SessionRules& rules = builtInSessionRules();
    for (const char* id : {"headache", "scalp_discomfort", "syncope", "seizure", "hoarseness",
                           "cough", "dyspnea", "other"}) {
        const AdverseEventType* type = rules.findAdverseEvent(id);
        ASSERT_NE(type, nullptr) << id;
        EXPECT_FALSE(type->from.citation.empty()) << id;
        const bool serious = std::string(id) == "seizure" || std::string(id) == "syncope";
        EXPECT_EQ(type->stopsSession, serious) << id;
        EXPECT_EQ(type->flagsReview, serious) << id;
    }
    EXPECT_DOUBLE_EQ(rules.groupCommitMs.value, 50);
}

TEST(SessionRules, MalformedFilesNameTheField) {
    auto broken = loadSessionRules(
        R"({"format": "neuroplan-data/1", "kind": "session-rules", "id": "x", "version": "1",
            "sources": {"s": {"citation": "c", "confidence": "V"}},
            "adverse_events": {"headache": {"label": "H", "modalities": ["rtms"],
                               "stops_session": false, "source": "s", "confidence": "V"}},
            "journal": {"group_commit_interval_ms": {"value": 50, "source": "s", "confidence": "V"}},
            "link": {"restore_wait_s": {"value": 30, "source": "s", "confidence": "V"}}})",
        "broken.json");
    ASSERT_FALSE(broken);
    EXPECT_NE(broken.error().field.find("adverse_events"), std::string::npos)
        << broken.error().field;
}

/// A session row to journal into.
struct JournalFixture : ::testing::Test {
    neuroplan::testing::TestClinic clinic;
    std::int64_t sessionId = 0;

    void SetUp() override {
        ASSERT_TRUE(records::PatientService(*clinic.store)
                        .add(clinic.technician, {"J-1", "Doe", "Jo", "1980-01-01", "female"}));
        courses::CourseService courses(*clinic.store);
        auto course = courses.createCourse(clinic.technician, "J-1", "c", "rtms");
        ASSERT_TRUE(course);
        auto version = courses.saveProtocol(
            clinic.technician, course->id,
            protocols::Library::builtIn().findTemplate("itbs-left-dlpfc")->protocol);
        ASSERT_TRUE(version);
        auto session = SessionService(*clinic.store)
                           .checkIn(clinic.technician, "J-1", version->id, "127.0.0.1:9");
        ASSERT_TRUE(session) << session.error().describe();
        sessionId = session->id;
    }

    std::unique_ptr<Journal> open() {
        JournalOptions options;
        options.who = clinic.technician.auditIdentity();
        auto journal = Journal::open(clinic.dbPath(), sessionId, options);
        EXPECT_TRUE(journal) << journal.error().describe();
        return std::move(*journal);
    }

    static JournalEvent deviceEvent(std::int64_t offset) {
        pb::LogEntry entry;
        entry.set_offset(static_cast<std::uint64_t>(offset));
        entry.set_event("train_finished");
        entry.set_pulses_delivered(static_cast<std::uint32_t>(offset * 10));
        return fromDeviceLog(entry, false);
    }
};

TEST_F(JournalFixture, CommitsInBatchesAndNeverJournalsAnOffsetTwice) {
    {
        auto journal = open();
        for (int i = 0; i < 1000; ++i) {
            EXPECT_TRUE(journal->append(deviceEvent(i)));
        }
        EXPECT_FALSE(journal->append(deviceEvent(500)));  // already queued
        ASSERT_TRUE(journal->flush());
        EXPECT_EQ(journal->stats().events, 1000U);
        EXPECT_EQ(journal->stats().duplicates, 1U);
        EXPECT_LT(journal->stats().batches, 1000U);
    }
    // A new journal (after a crash) knows what is committed.
    auto again = open();
    EXPECT_EQ(again->nextDeviceOffset(), 1000U);
    EXPECT_FALSE(again->append(deviceEvent(999)));
    EXPECT_TRUE(again->append(deviceEvent(1000)));
    again.reset();  // destruction commits what is queued
    auto events = readJournal(clinic.store->db(), sessionId);
    ASSERT_TRUE(events);
    ASSERT_EQ(events->size(), 1002U);  // the check-in event and 1001 device events
    for (std::size_t i = 0; i < events->size(); ++i) {
        EXPECT_EQ((*events)[i].seq, static_cast<std::int64_t>(i + 1));
    }
    auto logged = loggedPulses(clinic.store->db(), sessionId);
    EXPECT_EQ(*logged, 10000);
}

TEST_F(JournalFixture, FlushWaitsForTheBatchBeingCommitted) {
    // flush() right when the committer has taken a batch off the queue must still wait for it
    // (found by the benchmark's probe: it used to return early).
    for (int round = 0; round < 10; ++round) {
        auto journal = open();
        ASSERT_TRUE(journal->append(deviceEvent(round)));
        std::this_thread::sleep_for(std::chrono::milliseconds(50 + round % 4));
        ASSERT_TRUE(journal->flush());
        auto count = clinic.store->db().queryInt(
            "SELECT count(*) FROM session_events WHERE source = 'device'");
        ASSERT_TRUE(count);
        EXPECT_EQ(*count, round + 1) << "round " << round;
    }
}

TEST_F(JournalFixture, RowsAddedByATransitionDoNotCollideWithTheRestOfItsBatch) {
    // A status change's own rows (the "reconciled" event) and an event queued after it in the
    // same batch: both keep distinct seq numbers (found by the app's tests: the batch failed).
    auto journal = open();
    for (int i = 0; i < 20000; ++i) {
        ASSERT_TRUE(journal->append(deviceEvent(i)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(60));  // the committer takes them
    const std::int64_t id = sessionId;
    std::thread transition([&] {
        JournalEvent start;
        start.source = "operator";
        start.kind = "note";
        EXPECT_TRUE(journal->commit(start, [id](store::WriteContext& w) -> Status {
            JournalEvent own;
            own.source = "system";
            own.kind = "reconciled";
            own.wallUtc = "2026-01-01T00:00:00.000Z";
            NP_TRY(appendEvent(w, id, own));
            return w.audit("session", std::to_string(id), "test", nullptr, nullptr);
        }));
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    JournalEvent after;
    after.source = "operator";
    after.kind = "emergency_stop";
    ASSERT_TRUE(journal->append(after));
    transition.join();
    ASSERT_TRUE(journal->flush());
    auto events = readJournal(clinic.store->db(), sessionId);
    ASSERT_TRUE(events);
    EXPECT_EQ(events->size(), 20004U);
    EXPECT_EQ(events->back().seq, 20004);
    EXPECT_EQ(journal->stats().failures, 0U);
}

TEST_F(JournalFixture, IsAppendOnlyAndEveryBatchIsAudited) {
    auto journal = open();
    JournalEvent event;
    event.source = "operator";
    event.kind = "note";
    event.detail = "hello";
    ASSERT_TRUE(journal->commit(event));
    EXPECT_FALSE(clinic.store->db().exec("UPDATE session_events SET detail = 'x'"));
    EXPECT_FALSE(clinic.store->db().exec("DELETE FROM session_events"));
    auto count = clinic.store->db().queryInt(
        "SELECT count(*) FROM audit_log WHERE entity = 'session' AND action = 'journal'");
    ASSERT_TRUE(count);
    EXPECT_EQ(*count, 1);
    auto audit = clinic.store->verifyAudit();
    ASSERT_TRUE(audit);
    EXPECT_TRUE(audit->intact);
}

TEST_F(JournalFixture, AFailedTransitionCommitsNeitherTheStatusNorItsEvent) {
    auto journal = open();
    JournalEvent event;
    event.source = "operator";
    event.kind = "start";
    const std::int64_t id = sessionId;
    const Status refused = journal->commit(event, [id](store::WriteContext& w) {
        return sessionTransition(w, id, SessionStatus::Running, "x", {}, "2026-01-01T00:00:00Z");
    });
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().field, "status");
    auto events = readJournal(clinic.store->db(), sessionId);
    ASSERT_EQ(events->size(), 1U);  // only the check-in
    auto session = loadSession(clinic.store->db(), sessionId);
    EXPECT_EQ(session->status, SessionStatus::CheckedIn);
}

}  // namespace
