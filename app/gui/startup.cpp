#include "startup.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QMessageBox>
#include <QTimer>
#include <iostream>

#include "mainwindow.h"
#include "records/users.h"
#include "store/store.h"

namespace neuroplan::gui {

int runApplication(QApplication& app) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QObject::tr("NeuroPlan: neuromodulation planning and logging for refractory anxiety."));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption dbOption(
        "db",
        QObject::tr("Database file (default: $NEUROPLAN_DB, else the user's data directory)."),
        "path");
    parser.addOption(dbOption);
    parser.process(app);

    std::filesystem::path path;
    if (parser.isSet(dbOption)) {
        path = parser.value(dbOption).toStdString();
    } else {
        path = store::defaultDatabasePath();
        QDir().mkpath(QString::fromStdString(path.parent_path().string()));
    }

    auto opened = store::Store::open(path);
    if (!opened) {
        const QString message = QString::fromStdString(opened.error().describe());
        std::cerr << "neuroplan: error: " << opened.error().describe() << '\n';
        QMessageBox::critical(nullptr, QObject::tr("NeuroPlan cannot open the database"), message);
        return 2;
    }
    store::Store& store = *opened;

    records::UserService users(store);
    auto any = users.hasUsers();
    if (any && !*any) {
        // First run on a new database: create the administrator and show the password once.
        const std::string password = records::generatePassword();
        auto admin = users.bootstrapAdmin({"admin", "Administrator", "admin", password});
        if (admin) {
            std::cout << "created administrator 'admin' with password: " << password << std::endl;
            QMessageBox::information(
                nullptr, QObject::tr("First run"),
                QObject::tr("A new database was created at\n%1\n\nAdministrator login: admin\n"
                            "Password: %2\n\nThe password is shown once; keep it safe.")
                    .arg(QString::fromStdString(path.string()), QString::fromStdString(password)));
        }
    }

    MainWindow window(store);
    window.show();

    // Same convention as neuroplan-cli: NEUROPLAN_USER and NEUROPLAN_PASSWORD sign in directly.
    const QByteArray login = qgetenv("NEUROPLAN_USER");
    const QByteArray password = qgetenv("NEUROPLAN_PASSWORD");
    if (!login.isEmpty() && !password.isEmpty()) {
        auto actor = users.authenticate(login.toStdString(), password.toStdString());
        if (actor) {
            window.signIn(*actor);
        } else {
            std::cerr << "neuroplan: " << actor.error().describe() << '\n';
        }
    }
    if (!window.actor()) {
        QTimer::singleShot(0, &window, &MainWindow::promptSignIn);
    }
    return app.exec();
}

}  // namespace neuroplan::gui
