#include "device/transport.h"

namespace neuroplan::device {

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
