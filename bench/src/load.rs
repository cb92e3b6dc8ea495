//! The load generator: worker threads (each a single-threaded tokio runtime), raw signed-in
//! connections, and an open-loop send schedule.
//!
//! Phases, separated by a barrier that the main thread joins: connect and register every client,
//! create the chats, `Sync` every connection, then load. During the load every sending client
//! sends at its intended times `start + phase + k / rate` whatever happened before (open loop),
//! and writes the intended time into the message, so the recipient measures latency from the
//! intended time, not from when the generator got round to sending (no coordinated omission).

use crate::stats::{new_histogram, SeqSet, WorkerCounters};
use bytes::Bytes;
use hdrhistogram::Histogram;
use crate::connect::Target;
use magpie_client::session::FIRST_FREE_REQUEST_ID;
use magpie_client::transport::{Connection, FrameReceiver, FrameSender};
use magpie_wire::{encode, fb, verify, ErrorCode};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Barrier, Semaphore};
use tokio::time::timeout;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// N clients in N/2 direct chats, every client sending at R/N.
    OneToOne,
    /// One group of G members; S of them send, R messages/s in total.
    Fanout,
    /// A channel-like group (default 100,000 members, one sender at 1 msg/s): fan-out at its
    /// largest; latency to the last member is the number that matters.
    Channel,
    /// Connection density: engine memory per idle connection and setup rate, in steps.
    Density,
    /// Reconnect storm: every client drops and resumes at once while messages keep flowing.
    Storm,
    /// Storage: durable appends in direct chats (ack latency), then history page reads.
    Storage,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::OneToOne => "one-to-one",
            Scenario::Fanout => "fanout",
            Scenario::Channel => "channel",
            Scenario::Density => "density",
            Scenario::Storm => "storm",
            Scenario::Storage => "storage",
        }
    }

    /// One group for everyone (else: direct chats of two).
    pub fn one_group(self) -> bool {
        matches!(self, Scenario::Fanout | Scenario::Channel)
    }
}

/// Everything the workers need, fixed before they start.
pub struct Plan {
    pub scenario: Scenario,
    pub target: Target,
    pub clients: usize,
    pub workers: usize,
    /// Indices of the sending clients.
    pub senders: Vec<usize>,
    /// Messages per second per sender.
    pub per_sender_rate: f64,
    pub duration: Duration,
    pub warmup: Duration,
    pub msg_size: usize,
    /// Connections in each chat (2 for direct chats, G for the group): deliveries per message.
    pub members_per_chat: u64,
    pub register_concurrency: usize,
    pub op_timeout: Duration,
    /// Latencies are nanoseconds since this instant, shared by all threads.
    pub epoch: Instant,
}

/// State shared by the main thread and the workers.
pub struct Shared {
    pub plan: Plan,
    pub user_ids: Vec<AtomicU64>,
    pub chat_ids: Vec<AtomicU64>,
    /// One-group scenarios: the group's newest event after setup, where every member's Sync
    /// starts.
    pub group_cursor: AtomicU64,
    /// Workers plus the main thread.
    pub barrier: Barrier,
    /// Set by the main thread before the last barrier: when the schedule begins.
    pub start: OnceLock<Instant>,
    pub failed: AtomicBool,
    pub failure: Mutex<Vec<String>>,
    pub counters: Vec<WorkerCounters>,
    pub stop: watch::Receiver<bool>,
}

impl Shared {
    pub fn fail(&self, why: String) {
        self.failed.store(true, Relaxed);
        let mut f = self.failure.lock().unwrap();
        if f.len() < 20 {
            f.push(why);
        }
    }

    fn ok(&self) -> bool {
        !self.failed.load(Relaxed)
    }
}

/// What one worker measured.
pub struct WorkerReport {
    pub deliver: Histogram<u64>,
    pub deliver_from_send: Histogram<u64>,
    pub echo: Histogram<u64>,
    pub ack: Histogram<u64>,
    pub send_lag: Histogram<u64>,
    /// (chat, seq) → (intended ns, recipients seen here, slowest recipient ns); messages after
    /// the warm-up only, recipients other than the sender only.
    pub per_message: HashMap<(u64, u64), (u64, u32, u64)>,
    pub acked_per_chat: HashMap<u64, u64>,
    pub errors: BTreeMap<String, u64>,
    pub receivers: Vec<ReceiverSummary>,
    pub first_delivery_ns: u64,
    pub last_delivery_ns: u64,
}

