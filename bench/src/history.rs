//! The read half of scenario 2f (storage): history pages read from the log on an open-loop
//! schedule, after the append phase filled the chats.
//!
//! `readers` clients connect again (device token), and together request `rate` pages per second
//! for `duration` on the open-loop schedule of every scenario (`open_loop::Schedule`): reader r
//! asks page k of its chat (forward from seq `k × page mod length`, so
//! successive pages walk the whole chat and wrap). The request id is k, so the reply tells which
//! intended send time it answers; latency is counted from that intended time (no coordinated
//! omission), like every other scenario.

use crate::connect::Target;
use crate::load::code_name;
use crate::open_loop::Schedule;
use crate::stats::{new_histogram, summarize};
use magpie_bench_report::History;
use hdrhistogram::Histogram;
use magpie_client::session::FIRST_FREE_REQUEST_ID;
use magpie_wire::{encode, fb, verify};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub struct HistoryPlan {
    pub target: Target,
    /// (client index, its chat, messages in the chat) of every reader.
    pub readers: Vec<(usize, u64, u64)>,
    /// Pages per second, all readers together.
    pub rate: f64,
    pub duration: Duration,
    pub page: u16,
}

struct ReaderOutcome {
    hist: Histogram<u64>,
    /// Replies received, pages and errors: the reader stops when every request is answered.
    replies: u64,
    events: u64,
    errors: BTreeMap<String, u64>,
}

pub fn run(plan: HistoryPlan, engine_pid: u32) -> History {
    let pid = engine_pid.to_string();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    let n = plan.readers.len().max(1);
    let per_reader = plan.rate / n as f64;
    let (outcomes, window, cpu) = local.block_on(&rt, async {
        let connectors = std::rc::Rc::new(plan.target.connectors(0, 1, n).unwrap_or_default());
        let mut conns = Vec::new();
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        for (local, &(index, chat, len)) in plan.readers.iter().enumerate() {
            match plan.target.connect(&connectors, local, index).await {
                Ok((c, _)) => conns.push((local, chat, len, c)),
                Err(e) => *errors.entry(format!("connect: {}", e.chars().take(60).collect::<String>())).or_default() += 1,
            }
        }
        let cpu0 = crate::sys::cpu_seconds(&pid).unwrap_or(f64::NAN);
        let start = Instant::now() + Duration::from_millis(100);
        let page = plan.page;
        let tasks: Vec<_> = conns
            .into_iter()
            .map(|(r, chat, len, c)| {
                let schedule = Schedule::new(start, start, per_reader, r, n, plan.duration);
                let total_per_reader = schedule.len();
                tokio::task::spawn_local(async move {
                    let (mut tx, mut rx) = c.split();
                    let sender = tokio::task::spawn_local(async move {
                        let mut k = 0;
                        while schedule.wait(k).await.is_some() {
                            let from = (k * page as u64) % len.max(1);
                            let frame = encode::history(FIRST_FREE_REQUEST_ID + k, chat, from, fb::Direction::Forward, page);
                            if tx.send(frame).await.is_err() {
                                break;
                            }
                            k += 1;
                        }
                        // Keep the connection open until the replies are in.
                        std::future::pending::<()>().await;
                    });
                    let mut out = ReaderOutcome { hist: new_histogram(), replies: 0, events: 0, errors: BTreeMap::new() };
                    while out.replies < total_per_reader {
                        let Ok(Ok(buf)) = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await else {
                            *out.errors.entry("reply timed out or connection lost".into()).or_default() += 1;
                            break;
                        };
                        let now = Instant::now();
                        let Ok(f) = verify::server_frame(&buf) else {
                            *out.errors.entry("bad_server_frame".into()).or_default() += 1;
                            continue;
                        };
                        match f.body_type() {
                            fb::Body::HistoryPage => {
                                let k = f.request_id().saturating_sub(FIRST_FREE_REQUEST_ID);
                                let intended = schedule.at(k).unwrap_or(start);
                                out.hist.saturating_record(now.saturating_duration_since(intended).as_nanos().max(1) as u64);
                                out.replies += 1;
                                out.events += f.body_as_history_page().and_then(|p| p.events()).map(|e| e.len() as u64).unwrap_or(0);
                            }
                            fb::Body::Error => {
                                let code = f.body_as_error().map(|e| e.code()).unwrap_or(0);
                                *out.errors.entry(code_name(code)).or_default() += 1;
                                out.replies += 1;
                            }
                            _ => {}
                        }
                    }
                    sender.abort();
                    out
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for t in tasks {
            if let Ok(o) = t.await {
                outcomes.push(o);
            }
        }
        let window = start.elapsed().as_secs_f64();
        let cpu = crate::sys::cpu_seconds(&pid).unwrap_or(f64::NAN) - cpu0;
        outcomes.push(ReaderOutcome { hist: new_histogram(), replies: 0, events: 0, errors });
        (outcomes, window, cpu)
    });
    let mut hist = new_histogram();
    let (mut pages, mut events) = (0, 0);
    let mut errors = BTreeMap::new();
    for o in outcomes {
        hist.add(&o.hist).expect("same bounds");
        pages += o.hist.len();
        events += o.events;
        for (k, v) in o.errors {
            *errors.entry(k).or_default() += v;
        }
    }
    let per_s = |x: u64| ((x as f64 / window.max(1e-9)) * 10.0).round() / 10.0;
    History {
        readers: plan.readers.len(),
        page_size: plan.page,
        offered_pages_per_s: plan.rate,
        pages,
        events,
        pages_per_s: per_s(pages),
        events_per_s: per_s(events),
        page_latency_us: summarize(&hist),
        errors,
        engine_cpu_s: (cpu * 1000.0).round() / 1000.0,
    }
}
