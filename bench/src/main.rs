//! `magpie-bench`: an open-loop load generator for the `magpie` engine.
//!
//! It starts the real engine binary as a child process (fresh data directory, ephemeral ports),
//! registers clients over raw QUIC or WebSocket connections, creates the scenario's chats, and
//! sends on a fixed schedule. Latency is measured from each message's intended send time to its
//! `Deliver` at every recipient. See docs/BENCHMARKS.md.

mod engine;
mod load;
mod peers;
mod stats;
mod sys;

use clap::Parser;
use engine::{Engine, EngineOptions};
use load::{Plan, Scenario, Shared, TransportKind, WorkerReport};
use serde::Serialize;
use stats::{new_histogram, summarize, totals, LatencySummary, WorkerCounters};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Open-loop load generator for the magpie engine.
#[derive(Parser, Debug, Clone)]
#[command(version, about)]
struct Args {
    /// Scenario to run.
    #[arg(long, value_enum, default_value = "one-to-one")]
    scenario: Scenario,
    /// Transport of every client connection.
    #[arg(long, value_enum, default_value = "quic")]
    transport: TransportKind,
    /// The engine binary (default: `magpie` beside this binary, i.e. `$CARGO_TARGET_DIR/release/magpie`).
    #[arg(long, env = "MAGPIE_BIN")]
    engine: Option<PathBuf>,
    /// Clients (one connection each). one-to-one: even, in clients/2 direct chats. fanout: the
    /// group's size (defaults to --group).
    #[arg(long)]
    clients: Option<usize>,
    /// Fan-out group size (members, each one connection).
    #[arg(long)]
    group: Option<usize>,
    /// Fan-out: how many members send (rate is shared among them).
    #[arg(long)]
    senders: Option<usize>,
    /// Offered load: messages per second, all senders together.
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of load.
    #[arg(long)]
    duration: Option<f64>,
    /// Seconds at the start whose messages are delivered and checked but left out of the latency
    /// histograms.
    #[arg(long)]
    warmup: Option<f64>,
    /// Message content size in bytes (at least the ~40-byte timestamp header).
    #[arg(long, default_value_t = 64)]
    msg_size: usize,
    /// Engine durability: power-loss (fsync per group commit) or process-crash.
    #[arg(long, default_value = "power-loss")]
    durability: String,
    /// Engine shards (0 = one per core).
    #[arg(long, default_value_t = 0)]
    shards: usize,
    /// Engine TCP I/O driver (auto, epoll, uring).
    #[arg(long, default_value = "auto")]
    io: String,
    /// Generator threads (each a single-threaded runtime).
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Client source addresses 127.0.0.2 ..= 127.0.0.(1+N), to stay clear of ephemeral-port limits.
    #[arg(long, default_value_t = 8)]
    source_ips: u8,
    /// QUIC connections sharing one client UDP socket.
    #[arg(long, default_value_t = 4)]
    conns_per_endpoint: usize,
    /// Registrations in flight at once (argon2id on the engine is the cost).
    #[arg(long, default_value_t = 16)]
    register_concurrency: usize,
    /// Seconds to wait after the last send for every delivery.
    #[arg(long, default_value_t = 30.0)]
    drain_timeout: f64,
    /// Tiny sizes for a smoke test: 20 clients, 200 msg/s, 3 s (explicit flags still win).
    #[arg(long)]
    quick: bool,
    /// Write the JSON report here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Keep the engine's data directory and log.
    #[arg(long)]
    keep_data: bool,
    /// Peers: --target socketio|ceiling, --compare (bench/src/peers).
    #[command(flatten)]
    peers: peers::PeerArgs,
}

#[derive(Serialize)]
struct Report {
    scenario: Scenario,
    transport: TransportKind,
    quick: bool,
    config: ConfigReport,
    machine: MachineReport,
    engine: String,
    setup_s: f64,
    offered_msgs_per_s: f64,
    sent: u64,
    acked: u64,
    sent_per_s: f64,
    acked_per_s: f64,
    /// Deliveries to members other than the sender.
    deliveries: u64,
    /// The sender's own connection receives its message too (every device of every member).
    echo_deliveries: u64,
    /// All deliveries (recipients and echoes) per second, from the load start to the last delivery.
    deliveries_per_s: f64,
    recipient_deliveries_per_s: f64,
    /// Time from the end of the schedule until everything owed had arrived (or the drain timeout).
    drain_s: f64,
    drained: bool,
    latency_us: LatencyReport,
    errors: ErrorReport,
    delivery_check: DeliveryCheck,
    cpu: CpuReport,
}

