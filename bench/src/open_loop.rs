//! The open-loop sender and what it measures, once for every scenario and every target.
//!
//! Every sender follows a fixed schedule: message k at `start + phase + k / rate`, whatever
//! happened before (open loop), with the senders' phases spread evenly over one period so the
//! aggregate rate is smooth. The intended send time travels in the message, so each recipient
//! measures latency from it, not from when the generator got round to sending (no coordinated
//! omission). A payload is `<intended ns>.<sender>.<k>.<actual send ns>.` padded with `x`.
//!
//! Around it: the state a run's worker threads share with the main thread ([`Run`]), the worker
//! threads themselves ([`spawn_workers`]), the main thread's part of a run ([`drive`]: setup,
//! start, schedule, drain, CPU), the per-worker [`Measurements`] and their merge into the
//! report's [`Load`] section. The message-load scenarios are written once, [`run_load`], against
//! any [`Peer`]: the engine (`load.rs`), Socket.IO and the ceiling (`peers/`).

use crate::report::{per_s, round3};
use crate::stats::{new_histogram, summarize, totals, SeqSet, Totals, WorkerCounters};
use hdrhistogram::Histogram;
use magpie_bench_report::{Cpu, DeliveryCheck, Errors, Latency, Load, ServerCpu};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Barrier};

/// Nanoseconds from `epoch` to `t` (0 before it).
pub fn ns_since(epoch: Instant, t: Instant) -> u64 {
    t.saturating_duration_since(epoch).as_nanos() as u64
}

/// One sender's share of a schedule.
#[derive(Clone, Copy)]
pub struct Schedule {
    /// Stamps are nanoseconds since this instant.
    epoch: Instant,
    start: Instant,
    phase: f64,
    period: f64,
    duration: f64,
}

/// When a message was meant to go and when it went, in nanoseconds since the epoch.
#[derive(Clone, Copy)]
pub struct Stamp {
    pub intended_ns: u64,
    pub actual_ns: u64,
}

impl Stamp {
    /// The generator's own lateness.
    pub fn lag_ns(&self) -> u64 {
        self.actual_ns.saturating_sub(self.intended_ns)
    }
}

impl Schedule {
    /// Sender `rank` of `senders`, each sending `rate` per second from `start` for `duration`.
    pub fn new(epoch: Instant, start: Instant, rate: f64, rank: usize, senders: usize, duration: Duration) -> Schedule {
        let period = 1.0 / rate;
        Schedule { epoch, start, phase: period * rank as f64 / senders.max(1) as f64, period, duration: duration.as_secs_f64() }
    }

    /// Message k's intended time; None once it is past the end.
    pub fn at(&self, k: u64) -> Option<Instant> {
        let offset = self.phase + k as f64 * self.period;
        (offset < self.duration).then(|| self.start + Duration::from_secs_f64(offset))
    }

    /// How many messages the schedule holds: the estimate corrected to agree with [`Schedule::at`]
    /// exactly, rounding included.
    pub fn len(&self) -> u64 {
        let mut n = ((self.duration - self.phase) / self.period).ceil().max(0.0) as u64;
        while n > 0 && self.at(n - 1).is_none() {
            n -= 1;
        }
        while self.at(n).is_some() {
            n += 1;
        }
        n
    }

    pub fn ns(&self, t: Instant) -> u64 {
        ns_since(self.epoch, t)
    }

    /// Sleeps until message k's time and stamps it; None once it is past the end.
    pub async fn wait(&self, k: u64) -> Option<Stamp> {
        let intended = self.at(k)?;
        tokio::time::sleep_until(intended.into()).await;
        Some(Stamp { intended_ns: self.ns(intended), actual_ns: self.ns(Instant::now()) })
    }
}

/// The payload of message `k` of `sender`, padded to `size` bytes.
pub fn payload(stamp: Stamp, sender: usize, k: u64, size: usize) -> String {
    let mut p = format!("{}.{sender}.{k}.{}.", stamp.intended_ns, stamp.actual_ns);
    if p.len() < size {
        p.push_str(&"x".repeat(size - p.len()));
    }
    p
}

/// A payload's fields.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Payload {
    pub intended_ns: u64,
    pub sender: u64,
    pub k: u64,
    pub actual_ns: u64,
}

