//! An operator's certificate (`--tls-cert`, `--tls-key`): a CA-issued chain served on QUIC and on
//! the TCP port to clients that trust only the CA, and every bad file a startup error naming it.
//! The PKI (root CA → intermediate → leaf for `localhost`/`127.0.0.1`) is made here with rcgen.

use magpie_testkit::*;
use magpie_client::{ClientConfig, Transport, TransportPref};
use magpie_engine::PlaintextPolicy;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A root CA, an intermediate signed by it, and a leaf signed by the intermediate, written as
/// `chain.pem` (leaf, then intermediate) and `key.pem` (the leaf's PKCS#8 key).
struct Pki {
    dir: tempfile::TempDir,
    root_der: Vec<u8>,
    leaf_der: Vec<u8>,
}

impl Pki {
    fn new() -> Pki {
        Pki::with_leaf(|_| {})
    }

    fn with_leaf(tweak: impl FnOnce(&mut CertificateParams)) -> Pki {
        let root = ca(CertificateParams::new(Vec::<String>::new()).unwrap(), None);
        let intermediate = ca(CertificateParams::new(Vec::<String>::new()).unwrap(), Some(&root));
        let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        tweak(&mut params);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = params.signed_by(&leaf_key, &intermediate).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("chain.pem"), leaf.pem() + &intermediate.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), leaf_key.serialize_pem()).unwrap();
        Pki { root_der: root.der().to_vec(), leaf_der: leaf.der().to_vec(), dir }
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("chain.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

fn ca(mut params: CertificateParams, issuer: Option<&CertifiedIssuer<'static, KeyPair>>) -> CertifiedIssuer<'static, KeyPair> {
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    match issuer {
        Some(issuer) => CertifiedIssuer::signed_by(params, key, issuer).unwrap(),
        None => CertifiedIssuer::self_signed(params, key).unwrap(),
    }
}

/// `magpie_engine::start` with these files; the error if it refuses.
fn start_err(cert: Option<&Path>, key: Option<&Path>) -> std::io::Error {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    (config.tls_cert, config.tls_key) = (cert.map(Path::to_path_buf), key.map(Path::to_path_buf));
    match magpie_engine::start(config) {
        Ok(_) => panic!("the engine started with cert {cert:?} and key {key:?}"),
        Err(e) => e,
    }
}

/// `GET /healthz` over TLS on the TCP port, trusting only `root_der`: the response head, or the
/// TLS error.
async fn https_healthz(addr: std::net::SocketAddr, root_der: &[u8]) -> std::io::Result<String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from(root_der.to_vec())).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut stream = tokio::time::timeout(WAIT, connector.connect(name, tcp)).await.expect("handshake in time")?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await?;
    let mut response = Vec::new();
    // A close_notify-less end is fine here: only the head is checked.
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut response)).await.expect("response in time");
    Ok(String::from_utf8_lossy(&response).lines().next().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_chain_serves_quic_wss_and_https_to_clients_that_trust_only_the_root() {
    let pki = Pki::new();
    let e = start_with(|c| {
        (c.tls_cert, c.tls_key) = (Some(pki.cert()), Some(pki.key()));
        // No plaintext at all, so the WebSocket client below can only have come in over TLS.
        c.plaintext_ws = PlaintextPolicy::Never;
    });
    assert_eq!(e.engine.cert_der, pki.leaf_der, "cert_der is the operator's leaf");
    assert!(!e.dir.path().join("tls/cert.der").exists(), "no self-signed certificate is made");

    // The root is all the clients know: the intermediate must come from the engine's chain.
    let quic = ClientConfig::new(e.engine.quic_addr, e.engine.tcp_addr, pki.root_der.clone()).transport(TransportPref::Quic);
    let (alice, _events) = connect_synced(quic.register("alice", PASSWORD, "phone")).await;
    assert_eq!(alice.transport(), Some(Transport::Quic));

    let wss = ClientConfig::new(e.engine.quic_addr, e.engine.tcp_addr, pki.root_der.clone())
        .transport(TransportPref::WebSocket)
        .websocket_tls(true);
    let (alice_ws, _events) = connect_synced(wss.login("alice", PASSWORD, "laptop")).await;
    assert_eq!(alice_ws.transport(), Some(Transport::WebSocket));
    assert_eq!(alice_ws.user_id(), alice.user_id());

    assert_eq!(https_healthz(e.engine.tcp_addr, &pki.root_der).await.unwrap(), "HTTP/1.1 200 OK");
    // And a client that trusts another root is refused: the trust above is the chain's doing.
    let stranger = Pki::new();
    let refused = https_healthz(e.engine.tcp_addr, &stranger.root_der).await.unwrap_err();
    assert!(refused.to_string().contains("invalid peer certificate"), "{refused}");
}

#[test]
fn an_expired_certificate_is_served_with_a_warning_not_refused() {
    let pki = Pki::with_leaf(|p| {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    let e = start_with(|c| (c.tls_cert, c.tls_key) = (Some(pki.cert()), Some(pki.key())));
    assert_eq!(e.engine.cert_der, pki.leaf_der);
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_a_startup_error_naming_it() {
    let pki = Pki::new();
    let other = Pki::new();
    let e = start_err(Some(&pki.cert()), Some(&other.key()));
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    let message = e.to_string();
    assert!(message.contains(&format!("TLS key file {}", other.key().display())), "{message}");
    assert!(message.contains("does not match the first certificate"), "{message}");
}

#[test]
fn a_chain_that_does_not_start_with_the_leaf_is_a_key_mismatch() {
    let pki = Pki::new();
    let pem = std::fs::read_to_string(pki.cert()).unwrap();
    let (leaf, intermediate) = pem.split_at(pem[1..].find("-----BEGIN CERTIFICATE-----").unwrap() + 1);
    let reversed = pki.write("reversed.pem", format!("{intermediate}{leaf}"));
    let message = start_err(Some(&reversed), Some(&pki.key())).to_string();
    assert!(message.contains("does not match the first certificate"), "{message}");
}

#[test]
fn one_of_certificate_and_key_alone_is_a_startup_error() {
    let pki = Pki::new();
    let message = start_err(Some(&pki.cert()), None).to_string();
    assert!(message.contains("without its key (--tls-key, MAGPIE_TLS_KEY)"), "{message}");
    let message = start_err(None, Some(&pki.key())).to_string();
    assert!(message.contains("without its certificate (--tls-cert, MAGPIE_TLS_CERT)"), "{message}");
}

#[test]
fn bad_files_are_startup_errors_naming_the_file_and_the_problem() {
    let pki = Pki::new();
    let (cert, key) = (pki.cert(), pki.key());
    let missing = pki.dir.path().join("missing.pem");
    let garbage = pki.write("garbage.pem", "hello, I am not PEM\n");
    let bad_base64 = pki.write("bad-base64.pem", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
    let not_x509 = pki.write("not-x509.pem", "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n");
    let cases: [(&Path, &Path, &Path, &str); 7] = [
        (&missing, &key, &missing, "no such file"),
        (&cert, &missing, &missing, "no such file"),
        (&garbage, &key, &garbage, "no certificate in it"),
        (&key, &key, &key, "no certificate in it"),
        (&cert, &garbage, &garbage, "no private key in it"),
        (&bad_base64, &key, &bad_base64, "not valid PEM"),
        (&not_x509, &key, &not_x509, "is not an X.509 certificate"),
    ];
    for (cert, key, named, problem) in cases {
        let e = start_err(Some(cert), Some(key));
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
        let message = e.to_string();
        assert!(message.contains(&named.display().to_string()), "{message} should name {}", named.display());
        assert!(message.contains(problem), "{message} should say {problem:?}");
    }
}

/// The `magpie` binary with `env` and `args`, up to its exit: (success, stderr). Every case here
/// must fail to start; one that serves instead is killed and fails the test rather than hang it.
fn magpie(args: &[&str], env: &[(&str, &Path)]) -> (bool, String) {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_magpie"));
    cmd.args(["--data-dir", data.path().to_str().unwrap(), "--listen", "127.0.0.1:0", "--shards", "1", "--no-pin"]);
    cmd.args(args).env_remove("MAGPIE_TLS_CERT").env_remove("MAGPIE_TLS_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    use std::process::Stdio;
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("magpie {args:?} with {env:?} kept running instead of refusing to start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_binary_refuses_one_flag_alone_and_names_a_bad_file_from_the_environment() {
    let pki = Pki::new();
    let cert = pki.cert();
    let (ok, stderr) = magpie(&["--tls-cert", cert.to_str().unwrap()], &[]);
    assert!(!ok && stderr.contains("--tls-key"), "{stderr}");
    let (ok, stderr) = magpie(&[], &[("MAGPIE_TLS_KEY", &pki.key())]);
    assert!(!ok && stderr.contains("--tls-cert"), "{stderr}");

    let garbage = pki.write("garbage.pem", "not PEM");
    let (ok, stderr) = magpie(&[], &[("MAGPIE_TLS_CERT", &garbage), ("MAGPIE_TLS_KEY", &pki.key())]);
    assert!(!ok, "{stderr}");
    let line = format!("magpie: cannot start: TLS certificate file {}: no certificate in it", garbage.display());
    assert!(stderr.contains(&line), "{stderr}");
}