#[derive(Serialize)]
struct ConfigReport {
    clients: usize,
    chats: usize,
    group: usize,
    senders: usize,
    rate: f64,
    duration_s: f64,
    warmup_s: f64,
    msg_size: usize,
    durability: String,
    shards: usize,
    io: String,
    workers: usize,
    source_ips: usize,
    conns_per_endpoint: usize,
}

#[derive(Serialize)]
struct MachineReport {
    cores: usize,
    memory_gib: f64,
    kernel: String,
    load_avg_1m_before: f64,
    load_avg_1m_after: f64,
    nofile_limit: u64,
}

#[derive(Serialize)]
struct LatencyReport {
    /// Intended send time → Deliver at each recipient (every recipient, every message).
    deliver: LatencySummary,
    /// Actual send time → Deliver at each recipient: the engine and network alone, without the
    /// generator's lateness (not free of coordinated omission; for diagnosis only).
    deliver_from_send: LatencySummary,
    /// Intended send time → Deliver at the slowest recipient of each message.
    last_recipient: LatencySummary,
    /// Intended send time → SendAck at the sender (durable).
    ack: LatencySummary,
    /// Intended send time → the sender's own copy.
    echo: LatencySummary,
    /// Intended send time → the moment the generator actually sent (its own lateness).
    send_lag: LatencySummary,
}

#[derive(Serialize)]
struct ErrorReport {
    total: u64,
    by_code: BTreeMap<String, u64>,
    dead_connections: u64,
}

#[derive(Serialize)]
struct DeliveryCheck {
    /// Σ over connections of the acknowledged messages in its chat.
    expected: u64,
    received: u64,
    missing: u64,
    duplicates: u64,
    out_of_order: u64,
    /// Messages (after the warm-up) not seen by every recipient.
    incomplete_messages: u64,
    exactly_once: bool,
}

#[derive(Serialize)]
struct CpuReport {
    /// Wall time of the measured span: load start → drained.
    window_s: f64,
    engine_s: f64,
    generator_s: f64,
    engine_cores_busy: f64,
    generator_cores_busy: f64,
    deliveries_per_engine_cpu_s: f64,
    engine_rss_mib_after: f64,
}

fn main() {
    let args = Args::parse();
    if args.peers.active() {
        std::process::exit(peers::main(args));
    }
    match run(args) {
        Ok(ok) => std::process::exit(if ok { 0 } else { 1 }),
        Err(e) => {
            eprintln!("magpie-bench: {e}");
            std::process::exit(2);
        }
    }
}

fn default_engine() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent().map(|d| d.join("magpie")).unwrap_or_else(|| PathBuf::from("magpie"))
}

