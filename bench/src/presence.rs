//! Scenario `presence`, a connect storm with presence: N clients in N/2 direct chats connect at
//! the same instant, twice in one run — first without watching anyone (the baseline), then each
//! watching its peer and its chat (`WatchPresence`, PROTOCOL.md §6.15) — and every presence
//! frame that reaches a client in the round is counted.
//!
//! Setup (not measured): every client connects once, client 2k creates the direct chat with
//! 2k+1, and every connection closes. Then each round: all clients connect, sign in with their
//! token and `Sync` at once (no gate), the watching round adds a `WatchPresence`; after the last
//! `SyncDone` every client keeps listening for the observation window, then closes. Measured per
//! round: connect → `SyncDone` per client, the time until the last client is synced, engine CPU
//! seconds over the round, presence frames and entries received (total and the most one client
//! got). Checked in the watching round: every client's last word on its peer is that the peer
//! is online (nothing was lost, however the pushes were coalesced).

use crate::connect::Target;
use crate::load::{request, SetupReply};
use crate::open_loop::Run;
use crate::stats::{new_histogram, summarize};
use magpie_bench_report::{PresenceRound, PresenceStorm};
use magpie_client::session::FIRST_FREE_REQUEST_ID;
use magpie_client::transport::QuicConnector;
use magpie_wire::{encode, fb, verify};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};

pub struct PresencePlan {
    pub target: Target,
    pub clients: usize,
    pub workers: usize,
    /// How long clients keep listening after the last one synced.
    pub window: Duration,
    /// Setup connections at once.
    pub concurrency: usize,
}

struct Shared {
    plan: PresencePlan,
    user_ids: Vec<AtomicU64>,
    chat_ids: Vec<AtomicU64>,
    run: Run,
    /// Set by the main thread before each round's barrier.
    go: Mutex<Option<Instant>>,
    synced: AtomicU64,
    /// Clients whose `WatchPresence` was answered (or who gave up).
    answered: AtomicU64,
    /// The round number whose clients must stop listening.
    stop: watch::Receiver<u32>,
    outcomes: Mutex<Vec<(u32, Outcome)>>,
}

#[derive(Default, Clone)]
struct Outcome {
    synced_ns: Option<u64>,
    presence_frames: u64,
    presence_entries: u64,
    presence_bytes: u64,
    other_frames: u64,
    peer_online_at_end: bool,
    error: Option<String>,
}

