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
    /// PEM certificate chain (leaf first) for QUIC and HTTPS/WSS instead of the self-signed one.
    #[arg(long, env = "MAGPIE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert (PKCS#8, PKCS#1/RSA or SEC1/EC).
    #[arg(long, env = "MAGPIE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
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
    /// Also write the readiness JSON (the line printed on stdout) to this file, atomically (a
    /// temporary file renamed over it), once every shard accepts connections; removed again on a
    /// clean shutdown.
    #[arg(long, env = "MAGPIE_READY_FILE")]
    ready_file: Option<PathBuf>,
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
    (config.tls_cert, config.tls_key) = (args.tls_cert.clone(), args.tls_key.clone());
    config.quic_addr = args.quic.unwrap_or(args.listen);
    config.tcp_addr = args.tcp.unwrap_or(args.listen);
    config.shards = args.shards;
    config.io = args.io;
    config.durability = args.durability;
    config.pin_cores = !args.no_pin;
    config.idle_timeout = std::time::Duration::from_secs(args.idle_timeout.max(1));
    config.plaintext_ws = args.plaintext;
    config.web_dir = args.web_dir.clone();
    // One readable line for a bad TLS file or a busy port, not the Debug form of io::Error.
    let engine = magpie_engine::start(config).unwrap_or_else(|e| {
        eprintln!("magpie: cannot start: {e}");
        std::process::exit(1)
    });
    // `start` returned: every shard accepts connections. Machines read the JSON (stdout's only
    // line, and the ready file); people read the summary on stderr.
    let ready = engine.ready();
    if let Some(path) = &args.ready_file {
        ready.write_file(path).map_err(|e| std::io::Error::other(format!("writing the ready file {}: {e}", path.display())))?;
    }
    println!("{}", ready.to_json());
    eprintln!(
        "magpie {} serving, data in {} (durability {}), {} shards, io {}",
        ready.version,
        args.data_dir.display(),
        ready.durability,
        ready.shards,
        ready.io
    );
    let trust = match (&args.tls_cert, &ready.cert_der) {
        (Some(cert), _) => format!("certificate {}", cert.display()),
        (None, Some(der)) => format!("trust {}", der.display()),
        (None, None) => unreachable!("a self-signed engine announces its certificate"),
    };
    eprintln!("  QUIC       quic://{}  ({trust})", ready.quic);
    eprintln!("  WebSocket  {}", ready.ws);
    eprintln!("  Secure WS  wss://{}/ws  (same certificate; plaintext only from {})", ready.tcp, match args.plaintext {
        PlaintextPolicy::Loopback => "this host",
        PlaintextPolicy::Always => "anywhere",
        PlaintextPolicy::Never => "nowhere",
    });
    eprintln!("  Health     http://{}/healthz", ready.tcp);
    eprintln!("  Web app    http://{}/  (from {})", ready.tcp, args.web_dir.display());
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
    if let Some(path) = &args.ready_file {
        // A ready file left behind would announce an engine that is gone.
        let _ = std::fs::remove_file(path);
    }
    engine.shutdown();
    Ok(())
}
