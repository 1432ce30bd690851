// neuroplan::device — the byte stream under the device link: TCP, with TLS (mutual
// certificates, Boost.Asio SSL over OpenSSL) whenever the peer is not on loopback.
#pragma once

#include <utility>  // before Asio (Boost 1.74 with C++20)

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace neuroplan::device {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// PEM files for mutual TLS: our certificate and key, and the clinic CA that signs the peer's.
struct TlsConfig {
    std::string certificateFile;
    std::string privateKeyFile;
    std::string caFile;
};

/// A device's address as a person writes it: "IP:PORT" (IPv6 without brackets, "::1:7000").
struct DeviceAddress {
    std::string host;
    std::uint16_t port = 0;
};
/// Parses "IP:PORT" with a port of 1-65535. Host names are refused (the link resolves no
/// names). Errors name `field`.
Result<DeviceAddress> parseDeviceAddress(std::string_view text, const std::string& field);

/// Plaintext is allowed only to a loopback address, or when the user asked for it explicitly.
/// Otherwise the link needs TLS. Returns an error naming `field` when neither holds.
Status checkTransportPolicy(const asio::ip::address& address, const std::optional<TlsConfig>& tls,
                            bool allowPlaintext, const std::string& field);

/// An SSL context for mutual TLS; the error names the file that failed.
Result<std::shared_ptr<asio::ssl::context>> makeTlsContext(const TlsConfig& config, bool server);

/// A TCP socket, optionally wrapped in TLS. Satisfies Asio's AsyncReadStream and
/// AsyncWriteStream, so asio::async_write works on it.
class Transport {
  public:
    using executor_type = tcp::socket::executor_type;

    Transport(const executor_type& executor, std::shared_ptr<asio::ssl::context> tls)
        : m_tls(std::move(tls)),
          m_stream(m_tls ? std::make_unique<asio::ssl::stream<tcp::socket>>(executor, *m_tls)
                         : nullptr),
          m_plain(m_tls ? std::nullopt : std::optional<tcp::socket>(executor)) {}

    executor_type get_executor() { return socket().get_executor(); }
    tcp::socket& socket() { return m_stream ? m_stream->next_layer() : *m_plain; }
    bool tls() const { return m_stream != nullptr; }

    /// The TLS handshake (nothing to do in plaintext).
    template <class Handler>
    void asyncHandshake(bool server, Handler&& handler) {
        if (!m_stream) {
            asio::post(get_executor(), [h = std::forward<Handler>(handler)]() mutable {
                h(boost::system::error_code{});
            });
            return;
        }
        m_stream->async_handshake(
            server ? asio::ssl::stream_base::server : asio::ssl::stream_base::client,
            std::forward<Handler>(handler));
    }

    template <class Buffers, class Handler>
    void async_read_some(const Buffers& buffers, Handler&& handler) {
        if (m_stream) {
            m_stream->async_read_some(buffers, std::forward<Handler>(handler));
        } else {
            m_plain->async_read_some(buffers, std::forward<Handler>(handler));
        }
    }

    template <class Buffers, class Handler>
    void async_write_some(const Buffers& buffers, Handler&& handler) {
        if (m_stream) {
            m_stream->async_write_some(buffers, std::forward<Handler>(handler));
        } else {
            m_plain->async_write_some(buffers, std::forward<Handler>(handler));
        }
    }

    void close() {
        boost::system::error_code ignored;
        socket().shutdown(tcp::socket::shutdown_both, ignored);
        socket().close(ignored);
    }

  private:
    std::shared_ptr<asio::ssl::context> m_tls;
    std::unique_ptr<asio::ssl::stream<tcp::socket>> m_stream;
    std::optional<tcp::socket> m_plain;
};

}  // namespace neuroplan::device
