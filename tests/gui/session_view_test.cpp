// The Session tab against a real neurosim on 127.0.0.1: check in and prepare (the checklist),
// start, follow the session to its end on the console; the emergency stop button mid-session;
// an adverse event that stops the session; the post-session scale. The emergency stop button is
// checked enabled throughout, while the GUI thread keeps turning.
#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDeadlineTimer>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QTest>
#include <nlohmann/json.hpp>

#include "courses/courses.h"
#include "eligibility/service.h"
#include "mainwindow.h"
#include "protocols/library.h"
#include "records/patients.h"
#include "scalesview.h"
#include "sessions/service.h"
#include "sessionview.h"
#include "support.h"

namespace neuroplan::gui {
namespace {

using namespace std::chrono_literals;
using neuroplan::testing::BackgroundProcess;
using neuroplan::testing::TestClinic;
using nlohmann::json;
namespace ses = neuroplan::sessions;

constexpr const char* kMrn = "S-001";

/// One patient ready for a session. rTMS: signed eligibility, a motor threshold measured today,
/// a course with the iTBS template (600 pulses in 20 trains) approved by the physician. VNS:
/// signed eligibility and an approved VNS parameter set.
struct ReadyClinic : TestClinic {
    explicit ReadyClinic(const std::string& kind = "rtms") {
        const bool vns = kind == "vns";
        EXPECT_TRUE(records::PatientService(*store).add(
            technician, {kMrn, "Example", "Erin", "1984-05-17", "female"}));
        json caseDocument = json::parse(neuroplan::testing::readFile(
            std::string(NEUROPLAN_SOURCE_DIR) + "/docs/examples/cases/" +
            (vns ? "vns-eligible.json" : "rtms-eligible.json")));
        caseDocument["patient"] = {{"id", kMrn}, {"birth_date", "1984-05-17"}, {"sex", "female"}};
        eligibility::EligibilityService eligibility(*store);
        auto evaluation = eligibility.record(technician, kMrn, caseDocument);
        if (!evaluation) {
            ADD_FAILURE() << evaluation.error().describe();
            return;
        }
        EXPECT_TRUE(eligibility.sign(
            physician, evaluation->id,
            vns ? eligibility::Decision::NotEligible : eligibility::Decision::Eligible,
            vns ? eligibility::Decision::Eligible : eligibility::Decision::NotEligible,
            "the physician's decision"));
        courses::CourseService courses(*store);
        const std::string today = formatIsoDate(utcDate(std::chrono::system_clock::now()));
        EXPECT_TRUE(courses.recordMotorThreshold(
            technician, kMrn, {today, 52, "emg_relative_frequency", "TMS 1", "Cool-B65"}));
        auto course = courses.createCourse(technician, kMrn, kind + " course 1", kind);
        EXPECT_TRUE(course);
        courseId = course->id;
        const json protocol =
            vns ? json{{"kind", "vns"},      {"output_current_ma", 0.25}, {"pulse_width_us", 250},
                       {"frequency_hz", 20}, {"on_time_s", 30},           {"off_time_min", 5}}
                : protocols::Library::builtIn().findTemplate("itbs-left-dlpfc")->protocol;
        auto version = courses.saveProtocol(technician, courseId, protocol);
        EXPECT_TRUE(version) << version.error().describe();
        auto approved = courses.approve(physician, version->id, true, "");
        EXPECT_TRUE(approved) << approved.error().describe();
    }
    std::int64_t courseId = 0;
};

/// neurosim running the protocol's timing `timeScale` times faster.
struct Sim {
    explicit Sim(const char* timeScale, const char* kind = "rtms")
        : process({NEUROSIM_PATH, "--kind", kind, "--listen", "127.0.0.1:0", "--time-scale",
                   timeScale}),
          port(neuroplan::testing::listeningPort(process.readLine(10s))) {}
    QString address() const { return QString("127.0.0.1:%1").arg(port); }
    BackgroundProcess process;
    std::uint16_t port;
};

/// The console with the patient selected and the device address typed in.
struct Console {
    Console(ReadyClinic& clinic, const Sim& sim) : window(*clinic.store) {
        window.resize(1400, 900);
        window.show();
        window.signIn(clinic.technician);
        EXPECT_TRUE(window.selectPatient(kMrn));
        window.tabs()->setCurrentWidget(view());
        view()->deviceEdit()->setText(sim.address());
    }
    SessionView* view() const { return window.sessionView(); }

