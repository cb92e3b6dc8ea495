//! `magpie`: runs the engine until Ctrl-C or SIGTERM.

use clap::Parser;
use magpie_engine::{Config, Durability, IoMode, PlaintextPolicy};
use std::net::SocketAddr;
use std::path::PathBuf;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Magpie chat engine.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Data directory: the RocksDB store, the TLS certificate, the node id.
    #[arg(long, env = "MAGPIE_DATA", default_value = "./magpie-data")]
    data_dir: PathBuf,
    /// Address for both QUIC (UDP) and WebSocket/HTTP (TCP).
    #[arg(long, env = "MAGPIE_LISTEN", default_value = "127.0.0.1:7600")]
    listen: SocketAddr,
    /// Override the QUIC (UDP) address.
    #[arg(long)]
    quic: Option<SocketAddr>,
    /// Override the WebSocket/HTTP (TCP) address.
    #[arg(long)]
    tcp: Option<SocketAddr>,
    /// Number of shards (0 = one per core).
    #[arg(long, env = "MAGPIE_SHARDS", default_value_t = 0)]
    shards: usize,
    /// TCP I/O driver: auto (epoll, measured faster; see docs/ARCHITECTURE.md), epoll or uring.
    /// MAGPIE_IO overrides auto.
    #[arg(long, default_value = "auto")]
    io: IoMode,
    /// power-loss (fsync every group commit) or process-crash (write the WAL, no fsync).
    #[arg(long, env = "MAGPIE_DURABILITY", default_value = "power-loss", value_parser = parse_durability)]
    durability: Durability,
    /// Where plaintext ws:// and http:// metrics are served: loopback (peers on this host),
    /// always (behind a TLS proxy) or never. TLS (wss://) is always served on the same port.
    #[arg(long, env = "MAGPIE_PLAINTEXT", default_value = "loopback")]
    plaintext: PlaintextPolicy,
    /// Seconds a client connection may go without sending a frame before the server closes it
    /// (also QUIC's idle timeout). Clients ping well within it (client-lib: every 15 s).
    #[arg(long, env = "MAGPIE_IDLE_TIMEOUT", default_value_t = 120)]
    idle_timeout: u64,
    /// The built web app served at http(s)://TCP/ (relative to the working directory).
    #[arg(long, env = "MAGPIE_WEB_DIR", default_value = "web/dist")]
    web_dir: PathBuf,
    /// Do not pin shard threads to cores.
    #[arg(long)]
    no_pin: bool,
    /// Print whether this kernel allows io_uring ("io_uring" or "epoll-only") and exit.
    #[arg(long)]
    probe_io: bool,
}

fn parse_durability(s: &str) -> Result<Durability, String> {
    match s {
        "power-loss" => Ok(Durability::PowerLoss),
        "process-crash" => Ok(Durability::ProcessCrash),
        _ => Err(format!("unknown durability {s:?} (power-loss, process-crash)")),
    }
}

fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MAGPIE_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if args.probe_io {
        println!("{}", if magpie_engine::io_uring_available() { "io_uring" } else { "epoll-only" });
        return Ok(());
    }
    let mut config = Config::new(&args.data_dir);
    config.quic_addr = args.quic.unwrap_or(args.listen);
    config.tcp_addr = args.tcp.unwrap_or(args.listen);
    config.shards = args.shards;
    config.io = args.io;
    config.durability = args.durability;
    config.pin_cores = !args.no_pin;
    config.idle_timeout = std::time::Duration::from_secs(args.idle_timeout.max(1));
    config.plaintext_ws = args.plaintext;
    config.web_dir = args.web_dir.clone();
    let engine = magpie_engine::start(config)?;
    let durability = match args.durability {
        Durability::PowerLoss => "power-loss",
        Durability::ProcessCrash => "process-crash",
    };
    println!(
        "magpie {} serving, data in {} (durability {durability}), {} shards, io {}",
        env!("CARGO_PKG_VERSION"),
        args.data_dir.display(),
        engine.shards,
        engine.io.name()
    );
    println!("  QUIC       quic://{}  (trust {})", engine.quic_addr, args.data_dir.join("tls/cert.der").display());
    println!("  WebSocket  ws://{}/ws", engine.tcp_addr);
    println!("  Secure WS  wss://{}/ws  (same certificate; plaintext only from {})", engine.tcp_addr, match args.plaintext {
        PlaintextPolicy::Loopback => "this host",
        PlaintextPolicy::Always => "anywhere",
        PlaintextPolicy::Never => "nowhere",
    });
    println!("  Health     http://{}/healthz", engine.tcp_addr);
    println!("  Web app    http://{}/  (from {})", engine.tcp_addr, args.web_dir.display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        std::io::Result::Ok(())
    })?;
    eprintln!("magpie: shutting down");
    engine.shutdown();
    Ok(())
}
