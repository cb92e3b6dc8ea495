//! Test support shared by Magpie's tests (a dev-dependency only; never part of a release binary).
//!
//! - [`start`] / [`start_with`]: a whole engine in this process, both transports on ephemeral
//!   ports, in a temporary data directory, with settings that keep tests fast ([`test_config`]).
//! - [`TestEngine::register`] / [`TestEngine::login`]: a `magpie_client` signed in over the
//!   transport the test names, returned once its first sync is done.
//! - [`next_event`], [`next_message`], [`wait_sync`]: what a client sees next, or a panic after
//!   [`WAIT`] instead of a hung test.
//! - [`TestEngine::raw`] / [`TestEngine::greeted`]: raw frame connections, for tests that send
//!   frames by hand.
//! - [`peer::Peer`]: a raw-frame client for wire tests (requests by id, pushes kept), with
//!   helpers to build common requests and read deliveries.
//! - [`spawn_ready`]: the `magpie` binary as a child process, returned once it has printed its
//!   readiness line ([`Ready`]), so that no test parses the human log.

use magpie_client::transport::Connection;
use magpie_client::{ChatEvent, Client, ClientConfig, ClientEvent, EventKind, Events, TransportPref};
use magpie_engine::{Config, Engine};
use magpie_wire::limits::{MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use magpie_wire::{encode, verify};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub use magpie_engine::Ready;

pub mod peer;

/// How long any single wait may take before the test fails: generous, because the machines that
/// run the tests are shared; a healthy engine answers in milliseconds.
pub const WAIT: Duration = Duration::from_secs(20);
/// How long the `magpie` binary may take to announce readiness (it opens RocksDB first).
pub const READY_WAIT: Duration = Duration::from_secs(60);
/// The password of every user the kit registers.
pub const PASSWORD: &str = "correct horse battery";

/// An engine running in this process, and its data directory (removed after the engine stops:
/// fields drop in order).
pub struct TestEngine {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

/// A test engine's configuration: ephemeral ports on 127.0.0.1, 2 shards, not pinned (tests share
/// the machine), and cheap argon2 (registration is on nearly every test's path; the real cost is
/// not what tests check).
pub fn test_config(dir: &Path) -> Config {
    let mut c = Config::ephemeral(dir);
    c.shards = 2;
    c.pin_cores = false;
    c.argon2_memory_kib = 256;
    c
}

/// Starts a test engine with [`test_config`].
pub fn start() -> TestEngine {
    start_with(|_| {})
}

/// Starts a test engine with [`test_config`] changed by `tweak`.
pub fn start_with(tweak: impl FnOnce(&mut Config)) -> TestEngine {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    tweak(&mut config);
    let engine = magpie_engine::start(config).expect("engine starts");
    TestEngine { engine, dir }
}

impl TestEngine {
    /// The engine's data directory (RocksDB in `db/`, the certificate in `tls/`).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The certificate file QUIC clients trust (the engine writes it on first start).
    pub fn cert_path(&self) -> PathBuf {
        self.data_dir().join("tls/cert.der")
    }

    /// A client configuration for this engine over `transport`, not yet signed in.
    pub fn client_config(&self, transport: TransportPref) -> ClientConfig {
        ClientConfig::new(self.engine.quic_addr, self.engine.tcp_addr, self.engine.cert_der.clone()).transport(transport)
    }

    /// Registers `name` (device "test-device") and returns the synced client.
    pub async fn register(&self, name: &str, transport: TransportPref) -> (Client, Events) {
        let cfg = self.client_config(transport).register(name, PASSWORD, "test-device");
        connect_synced(cfg).await
    }

    /// Signs `name` in on a new device and returns the synced client.
    pub async fn login(&self, name: &str, device: &str, transport: TransportPref) -> (Client, Events) {
        let cfg = self.client_config(transport).login(name, PASSWORD, device);
        connect_synced(cfg).await
    }

    /// A raw frame connection, before any `Hello`.
    pub async fn raw(&self, transport: TransportPref) -> Connection {
        let connect = async {
            match transport {
                TransportPref::Quic => Connection::quic(self.engine.quic_addr, &self.engine.cert_der).await,
                _ => Connection::websocket(self.engine.tcp_addr, None).await,
            }
        };
        tokio::time::timeout(WAIT, connect).await.expect("raw connection in time").expect("raw connection")
    }

    /// A raw frame connection that has sent `Hello` and received `Welcome`.
    pub async fn greeted(&self, transport: TransportPref) -> Connection {
        let mut c = self.raw(transport).await;
        c.send(encode::hello(1, PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, 0, "test")).await.unwrap();
        let w = tokio::time::timeout(WAIT, c.recv()).await.expect("welcome in time").unwrap();
        assert!(verify::server_frame(&w).unwrap().body_as_welcome().is_some());
        c
    }

    /// Stops the engine (every client is closed with `shutting_down`, the store is flushed), then
    /// removes its data directory.
    pub fn shutdown(self) {
        self.engine.shutdown();
    }
}

/// Both transports, for tests that run over each.
pub fn transports() -> [TransportPref; 2] {
    [TransportPref::Quic, TransportPref::WebSocket]
}

/// Connects and waits until the first sync is done.
pub async fn connect_synced(cfg: ClientConfig) -> (Client, Events) {
    let (client, mut events) = tokio::time::timeout(WAIT, Client::connect(cfg)).await.expect("connect in time").expect("connect");
    wait_sync(&mut events).await;
    (client, events)
}

/// Waits for the next `SyncDone` and returns its (chats, events) counts.
pub async fn wait_sync(events: &mut Events) -> (u32, u64) {
    loop {
        match tokio::time::timeout(WAIT, events.next()).await.expect("sync in time") {
            Some(ClientEvent::SyncDone { chats, events }) => return (chats, events),
            Some(ClientEvent::Closed { reason, .. }) => panic!("client closed while syncing: {reason}"),
            Some(_) => continue,
            None => panic!("event stream ended"),
        }
    }
}

/// The next chat event, or a panic after [`WAIT`].
pub async fn next_event(events: &mut Events) -> ChatEvent {
    tokio::time::timeout(WAIT, events.next_chat_event()).await.expect("an event in time").expect("stream open")
}

/// The next message event's (seq, content), skipping other chat events.
pub async fn next_message(events: &mut Events) -> (u64, String) {
    loop {
        let e = next_event(events).await;
        if let EventKind::Message { content, .. } = e.kind {
            return (e.seq, content);
        }
    }
}

/// The `magpie` binary running as a child process, after it announced readiness.
pub struct Magpie {
    pub child: Child,
    /// What the binary announced: its addresses, pid, data directory, certificate path.
    pub ready: Ready,
    /// Every stdout line after the readiness line. The binary prints none; a reader thread keeps
    /// the pipe drained so the engine never blocks on it.
    pub stdout: mpsc::Receiver<String>,
}

/// Spawns `cmd` (a `magpie` command line; the kit takes its stdout) and returns once the binary
/// printed its readiness line. Panics if the first stdout line is anything else, if the process
/// exits first, or after [`READY_WAIT`].
pub fn spawn_ready(mut cmd: Command) -> Magpie {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start the magpie binary");
    let out = child.stdout.take().expect("piped stdout");
    let (tx, stdout) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            // Keep reading after the receiver is gone: the pipe must never fill up.
            let _ = tx.send(line);
        }
    });
    let line = match stdout.recv_timeout(READY_WAIT) {
        Ok(line) => line,
        Err(e) => {
            let _ = child.kill();
            let status = child.wait();
            panic!("magpie printed no readiness line ({e}); exit: {status:?}");
        }
    };
    let ready = match Ready::parse(&line) {
        Ok(r) => r,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("magpie's first stdout line is not its readiness line ({e}): {line}");
        }
    };
    Magpie { child, ready, stdout }
}

impl Magpie {
    /// The certificate the binary serves, read from the path it announced.
    pub fn cert_der(&self) -> Vec<u8> {
        std::fs::read(self.ready.cert_der.as_ref().expect("a self-signed engine announces its certificate")).expect("the announced certificate file")
    }

    /// SIGTERM (through `kill`, which needs no libc binding here), then waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let sent = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {}", self.child.id());
        self.child.wait().expect("wait for magpie")
    }

    /// SIGKILL, then waits for the exit.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Magpie {
    fn drop(&mut self) {
        // A failed test must not leave an engine running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