    /// Turns the event loop until `condition` holds (false after a generous `timeout`), and
    /// checks the emergency stop button on every turn.
    template <class Condition>
    bool waitFor(Condition condition, std::chrono::milliseconds timeout = 60s) {
        const QDeadlineTimer deadline(timeout);
        for (;;) {
            emergencyAlwaysEnabled =
                emergencyAlwaysEnabled && view()->emergencyButton()->isEnabled();
            if (condition()) {
                return true;
            }
            if (deadline.hasExpired()) {
                return false;
            }
            QTest::qWait(5);
        }
    }

    /// Checks in and prepares; true when the console offers Start.
    bool prepare() {
        view()->screeningCheck()->setChecked(true);
        view()->prepareButton()->click();
        if (!view()->sessionOpen()) {
            ADD_FAILURE() << view()->messageLabel()->text().toStdString();
            return false;
        }
        return waitFor([&] { return view()->startButton()->isEnabled(); }, 30s);
    }

    /// What the console shows, for a failure message.
    std::string shown() const {
        std::string text = view()->statusLabel()->text().toStdString() + " | " +
                           view()->messageLabel()->text().toStdString() + " | journal:";
        const JournalModel* journal = view()->journalModel();
        for (int row = std::max(0, journal->rowCount() - 8); row < journal->rowCount(); ++row) {
            const auto* e = journal->eventAt(row);
            text += "\n  " + std::to_string(e->seq) + " " + e->event.source + " " + e->event.kind +
                    " " + e->event.detail;
        }
        return text;
    }

    bool ended() const {
        return !view()->sessionOpen() && view()->status() && ses::isFinal(*view()->status());
    }

