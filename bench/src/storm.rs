//! Scenario 2e, reconnect storm: every client drops its connection at the same instant and comes
//! straight back, while the message schedule keeps running.
//!
//! N clients in N/2 direct chats; each sends on an open-loop schedule (R/N msg/s). At `storm_at`
//! every client drops its connection (the transport closes: QUIC CONNECTION_CLOSE / TCP FIN),
//! reconnects, signs in with its device token, sends `Sync` with its cursor (the highest seq it
//! holds without a gap) and re-sends every message not yet acknowledged, with the same client
//! message id — exactly what a real client's outbox does. Measured: per client, the time from the
//! storm to its `SyncDone`; the time until the last client is synced. Checked at the end: every
//! client holds every acknowledged message of its chat exactly once (by seq and by client message
//! id, so a re-sent message stored twice would show), in order.

use crate::connect::Target;
use crate::load::{code_name, request, SetupReply};
use crate::open_loop::{intended_of, message_id, ns_since, payload, Run, Schedule, Stamp};
use crate::stats::{new_histogram, summarize, SeqSet};
use magpie_bench_report::Storm;
use bytes::Bytes;
use hdrhistogram::Histogram;
use magpie_client::session::FIRST_FREE_REQUEST_ID;
use magpie_client::transport::{FrameReceiver, FrameSender, QuicConnector};
use magpie_wire::{encode, fb, verify};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};

pub struct StormPlan {
    pub target: Target,
    pub clients: usize,
    pub workers: usize,
    /// Messages per second per client.
    pub per_client_rate: f64,
    pub duration: Duration,
    /// When, after the schedule starts, every connection drops.
    pub storm_at: Duration,
    pub msg_size: usize,
    pub concurrency: usize,
    pub drain_timeout: Duration,
}

struct Shared {
    plan: StormPlan,
    user_ids: Vec<AtomicU64>,
    chat_ids: Vec<AtomicU64>,
    /// The barrier, start time, setup failures and stop signal, as in every scenario.
    run: Run,
    storm: watch::Receiver<bool>,
    errors: Mutex<BTreeMap<String, u64>>,
    /// Clients synced after the storm.
    resynced: AtomicU64,
    sent: AtomicU64,
    /// Distinct client message ids acknowledged.
    acked: AtomicU64,
    /// Deliveries still owed, kept by the main thread to know when the run has drained: each
    /// acknowledged message adds 2 (both members), each first-time delivery subtracts 1.
    delivered: AtomicU64,
    senders_done: AtomicU64,
}

impl Shared {
    fn error(&self, what: String) {
        *self.errors.lock().unwrap().entry(what).or_default() += 1;
    }
}

/// What one client saw.
struct ClientOutcome {
    chat_id: u64,
    /// Client message ids this client got acknowledged.
    acked: HashSet<String>,
    distinct: u64,
    duplicate_seqs: u64,
    duplicate_ids: u64,
    out_of_order: u64,
    /// Storm → SyncDone on the new connection.
    resync_ns: Option<u64>,
    reconnect_error: Option<String>,
}

