//! Engine configuration. Every field has a default that starts a working single-node engine on
//! localhost, so `Config::new(data_dir)` is all a test needs.

use magpie_storage::Durability;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Which I/O driver the shards use for TCP (WebSocket/HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoMode {
    /// Detect io_uring (and log it), serve with epoll: measured faster here (ARCHITECTURE.md).
    Auto,
    /// Force epoll (tokio's reactor).
    Epoll,
    /// Require io_uring; starting fails if the kernel refuses it.
    IoUring,
}

impl std::str::FromStr for IoMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(IoMode::Auto),
            "epoll" => Ok(IoMode::Epoll),
            "uring" | "io_uring" | "io-uring" => Ok(IoMode::IoUring),
            _ => Err(format!("unknown io mode {s:?} (auto, epoll, uring)")),
        }
    }
}

/// Where the TCP port accepts plaintext (`ws://`, `http://` metrics). TLS is always accepted on
/// the same port; `/healthz` is always served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaintextPolicy {
    /// From loopback peers only (the default): TLS outside this host.
    Loopback,
    /// From anyone (behind a TLS-terminating proxy).
    Always,
    /// From no one.
    Never,
}

impl std::str::FromStr for PlaintextPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "loopback" => Ok(PlaintextPolicy::Loopback),
            "always" => Ok(PlaintextPolicy::Always),
            "never" => Ok(PlaintextPolicy::Never),
            _ => Err(format!("unknown plaintext policy {s:?} (loopback, always, never)")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// RocksDB, the TLS certificate and the node id live here.
    pub data_dir: PathBuf,
    /// The operator's PEM certificate chain (leaf first) and private key, served on QUIC and on
    /// the TCP port instead of the self-signed certificate. Both or neither.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// UDP address for QUIC. Port 0 picks a free port (shared by all shards).
    pub quic_addr: SocketAddr,
    /// TCP address for WebSocket (`/ws`) and HTTP (`/healthz`). Port 0 picks a free port.
    pub tcp_addr: SocketAddr,
    /// Number of shards; 0 = one per available core.
    pub shards: usize,
    /// Pin each shard thread to a core.
    pub pin_cores: bool,
    pub io: IoMode,
    pub durability: Durability,
    /// Per-connection request rate (requests per second, sustained) and burst.
    pub rate_per_sec: u32,
    pub rate_burst: u32,
    /// Frames queued towards one connection before live delivery falls back to reading the log
    /// (and replies that do not fit close the connection with `overloaded`).
    pub outbound_queue: usize,
    /// How long a connection may stay silent before the server closes it.
    pub idle_timeout: Duration,
    /// argon2id memory cost in KiB (`magpie_storage::credentials`; tests lower it to keep
    /// registration fast).
    pub argon2_memory_kib: u32,
    /// Where plaintext WebSocket and metrics are served.
    pub plaintext_ws: PlaintextPolicy,
    /// The built web app (`web/dist`) served on the TCP port; a missing directory only makes `/`
    /// answer 404.
    pub web_dir: PathBuf,
}

impl Config {
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            tls_cert: None,
            tls_key: None,
            quic_addr: "127.0.0.1:7600".parse().unwrap(),
            tcp_addr: "127.0.0.1:7600".parse().unwrap(),
            shards: 0,
            pin_cores: true,
            io: IoMode::Auto,
            durability: Durability::PowerLoss,
            rate_per_sec: 2000,
            rate_burst: 4000,
            outbound_queue: 1024,
            idle_timeout: Duration::from_secs(120),
            argon2_memory_kib: magpie_storage::credentials::DEFAULT_MEMORY_KIB,
            plaintext_ws: PlaintextPolicy::Loopback,
            web_dir: PathBuf::from("web/dist"),
        }
    }

    /// Both listeners on 127.0.0.1 with ephemeral ports: what tests use.
    pub fn ephemeral(data_dir: impl Into<PathBuf>) -> Config {
        let mut c = Config::new(data_dir);
        c.quic_addr = "127.0.0.1:0".parse().unwrap();
        c.tcp_addr = "127.0.0.1:0".parse().unwrap();
        c
    }
}
