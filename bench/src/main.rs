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
mod open_loop;
mod peers;
mod presence;
mod report;
mod scrape;
mod seed;
mod stats;
mod storm;
mod sys;

use clap::{Parser, ValueEnum};
use engine::{Engine, EngineOptions};
use connect::{Target, TransportKind};
use load::Scenario;
use magpie_bench_report::{Config, Report};
use open_loop::{LoadPlan, Peer};
use report::round3;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
        Scenario::Presence => run_presence(&args)?,
        _ => run_load(&args)?,
    };
    report::write_json(args.out.as_ref(), &report)?;
    Ok(ok)
}

/// The message load the flags ask for, the same for every target (defaults by scenario and
/// `--quick`).
struct LoadParams {
    clients: usize,
    /// Connections in each chat or room: the group, or 2 for direct chats.
    room_size: usize,
    /// The sending clients.
    senders: Vec<usize>,
    rate: f64,
    duration: f64,
    warmup: f64,
    workers: usize,
}

impl LoadParams {
    fn from_args(args: &Args) -> Result<LoadParams, String> {
        let scenario = args.scenario;
        let (d_clients, d_rate, d_duration, d_warmup, d_group, d_senders) = match (scenario, args.quick) {
            (Scenario::Channel, true) => (200, 2.0, 3.0, 0.0, 200, 1),
            (Scenario::Channel, false) => (100_000, 1.0, 10.0, 0.0, 100_000, 1),
            (_, true) => (20, 200.0, 3.0, 0.0, 20, 4),
            (_, false) => (1000, 2000.0, 10.0, 2.0, 100, 10),
        };
        let (clients, room_size, senders) = if scenario.one_group() {
            let group = args.group.unwrap_or(args.clients.unwrap_or(d_group));
            if group < 2 {
                return Err(format!("{} needs a group of at least 2", scenario.name()));
            }
            (group, group, (0..args.senders.unwrap_or(d_senders).clamp(1, group)).collect())
        } else {
            let clients = args.clients.unwrap_or(d_clients);
            if clients < 2 || clients % 2 != 0 {
                return Err(format!("{} needs an even number of clients (at least 2)", scenario.name()));
            }
            (clients, 2, (0..clients).collect())
        };
        let rate = args.rate.unwrap_or(d_rate);
        let duration = args.duration.unwrap_or(d_duration);
        let warmup = args.warmup.unwrap_or(d_warmup).min(duration);
        if rate <= 0.0 || duration <= 0.0 {
            return Err("--rate and --duration must be positive".into());
        }
        Ok(LoadParams { clients, room_size, senders, rate, duration, warmup, workers: args.workers.max(1) })
    }

    fn plan(&self, msg_size: usize) -> LoadPlan {
        LoadPlan {
            clients: self.clients,
            workers: self.workers,
            senders: self.senders.clone(),
            per_sender_rate: self.rate / self.senders.len() as f64,
            duration: Duration::from_secs_f64(self.duration),
            warmup: Duration::from_secs_f64(self.warmup),
            msg_size,
            room_size: self.room_size as u64,
        }
    }
}

