//! Peers measured side by side with the engine (docs/BENCHMARKS.md, Peers): a Socket.IO server
//! (Node.js, room broadcast without persistence, `bench/peers/socketio/server.js`) and the no-logic
//! WebSocket broadcast ceiling on the engine's runtime (`magpie-ceiling`).
//!
//! The method is magpie-bench's: the server is a child process whose CPU time is read from
//! `/proc`; worker threads (each a single-threaded tokio runtime) hold the client connections;
//! every sender follows an open-loop schedule `start + phase + k / rate` and writes the intended
//! send time into the message; each recipient measures latency from that intended time; the run
//! drains until every owed delivery has arrived. A message's payload is
//! `<intended ns>.<sender>.<k>.<actual send ns>.` padded with `x` to `--msg-size` bytes, carried
//! as a Socket.IO `msg` event or as one binary WebSocket frame. The exactly-once check is per
//! recipient and per sender: one bit per `k`.
//!
//! `--compare` runs magpie (through the ordinary path), Socket.IO and the ceiling back to back
//! with the same parameters and writes one JSON with the three reports and the ratios.

mod ceiling;
mod socketio;

use crate::load::Scenario;
use crate::report::{self, per_s, round3};
use crate::stats::{new_histogram, summarize, totals, SeqSet, WorkerCounters};
use crate::sys;
use crate::Args;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use magpie_bench_report::{
    Compare, CompareEntry, CompareResults, Config, Cpu, DeliveryCheck, DesignTargets, EngineOver, Errors, Latency, LatencySummary, Load,
    Ratios, Report, ServerCpu, SideBySide, Targets,
};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Barrier, Semaphore};
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

struct Plan {
    proto: Proto,
    scenario: Scenario,
    clients: usize,
    workers: usize,
    source_ips: Vec<IpAddr>,
    url: String,
    addr: SocketAddr,
    /// fanout: clients 0..senders send; one-to-one: every client does.
    senders: usize,
    per_sender_rate: f64,
    duration: Duration,
    warmup: Duration,
    msg_size: usize,
    /// Connections in each room (the group, or 2): deliveries owed per message.
    room_size: u64,
    op_timeout: Duration,
    epoch: Instant,
}

impl Plan {
    fn room_name(&self, client: usize) -> String {
        match self.scenario {
            Scenario::OneToOne => format!("r{}", client / 2),
            _ => "r0".into(),
        }
    }

    /// The sender's slot in a receiver's exactly-once bitmaps.
    fn slot(&self, sender: usize) -> usize {
        match self.scenario {
            Scenario::OneToOne => sender % 2,
            _ => sender,
        }
    }

    fn slots(&self) -> usize {
        match self.scenario {
            Scenario::OneToOne => 2,
            _ => self.senders,
        }
    }

    fn is_sender(&self, client: usize) -> bool {
        client < self.senders
    }

    /// The senders in `client`'s room.
    fn room_senders(&self, client: usize) -> std::ops::Range<usize> {
        match self.scenario {
            Scenario::OneToOne => (client / 2 * 2)..(client / 2 * 2 + 2),
            _ => 0..self.senders,
        }
    }
}

struct Shared {
    plan: Plan,
    barrier: Barrier,
    start: OnceLock<Instant>,
    failed: AtomicBool,
    failure: Mutex<Vec<String>>,
    counters: Vec<WorkerCounters>,
    /// Messages sent by each client.
    sent_by: Vec<AtomicU64>,
    stop: watch::Receiver<bool>,
}

impl Shared {
    fn fail(&self, why: String) {
        self.failed.store(true, Relaxed);
        let mut f = self.failure.lock().unwrap();
        if f.len() < 20 {
            f.push(why);
        }
    }
}

struct ReceiverSummary {
    client: usize,
    distinct: u64,
    duplicates: u64,
    out_of_order: u64,
}

