#include <QApplication>

#include "startup.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName("NeuroPlan");
    QApplication::setApplicationVersion(NEUROPLAN_VERSION);
    return neuroplan::gui::runApplication(app);
}