/// A message-load scenario (one-to-one, fanout, channel, storage) against the engine: its report
/// and whether it was clean.
fn run_load(args: &Args) -> Result<(Report, bool), String> {
    let quick = args.quick;
    let scenario = args.scenario;
    let params = LoadParams::from_args(args)?;
    let LoadParams { clients, rate, duration, warmup, workers, .. } = params;
    // The report's group: 0 for direct chats.
    let group = if scenario.one_group() { params.room_size } else { 0 };
    let source_ips = source_ips(args);
    let (engine, engine_path, nofile, load_before) = launch(args, clients, if args.accounts == Accounts::Seed { clients } else { 0 })?;
    eprintln!(
        "magpie-bench: {} over {} — engine pid {} (quic {}, ws {}), {clients} clients, {rate} msg/s for {duration} s",
        scenario.name(),
        transport_name(args.transport),
        engine.pid,
        engine.quic_addr,
        engine.ws_addr
    );

    let magpie = load::Magpie::new(scenario, target(args, &engine, clients), clients, args.register_concurrency.max(1));
    let plan = params.plan(args.msg_size);
    let ws_addr = engine.ws_addr;
    let outcome = open_loop::run_load(magpie, plan, &|| engine.cpu_seconds(), Duration::from_secs_f64(args.drain_timeout), || scrape::fetch(ws_addr))?;
    let engine_rss = engine.rss_kib();
    let failures = outcome.shared.run.failures();
    if !failures.is_empty() {
        let tail = engine.log_tail(30);
        engine.stop();
        return Err(format!("setup failed:\n  {}\nengine log tail:\n{tail}", failures.join("\n  ")));
    }
    let len = &outcome.owed;
    let history = (scenario == Scenario::Storage).then(|| {
        // One reader per chat (its even-numbered member), up to --readers.
        let readers: Vec<(usize, u64, u64)> = (0..clients)
            .step_by(2)
            .take(args.readers)
            .map(|i| {
                let chat = outcome.shared.peer.room(i);
                (i, chat, len.get(&chat).copied().unwrap_or(0))
            })
            .collect();
        let pages_rate = args.history_rate.unwrap_or(if quick { 100.0 } else { 2000.0 });
        eprintln!("magpie-bench: history: {} readers, {pages_rate} pages/s of {} for {duration} s", readers.len(), args.page);
        history::run(
            history::HistoryPlan {
                target: target(args, &engine, clients),
                readers,
                rate: pages_rate,
                duration: Duration::from_secs_f64(duration),
                page: args.page,
            },
            engine.pid,
        )
    });

    let chats = len.len().max(if scenario.one_group() { 1 } else { clients / 2 });
    let load = outcome.section(rate, duration, engine_rss);
    let (before, after) = outcome.scrapes;
    let engine_metrics = match (before, after) {
        (Ok(a), Ok(b)) => Ok(scrape::delta(&a, &b)),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let config = Config {
        clients,
        chats: Some(chats),
        group: Some(group as u64),
        senders: Some(params.senders.len()),
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
    let (exactly_once, error_total) = (load.delivery_check.exactly_once, load.errors.total);
    let header = header(args, config, load_before, nofile, &engine, &engine_path, outcome.timing.setup_s);
    engine.stop();
    let report = Report {
        load: Some(load),
        history,
        engine_metrics: Some(engine_metrics),
        ..header
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

/// The common header of the engine's reports (the machine as it is now, with the load average
/// taken before the run); the caller adds the scenario's section.
fn header(args: &Args, config: Config, load_before: f64, nofile: u64, engine: &Engine, engine_path: &Path, setup_s: f64) -> Report {
    Report {
        scenario: args.scenario.name().into(),
        target: "magpie".into(),
        transport: transport_name(args.transport).into(),
        quick: args.quick,
        config,
        machine: report::machine(load_before, nofile),
        server: format!("{} ({})", engine.banner, engine_path.display()),
        seed_s: Some(round3(engine.seed_s)),
        setup_s: round3(setup_s),
        ..Report::default()
    }
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
    let (engine, engine_path, nofile, load_before) = launch(args, clients, clients)?;
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
    let header = header(args, config, load_before, nofile, &engine, &engine_path, setup_s);
    engine.stop();
    let r = &result;
    println!(
        "\ndensity over {} — {} idle connections (stopped: {}); {:.2} KiB per idle connection (RSS slope), setup {:.0} connections/s; baseline RSS {:.1} MiB",
        header.transport,
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
    Ok((Report { density: Some(result), ..header }, ok))
}

fn run_storm(args: &Args) -> Result<(Report, bool), String> {
    let clients = args.clients.unwrap_or(if args.quick { 20 } else { 10_000 });
    if clients < 2 || clients % 2 != 0 {
        return Err("storm needs an even number of clients (at least 2)".into());
    }
    let rate = args.rate.unwrap_or(if args.quick { 100.0 } else { 2000.0 });
    let duration = args.duration.unwrap_or(if args.quick { 3.0 } else { 10.0 });
    let storm_at = args.storm_at.unwrap_or(duration / 2.0).min(duration);
    let (engine, engine_path, nofile, load_before) = launch(args, clients, clients)?;
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
    let header = header(args, config, load_before, nofile, &engine, &engine_path, setup_s);
    engine.stop();
    let r = &result;
    println!(
        "\nstorm over {} — {} clients, {} resynced; all synced {:.3} s after the drop (per client p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms)",
        header.transport,
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
    Ok((Report { storm: Some(result), ..header }, ok))
}

fn run_presence(args: &Args) -> Result<(Report, bool), String> {
    let clients = args.clients.unwrap_or(if args.quick { 20 } else { 10_000 });
    if clients < 2 || clients % 2 != 0 {
        return Err("presence needs an even number of clients (at least 2)".into());
    }
    let window = args.duration.unwrap_or(if args.quick { 1.0 } else { 3.0 });
    let (engine, engine_path, nofile, load_before) = launch(args, clients, clients)?;
    eprintln!(
        "magpie-bench: presence over {} — engine pid {}, {clients} clients connecting at once, without and with watching",
        transport_name(args.transport),
        engine.pid
    );
    let plan = presence::PresencePlan {
        target: target(args, &engine, clients),
        clients,
        workers: args.workers.max(1),
        window: Duration::from_secs_f64(window),
        concurrency: args.register_concurrency.max(1),
    };
    let (result, setup_s) = match presence::run(plan, engine.pid) {
        Ok(r) => r,
        Err(e) => {
            let tail = engine.log_tail(30);
            engine.stop();
            return Err(format!("{e}\nengine log tail:\n{tail}"));
        }
    };
    let config = Config { clients, duration_s: Some(window), workers: args.workers.max(1), shards: Some(args.shards), ..Config::default() };
    let header = header(args, config, load_before, nofile, &engine, &engine_path, setup_s);
    engine.stop();
    println!("\npresence over {} — {} clients connecting at once, {:.1} s window after the last sync", header.transport, result.clients, result.window_s);
    println!("| round | synced | all synced s | sync p50 ms | p99 ms | engine CPU s | presence pushes | entries | max pushes/client | peer online at end | errors |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut ok = true;
    for r in &result.rounds {
        println!(
            "| {} | {} | {:.3} | {:.1} | {:.1} | {:.2} | {} | {} | {} | {} | {:?} |",
            if r.watching { "watching" } else { "baseline" },
            r.synced,
            r.all_synced_s,
            r.sync_us.p50_us / 1000.0,
            r.sync_us.p99_us / 1000.0,
            r.engine_cpu_s,
            r.presence_frames,
            r.presence_entries,
            r.max_presence_frames_per_client,
            r.peer_online_at_end,
            r.errors
        );
        ok &= r.synced == r.clients && r.errors.is_empty() && (!r.watching || r.peer_online_at_end == r.clients);
    }
    Ok((Report { presence: Some(result), ..header }, ok))
}

fn source_ips(args: &Args) -> Vec<IpAddr> {
    (0..args.source_ips.clamp(1, 250)).map(|k| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + k))).collect()
}

/// Raises the open-files limit and checks that `clients` connections fit under it (`websocket`:
/// one descriptor each).
fn check_nofile(clients: usize, websocket: bool) -> Result<u64, String> {
    let nofile = sys::raise_nofile_limit();
    // One descriptor per WebSocket (or per QUIC endpoint) here and in the engine, plus slack.
    if websocket && clients as u64 + 64 > nofile {
        return Err(format!("{clients} WebSocket clients need more than the {nofile} open files allowed per process"));
    }
    Ok(nofile)
}

/// Checks that `clients` connections fit, takes the load average, and starts the engine with
/// `seed_accounts` accounts: the engine, its binary, the open-files limit and the load average.
fn launch(args: &Args, clients: usize, seed_accounts: usize) -> Result<(Engine, PathBuf, u64, f64), String> {
    let nofile = check_nofile(clients, args.transport == TransportKind::Ws)?;
    let load_before = sys::load_average().unwrap_or(f64::NAN);
    let engine_path = args.engine.clone().unwrap_or_else(default_engine);
    let engine = Engine::start(&EngineOptions {
        binary: &engine_path,
        durability: &args.durability,
        shards: args.shards,
        io: &args.io,
        keep_data: args.keep_data,
        seed_accounts,
    })?;
    Ok((engine, engine_path, nofile, load_before))
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
