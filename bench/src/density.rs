//! Scenario 2d, connection density: engine memory per idle connection and connection setup rate.
//!
//! Clients are added in steps. In each step every worker connects its share of the new clients
//! (connect, TLS, token sign-in, `Sync`) with a bounded number in flight; the step's setup rate is
//! new connections ÷ the step's wall time. Then the connections sit idle for a moment and the
//! engine's resident set is read from `/proc`. Memory per idle connection is the slope of RSS
//! over connections between the first and the last step (the first step absorbs one-off costs:
//! TLS contexts, allocator arenas, buffers of the first connections). The run stops early, and
//! says why, when a connection fails or the machine runs low on memory: that is "the most this
//! machine allows".

use crate::connect::{Target, TransportKind};
use crate::load::request;
use crate::sys;
use magpie_client::session::FIRST_FREE_REQUEST_ID;
use magpie_wire::encode;
use magpie_bench_report::{Density, DensityPoint};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Barrier, Semaphore};

pub struct DensityPlan {
    pub target: Target,
    pub workers: usize,
    /// Cumulative connection counts after each step.
    pub steps: Vec<usize>,
    /// Connections being set up at once, all workers together.
    pub concurrency: usize,
    /// Stop adding connections when the machine has less than this available.
    pub min_available_mib: f64,
    /// Idle time before reading the RSS of a step.
    pub settle: Duration,
}

struct Shared {
    plan: DensityPlan,
    barrier: Barrier,
    stop: AtomicBool,
    connected: AtomicU64,
    errors: Mutex<Vec<String>>,
}