struct WorkerReport {
    deliver: Histogram<u64>,
    deliver_from_send: Histogram<u64>,
    echo: Histogram<u64>,
    send_lag: Histogram<u64>,
    /// (sender, k) → (recipients seen here, slowest recipient ns); after the warm-up, recipients
    /// other than the sender only.
    per_message: HashMap<(u32, u64), (u32, u64)>,
    errors: BTreeMap<String, u64>,
    receivers: Vec<ReceiverSummary>,
    last_delivery_ns: u64,
}

impl WorkerReport {
    fn new() -> WorkerReport {
        WorkerReport {
            deliver: new_histogram(),
            deliver_from_send: new_histogram(),
            echo: new_histogram(),
            send_lag: new_histogram(),
            per_message: HashMap::new(),
            errors: BTreeMap::new(),
            receivers: Vec::new(),
            last_delivery_ns: 0,
        }
    }

    fn error(&mut self, key: String) {
        *self.errors.entry(key).or_default() += 1;
    }
}

type State = Rc<RefCell<WorkerReport>>;

fn ns_since(epoch: Instant, t: Instant) -> u64 {
    t.saturating_duration_since(epoch).as_nanos() as u64
}

fn record(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record(ns.max(1));
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

// ---------------------------------------------------------------------------- one run

/// Runs one peer target with magpie-bench's parameters; the report and whether it was clean.
fn run_peer(args: &Args, target: Target) -> Result<(Report, bool), String> {
    let proto = match target {
        Target::Socketio => Proto::SocketIo,
        Target::Ceiling => Proto::Ceiling,
        Target::Magpie => return Err("run_peer is for the peers".into()),
    };
    let quick = args.quick;
    // magpie-bench's defaults (main.rs), so that the same flags mean the same load.
    let (d_clients, d_rate, d_duration, d_warmup, d_group, d_senders) =
        if quick { (20, 200.0, 3.0, 0.0, 20, 4) } else { (1000, 2000.0, 10.0, 2.0, 100, 10) };
    let scenario = args.scenario;
    if !matches!(scenario, Scenario::OneToOne | Scenario::Fanout) {
        return Err(format!("the peers run --scenario fanout or one-to-one, not {}", scenario.name()));
    }
    let (clients, group, senders) = if scenario == Scenario::OneToOne {
        let n = args.clients.unwrap_or(d_clients);
        if n < 2 || !n.is_multiple_of(2) {
            return Err("one-to-one needs an even number of clients (at least 2)".into());
        }
        if proto == Proto::Ceiling {
            return Err("the ceiling broadcasts to every connection: it applies to --scenario fanout only".into());
        }
        (n, 2, n)
    } else {
        let g = args.group.unwrap_or(args.clients.unwrap_or(d_group));
        if g < 2 {
            return Err("fanout needs a group of at least 2".into());
        }
        (g, g, args.senders.unwrap_or(d_senders).clamp(1, g))
    };
    let rate = args.rate.unwrap_or(d_rate);
    let duration = args.duration.unwrap_or(d_duration);
    let warmup = args.warmup.unwrap_or(d_warmup).min(duration);
    if rate <= 0.0 || duration <= 0.0 {
        return Err("--rate and --duration must be positive".into());
    }
    let workers = args.workers.max(1);
    let source_ips: Vec<IpAddr> = (0..args.source_ips.clamp(1, 250)).map(|k| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + k))).collect();
    let nofile = sys::raise_nofile_limit();
    if clients as u64 + 64 > nofile {
        return Err(format!("{clients} WebSocket clients need more than the {nofile} open files allowed per process"));
    }
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

    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        plan: Plan {
            proto,
            scenario,
            clients,
            workers,
            source_ips: source_ips.clone(),
            url,
            addr: server.addr,
            senders,
            per_sender_rate: rate / senders as f64,
            duration: Duration::from_secs_f64(duration),
            warmup: Duration::from_secs_f64(warmup),
            msg_size: args.msg_size,
            room_size: group as u64,
            op_timeout: Duration::from_secs(60),
            epoch: Instant::now(),
        },
        barrier: Barrier::new(workers + 1),
        start: OnceLock::new(),
        failed: AtomicBool::new(false),
        failure: Mutex::new(Vec::new()),
        counters: (0..workers).map(|_| WorkerCounters::default()).collect(),
        sent_by: (0..clients).map(|_| AtomicU64::new(0)).collect(),
        stop: stop_rx,
    });
    let setup_start = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("peer-worker-{w}"))
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("worker runtime");
                    tokio::task::LocalSet::new().block_on(&rt, worker(w, shared))
                })
                .expect("spawning a worker thread")
        })
        .collect();

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let drain_timeout = args.drain_timeout;
    let timing = rt.block_on(async {
        let s = &shared;
        s.barrier.wait().await;
        let setup_s = setup_start.elapsed().as_secs_f64();
        eprintln!("magpie-bench: {clients} clients connected and in their rooms in {setup_s:.1} s");
        let server_cpu0 = server.cpu_seconds();
        let gen_cpu0 = sys::cpu_seconds("self").unwrap_or(f64::NAN);
        let start = Instant::now() + Duration::from_millis(200);
        let _ = s.start.set(start);
        s.barrier.wait().await;
        let (mut drained, mut schedule_end) = (false, start);
        if !s.failed.load(Relaxed) {
            tokio::time::sleep_until((start + Duration::from_secs_f64(duration)).into()).await;
            while totals(&s.counters).senders_running > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            schedule_end = Instant::now();
            let deadline = schedule_end + Duration::from_secs_f64(drain_timeout);
            loop {
                let t = totals(&s.counters);
                if t.delivered >= t.expected {
                    drained = true;
                    break;
                }
                if Instant::now() >= deadline || t.dead > 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let end = Instant::now();
        let server_cpu = server.cpu_seconds() - server_cpu0;
        let gen_cpu = sys::cpu_seconds("self").unwrap_or(f64::NAN) - gen_cpu0;
        let _ = stop_tx.send(true);
        (setup_s, start, end.saturating_duration_since(schedule_end).as_secs_f64(), end.saturating_duration_since(start).as_secs_f64(), drained, server_cpu, gen_cpu)
    });
    let (setup_s, start, drain_s, window_s, drained, server_cpu, gen_cpu) = timing;
    let reports: Vec<WorkerReport> = handles.into_iter().map(|h| h.join().expect("worker panicked")).collect();
    let server_rss = server.rss_kib();
    let failures = shared.failure.lock().unwrap().clone();
    if !failures.is_empty() {
        let tail = server.log_tail();
        server.stop();
        return Err(format!("setup failed:\n  {}\nserver log tail:\n{tail}", failures.join("\n  ")));
    }
    let banner = server.banner.clone();
    server.stop();

    // ---- merge
    let plan = &shared.plan;
    let t = totals(&shared.counters);
    let (mut deliver, mut from_send, mut echo, mut send_lag, mut last) = (new_histogram(), new_histogram(), new_histogram(), new_histogram(), new_histogram());
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_message: HashMap<(u32, u64), (u32, u64)> = HashMap::new();
    let mut last_ns = 0u64;
    for r in &reports {
        deliver.add(&r.deliver).expect("same bounds");
        from_send.add(&r.deliver_from_send).expect("same bounds");
        echo.add(&r.echo).expect("same bounds");
        send_lag.add(&r.send_lag).expect("same bounds");
        for (k, v) in &r.errors {
            *errors.entry(k.clone()).or_default() += v;
        }
        for (key, (n, max)) in &r.per_message {
            let e = per_message.entry(*key).or_insert((0, 0));
            e.0 += n;
            e.1 = e.1.max(*max);
        }
        last_ns = last_ns.max(r.last_delivery_ns);
    }
    let recipients_per_message = plan.room_size.saturating_sub(1) as u32;
    // A message that no recipient got at all is not in per_message; `missing` counts it.
    let mut incomplete = 0u64;
    for (n, max) in per_message.values() {
        if *n < recipients_per_message {
            incomplete += 1;
        } else {
            last.saturating_record((*max).max(1));
        }
    }
    let (mut expected, mut received, mut duplicates, mut out_of_order) = (0u64, 0u64, 0u64, 0u64);
    for r in reports.iter().flat_map(|r| &r.receivers) {
        let want: u64 = plan.room_senders(r.client).map(|s| shared.sent_by[s].load(Relaxed)).sum();
        expected += want;
        received += r.distinct;
        duplicates += r.duplicates;
        out_of_order += r.out_of_order;
    }
    let missing = expected.saturating_sub(received);
    let receivers = reports.iter().map(|r| r.receivers.len()).sum::<usize>();
    let error_total: u64 = errors.values().sum();
    let exactly_once = receivers == clients && missing == 0 && duplicates == 0 && received == expected && t.echoes == t.sent;
    let start_ns = ns_since(plan.epoch, start);
    let span = last_ns.saturating_sub(start_ns) as f64 / 1e9;
    let recipient_deliveries = t.delivered - t.echoes;
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
    let load = Load {
        offered_msgs_per_s: Some(rate),
        sent: t.sent,
        sent_per_s: per_s(t.sent, duration),
        acked: None,
        acked_per_s: None,
        echoed: Some(t.echoes),
        deliveries: recipient_deliveries,
        echo_deliveries: t.echoes,
        deliveries_per_s: Some(per_s(t.delivered, span)),
        recipient_deliveries_per_s: Some(per_s(recipient_deliveries, span)),
        drain_s: round3(drain_s),
        drained,
        latency_us: Latency {
            deliver: summarize(&deliver),
            deliver_from_send: summarize(&from_send),
            last_recipient: summarize(&last),
            ack: None,
            echo: summarize(&echo),
            send_lag: summarize(&send_lag),
        },
        errors: Errors { total: error_total, by_code: errors, dead_connections: t.dead },
        delivery_check: DeliveryCheck { expected, received, missing, duplicates, out_of_order, incomplete_messages: incomplete, exactly_once },
        cpu: Cpu {
            window_s: round3(window_s),
            generator_s: round3(gen_cpu),
            generator_cores_busy: round3(gen_cpu / window_s.max(1e-9)),
            server: ServerCpu::new(
                false,
                round3(server_cpu),
                round3(server_cpu / window_s.max(1e-9)),
                per_s(t.delivered, server_cpu),
                (server_rss as f64 / 1024.0 * 10.0).round() / 10.0,
            ),
        },
    };
    let report = Report {
        scenario: scenario.name().into(),
        target: target_name(target).into(),
        transport: "ws".into(),
        quick,
        config,
        machine: report::machine(load_before, nofile),
        server: banner,
        setup_s: round3(setup_s),
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

// ---------------------------------------------------------------------------- the worker

fn client_config() -> WebSocketConfig {
    // As client-lib's: small read buffer, every message written out at once.
    WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0)
}

async fn connect(plan: &Plan, client: usize) -> Result<Ws, String> {
    let ip = plan.source_ips[client % plan.source_ips.len()];
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket.bind(SocketAddr::new(ip, 0)).map_err(|e| format!("bind {ip}: {e}"))?;
    let tcp = socket.connect(plan.addr).await.map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(plan.url.as_str(), tcp, Some(client_config()))
        .await
        .map_err(|e| format!("WebSocket handshake: {e}"))?;
    match plan.proto {
        Proto::SocketIo => socketio::handshake(&mut ws, &plan.room_name(client)).await?,
        Proto::Ceiling => ceiling::handshake(&mut ws).await?,
    }
    Ok(ws)
}

async fn worker(w: usize, shared: Arc<Shared>) -> WorkerReport {
    let plan = &shared.plan;
    let mine: Vec<usize> = (w..plan.clients).step_by(plan.workers).collect();
    let state: State = Rc::new(RefCell::new(WorkerReport::new()));

    // ---- connect, and join the rooms
    let gate = Rc::new(Semaphore::new(64));
    let tasks: Vec<_> = mine
        .iter()
        .map(|&client| {
            let (shared, gate) = (shared.clone(), gate.clone());
            tokio::task::spawn_local(async move {
                let _permit = gate.acquire().await.expect("never closed");
                let r = timeout(shared.plan.op_timeout, connect(&shared.plan, client)).await;
                match r {
                    Ok(Ok(ws)) => Some((client, ws)),
                    Ok(Err(e)) => {
                        shared.fail(format!("client {client}: {e}"));
                        None
                    }
                    Err(_) => {
                        shared.fail(format!("client {client}: connecting timed out"));
                        None
                    }
                }
            })
        })
        .collect();
    let mut conns = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Ok(Some(c)) = t.await {
            conns.push(c);
        }
    }
    shared.barrier.wait().await;
    shared.barrier.wait().await;

    // ---- load
    let start = *shared.start.get().expect("start set before the last barrier");
    let counters = &shared.counters[w];
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    let run = !shared.failed.load(Relaxed);
    for (client, ws) in conns {
        let (sink, stream) = ws.split();
        let sink: Sink = Rc::new(tokio::sync::Mutex::new(sink));
        receivers.push(tokio::task::spawn_local(receive(shared.clone(), w, state.clone(), stream, sink.clone(), client, start)));
        if run && plan.is_sender(client) {
            counters.senders_running.fetch_add(1, Relaxed);
            senders.push(tokio::task::spawn_local(send_loop(shared.clone(), w, state.clone(), sink, client, start)));
        }
    }
    let mut summaries = Vec::new();
    for r in receivers {
        if let Ok(s) = r.await {
            summaries.push(s);
        }
    }
    for s in senders {
        s.abort();
    }
    let mut report = std::mem::replace(&mut *state.borrow_mut(), WorkerReport::new());
    report.receivers = summaries;
    report
}

/// This client's share of the schedule: message k at `start + phase + k / rate`, whatever happened
/// before (open loop).
async fn send_loop(shared: Arc<Shared>, w: usize, state: State, sink: Sink, client: usize, start: Instant) {
    let plan = &shared.plan;
    let counters = &shared.counters[w];
    let period = 1.0 / plan.per_sender_rate;
    let phase = period * client as f64 / plan.senders as f64;
    let duration = plan.duration.as_secs_f64();
    let start_ns = ns_since(plan.epoch, start);
    let pad = "x".repeat(plan.msg_size);
    let mut k: u64 = 0;
    loop {
        let offset = phase + k as f64 * period;
        if offset >= duration {
            break;
        }
        let intended = start + Duration::from_secs_f64(offset);
        tokio::time::sleep_until(intended.into()).await;
        let now = Instant::now();
        let intended_ns = start_ns + (offset * 1e9) as u64;
        record(&mut state.borrow_mut().send_lag, now.saturating_duration_since(intended).as_nanos() as u64);
        let mut payload = format!("{intended_ns}.{client}.{k}.{}.", ns_since(plan.epoch, now));
        if payload.len() < plan.msg_size {
            payload.push_str(&pad[..plan.msg_size - payload.len()]);
        }
        let msg = match plan.proto {
            Proto::SocketIo => socketio::encode(&payload),
            Proto::Ceiling => ceiling::encode(&payload),
        };
        k += 1;
        if let Err(e) = sink.lock().await.send(msg).await {
            state.borrow_mut().error(format!("transport_send: {}", short(&e.to_string())));
            break;
        }
        shared.sent_by[client].fetch_add(1, Relaxed);
        counters.expected.fetch_add(plan.room_size, Relaxed);
        counters.sent.fetch_add(1, Relaxed);
    }
    counters.senders_running.fetch_sub(1, Relaxed);
}

/// The payload's fields: intended ns, sender, k, actual send ns.
fn parse_payload(p: &str) -> Option<(u64, usize, u64, u64)> {
    let mut f = p.split('.');
    Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?, f.next()?.parse().ok()?, f.next()?.parse().ok()?))
}

