//! The QUIC server certificate. On first start the engine generates a self-signed certificate
//! for `localhost` and keeps it in `<data_dir>/tls/`, so clients can pin it across restarts.

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;

/// ALPN protocol id of Magpie over QUIC.
pub const ALPN: &[u8] = b"magpie/1";

pub struct Identity {
    pub cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

/// Loads the certificate from `dir`, creating it the first time.
pub fn load_or_create(dir: &Path) -> std::io::Result<Identity> {
    let cert_path = dir.join("cert.der");
    let key_path = dir.join("key.der");
    if cert_path.exists() && key_path.exists() {
        return Ok(Identity { cert_der: std::fs::read(&cert_path)?, key_der: std::fs::read(&key_path)? });
    }
    std::fs::create_dir_all(dir)?;
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let cert = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
    let id = Identity { cert_der: cert.cert.der().to_vec(), key_der: cert.signing_key.serialize_der() };
    // Write the key first with owner-only permissions; the certificate's presence marks success.
    write_private(&key_path, &id.key_der)?;
    std::fs::write(dir.join("cert.pem"), cert.cert.pem())?;
    std::fs::write(&cert_path, &id.cert_der)?;
    Ok(id)
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// The quinn server configuration for this identity.
pub fn quic_server_config(id: &Identity, idle_timeout: std::time::Duration) -> std::io::Result<quinn::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(other)?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(id.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone())),
        )
        .map_err(other)?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.max_early_data_size = 0;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls).map_err(other)?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_idle_timeout(Some(idle_timeout.try_into().map_err(other)?))
        .keep_alive_interval(None)
        // One control stream per connection; bulk streams come later.
        .max_concurrent_bidi_streams(4u32.into())
        .max_concurrent_uni_streams(0u32.into())
        // Small initial windows keep idle connections cheap; they grow with use.
        .stream_receive_window((256 * 1024u32).into())
        .receive_window((512 * 1024u32).into())
        .send_window(1024 * 1024);
    server.transport_config(Arc::new(transport));
    Ok(server)
}

fn other(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}