/// Runs the storm against the engine with process id `engine_pid`: the result, and the setup time
/// (connecting and creating the chats) in seconds.
pub fn run(plan: StormPlan, engine_pid: u32) -> Result<(Storm, f64), String> {
    let workers = plan.workers.max(1);
    let (storm_tx, storm_rx) = watch::channel(false);
    let (run, stop_tx) = Run::new(workers);
    let n = plan.clients;
    let shared = Arc::new(Shared {
        user_ids: (0..n).map(|_| AtomicU64::new(0)).collect(),
        chat_ids: (0..n).map(|_| AtomicU64::new(0)).collect(),
        run,
        storm: storm_rx,
        errors: Mutex::new(BTreeMap::new()),
        resynced: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        acked: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        senders_done: AtomicU64::new(0),
        plan,
    });
    let pid = engine_pid.to_string();
    let setup_start = Instant::now();
    let handles = {
        let shared = shared.clone();
        crate::open_loop::spawn_workers(workers, "storm", move |w| worker(w, workers, shared.clone()))
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let (setup_s, cpu, drained) = rt.block_on(async {
        let s = &shared;
        s.run.barrier.wait().await; // connected
        s.run.barrier.wait().await; // chats created
        let setup_s = setup_start.elapsed().as_secs_f64();
        eprintln!("magpie-bench: storm: {n} clients connected and in chats in {setup_s:.1} s");
        let cpu0 = crate::sys::cpu_seconds(&pid).unwrap_or(f64::NAN);
        let start = Instant::now() + Duration::from_millis(200);
        let _ = s.run.start.set(start);
        s.run.barrier.wait().await; // go
        let storm_at = start + s.plan.storm_at;
        tokio::time::sleep_until(storm_at.into()).await;
        let _ = storm_tx.send(true);
        eprintln!("magpie-bench: storm: every connection dropped");
        tokio::time::sleep_until((start + s.plan.duration).into()).await;
        while (s.senders_done.load(Relaxed) as usize) < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let deadline = Instant::now() + s.plan.drain_timeout;
        let mut drained = false;
        loop {
            // Every message acknowledged (re-sent ones count once), everyone resynced, and both
            // members of each chat hold every acknowledged message.
            let acked = s.acked.load(Relaxed);
            let all_acked = acked >= s.sent.load(Relaxed);
            let all_synced = s.resynced.load(Relaxed) as usize >= n;
            if all_acked && all_synced && s.delivered.load(Relaxed) >= 2 * acked {
                drained = true;
                break;
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let cpu = crate::sys::cpu_seconds(&pid).unwrap_or(f64::NAN) - cpu0;
        let _ = stop_tx.send(true);
        (setup_s, cpu, drained)
    });
    let mut outcomes = Vec::new();
    let mut deliver = new_histogram();
    let mut resent = 0;
    for h in handles {
        let (o, d, r) = h.join().map_err(|_| "a storm worker panicked".to_string())?;
        outcomes.extend(o);
        deliver.add(&d).expect("same bounds");
        resent += r;
    }
    let failures = shared.run.failures();
    if !failures.is_empty() {
        return Err(format!("setup failed:\n  {}", failures.join("\n  ")));
    }
    // Expected per chat: every id acknowledged to either member.
    let mut acked_by_chat: HashMap<u64, HashSet<&str>> = HashMap::new();
    for o in &outcomes {
        acked_by_chat.entry(o.chat_id).or_default().extend(o.acked.iter().map(|s| s.as_str()));
    }
    let mut resync = new_histogram();
    let (mut expected, mut received, mut missing, mut dup_seqs, mut dup_ids, mut ooo) = (0, 0, 0, 0, 0, 0);
    let mut last_sync = 0u64;
    let mut errors = shared.errors.lock().unwrap().clone();
    for o in &outcomes {
        let want = acked_by_chat.get(&o.chat_id).map(|s| s.len() as u64).unwrap_or(0);
        expected += want;
        received += o.distinct;
        missing += want.saturating_sub(o.distinct);
        dup_seqs += o.duplicate_seqs;
        dup_ids += o.duplicate_ids;
        ooo += o.out_of_order;
        match (o.resync_ns, &o.reconnect_error) {
            (Some(ns), _) => {
                resync.saturating_record(ns.max(1));
                last_sync = last_sync.max(ns);
            }
            (None, Some(e)) => *errors.entry(format!("reconnect: {e}")).or_default() += 1,
            (None, None) => *errors.entry("not resynced".into()).or_default() += 1,
        }
    }
    let resynced = shared.resynced.load(Relaxed);
    let storm = Storm {
        clients: n,
        resynced,
        all_synced_s: (last_sync as f64 / 1e6).round() / 1e3,
        resync_us: summarize(&resync),
        deliver_us: summarize(&deliver),
        sent: shared.sent.load(Relaxed),
        acked: shared.acked.load(Relaxed),
        resent_after_storm: resent,
        expected_deliveries: expected,
        received,
        missing,
        duplicate_seqs: dup_seqs,
        duplicate_ids: dup_ids,
        out_of_order: ooo,
        exactly_once: missing == 0 && dup_seqs == 0 && dup_ids == 0 && ooo == 0 && received == expected && resynced as usize == n,
        drained,
        errors,
        engine_cpu_s: (cpu * 1000.0).round() / 1000.0,
    };
    Ok((storm, setup_s))
}

type Outcomes = (Vec<ClientOutcome>, Histogram<u64>, u64);

async fn worker(w: usize, workers: usize, shared: Arc<Shared>) -> Outcomes {
    let plan = &shared.plan;
    let mine: Vec<usize> = (w..plan.clients).step_by(workers).collect();
    let fail = |e: String| shared.run.fail(e);
    // ---- connect
    let connectors = match plan.target.connectors(w, workers, mine.len()) {
        Ok(c) => Rc::new(c),
        Err(e) => {
            fail(e);
            Rc::new(Vec::new())
        }
    };
    let gate = Rc::new(Semaphore::new((plan.concurrency / workers).max(1)));
    let tasks: Vec<_> = mine
        .iter()
        .enumerate()
        .map(|(local, &index)| {
            let (shared, connectors, gate) = (shared.clone(), connectors.clone(), gate.clone());
            tokio::task::spawn_local(async move {
                let _p = gate.acquire().await.expect("never closed");
                shared.plan.target.connect(&connectors, local, index).await.map(|(c, s)| (local, index, c, s.account.user_id))
            })
        })
        .collect();
    let mut conns = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok((local, index, c, user))) => {
                shared.user_ids[index].store(user, Relaxed);
                conns.push((local, index, c));
            }
            Ok(Err(e)) => fail(e),
            Err(e) => fail(e.to_string()),
        }
    }
    shared.run.barrier.wait().await;
    // ---- chats: client 2k creates the direct chat with 2k+1
    let limit = plan.target.op_timeout;
    let rid = FIRST_FREE_REQUEST_ID;
    let mut tasks = Vec::new();
    for (_, index, c) in conns.iter_mut() {
        if *index % 2 != 0 || *index + 1 >= plan.clients {
            continue;
        }
        let peer = shared.user_ids[*index + 1].load(Relaxed);
        let index = *index;
        tasks.push(async move { (index, request(c, rid, encode::create_direct(rid, peer, ""), limit).await) });
    }
    for (index, r) in crate::load::join_all(tasks).await {
        match r {
            Ok(SetupReply::Chat(chat)) if chat != 0 => {
                shared.chat_ids[index].store(chat, Relaxed);
                shared.chat_ids[index + 1].store(chat, Relaxed);
            }
            Ok(_) => fail(format!("client {index}: CreateDirect did not answer ChatInfo")),
            Err(e) => fail(format!("client {index}: {e}")),
        }
    }
    shared.run.barrier.wait().await;
    shared.run.barrier.wait().await; // go
    let ok = shared.run.ok();
    let mut tasks = Vec::new();
    if ok {
        for (local, index, c) in conns {
            let (shared, connectors) = (shared.clone(), connectors.clone());
            let (tx, rx) = c.split();
            tasks.push(tokio::task::spawn_local(client(shared, connectors, local, index, tx, rx)));
        }
    }
    let mut outcomes = Vec::new();
    let mut hist = new_histogram();
    let mut resent = 0;
    for t in tasks {
        if let Ok((o, h, r)) = t.await {
            outcomes.push(o);
            hist.add(&h).expect("same bounds");
            resent += r;
        }
    }
    (outcomes, hist, resent)
}