async fn receive(
    shared: Arc<Shared>,
    w: usize,
    state: State,
    mut stream: SplitStream<Ws>,
    sink: Sink,
    me: usize,
    start: Instant,
) -> ReceiverSummary {
    let plan = &shared.plan;
    let counters = &shared.counters[w];
    let warm_ns = ns_since(plan.epoch, start) + plan.warmup.as_nanos() as u64;
    let mut stop = shared.stop.clone();
    // Per sender slot: one bit per k, and the highest k seen so far plus one.
    let mut seen: Vec<(SeqSet, u64)> = (0..plan.slots()).map(|_| (SeqSet::default(), 0)).collect();
    let mut sum = ReceiverSummary { client: me, distinct: 0, duplicates: 0, out_of_order: 0 };
    let dead = |state: &State, why: String| {
        state.borrow_mut().error(why);
        counters.dead.fetch_add(1, Relaxed);
    };
    loop {
        let msg = tokio::select! {
            m = stream.next() => m,
            _ = stop.changed() => break,
        };
        let msg = match msg {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                if !*stop.borrow() {
                    dead(&state, format!("transport_recv: {}", short(&e.to_string())));
                }
                break;
            }
            None => {
                if !*stop.borrow() {
                    dead(&state, "transport_recv: closed".into());
                }
                break;
            }
        };
        let now_ns = ns_since(plan.epoch, Instant::now());
        let decoded = match plan.proto {
            Proto::SocketIo => socketio::decode(&msg),
            Proto::Ceiling => ceiling::decode(&msg),
        };
        let payload = match decoded {
            Decoded::Payload(p) => p,
            Decoded::Reply(m) => {
                if let Err(e) = sink.lock().await.send(m).await {
                    state.borrow_mut().error(format!("transport_send: {}", short(&e.to_string())));
                }
                continue;
            }
            Decoded::Closed(code) => {
                dead(&state, format!("close_{code}"));
                break;
            }
            Decoded::Other => continue,
        };
        let Some((intended, sender, k, actual)) = parse_payload(payload) else {
            state.borrow_mut().error("bad_payload".into());
            continue;
        };
        if !plan.room_senders(me).contains(&sender) {
            state.borrow_mut().error("foreign_message".into());
            continue;
        }
        let (bits, next_k) = &mut seen[plan.slot(sender)];
        if !bits.insert(k) {
            sum.duplicates += 1;
            continue;
        }
        sum.distinct += 1;
        if k + 1 < *next_k {
            sum.out_of_order += 1;
        }
        *next_k = (*next_k).max(k + 1);
        counters.delivered.fetch_add(1, Relaxed);
        let latency = now_ns.saturating_sub(intended);
        let mut st = state.borrow_mut();
        st.last_delivery_ns = st.last_delivery_ns.max(now_ns);
        if sender == me {
            counters.echoes.fetch_add(1, Relaxed);
            if intended >= warm_ns {
                record(&mut st.echo, latency);
            }
        } else if intended >= warm_ns {
            record(&mut st.deliver, latency);
            record(&mut st.deliver_from_send, now_ns.saturating_sub(actual));
            let e = st.per_message.entry((sender as u32, k)).or_insert((0, 0));
            e.0 += 1;
            e.1 = e.1.max(latency);
        }
    }
    sum
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
    let per_cpu = |n: &str| load(n).and_then(|l| l.cpu.server.deliveries_per_cpu_s());
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
            l.map(|l| format!("{:.3}", l.cpu.server.seconds())).unwrap_or_else(|| "—".into()),
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
