//! `magpie-bench`: an open-loop load generator for the `magpie` engine.
//!
//! It starts the real engine binary as a child process (fresh data directory, ephemeral ports),
//! registers clients over raw QUIC or WebSocket connections, creates the scenario's chats, and
//! sends on a fixed schedule. Latency is measured from each message's intended send time to its
//! `Deliver` at every recipient. See docs/BENCHMARKS.md.

mod connect;
mod density;
mod engine;
mod history;
mod load;
mod peers;
mod report;
mod scrape;
mod seed;
mod stats;
mod storm;
mod sys;

use clap::{Parser, ValueEnum};
use engine::{Engine, EngineOptions};
use connect::{Target, TransportKind};
use load::{Plan, Scenario, Shared, WorkerReport};
use magpie_bench_report::{Config, Cpu, DeliveryCheck, Errors, Latency, Load, Machine, Report, ServerCpu};
use report::{per_s, round3};
use stats::{new_histogram, summarize, totals, WorkerCounters};
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
    /// QUIC connections sharing one client UDP socket (default 4; density: 64, to stay under
    /// the open-files limit).
    #[arg(long)]
    conns_per_endpoint: Option<usize>,
    /// storage: clients reading history pages after the append phase (one per chat).
    #[arg(long, default_value_t = 100)]
    readers: usize,
    /// storage: history pages per second, all readers together (default 2000; quick 100).
    #[arg(long)]
    history_rate: Option<f64>,
    /// storage: events per history page.
    #[arg(long, default_value_t = 50)]
    page: u16,
    /// storm: seconds into the schedule when every connection drops (default: half way).
    #[arg(long)]
    storm_at: Option<f64>,
    /// density: connection steps from 0 to --clients.
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// density: stop adding connections when the machine has less memory available (MiB).
    #[arg(long, default_value_t = 2048.0)]
    min_available_mib: f64,
    /// How clients get their accounts: `seed` writes them into the engine's store before it
    /// starts and clients sign in with device tokens (fast, like returning users); `register`
    /// registers every client over the wire (argon2id: ~40 ms of engine CPU each).
    #[arg(long, value_enum, default_value = "seed")]
    accounts: Accounts,
    /// Connections (registrations, with `--accounts register`) being set up at once.
    #[arg(long, default_value_t = 64)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Accounts {
    Seed,
    Register,
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

/// Runs the scenario against the engine and writes its report; whether the run was clean.
fn run(args: Args) -> Result<bool, String> {
    let (report, ok) = match args.scenario {
        Scenario::Density => run_density(&args)?,
        Scenario::Storm => run_storm(&args)?,
        _ => run_load(&args)?,
    };
    report::write_json(args.out.as_ref(), &report)?;
    Ok(ok)
}