impl Payload {
    pub fn parse(p: &str) -> Option<Payload> {
        let mut f = p.split('.');
        let mut next = || f.next()?.parse().ok();
        Some(Payload { intended_ns: next()?, sender: next()?, k: next()?, actual_ns: next()? })
    }
}

/// The message's identity within a payload, `<intended ns>.<sender>.<k>`: the engine's client
/// message id, so a re-sent message is recognised.
pub fn message_id(payload: &str) -> &str {
    let end = payload.match_indices('.').nth(2).map(|(i, _)| i).unwrap_or(payload.len());
    &payload[..end]
}

/// The intended send time at the front of a payload or a message id.
pub fn intended_of(s: &str) -> Option<u64> {
    s.split('.').next()?.parse().ok()
}

/// What a run's workers share with its main thread.
pub struct Run {
    /// Workers plus the main thread.
    pub barrier: Barrier,
    /// Set by the main thread before the last barrier: when the schedule begins.
    pub start: OnceLock<Instant>,
    failed: AtomicBool,
    failure: Mutex<Vec<String>>,
    pub counters: Vec<WorkerCounters>,
    pub stop: watch::Receiver<bool>,
    /// Latencies are nanoseconds since this instant, shared by all threads.
    pub epoch: Instant,
}

impl Run {
    /// The shared state of `workers` workers, and the main thread's handle to stop them.
    pub fn new(workers: usize) -> (Run, watch::Sender<bool>) {
        let (stop_tx, stop) = watch::channel(false);
        let run = Run {
            barrier: Barrier::new(workers + 1),
            start: OnceLock::new(),
            failed: AtomicBool::new(false),
            failure: Mutex::new(Vec::new()),
            counters: (0..workers).map(|_| WorkerCounters::default()).collect(),
            stop,
            epoch: Instant::now(),
        };
        (run, stop_tx)
    }

    pub fn fail(&self, why: String) {
        self.failed.store(true, Relaxed);
        let mut f = self.failure.lock().unwrap();
        if f.len() < 20 {
            f.push(why);
        }
    }

    pub fn ok(&self) -> bool {
        !self.failed.load(Relaxed)
    }

    pub fn failures(&self) -> Vec<String> {
        self.failure.lock().unwrap().clone()
    }

    pub fn start(&self) -> Instant {
        *self.start.get().expect("start set before the last barrier")
    }

    /// Nanoseconds since the epoch at which the warm-up ends.
    pub fn warm_ns(&self, warmup: Duration) -> u64 {
        ns_since(self.epoch, self.start()) + warmup.as_nanos() as u64
    }
}

/// Starts `workers` threads named `name-<w>`, each running `work(w)` on a single-threaded tokio
/// runtime (futures there need not be Send: a worker's connections and tasks stay on its thread).
pub fn spawn_workers<T, F, Fut>(workers: usize, name: &str, work: F) -> Vec<std::thread::JoinHandle<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Clone + 'static,
    Fut: Future<Output = T>,
{
    (0..workers)
        .map(|w| {
            let work = work.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{w}"))
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("worker runtime");
                    tokio::task::LocalSet::new().block_on(&rt, work(w))
                })
                .expect("spawning a worker thread")
        })
        .collect()
}

/// What the main thread measured of a run.
pub struct Timing {
    pub setup_s: f64,
    pub start: Instant,
    /// From the end of the schedule until everything owed had arrived (or the drain timeout).
    pub drain_s: f64,
    /// Load start → drained.
    pub window_s: f64,
    pub drained: bool,
    pub server_cpu: f64,
    pub gen_cpu: f64,
}

/// How the main thread runs a load: the workers' setup, the schedule, the drain.
struct Drive {
    /// The workers' setup steps, each ended by a barrier.
    setup_steps: usize,
    duration: Duration,
    drain_timeout: Duration,
    /// Whether the target acknowledges sends (magpie): then the drain also waits for every send
    /// to be answered.
    acks: bool,
}