pub fn run(plan: PresencePlan, engine_pid: u32) -> Result<(PresenceStorm, f64), String> {
    let workers = plan.workers.max(1);
    let n = plan.clients;
    let (run, _stop_all) = Run::new(workers);
    let (stop_tx, stop_rx) = watch::channel(0u32);
    let shared = Arc::new(Shared {
        user_ids: (0..n).map(|_| AtomicU64::new(0)).collect(),
        chat_ids: (0..n).map(|_| AtomicU64::new(0)).collect(),
        run,
        go: Mutex::new(None),
        synced: AtomicU64::new(0),
        answered: AtomicU64::new(0),
        stop: stop_rx,
        outcomes: Mutex::new(Vec::new()),
        plan,
    });
    let pid = engine_pid.to_string();
    let setup_start = Instant::now();
    let handles = {
        let shared = shared.clone();
        crate::open_loop::spawn_workers(workers, "presence", move |w| worker(w, workers, shared.clone()))
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let rounds = rt.block_on(async {
        let s = &shared;
        s.run.barrier.wait().await; // connected
        s.run.barrier.wait().await; // chats created
        s.run.barrier.wait().await; // closed
        let setup_s = setup_start.elapsed().as_secs_f64();
        eprintln!("magpie-bench: presence: {n} clients in {} direct chats in {setup_s:.1} s; every connection closed", n / 2);
        let mut measured = Vec::new();
        for round in 1..=2u32 {
            // Let the engine see every connection of the previous phase go.
            tokio::time::sleep(Duration::from_secs(2)).await;
            s.synced.store(0, Relaxed);
            s.answered.store(0, Relaxed);
            let cpu0 = crate::sys::cpu_seconds(&pid).unwrap_or(f64::NAN);
            let go = Instant::now();
            *s.go.lock().unwrap() = Some(go);
            s.run.barrier.wait().await; // go
            let deadline = go + s.plan.target.op_timeout;
            while (s.synced.load(Relaxed) as usize) < n && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let all_synced_s = go.elapsed().as_secs_f64();
            // The window starts once every watch is answered too (the watching round).
            while round == 2 && (s.answered.load(Relaxed) as usize) < n && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(s.plan.window).await;
            let _ = stop_tx.send(round);
            s.run.barrier.wait().await; // round done
            let cpu = crate::sys::cpu_seconds(&pid).unwrap_or(f64::NAN) - cpu0;
            eprintln!("magpie-bench: presence: round {round} ({}) all synced in {all_synced_s:.2} s", if round == 1 { "baseline" } else { "watching" });
            measured.push((all_synced_s, cpu, go.elapsed().as_secs_f64()));
        }
        (setup_s, measured)
    });
    for h in handles {
        h.join().map_err(|_| "a presence worker panicked".to_string())?;
    }
    let failures = shared.run.failures();
    if !failures.is_empty() {
        return Err(format!("setup failed:\n  {}", failures.join("\n  ")));
    }
    let (setup_s, measured) = rounds;
    let outcomes = std::mem::take(&mut *shared.outcomes.lock().unwrap());
    let mut result = Vec::new();
    for (round, (all_synced_s, cpu, round_s)) in (1..=2u32).zip(measured) {
        let mine: Vec<&Outcome> = outcomes.iter().filter(|(r, _)| *r == round).map(|(_, o)| o).collect();
        let mut h = new_histogram();
        let mut errors = std::collections::BTreeMap::new();
        for o in &mine {
            if let Some(ns) = o.synced_ns {
                h.saturating_record(ns.max(1));
            }
            if let Some(e) = &o.error {
                *errors.entry(e.clone()).or_insert(0u64) += 1;
            }
        }
        result.push(PresenceRound {
            watching: round == 2,
            clients: mine.len(),
            synced: mine.iter().filter(|o| o.synced_ns.is_some()).count(),
            all_synced_s: (all_synced_s * 1000.0).round() / 1000.0,
            sync_us: summarize(&h),
            round_s: (round_s * 1000.0).round() / 1000.0,
            engine_cpu_s: (cpu * 1000.0).round() / 1000.0,
            presence_frames: mine.iter().map(|o| o.presence_frames).sum(),
            presence_entries: mine.iter().map(|o| o.presence_entries).sum(),
            presence_bytes: mine.iter().map(|o| o.presence_bytes).sum(),
            max_presence_frames_per_client: mine.iter().map(|o| o.presence_frames).max().unwrap_or(0),
            other_frames: mine.iter().map(|o| o.other_frames).sum(),
            peer_online_at_end: mine.iter().filter(|o| o.peer_online_at_end).count(),
            errors,
        });
    }
    Ok((PresenceStorm { clients: n, window_s: shared.plan.window.as_secs_f64(), rounds: result }, setup_s))
}

async fn worker(w: usize, workers: usize, shared: Arc<Shared>) {
    let plan = &shared.plan;
    let mine: Vec<usize> = (w..plan.clients).step_by(workers).collect();
    let fail = |e: String| shared.run.fail(e);
    let connectors = match plan.target.connectors(w, workers, mine.len()) {
        Ok(c) => Rc::new(c),
        Err(e) => {
            fail(e);
            Rc::new(Vec::new())
        }
    };
    // ---- setup: connect (gated), chats, close
    let gate = Rc::new(Semaphore::new((plan.concurrency / workers).max(1)));
    let tasks: Vec<_> = mine
        .iter()
        .enumerate()
        .map(|(local, &index)| {
            let (shared, connectors, gate) = (shared.clone(), connectors.clone(), gate.clone());
            tokio::task::spawn_local(async move {
                let _p = gate.acquire().await.expect("never closed");
                shared.plan.target.connect(&connectors, local, index).await.map(|(c, s)| (index, c, s.account.user_id))
            })
        })
        .collect();
    let mut conns = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok((index, c, user))) => {
                shared.user_ids[index].store(user, Relaxed);
                conns.push((index, c));
            }
            Ok(Err(e)) => fail(e),
            Err(e) => fail(e.to_string()),
        }
    }
    shared.run.barrier.wait().await;
    let limit = plan.target.op_timeout;
    let rid = FIRST_FREE_REQUEST_ID;
    let mut tasks = Vec::new();
    for (index, c) in conns.iter_mut() {
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
    for (_, c) in conns {
        c.close().await;
    }
    shared.run.barrier.wait().await;
    // ---- the two rounds: everyone at once
    for round in 1..=2u32 {
        shared.run.barrier.wait().await; // go
        let go = shared.go.lock().unwrap().expect("set before the barrier");
        let tasks: Vec<_> = mine
            .iter()
            .enumerate()
            .map(|(local, &index)| tokio::task::spawn_local(client(shared.clone(), connectors.clone(), local, index, round, go)))
            .collect();
        let mut outs = Vec::with_capacity(tasks.len());
        for t in tasks {
            outs.push((round, t.await.unwrap_or_else(|e| Outcome { error: Some(e.to_string()), ..Outcome::default() })));
        }
        shared.outcomes.lock().unwrap().extend(outs);
        shared.run.barrier.wait().await; // round done
    }
}