fn mib(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Runs the steps against the engine with process id `engine_pid`.
pub fn run(plan: DensityPlan, engine_pid: u32) -> Density {
    let workers = plan.workers.max(1);
    let shared = Arc::new(Shared {
        barrier: Barrier::new(workers + 1),
        stop: AtomicBool::new(false),
        connected: AtomicU64::new(0),
        errors: Mutex::new(Vec::new()),
        plan,
    });
    let pid = engine_pid.to_string();
    let handles = {
        let shared = shared.clone();
        crate::open_loop::spawn_workers(workers, "density", move |w| worker(w, workers, shared.clone()))
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let cpu0 = sys::cpu_seconds(&pid).unwrap_or(f64::NAN);
    let baseline = sys::rss_kib(&pid).unwrap_or(0);
    let mut points: Vec<DensityPoint> = Vec::new();
    let mut prev_rss = baseline;
    let mut last_rss = (0u64, 0u64);
    let mut first_rss = None;
    let mut stopped_because = String::from("reached --clients");
    rt.block_on(async {
        let s = &shared;
        for &target in &s.plan.steps {
            let available = sys::memory_available_mib().unwrap_or(f64::INFINITY);
            if available < s.plan.min_available_mib {
                stopped_because = format!("machine memory: {available:.0} MiB available before the step to {target}");
                s.stop.store(true, Relaxed);
            }
            // Counted before the workers are released: on a busy machine they may all connect
            // before this thread runs again after the barrier.
            let before = s.connected.load(Relaxed);
            let t0 = Instant::now();
            s.barrier.wait().await; // go
            if s.stop.load(Relaxed) {
                break;
            }
            s.barrier.wait().await; // done
            let setup = t0.elapsed().as_secs_f64();
            let now = s.connected.load(Relaxed);
            tokio::time::sleep(s.plan.settle).await;
            let rss = sys::rss_kib(&pid).unwrap_or(0);
            let added = now.saturating_sub(before);
            let (rss_mib, per_conn_kib) = (mib(rss), round1(rss.saturating_sub(baseline) as f64 / now.max(1) as f64));
            let point = DensityPoint {
                connections: Some(now),
                engine_rss_mib: Some(rss_mib),
                rss_per_conn_kib: Some(per_conn_kib),
                marginal_kib_per_conn: round1((rss as f64 - prev_rss as f64) / added.max(1) as f64),
                setup_s: (setup * 1000.0).round() / 1000.0,
                setup_per_s: round1(added as f64 / setup.max(1e-9)),
                generator_rss_mib: mib(sys::rss_kib("self").unwrap_or(0)),
                available_mib: round1(sys::memory_available_mib().unwrap_or(0.0)),
            };
            eprintln!(
                "magpie-bench: density: {now} connections, engine RSS {:.1} MiB ({:.1} KiB/conn overall, {:.1} KiB/conn marginal), setup {:.0}/s, generator RSS {:.1} MiB",
                rss_mib, per_conn_kib, point.marginal_kib_per_conn, point.setup_per_s, point.generator_rss_mib
            );
            points.push(point);
            prev_rss = rss;
            first_rss.get_or_insert((rss, now));
            last_rss = (rss, now);
            if now < target as u64 {
                stopped_because = format!("connections failed in the step to {target}: see errors");
                s.stop.store(true, Relaxed);
            }
        }
        s.barrier.wait().await; // release: workers close their connections
    });
    for h in handles {
        let _ = h.join();
    }
    let engine_cpu_s = sys::cpu_seconds(&pid).unwrap_or(f64::NAN) - cpu0;
    let slope = match first_rss {
        Some((rss0, n0)) if last_rss.1 > n0 => round1((last_rss.0 as f64 - rss0 as f64) / (last_rss.1 - n0) as f64),
        _ => points.last().and_then(|p| p.rss_per_conn_kib).unwrap_or(0.0),
    };
    let max_connections = points.last().and_then(|p| p.connections).unwrap_or(0);
    let setup_sum: f64 = points.iter().map(|p| p.setup_s).sum();
    let errors = shared.errors.lock().unwrap().clone();
    Density {
        baseline_rss_mib: mib(baseline),
        kib_per_idle_connection: slope,
        setup_per_s: round1(max_connections as f64 / setup_sum.max(1e-9)),
        max_connections,
        points,
        stopped_because,
        errors,
        engine_cpu_s: (engine_cpu_s * 1000.0).round() / 1000.0,
    }
}

async fn worker(w: usize, workers: usize, shared: Arc<Shared>) {
    let plan = &shared.plan;
    let max = plan.steps.last().copied().unwrap_or(0);
    let mine_total = (w..max).step_by(workers).count();
    let connectors = match plan.target.connectors(w, workers, mine_total) {
        Ok(c) => Rc::new(c),
        Err(e) => {
            shared.errors.lock().unwrap().push(format!("worker {w}: {e}"));
            Rc::new(Vec::new())
        }
    };
    let gate = Rc::new(Semaphore::new((plan.concurrency / workers).max(1)));
    let mut conns = Vec::new();
    let mut prev = 0;
    for &step in &plan.steps {
        shared.barrier.wait().await; // go
        if shared.stop.load(Relaxed) {
            break;
        }
        let tasks: Vec<_> = (prev..step)
            .filter(|i| i % workers == w)
            .map(|index| {
                let (shared, connectors, gate) = (shared.clone(), connectors.clone(), gate.clone());
                tokio::task::spawn_local(async move {
                    let _permit = gate.acquire().await.expect("never closed");
                    if connectors.is_empty() && shared.plan.target.transport == TransportKind::Quic {
                        return None;
                    }
                    let t = &shared.plan.target;
                    let r = async {
                        let (mut conn, _) = t.connect(&connectors, index / workers, index).await?;
                        let rid = FIRST_FREE_REQUEST_ID;
                        request(&mut conn, rid, encode::sync(rid, &[]), t.op_timeout).await.map_err(|e| format!("client {index}: sync: {e}"))?;
                        Ok::<_, String>(conn)
                    }
                    .await;
                    match r {
                        Ok(conn) => {
                            shared.connected.fetch_add(1, Relaxed);
                            Some(conn)
                        }
                        Err(e) => {
                            let mut errs = shared.errors.lock().unwrap();
                            if errs.len() < 20 {
                                errs.push(e);
                            }
                            None
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            if let Ok(Some(conn)) = t.await {
                conns.push(conn);
            }
        }
        prev = step;
        shared.barrier.wait().await; // done
    }
    shared.barrier.wait().await; // release
    drop(conns);
}