/// The main thread's part of a run: waits for the setup, calls `scrape` (the server's own
/// metrics, if it has any) and starts the schedule 200 ms later, waits for its end and the drain,
/// scrapes again and tells the workers to stop. CPU is the server's and the generator's over the
/// load window.
async fn drive<M, F, Fut>(run: &Run, d: &Drive, stop: watch::Sender<bool>, server_cpu: &dyn Fn() -> f64, scrape: F) -> (Timing, M, M)
where
    F: Fn() -> Fut,
    Fut: Future<Output = M>,
{
    let setup_start = Instant::now();
    for _ in 0..d.setup_steps {
        run.barrier.wait().await;
    }
    let setup_s = setup_start.elapsed().as_secs_f64();
    eprintln!("magpie-bench: setup took {setup_s:.1} s");
    let gen_cpu = || crate::sys::cpu_seconds("self").unwrap_or(f64::NAN);
    let before = scrape().await;
    let (server_cpu0, gen_cpu0) = (server_cpu(), gen_cpu());
    let start = Instant::now() + Duration::from_millis(200);
    let _ = run.start.set(start);
    run.barrier.wait().await;
    let (mut drained, mut schedule_end) = (false, start);
    if run.ok() {
        tokio::time::sleep_until((start + d.duration).into()).await;
        // Senders that fall behind keep going after the schedule's end.
        while totals(&run.counters).senders_running > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        schedule_end = Instant::now();
        let deadline = schedule_end + d.drain_timeout;
        loop {
            let t = totals(&run.counters);
            let answered = !d.acks || t.acked + t.errored >= t.sent;
            if answered && t.delivered >= t.expected {
                drained = true;
                break;
            }
            if Instant::now() >= deadline || t.dead > 0 && answered {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let end = Instant::now();
    let (server_cpu, gen_cpu) = (server_cpu() - server_cpu0, gen_cpu() - gen_cpu0);
    let after = scrape().await;
    let _ = stop.send(true);
    let timing = Timing {
        setup_s,
        start,
        drain_s: end.saturating_duration_since(schedule_end).as_secs_f64(),
        window_s: end.saturating_duration_since(start).as_secs_f64(),
        drained,
        server_cpu,
        gen_cpu,
    };
    (timing, before, after)
}

/// What one worker measured of the deliveries, acknowledgements and sends.
pub struct Measurements {
    pub deliver: Histogram<u64>,
    pub deliver_from_send: Histogram<u64>,
    pub echo: Histogram<u64>,
    pub ack: Histogram<u64>,
    pub send_lag: Histogram<u64>,
    /// (sender, k) → (recipients seen, slowest recipient ns); messages after the warm-up,
    /// recipients other than the sender only.
    pub per_message: HashMap<(u64, u64), (u32, u64)>,
    pub errors: BTreeMap<String, u64>,
    pub last_delivery_ns: u64,
}

fn record(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record(ns.max(1));
}

impl Default for Measurements {
    fn default() -> Measurements {
        Measurements {
            deliver: new_histogram(),
            deliver_from_send: new_histogram(),
            echo: new_histogram(),
            ack: new_histogram(),
            send_lag: new_histogram(),
            per_message: HashMap::new(),
            errors: BTreeMap::new(),
            last_delivery_ns: 0,
        }
    }
}

impl Measurements {
    pub fn error(&mut self, key: String) {
        *self.errors.entry(key).or_default() += 1;
    }

    pub fn sent(&mut self, stamp: Stamp) {
        record(&mut self.send_lag, stamp.lag_ns());
    }

    /// The first delivery of message `p` at `now_ns`, to its sender's own connection (`echo`) or
    /// to a recipient. Messages intended before `warm_ns` are delivered but not measured.
    pub fn delivered(&mut self, p: &Payload, now_ns: u64, echo: bool, warm_ns: u64) {
        self.last_delivery_ns = self.last_delivery_ns.max(now_ns);
        if p.intended_ns < warm_ns {
            return;
        }
        let latency = now_ns.saturating_sub(p.intended_ns);
        if echo {
            record(&mut self.echo, latency);
            return;
        }
        record(&mut self.deliver, latency);
        record(&mut self.deliver_from_send, now_ns.saturating_sub(p.actual_ns));
        let e = self.per_message.entry((p.sender, p.k)).or_insert((0, 0));
        e.0 += 1;
        e.1 = e.1.max(latency);
    }

    /// The sender's acknowledgement of the message intended at `intended_ns`.
    pub fn acked(&mut self, intended_ns: u64, now_ns: u64, warm_ns: u64) {
        if intended_ns >= warm_ns {
            record(&mut self.ack, now_ns.saturating_sub(intended_ns));
        }
    }

    pub fn merge(&mut self, other: &Measurements) {
        for (h, o) in [
            (&mut self.deliver, &other.deliver),
            (&mut self.deliver_from_send, &other.deliver_from_send),
            (&mut self.echo, &other.echo),
            (&mut self.ack, &other.ack),
            (&mut self.send_lag, &other.send_lag),
        ] {
            h.add(o).expect("same bounds");
        }
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        for (key, (n, max)) in &other.per_message {
            let e = self.per_message.entry(*key).or_insert((0, 0));
            e.0 += n;
            e.1 = e.1.max(*max);
        }
        self.last_delivery_ns = self.last_delivery_ns.max(other.last_delivery_ns);
    }
}

/// What the targets' own exactly-once checks counted over every receiver.
pub struct Check {
    /// Receivers that reported (every client's, unless a task died).
    pub receivers: usize,
    pub expected: u64,
    pub received: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
}

/// A system under test as the message-load scenarios drive it — the engine, the Socket.IO peer,
/// the no-logic ceiling — so that a scenario is written once ([`run_load`]) and runs against each.
// The futures stay on their worker's single-threaded runtime, so they need no Send bound.
pub trait Peer: Send + Sync + 'static {
    /// One client, connected and in its chat or room.
    type Conn;
    type Tx;
    type Rx;
    /// Setup steps, each ended by a barrier across the workers (the engine: sign in, create the
    /// chats, sync; a peer: connect and join the room).
    const SETUP_STEPS: usize;
    /// Whether the server acknowledges each send: then a message is owed to its room once
    /// acknowledged (and the drain waits for every answer), else once sent.
    const ACKS: bool;
    /// Step `step` of setting up worker `w`'s clients `mine`; step 0 connects them into `conns`.
    async fn setup(&self, run: &Run, plan: &LoadPlan, step: usize, w: usize, mine: &[usize], conns: &mut Vec<(usize, Self::Conn)>) -> Result<(), String>;
    /// The room client `client` receives in (and, without acknowledgements, sends to).
    fn room(&self, client: usize) -> u64;
    fn split(&self, client: usize, conn: Self::Conn) -> (Self::Tx, Self::Rx);
    /// Sends one stamped message.
    async fn send(&self, tx: &mut Self::Tx, payload: &str) -> Result<(), String>;
    /// The next thing the server sent this client.
    async fn recv(&self, rx: &mut Self::Rx) -> Incoming;
}

/// What a client received, as the load generator counts it.
pub enum Incoming {
    /// A bench message. `stream` orders it (its chat, or its sender) and `order` is its place
    /// there (the chat's seq, or the sender's k); `echo`: the sender's own copy.
    Delivery { payload: Payload, stream: u64, order: u64, echo: bool },
    /// The server acknowledged a send in `room`; the message's intended time, if its id says it.
    Ack { room: u64, intended_ns: Option<u64> },
    /// The server refused a request (that is its answer).
    Refused(String),
    /// Something unreadable or unexpected; the connection goes on.
    Bad(String),
    /// The server closed the connection.
    Closed(String),
    /// The connection broke (an error unless the run is stopping).
    Lost(String),
    Other,
}

/// A message-load run's parameters, the same for every target.
pub struct LoadPlan {
    pub clients: usize,
    pub workers: usize,
    /// The sending clients, in the order their phases are spread.
    pub senders: Vec<usize>,
    pub per_sender_rate: f64,
    pub duration: Duration,
    pub warmup: Duration,
    pub msg_size: usize,
    /// Connections in each chat or room: deliveries owed per message.
    pub room_size: u64,
}

/// What the workers share with the main thread during a message-load run.
pub struct LoadRun<P> {
    pub run: Run,
    pub plan: LoadPlan,
    pub peer: P,
}

#[derive(Default)]
struct WorkerState {
    m: Measurements,
    /// Messages owed to each room (acknowledged or sent there), by this worker's senders.
    owed: HashMap<u64, u64>,
}

/// One receiver's exactly-once count.
struct Received {
    room: u64,
    distinct: u64,
    duplicates: u64,
    out_of_order: u64,
}

struct WorkerOutput {
    state: WorkerState,
    receivers: Vec<Received>,
}

/// What a message-load run measured.
pub struct LoadOutcome<P, M> {
    pub shared: Arc<LoadRun<P>>,
    pub timing: Timing,
    /// The server's metrics before and after the load (see [`drive`]).
    pub scrapes: (M, M),
    pub measurements: Measurements,
    /// Messages owed to each room, all workers together.
    pub owed: HashMap<u64, u64>,
    pub check: Check,
}

/// A message-load scenario against `peer`: the workers set up, send on the open-loop schedule and
/// receive; the main thread drives (see [`drive`]); then everything is merged.
/// `server_cpu` reads the server's CPU seconds; the schedule runs for the plan's duration and the
/// drain waits up to `drain_timeout`.
pub fn run_load<P, M, F, Fut>(
    peer: P,
    plan: LoadPlan,
    server_cpu: &dyn Fn() -> f64,
    drain_timeout: Duration,
    scrape: F,
) -> Result<LoadOutcome<P, M>, String>
where
    P: Peer,
    F: Fn() -> Fut,
    Fut: Future<Output = M>,
{
    let workers = plan.workers;
    let d = Drive { setup_steps: P::SETUP_STEPS, duration: plan.duration, drain_timeout, acks: P::ACKS };
    let (run, stop) = Run::new(workers);
    let shared = Arc::new(LoadRun { run, plan, peer });
    let handles = {
        let shared = shared.clone();
        spawn_workers(workers, "bench-worker", move |w| worker(shared.clone(), w))
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let (timing, before, after) = rt.block_on(drive(&shared.run, &d, stop, server_cpu, scrape));
    let outputs: Vec<WorkerOutput> = handles.into_iter().map(|h| h.join().expect("worker panicked")).collect();
    let mut measurements = Measurements::default();
    let mut owed: HashMap<u64, u64> = HashMap::new();
    for o in &outputs {
        measurements.merge(&o.state.m);
        for (room, n) in &o.state.owed {
            *owed.entry(*room).or_default() += n;
        }
    }
    let mut check = Check { receivers: 0, expected: 0, received: 0, duplicates: 0, out_of_order: 0 };
    for r in outputs.iter().flat_map(|o| &o.receivers) {
        check.receivers += 1;
        check.expected += owed.get(&r.room).copied().unwrap_or(0);
        check.received += r.distinct;
        check.duplicates += r.duplicates;
        check.out_of_order += r.out_of_order;
    }
    Ok(LoadOutcome { shared, timing, scrapes: (before, after), measurements, owed, check })
}

impl<P: Peer, M> LoadOutcome<P, M> {
    /// The report's load section: the generator's counters, the merged measurements, the
    /// receivers' check and the main thread's timing, for an offered `rate` over `duration`
    /// seconds and the server's RSS at the end.
    pub fn section(&self, rate: f64, duration: f64, server_rss_kib: u64) -> Load {
        let (run, plan, m, check, timing) = (&self.shared.run, &self.shared.plan, &self.measurements, &self.check, &self.timing);
        let (acks, recipients) = (P::ACKS, plan.room_size.saturating_sub(1) as u32);
        let t: Totals = totals(&run.counters);
        let mut last = new_histogram();
        // A message that no recipient got at all is not in per_message; `missing` counts it.
        let mut incomplete = 0;
        for (n, max) in m.per_message.values() {
            if *n < recipients {
                incomplete += 1;
            } else {
                record(&mut last, *max);
            }
        }
        let missing = check.expected.saturating_sub(check.received);
        let answered = if acks { t.acked } else { t.echoes };
        let error_total: u64 = m.errors.values().sum();
        let exactly_once =
            check.receivers == plan.clients && missing == 0 && check.duplicates == 0 && check.received == check.expected && answered == t.sent;
        let span = m.last_delivery_ns.saturating_sub(ns_since(run.epoch, timing.start)) as f64 / 1e9;
        let recipient_deliveries = t.delivered - t.echoes;
        let busy = |cpu: f64| round3(cpu / timing.window_s.max(1e-9));
        Load {
            offered_msgs_per_s: Some(rate),
            sent: t.sent,
            sent_per_s: per_s(t.sent, duration),
            acked: acks.then_some(t.acked),
            acked_per_s: acks.then(|| per_s(t.acked, duration)),
            echoed: (!acks).then_some(t.echoes),
            deliveries: recipient_deliveries,
            echo_deliveries: t.echoes,
            deliveries_per_s: Some(per_s(t.delivered, span)),
            recipient_deliveries_per_s: Some(per_s(recipient_deliveries, span)),
            drain_s: round3(timing.drain_s),
            drained: timing.drained,
            latency_us: Latency {
                deliver: summarize(&m.deliver),
                deliver_from_send: summarize(&m.deliver_from_send),
                last_recipient: summarize(&last),
                ack: acks.then(|| summarize(&m.ack)),
                echo: summarize(&m.echo),
                send_lag: summarize(&m.send_lag),
            },
            errors: Errors { total: error_total, by_code: m.errors.clone(), dead_connections: t.dead },
            delivery_check: DeliveryCheck {
                expected: check.expected,
                received: check.received,
                missing,
                duplicates: check.duplicates,
                out_of_order: check.out_of_order,
                incomplete_messages: incomplete,
                exactly_once,
            },
            cpu: Cpu {
                window_s: round3(timing.window_s),
                generator_s: round3(timing.gen_cpu),
                generator_cores_busy: busy(timing.gen_cpu),
                server: ServerCpu {
                    engine: acks,
                    s: round3(timing.server_cpu),
                    cores_busy: busy(timing.server_cpu),
                    deliveries_per_cpu_s: Some(per_s(t.delivered, timing.server_cpu)),
                    rss_mib_after: (server_rss_kib as f64 / 1024.0 * 10.0).round() / 10.0,
                },
            },
        }
    }
}

async fn worker<P: Peer>(shared: Arc<LoadRun<P>>, w: usize) -> WorkerOutput {
    let (run, plan, peer) = (&shared.run, &shared.plan, &shared.peer);
    let mine: Vec<usize> = (w..plan.clients).step_by(plan.workers).collect();
    let mut conns = Vec::new();
    for step in 0..P::SETUP_STEPS {
        if run.ok() {
            if let Err(e) = peer.setup(run, plan, step, w, &mine, &mut conns).await {
                run.fail(format!("worker {w}: setup step {step}: {e}"));
            }
        }
        run.barrier.wait().await;
    }
    // The main thread sets the start time, then releases everyone.
    run.barrier.wait().await;
    let state = Rc::new(RefCell::new(WorkerState::default()));
    let counters = &run.counters[w];
    let (mut receivers, mut senders) = (Vec::new(), Vec::new());
    for (client, conn) in conns {
        let (tx, rx) = peer.split(client, conn);
        receivers.push(tokio::task::spawn_local(receive(shared.clone(), w, state.clone(), rx, client)));
        match plan.senders.iter().position(|&s| s == client).filter(|_| run.ok()) {
            Some(rank) => {
                counters.senders_running.fetch_add(1, Relaxed);
                senders.push(tokio::task::spawn_local(send_loop(shared.clone(), w, state.clone(), tx, client, rank)));
            }
            // Keep the sending half alive: dropping it would close a QUIC stream / WebSocket.
            None => senders.push(tokio::task::spawn_local(async move {
                let _keep = tx;
                std::future::pending::<()>().await
            })),
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
    let state = std::mem::take(&mut *state.borrow_mut());
    WorkerOutput { state, receivers: summaries }
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Sends this client's share of the schedule.
async fn send_loop<P: Peer>(shared: Arc<LoadRun<P>>, w: usize, state: Rc<RefCell<WorkerState>>, mut tx: P::Tx, client: usize, rank: usize) {
    let (run, plan, peer) = (&shared.run, &shared.plan, &shared.peer);
    let counters = &run.counters[w];
    let schedule = Schedule::new(run.epoch, run.start(), plan.per_sender_rate, rank, plan.senders.len(), plan.duration);
    let mut k = 0;
    while let Some(stamp) = schedule.wait(k).await {
        state.borrow_mut().m.sent(stamp);
        let p = payload(stamp, client, k, plan.msg_size);
        k += 1;
        if let Err(e) = peer.send(&mut tx, &p).await {
            state.borrow_mut().m.error(format!("transport_send: {}", short(&e)));
            break;
        }
        if !P::ACKS {
            *state.borrow_mut().owed.entry(peer.room(client)).or_default() += 1;
            counters.expected.fetch_add(plan.room_size, Relaxed);
        }
        counters.sent.fetch_add(1, Relaxed);
    }
    counters.senders_running.fetch_sub(1, Relaxed);
    // Keep the connection open until the receivers are told to stop.
    std::future::pending::<()>().await;
    drop(tx);
}

/// Receives for one client until the run stops or the connection ends: exactly once and in order
/// per stream, latency from the intended send time.
async fn receive<P: Peer>(shared: Arc<LoadRun<P>>, w: usize, state: Rc<RefCell<WorkerState>>, mut rx: P::Rx, client: usize) -> Received {
    let (run, plan, peer) = (&shared.run, &shared.plan, &shared.peer);
    let counters = &run.counters[w];
    let warm_ns = run.warm_ns(plan.warmup);
    let mut stop = run.stop.clone();
    // Per stream: the orders seen, and the highest so far.
    let mut seen: HashMap<u64, (SeqSet, u64)> = HashMap::new();
    let mut sum = Received { room: peer.room(client), distinct: 0, duplicates: 0, out_of_order: 0 };
    loop {
        let incoming = tokio::select! {
            r = peer.recv(&mut rx) => r,
            _ = stop.changed() => break,
        };
        let now_ns = ns_since(run.epoch, Instant::now());
        let mut st = state.borrow_mut();
        match incoming {
            Incoming::Delivery { payload, stream, order, echo } => {
                let (bits, highest) = seen.entry(stream).or_default();
                if !bits.insert(order) {
                    sum.duplicates += 1;
                    continue;
                }
                sum.distinct += 1;
                if order < *highest {
                    sum.out_of_order += 1;
                }
                *highest = (*highest).max(order);
                counters.delivered.fetch_add(1, Relaxed);
                if echo {
                    counters.echoes.fetch_add(1, Relaxed);
                }
                st.m.delivered(&payload, now_ns, echo, warm_ns);
            }
            Incoming::Ack { room, intended_ns } => {
                if let Some(intended) = intended_ns {
                    st.m.acked(intended, now_ns, warm_ns);
                }
                *st.owed.entry(room).or_default() += 1;
                counters.expected.fetch_add(plan.room_size, Relaxed);
                counters.acked.fetch_add(1, Relaxed);
            }
            Incoming::Refused(code) => {
                st.m.error(code);
                counters.errored.fetch_add(1, Relaxed);
            }
            Incoming::Bad(what) => st.m.error(what),
            Incoming::Closed(code) => {
                st.m.error(code);
                counters.dead.fetch_add(1, Relaxed);
                break;
            }
            Incoming::Lost(why) => {
                if !*stop.borrow() {
                    st.m.error(format!("transport_recv: {}", short(&why)));
                    counters.dead.fetch_add(1, Relaxed);
                }
                break;
            }
            Incoming::Other => {}
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_pad() {
        let p = payload(Stamp { intended_ns: 1500, actual_ns: 1700 }, 3, 9, 40);
        assert_eq!(p.len(), 40);
        assert_eq!(Payload::parse(&p), Some(Payload { intended_ns: 1500, sender: 3, k: 9, actual_ns: 1700 }));
        assert_eq!(message_id(&p), "1500.3.9");
        assert_eq!(intended_of(message_id(&p)), Some(1500));
        assert_eq!(Payload::parse("12.x.3.4."), None);
    }

    #[test]
    fn a_schedule_holds_what_fits_in_its_duration() {
        let t0 = Instant::now();
        // 10/s for 3 s: 30 messages whatever the phase.
        for rank in 0..10 {
            let s = Schedule::new(t0, t0, 10.0, rank, 10, Duration::from_secs(3));
            let n = (0..100).take_while(|k| s.at(*k).is_some()).count() as u64;
            assert_eq!(n, 30);
            assert_eq!(s.len(), 30);
        }
    }
}