impl WorkerReport {
    /// A report with nothing recorded yet; `first_delivery_ns` starts where `min` can lower it.
    fn empty(first_delivery_ns: u64) -> WorkerReport {
        WorkerReport {
            deliver: new_histogram(),
            deliver_from_send: new_histogram(),
            echo: new_histogram(),
            ack: new_histogram(),
            send_lag: new_histogram(),
            per_message: HashMap::new(),
            acked_per_chat: HashMap::new(),
            errors: BTreeMap::new(),
            receivers: Vec::new(),
            first_delivery_ns,
            last_delivery_ns: 0,
        }
    }
}

pub struct ReceiverSummary {
    pub chat_id: u64,
    pub distinct: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub dead: bool,
}

struct WorkerState {
    report: WorkerReport,
}

type State = Rc<RefCell<WorkerState>>;

fn ns_since(epoch: Instant, t: Instant) -> u64 {
    t.saturating_duration_since(epoch).as_nanos() as u64
}

fn record(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record(ns.max(1));
}

// ---------------------------------------------------------------------------- setup helpers

pub enum SetupReply {
    Chat(u64),
    /// A history page: the seq of its last event (0 if empty).
    Page(u64),
    Done,
}

/// Sends `frame` and waits for the reply to `rid`, skipping pushes.
pub async fn request(conn: &mut Connection, rid: u64, frame: Bytes, limit: Duration) -> Result<SetupReply, String> {
    let fut = async {
        conn.send(frame).await.map_err(|e| format!("send: {e}"))?;
        loop {
            let buf = conn.recv().await.map_err(|e| format!("recv: {e}"))?;
            let f = verify::server_frame(&buf).map_err(|e| format!("bad frame from server: {e}"))?;
            if f.body_type() == fb::Body::Close {
                let c = f.body_as_close();
                return Err(format!(
                    "closed by server: {} {}",
                    code_name(c.map(|c| c.code()).unwrap_or(0)),
                    c.and_then(|c| c.reason()).unwrap_or("")
                ));
            }
            if f.request_id() != rid {
                continue;
            }
            return match f.body_type() {
                fb::Body::ChatInfo => Ok(SetupReply::Chat(f.body_as_chat_info().map(|c| c.chat_id()).unwrap_or(0))),
                fb::Body::HistoryPage => {
                    let last = f.body_as_history_page().and_then(|p| p.events()).and_then(|e| e.iter().last());
                    let seq = last.and_then(|b| b.event()).and_then(|e| verify::event(e.bytes()).ok()).map(|e| e.seq()).unwrap_or(0);
                    Ok(SetupReply::Page(seq))
                }
                fb::Body::Error => {
                    let e = f.body_as_error();
                    Err(format!(
                        "error {}: {}",
                        code_name(e.map(|e| e.code()).unwrap_or(0)),
                        e.and_then(|e| e.message()).unwrap_or("")
                    ))
                }
                _ => Ok(SetupReply::Done),
            };
        }
    };
    timeout(limit, fut).await.map_err(|_| "timed out".to_string())?
}

pub fn code_name(code: u16) -> String {
    ErrorCode::from_u16(code).map(|c| c.name().to_owned()).unwrap_or_else(|| format!("code_{code}"))
}

// ---------------------------------------------------------------------------- the worker

struct Client {
    index: usize,
    conn: Connection,
    user_id: u64,
    next_rid: u64,
}

