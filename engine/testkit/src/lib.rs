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

use magpie_client::transport::Connection;
use magpie_client::{ChatEvent, Client, ClientConfig, ClientEvent, EventKind, Events, TransportPref};
use magpie_engine::{Config, Engine};
use magpie_wire::limits::{MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use magpie_wire::{encode, verify};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long any single wait may take before the test fails: generous, because the machines that
/// run the tests are shared; a healthy engine answers in milliseconds.
pub const WAIT: Duration = Duration::from_secs(20);
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
