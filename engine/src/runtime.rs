//! Starting shards: sockets shared with SO_REUSEPORT, one pinned thread per shard, and the
//! choice between io_uring and epoll.

use crate::config::IoMode;
use crate::crossing::ShardMsg;
use crate::shard::Shard;
use crate::shared::Shared;
use socket2::{Domain, Protocol, Socket, Type};
use std::net::SocketAddr;
use std::sync::Arc;

/// The I/O driver in use for TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Io {
    Epoll,
    IoUring,
}

impl Io {
    pub fn name(self) -> &'static str {
        match self {
            Io::Epoll => "epoll",
            Io::IoUring => "io_uring",
        }
    }
}

/// Resolves the configured mode against what the kernel allows. `MAGPIE_IO=epoll` (or `uring`)
/// in the environment overrides `Auto`, so a test run can force either path.
///
/// `Auto` detects io_uring and logs whether it is available, but serves TCP with epoll: on this
/// project's reference machine tokio-uring measured about half the round trips per second of
/// tokio's epoll reactor (docs/ARCHITECTURE.md, "Runtime choice"). `IoUring` selects it anyway.
pub fn choose_io(mode: IoMode) -> std::io::Result<Io> {
    let mode = match (mode, std::env::var("MAGPIE_IO").ok().filter(|v| !v.is_empty())) {
        (IoMode::Auto, Some(v)) => v.parse().map_err(std::io::Error::other)?,
        (m, _) => m,
    };
    match mode {
        IoMode::Epoll => Ok(Io::Epoll),
        IoMode::IoUring => {
            crate::transport::uring::available().map_err(|e| std::io::Error::other(format!("io_uring unavailable: {e}")))?;
            Ok(Io::IoUring)
        }
        IoMode::Auto => {
            match crate::transport::uring::available() {
                Ok(()) => tracing::info!("io_uring is available; serving TCP with epoll, measured faster (--io uring to override)"),
                Err(e) => tracing::info!(reason = %e, "io_uring is unavailable; serving TCP with epoll"),
            }
            Ok(Io::Epoll)
        }
    }
}

/// Whether this kernel allows io_uring at all.
pub fn io_uring_available() -> bool {
    crate::transport::uring::available().is_ok()
}

pub fn udp_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_port(true)?;
    // QUIC bursts: a reconnect storm sends thousands of 1,200-byte Initial packets at once, and
    // every one dropped here costs its client a retransmission timeout (1 s, then 2 s, 4 s, …).
    // Ask for 32 MiB; the kernel caps it at net.core.rmem_max (see docs/OPERATIONS.md).
    let _ = s.set_recv_buffer_size(32 << 20);
    let _ = s.set_send_buffer_size(4 << 20);
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    Ok(s.into())
}

pub fn tcp_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(4096)?;
    Ok(s.into())
}

/// Sockets for every shard on the same ports; port 0 becomes the port the first one got.
pub fn bind_all(shards: usize, quic: SocketAddr, tcp: SocketAddr) -> std::io::Result<Vec<(std::net::UdpSocket, std::net::TcpListener)>> {
    let mut out = Vec::with_capacity(shards);
    let (mut quic, mut tcp) = (quic, tcp);
    for _ in 0..shards {
        let u = udp_socket(quic)?;
        let t = tcp_listener(tcp)?;
        quic = u.local_addr()?;
        tcp = t.local_addr()?;
        out.push((u, t));
    }
    Ok(out)
}

/// Body of a shard thread.
pub fn run_shard(
    id: usize,
    shared: Arc<Shared>,
    io: Io,
    core: Option<core_affinity::CoreId>,
    sockets: (std::net::UdpSocket, std::net::TcpListener),
    quic_config: (quinn::EndpointConfig, quinn::ServerConfig),
    ready: std::sync::mpsc::Sender<std::io::Result<()>>,
) {
    if let Some(core) = core {
        if !core_affinity::set_for_current(core) {
            tracing::warn!(shard = id, "could not pin to core {}", core.id);
        }
    }
    let main = shard_main(id, shared, io, sockets, quic_config, ready);
    match io {
        Io::Epoll => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
            tokio::task::LocalSet::new().block_on(&rt, main);
        }
        Io::IoUring => {
            let rt = tokio_uring::Runtime::new(tokio_uring::builder().entries(1024)).expect("io_uring runtime");
            rt.block_on(main);
        }
    }
}

async fn shard_main(
    id: usize,
    shared: Arc<Shared>,
    io: Io,
    (udp, tcp): (std::net::UdpSocket, std::net::TcpListener),
    (endpoint_config, quic_config): (quinn::EndpointConfig, quinn::ServerConfig),
    ready: std::sync::mpsc::Sender<std::io::Result<()>>,
) {
    let shard = Shard::new(id, shared);
    let endpoint = match quinn::Endpoint::new(
        endpoint_config,
        Some(quic_config),
        udp,
        Arc::new(quinn::TokioRuntime),
    ) {
        Ok(e) => e,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    tokio::task::spawn_local(crate::transport::quic::serve(shard.clone(), endpoint.clone()));
    match io {
        Io::Epoll => {
            let listener = match tokio::net::TcpListener::from_std(tcp) {
                Ok(l) => l,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            tokio::task::spawn_local(serve_tcp_epoll(shard.clone(), listener));
        }
        Io::IoUring => {
            tokio::task::spawn_local(crate::transport::uring::serve_tcp(shard.clone(), tcp));
        }
    }
    let _ = ready.send(Ok(()));
    tokio::task::spawn_local(crate::presence_io::run(shard.clone()));
    crate::worker::run(shard.clone()).await;
    // Shutting down: tell every client why, give the writers a moment, then stop.
    let conns: Vec<_> = shard.conns.borrow().values().cloned().collect();
    for c in conns {
        c.close(magpie_wire::ErrorCode::ShuttingDown, "server shutting down");
    }
    // Writers flush for up to a second, then QUIC waits up to 500 ms for the peer to read.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(1600);
    while shard.running_conns.get() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    endpoint.close(0u32.into(), b"shutting down");
}

async fn serve_tcp_epoll(shard: std::rc::Rc<Shard>, listener: tokio::net::TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                tokio::task::spawn_local(crate::transport::http::accept(shard.clone(), stream, peer));
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// Asks every shard to stop.
pub fn stop_all(shared: &Shared) {
    for m in &shared.mailboxes {
        m.push_blocking(ShardMsg::Shutdown);
    }
}
