//! What each `Durability` mode costs: sustained group-committed appends per second and the
//! append → callback latency (the time a sender waits for its ack), measured against a real
//! RocksDB on the local disk.
//!
//! Each "append" is what a message send writes: one 200-byte chat-log event plus its
//! idempotency record (2 ops). Submitter threads keep a fixed number of appends in flight
//! (like shards awaiting acks), for two load shapes:
//! - `saturated`: 4 threads × 64 in flight — as many appends as the committer can take;
//! - `light`: 4 threads × 1 in flight — latency when the committer is mostly idle.
//!
//! ```text
//! cargo run --release -p magpie-storage --example durability_cost [-- SECONDS]
//! ```
//! The database goes in a temporary directory under `$MAGPIE_BENCH_DIR` (default `/var/tmp`),
//! which should be on the disk you care about (not tmpfs, where fsync is free).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use magpie_storage::bytes::Bytes;
use magpie_storage::{DedupRecord, Durability, Op, Store, StoreOptions};

const THREADS: u64 = 4;
const EVENT_BYTES: usize = 200;
const CHATS_PER_THREAD: u64 = 256;
const WARMUP: Duration = Duration::from_secs(1);

struct Outcome {
    appends: u64,
    seconds: f64,
    commits: u64,
    latency_us: Histogram<u64>,
}

fn run(durability: Durability, in_flight: usize, measure: Duration) -> Outcome {
    let base = std::env::var_os("MAGPIE_BENCH_DIR").unwrap_or_else(|| "/var/tmp".into());
    let dir = tempfile::Builder::new()
        .prefix("magpie-durability-")
        .tempdir_in(base)
        .expect("temp dir");
    let store = Store::open(
        dir.path(),
        StoreOptions {
            durability,
            ..StoreOptions::default()
        },
    )
    .expect("open store");

    let hist = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram"),
    ));
    let start = Instant::now();
    let measure_from = start + WARMUP;
    let deadline = measure_from + measure;
    let counted = Arc::new(Mutex::new(0u64));

    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let committer = store.committer();
            let hist = Arc::clone(&hist);
            let counted = Arc::clone(&counted);
            std::thread::spawn(move || {
                // A bounded channel of tokens is the in-flight window.
                let (tok_tx, tok_rx) = crossbeam_channel::bounded::<()>(in_flight);
                for _ in 0..in_flight {
                    tok_tx.send(()).unwrap();
                }
                let mut payload = vec![0u8; EVENT_BYTES];
                let mut i: u64 = 0;
                while Instant::now() < deadline {
                    tok_rx.recv().unwrap();
                    let chat_id = t * 1_000_000 + i % CHATS_PER_THREAD;
                    let seq = i / CHATS_PER_THREAD + 1;
                    for (k, b) in payload.iter_mut().enumerate() {
                        *b = (i as usize).wrapping_mul(31).wrapping_add(k) as u8;
                    }
                    let ops = vec![
                        Op::Append {
                            chat_id,
                            seq,
                            event: Bytes::copy_from_slice(&payload),
                        },
                        Op::PutDedup {
                            device_id: t + 1,
                            client_msg_id: format!("m{i}"),
                            record: DedupRecord {
                                chat_id,
                                seq,
                                message_id: i,
                                time_ms: 0,
                            },
                        },
                    ];
                    let submitted = Instant::now();
                    let tok_tx = tok_tx.clone();
                    let hist = Arc::clone(&hist);
                    let counted = Arc::clone(&counted);
                    committer.submit(
                        ops,
                        Box::new(move |r| {
                            r.expect("commit");
                            let now = Instant::now();
                            if submitted >= measure_from && now <= deadline {
                                let us = now.duration_since(submitted).as_micros() as u64;
                                hist.lock().unwrap().saturating_record(us.max(1));
                                *counted.lock().unwrap() += 1;
                            }
                            let _ = tok_tx.send(());
                        }),
                    );
                    i += 1;
                }
                // Wait for everything in flight.
                for _ in 0..in_flight {
                    tok_rx.recv().unwrap();
                }
            })
        })
        .collect();

    std::thread::sleep(measure_from.saturating_duration_since(Instant::now()));
    let s0 = store.stats().expect("stats");
    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
    let end_stats = store.stats().expect("stats");
    for t in threads {
        t.join().unwrap();
    }
    store.flush_and_close();
    let appends = *counted.lock().unwrap();
    let latency_us = hist.lock().unwrap().clone();
    Outcome {
        appends,
        seconds: measure.as_secs_f64(),
        commits: end_stats.commits - s0.commits,
        latency_us,
    }
}

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let measure = Duration::from_secs(secs);
    println!(
        "{THREADS} submitter threads, each append = {EVENT_BYTES}-byte event + dedup record, \
         {secs} s measured after {} s warm-up",
        WARMUP.as_secs()
    );
    println!(
        "{:<13} {:<15} {:>11} {:>10} {:>12} {:>9} {:>9} {:>9} {:>9}",
        "durability",
        "load",
        "appends/s",
        "commits/s",
        "appends/cmt",
        "p50 µs",
        "p99 µs",
        "p99.9 µs",
        "max µs"
    );
    for durability in [Durability::PowerLoss, Durability::ProcessCrash] {
        for (load, in_flight) in [("saturated", 64usize), ("light", 1)] {
            let o = run(durability, in_flight, measure);
            let h = &o.latency_us;
            println!(
                "{:<13} {:<15} {:>11.0} {:>10.0} {:>12.1} {:>9} {:>9} {:>9} {:>9}",
                format!("{durability:?}"),
                format!("{load} {THREADS}x{in_flight}"),
                o.appends as f64 / o.seconds,
                o.commits as f64 / o.seconds,
                o.appends as f64 / o.commits.max(1) as f64,
                h.value_at_quantile(0.50),
                h.value_at_quantile(0.99),
                h.value_at_quantile(0.999),
                h.max(),
            );
        }
    }
}
