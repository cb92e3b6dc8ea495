//! The Magpie engine: a shard-per-core chat server.
//!
//! [`start`] opens the store, binds QUIC (UDP) and WebSocket/HTTP (TCP) on every shard with
//! `SO_REUSEPORT`, and returns an [`Engine`] handle with the addresses it serves. Port 0 in the
//! configuration picks free ports, so a test starts a whole engine with one call:
//!
//! ```no_run
//! let dir = tempfile::tempdir().unwrap();
//! let engine = magpie_engine::start(magpie_engine::Config::ephemeral(dir.path())).unwrap();
//! println!("QUIC on {}, WebSocket on ws://{}/ws", engine.quic_addr, engine.tcp_addr);
//! engine.shutdown();
//! ```
//!
//! See `docs/ARCHITECTURE.md` for the layers and the invariants they keep.

mod auth;
#[doc(hidden)]
pub mod bench_support;
mod chat;
mod config;
mod conn;
mod crossing;
mod ids;
mod mailbox;
mod metrics;
mod pages;
mod presence;
mod presence_io;
mod unread;
mod rate;
mod ready;
mod runtime;
mod shard;
mod shared;
pub mod tls;
mod transport;
mod worker;

pub use config::{Config, IoMode, PlaintextPolicy};
pub use magpie_storage::Durability;
pub use ready::Ready;
pub use runtime::{choose_io, io_uring_available, Io};

/// The io_uring TCP stream adapter the engine uses, exposed for the runtime spike
/// (`examples/runtime_spike.rs`) so it measures exactly the engine's code path.
pub fn uring_stream(stream: tokio_uring::net::TcpStream) -> impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin {
    transport::uring::UringStream::new(stream)
}

use magpie_storage::{Store, StoreOptions};
use shared::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

/// A running engine.
pub struct Engine {
    /// Where QUIC is served (UDP).
    pub quic_addr: SocketAddr,
    /// Where WebSocket (`/ws`) and HTTP (`/healthz`) are served (TCP).
    pub tcp_addr: SocketAddr,
    /// The leaf certificate (DER) served on QUIC and the TCP port: with the self-signed default,
    /// the one clients pin; with an operator's certificate, its first one (clients trust its CA).
    pub cert_der: Vec<u8>,
    /// The I/O driver in use.
    pub io: Io,
    pub shards: usize,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// Starts an engine; returns once every shard accepts connections.
pub fn start(config: Config) -> std::io::Result<Engine> {
    let io = runtime::choose_io(config.io)?;
    let shards = if config.shards == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    } else {
        config.shards
    };
    std::fs::create_dir_all(&config.data_dir)?;
    let identity = tls::load(&config.data_dir.join("tls"), config.tls_cert.as_deref(), config.tls_key.as_deref())?;
    let quic_config = tls::quic_server_config(&identity, config.idle_timeout)?;
    let endpoint_config = tls::quic_endpoint_config(&identity);
    let node_id = node_id(&config.data_dir)?;
    let store = Store::open(
        &config.data_dir.join("db"),
        StoreOptions { durability: config.durability, ..StoreOptions::default() },
    )
    .map_err(std::io::Error::other)?;
    let sockets = runtime::bind_all(shards, config.quic_addr, config.tcp_addr)?;
    let quic_addr = sockets[0].0.local_addr()?;
    let tcp_addr = sockets[0].1.local_addr()?;
    let shared = Arc::new(Shared::new(&config, &identity, store, shards, node_id)?);
    let cores = if config.pin_cores { core_affinity::get_core_ids().unwrap_or_default() } else { Vec::new() };
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut threads = Vec::with_capacity(shards);
    for (id, socks) in sockets.into_iter().enumerate() {
        let (shared, ready) = (shared.clone(), ready_tx.clone());
        let quic = (endpoint_config.clone(), quic_config.clone());
        let core = (!cores.is_empty()).then(|| cores[id % cores.len()]);
        let t = std::thread::Builder::new()
            .name(format!("magpie-shard-{id}"))
            .spawn(move || runtime::run_shard(id, shared, io, core, socks, quic, ready))?;
        threads.push(t);
    }
    drop(ready_tx);
    let mut engine = Engine { quic_addr, tcp_addr, cert_der: identity.cert_der, io, shards, shared, threads };
    for _ in 0..shards {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                engine.stop();
                return Err(e);
            }
            Err(_) => {
                engine.stop();
                return Err(std::io::Error::other("a shard thread died while starting"));
            }
        }
    }
    tracing::info!(shards, io = io.name(), quic = %quic_addr, tcp = %tcp_addr, "engine started");
    Ok(engine)
}

impl Engine {
    /// What this engine announces once ready (the binary prints it as a JSON line).
    pub fn ready(&self) -> Ready {
        Ready::new(&self.shared.config, self.quic_addr, self.tcp_addr, self.shards, self.io)
    }

    /// Stops accepting, closes every connection with `shutting_down`, flushes the store.
    pub fn shutdown(mut self) {
        self.stop();
    }

    /// Blocks until the engine stops (it stops only through [`Engine::shutdown`] or the process
    /// ending).
    pub fn wait(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    fn stop(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        runtime::stop_all(&self.shared);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.shared.store.flush_and_close();
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A random id for this node, created once and kept in the data directory.
fn node_id(dir: &std::path::Path) -> std::io::Result<u64> {
    let path = dir.join("node_id");
    if let Ok(s) = std::fs::read_to_string(&path) {
        if let Ok(id) = s.trim().parse() {
            return Ok(id);
        }
    }
    let id = rand::random::<u64>() >> 1;
    std::fs::write(&path, format!("{id}\n"))?;
    Ok(id)
}
