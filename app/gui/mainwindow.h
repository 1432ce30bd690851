// The NeuroPlan main window: the patient list on one database, with the signed-in user and the
// database file in the status bar. The views (eligibility, protocols, scales, schedule, session)
// are tabs of the central widget.
#pragma once

#include <QMainWindow>
#include <optional>

#include "records/patients.h"
#include "records/users.h"
#include "store/store.h"

class QAction;
class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;
class QTabWidget;

namespace neuroplan::gui {

class EligibilityView;
class ProtocolView;
class ScalesView;
class ScheduleView;
class SessionView;
class PatientTableModel;

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    /// The window borrows the store; it must outlive the window.
    explicit MainWindow(store::Store& store, QWidget* parent = nullptr);
    ~MainWindow() override;

    void signIn(const records::Actor& actor);
    void signOut();
    const std::optional<records::Actor>& actor() const { return m_actor; }

    PatientTableModel* patientModel() const { return m_patients; }
    QTableView* patientView() const { return m_patientView; }
    QAction* addPatientAction() const { return m_addPatient; }
    QLabel* databaseLabel() const { return m_databaseLabel; }
    QLabel* userLabel() const { return m_userLabel; }
    EligibilityView* eligibilityView() const { return m_eligibility; }
    ProtocolView* protocolView() const { return m_protocols; }
    ScalesView* scalesView() const { return m_scales; }
    ScheduleView* scheduleView() const { return m_schedule; }
    SessionView* sessionView() const { return m_session; }
    /// The emergency stop in the tool bar, shown on every tab while a session is open here.
    QAction* emergencyStopAction() const { return m_emergencyStop; }
    QTabWidget* tabs() const { return m_tabs; }
    /// Selects the patient in the list (and so in every per-patient view).
    bool selectPatient(const QString& mrn);

  public slots:
    /// Opens the sign-in dialog (window-modal over the main window).
    void promptSignIn();
    void addPatient();
    void refreshPatients();

  private:
    void updateState();
    void patientSelectionChanged();

    store::Store& m_store;
    records::UserService m_users;
    records::PatientService m_patientService;
    std::optional<records::Actor> m_actor;

    PatientTableModel* m_patients;
    QSortFilterProxyModel* m_filter;
    QTableView* m_patientView;
    QLineEdit* m_search;
    QTabWidget* m_tabs;
    EligibilityView* m_eligibility;
    ProtocolView* m_protocols;
    ScalesView* m_scales;
    ScheduleView* m_schedule;
    SessionView* m_session;
    QAction* m_addPatient;
    QAction* m_emergencyStop;
    QAction* m_signIn;
    QAction* m_signOut;
    QLabel* m_databaseLabel;
    QLabel* m_userLabel;
};

}  // namespace neuroplan::gui
