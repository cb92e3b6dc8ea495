//! The server's TLS identity, one for QUIC and for HTTPS/WSS on the TCP port. By default the
//! engine generates a self-signed certificate for `localhost` on first start and keeps it in
//! `<data_dir>/tls/`, so clients can pin it across restarts; an operator can give a PEM
//! certificate chain and key instead (`--tls-cert`, `--tls-key`) for clients that check a CA.

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;

/// ALPN protocol id of Magpie over QUIC.
pub const ALPN: &[u8] = b"magpie/1";

pub struct Identity {
    /// The leaf certificate (DER): the one clients pin when it is the self-signed default.
    pub cert_der: Vec<u8>,
    /// What the handshake presents: the leaf first, then any intermediates.
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// Secret from which QUIC stateless-reset tokens are derived. Kept across restarts so that
    /// after a crash the new process can tell clients of the old one that their connection is
    /// gone (a stateless reset), instead of leaving them to time out.
    reset_key: Vec<u8>,
}

/// The operator's certificate and key when both are given, else the self-signed one in `dir`.
/// Every problem with the operator's files is an `InvalidInput` error that names the file.
pub fn load(dir: &Path, cert: Option<&Path>, key: Option<&Path>) -> std::io::Result<Identity> {
    match (cert, key) {
        (Some(cert), Some(key)) => load_operator(dir, cert, key),
        (None, None) => load_or_create(dir),
        // Silently falling back to the self-signed certificate would look like a working
        // deployment until the first browser refuses it.
        (Some(_), None) => Err(invalid("a TLS certificate was given without its key (--tls-key, MAGPIE_TLS_KEY)".into())),
        (None, Some(_)) => Err(invalid("a TLS key was given without its certificate (--tls-cert, MAGPIE_TLS_CERT)".into())),
    }
}

/// Loads the certificate from `dir`, creating it the first time.
pub fn load_or_create(dir: &Path) -> std::io::Result<Identity> {
    let cert_path = dir.join("cert.der");
    let key_path = dir.join("key.der");
    std::fs::create_dir_all(dir)?;
    let reset_key = load_or_create_reset_key(&dir.join("reset.key"))?;
    let (cert_der, key_der) = if cert_path.exists() && key_path.exists() {
        (std::fs::read(&cert_path)?, std::fs::read(&key_path)?)
    } else {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
        let cert = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
        let (cert_der, key_der) = (cert.cert.der().to_vec(), cert.signing_key.serialize_der());
        // Write the key first with owner-only permissions; the certificate's presence marks success.
        write_private(&key_path, &key_der)?;
        std::fs::write(dir.join("cert.pem"), cert.cert.pem())?;
        std::fs::write(&cert_path, &cert_der)?;
        (cert_der, key_der)
    };
    Ok(Identity {
        chain: vec![CertificateDer::from(cert_der.clone())],
        cert_der,
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
        reset_key,
    })
}

/// The operator's PEM chain and key, checked here so that a wrong file stops the start with a
/// message naming it, instead of surfacing as failed handshakes. Nothing is written next to
/// them: the files stay the operator's, read again at every start (a reload is a restart).
fn load_operator(dir: &Path, cert_path: &Path, key_path: &Path) -> std::io::Result<Identity> {
    let bad_cert = |what: String| invalid(format!("TLS certificate file {}: {what}", cert_path.display()));
    let bad_key = |what: String| invalid(format!("TLS key file {}: {what}", key_path.display()));
    let chain = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| bad_cert(pem_problem(e, "certificate")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_cert(pem_problem(e, "certificate")))?;
    if chain.is_empty() {
        return Err(bad_cert(pem_problem(pem::Error::NoItemsFound, "certificate")));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| bad_key(pem_problem(e, "private key")))?;
    let now = unix_now();
    for (i, cert) in chain.iter().enumerate() {
        let which = if i == 0 { "the first certificate (the leaf)".to_string() } else { format!("certificate {} of the chain", i + 1) };
        let validity = Validity::of(cert).map_err(|e| bad_cert(format!("{which} is not an X.509 certificate ({e})")))?;
        // An expired or not-yet-valid certificate is served with a warning rather than refused:
        // refusing would turn a missed renewal (or a host clock that is wrong at boot) into an
        // outage of every transport, while a running engine would go on serving it anyway.
        match validity.problem(now) {
            Some(problem) => tracing::warn!(
                "TLS certificate file {}: {which} {problem}; clients that check it will refuse the connection",
                cert_path.display()
            ),
            None if i == 0 => {
                tracing::info!("TLS certificate file {}: valid until {}", cert_path.display(), validity.not_after.1)
            }
            None => {}
        }
    }
    let provider = rustls::crypto::ring::default_provider();
    let signer = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| bad_key(format!("not a usable private key ({e})")))?;
    match rustls::sign::CertifiedKey::new(chain.clone(), signer).keys_match() {
        // Unknown: the key type cannot tell its public key; the handshake signature still fails.
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(bad_key(format!(
                "does not match the first certificate in {} (the chain must start with the certificate issued for this key)",
                cert_path.display()
            )))
        }
        Err(e) => return Err(bad_cert(format!("the first certificate cannot be used ({e})"))),
    }
    warn_if_others_can_read(key_path);
    std::fs::create_dir_all(dir)?;
    let reset_key = load_or_create_reset_key(&dir.join("reset.key"))?;
    Ok(Identity { cert_der: chain[0].to_vec(), chain, key, reset_key })
}

