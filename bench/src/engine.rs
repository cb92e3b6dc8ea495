//! The engine under test: the real `magpie` binary, started as a child process on a fresh data
//! directory with ephemeral ports, so that its CPU time is measured apart from the generator's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Engine {
    child: Child,
    pub pid: u32,
    pub quic_addr: SocketAddr,
    pub ws_addr: SocketAddr,
    pub cert_der: Vec<u8>,
    pub banner: String,
    /// Device tokens of the seeded accounts (see `seed.rs`), indexed like the clients.
    pub tokens: Vec<String>,
    /// How long seeding the accounts took.
    pub seed_s: f64,
    data_dir: PathBuf,
    keep_data: bool,
}

pub struct EngineOptions<'a> {
    pub binary: &'a Path,
    pub durability: &'a str,
    pub shards: usize,
    pub io: &'a str,
    pub keep_data: bool,
    /// Accounts to write into the store before the engine starts (0: clients register).
    pub seed_accounts: usize,
}

/// What the engine announces once every shard accepts connections: the only line it prints on
/// stdout, one JSON object (docs/OPERATIONS.md, "Readiness"). Returns the QUIC address, the
/// WebSocket/TCP address, the certificate path and a one-line summary for the report.
fn parse_ready(line: &str) -> Option<(SocketAddr, SocketAddr, PathBuf, String)> {
    let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
    if v["event"] != "ready" {
        return None;
    }
    let addr = |key: &str| v[key].as_str()?.parse::<SocketAddr>().ok();
    let text = |key: &str| v[key].as_str().unwrap_or("?").to_string();
    let banner = format!(
        "magpie {} serving, data in {} (durability {}), {} shards, io {}",
        text("version"),
        text("data_dir"),
        text("durability"),
        v["shards"],
        text("io")
    );
    Some((addr("quic")?, addr("tcp")?, PathBuf::from(v["cert_der"].as_str()?), banner))
}

impl Engine {
    pub fn start(opts: &EngineOptions<'_>) -> Result<Engine, String> {
        if !opts.binary.is_file() {
            return Err(format!(
                "engine binary {} not found: build it with `cargo build --release --bin magpie` or pass --engine",
                opts.binary.display()
            ));
        }
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let data_dir = std::env::temp_dir().join(format!("magpie-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&data_dir).map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
        // The engine keeps its store in `<data-dir>/db`; its data dir is `data_dir/db`.
        let seed_start = Instant::now();
        let tokens = if opts.seed_accounts > 0 { crate::seed::seed_accounts(&data_dir.join("db/db"), opts.seed_accounts)? } else { Vec::new() };
        let seed_s = seed_start.elapsed().as_secs_f64();
        let log_path = data_dir.join("engine.log");
        let log = std::fs::File::create(&log_path).map_err(|e| format!("creating {}: {e}", log_path.display()))?;
        let mut child = Command::new(opts.binary)
            .arg("--data-dir")
            .arg(data_dir.join("db"))
            .args(["--quic", "127.0.0.1:0", "--tcp", "127.0.0.1:0"])
            .args(["--durability", opts.durability])
            .args(["--shards", &opts.shards.to_string()])
            .args(["--io", opts.io])
            // The generator's raw connections send no keep-alive pings while thousands of others
            // are being set up (minutes for 100,000): keep the engine from reaping them.
            .args(["--idle-timeout", "900"])
            .env("MAGPIE_LOG", std::env::var("MAGPIE_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("starting {}: {e}", opts.binary.display()))?;
        let pid = child.id();
        let rx = crate::sys::stdout_lines(child.stdout.take().expect("piped stdout"));
        // The first line is the readiness line: the engine prints nothing else on stdout.
        let line = rx.recv_timeout(Duration::from_secs(60));
        let Some((quic, ws, cert_path, banner)) = line.as_deref().ok().and_then(parse_ready) else {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(match line {
                Ok(line) => format!("engine announced something other than readiness: {line}\nits log:\n{log}"),
                Err(_) => format!("engine did not announce readiness; its log:\n{log}"),
            });
        };
        let cert_der = std::fs::read(&cert_path).map_err(|e| format!("reading {}: {e}", cert_path.display()))?;
        Ok(Engine {
            child,
            pid,
            quic_addr: quic,
            ws_addr: ws,
            cert_der,
            banner,
            tokens,
            seed_s,
            data_dir,
            keep_data: opts.keep_data,
        })
    }

    pub fn cpu_seconds(&self) -> f64 {
        crate::sys::cpu_seconds(&self.pid.to_string()).unwrap_or(f64::NAN)
    }

    pub fn rss_kib(&self) -> u64 {
        crate::sys::rss_kib(&self.pid.to_string()).unwrap_or(0)
    }

    /// The tail of the engine's log (warnings and errors), for failure reports.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.data_dir.join("engine.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM (via `kill`), then wait up to 10 s before killing it outright; the data directory
    /// is removed when `self` drops.
    pub fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Without `stop` (an error path) the engine is killed: never leave it running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if self.keep_data {
            eprintln!("engine data and log kept in {}", self.data_dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}
