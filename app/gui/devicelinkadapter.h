// The Qt app's only door to the device link: a thin adapter that owns one DeviceLink and the
// io_context thread it runs on, and re-emits its events as Qt signals delivered through the
// event loop (queued), so that widgets never see Asio threads. core/device stays Qt-free.
#pragma once

#include <QObject>
#include <QString>
#include <memory>
#include <thread>

#include "device/link.h"

namespace neuroplan::gui {

class DeviceLinkAdapter : public QObject {
    Q_OBJECT

  public:
    /// An error (bad address, transport policy, TLS files) leaves the adapter without a link;
    /// error() says why.
    DeviceLinkAdapter(device::LinkOptions options, QObject* parent = nullptr);
    ~DeviceLinkAdapter() override;

    bool valid() const { return m_link != nullptr; }
    QString error() const { return m_error; }
    void start();
    /// Sends a command; the outcome arrives as commandFinished(id, ...). Returns the id.
    quint64 send(device::pb::Command command);
    quint64 emergencyStop();

  signals:
    void connected(const QString& kind, const QString& model, const QString& serial);
    void disconnected(const QString& reason, const QString& detail, bool willReconnect);
    /// The device's whole state; `reloaded` is true for the first one after each connection.
    void stateChanged(const device::pb::State& state, bool reloaded);
    void telemetry(const device::pb::Telemetry& telemetry, quint64 lost);
    void fault(const device::pb::Fault& fault);
    void commandFinished(quint64 id, const device::pb::CommandResult& result);

  private:
    void onEvent(const device::LinkEvent& event);

    device::asio::io_context m_io;
    std::optional<device::asio::executor_work_guard<device::asio::io_context::executor_type>>
        m_work;
    std::shared_ptr<device::DeviceLink> m_link;
    std::thread m_thread;
    QString m_error;
};

}  // namespace neuroplan::gui

Q_DECLARE_METATYPE(neuroplan::device::pb::State)
Q_DECLARE_METATYPE(neuroplan::device::pb::Telemetry)
Q_DECLARE_METATYPE(neuroplan::device::pb::Fault)
Q_DECLARE_METATYPE(neuroplan::device::pb::CommandResult)