/// What is wrong with a PEM file, for an operator reading the startup error.
fn pem_problem(e: pem::Error, item: &str) -> String {
    match e {
        pem::Error::Io(e) if e.kind() == std::io::ErrorKind::NotFound => "no such file".into(),
        pem::Error::Io(e) => format!("cannot read it ({e})"),
        pem::Error::NoItemsFound if item == "certificate" => {
            "no certificate in it (expected PEM \"-----BEGIN CERTIFICATE-----\" blocks, the leaf first)".into()
        }
        pem::Error::NoItemsFound => "no private key in it (expected a PEM \"-----BEGIN PRIVATE KEY-----\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\" block)".into(),
        e => format!("not valid PEM ({e})"),
    }
}

/// A key that every user of the host can read is worth a warning, not a refusal (the engine
/// cannot know who else is on the host). Group-readable is left alone: deployments share keys
/// with a service group on purpose (e.g. Debian's `ssl-cert`).
fn warn_if_others_can_read(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o004 != 0 {
            tracing::warn!("TLS key file {} is readable by every user of this host (chmod 600 or 640)", path.display());
        }
    }
}

/// A certificate's validity period: seconds since the Unix epoch, and as text for the log.
#[derive(Debug, Clone)]
struct Validity {
    not_before: (i64, String),
    not_after: (i64, String),
}

impl Validity {
    /// Reads `tbsCertificate.validity` (RFC 5280 §4.1) from a DER certificate.
    fn of(cert: &[u8]) -> Result<Validity, yasna::ASN1Error> {
        use yasna::tags::{TAG_GENERALIZEDTIME, TAG_UTCTIME};
        fn time(r: yasna::BERReader) -> yasna::ASN1Result<(i64, String)> {
            let t = if r.lookahead_tag()? == TAG_GENERALIZEDTIME {
                *r.read_generalized_time()?.datetime()
            } else if r.lookahead_tag()? == TAG_UTCTIME {
                *r.read_utctime()?.datetime()
            } else {
                return Err(yasna::ASN1Error::new(yasna::ASN1ErrorKind::Invalid));
            };
            let text = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
            Ok((t.unix_timestamp(), text))
        }
        yasna::parse_der(cert, |r| {
            r.read_sequence(|cert| {
                let validity = cert.next().read_sequence(|tbs| {
                    tbs.read_optional(|r| r.read_tagged(yasna::Tag::context(0), |r| r.read_i64()))?; // version
                    tbs.next().read_der()?; // serialNumber
                    tbs.next().read_der()?; // signature algorithm
                    tbs.next().read_der()?; // issuer
                    let validity = tbs.next().read_sequence(|v| {
                        Ok(Validity { not_before: time(v.next())?, not_after: time(v.next())? })
                    })?;
                    tbs.next().read_der()?; // subject
                    tbs.next().read_der()?; // subjectPublicKeyInfo
                    while tbs.read_optional(|r| r.read_der())?.is_some() {} // unique ids, extensions
                    Ok(validity)
                })?;
                cert.next().read_der()?; // signatureAlgorithm
                cert.next().read_der()?; // signatureValue
                Ok(validity)
            })
        })
    }

    /// Why the certificate is not valid at `now`, if it is not.
    fn problem(&self, now: i64) -> Option<String> {
        if now > self.not_after.0 {
            Some(format!("expired on {}", self.not_after.1))
        } else if now < self.not_before.0 {
            Some(format!("is not valid before {} (is this host's clock right?)", self.not_before.1))
        } else {
            None
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
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
        .with_single_cert(id.chain.clone(), id.key.clone_key())
        .map_err(other)?;
    tls.alpn_protocols = vec![alpn.to_vec()];
    // Stateless session tickets: a reconnecting client resumes its TLS session without the
    // certificate signature and verification, whatever the number of clients (the default
    // stateful cache holds 256 sessions). Tickets are encrypted with a key that rotates and is
    // never stored, so a restart only costs each client one full handshake.
    tls.ticketer = rustls::crypto::ring::Ticketer::new().map_err(other)?;
    Ok(tls)
}

/// TLS for the TCP port (WebSocket and HTTP), with the same certificate chain as QUIC.
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
        // Datagrams carry typing (and activity) when a client negotiates `DATAGRAMS`
        // (docs/PROTOCOL.md §1.1, §6.15): a small buffer each way, so a flood costs a bounded
        // amount of memory (quinn drops the oldest when it is full).
        .datagram_receive_buffer_size(Some(16 * 1024))
        .datagram_send_buffer_size(16 * 1024)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_valid(from: (i32, u8, u8), to: (i32, u8, u8)) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
        params.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
        params.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap().der().to_vec()
    }

    #[test]
    fn validity_is_read_from_the_certificate() {
        // 2049 is UTCTime's last year and 2050 the first in GeneralizedTime (RFC 5280 §4.1.2.5).
        let v = Validity::of(&cert_valid((2049, 3, 4), (2050, 11, 12))).unwrap();
        assert_eq!(v.not_before.1, "2049-03-04 00:00:00 UTC");
        assert_eq!(v.not_after.1, "2050-11-12 00:00:00 UTC");
        assert_eq!(v.not_after.0 - v.not_before.0, (365 + 253) * 86_400);
        assert!(Validity::of(b"not a certificate").is_err());
    }

    #[test]
    fn expired_and_future_certificates_are_problems() {
        let expired = Validity::of(&cert_valid((2020, 1, 1), (2021, 1, 1))).unwrap();
        assert_eq!(expired.problem(unix_now()).as_deref(), Some("expired on 2021-01-01 00:00:00 UTC"));
        let future = Validity::of(&cert_valid((2090, 1, 1), (2091, 1, 1))).unwrap();
        assert!(future.problem(unix_now()).unwrap().starts_with("is not valid before 2090-01-01"));
        let current = Validity::of(&cert_valid((2020, 1, 1), (2090, 1, 1))).unwrap();
        assert_eq!(current.problem(unix_now()), None);
    }
}