/// Runs worker `w` to completion on the current thread.
pub fn run_worker(w: usize, shared: Arc<Shared>) -> WorkerReport {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("worker runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, worker(w, shared))
}

async fn worker(w: usize, shared: Arc<Shared>) -> WorkerReport {
    let plan = &shared.plan;
    let mine: Vec<usize> = (w..plan.clients).step_by(plan.workers).collect();
    let state: State = Rc::new(RefCell::new(WorkerState {
        report: WorkerReport::empty(u64::MAX),
    }));

    // ---- phase 1: connect and register
    let clients = if shared.ok() {
        match connect_all(w, &shared, &mine).await {
            Ok(c) => c,
            Err(e) => {
                shared.fail(format!("worker {w}: connecting: {e}"));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    for c in &clients {
        shared.user_ids[c.index].store(c.user_id, Relaxed);
    }
    shared.barrier.wait().await;

    // ---- phase 2: chats
    let mut clients = clients;
    if shared.ok() {
        if let Err(e) = create_chats(&shared, &mut clients).await {
            shared.fail(format!("worker {w}: creating chats: {e}"));
        }
    }
    shared.barrier.wait().await;

    // ---- phase 3: sync every connection
    if shared.ok() {
        if let Err(e) = sync_all(&shared, &mut clients).await {
            shared.fail(format!("worker {w}: sync: {e}"));
        }
    }
    shared.barrier.wait().await;
    // The main thread sets the start time, then releases everyone.
    shared.barrier.wait().await;

    // ---- phase 4: load
    let counters = &shared.counters[w];
    let start = *shared.start.get().expect("start set before the last barrier");
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    for c in clients {
        let chat_id = shared.chat_ids[c.index].load(Relaxed);
        let (tx, rx) = c.conn.split();
        let (st, sh) = (state.clone(), shared.clone());
        receivers.push(tokio::task::spawn_local(receive(sh, w, st, rx, c.user_id, chat_id)));
        if shared.ok() {
            if let Some(rank) = plan.senders.iter().position(|&s| s == c.index) {
                counters.senders_running.fetch_add(1, Relaxed);
                let (st, sh) = (state.clone(), shared.clone());
                senders.push(tokio::task::spawn_local(send_loop(sh, w, st, tx, c.index, rank, chat_id, c.next_rid, start)));
                continue;
            }
        }
        // Keep the sending half alive: dropping it would close a QUIC stream / WebSocket.
        senders.push(tokio::task::spawn_local(async move {
            let _keep = tx;
            std::future::pending::<()>().await
        }));
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
    let mut st = state.borrow_mut();
    st.report.receivers = summaries;
    std::mem::replace(
        &mut st.report,
        WorkerReport::empty(0),
    )
}

async fn connect_all(w: usize, shared: &Arc<Shared>, mine: &[usize]) -> Result<Vec<Client>, String> {
    let plan = &shared.plan;
    let connectors = Rc::new(plan.target.connectors(w, plan.workers, mine.len())?);
    let gate = Rc::new(Semaphore::new((plan.register_concurrency / plan.workers).max(1)));
    let mut tasks = Vec::new();
    for (local, &index) in mine.iter().enumerate() {
        let (shared, connectors, gate) = (shared.clone(), connectors.clone(), gate.clone());
        tasks.push(tokio::task::spawn_local(async move {
            let _permit = gate.acquire().await.expect("never closed");
            let (conn, session) = shared.plan.target.connect(&connectors, local, index).await?;
            Ok::<_, String>(Client { index, conn, user_id: session.account.user_id, next_rid: FIRST_FREE_REQUEST_ID })
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.map_err(|e| e.to_string())??);
    }
    Ok(clients)
}

async fn create_chats(shared: &Arc<Shared>, clients: &mut [Client]) -> Result<(), String> {
    let plan = &shared.plan;
    let limit = plan.op_timeout;
    match plan.scenario.one_group() {
        false => {
            // Client 2k creates the direct chat with client 2k+1 (whichever worker holds it).
            let mut tasks = Vec::new();
            for c in clients.iter_mut().filter(|c| c.index % 2 == 0) {
                let peer = shared.user_ids[c.index + 1].load(Relaxed);
                let rid = c.next_rid;
                c.next_rid += 1;
                let frame = encode::create_direct(rid, peer, "");
                let index = c.index;
                tasks.push(async move {
                    match request(&mut c.conn, rid, frame, limit).await? {
                        SetupReply::Chat(id) if id != 0 => Ok((index, id)),
                        _ => Err(format!("client {index}: CreateDirect did not answer ChatInfo")),
                    }
                });
            }
            for r in join_all(tasks).await {
                let (index, chat) = r?;
                shared.chat_ids[index].store(chat, Relaxed);
                shared.chat_ids[index + 1].store(chat, Relaxed);
            }
        }
        true => {
            let Some(owner) = clients.iter_mut().find(|c| c.index == 0) else { return Ok(()) };
            let members: Vec<u64> = (1..plan.clients).map(|i| shared.user_ids[i].load(Relaxed)).collect();
            let mut chunks = members.chunks(magpie_wire::limits::MAX_MEMBERS_PER_REQUEST);
            let first = chunks.next().unwrap_or(&[]);
            let rid = owner.next_rid;
            owner.next_rid += 1;
            let chat = match request(&mut owner.conn, rid, encode::create_group(rid, "bench", first), limit).await? {
                SetupReply::Chat(id) if id != 0 => id,
                _ => return Err("CreateGroup did not answer ChatInfo".into()),
            };
            for chunk in chunks {
                let rid = owner.next_rid;
                owner.next_rid += 1;
                request(&mut owner.conn, rid, encode::add_members(rid, chat, chunk), limit).await?;
            }
            // Members sync from the newest event: replaying the group's membership events to
            // every member (one per AddMembers chunk, to 100,000 connections for a channel) is
            // setup work, not what the scenario measures.
            let rid = owner.next_rid;
            owner.next_rid += 1;
            let newest = match request(&mut owner.conn, rid, encode::history(rid, chat, 0, fb::Direction::Backward, 1), limit).await? {
                SetupReply::Page(seq) => seq,
                _ => return Err("History did not answer a page".into()),
            };
            shared.group_cursor.store(newest, Relaxed);
            for id in &shared.chat_ids {
                id.store(chat, Relaxed);
            }
        }
    }
    Ok(())
}

async fn sync_all(shared: &Arc<Shared>, clients: &mut [Client]) -> Result<(), String> {
    let limit = shared.plan.op_timeout;
    let tasks: Vec<_> = clients
        .iter_mut()
        .map(|c| {
            let rid = c.next_rid;
            c.next_rid += 1;
            let index = c.index;
            let cursors = match shared.group_cursor.load(Relaxed) {
                0 => Vec::new(),
                seq => vec![(shared.chat_ids[index].load(Relaxed), seq)],
            };
            async move { request(&mut c.conn, rid, encode::sync(rid, &cursors), limit).await.map_err(|e| format!("client {index}: {e}")) }
        })
        .collect();
    for r in join_all(tasks).await {
        r?;
    }
    Ok(())
}

/// Runs futures concurrently on the current task (they borrow, so no spawn). futures-util's
/// `join_all` polls only the futures that were woken once there are more than a few, so tens of
/// thousands of requests do not cost a quadratic number of polls.
pub use futures_util::future::join_all;

// ---------------------------------------------------------------------------- load

/// Sends this client's share of the schedule: message k at `start + phase + k × period`.
#[allow(clippy::too_many_arguments)]
async fn send_loop(
    shared: Arc<Shared>,
    w: usize,
    state: State,
    mut tx: FrameSender,
    index: usize,
    rank: usize,
    chat_id: u64,
    first_rid: u64,
    start: Instant,
) {
    let plan = &shared.plan;
    let counters = &shared.counters[w];
    let period = 1.0 / plan.per_sender_rate;
    // Senders are spread evenly over one period, so the aggregate rate is smooth.
    let phase = period * rank as f64 / plan.senders.len() as f64;
    let duration = plan.duration.as_secs_f64();
    let start_ns = ns_since(plan.epoch, start);
    let mut rid = first_rid;
    let mut k: u64 = 0;
    let pad = "x".repeat(plan.msg_size);
    loop {
        let offset = phase + k as f64 * period;
        if offset >= duration {
            break;
        }
        let intended = start + Duration::from_secs_f64(offset);
        tokio::time::sleep_until(intended.into()).await;
        let now = Instant::now();
        let intended_ns = start_ns + (offset * 1e9) as u64;
        record(&mut state.borrow_mut().report.send_lag, now.saturating_duration_since(intended).as_nanos() as u64);
        let id = format!("{intended_ns}.{index}.{k}");
        // The actual send time too, so recipients can separate the engine's latency from the
        // generator's own lateness.
        let mut content = format!("{id}.{}.", ns_since(plan.epoch, now));
        if content.len() < plan.msg_size {
            content.push_str(&pad[..plan.msg_size - content.len()]);
        }
        let frame = encode::send_message(rid, chat_id, &id, &content);
        rid += 1;
        k += 1;
        if let Err(e) = tx.send(frame).await {
            *state.borrow_mut().report.errors.entry(format!("transport_send: {}", short(&e.to_string()))).or_default() += 1;
            break;
        }
        counters.sent.fetch_add(1, Relaxed);
    }
    counters.senders_running.fetch_sub(1, Relaxed);
    // Keep the connection open until the receivers are told to stop.
    std::future::pending::<()>().await;
    drop(tx);
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The intended send time (ns since the epoch) written at the front of id and content.
fn intended_of(s: &str) -> Option<u64> {
    s.split('.').next()?.parse().ok()
}

/// The actual send time, the fourth field of the content.
fn actual_of(s: &str) -> Option<u64> {
    s.split('.').nth(3)?.parse().ok()
}

async fn receive(
    shared: Arc<Shared>,
    w: usize,
    state: State,
    mut rx: FrameReceiver,
    me: u64,
    chat_id: u64,
) -> ReceiverSummary {
    let plan = &shared.plan;
    let counters = &shared.counters[w];
    let warm_ns = ns_since(plan.epoch, *shared.start.get().expect("start set")) + plan.warmup.as_nanos() as u64;
    let mut stop = shared.stop.clone();
    let mut seen = SeqSet::default();
    let mut sum = ReceiverSummary { chat_id, distinct: 0, duplicates: 0, out_of_order: 0, dead: false };
    let mut last_seq = 0u64;
    loop {
        let buf = tokio::select! {
            r = rx.recv() => r,
            _ = stop.changed() => break,
        };
        let buf = match buf {
            Ok(b) => b,
            Err(e) => {
                if !*stop.borrow() {
                    *state.borrow_mut().report.errors.entry(format!("transport_recv: {}", short(&e.to_string()))).or_default() += 1;
                    counters.dead.fetch_add(1, Relaxed);
                    sum.dead = true;
                }
                break;
            }
        };
        let now_ns = ns_since(plan.epoch, Instant::now());
        let Ok(f) = verify::server_frame(&buf) else {
            *state.borrow_mut().report.errors.entry("bad_server_frame".into()).or_default() += 1;
            continue;
        };
        match f.body_type() {
            fb::Body::Deliver => {
                let Some(ev) = f.body_as_deliver().and_then(|d| d.event()) else { continue };
                let Ok(ev) = verify::event(ev.bytes()) else {
                    *state.borrow_mut().report.errors.entry("bad_event".into()).or_default() += 1;
                    continue;
                };
                let Some(m) = ev.body_as_message_body() else { continue };
                let content = m.content().unwrap_or("");
                let Some(intended) = intended_of(content) else { continue };
                let actual = actual_of(content).unwrap_or(intended);
                let seq = ev.seq();
                // Exactly once, in order.
                if !seen.insert(seq) {
                    sum.duplicates += 1;
                    continue;
                }
                sum.distinct += 1;
                if seq < last_seq {
                    sum.out_of_order += 1;
                }
                last_seq = last_seq.max(seq);
                counters.delivered.fetch_add(1, Relaxed);
                let latency = now_ns.saturating_sub(intended);
                let mut st = state.borrow_mut();
                let r = &mut st.report;
                r.first_delivery_ns = r.first_delivery_ns.min(now_ns);
                r.last_delivery_ns = r.last_delivery_ns.max(now_ns);
                if ev.sender_id() == me {
                    counters.echoes.fetch_add(1, Relaxed);
                    if intended >= warm_ns {
                        record(&mut r.echo, latency);
                    }
                } else if intended >= warm_ns {
                    record(&mut r.deliver, latency);
                    record(&mut r.deliver_from_send, now_ns.saturating_sub(actual));
                    let e = r.per_message.entry((ev.chat_id(), seq)).or_insert((intended, 0, 0));
                    e.1 += 1;
                    e.2 = e.2.max(latency);
                }
            }
            fb::Body::SendAck => {
                let Some(a) = f.body_as_send_ack() else { continue };
                let mut st = state.borrow_mut();
                *st.report.acked_per_chat.entry(a.chat_id()).or_default() += 1;
                if let Some(intended) = a.client_msg_id().and_then(intended_of) {
                    if intended >= warm_ns {
                        record(&mut st.report.ack, now_ns.saturating_sub(intended));
                    }
                }
                counters.expected.fetch_add(plan.members_per_chat, Relaxed);
                counters.acked.fetch_add(1, Relaxed);
            }
            fb::Body::Error => {
                let code = f.body_as_error().map(|e| e.code()).unwrap_or(0);
                *state.borrow_mut().report.errors.entry(code_name(code)).or_default() += 1;
                counters.errored.fetch_add(1, Relaxed);
            }
            fb::Body::Close => {
                let code = f.body_as_close().map(|c| c.code()).unwrap_or(0);
                *state.borrow_mut().report.errors.entry(format!("close_{}", code_name(code))).or_default() += 1;
                counters.dead.fetch_add(1, Relaxed);
                sum.dead = true;
                break;
            }
            _ => {}
        }
    }
    sum
}