async fn client(shared: Arc<Shared>, connectors: Rc<Vec<QuicConnector>>, local: usize, index: usize, round: u32, go: Instant) -> Outcome {
    let mut out = Outcome::default();
    let watching = round == 2;
    let peer = shared.user_ids[index ^ 1].load(Relaxed);
    let chat = shared.chat_ids[index].load(Relaxed);
    let mut stop = shared.stop.clone();
    let mut conn = match shared.plan.target.connect(&connectors, local, index).await {
        Ok((c, _)) => c,
        Err(e) => {
            out.error = Some(format!("connect: {}", e.split(": ").last().unwrap_or("")));
            shared.synced.fetch_add(1, Relaxed);
            shared.answered.fetch_add(1, Relaxed);
            return out;
        }
    };
    let sync_rid = FIRST_FREE_REQUEST_ID;
    let mut frames = vec![encode::sync(sync_rid, &[])];
    if watching {
        frames.push(encode::watch_presence(sync_rid + 1, &[peer], &[chat]));
    }
    for f in frames {
        if conn.send(f).await.is_err() {
            out.error = Some("send".into());
        }
    }
    let mut counted_sync = false;
    let mut counted_answer = !watching;
    if !watching {
        shared.answered.fetch_add(1, Relaxed);
    }
    loop {
        let frame = tokio::select! {
            _ = stop.wait_for(|r| *r >= round) => break,
            f = conn.recv() => f,
        };
        let Ok(frame) = frame else {
            out.error = Some("connection lost".into());
            break;
        };
        let Ok(f) = verify::server_frame(&frame) else { continue };
        match f.body_type() {
            fb::Body::SyncDone if f.request_id() == sync_rid => {
                out.synced_ns = Some(go.elapsed().as_nanos() as u64);
                counted_sync = true;
                shared.synced.fetch_add(1, Relaxed);
            }
            fb::Body::PresenceChanged => {
                let p = f.body_as_presence_changed().expect("checked type");
                if f.request_id() == sync_rid + 1 && !counted_answer {
                    counted_answer = true;
                    shared.answered.fetch_add(1, Relaxed);
                }
                if f.request_id() == 0 {
                    out.presence_frames += 1;
                    out.presence_bytes += frame.len() as u64;
                    out.presence_entries += p.users().map_or(0, |u| u.len()) as u64 + p.chats().map_or(0, |c| c.len()) as u64;
                }
                if let Some(u) = p.users().and_then(|u| u.iter().find(|u| u.user_id() == peer)) {
                    out.peer_online_at_end = matches!(u.status(), fb::PresenceStatus::Online | fb::PresenceStatus::Active);
                }
            }
            _ => out.other_frames += 1,
        }
    }
    if !counted_sync {
        shared.synced.fetch_add(1, Relaxed);
    }
    if !counted_answer {
        shared.answered.fetch_add(1, Relaxed);
    }
    conn.close().await;
    out
}
