#include "device/transport.h"

namespace neuroplan::device {

Result<DeviceAddress> parseDeviceAddress(std::string_view text, const std::string& field) {
    const std::string address(text);
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        return makeError(ErrorCode::InvalidInput, field,
                         "expected HOST:PORT, got '" + address + "'");
    }
    DeviceAddress out;
    out.host = address.substr(0, colon);
    const std::string digits = address.substr(colon + 1);
    if (digits.empty() || digits.size() > 5 ||
        digits.find_first_not_of("0123456789") != std::string::npos || std::stoul(digits) == 0 ||
        std::stoul(digits) > 65535) {
        return makeError(ErrorCode::InvalidInput, field,
                         "the port of '" + address + "' is not 1-65535");
    }
    out.port = static_cast<std::uint16_t>(std::stoul(digits));
    boost::system::error_code error;
    asio::ip::make_address(out.host, error);
    if (error) {
        return makeError(ErrorCode::InvalidInput, field,
                         "'" + out.host +
                             "' is not an IP address (device addresses are not "
                             "resolved)");
    }
    return out;
}

Status checkTransportPolicy(const asio::ip::address& address, const std::optional<TlsConfig>& tls,
                            bool allowPlaintext, const std::string& field) {
    if (tls || allowPlaintext || address.is_loopback()) {
        return {};
    }
    return makeError(ErrorCode::InvalidInput, field,
                     address.to_string() +
                         " is not a loopback address: the device link needs TLS there "
                         "(--tls-cert, --tls-key, --tls-ca), or --plaintext to accept the risk");
}

Result<std::shared_ptr<asio::ssl::context>> makeTlsContext(const TlsConfig& config, bool server) {
    auto context = std::make_shared<asio::ssl::context>(server ? asio::ssl::context::tls_server
                                                               : asio::ssl::context::tls_client);
    context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
    boost::system::error_code error;
    context->use_certificate_chain_file(config.certificateFile, error);
    if (error) {
        return makeError(ErrorCode::InvalidInput, config.certificateFile,
                         "cannot use as certificate: " + error.message());
    }
    context->use_private_key_file(config.privateKeyFile, asio::ssl::context::pem, error);
    if (error) {
        return makeError(ErrorCode::InvalidInput, config.privateKeyFile,
                         "cannot use as private key: " + error.message());
    }
    context->load_verify_file(config.caFile, error);
    if (error) {
        return makeError(ErrorCode::InvalidInput, config.caFile,
                         "cannot use as CA certificate: " + error.message());
    }
    // Mutual: each side proves itself with a certificate the clinic CA signed.
    context->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    return context;
}

}  // namespace neuroplan::device
