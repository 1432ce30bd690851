// The real widgets under the offscreen platform, on a real database.
#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QTableView>
#include <QTest>

#include <QPlainTextEdit>
#include <QPushButton>
#include <fstream>
#include <sstream>

#include <QListWidget>
#include <QTableWidget>
#include "courses/courses.h"
#include "dialogs.h"
#include "eligibilityview.h"
#include "mainwindow.h"
#include "patienttablemodel.h"
#include "protocols/library.h"
#include "protocolview.h"
#include "records/patients.h"
#include "scalesview.h"
#include "scheduleview.h"
#include "scheduling/service.h"

#include <QChart>
#include <QSignalSpy>
#include <QSpinBox>
#include "support.h"

namespace neuroplan::gui {
namespace {

using neuroplan::testing::kTestPassword;
using neuroplan::testing::TestClinic;

TEST(PatientTableModel, PassesTheModelTester) {
    PatientTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.setPatients({{1, "A-1", "Curie", "Marie", "1967-11-07", "female", "t", "t"},
                       {2, "B-2", "Bohr", "Niels", "1985-10-07", "male", "t", "t"}});
    EXPECT_EQ(model.rowCount(), 2);
    EXPECT_EQ(model.columnCount(), PatientTableModel::ColumnCount);
    EXPECT_EQ(model.data(model.index(1, PatientTableModel::FamilyName)).toString(), "Bohr");
    model.setPatients({});
    EXPECT_EQ(model.rowCount(), 0);
}

TEST(MainWindow, ShowsTheDatabaseAndTheSignedInUser) {
    TestClinic clinic;
    MainWindow window(*clinic.store);
    window.show();
    EXPECT_TRUE(
        window.databaseLabel()->text().contains(QString::fromStdString(clinic.dbPath().string())));
    EXPECT_EQ(window.userLabel()->text(), "Not signed in");
    EXPECT_FALSE(window.addPatientAction()->isEnabled());

    window.signIn(clinic.technician);
    EXPECT_TRUE(window.userLabel()->text().contains("Tom Technician"));
    EXPECT_TRUE(window.addPatientAction()->isEnabled());
}

TEST(MainWindow, ListsPatientsFromTheStore) {
    TestClinic clinic;
    records::PatientService patients(*clinic.store);
    ASSERT_TRUE(
        patients.add(clinic.physician, {"A-1", "Curie", "Marie", "1967-11-07", "female"}).ok());
    MainWindow window(*clinic.store);
    QAbstractItemModelTester tester(window.patientModel(),
                                    QAbstractItemModelTester::FailureReportingMode::Fatal);
    window.signIn(clinic.technician);
    EXPECT_EQ(window.patientView()->model()->rowCount(), 1);
    ASSERT_TRUE(
        patients.add(clinic.physician, {"B-2", "Bohr", "Niels", "1985-10-07", "male"}).ok());
    window.refreshPatients();
    EXPECT_EQ(window.patientView()->model()->rowCount(), 2);
    window.signOut();
    EXPECT_EQ(window.patientView()->model()->rowCount(), 0);
}

TEST(AddPatientDialog, ShowsCoreErrorsAndAddsWhenValid) {
    TestClinic clinic;
    records::PatientService patients(*clinic.store);
    AddPatientDialog dialog(
        [&](const records::PatientInput& input) { return patients.add(clinic.technician, input); });
    dialog.show();
    QTest::keyClicks(dialog.mrnEdit(), "MRN-7");
    QTest::keyClicks(dialog.familyEdit(), "Hopper");
    QTest::keyClicks(dialog.givenEdit(), "Grace");
    QTest::keyClicks(dialog.birthDateEdit(), "1906-02-30");
    dialog.sexCombo()->setCurrentIndex(dialog.sexCombo()->findData("female"));

    dialog.accept();
    EXPECT_EQ(dialog.result(), QDialog::Rejected);  // still open
    EXPECT_TRUE(dialog.errorLabel()->isVisibleTo(&dialog));
    EXPECT_TRUE(dialog.errorLabel()->text().startsWith("Birth date:"))
        << dialog.errorLabel()->text().toStdString();
    EXPECT_TRUE(patients.list(clinic.admin)->empty());

    dialog.birthDateEdit()->clear();
    QTest::keyClicks(dialog.birthDateEdit(), "1906-12-09");
    dialog.accept();
    EXPECT_EQ(dialog.result(), QDialog::Accepted);
    EXPECT_EQ(patients.list(clinic.admin)->size(), 1u);
}

TEST(AddPatientDialog, RequiresAChosenSex) {
    TestClinic clinic;
    records::PatientService patients(*clinic.store);
    AddPatientDialog dialog(
        [&](const records::PatientInput& input) { return patients.add(clinic.technician, input); });
    QTest::keyClicks(dialog.mrnEdit(), "MRN-8");
    dialog.accept();
    EXPECT_TRUE(dialog.errorLabel()->text().startsWith("Sex:"));
    EXPECT_TRUE(patients.list(clinic.admin)->empty());
}

TEST(LoginDialog, RefusesAWrongPasswordAndAcceptsTheRightOne) {
    TestClinic clinic;
    records::UserService users(*clinic.store);
    LoginDialog dialog(
        [&](const std::string& login, const std::string& password) {
            return users.authenticate(login, password);
        },
        "clinic.db");
    dialog.show();
    QTest::keyClicks(dialog.loginEdit(), "doc");
    QTest::keyClicks(dialog.passwordEdit(), "guess-guess-guess");
    dialog.accept();
    EXPECT_EQ(dialog.result(), QDialog::Rejected);
    EXPECT_TRUE(dialog.errorLabel()->isVisibleTo(&dialog));
    EXPECT_TRUE(dialog.passwordEdit()->text().isEmpty());

    QTest::keyClicks(dialog.passwordEdit(), kTestPassword);
    dialog.accept();
    EXPECT_EQ(dialog.result(), QDialog::Accepted);
    EXPECT_EQ(dialog.actor().role, records::Role::Physician);
}

nlohmann::json exampleCase(const char* name) {
    std::ifstream in(std::string(NEUROPLAN_SOURCE_DIR) + "/docs/examples/cases/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return nlohmann::json::parse(text.str());
}

TEST(EligibilityView, ShowsFindingsAndLetsAPhysicianSign) {
    TestClinic clinic;
    ASSERT_TRUE(records::PatientService(*clinic.store)
                    .add(clinic.technician, {"DEMO-001", "Example", "Erin", "1984-05-17", "female"})
                    .ok());
    MainWindow window(*clinic.store);
    window.show();
    EligibilityView* view = window.eligibilityView();
    QAbstractItemModelTester findingsTester(view->findingsModel(),
                                            QAbstractItemModelTester::FailureReportingMode::Fatal);
    QAbstractItemModelTester trialsTester(view->trialsModel(),
                                          QAbstractItemModelTester::FailureReportingMode::Fatal);
    window.signIn(clinic.technician);
    ASSERT_TRUE(window.selectPatient("DEMO-001"));
    EXPECT_TRUE(view->enterCaseButton()->isEnabled());
    EXPECT_FALSE(view->signButton()->isEnabled());

    auto stored = view->recordCase(exampleCase("rtms-eligible.json"));
    ASSERT_TRUE(stored.ok()) << stored.error().describe();
    EXPECT_TRUE(view->summaryLabel()->text().contains("eligible"));
    EXPECT_EQ(view->trialsModel()->rowCount(), 3);
    EXPECT_GT(view->findingsModel()->rowCount(), 2);
    // Every finding names its source.
    for (int row = 0; row < view->findingsModel()->rowCount(); ++row) {
        EXPECT_FALSE(
            view->findingsModel()->index(row, FindingsModel::Source).data().toString().isEmpty());
    }
    EXPECT_FALSE(view->signButton()->isEnabled()) << "a technician may not sign";

    window.signOut();
    window.signIn(clinic.physician);
    ASSERT_TRUE(window.selectPatient("DEMO-001"));
    ASSERT_TRUE(view->signButton()->isEnabled());
    eligibility::EligibilityService service(*clinic.store);
    SignDialog dialog(*view->current(), [&](eligibility::Decision r, eligibility::Decision v,
                                            const std::string& reason) {
        return service.sign(clinic.physician, view->current()->id, r, v, reason);
    });
    dialog.vnsCombo()->setCurrentIndex(
        dialog.vnsCombo()->findData(static_cast<int>(eligibility::Decision::Eligible)));
    dialog.accept();  // differs without a reason: refused, stays open
    EXPECT_EQ(dialog.result(), QDialog::Rejected);
    EXPECT_TRUE(dialog.errorLabel()->text().startsWith("reason:"));
    QTest::keyClicks(dialog.reasonEdit(), "outside records show an adequate DBT course");
    dialog.accept();
    EXPECT_EQ(dialog.result(), QDialog::Accepted);
    window.refreshPatients();
    ASSERT_TRUE(view->current()->signature.has_value());
    EXPECT_TRUE(view->current()->signature->differs);
    EXPECT_FALSE(view->signButton()->isEnabled()) << "signed decisions are immutable";
}

TEST(CaseEditorDialog, NamesTheFieldOfAMalformedCase) {
    CaseEditorDialog dialog("DEMO-001");
    dialog.editor()->setPlainText(
        R"({"evaluation_date": "2026-11-02", "trials": [{"type": "medication", "daily_dose_mg": -5}]})");
    EXPECT_FALSE(dialog.document().has_value());
    EXPECT_TRUE(dialog.statusLabel()->text().startsWith("trials[0].daily_dose_mg"))
        << dialog.statusLabel()->text().toStdString();
    dialog.editor()->setPlainText(R"({"evaluation_date": "2026-11-02"})");
    EXPECT_TRUE(dialog.document().has_value());
}

TEST(ProtocolView, ValidatesLiveSavesVersionsAndAPhysicianApproves) {
    TestClinic clinic;
    ASSERT_TRUE(records::PatientService(*clinic.store)
                    .add(clinic.technician, {"P-1", "Patient", "Pat", "1980-01-01", "female"})
                    .ok());
    courses::CourseService service(*clinic.store);
    const auto today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
    ASSERT_TRUE(service
                    .recordMotorThreshold(clinic.technician, "P-1",
                                          {formatIsoDate(Date{today}), 55, "adaptive", "R2", "D70"})
                    .ok());
    ASSERT_TRUE(service.createCourse(clinic.technician, "P-1", "rTMS 1", "rtms").ok());

    MainWindow window(*clinic.store);
    window.show();
    ProtocolView* view = window.protocolView();
    QAbstractItemModelTester tester(view->findingsModel(),
                                    QAbstractItemModelTester::FailureReportingMode::Fatal);
    window.signIn(clinic.technician);
    ASSERT_TRUE(window.selectPatient("P-1"));
    ASSERT_EQ(view->courseCombo()->count(), 1);

    view->load(protocols::Library::builtIn().findTemplate("itbs-left-dlpfc")->protocol);
    EXPECT_TRUE(view->verdictLabel()->text().contains("WARNING"));
    EXPECT_TRUE(view->derivedLabel()->text().contains("600 pulses"));
    EXPECT_TRUE(view->derivedLabel()->text().contains("66.0 %MSO"));  // 55 x 120 %

    ASSERT_TRUE(view->setValue("intensity_percent_rmt", 130));  // live: now a violation
    EXPECT_TRUE(view->verdictLabel()->text().contains("VIOLATION"));
    bool found = false;
    for (int row = 0; row < view->findingsModel()->rowCount(); ++row) {
        found = found ||
                view->findingsModel()->index(row, ProtocolFindingsModel::Rule).data().toString() ==
                    "tbs.intensity";
    }
    EXPECT_TRUE(found);

    auto saved = view->saveVersion();
    ASSERT_TRUE(saved.ok()) << saved.error().describe();
    EXPECT_EQ(saved->verdict, "violation");
    EXPECT_FALSE(view->approveButton()->isEnabled()) << "a technician may not approve";

    window.signOut();
    window.signIn(clinic.physician);
    ASSERT_TRUE(window.selectPatient("P-1"));
    ASSERT_TRUE(view->approveButton()->isEnabled());
    EXPECT_FALSE(view->versionLabel()->text().contains("unsaved"))
        << view->versionLabel()->text().toStdString();
    const courses::ProtocolVersion latest = service.versions(clinic.physician, 1)->front();
    ApproveDialog dialog(latest, [&](bool acknowledge, const std::string& reason) {
        return service.approve(clinic.physician, saved->id, acknowledge, reason);
    });
    dialog.accept();  // a violation without a reason: refused
    EXPECT_EQ(dialog.result(), QDialog::Rejected);
    EXPECT_TRUE(dialog.errorLabel()->text().startsWith("override_reason"));
    QTest::keyClicks(dialog.reasonEdit(), "research protocol approved by the IRB");
    dialog.accept();
    EXPECT_EQ(dialog.result(), QDialog::Accepted);
    auto deliverable = service.deliverable(clinic.physician, 1);
    ASSERT_TRUE(deliverable.ok()) << deliverable.error().describe();
    EXPECT_EQ(deliverable->approval->overrideReason, "research protocol approved by the IRB");
}

TEST(ScalesView, EnteringAGad7FromTheKeyboardUpdatesTheChart) {
    TestClinic clinic;
    ASSERT_TRUE(records::PatientService(*clinic.store)
                    .add(clinic.technician, {"P-1", "Patient", "Pat", "1980-01-01", "female"})
                    .ok());
    MainWindow window(*clinic.store);
    window.show();
    window.signIn(clinic.technician);
    ASSERT_TRUE(window.selectPatient("P-1"));
    ScalesView* view = window.scalesView();
    view->instrumentCombo()->setCurrentIndex(view->instrumentCombo()->findData("gad7"));
    ASSERT_EQ(view->itemBoxes().size(), 7u);
    EXPECT_EQ(view->plottedPoints(), 0);

    // Keyboard only: type each answer, Tab to the next item.
    view->itemBoxes().front()->setFocus();
    for (QSpinBox* box : view->itemBoxes()) {
        box->selectAll();
        QTest::keyClicks(box, "2");
        QTest::keyClick(box, Qt::Key_Tab);
    }
    EXPECT_TRUE(view->statusLabel()->text().contains("Total 14"))
        << view->statusLabel()->text().toStdString();
    auto recorded = view->recordForm();
    ASSERT_TRUE(recorded.ok()) << recorded.error().describe();
    EXPECT_EQ(*recorded->score.total, 14);
    EXPECT_EQ(view->plottedPoints(), 1);
    EXPECT_GT(view->chart()->series().size(), 4);  // bands, the line and the markers
}

TEST(ScalesView, APhq9Item9AnswerRaisesTheAlertAtOnce) {
    TestClinic clinic;
    ASSERT_TRUE(records::PatientService(*clinic.store)
                    .add(clinic.technician, {"P-1", "Patient", "Pat", "1980-01-01", "female"})
                    .ok());
    MainWindow window(*clinic.store);
    window.signIn(clinic.technician);
    ASSERT_TRUE(window.selectPatient("P-1"));
    ScalesView* view = window.scalesView();
    view->instrumentCombo()->setCurrentIndex(view->instrumentCombo()->findData("phq9"));
    QSignalSpy alerts(view, &ScalesView::alertRaised);
    for (QSpinBox* box : view->itemBoxes()) {
        box->setValue(0);
    }
    view->itemBoxes().back()->setValue(1);
    EXPECT_TRUE(view->statusLabel()->text().contains("same-day"));
    ASSERT_TRUE(view->recordForm().ok());
    ASSERT_EQ(alerts.count(), 1);
    EXPECT_EQ(alerts.front().front().toString(), "suicidality_item_positive");
}

/// A clinic (time zone, hours, two devices, rooms, technicians) with one planned iTBS course
/// that starts on the fixed clock's day, Thursday 2026-01-15.
struct ScheduledClinic {
    ScheduledClinic() {
        store::OpenOptions options;
        options.clock = neuroplan::testing::fixedClock();
        store =
            std::make_unique<store::Store>(store::Store::open(clinic.dbPath(), options).value());
        scheduling::ScheduleService s(*store);
        EXPECT_TRUE(s.setSettings(clinic.admin, std::string("Europe/Berlin"), std::nullopt).ok());
        EXPECT_TRUE(s.setOpeningHours(clinic.admin, {"mon-fri 08:00-18:00"}).ok());
        for (const char* name : {"TMS A", "TMS B"}) {
            EXPECT_TRUE(
                s.addDevice(clinic.admin,
                            {name, "rtms", "MagPro R30", std::string("SN ") + name, {"Cool-B65"}})
                    .ok());
        }
        EXPECT_TRUE(s.addRoom(clinic.admin, "Room 1").ok());
        EXPECT_TRUE(s.addStaff(clinic.admin,
                               {"tom", "Tom Technician", "technician", {"mon-fri 08:00-18:00"}})
                        .ok());
        EXPECT_TRUE(records::PatientService(*store)
                        .add(clinic.technician, {"P-1", "Patient", "Pat", "1980-01-01", "female"})
                        .ok());
        courses::CourseService courses(*store);
        EXPECT_TRUE(courses
                        .recordMotorThreshold(clinic.technician, "P-1",
                                              {"2026-01-10", 50, "visual", "MagPro", "Cool-B65"})
                        .ok());
        auto course = courses.createCourse(clinic.technician, "P-1", "rTMS", "rtms");
        auto version = courses.saveProtocol(
            clinic.technician, course->id,
            protocols::Library::builtIn().findTemplate("itbs-left-dlpfc")->protocol);
        EXPECT_TRUE(courses.approve(clinic.physician, version->id, true, "").ok());
        auto plan = s.plan(clinic.technician, "P-1", version->id, "2026-01-15", std::nullopt);
        EXPECT_TRUE(plan.ok()) << plan.error().describe();
    }
    TestClinic clinic;
    std::unique_ptr<store::Store> store;
};

void sendMouse(QWidget* widget, QEvent::Type type, QPoint at) {
    QMouseEvent event(type, QPointF(at), widget->mapToGlobal(QPointF(at)), Qt::LeftButton,
                      type == QEvent::MouseButtonRelease ? Qt::NoButton : Qt::LeftButton,
                      Qt::NoModifier);
    QApplication::sendEvent(widget, &event);
}

TEST(ScheduleView, DragShowsConflictsBeforeTheDropAndMovesWithAReason) {
    ScheduledClinic c;
    ScheduleView view(*c.store);
    view.resize(1200, 700);
    view.show();
    view.setActor(c.clinic.technician);
    view.showWeek(scheduling::parseDay("2026-01-19", "day").value());
    WeekGrid* grid = view.grid();
    // Week of 19 January: the course's five sessions, Monday to Friday at 08:00.
    const std::int64_t monday = 3;  // sessions 1 and 2 were Thursday and Friday the week before
    const QRect block = grid->blockRect(monday);
    ASSERT_FALSE(block.isEmpty());
    EXPECT_TRUE(view.weekLabel()->text().contains("2026-01-19"));
    sendMouse(grid, QEvent::MouseButtonPress, QPoint(block.center().x(), block.top() + 1));
    ASSERT_TRUE(grid->dragging());
    // Tuesday 10:00: the course has Tuesday's session already.
    sendMouse(grid, QEvent::MouseMove, grid->pointFor(1, 10 * 60));
    ASSERT_FALSE(grid->dragConflicts().empty());
    EXPECT_TRUE(view.statusLabel()->text().startsWith("Conflict"))
        << view.statusLabel()->text().toStdString();
    EXPECT_TRUE(view.statusLabel()->text().contains("2026-01-20 already"));
    // Saturday: closed.
    sendMouse(grid, QEvent::MouseMove, grid->pointFor(5, 10 * 60));
    ASSERT_FALSE(grid->dragConflicts().empty());
    EXPECT_TRUE(view.statusLabel()->text().contains("closed"));
    // Monday 10:00: free.
    sendMouse(grid, QEvent::MouseMove, grid->pointFor(0, 10 * 60));
    EXPECT_TRUE(grid->dragConflicts().empty());
    EXPECT_TRUE(view.statusLabel()->text().startsWith("Free"));
    QString asked;
    view.setReasonPrompt([&]() -> std::optional<QString> {
        asked = "patient asked for later";
        return asked;
    });
    sendMouse(grid, QEvent::MouseButtonRelease, grid->pointFor(0, 10 * 60));
    EXPECT_FALSE(asked.isEmpty());
    scheduling::ScheduleService s(*c.store);
    auto moved = s.appointment(c.clinic.technician, monday);
    ASSERT_TRUE(moved.ok());
    EXPECT_EQ(moved->appointment.startMin, 10 * 60);
    EXPECT_TRUE(view.statusLabel()->text().startsWith("Moved"));
    EXPECT_EQ(grid->blockRect(monday).top(), grid->pointFor(0, 10 * 60).y() - 1);
}

TEST(ScheduleView, TodaysSessionsCheckInAndCoursesFallingBehind) {
    ScheduledClinic c;
    {
        ScheduleView view(*c.store);
        view.setActor(c.clinic.technician);
        QTableWidget* today = view.todayTable();
        ASSERT_EQ(today->rowCount(), 1);
        EXPECT_EQ(today->item(0, 0)->text(), "11:00");  // not before now: 10:00Z is 11:00 CET
        EXPECT_TRUE(today->item(0, 1)->text().contains("P-1"));
        EXPECT_EQ(view.warningList()->count(), 0);
        today->selectRow(0);
        view.checkInButton()->click();
        EXPECT_EQ(view.todayTable()->item(0, 5)->text(), "checked_in");
    }
    // Three weeks later nothing else was checked in: the course is behind.
    store::OpenOptions later;
    later.clock = [] {
        return std::chrono::sys_days{std::chrono::year{2026} / 2 / 5} + std::chrono::hours{12};
    };
    auto laterStore = store::Store::open(c.clinic.dbPath(), later);
    ASSERT_TRUE(laterStore.ok());
    ScheduleView view(*laterStore);
    view.setActor(c.clinic.technician);
    ASSERT_EQ(view.warningList()->count(), 1);
    EXPECT_TRUE(view.warningList()->item(0)->text().contains("not checked in"));
    // Filtering the week by a resource.
    view.kindCombo()->setCurrentIndex(0);
    EXPECT_EQ(view.resourceCombo()->count(), 3);  // (all), TMS A, TMS B
}

}  // namespace
}  // namespace neuroplan::gui

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
