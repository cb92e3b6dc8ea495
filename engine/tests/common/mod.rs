//! Helpers shared by the engine's integration tests: a real engine on ephemeral ports, and
//! clients over a chosen transport.
#![allow(dead_code)] // each test file uses a different subset

use magpie_client::{ChatEvent, Client, ClientConfig, ClientEvent, Events, EventKind, TransportPref};
use magpie_engine::{Config, Engine};
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(20);
pub const PASSWORD: &str = "correct horse battery";

pub struct TestEngine {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

/// A test engine: 2 shards, cheap argon2 (registration is on every test's path), not pinned.
pub fn test_config(dir: &std::path::Path) -> Config {
    let mut c = Config::ephemeral(dir);
    c.shards = 2;
    c.pin_cores = false;
    c.argon2_memory_kib = 256;
    c
}

pub fn start() -> TestEngine {
    start_with(|_| {})
}

pub fn start_with(tweak: impl FnOnce(&mut Config)) -> TestEngine {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    tweak(&mut config);
    let engine = magpie_engine::start(config).expect("engine starts");
    TestEngine { engine, dir }
}

impl TestEngine {
    pub fn client_config(&self, transport: TransportPref) -> ClientConfig {
        ClientConfig::new(self.engine.quic_addr, self.engine.tcp_addr, self.engine.cert_der.clone()).transport(transport)
    }

    pub async fn register(&self, name: &str, transport: TransportPref) -> (Client, Events) {
        let cfg = self.client_config(transport).register(name, PASSWORD, "test-device");
        connect_synced(cfg).await
    }

    pub async fn login(&self, name: &str, device: &str, transport: TransportPref) -> (Client, Events) {
        let cfg = self.client_config(transport).login(name, PASSWORD, device);
        connect_synced(cfg).await
    }
}

/// Connects and waits until the first sync is done.
pub async fn connect_synced(cfg: ClientConfig) -> (Client, Events) {
    let (client, mut events) = tokio::time::timeout(WAIT, Client::connect(cfg)).await.expect("connect in time").expect("connect");
    wait_sync(&mut events).await;
    (client, events)
}

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

/// The next chat event, or a panic after the wait.
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

pub fn transports() -> [TransportPref; 2] {
    [TransportPref::Quic, TransportPref::WebSocket]
}