/// A message-load scenario (one-to-one, fanout, channel, storage) against the engine: its report
/// and whether it was clean.
fn run_load(args: &Args) -> Result<(Report, bool), String> {
    let quick = args.quick;
    let scenario = args.scenario;
    let (d_clients, d_rate, d_duration, d_warmup, d_group, d_senders) = match (scenario, quick) {
        (Scenario::Channel, true) => (200, 2.0, 3.0, 0.0, 200, 1),
        (Scenario::Channel, false) => (100_000, 1.0, 10.0, 0.0, 100_000, 1),
        (_, true) => (20, 200.0, 3.0, 0.0, 20, 4),
        (_, false) => (1000, 2000.0, 10.0, 2.0, 100, 10),
    };
    let group = if scenario.one_group() { args.group.unwrap_or(args.clients.unwrap_or(d_group)) } else { 0 };
    let clients = if scenario.one_group() { group } else { args.clients.unwrap_or(d_clients) };
    if !scenario.one_group() && (clients < 2 || clients % 2 != 0) {
        return Err(format!("{} needs an even number of clients (at least 2)", scenario.name()));
    }
    if scenario.one_group() && group < 2 {
        return Err(format!("{} needs a group of at least 2", scenario.name()));
    }
    let rate = args.rate.unwrap_or(d_rate);
    let duration = args.duration.unwrap_or(d_duration);
    let warmup = args.warmup.unwrap_or(d_warmup).min(duration);
    if rate <= 0.0 || duration <= 0.0 {
        return Err("--rate and --duration must be positive".into());
    }
    let senders: Vec<usize> = if scenario.one_group() {
        (0..args.senders.unwrap_or(d_senders).clamp(1, group)).collect()
    } else {
        (0..clients).collect()
    };
    let workers = args.workers.max(1);
    let source_ips = source_ips(&args);
    let nofile = check_nofile(&args, clients)?;
    let load_before = sys::load_average().unwrap_or(f64::NAN);
    let (engine, engine_path) = start_engine(&args, if args.accounts == Accounts::Seed { clients } else { 0 })?;
    eprintln!(
        "magpie-bench: {} over {} — engine pid {} (quic {}, ws {}), {clients} clients, {rate} msg/s for {duration} s",
        scenario.name(),
        transport_name(args.transport),
        engine.pid,
        engine.quic_addr,
        engine.ws_addr
    );

    let seed_s = engine.seed_s;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let shared = Arc::new(Shared {
        plan: Plan {
            scenario,
            target: target(&args, &engine, clients),
            clients,
            workers,
            per_sender_rate: rate / senders.len() as f64,
            senders: senders.clone(),
            duration: Duration::from_secs_f64(duration),
            warmup: Duration::from_secs_f64(warmup),
            msg_size: args.msg_size,
            members_per_chat: if scenario.one_group() { group as u64 } else { 2 },
            register_concurrency: args.register_concurrency.max(1),
            op_timeout: Duration::from_secs(120),
            epoch: Instant::now(),
        },
        user_ids: (0..clients).map(|_| AtomicU64::new(0)).collect(),
        chat_ids: (0..clients).map(|_| AtomicU64::new(0)).collect(),
        group_cursor: AtomicU64::new(0),
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
        eprintln!("magpie-bench: {clients} clients signed in in {:.1} s", setup_start.elapsed().as_secs_f64());
        s.barrier.wait().await;
        s.barrier.wait().await;
        let setup_s = setup_start.elapsed().as_secs_f64();
        eprintln!("magpie-bench: chats created and connections synced; setup took {setup_s:.1} s");
        let metrics0 = scrape::fetch(engine.ws_addr).await;
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
        let metrics1 = scrape::fetch(engine.ws_addr).await;
        let _ = stop_tx.send(true);
        Timing {
            setup_s,
            start,
            drain_s: end.saturating_duration_since(schedule_end).as_secs_f64(),
            window_s: end.saturating_duration_since(start).as_secs_f64(),
            drained,
            engine_cpu: engine_cpu1 - engine_cpu0,
            gen_cpu: gen_cpu1 - gen_cpu0,
            engine_metrics: match (metrics0, metrics1) {
                (Ok(a), Ok(b)) => Ok(scrape::delta(&a, &b)),
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
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
    let history = (scenario == Scenario::Storage).then(|| {
        let mut len: HashMap<u64, u64> = HashMap::new();
        for r in &reports {
            for (chat, n) in &r.acked_per_chat {
                *len.entry(*chat).or_default() += n;
            }
        }
        // One reader per chat (its even-numbered member), up to --readers.
        let readers: Vec<(usize, u64, u64)> = (0..clients)
            .step_by(2)
            .take(args.readers)
            .map(|i| {
                let chat = shared.chat_ids[i].load(std::sync::atomic::Ordering::Relaxed);
                (i, chat, len.get(&chat).copied().unwrap_or(0))
            })
            .collect();
        let pages_rate = args.history_rate.unwrap_or(if quick { 100.0 } else { 2000.0 });
        eprintln!("magpie-bench: history: {} readers, {pages_rate} pages/s of {} for {duration} s", readers.len(), args.page);
        history::run(
            history::HistoryPlan {
                target: target(&args, &engine, clients),
                readers,
                rate: pages_rate,
                duration: Duration::from_secs_f64(duration),
                page: args.page,
            },
            engine.pid,
        )
    });
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
    let recipient_deliveries = t.delivered - t.echoes;
    let chats = acked_per_chat.len().max(if scenario.one_group() { 1 } else { clients / 2 });
    let config = Config {
        clients,
        chats: Some(chats),
        group: Some(group as u64),
        senders: Some(senders.len()),
        rate: Some(rate),
        duration_s: Some(duration),
        warmup_s: Some(warmup),
        msg_size: Some(args.msg_size),
        durability: Some(args.durability.clone()),
        shards: Some(args.shards),
        io: Some(args.io.clone()),
        accounts: args.accounts.to_possible_value().map(|v| v.get_name().to_owned()),
        workers,
        source_ips: Some(source_ips.len()),
        conns_per_endpoint: Some(conns_per_endpoint(args, clients)),
        ..Config::default()
    };
    let load = Load {
        offered_msgs_per_s: Some(rate),
        sent: t.sent,
        acked: Some(t.acked),
        sent_per_s: per_s(t.sent, duration),
        acked_per_s: Some(per_s(t.acked, duration)),
        echoed: None,
        deliveries: recipient_deliveries,
        echo_deliveries: t.echoes,
        deliveries_per_s: Some(per_s(t.delivered, delivery_span)),
        recipient_deliveries_per_s: Some(per_s(recipient_deliveries, delivery_span)),
        drain_s: round3(timing.drain_s),
        drained: timing.drained,
        latency_us: Latency {
            deliver: summarize(&deliver),
            deliver_from_send: summarize(&from_send),
            last_recipient: summarize(&last),
            ack: Some(summarize(&ack)),
            echo: summarize(&echo),
            send_lag: summarize(&send_lag),
        },
        errors: Errors { total: error_total, by_code: errors, dead_connections: t.dead },
        delivery_check: DeliveryCheck {
            expected,
            received,
            missing,
            duplicates,
            out_of_order,
            incomplete_messages: incomplete,
            exactly_once,
        },
        cpu: Cpu {
            window_s: round3(timing.window_s),
            generator_s: round3(timing.gen_cpu),
            generator_cores_busy: round3(timing.gen_cpu / timing.window_s.max(1e-9)),
            server: ServerCpu::new(
                true,
                round3(timing.engine_cpu),
                round3(timing.engine_cpu / timing.window_s.max(1e-9)),
                per_s(t.delivered, timing.engine_cpu),
                (engine_rss as f64 / 1024.0 * 10.0).round() / 10.0,
            ),
        },
    };
    let report = Report {
        load: Some(load),
        history,
        engine_metrics: Some(timing.engine_metrics),
        ..header(args, config, report::machine(load_before, nofile), format!("{banner} ({})", engine_path.display()), seed_s, timing.setup_s)
    };
    report::print_load(&report);
    match report.engine_metrics.as_ref().expect("set above") {
        Ok(m) => println!(
            "  engine metrics: frames in {} out {}; deliveries live {} catch-up {}; {} events committed in {} writes ({:.1} ops each), {} WAL syncs; send→durable p50 ≤{} ms p99 ≤{} ms; send→deliver p50 ≤{} ms p99 ≤{} ms; errors {:?}",
            m.frames_in,
            m.frames_out,
            m.deliveries_live,
            m.deliveries_catch_up,
            m.events_committed,
            m.storage_commits,
            m.ops_per_commit,
            m.wal_syncs,
            m.send_durable.p50_le_ms,
            m.send_durable.p99_le_ms,
            m.send_deliver.p50_le_ms,
            m.send_deliver.p99_le_ms,
            m.errors_by_code
        ),
        Err(e) => println!("  engine metrics: not read ({e})"),
    }
    if let Some(h) = &report.history {
        println!(
            "  history: {} readers, {} pages of {} ({:.0} pages/s, {:.0} events/s; offered {:.0}/s): page latency p50 {:.1} µs p99 {:.1} µs max {:.1} µs; errors {:?}",
            h.readers,
            h.pages,
            h.page_size,
            h.pages_per_s,
            h.events_per_s,
            h.offered_pages_per_s,
            h.page_latency_us.p50_us,
            h.page_latency_us.p99_us,
            h.page_latency_us.max_us,
            h.errors
        );
    }
    let history_ok = report.history.as_ref().is_none_or(|h| h.errors.is_empty() && h.pages > 0);
    let ok = exactly_once && error_total == 0 && history_ok;
    Ok((report, ok))
}

/// The common header of the engine's reports; the caller adds the scenario's section.
fn header(args: &Args, config: Config, machine: Machine, server: String, seed_s: f64, setup_s: f64) -> Report {
    Report {
        scenario: args.scenario.name().into(),
        target: "magpie".into(),
        transport: transport_name(args.transport).into(),
        quick: args.quick,
        config,
        machine,
        server,
        seed_s: Some(round3(seed_s)),
        setup_s: round3(setup_s),
        ..Report::default()
    }
}

struct Timing {
    engine_metrics: Result<magpie_bench_report::EngineMetrics, String>,
    setup_s: f64,
    start: Instant,
    drain_s: f64,
    window_s: f64,
    drained: bool,
    engine_cpu: f64,
    gen_cpu: f64,
}

/// QUIC connections per client UDP socket: 4 by default (spread over the engine's shards), more
/// when that many sockets would not fit under the open-files limit (100,000 clients: 13), and 64
/// for density, which goes as high as memory allows.
fn conns_per_endpoint(args: &Args, clients: usize) -> usize {
    let default = if args.scenario == Scenario::Density { 64 } else { clients.div_ceil(8_000).max(4) };
    args.conns_per_endpoint.unwrap_or(default).max(1)
}

fn run_density(args: &Args) -> Result<(Report, bool), String> {
    let clients = args.clients.unwrap_or(if args.quick { 40 } else { 10_000 });
    let steps_n = args.steps.clamp(1, clients.max(1));
    let steps: Vec<usize> = (1..=steps_n).map(|k| clients * k / steps_n).collect();
    let nofile = check_nofile(args, clients)?;
    let load_before = sys::load_average().unwrap_or(f64::NAN);
    let (engine, engine_path) = start_engine(args, clients)?;
    eprintln!(
        "magpie-bench: density over {} — engine pid {}, up to {clients} idle connections in {steps_n} steps ({} accounts seeded in {:.1} s)",
        transport_name(args.transport),
        engine.pid,
        engine.tokens.len(),
        engine.seed_s
    );
    let plan = density::DensityPlan {
        target: target(args, &engine, clients),
        workers: args.workers.max(1),
        steps: steps.clone(),
        concurrency: args.register_concurrency.max(1),
        min_available_mib: args.min_available_mib,
        settle: Duration::from_secs(if args.quick { 1 } else { 3 }),
    };
    let result = density::run(plan, engine.pid);
    let config = Config {
        clients,
        steps: Some(steps),
        workers: args.workers.max(1),
        concurrency: Some(args.register_concurrency.max(1)),
        conns_per_endpoint: Some(conns_per_endpoint(args, clients)),
        shards: Some(args.shards),
        io: Some(args.io.clone()),
        ..Config::default()
    };
    let setup_s = result.points.iter().map(|p| p.setup_s).sum();
    let server = format!("{} ({})", engine.banner, engine_path.display());
    let report = Report {
        density: Some(result),
        ..header(args, config, report::machine(load_before, nofile), server, engine.seed_s, setup_s)
    };
    engine.stop();
    let r = report.density.as_ref().expect("set above");
    println!(
        "\ndensity over {} — {} idle connections (stopped: {}); {:.2} KiB per idle connection (RSS slope), setup {:.0} connections/s; baseline RSS {:.1} MiB",
        report.transport,
        r.max_connections,
        r.stopped_because,
        r.kib_per_idle_connection,
        r.setup_per_s,
        r.baseline_rss_mib
    );
    println!("  {:>11} {:>12} {:>14} {:>14} {:>12} {:>14}", "connections", "engine MiB", "KiB/conn", "marginal KiB", "setup/s", "generator MiB");
    for p in &r.points {
        println!(
            "  {:>11} {:>12.1} {:>14.2} {:>14.2} {:>12.0} {:>14.1}",
            p.connections.unwrap_or(0),
            p.engine_rss_mib.unwrap_or(0.0),
            p.rss_per_conn_kib.unwrap_or(0.0),
            p.marginal_kib_per_conn,
            p.setup_per_s,
            p.generator_rss_mib
        );
    }
    if !r.errors.is_empty() {
        println!("  errors: {:?}", r.errors);
    }
    let ok = r.errors.is_empty() && r.max_connections as usize == clients;
    Ok((report, ok))
}

fn run_storm(args: &Args) -> Result<(Report, bool), String> {
    let clients = args.clients.unwrap_or(if args.quick { 20 } else { 10_000 });
    if clients < 2 || clients % 2 != 0 {
        return Err("storm needs an even number of clients (at least 2)".into());
    }
    let rate = args.rate.unwrap_or(if args.quick { 100.0 } else { 2000.0 });
    let duration = args.duration.unwrap_or(if args.quick { 3.0 } else { 10.0 });
    let storm_at = args.storm_at.unwrap_or(duration / 2.0).min(duration);
    let nofile = check_nofile(args, clients)?;
    let load_before = sys::load_average().unwrap_or(f64::NAN);
    let (engine, engine_path) = start_engine(args, clients)?;
    eprintln!(
        "magpie-bench: storm over {} — engine pid {}, {clients} clients at {rate} msg/s, all drop at {storm_at} s of {duration} s",
        transport_name(args.transport),
        engine.pid
    );
    let plan = storm::StormPlan {
        target: target(args, &engine, clients),
        clients,
        workers: args.workers.max(1),
        per_client_rate: rate / clients as f64,
        duration: Duration::from_secs_f64(duration),
        storm_at: Duration::from_secs_f64(storm_at),
        msg_size: args.msg_size,
        concurrency: args.register_concurrency.max(1),
        drain_timeout: Duration::from_secs_f64(args.drain_timeout),
    };
    let (result, setup_s) = match storm::run(plan, engine.pid) {
        Ok(r) => r,
        Err(e) => {
            let tail = engine.log_tail(30);
            engine.stop();
            return Err(format!("{e}\nengine log tail:\n{tail}"));
        }
    };
    let config = Config {
        clients,
        rate: Some(rate),
        duration_s: Some(duration),
        storm_at_s: Some(storm_at),
        msg_size: Some(args.msg_size),
        durability: Some(args.durability.clone()),
        workers: args.workers.max(1),
        shards: Some(args.shards),
        ..Config::default()
    };
    let server = format!("{} ({})", engine.banner, engine_path.display());
    let report = Report {
        storm: Some(result),
        ..header(args, config, report::machine(load_before, nofile), server, engine.seed_s, setup_s)
    };
    engine.stop();
    let r = report.storm.as_ref().expect("set above");
    println!(
        "\nstorm over {} — {} clients, {} resynced; all synced {:.3} s after the drop (per client p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms)",
        report.transport,
        r.clients,
        r.resynced,
        r.all_synced_s,
        r.resync_us.p50_us / 1000.0,
        r.resync_us.p99_us / 1000.0,
        r.resync_us.max_us / 1000.0
    );
    println!(
        "  sent {} acked {} re-sent after the storm {}; deliveries expected {} received {} missing {} duplicate seqs {} duplicate ids {} out-of-order {} → {}; errors {:?}",
        r.sent,
        r.acked,
        r.resent_after_storm,
        r.expected_deliveries,
        r.received,
        r.missing,
        r.duplicate_seqs,
        r.duplicate_ids,
        r.out_of_order,
        if r.exactly_once { "exactly once" } else { "NOT exactly once" },
        r.errors
    );
    println!(
        "  deliver latency from intended send (outage included): p50 {:.1} ms p99 {:.1} ms max {:.1} ms; engine CPU {:.2} s",
        r.deliver_us.p50_us / 1000.0,
        r.deliver_us.p99_us / 1000.0,
        r.deliver_us.max_us / 1000.0,
        r.engine_cpu_s
    );
    let ok = r.exactly_once && r.drained;
    Ok((report, ok))
}

fn source_ips(args: &Args) -> Vec<IpAddr> {
    (0..args.source_ips.clamp(1, 250)).map(|k| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + k))).collect()
}

/// Raises the open-files limit and checks that `clients` connections fit under it.
fn check_nofile(args: &Args, clients: usize) -> Result<u64, String> {
    let nofile = sys::raise_nofile_limit();
    // One descriptor per WebSocket (or per QUIC endpoint) here and in the engine, plus slack.
    if args.transport == TransportKind::Ws && clients as u64 + 64 > nofile {
        return Err(format!("{clients} WebSocket clients need more than the {nofile} open files allowed per process"));
    }
    Ok(nofile)
}

fn start_engine(args: &Args, seed_accounts: usize) -> Result<(Engine, PathBuf), String> {
    let engine_path = args.engine.clone().unwrap_or_else(default_engine);
    let engine = Engine::start(&EngineOptions {
        binary: &engine_path,
        durability: &args.durability,
        shards: args.shards,
        io: &args.io,
        keep_data: args.keep_data,
        seed_accounts,
    })?;
    Ok((engine, engine_path))
}

fn target(args: &Args, engine: &Engine, clients: usize) -> Target {
    Target {
        transport: args.transport,
        quic_addr: engine.quic_addr,
        ws_addr: engine.ws_addr,
        cert_der: engine.cert_der.clone(),
        source_ips: source_ips(args),
        conns_per_quic_endpoint: conns_per_endpoint(args, clients),
        tokens: engine.tokens.clone(),
        op_timeout: Duration::from_secs(120),
    }
}

fn transport_name(t: TransportKind) -> &'static str {
    match t {
        TransportKind::Quic => "quic",
        TransportKind::Ws => "ws",
    }
}
