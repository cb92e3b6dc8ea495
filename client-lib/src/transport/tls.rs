//! TLS for QUIC and `wss://`: the client trusts exactly the certificate it was given instead of
//! the system's roots — the engine's self-signed certificate, or the CA of an operator's one
//! (a trust anchor may be either; webpki builds the path from what the server sends).

use crate::error::{ClientError, Result};
use rustls::pki_types::CertificateDer;
use std::sync::Arc;

/// ALPN protocol id of Magpie over QUIC.
pub const ALPN: &[u8] = b"magpie/1";

/// TLS for `wss://`: the same pinned certificate, ALPN http/1.1.
pub(crate) fn tcp_client_config(server_cert_der: &[u8]) -> Result<rustls::ClientConfig> {
    let mut tls = client_config(server_cert_der)?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tls)
}

pub(crate) fn client_config(server_cert_der: &[u8]) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(server_cert_der.to_vec()))
        .map_err(|e| ClientError::InvalidInput(format!("server certificate: {e}")))?;
    // An explicit provider, so the result does not depend on which rustls crypto features other
    // crates in the build happen to enable.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(ClientError::transport)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    Ok(tls)
}