    MainWindow window;
    bool emergencyAlwaysEnabled = true;
};

TEST(SessionView, RunsASessionToCompletionAndOpensThePostSessionScale) {
    ReadyClinic clinic;
    Sim sim("100");
    ASSERT_NE(sim.port, 0);
    Console console(clinic, sim);
    SessionView* view = console.view();
    QAbstractItemModelTester tester(view->journalModel(),
                                    QAbstractItemModelTester::FailureReportingMode::Fatal);
    EXPECT_EQ(view->patientCombo()->currentData().toString(), kMrn);
    ASSERT_GT(view->protocolCombo()->currentData().toLongLong(), 0);
    EXPECT_TRUE(view->summaryLabel()->text().contains("120 % RMT"))
        << view->summaryLabel()->text().toStdString();
    EXPECT_FALSE(view->startButton()->isEnabled());

    // Without the screening re-confirmed nothing is checked in.
    view->prepareButton()->click();
    EXPECT_FALSE(view->sessionOpen());
    EXPECT_TRUE(view->messageLabel()->text().contains("screening"));

    ASSERT_TRUE(console.prepare()) << view->messageLabel()->text().toStdString();
    EXPECT_TRUE(console.window.emergencyStopAction()->isVisible());
    QTableWidget* checklist = view->checklistTable();
    ASSERT_GE(checklist->rowCount(), 7);  // clinical items, then connected, loaded, read back
    for (int row = 0; row < checklist->rowCount(); ++row) {
        EXPECT_TRUE(checklist->item(row, 0)->data(Qt::UserRole + 1).toBool())
            << checklist->item(row, 0)->text().toStdString() << ": "
            << checklist->item(row, 1)->text().toStdString();
    }
    EXPECT_EQ(*view->status(), ses::SessionStatus::Ready);

    view->startButton()->click();
    ASSERT_TRUE(console.waitFor([&] { return console.ended(); })) << console.shown();
    EXPECT_EQ(*view->status(), ses::SessionStatus::Completed);
    EXPECT_TRUE(view->statusLabel()->text().contains("completed"))
        << view->statusLabel()->text().toStdString();
    EXPECT_EQ(view->pulsesLabel()->text(), "600 / 600");
    EXPECT_EQ(view->trainsLabel()->text(), "20 / 20");
    EXPECT_TRUE(view->sensorLabel()->text().contains("°C"));
    EXPECT_GT(view->plottedPoints(), 2);
    EXPECT_FALSE(console.window.emergencyStopAction()->isVisible());
    EXPECT_TRUE(console.emergencyAlwaysEnabled);
    EXPECT_TRUE(view->emergencyButton()->isEnabled());

    // The journal as recorded, operator actions and device events.
    bool started = false, trainFinished = false, completed = false;
    for (int row = 0; row < view->journalModel()->rowCount(); ++row) {
        const QString kind =
            view->journalModel()->index(row, JournalModel::Event).data().toString();
        started = started || kind == "start";
        trainFinished = trainFinished || kind == "train_finished";
        completed = completed || kind == "completed";
    }
    EXPECT_TRUE(started && trainFinished && completed);

    auto session = ses::SessionService(*clinic.store).get(clinic.technician, view->sessionId());
    ASSERT_TRUE(session);
    EXPECT_EQ(session->status, ses::SessionStatus::Completed);
    EXPECT_EQ(session->devicePulses, 600);
    EXPECT_EQ(session->reconciliation, "agree");
    EXPECT_TRUE(view->messageLabel()->text().contains("agree"));

    // A non-stopping adverse event after the session; the types are sessions-v1's.
    const ses::SessionRules& rules = ses::builtInSessionRules();
    int rtmsTypes = 0;
    for (const auto& type : rules.adverseEvents) {
        rtmsTypes += std::find(type.modalities.begin(), type.modalities.end(), "rtms") !=
                             type.modalities.end()
                         ? 1
                         : 0;
    }
    EXPECT_EQ(view->adverseTypeCombo()->count(), rtmsTypes);
    view->adverseTypeCombo()->setCurrentIndex(view->adverseTypeCombo()->findData("headache"));
    view->adverseActionEdit()->setText("paracetamol offered");
    auto recorded = view->recordAdverseEvent();
    ASSERT_TRUE(recorded) << recorded.error().describe();
    EXPECT_FALSE(recorded->stoppedSession);

    // The post-session scale: the Scales tab's form, context post_session, session 1.
    ASSERT_TRUE(view->scaleButton()->isEnabled());
    view->scaleButton()->click();
    ScalesView* scales = console.window.scalesView();
    EXPECT_EQ(console.window.tabs()->currentWidget(), scales);
    EXPECT_EQ(scales->contextCombo()->currentData().toString(), "post_session");
    EXPECT_EQ(scales->sessionSpin()->value(), 1);
    scales->instrumentCombo()->setCurrentIndex(scales->instrumentCombo()->findData("gad7"));
    for (QSpinBox* box : scales->itemBoxes()) {
        box->setValue(1);
    }
    auto scale = scales->recordForm();
    ASSERT_TRUE(scale) << scale.error().describe();
    EXPECT_EQ(scale->mrn, kMrn);
    EXPECT_EQ(scale->context, "post_session");
    EXPECT_EQ(scale->sessionNumber, 1);
}

TEST(SessionView, TheEmergencyStopButtonEndsTheSessionStoppedEarly) {
    ReadyClinic clinic;
    Sim sim("10");  // about 20 s of stimulation: time to press the button mid-session
    ASSERT_NE(sim.port, 0);
    Console console(clinic, sim);
    SessionView* view = console.view();
    ASSERT_TRUE(console.prepare()) << view->messageLabel()->text().toStdString();
    view->startButton()->click();
    ASSERT_TRUE(console.waitFor([&] {
        return view->status() == ses::SessionStatus::Running && view->plottedPoints() > 1 &&
               !view->pulsesLabel()->text().startsWith("0 ");
    }));
    EXPECT_TRUE(view->pauseButton()->isEnabled());

    QTest::mouseClick(view->emergencyButton(), Qt::LeftButton);
    ASSERT_TRUE(console.waitFor([&] { return console.ended(); })) << console.shown();
    EXPECT_EQ(*view->status(), ses::SessionStatus::StoppedEarly);
    EXPECT_TRUE(view->statusLabel()->text().contains("stopped early"))
        << view->statusLabel()->text().toStdString();
    EXPECT_TRUE(console.emergencyAlwaysEnabled);
    EXPECT_TRUE(view->emergencyButton()->isEnabled());

    auto session = ses::SessionService(*clinic.store).get(clinic.technician, view->sessionId());
    ASSERT_TRUE(session);
    EXPECT_EQ(session->status, ses::SessionStatus::StoppedEarly);
    EXPECT_NE(session->statusReason.find("emergency"), std::string::npos) << session->statusReason;
    ASSERT_TRUE(session->devicePulses.has_value());
    EXPECT_GT(*session->devicePulses, 0);
    EXPECT_LT(*session->devicePulses, 600);
    EXPECT_EQ(session->reconciliation, "agree");
}

TEST(SessionView, AStoppingAdverseEventStopsTheSessionAtOnce) {
    ReadyClinic clinic;
    Sim sim("10");
    ASSERT_NE(sim.port, 0);
    Console console(clinic, sim);
    SessionView* view = console.view();
    ASSERT_TRUE(console.prepare()) << view->messageLabel()->text().toStdString();
    view->startButton()->click();
    // Stimulating: the start command has returned (Pause is offered).
    ASSERT_TRUE(console.waitFor([&] {
        return view->status() == ses::SessionStatus::Running && view->pauseButton()->isEnabled();
    }));

    const ses::AdverseEventType* stopping = nullptr;
    for (const auto& type : ses::builtInSessionRules().adverseEvents) {
        if (type.stopsSession && stopping == nullptr) {
            stopping = &type;
        }
    }
    ASSERT_NE(stopping, nullptr);
    view->adverseTypeCombo()->setCurrentIndex(
        view->adverseTypeCombo()->findData(QString::fromStdString(stopping->id)));
    view->adverseSeverityCombo()->setCurrentIndex(view->adverseSeverityCombo()->findData("severe"));
    view->adverseActionEdit()->setText("stimulation stopped, physician called");
    auto recorded = view->recordAdverseEvent();
    ASSERT_TRUE(recorded) << recorded.error().describe();
    EXPECT_TRUE(recorded->stoppedSession);
    ASSERT_TRUE(console.waitFor([&] { return console.ended(); })) << console.shown();
    EXPECT_EQ(*view->status(), ses::SessionStatus::StoppedEarly);
    EXPECT_TRUE(console.emergencyAlwaysEnabled);
    auto session = ses::SessionService(*clinic.store).get(clinic.technician, view->sessionId());
    ASSERT_TRUE(session);
    EXPECT_NE(session->statusReason.find(stopping->label), std::string::npos)
        << session->statusReason;
    // Stopped early is a delivered session: the post-session scale is offered.
    EXPECT_TRUE(view->scaleButton()->isEnabled());
}

TEST(SessionView, AStopAsksForAReason) {
    ReadyClinic clinic;
    Sim sim("10");
    ASSERT_NE(sim.port, 0);
    Console console(clinic, sim);
    SessionView* view = console.view();
    ASSERT_TRUE(console.prepare()) << view->messageLabel()->text().toStdString();
    view->startButton()->click();
    // Pause is offered once the start command has returned.
    ASSERT_TRUE(console.waitFor([&] {
        return view->status() == ses::SessionStatus::Running && view->pauseButton()->isEnabled();
    }));
    view->pauseButton()->click();
    ASSERT_TRUE(console.waitFor([&] { return view->status() == ses::SessionStatus::Paused; }));
    EXPECT_TRUE(view->pauseButton()->text().contains("Resume"));
    ASSERT_TRUE(console.waitFor([&] { return view->pauseButton()->isEnabled(); }));
    view->pauseButton()->click();
    ASSERT_TRUE(console.waitFor([&] { return view->status() == ses::SessionStatus::Running; }));

    int asked = 0;
    view->setReasonPrompt([&]() -> std::optional<QString> {
        ++asked;
        return asked == 1 ? QString("no") : QString("patient asked to stop");
    });
    view->stopButton()->click();  // too short: refused, nothing sent
    EXPECT_TRUE(view->messageLabel()->text().contains("reason"));
    EXPECT_TRUE(view->sessionOpen());
    view->stopButton()->click();
    ASSERT_TRUE(console.waitFor([&] { return console.ended(); })) << console.shown();
    EXPECT_EQ(asked, 2);
    EXPECT_EQ(*view->status(), ses::SessionStatus::StoppedEarly);
    EXPECT_TRUE(console.emergencyAlwaysEnabled);
    auto session = ses::SessionService(*clinic.store).get(clinic.technician, view->sessionId());
    ASSERT_TRUE(session);
    EXPECT_NE(session->statusReason.find("patient asked to stop"), std::string::npos)
        << session->statusReason;
}

TEST(SessionView, TheEmergencyStopDuringPreparationAbortsTheSession) {
    ReadyClinic clinic;
    Sim sim("10");
    ASSERT_NE(sim.port, 0);
    Console console(clinic, sim);
    SessionView* view = console.view();
    view->screeningCheck()->setChecked(true);
    view->prepareButton()->click();
    ASSERT_TRUE(view->sessionOpen()) << view->messageLabel()->text().toStdString();
    // Pressed while the runner connects and loads: the click returns at once; nothing was
    // stimulating, so the session ends aborted (before or after the load, never started).
    QTest::mouseClick(view->emergencyButton(), Qt::LeftButton);
    EXPECT_TRUE(view->sessionOpen());
    ASSERT_TRUE(console.waitFor([&] { return console.ended(); })) << console.shown();
    EXPECT_EQ(*view->status(), ses::SessionStatus::Aborted);
    EXPECT_FALSE(view->startButton()->isEnabled());
    EXPECT_TRUE(console.emergencyAlwaysEnabled);
    auto session = ses::SessionService(*clinic.store).get(clinic.technician, view->sessionId());
    ASSERT_TRUE(session);
    EXPECT_EQ(session->status, ses::SessionStatus::Aborted);
    EXPECT_EQ(session->devicePulses.value_or(0), 0);
}

TEST(SessionView, AVnsSessionShowsTheLeadImpedance) {
    ReadyClinic clinic("vns");
    Sim sim("10", "vns");
    ASSERT_NE(sim.port, 0);
    Console console(clinic, sim);
    SessionView* view = console.view();
    EXPECT_TRUE(view->summaryLabel()->text().contains("VNS 0.25 mA"))
        << view->summaryLabel()->text().toStdString();
    ASSERT_TRUE(console.prepare()) << view->messageLabel()->text().toStdString();
    view->startButton()->click();
    ASSERT_TRUE(console.waitFor([&] {
        return view->status() == ses::SessionStatus::Running && view->plottedPoints() > 1;
    }));
    EXPECT_TRUE(view->sensorLabel()->text().contains("Ω"))
        << view->sensorLabel()->text().toStdString();
    EXPECT_TRUE(view->outputLabel()->text().contains("mA"));
    view->setReasonPrompt([] { return std::optional<QString>("end of the programming visit"); });
    view->stopButton()->click();
    ASSERT_TRUE(console.waitFor([&] { return console.ended(); })) << console.shown();
    EXPECT_TRUE(view->status() == ses::SessionStatus::StoppedEarly ||
                view->status() == ses::SessionStatus::Completed)
        << view->statusLabel()->text().toStdString();
    EXPECT_TRUE(console.emergencyAlwaysEnabled);
}

}  // namespace
}  // namespace neuroplan::gui
