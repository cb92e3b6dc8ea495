//! Peers measured side by side with the engine (docs/BENCHMARKS.md, Peers): a Socket.IO server
//! (Node.js, room broadcast without persistence, `bench/peers/socketio/server.js`) and the no-logic
//! WebSocket broadcast ceiling on the engine's runtime (`magpie-ceiling`).
//!
//! The method is magpie-bench's, literally: both peers are one [`open_loop::Peer`] (`WsPeer`)
//! driven by the same scenario code as the engine (`open_loop::run_load`: the open-loop sender,
//! latency from the intended send time, the drain). The server is a child process whose CPU time
//! is read from `/proc`. The open-loop payload is carried as a Socket.IO `msg` event or as one
//! binary WebSocket frame. The exactly-once check is per recipient and per sender: one bit per `k`.
//!
//! `--compare` runs magpie (through the ordinary path), Socket.IO and the ceiling back to back
//! with the same parameters and writes one JSON with the three reports and the ratios.

mod ceiling;
mod socketio;

use crate::load::Scenario;
use crate::load::join_all;
use crate::open_loop::{self, Incoming, LoadPlan, Payload, Peer, Run};
use crate::report::{self, round3};
use crate::sys;
use crate::Args;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use magpie_bench_report::{
    Compare, CompareEntry, CompareResults, Config, DesignTargets, EngineOver, LatencySummary, Ratios, Report, SideBySide, Targets,
};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// What the load generator drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The magpie engine (the default path of magpie-bench).
    Magpie,
    /// The Socket.IO peer: Node.js, room broadcast without persistence (bench/peers/socketio).
    Socketio,
    /// The no-logic WebSocket broadcast ceiling on the engine's runtime (magpie-ceiling); fanout only.
    Ceiling,
}

/// The peer-related flags of magpie-bench.
#[derive(clap::Args, Debug, Clone)]
pub struct PeerArgs {
    /// What to load: the engine, the Socket.IO peer or the no-logic broadcast ceiling. The peers
    /// run --scenario fanout (one room) or one-to-one (rooms of 2; Socket.IO only) over WebSocket.
    #[arg(long, value_enum, default_value = "magpie")]
    pub target: Target,
    /// Run magpie (over --transport; ws is like for like), Socket.IO and the ceiling (fanout only)
    /// back to back with the same parameters; --out gets one JSON with every report and the ratios.
    #[arg(long)]
    pub compare: bool,
    /// Node.js for the Socket.IO peer.
    #[arg(long, env = "MAGPIE_NODE", default_value = "node")]
    pub node: PathBuf,
    /// The Socket.IO peer's script (default: bench/peers/socketio/server.js of this source tree;
    /// run `npm ci` in its folder first).
    #[arg(long, env = "MAGPIE_SOCKETIO_SERVER")]
    pub socketio_server: Option<PathBuf>,
    /// The ceiling server (default: `magpie-ceiling` beside this binary).
    #[arg(long, env = "MAGPIE_CEILING_BIN")]
    pub ceiling_bin: Option<PathBuf>,
    /// The ceiling's WebSocket write buffer in bytes: 0 (the engine's setting) writes each frame
    /// with its own syscall; e.g. 65536 lets a connection's queued frames go out together.
    #[arg(long, default_value_t = 0)]
    pub ceiling_write_buffer: usize,
}

impl PeerArgs {
    /// Whether this invocation is for the peers (otherwise magpie-bench runs as before).
    pub fn active(&self) -> bool {
        self.compare || self.target != Target::Magpie
    }
}

/// Runs `--target socketio|ceiling` or `--compare`; returns the process exit code.
pub fn main(args: Args) -> i32 {
    let result = if args.peers.compare {
        compare(args)
    } else {
        run_peer(&args, args.peers.target).and_then(|(report, ok)| {
            report::write_json(args.out.as_ref(), &report)?;
            Ok(ok)
        })
    };
    match result {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("magpie-bench: {e}");
            2
        }
    }
}

// ---------------------------------------------------------------------------- the server process

/// A peer server as a child process: its address from the line it prints, its CPU from /proc.
struct Server {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    banner: String,
    log_path: PathBuf,
}

