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
    /// Secret from which QUIC stateless-reset tokens are derived. Kept across restarts so that
    /// after a crash the new process can tell clients of the old one that their connection is
    /// gone (a stateless reset), instead of leaving them to time out.
    reset_key: Vec<u8>,
}

/// Loads the certificate from `dir`, creating it the first time.
pub fn load_or_create(dir: &Path) -> std::io::Result<Identity> {
    let cert_path = dir.join("cert.der");
    let key_path = dir.join("key.der");
    std::fs::create_dir_all(dir)?;
    let reset_key = load_or_create_reset_key(&dir.join("reset.key"))?;
    if cert_path.exists() && key_path.exists() {
        return Ok(Identity { cert_der: std::fs::read(&cert_path)?, key_der: std::fs::read(&key_path)?, reset_key });
    }
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let cert = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
    let id = Identity { cert_der: cert.cert.der().to_vec(), key_der: cert.signing_key.serialize_der(), reset_key };
    // Write the key first with owner-only permissions; the certificate's presence marks success.
    write_private(&key_path, &id.key_der)?;
    std::fs::write(dir.join("cert.pem"), cert.cert.pem())?;
    std::fs::write(&cert_path, &id.cert_der)?;
    Ok(id)
}

fn load_or_create_reset_key(path: &Path) -> std::io::Result<Vec<u8>> {
    if let Ok(key) = std::fs::read(path) {
        if key.len() == 32 {
            return Ok(key);
        }
    }
    let mut key = vec![0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    write_private(path, &key)?;
    Ok(key)
}

/// The QUIC endpoint configuration: stateless-reset tokens and connection-id validation both
/// keyed from the persistent secret, so that a restarted engine recognises its predecessor's
/// connection ids as its own and answers them with a stateless reset (random per-process keys
/// would make it drop those packets, and clients would wait for their idle timeout instead).
pub fn quic_endpoint_config(id: &Identity) -> quinn::EndpointConfig {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &id.reset_key);
    let tag = ring::hmac::sign(&key, b"magpie connection id key");
    let cid_key = u64::from_le_bytes(tag.as_ref()[..8].try_into().expect("HMAC-SHA256 has 32 bytes"));
    let mut config = quinn::EndpointConfig::new(Arc::new(key));
    config.cid_generator(move || Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(cid_key)));
    config
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// A rustls server configuration presenting this identity's certificate.
fn server_tls(
    id: &Identity,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[u8],
) -> std::io::Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(other)?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(id.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone())),
        )
        .map_err(other)?;
    tls.alpn_protocols = vec![alpn.to_vec()];
    // Stateless session tickets: a reconnecting client resumes its TLS session without the
    // certificate signature and verification, whatever the number of clients (the default
    // stateful cache holds 256 sessions). Tickets are encrypted with a key that rotates and is
    // never stored, so a restart only costs each client one full handshake.
    tls.ticketer = rustls::crypto::ring::Ticketer::new().map_err(other)?;
    Ok(tls)
}

/// TLS for the TCP port (WebSocket and HTTP), with the same certificate as QUIC.
pub fn tcp_server_config(id: &Identity) -> std::io::Result<rustls::ServerConfig> {
    server_tls(id, rustls::DEFAULT_VERSIONS, b"http/1.1")
}

/// The quinn server configuration for this identity.
pub fn quic_server_config(id: &Identity, idle_timeout: std::time::Duration) -> std::io::Result<quinn::ServerConfig> {
    let mut tls = server_tls(id, &[&rustls::version::TLS13], ALPN)?;
    tls.max_early_data_size = 0;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls).map_err(other)?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_idle_timeout(Some(idle_timeout.try_into().map_err(other)?))
        .keep_alive_interval(None)
        // Exactly one client-opened stream, the control stream: a client's QUIC stack refuses a
        // second one itself, instead of the server leaving it unread (docs/PROTOCOL.md §1.1).
        .max_concurrent_bidi_streams(1u32.into())
        .max_concurrent_uni_streams(0u32.into())
        // Version 1 has no datagrams: do not advertise max_datagram_frame_size, so a client's
        // stack knows it cannot send one (instead of the server dropping it unread).
        .datagram_receive_buffer_size(None)
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
