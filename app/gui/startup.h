// Start-up of the neuroplan GUI: find or create the database, make sure it has a first
// administrator, open the main window and sign in.
#pragma once

class QApplication;

namespace neuroplan::gui {

/// Runs the application; returns the process exit code (2 when the database is refused).
int runApplication(QApplication& app);

}  // namespace neuroplan::gui
