#include "devicelinkadapter.h"

#include <QMetaObject>
#include <QPointer>

namespace neuroplan::gui {

namespace pb = device::pb;

DeviceLinkAdapter::DeviceLinkAdapter(device::LinkOptions options, QObject* parent)
    : QObject(parent) {
    qRegisterMetaType<pb::State>();
    qRegisterMetaType<pb::Telemetry>();
    qRegisterMetaType<pb::Fault>();
    qRegisterMetaType<pb::CommandResult>();
    // The link calls back on its own thread; everything is handed to this object's thread.
    QPointer<DeviceLinkAdapter> self(this);
    auto link = device::DeviceLink::create(m_io, std::move(options),
                                           [self](const device::LinkEvent& event) {
                                               QMetaObject::invokeMethod(
                                                   self.data(),
                                                   [self, event] {
                                                       if (self) {
                                                           self->onEvent(event);
                                                       }
                                                   },
                                                   Qt::QueuedConnection);
                                           });
    if (!link) {
        m_error = QString::fromStdString(link.error().describe());
        return;
    }
    m_link = *link;
    m_work.emplace(device::asio::make_work_guard(m_io));
    m_thread = std::thread([this] { m_io.run(); });
}

DeviceLinkAdapter::~DeviceLinkAdapter() {
    if (m_link) {
        m_link->close();
    }
    m_work.reset();
    m_io.stop();
    if (m_thread.joinable()) {
        m_thread.join();
    }
    m_link.reset();
}

void DeviceLinkAdapter::start() {
    if (m_link) {
        m_link->start();
    }
}

quint64 DeviceLinkAdapter::send(pb::Command command) {
    if (!m_link) {
        return 0;
    }
    if (command.id() == 0) {
        command.set_id(m_link->nextCommandId());
    }
    const quint64 id = command.id();
    (void)m_link->send(std::move(command));  // the outcome comes back as a Result event
    return id;
}

quint64 DeviceLinkAdapter::emergencyStop() {
    pb::Command command;
    command.mutable_emergency_stop();
    return send(std::move(command));
}

void DeviceLinkAdapter::onEvent(const device::LinkEvent& event) {
    using Kind = device::LinkEvent::Kind;
    switch (event.kind) {
        case Kind::Connected:
            emit connected(event.peer.kind() == pb::DEVICE_KIND_RTMS ? "rtms" : "vns",
                           QString::fromStdString(event.peer.model()),
                           QString::fromStdString(event.peer.serial()));
            break;
        case Kind::Down:
            emit disconnected(device::toString(event.down), QString::fromStdString(event.detail),
                              event.willReconnect);
            break;
        case Kind::State:
            emit stateChanged(event.state, event.reloaded);
            break;
        case Kind::Telemetry:
            emit telemetry(event.telemetry, event.telemetryLost);
            break;
        case Kind::Fault:
            emit fault(event.fault);
            break;
        case Kind::Result:
            if (event.result.status() == pb::COMMAND_DONE ||
                event.result.status() == pb::COMMAND_REJECTED ||
                event.result.status() == pb::COMMAND_FAILED) {
                emit commandFinished(event.result.id(), event.result);
            }
            break;
        case Kind::Log:
        case Kind::Dropped:
            break;
    }
}

}  // namespace neuroplan::gui