fn run(args: Args) -> Result<bool, String> {
    let quick = args.quick;
    let (d_clients, d_rate, d_duration, d_warmup, d_group, d_senders) =
        if quick { (20, 200.0, 3.0, 0.0, 20, 4) } else { (1000, 2000.0, 10.0, 2.0, 100, 10) };
    let scenario = args.scenario;
    let group = args.group.unwrap_or(match scenario {
        Scenario::Fanout => args.clients.unwrap_or(d_group),
        Scenario::OneToOne => 0,
    });
    let clients = match scenario {
        Scenario::OneToOne => args.clients.unwrap_or(d_clients),
        Scenario::Fanout => group,
    };
    if scenario == Scenario::OneToOne && (clients < 2 || clients % 2 != 0) {
        return Err("one-to-one needs an even number of clients (at least 2)".into());
    }
    if scenario == Scenario::Fanout && group < 2 {
        return Err("fanout needs a group of at least 2".into());
    }
    let rate = args.rate.unwrap_or(d_rate);
    let duration = args.duration.unwrap_or(d_duration);
    let warmup = args.warmup.unwrap_or(d_warmup).min(duration);
    if rate <= 0.0 || duration <= 0.0 {
        return Err("--rate and --duration must be positive".into());
    }
    let senders: Vec<usize> = match scenario {
        Scenario::OneToOne => (0..clients).collect(),
        Scenario::Fanout => (0..args.senders.unwrap_or(d_senders).clamp(1, group)).collect(),
    };
    let workers = args.workers.max(1);
    let source_ips: Vec<IpAddr> = (0..args.source_ips.clamp(1, 250)).map(|k| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + k))).collect();

    let nofile = sys::raise_nofile_limit();
    // One descriptor per WebSocket (or per QUIC endpoint) here and in the engine, plus slack.
    if args.transport == TransportKind::Ws && clients as u64 + 64 > nofile {
        return Err(format!("{clients} WebSocket clients need more than the {nofile} open files allowed per process"));
    }
    let load_before = sys::load_average().unwrap_or(f64::NAN);
    let engine_path = args.engine.clone().unwrap_or_else(default_engine);
    let engine = Engine::start(&EngineOptions {
        binary: &engine_path,
        durability: &args.durability,
        shards: args.shards,
        io: &args.io,
        keep_data: args.keep_data,
    })?;
    eprintln!(
        "magpie-bench: {} over {} — engine pid {} (quic {}, ws {}), {clients} clients, {rate} msg/s for {duration} s",
        scenario_name(scenario),
        transport_name(args.transport),
        engine.pid,
        engine.quic_addr,
        engine.ws_addr
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let shared = Arc::new(Shared {
        plan: Plan {
            scenario,
            transport: args.transport,
            clients,
            workers,
            source_ips: source_ips.clone(),
            conns_per_quic_endpoint: args.conns_per_endpoint.max(1),
            quic_addr: engine.quic_addr,
            ws_addr: engine.ws_addr,
            cert_der: engine.cert_der.clone(),
            per_sender_rate: rate / senders.len() as f64,
            senders: senders.clone(),
            duration: Duration::from_secs_f64(duration),
            warmup: Duration::from_secs_f64(warmup),
            msg_size: args.msg_size,
            members_per_chat: match scenario {
                Scenario::OneToOne => 2,
                Scenario::Fanout => group as u64,
            },
            register_concurrency: args.register_concurrency.max(1),
            op_timeout: Duration::from_secs(120),
            epoch: Instant::now(),
        },
        user_ids: (0..clients).map(|_| AtomicU64::new(0)).collect(),
        chat_ids: (0..clients).map(|_| AtomicU64::new(0)).collect(),
        barrier: tokio::sync::Barrier::new(workers + 1),
        start: OnceLock::new(),
        failed: AtomicBool::new(false),
        failure: Mutex::new(Vec::new()),
        counters: (0..workers).map(|_| WorkerCounters::default()).collect(),
        stop: stop_rx,
    });

    let setup_start = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("bench-worker-{w}"))
                .spawn(move || load::run_worker(w, shared))
                .expect("spawning a worker thread")
        })
        .collect();

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let timing = rt.block_on(async {
        let s = &shared;
        s.barrier.wait().await;
        eprintln!("magpie-bench: {clients} clients registered in {:.1} s", setup_start.elapsed().as_secs_f64());
        s.barrier.wait().await;
        s.barrier.wait().await;
        let setup_s = setup_start.elapsed().as_secs_f64();
        eprintln!("magpie-bench: chats created and connections synced; setup took {setup_s:.1} s");
        let engine_cpu0 = engine.cpu_seconds();
        let gen_cpu0 = sys::cpu_seconds("self").unwrap_or(f64::NAN);
        let start = Instant::now() + Duration::from_millis(200);
        let _ = s.start.set(start);
        s.barrier.wait().await;
        let mut drained = false;
        let mut schedule_end = start;
        if !s.failed.load(std::sync::atomic::Ordering::Relaxed) {
            tokio::time::sleep_until((start + Duration::from_secs_f64(duration)).into()).await;
            // Senders that fall behind keep going after the schedule's end.
            while totals(&s.counters).senders_running > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            schedule_end = Instant::now();
            let deadline = schedule_end + Duration::from_secs_f64(args.drain_timeout);
            loop {
                let t = totals(&s.counters);
                let all_answered = t.acked + t.errored >= t.sent;
                if all_answered && t.delivered >= t.expected {
                    drained = true;
                    break;
                }
                if Instant::now() >= deadline || t.dead > 0 && all_answered {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let end = Instant::now();
        let engine_cpu1 = engine.cpu_seconds();
        let gen_cpu1 = sys::cpu_seconds("self").unwrap_or(f64::NAN);
        let _ = stop_tx.send(true);
        Timing {
            setup_s,
            start,
            drain_s: end.saturating_duration_since(schedule_end).as_secs_f64(),
            window_s: end.saturating_duration_since(start).as_secs_f64(),
            drained,
            engine_cpu: engine_cpu1 - engine_cpu0,
            gen_cpu: gen_cpu1 - gen_cpu0,
        }
    });
    let reports: Vec<WorkerReport> = handles.into_iter().map(|h| h.join().expect("worker panicked")).collect();
    let engine_rss = engine.rss_kib();
    let banner = engine.banner.clone();
    let failures = shared.failure.lock().unwrap().clone();
    if !failures.is_empty() {
        let tail = engine.log_tail(30);
        engine.stop();
        return Err(format!("setup failed:\n  {}\nengine log tail:\n{tail}", failures.join("\n  ")));
    }
    engine.stop();

    // ---- merge
    let t = totals(&shared.counters);
    let (mut deliver, mut from_send, mut echo, mut ack, mut send_lag, mut last) =
        (new_histogram(), new_histogram(), new_histogram(), new_histogram(), new_histogram(), new_histogram());
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut acked_per_chat: HashMap<u64, u64> = HashMap::new();
    let mut per_message: HashMap<(u64, u64), (u64, u32, u64)> = HashMap::new();
    let (mut first_ns, mut last_ns) = (u64::MAX, 0u64);
    for r in &reports {
        deliver.add(&r.deliver).expect("same bounds");
        from_send.add(&r.deliver_from_send).expect("same bounds");
        echo.add(&r.echo).expect("same bounds");
        ack.add(&r.ack).expect("same bounds");
        send_lag.add(&r.send_lag).expect("same bounds");
        for (k, v) in &r.errors {
            *errors.entry(k.clone()).or_default() += v;
        }
        for (chat, n) in &r.acked_per_chat {
            *acked_per_chat.entry(*chat).or_default() += n;
        }
        for (key, (intended, n, max)) in &r.per_message {
            let e = per_message.entry(*key).or_insert((*intended, 0, 0));
            e.1 += n;
            e.2 = e.2.max(*max);
        }
        first_ns = first_ns.min(r.first_delivery_ns);
        last_ns = last_ns.max(r.last_delivery_ns);
    }
    let recipients_per_message = shared.plan.members_per_chat.saturating_sub(1) as u32;
    let mut incomplete = 0;
    for (_, n, max) in per_message.values() {
        if *n < recipients_per_message {
            incomplete += 1;
        } else {
            last.saturating_record((*max).max(1));
        }
    }
    let (mut expected, mut received, mut duplicates, mut out_of_order, mut missing) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for r in reports.iter().flat_map(|r| &r.receivers) {
        let want = acked_per_chat.get(&r.chat_id).copied().unwrap_or(0);
        expected += want;
        received += r.distinct;
        duplicates += r.duplicates;
        out_of_order += r.out_of_order;
        missing += want.saturating_sub(r.distinct);
    }
    let receivers = reports.iter().map(|r| r.receivers.len()).sum::<usize>();
    let error_total: u64 = errors.values().sum();
    let exactly_once = receivers == clients && missing == 0 && duplicates == 0 && received == expected && t.acked == t.sent;
    let start_ns = timing.start.saturating_duration_since(shared.plan.epoch).as_nanos() as u64;
    let delivery_span = last_ns.saturating_sub(start_ns) as f64 / 1e9;
    let per_s = |n: u64, span: f64| if span > 0.0 { (n as f64 / span * 10.0).round() / 10.0 } else { 0.0 };
    let recipient_deliveries = t.delivered - t.echoes;
    let chats = acked_per_chat.len().max(match scenario {
        Scenario::OneToOne => clients / 2,
        Scenario::Fanout => 1,
    });
    let report = Report {
        scenario,
        transport: args.transport,
        quick,
        config: ConfigReport {
            clients,
            chats,
            group,
            senders: senders.len(),
            rate,
            duration_s: duration,
            warmup_s: warmup,
            msg_size: args.msg_size,
            durability: args.durability.clone(),
            shards: args.shards,
            io: args.io.clone(),
            workers,
            source_ips: source_ips.len(),
            conns_per_endpoint: args.conns_per_endpoint,
        },
        machine: MachineReport {
            cores: sys::cores(),
            memory_gib: (sys::memory_gib().unwrap_or(0.0) * 10.0).round() / 10.0,
            kernel: sys::kernel_release(),
            load_avg_1m_before: load_before,
            load_avg_1m_after: sys::load_average().unwrap_or(f64::NAN),
            nofile_limit: nofile,
        },
        engine: format!("{banner} ({})", engine_path.display()),
        setup_s: round3(timing.setup_s),
        offered_msgs_per_s: rate,
        sent: t.sent,
        acked: t.acked,
        sent_per_s: per_s(t.sent, duration),
        acked_per_s: per_s(t.acked, duration),
        deliveries: recipient_deliveries,
        echo_deliveries: t.echoes,
        deliveries_per_s: per_s(t.delivered, delivery_span),
        recipient_deliveries_per_s: per_s(recipient_deliveries, delivery_span),
        drain_s: round3(timing.drain_s),
        drained: timing.drained,
        latency_us: LatencyReport {
            deliver: summarize(&deliver),
            deliver_from_send: summarize(&from_send),
            last_recipient: summarize(&last),
            ack: summarize(&ack),
            echo: summarize(&echo),
            send_lag: summarize(&send_lag),
        },
        errors: ErrorReport { total: error_total, by_code: errors, dead_connections: t.dead },
        delivery_check: DeliveryCheck {
            expected,
            received,
            missing,
            duplicates,
            out_of_order,
            incomplete_messages: incomplete,
            exactly_once,
        },
        cpu: CpuReport {
            window_s: round3(timing.window_s),
            engine_s: round3(timing.engine_cpu),
            generator_s: round3(timing.gen_cpu),
            engine_cores_busy: round3(timing.engine_cpu / timing.window_s.max(1e-9)),
            generator_cores_busy: round3(timing.gen_cpu / timing.window_s.max(1e-9)),
            deliveries_per_engine_cpu_s: per_s(t.delivered, timing.engine_cpu),
            engine_rss_mib_after: (engine_rss as f64 / 1024.0 * 10.0).round() / 10.0,
        },
    };
    print_table(&report);
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    if let Some(out) = &args.out {
        std::fs::write(out, json + "\n").map_err(|e| format!("writing {}: {e}", out.display()))?;
    }
    Ok(report.errors.total == 0 && report.delivery_check.exactly_once)
}

struct Timing {
    setup_s: f64,
    start: Instant,
    drain_s: f64,
    window_s: f64,
    drained: bool,
    engine_cpu: f64,
    gen_cpu: f64,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn scenario_name(s: Scenario) -> &'static str {
    match s {
        Scenario::OneToOne => "one-to-one",
        Scenario::Fanout => "fanout",
    }
}

fn transport_name(t: TransportKind) -> &'static str {
    match t {
        TransportKind::Quic => "quic",
        TransportKind::Ws => "ws",
    }
}

fn print_table(r: &Report) {
    let c = &r.config;
    println!(
        "\n{} over {} — {} clients, {} chat(s), {} sender(s), durability {}, {} s load ({} s warm-up)",
        scenario_name(r.scenario),
        transport_name(r.transport),
        c.clients,
        c.chats,
        c.senders,
        c.durability,
        c.duration_s,
        c.warmup_s
    );
    println!(
        "  offered {:.0} msg/s; sent {} ({:.0}/s), acked {} ({:.0}/s); deliveries {} to recipients + {} echoes = {:.0}/s; drain {:.3} s{}",
        r.offered_msgs_per_s,
        r.sent,
        r.sent_per_s,
        r.acked,
        r.acked_per_s,
        r.deliveries,
        r.echo_deliveries,
        r.deliveries_per_s,
        r.drain_s,
        if r.drained { "" } else { " (NOT drained)" }
    );
    println!("  {:<16} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}", "latency (µs)", "count", "mean", "p50", "p90", "p99", "p99.9", "max");
    let l = &r.latency_us;
    for (name, s) in [
        ("deliver", &l.deliver),
        ("  from send", &l.deliver_from_send),
        ("last recipient", &l.last_recipient),
        ("ack", &l.ack),
        ("echo", &l.echo),
        ("send lag", &l.send_lag),
    ] {
        println!(
            "  {:<16} {:>9} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
            name, s.count, s.mean_us, s.p50_us, s.p90_us, s.p99_us, s.p999_us, s.max_us
        );
    }
    println!(
        "  cpu over {:.2} s: engine {:.2} s ({:.2} cores), generator {:.2} s ({:.2} cores); {:.0} deliveries per engine CPU-second; engine RSS {:.1} MiB",
        r.cpu.window_s,
        r.cpu.engine_s,
        r.cpu.engine_cores_busy,
        r.cpu.generator_s,
        r.cpu.generator_cores_busy,
        r.cpu.deliveries_per_engine_cpu_s,
        r.cpu.engine_rss_mib_after
    );
    let d = &r.delivery_check;
    println!(
        "  check: expected {} received {} missing {} duplicates {} out-of-order {} incomplete {} → {}; errors {} {:?}; load avg {:.2} → {:.2}",
        d.expected,
        d.received,
        d.missing,
        d.duplicates,
        d.out_of_order,
        d.incomplete_messages,
        if d.exactly_once { "exactly once" } else { "NOT exactly once" },
        r.errors.total,
        r.errors.by_code,
        r.machine.load_avg_1m_before,
        r.machine.load_avg_1m_after
    );
}