/// One client for the whole run: sends its schedule, receives, drops at the storm, reconnects
/// and resumes. Returns what it saw, its delivery latencies and how many messages it re-sent.
async fn client(
    shared: Arc<Shared>,
    connectors: Rc<Vec<QuicConnector>>,
    local: usize,
    index: usize,
    tx: FrameSender,
    rx: FrameReceiver,
) -> (ClientOutcome, Histogram<u64>, u64) {
    let plan = &shared.plan;
    let epoch = shared.run.start();
    let chat_id = shared.chat_ids[index].load(Relaxed);
    // Stamps are nanoseconds since the start of the schedule.
    let schedule = Schedule::new(epoch, epoch, plan.per_client_rate, index, plan.clients, plan.duration);
    let total = schedule.len();
    let mut conn = Some((tx, rx));
    let mut storm = shared.storm.clone();
    let mut stop = shared.run.stop.clone();
    let mut stormed = false;
    let mut out = ClientOutcome {
        chat_id,
        acked: HashSet::new(),
        distinct: 0,
        duplicate_seqs: 0,
        duplicate_ids: 0,
        out_of_order: 0,
        resync_ns: None,
        reconnect_error: None,
    };
    let mut hist = new_histogram();
    let mut seen_seqs = SeqSet::default();
    let mut seen_ids: HashSet<String> = HashSet::new();
    let (mut contiguous, mut last_seq) = (0u64, 0u64);
    let mut unacked: BTreeMap<String, Bytes> = BTreeMap::new();
    let mut k = 0u64;
    let mut rid = FIRST_FREE_REQUEST_ID + 10;
    let mut sync_rid = 0u64;
    let mut resent = 0u64;
    let mut storm_instant = epoch;
    let mut done_sending = false;
    // The first Sync happens here, not in the setup, so that the chat's first events (not
    // messages) count for the cursor like everything else.
    if let Some((tx, _)) = conn.as_mut() {
        if tx.send(encode::sync(rid, &[])).await.is_err() {
            shared.error("transport_send".into());
        }
        rid += 1;
    }
    loop {
        if k >= total && !done_sending {
            done_sending = true;
            shared.senders_done.fetch_add(1, Relaxed);
        }
        let Some((tx, rx)) = conn.as_mut() else { break };
        let next = schedule.at(k).unwrap_or(epoch);
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            _ = storm.changed(), if !stormed => {
                stormed = true;
                storm_instant = Instant::now();
                drop(conn.take()); // the transport closes
                match shared.plan.target.connect(&connectors, local, index).await {
                    Ok((c, _)) => {
                        let (mut tx, rx) = c.split();
                        sync_rid = rid;
                        rid += 1;
                        let mut ok = tx.send(encode::sync(sync_rid, &[(chat_id, contiguous)])).await.is_ok();
                        for frame in unacked.values() {
                            ok = ok && tx.send(frame.clone()).await.is_ok();
                            resent += 1;
                        }
                        if !ok {
                            out.reconnect_error = Some("send after reconnect failed".into());
                        }
                        conn = Some((tx, rx));
                    }
                    Err(e) => {
                        out.reconnect_error = Some(e);
                        break;
                    }
                }
            }
            _ = tokio::time::sleep_until(next.into()), if k < total => {
                let stamp = Stamp { intended_ns: schedule.ns(next), actual_ns: schedule.ns(Instant::now()) };
                let content = payload(stamp, index, k, plan.msg_size);
                let id = message_id(&content);
                let frame = encode::send_message(rid, chat_id, id, &content);
                rid += 1;
                k += 1;
                unacked.insert(id.to_owned(), frame.clone());
                shared.sent.fetch_add(1, Relaxed);
                if tx.send(frame).await.is_err() && !stormed {
                    shared.error("transport_send".into());
                }
            }
            r = rx.recv() => {
                let buf = match r {
                    Ok(b) => b,
                    Err(e) => {
                        // A connection lost other than by the storm: this client is out.
                        if !*stop.borrow() {
                            shared.error(format!("transport_recv: {}", e.to_string().chars().take(60).collect::<String>()));
                        }
                        break;
                    }
                };
                let now = Instant::now();
                let Ok(f) = verify::server_frame(&buf) else {
                    shared.error("bad_server_frame".into());
                    continue;
                };
                match f.body_type() {
                    fb::Body::Deliver => {
                        let Some(ev) = f.body_as_deliver().and_then(|d| d.event()).and_then(|e| verify::event(e.bytes()).ok()) else { continue };
                        // Every event counts for the cursor (the chat's first events are not
                        // messages); only messages are counted as deliveries.
                        let seq = ev.seq();
                        if !seen_seqs.insert(seq) {
                            out.duplicate_seqs += 1;
                            continue;
                        }
                        while seen_seqs.contains(contiguous + 1) {
                            contiguous += 1;
                        }
                        let Some(m) = ev.body_as_message_body() else { continue };
                        let content = m.content().unwrap_or("");
                        if !seen_ids.insert(message_id(content).to_owned()) {
                            out.duplicate_ids += 1;
                        }
                        out.distinct += 1;
                        shared.delivered.fetch_add(1, Relaxed);
                        if seq < last_seq {
                            out.out_of_order += 1;
                        }
                        last_seq = last_seq.max(seq);
                        if let Some(intended) = intended_of(content) {
                            hist.saturating_record(ns_since(epoch, now).saturating_sub(intended).max(1));
                        }
                    }
                    fb::Body::SendAck => {
                        let Some(a) = f.body_as_send_ack() else { continue };
                        if let Some(id) = a.client_msg_id() {
                            unacked.remove(id);
                            if out.acked.insert(id.to_owned()) {
                                shared.acked.fetch_add(1, Relaxed);
                            }
                        }
                    }
                    fb::Body::SyncDone if stormed && f.request_id() == sync_rid && out.resync_ns.is_none() => {
                        out.resync_ns = Some(now.saturating_duration_since(storm_instant).as_nanos() as u64);
                        shared.resynced.fetch_add(1, Relaxed);
                    }
                    fb::Body::Error => {
                        let code = f.body_as_error().map(|e| e.code()).unwrap_or(0);
                        shared.error(code_name(code));
                    }
                    fb::Body::Close => {
                        let code = f.body_as_close().map(|c| c.code()).unwrap_or(0);
                        shared.error(format!("close_{}", code_name(code)));
                    }
                    _ => {}
                }
            }
        }
    }
    if !done_sending {
        // Out early (an error): the main thread must not wait for this client's schedule.
        shared.senders_done.fetch_add(1, Relaxed);
    }
    (out, hist, resent)
}
