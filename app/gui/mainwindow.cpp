#include "mainwindow.h"

#include <QAction>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QSortFilterProxyModel>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

#include "dialogs.h"
#include "eligibilityview.h"
#include "patienttablemodel.h"
#include "protocolview.h"
#include "scalesview.h"
#include "scheduleview.h"
#include "sessionview.h"

namespace neuroplan::gui {

MainWindow::MainWindow(store::Store& store, QWidget* parent)
    : QMainWindow(parent),
      m_store(store),
      m_users(store),
      m_patientService(store),
      m_patients(new PatientTableModel(this)),
      m_filter(new QSortFilterProxyModel(this)),
      m_patientView(new QTableView),
      m_search(new QLineEdit),
      m_tabs(new QTabWidget(this)),
      m_eligibility(new EligibilityView(store)),
      m_protocols(new ProtocolView(store)),
      m_scales(new ScalesView(store)),
      m_schedule(new ScheduleView(store)),
      m_session(new SessionView(store)),
      m_addPatient(new QAction(tr("&Add patient…"), this)),
      m_emergencyStop(new QAction(tr("EMERGENCY STOP"), this)),
      m_signIn(new QAction(tr("&Sign in…"), this)),
      m_signOut(new QAction(tr("Sign &out"), this)),
      m_databaseLabel(new QLabel),
      m_userLabel(new QLabel) {
    setWindowTitle(tr("NeuroPlan"));
    resize(1000, 640);

    m_filter->setSourceModel(m_patients);
    m_filter->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_filter->setFilterKeyColumn(-1);  // search every column
    m_patientView->setObjectName("patientView");
    m_patientView->setModel(m_filter);
    m_patientView->setSortingEnabled(true);
    m_patientView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_patientView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_patientView->horizontalHeader()->setSectionResizeMode(PatientTableModel::FamilyName,
                                                            QHeaderView::Stretch);
    m_patientView->horizontalHeader()->setSectionResizeMode(PatientTableModel::GivenName,
                                                            QHeaderView::Stretch);
    m_patientView->sortByColumn(PatientTableModel::FamilyName, Qt::AscendingOrder);
    m_patientView->verticalHeader()->hide();

    m_search->setPlaceholderText(tr("Search by MRN or name"));
    m_search->setClearButtonEnabled(true);
    connect(m_search, &QLineEdit::textChanged, m_filter,
            &QSortFilterProxyModel::setFilterFixedString);

    auto* patientsPage = new QWidget;
    auto* layout = new QVBoxLayout(patientsPage);
    layout->addWidget(m_search);
    layout->addWidget(m_patientView);
    m_tabs->addTab(patientsPage, tr("Patients"));
    m_tabs->addTab(m_eligibility, tr("Eligibility"));
    m_tabs->addTab(m_protocols, tr("Protocols"));
    m_tabs->addTab(m_scales, tr("Scales"));
    m_tabs->addTab(m_schedule, tr("Schedule"));
    m_tabs->addTab(m_session, tr("Session"));
    connect(m_patientView->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &MainWindow::patientSelectionChanged);
    connect(m_patientView, &QTableView::doubleClicked, this,
            [this] { m_tabs->setCurrentWidget(m_eligibility); });
    setCentralWidget(m_tabs);

    m_addPatient->setShortcut(QKeySequence::New);
    connect(m_addPatient, &QAction::triggered, this, &MainWindow::addPatient);
    connect(m_signIn, &QAction::triggered, this, &MainWindow::promptSignIn);
    connect(m_signOut, &QAction::triggered, this, &MainWindow::signOut);
    auto* quit = new QAction(tr("&Quit"), this);
    quit->setShortcut(QKeySequence::Quit);
    connect(quit, &QAction::triggered, this, &QWidget::close);

    auto* fileMenu = menuBar()->addMenu(tr("&File"));
    fileMenu->addAction(m_signIn);
    fileMenu->addAction(m_signOut);
    fileMenu->addSeparator();
    fileMenu->addAction(quit);
    menuBar()->addMenu(tr("&Patients"))->addAction(m_addPatient);
    auto* toolbar = addToolBar(tr("Main"));
    toolbar->setObjectName("mainToolbar");
    toolbar->addAction(m_addPatient);
    // While a session runs here, its emergency stop is one click away from every tab.
    m_emergencyStop->setObjectName("toolbarEmergencyStop");
    m_emergencyStop->setVisible(false);
    toolbar->addSeparator();
    toolbar->addAction(m_emergencyStop);
    if (QWidget* button = toolbar->widgetForAction(m_emergencyStop)) {
        button->setStyleSheet(
            "QToolButton { background: #c62828; color: white; font-weight: bold; padding: 4px "
            "12px; border-radius: 4px; }");
    }
    connect(m_emergencyStop, &QAction::triggered, m_session, &SessionView::emergencyStop);
    const auto showEmergency = [this] { m_emergencyStop->setVisible(m_session->sessionOpen()); };
    connect(m_session, &SessionView::sessionOpened, this, showEmergency);
    connect(m_session, &SessionView::sessionEnded, this, showEmergency);
    connect(m_session, &SessionView::postSessionScaleRequested, this,
            [this](const QString& mrn, int sessionNumber) {
                selectPatient(mrn);
                m_scales->startEntry("post_session", sessionNumber);
                m_tabs->setCurrentWidget(m_scales);
            });

    m_databaseLabel->setObjectName("databaseLabel");
    m_databaseLabel->setText(
        tr("Database: %1").arg(QString::fromStdString(m_store.path().string())));
    m_databaseLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_userLabel->setObjectName("userLabel");
    statusBar()->addWidget(m_databaseLabel, 1);
    statusBar()->addPermanentWidget(m_userLabel);
    updateState();
}

MainWindow::~MainWindow() = default;

void MainWindow::signIn(const records::Actor& actor) {
    m_actor = actor;
    m_eligibility->setActor(m_actor);
    m_protocols->setActor(m_actor);
    m_scales->setActor(m_actor);
    m_schedule->setActor(m_actor);
    m_session->setActor(m_actor);
    updateState();
    refreshPatients();
}

void MainWindow::signOut() {
    m_actor.reset();
    m_eligibility->setActor(m_actor);
    m_protocols->setActor(m_actor);
    m_scales->setActor(m_actor);
    m_schedule->setActor(m_actor);
    m_session->setActor(m_actor);
    m_patients->setPatients({});
    updateState();
}

void MainWindow::patientSelectionChanged() {
    const QModelIndex current = m_patientView->selectionModel()->currentIndex();
    const records::Patient* patient =
        current.isValid() ? m_patients->patientAt(m_filter->mapToSource(current).row()) : nullptr;
    const QString mrn = patient ? QString::fromStdString(patient->mrn) : QString();
    m_eligibility->showPatient(mrn);
    m_protocols->showPatient(mrn);
    m_scales->showPatient(mrn);
    m_session->showPatient(mrn);
}

bool MainWindow::selectPatient(const QString& mrn) {
    for (int row = 0; row < m_filter->rowCount(); ++row) {
        const QModelIndex index = m_filter->index(row, PatientTableModel::Mrn);
        if (index.data().toString() == mrn) {
            m_patientView->selectionModel()->setCurrentIndex(
                index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
            return true;
        }
    }
    return false;
}

void MainWindow::promptSignIn() {
    auto* dialog = new LoginDialog(
        [this](const std::string& login, const std::string& password) {
            return m_users.authenticate(login, password);
        },
        QString::fromStdString(m_store.path().string()), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowModality(Qt::WindowModal);
    if (const QByteArray user = qgetenv("NEUROPLAN_USER"); !user.isEmpty()) {
        dialog->loginEdit()->setText(QString::fromUtf8(user));
        dialog->passwordEdit()->setFocus();
    }
    connect(dialog, &QDialog::accepted, this, [this, dialog] { signIn(dialog->actor()); });
    dialog->open();
}

void MainWindow::addPatient() {
    if (!m_actor) {
        return;
    }
    AddPatientDialog dialog(
        [this](const records::PatientInput& input) {
            return m_patientService.add(*m_actor, input);
        },
        this);
    if (dialog.exec() == QDialog::Accepted) {
        refreshPatients();
    }
}

void MainWindow::refreshPatients() {
    if (!m_actor) {
        return;
    }
    auto patients = m_patientService.list(*m_actor);
    if (!patients) {
        QMessageBox::warning(this, tr("Patients"), describeError(patients.error()));
        return;
    }
    const QModelIndex current = m_patientView->selectionModel()->currentIndex();
    const QString selected =
        current.isValid() ? m_filter->index(current.row(), PatientTableModel::Mrn).data().toString()
                          : QString();
    m_patients->setPatients(std::move(patients).value());
    m_session->refreshPatients();
    if (selected.isEmpty() || !selectPatient(selected)) {
        patientSelectionChanged();
    }
}

void MainWindow::updateState() {
    const bool signedIn = m_actor.has_value();
    m_addPatient->setEnabled(signedIn);
    m_signIn->setEnabled(!signedIn);
    m_signOut->setEnabled(signedIn);
    m_search->setEnabled(signedIn);
    m_userLabel->setText(signedIn ? tr("Signed in: %1 (%2)")
                                        .arg(QString::fromStdString(m_actor->displayName),
                                             QString::fromLatin1(records::toString(m_actor->role)))
                                  : tr("Not signed in"));
}

}  // namespace neuroplan::gui
