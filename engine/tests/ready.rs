//! The `magpie` binary announces readiness as one JSON line on stdout (and in `--ready-file`),
//! with the ports it really bound when asked for port 0, and clients reach it at those
//! addresses over both transports.

use magpie_client::{ClientConfig, Transport, TransportPref};
use magpie_testkit::*;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_announces_its_real_addresses_once_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ready_file = tmp.path().join("run/ready.json");
    std::fs::create_dir_all(ready_file.parent().unwrap()).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_magpie"));
    cmd.arg("--data-dir")
        .arg(&data)
        .args(["--quic", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--shards", "2", "--no-pin"])
        .arg("--ready-file")
        .arg(&ready_file)
        .env_remove("MAGPIE_READY_FILE")
        .env("MAGPIE_LOG", "warn");
    let mut magpie = spawn_ready(cmd);
    let r = magpie.ready.clone();

    // The line: the ports bound, not the 0 asked for; everything else as configured.
    assert_eq!(r.event, "ready");
    assert_eq!(r.version, env!("CARGO_PKG_VERSION"));
    assert!(r.quic.ip().is_loopback() && r.quic.port() != 0, "{r:?}");
    assert!(r.tcp.ip().is_loopback() && r.tcp.port() != 0, "{r:?}");
    assert_eq!(r.ws, format!("ws://{}/ws", r.tcp));
    assert_eq!(r.shards, 2);
    assert!(["epoll", "io_uring"].contains(&r.io.as_str()), "{r:?}");
    assert_eq!(r.durability, "power-loss");
    assert_eq!(r.pid, magpie.child.id());
    assert_eq!(r.data_dir, std::fs::canonicalize(&data).unwrap());
    assert_eq!(r.cert_der, Some(r.data_dir.join("tls/cert.der")));

    // The ready file holds the same announcement, and nothing was left beside it.
    assert_eq!(Ready::parse(&std::fs::read_to_string(&ready_file).unwrap()), Ok(r.clone()));
    let names: Vec<_> = std::fs::read_dir(ready_file.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, [std::ffi::OsString::from("ready.json")]);

    // The addresses are the engine's: a user registers over QUIC (trusting the announced
    // certificate) and signs in again over WebSocket.
    let cfg = |t| ClientConfig::new(r.quic, r.tcp, magpie.cert_der()).transport(t);
    let (alice, _ev) = connect_synced(cfg(TransportPref::Quic).register("alice", PASSWORD, "laptop")).await;
    assert_eq!(alice.transport(), Some(Transport::Quic));
    let (again, _ev2) = connect_synced(cfg(TransportPref::WebSocket).login("alice", PASSWORD, "phone")).await;
    assert_eq!(again.transport(), Some(Transport::WebSocket));
    assert_eq!(again.user_id(), alice.user_id());
    drop((alice, again));

    // A clean stop: exit 0, no second stdout line, and the ready file is gone.
    let status = magpie.terminate();
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = magpie.stdout.iter().collect();
    assert!(rest.is_empty(), "stdout carries only the readiness line: {rest:?}");
    assert!(!ready_file.exists(), "the ready file outlived the engine");
}