impl Server {
    fn start(mut cmd: Command, what: &str) -> Result<Server, String> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let log_path = std::env::temp_dir().join(format!("magpie-bench-{what}-{}-{nanos}.log", std::process::id()));
        let log = std::fs::File::create(&log_path).map_err(|e| format!("creating {}: {e}", log_path.display()))?;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("starting the {what} server {cmd:?}: {e}"))?;
        let pid = child.id();
        let rx = sys::stdout_lines(child.stdout.take().expect("piped stdout"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(addr) = listening_addr(&line) {
                        return Ok(Server { child, pid, addr, banner: line, log_path });
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    let _ = std::fs::remove_file(&log_path);
                    return Err(format!("the {what} server did not print its address; its stderr:\n{log}"));
                }
            }
        }
    }

    fn cpu_seconds(&self) -> f64 {
        sys::cpu_seconds(&self.pid.to_string()).unwrap_or(f64::NAN)
    }

    fn rss_kib(&self) -> u64 {
        sys::rss_kib(&self.pid.to_string()).unwrap_or(0)
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGTERM, then up to 5 s before SIGKILL.
    fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Ok(None) = self.child.try_wait() {
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log_path);
    }
}

/// The address in a `... listening on ws://ADDR/...` line.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let at = line.find("listening on ws://")? + "listening on ws://".len();
    let rest = &line[at..];
    let end = rest.find(|c: char| c == '/' || c.is_whitespace()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn socketio_server(args: &Args) -> Result<Server, String> {
    let script = args
        .peers
        .socketio_server
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/socketio/server.js"));
    let dir = script.parent().unwrap_or(std::path::Path::new("."));
    if !script.is_file() {
        return Err(format!("Socket.IO server {} not found (--socketio-server)", script.display()));
    }
    if !dir.join("node_modules/socket.io").is_dir() {
        return Err(format!("socket.io is not installed: run `npm ci` in {}", dir.display()));
    }
    let mut cmd = Command::new(&args.peers.node);
    cmd.arg(&script).arg("0").arg("127.0.0.1").current_dir(dir);
    Server::start(cmd, "socketio")
}

fn ceiling_server(args: &Args) -> Result<Server, String> {
    let bin = args.peers.ceiling_bin.clone().unwrap_or_else(|| {
        let exe = std::env::current_exe().unwrap_or_default();
        exe.parent().map(|d| d.join("magpie-ceiling")).unwrap_or_else(|| PathBuf::from("magpie-ceiling"))
    });
    if !bin.is_file() {
        return Err(format!(
            "ceiling server {} not found: build it with `cargo build --release -p magpie-bench` or pass --ceiling-bin",
            bin.display()
        ));
    }
    let mut cmd = Command::new(&bin);
    // As many threads as the engine has shards.
    cmd.args(["--listen", "127.0.0.1:0", "--threads", &args.shards.to_string()]);
    cmd.args(["--write-buffer-size", &args.peers.ceiling_write_buffer.to_string()]);
    Server::start(cmd, "ceiling")
}

// ---------------------------------------------------------------------------- plan and state

type Ws = WebSocketStream<TcpStream>;
type Sink = Rc<tokio::sync::Mutex<SplitSink<Ws, Message>>>;

/// A received WebSocket message, as the protocol sees it.
pub enum Decoded<'a> {
    /// A bench message's payload.
    Payload(&'a str),
    /// Something to send back at once (an Engine.IO pong).
    Reply(Message),
    /// The server ended the session; the code names it in the errors.
    Closed(&'static str),
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    SocketIo,
    Ceiling,
}

/// A peer server over WebSocket, Socket.IO or the ceiling, as an [`open_loop::Peer`]: a client
/// connects and joins its room; a message is one `msg` event or binary frame holding the payload;
/// nothing is acknowledged, so a message is owed to the sender's room once sent, and a delivery
/// is ordered by its sender's k.
struct WsPeer {
    proto: Proto,
    scenario: Scenario,
    source_ips: Vec<IpAddr>,
    url: String,
    addr: SocketAddr,
    /// fanout: clients 0..senders send; one-to-one: every client does.
    senders: usize,
    op_timeout: Duration,
}

impl WsPeer {
    fn room_name(&self, client: usize) -> String {
        format!("r{}", self.room(client))
    }

    /// The senders in `client`'s room.
    fn room_senders(&self, client: usize) -> std::ops::Range<usize> {
        match self.scenario {
            Scenario::OneToOne => (client / 2 * 2)..(client / 2 * 2 + 2),
            _ => 0..self.senders,
        }
    }

    async fn connect(&self, client: usize) -> Result<Ws, String> {
        let ip = self.source_ips[client % self.source_ips.len()];
        let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
        socket.bind(SocketAddr::new(ip, 0)).map_err(|e| format!("bind {ip}: {e}"))?;
        let tcp = socket.connect(self.addr).await.map_err(|e| format!("connect: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let (mut ws, _) = tokio_tungstenite::client_async_with_config(self.url.as_str(), tcp, Some(client_config()))
            .await
            .map_err(|e| format!("WebSocket handshake: {e}"))?;
        match self.proto {
            Proto::SocketIo => socketio::handshake(&mut ws, &self.room_name(client)).await?,
            Proto::Ceiling => ceiling::handshake(&mut ws).await?,
        }
        Ok(ws)
    }
}

fn client_config() -> WebSocketConfig {
    // As client-lib's: small read buffer, every message written out at once.
    WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0)
}

/// A client's receiving half, with the sink for the replies the protocol owes (Engine.IO pongs).
struct WsRx {
    stream: SplitStream<Ws>,
    sink: Sink,
    me: usize,
}

impl Peer for WsPeer {
    type Conn = Ws;
    type Tx = Sink;
    type Rx = WsRx;
    const SETUP_STEPS: usize = 1;
    const ACKS: bool = false;

    async fn setup(&self, run: &Run, _plan: &LoadPlan, _step: usize, _w: usize, mine: &[usize], conns: &mut Vec<(usize, Ws)>) -> Result<(), String> {
        let gate = Semaphore::new(64);
        let tasks = mine.iter().map(|&client| {
            let gate = &gate;
            async move {
                let _permit = gate.acquire().await.expect("never closed");
                match timeout(self.op_timeout, self.connect(client)).await {
                    Ok(Ok(ws)) => Some((client, ws)),
                    Ok(Err(e)) => {
                        run.fail(format!("client {client}: {e}"));
                        None
                    }
                    Err(_) => {
                        run.fail(format!("client {client}: connecting timed out"));
                        None
                    }
                }
            }
        });
        conns.extend(join_all(tasks).await.into_iter().flatten());
        Ok(())
    }

    fn room(&self, client: usize) -> u64 {
        match self.scenario {
            Scenario::OneToOne => (client / 2) as u64,
            _ => 0,
        }
    }

    fn split(&self, client: usize, ws: Ws) -> (Sink, WsRx) {
        let (sink, stream) = ws.split();
        let sink: Sink = Rc::new(tokio::sync::Mutex::new(sink));
        (sink.clone(), WsRx { stream, sink, me: client })
    }

    async fn send(&self, sink: &mut Sink, payload: &str) -> Result<(), String> {
        let msg = match self.proto {
            Proto::SocketIo => socketio::encode(payload),
            Proto::Ceiling => ceiling::encode(payload),
        };
        sink.lock().await.send(msg).await.map_err(|e| e.to_string())
    }

    async fn recv(&self, rx: &mut WsRx) -> Incoming {
        loop {
            let msg = match rx.stream.next().await {
                Some(Ok(m)) => m,
                Some(Err(e)) => return Incoming::Lost(e.to_string()),
                None => return Incoming::Lost("closed".into()),
            };
            let decoded = match self.proto {
                Proto::SocketIo => socketio::decode(&msg),
                Proto::Ceiling => ceiling::decode(&msg),
            };
            let payload = match decoded {
                Decoded::Payload(p) => p,
                Decoded::Reply(m) => match rx.sink.lock().await.send(m).await {
                    Ok(()) => continue,
                    Err(e) => return Incoming::Bad(format!("transport_send: {}", e.to_string().chars().take(80).collect::<String>())),
                },
                Decoded::Closed(code) => return Incoming::Closed(format!("close_{code}")),
                Decoded::Other => continue,
            };
            let Some(p) = Payload::parse(payload) else { return Incoming::Bad("bad_payload".into()) };
            if !self.room_senders(rx.me).contains(&(p.sender as usize)) {
                return Incoming::Bad("foreign_message".into());
            }
            return Incoming::Delivery { payload: p, stream: p.sender, order: p.k, echo: p.sender as usize == rx.me };
        }
    }
}

/// Runs one peer target with magpie-bench's parameters; the report and whether it was clean.
fn run_peer(args: &Args, target: Target) -> Result<(Report, bool), String> {
    let proto = match target {
        Target::Socketio => Proto::SocketIo,
        Target::Ceiling => Proto::Ceiling,
        Target::Magpie => return Err("run_peer is for the peers".into()),
    };
    let quick = args.quick;
    let scenario = args.scenario;
    if !matches!(scenario, Scenario::OneToOne | Scenario::Fanout) {
        return Err(format!("the peers run --scenario fanout or one-to-one, not {}", scenario.name()));
    }
    if scenario == Scenario::OneToOne && proto == Proto::Ceiling {
        return Err("the ceiling broadcasts to every connection: it applies to --scenario fanout only".into());
    }
    // The engine's parameters, so that the same flags mean the same load.
    let params = crate::LoadParams::from_args(args)?;
    let crate::LoadParams { clients, room_size: group, rate, duration, warmup, workers, .. } = params;
    let senders = params.senders.len();
    let source_ips = crate::source_ips(args);
    let nofile = crate::check_nofile(clients, true)?;
    let load_before = sys::load_average().unwrap_or(f64::NAN);
    let server = match proto {
        Proto::SocketIo => socketio_server(args)?,
        Proto::Ceiling => ceiling_server(args)?,
    };
    let server_threads = match proto {
        Proto::SocketIo => 1,
        Proto::Ceiling => if args.shards == 0 { sys::cores() } else { args.shards },
    };
    let url = match proto {
        Proto::SocketIo => socketio::url(server.addr),
        Proto::Ceiling => ceiling::url(server.addr),
    };
    eprintln!(
        "magpie-bench: {} on {} — pid {} ({}), {clients} clients, {rate} msg/s for {duration} s",
        scenario.name(),
        target_name(target),
        server.pid,
        server.banner
    );
    let peer = WsPeer { proto, scenario, source_ips: source_ips.clone(), url, addr: server.addr, senders, op_timeout: Duration::from_secs(60) };
    let plan = params.plan(args.msg_size);
    let outcome = open_loop::run_load(peer, plan, &|| server.cpu_seconds(), Duration::from_secs_f64(args.drain_timeout), || async {})?;
    let server_rss = server.rss_kib();
    let failures = outcome.shared.run.failures();
    if !failures.is_empty() {
        let tail = server.log_tail();
        server.stop();
        return Err(format!("setup failed:\n  {}\nserver log tail:\n{tail}", failures.join("\n  ")));
    }
    let banner = server.banner.clone();
    server.stop();
    let load = outcome.section(rate, duration, server_rss);
    let (exactly_once, error_total, drained) = (load.delivery_check.exactly_once, load.errors.total, load.drained);
    let config = Config {
        clients,
        rooms: Some(match scenario {
            Scenario::OneToOne => clients / 2,
            _ => 1,
        }),
        group: Some(group as u64),
        senders: Some(senders),
        rate: Some(rate),
        duration_s: Some(duration),
        warmup_s: Some(warmup),
        msg_size: Some(args.msg_size),
        server_threads: Some(server_threads),
        workers,
        source_ips: Some(source_ips.len()),
        ..Config::default()
    };
    let report = Report {
        scenario: scenario.name().into(),
        target: target_name(target).into(),
        transport: "ws".into(),
        quick,
        config,
        machine: report::machine(load_before, nofile),
        server: banner,
        setup_s: round3(outcome.timing.setup_s),
        load: Some(load),
        ..Report::default()
    };
    report::print_load(&report);
    let ok = error_total == 0 && exactly_once && drained;
    Ok((report, ok))
}

/// The target's name in the reports (`magpie`, `socketio`, `ceiling`).
fn target_name(t: Target) -> &'static str {
    match t {
        Target::Magpie => "magpie",
        Target::Socketio => "socketio",
        Target::Ceiling => "ceiling",
    }
}

// ---------------------------------------------------------------------------- compare

/// Runs magpie, Socket.IO and (fanout only) the ceiling back to back with the same parameters.
fn compare(args: Args) -> Result<bool, String> {
    let load_before = sys::load_average().unwrap_or(f64::NAN);
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let mut results = BTreeMap::new();
    let mut all_ok = true;
    let mut record_result = |name: &str, r: Result<(Report, bool), String>| match r {
        Ok((report, ok)) => {
            all_ok &= ok;
            results.insert(name.to_owned(), CompareEntry::Report(Box::new(report)));
        }
        Err(e) => {
            eprintln!("magpie-bench: {name}: {e}");
            all_ok = false;
            results.insert(name.to_owned(), CompareEntry::Failed { error: e });
        }
    };
    // magpie, through magpie-bench's own path.
    record_result("magpie", crate::run_load(&args));
    record_result("socketio", run_peer(&args, Target::Socketio));
    if args.scenario == Scenario::Fanout {
        record_result("ceiling", run_peer(&args, Target::Ceiling));
    }

    let load = |name: &str| match results.get(name) {
        Some(CompareEntry::Report(r)) => r.load.as_ref(),
        _ => None,
    };
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() && b.is_finite() => Some((a / b * 1000.0).round() / 1000.0),
        _ => None,
    };
    let dps = |n: &str| load(n).and_then(|l| l.deliveries_per_s);
    let per_cpu = |n: &str| load(n).and_then(|l| l.cpu.server.deliveries_per_cpu_s);
    let engine_over = |get: &dyn Fn(&str) -> Option<f64>| EngineOver {
        engine_over_socketio: ratio(get("magpie"), get("socketio")),
        engine_over_ceiling: ratio(get("magpie"), get("ceiling")),
    };
    let side = |q: fn(&LatencySummary) -> f64| {
        let p = |n: &str| load(n).map(|l| q(&l.latency_us.deliver));
        Targets { magpie: p("magpie"), socketio: p("socketio"), ceiling: p("ceiling") }
    };
    let out = Compare {
        compare: true,
        scenario: args.scenario.name().into(),
        magpie_transport: crate::transport_name(args.transport).into(),
        quick: args.quick,
        started_unix_s: Some(started),
        machine: report::machine(load_before, sys::raise_nofile_limit()),
        ratios: Ratios { deliveries_per_s: engine_over(&dps), deliveries_per_server_cpu_s: engine_over(&per_cpu) },
        deliver_latency_us: SideBySide { p50: side(|l| l.p50_us), p99: side(|l| l.p99_us), p999: side(|l| l.p999_us) },
        design_targets: DesignTargets { engine_over_ceiling_at_least: 0.7, engine_over_socketio_per_cpu_s_at_least: 10.0 },
        results: CompareResults::ByTarget(BTreeMap::new()),
    };

    println!("\ncomparison — {} (magpie over {}), load avg {load_before:.2} before", out.scenario, out.magpie_transport);
    println!(
        "  {:<10} {:>14} {:>14} {:>22} {:>10} {:>10} {:>10} {:>13}",
        "target", "deliveries/s", "server CPU s", "deliveries/server-CPU-s", "p50 µs", "p99 µs", "p99.9 µs", "exactly once"
    );
    let f = |x: Option<f64>| x.map(|x| format!("{x:.1}")).unwrap_or_else(|| "—".into());
    for name in ["magpie", "socketio", "ceiling"] {
        if !results.contains_key(name) {
            continue;
        }
        let l = load(name);
        let quantile = |q: fn(&LatencySummary) -> f64| l.map(|l| q(&l.latency_us.deliver));
        println!(
            "  {:<10} {:>14} {:>14} {:>22} {:>10} {:>10} {:>10} {:>13}",
            name,
            f(dps(name)),
            l.map(|l| format!("{:.3}", l.cpu.server.s)).unwrap_or_else(|| "—".into()),
            f(per_cpu(name)),
            f(quantile(|q| q.p50_us)),
            f(quantile(|q| q.p99_us)),
            f(quantile(|q| q.p999_us)),
            l.map(|l| l.delivery_check.exactly_once.to_string()).unwrap_or_else(|| "—".into())
        );
    }
    let r = |x: Option<f64>| x.map(|x| format!("{x:.3}")).unwrap_or_else(|| "—".into());
    println!(
        "  engine ÷ socket.io: deliveries/s {}, per server CPU-s {};  engine ÷ ceiling: deliveries/s {}, per server CPU-s {}",
        r(out.ratios.deliveries_per_s.engine_over_socketio),
        r(out.ratios.deliveries_per_server_cpu_s.engine_over_socketio),
        r(out.ratios.deliveries_per_s.engine_over_ceiling),
        r(out.ratios.deliveries_per_server_cpu_s.engine_over_ceiling),
    );
    let out = Compare { results: CompareResults::ByTarget(results), ..out };
    report::write_json(args.out.as_ref(), &out)?;
    Ok(all_ok)
}
