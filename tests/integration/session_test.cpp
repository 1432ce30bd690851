// Sessions against real neurosim processes on 127.0.0.1: a full session, an emergency stop, a
// link cut and resume, a device fault, an adverse event that stops the session, and the CLI
// killed with SIGKILL at random moments followed by `session recover` (20 times), each ending
// with the device's pulse count equal to the journal's and no event journaled twice.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "courses/courses.h"
#include "eligibility/service.h"
#include "records/patients.h"
#include "sessions/runner.h"
#include "sessions/service.h"
#include "support.h"

namespace {

using namespace neuroplan;
using namespace std::chrono_literals;
using nlohmann::json;
namespace support = neuroplan::testing;
using support::BackgroundProcess;
using support::TestClinic;

constexpr const char* kMrn = "S-001";

/// A clinic with one patient ready for rTMS: signed eligibility, a motor threshold measured
/// today, a course with the iTBS template approved by the physician (600 pulses).
struct ReadyClinic : TestClinic {
    std::int64_t courseId = 0;
    std::int64_t versionId = 0;

    ReadyClinic() {
        records::PatientService patients(*store);
        EXPECT_TRUE(patients.add(technician, {kMrn, "Example", "Erin", "1984-05-17", "female"}));
        json caseDocument = json::parse(support::readFile(
            std::string(NEUROPLAN_SOURCE_DIR) + "/docs/examples/cases/rtms-eligible.json"));
        caseDocument["patient"]["id"] = kMrn;
        eligibility::EligibilityService eligibility(*store);
        auto evaluation = eligibility.record(technician, kMrn, caseDocument);
        EXPECT_TRUE(evaluation) << evaluation.error().describe();
        EXPECT_TRUE(eligibility.sign(physician, evaluation->id, eligibility::Decision::Eligible,
                                     eligibility::Decision::NotEligible, ""));
        courses::CourseService courses(*store);
        const std::string today = formatIsoDate(utcDate(std::chrono::system_clock::now()));
        EXPECT_TRUE(courses.recordMotorThreshold(
            technician, kMrn, {today, 52, "emg_relative_frequency", "TMS 1", "Cool-B65"}));
        auto course = courses.createCourse(technician, kMrn, "rtms course 1", "rtms");
        EXPECT_TRUE(course);
        courseId = course->id;
        auto version = courses.saveProtocol(
            technician, courseId,
            protocols::Library::builtIn().findTemplate("itbs-left-dlpfc")->protocol);
        EXPECT_TRUE(version) << version.error().describe();
        versionId = version->id;
        auto approved = courses.approve(physician, versionId, true, "");
        EXPECT_TRUE(approved) << approved.error().describe();
    }
};

/// A neurosim process; its port.
struct Sim {
    std::unique_ptr<BackgroundProcess> process;
    std::uint16_t port = 0;
    explicit Sim(std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{NEUROSIM_PATH, "--kind",       "rtms", "--listen",
                                      "127.0.0.1:0", "--time-scale", "100"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        process = std::make_unique<BackgroundProcess>(argv);
        port = support::listeningPort(process->readLine());
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

/// Every device log offset is journaled once, seq is 1..n, and the pulses agree.
void expectConsistent(store::Store& store, std::int64_t sessionId) {
    auto events = sessions::readJournal(store.db(), sessionId);
    ASSERT_TRUE(events);
    std::set<std::int64_t> offsets;
    std::int64_t expectedSeq = 1;
    for (const auto& e : *events) {
        EXPECT_EQ(e.seq, expectedSeq++);
        if (e.event.deviceOffset) {
            EXPECT_TRUE(offsets.insert(*e.event.deviceOffset).second)
                << "device log offset " << *e.event.deviceOffset << " journaled twice";
        }
    }
    auto session = sessions::loadSession(store.db(), sessionId);
    ASSERT_TRUE(session);
    ASSERT_TRUE(session->devicePulses.has_value())
        << "not reconciled: " << session->reconciliation << " (" << session->statusReason << ")";
    EXPECT_EQ(*session->devicePulses, session->loggedPulses.value_or(-1));
    EXPECT_EQ(session->reconciliation, "agree");
}

struct SessionRun {
    std::unique_ptr<sessions::SessionRunner> runner;
    std::int64_t sessionId = 0;
};

SessionRun open(ReadyClinic& clinic, const Sim& sim, bool autoResume = false) {
    sessions::SessionService service(*clinic.store);
    auto session = service.checkIn(clinic.technician, kMrn, clinic.versionId, sim.address());
    EXPECT_TRUE(session) << session.error().describe();
    sessions::RunnerOptions options;
    options.database = clinic.dbPath();
    options.actor = clinic.technician;
    options.sessionId = session->id;
    options.autoResumeAfterLinkLoss = autoResume;
    auto runner = sessions::SessionRunner::open(options, nullptr);
    EXPECT_TRUE(runner) << runner.error().describe();
    return {std::move(*runner), session->id};
}

bool countKind(const std::vector<sessions::StoredEvent>& events, const std::string& kind) {
    return std::any_of(events.begin(), events.end(),
                       [&](const auto& e) { return e.event.kind == kind; });
}

TEST(Session, RunsToCompletionAndReconciles) {
    ReadyClinic clinic;
    Sim sim;
    SessionRun run = open(clinic, sim);
    auto checklist = run.runner->prepare(true);
    ASSERT_TRUE(checklist) << checklist.error().describe();
    ASSERT_TRUE(checklist->allOk()) << sessions::toJson(*checklist).dump(2);
    ASSERT_TRUE(run.runner->start());
    ASSERT_TRUE(run.runner->waitForEnd(60s));
    run.runner.reset();
    auto session = sessions::loadSession(clinic.store->db(), run.sessionId);
    ASSERT_TRUE(session);
    EXPECT_EQ(session->status, sessions::SessionStatus::Completed);
    EXPECT_EQ(session->devicePulses, 600);
    expectConsistent(*clinic.store, run.sessionId);
    auto events = sessions::readJournal(clinic.store->db(), run.sessionId);
    EXPECT_TRUE(countKind(*events, "train_finished"));
    EXPECT_TRUE(countKind(*events, "start"));
    // The record is final: the trigger refuses any change.
    EXPECT_FALSE(clinic.store->db().exec("UPDATE sessions SET status = 'running'"));
    EXPECT_FALSE(clinic.store->db().exec("DELETE FROM session_events"));
    auto audit = clinic.store->verifyAudit();
    ASSERT_TRUE(audit);
    EXPECT_TRUE(audit->intact) << audit->problem;
    auto progress =
        sessions::SessionService(*clinic.store).progress(clinic.physician, clinic.courseId);
    ASSERT_TRUE(progress);
    EXPECT_EQ(progress->sessionsCompleted, 1);
    EXPECT_EQ(progress->cumulativePulses, 600);
    EXPECT_EQ(progress->sessionsPlanned, 30);
}

TEST(Session, EmergencyStopEndsItStoppedEarly) {
    ReadyClinic clinic;
    Sim sim;
    SessionRun run = open(clinic, sim);
    ASSERT_TRUE(run.runner->prepare(true)->allOk());
    ASSERT_TRUE(run.runner->start());
    // Wait for some pulses (no timing assumption: poll the progress).
    for (int i = 0; i < 2000 && run.runner->progress().pulses < 60; ++i) {
        std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(run.runner->emergencyStop("patient asked to stop"));
    ASSERT_TRUE(run.runner->waitForEnd(30s));
    run.runner.reset();
    auto session = sessions::loadSession(clinic.store->db(), run.sessionId);
    EXPECT_EQ(session->status, sessions::SessionStatus::StoppedEarly);
    EXPECT_NE(session->statusReason.find("emergency"), std::string::npos) << session->statusReason;
    EXPECT_LT(*session->devicePulses, 600);
    EXPECT_GE(*session->devicePulses, 60);
    expectConsistent(*clinic.store, run.sessionId);
    auto events = sessions::readJournal(clinic.store->db(), run.sessionId);
    EXPECT_TRUE(countKind(*events, "emergency_stop"));
}

TEST(Session, LinkCutsAreResumedFromTheDeliveredPulse) {
    ReadyClinic clinic;
    Sim sim({"--fault", "drop-after=40"});  // every connection is cut after 40 messages
    SessionRun run = open(clinic, sim, /*autoResume=*/true);
    ASSERT_TRUE(run.runner->prepare(true)->allOk());
    ASSERT_TRUE(run.runner->start());
    ASSERT_TRUE(run.runner->waitForEnd(120s));
    run.runner.reset();
    auto session = sessions::loadSession(clinic.store->db(), run.sessionId);
    EXPECT_EQ(session->status, sessions::SessionStatus::Completed) << session->statusReason;
    EXPECT_EQ(session->devicePulses, 600);
    expectConsistent(*clinic.store, run.sessionId);
    auto events = sessions::readJournal(clinic.store->db(), run.sessionId);
    EXPECT_TRUE(countKind(*events, "link_lost"));
    EXPECT_TRUE(countKind(*events, "link_restored"));
}

TEST(Session, DeviceFaultStopsItEarly) {
    ReadyClinic clinic;
    Sim sim({"--fault", "overtemp-at-pulse=100"});
    SessionRun run = open(clinic, sim);
    ASSERT_TRUE(run.runner->prepare(true)->allOk());
    ASSERT_TRUE(run.runner->start());
    ASSERT_TRUE(run.runner->waitForEnd(60s));
    run.runner.reset();
    auto session = sessions::loadSession(clinic.store->db(), run.sessionId);
    EXPECT_EQ(session->status, sessions::SessionStatus::StoppedEarly);
    EXPECT_NE(session->statusReason.find("device fault"), std::string::npos)
        << session->statusReason;
    EXPECT_EQ(session->devicePulses, 99);
    expectConsistent(*clinic.store, run.sessionId);
    auto events = sessions::readJournal(clinic.store->db(), run.sessionId);
    EXPECT_TRUE(countKind(*events, "fault"));
}

TEST(Session, SeizureStopsTheSessionAndFlagsTheCourse) {
    ReadyClinic clinic;
    Sim sim;
    SessionRun run = open(clinic, sim);
    ASSERT_TRUE(run.runner->prepare(true)->allOk());
    ASSERT_TRUE(run.runner->start());
    for (int i = 0; i < 2000 && run.runner->progress().pulses < 30; ++i) {
        std::this_thread::sleep_for(5ms);
    }
    // Recorded by someone else (another connection, as another program would).
    auto other = store::Store::open(clinic.dbPath());
    ASSERT_TRUE(other);
    auto event = sessions::SessionService(*other).recordAdverseEvent(
        clinic.technician, run.sessionId, {"seizure", "severe", "stimulation stopped", ""});
    ASSERT_TRUE(event) << event.error().describe();
    EXPECT_TRUE(event->stoppedSession);
    EXPECT_TRUE(event->flaggedReview);
    while (!run.runner->waitForEnd(50ms)) {
        run.runner->pollStopRequest();
    }
    run.runner.reset();
    auto session = sessions::loadSession(clinic.store->db(), run.sessionId);
    EXPECT_EQ(session->status, sessions::SessionStatus::StoppedEarly);
    EXPECT_NE(session->statusReason.find("Seizure"), std::string::npos) << session->statusReason;
    expectConsistent(*clinic.store, run.sessionId);
    // The next session cannot be prepared until a physician clears the review.
    SessionRun next = open(clinic, sim);
    auto checklist = next.runner->prepare(true);
    ASSERT_TRUE(checklist);
    EXPECT_FALSE(checklist->allOk());
    EXPECT_EQ(checklist->firstFailure()->id, "course.review");
    sessions::SessionService service(*clinic.store);
    EXPECT_FALSE(service.clearReview(clinic.technician, clinic.courseId, "reviewed the EEG"));
    EXPECT_TRUE(service.clearReview(clinic.physician, clinic.courseId, "reviewed the EEG"));
    EXPECT_TRUE(next.runner->prepare(true)->allOk());
}

TEST(Session, NothingReachesTheDeviceWhenAClinicalCheckFails) {
    ReadyClinic clinic;
    Sim sim;
    SessionRun run = open(clinic, sim);
    auto checklist = run.runner->prepare(/*screeningConfirmed=*/false);
    ASSERT_TRUE(checklist);
    EXPECT_FALSE(checklist->allOk());
    EXPECT_EQ(checklist->firstFailure()->id, "screening.confirmed");
    EXPECT_FALSE(run.runner->start());  // not ready
    // A newer, unapproved version: the checked-in version is no longer the approved latest.
    courses::CourseService courses(*clinic.store);
    json changed = protocols::Library::builtIn().findTemplate("itbs-left-dlpfc")->protocol;
    changed["trains"] = 10;
    ASSERT_TRUE(courses.saveProtocol(clinic.technician, clinic.courseId, changed));
    checklist = run.runner->prepare(true);
    ASSERT_TRUE(checklist);
    EXPECT_EQ(checklist->firstFailure()->id, "protocol.approved");
    // Nothing was connected, loaded or started: the device log has no load.
    auto events = sessions::readJournal(clinic.store->db(), run.sessionId);
    EXPECT_FALSE(countKind(*events, "loaded"));
}

// ---- the CLI, killed ------------------------------------------------------------------------

support::ProcessResult cli(const ReadyClinic& clinic, std::vector<std::string> args) {
    std::vector<std::string> argv{NEUROPLAN_CLI_PATH, "--db", clinic.dbPath().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return support::runProcess(
        argv, {{"NEUROPLAN_USER", "tech"}, {"NEUROPLAN_PASSWORD", support::kTestPassword}}, 60s);
}

pid_t spawnCli(const ReadyClinic& clinic, const std::vector<std::string>& args) {
    const pid_t pid = fork();
    if (pid == 0) {
        const int devnull = ::open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        setenv("NEUROPLAN_USER", "tech", 1);
        setenv("NEUROPLAN_PASSWORD", support::kTestPassword, 1);
        std::vector<std::string> all{NEUROPLAN_CLI_PATH, "--db", clinic.dbPath().string()};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : all) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    return pid;
}

TEST(SessionCli, KilledAtRandomMomentsRecoversWithoutLossOrDuplicates) {
    ReadyClinic clinic;
    Sim sim;
    std::mt19937 random(20261124);
    std::uniform_int_distribution<int> killAfterMs(0, 2500);
    int interrupted = 0;
    int completed = 0;
    std::int64_t lastId = 0;
    for (int round = 0; round < 20; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        const pid_t pid = spawnCli(clinic, {"session", "run", "--mrn", kMrn, "--protocol",
                                            std::to_string(clinic.versionId), "--device",
                                            sim.address(), "--screening-confirmed"});
        ASSERT_GT(pid, 0);
        // A random moment of the session: from its check-in (signing in comes first and
        // takes a while) to a little after the device would have completed it.
        for (int i = 0; i < 4000; ++i) {
            auto list = sessions::SessionService(*clinic.store).list(clinic.technician, kMrn);
            if (list && !list->empty() && list->front().id > lastId) {
                break;
            }
            std::this_thread::sleep_for(2ms);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(killAfterMs(random)));
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);

        auto recovered = cli(clinic, {"session", "recover", "--json"});
        ASSERT_EQ(recovered.exitCode, 0) << recovered.err;
        auto list = cli(clinic, {"session", "list", "--mrn", kMrn, "--json"});
        ASSERT_EQ(list.exitCode, 0) << list.err;
        const json sessions = json::parse(list.out);
        if (sessions.empty() || sessions[0]["id"].get<std::int64_t>() == lastId) {
            continue;  // killed before it checked in: nothing to recover
        }
        const std::int64_t id = sessions[0]["id"].get<std::int64_t>();
        lastId = id;
        const std::string state = sessions[0]["status"].get<std::string>();
        ASSERT_TRUE(state == "interrupted" || state == "completed") << state;
        expectConsistent(*clinic.store, id);
        if (state == "interrupted") {
            ++interrupted;
            auto closed = cli(clinic, {"session", "close", std::to_string(id), "--reason",
                                       "test: killed with SIGKILL"});
            ASSERT_EQ(closed.exitCode, 0) << closed.err;
        } else {
            ++completed;
        }
    }
    EXPECT_GT(interrupted, 0);
    std::cerr << "interrupted " << interrupted << ", completed " << completed << '\n';
    // The journals of all rounds: never an offset twice in a session.
    auto audit = clinic.store->verifyAudit();
    ASSERT_TRUE(audit);
    EXPECT_TRUE(audit->intact) << audit->problem;
}

TEST(SessionCli, SigintStopsTheDeviceAndEndsStoppedEarly) {
    ReadyClinic clinic;
    Sim sim;
    const pid_t pid = spawnCli(
        clinic, {"session", "run", "--mrn", kMrn, "--protocol", std::to_string(clinic.versionId),
                 "--device", sim.address(), "--screening-confirmed"});
    // Wait until it runs (the record says so), then interrupt.
    for (int i = 0; i < 2000; ++i) {
        auto list = sessions::SessionService(*clinic.store).list(clinic.technician, kMrn);
        if (list && !list->empty() && list->front().status == sessions::SessionStatus::Running) {
            break;
        }
        std::this_thread::sleep_for(5ms);
    }
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1);  // not completed
    auto list = sessions::SessionService(*clinic.store).list(clinic.technician, kMrn);
    ASSERT_TRUE(list);
    ASSERT_FALSE(list->empty());
    EXPECT_EQ(list->front().status, sessions::SessionStatus::StoppedEarly);
    EXPECT_NE(list->front().statusReason.find("SIGINT"), std::string::npos);
    expectConsistent(*clinic.store, list->front().id);
}

TEST(SessionCli, BadInputIsRefusedNamingTheFieldAndWritesNothing) {
    ReadyClinic clinic;
    const std::string version = std::to_string(clinic.versionId);
    struct Case {
        std::vector<std::string> args;
        std::string field;
        int exit;
    };
    const std::vector<Case> cases{
        {{"session", "run", "--mrn", kMrn, "--protocol", version, "--device", "nohost",
          "--screening-confirmed"},
         "--device",
         2},
        {{"session", "run", "--mrn", kMrn, "--protocol", version, "--device", "example.org:1",
          "--screening-confirmed"},
         "--device",
         2},
        {{"session", "run", "--mrn", kMrn, "--protocol", version, "--device", "127.0.0.1:0",
          "--screening-confirmed"},
         "--device",
         2},
        {{"session", "run", "--mrn", kMrn, "--protocol", version, "--device", "127.0.0.1:9"},
         "--screening-confirmed",
         2},
        {{"session", "run", "--mrn", kMrn, "--protocol", "999", "--device", "127.0.0.1:9",
          "--screening-confirmed"},
         "--protocol",
         2},
        {{"session", "run", "--mrn", "NOBODY", "--protocol", version, "--device", "127.0.0.1:9",
          "--screening-confirmed"},
         "--mrn",
         2},
        {{"session", "show", "12"}, "ID", 2},
        {{"session", "close", "1", "--reason", "x"}, "--reason", 2},
        {{"session", "adverse-event", "1", "--type", "nosebleed", "--severity", "mild", "--action",
          "observed"},
         "--type",
         2},
    };
    for (const auto& c : cases) {
        auto result = cli(clinic, c.args);
        EXPECT_EQ(result.exitCode, c.exit) << c.args[1] << " " << result.err;
        EXPECT_NE(result.err.find("neuroplan-cli: error: " + c.field + ":"), std::string::npos)
            << result.err;
        EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    }
    auto list = sessions::SessionService(*clinic.store).list(clinic.technician, "");
    ASSERT_TRUE(list);
    EXPECT_TRUE(list->empty());
}

}  // namespace
