//! Criterion micro-benchmarks of two engine hot paths, on the engine's own code
//! (`magpie_engine::bench_support`, bench-only):
//!
//! - `cross_shard_hop`: a message pushed into another shard's mailbox (lock-free queue + waker)
//!   and picked up by a task on another thread, whose runtime parks like a shard's. `round_trip`
//!   is one message there and one back (two hops, each waking a parked thread);
//!   `burst/10000` pushes 10,000 messages that the other thread drains as the shard loop does.
//! - `fanout`: one committed `Deliver` frame (64-byte message) handed to a shard with N live
//!   connections of N members (`Shard::fan_out`: per connection a cursor check and a clone of the
//!   shared bytes into its bounded outbound queue). `queue/N` times only that; `with_writers/N`
//!   also runs N writer tasks that each take the frame from their queue, as the engine's
//!   connection writers do (without the transport write).
//!
//! Run: `cargo bench -p magpie-engine --bench hotpaths` (numbers in docs/BENCHMARKS.md).

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use magpie_engine::bench_support::{FanOut, Mailbox};
use magpie_wire::encode;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Tag bit asking the other side to answer.
const ECHO: u64 = 1 << 63;
const STOP: u64 = u64::MAX;
const BURST: u64 = 10_000;

fn shard_runtime() -> tokio::runtime::Runtime {
    // Like a shard: current-thread, with the I/O driver (a parked shard sleeps in epoll_wait).
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn deliver_frame() -> Bytes {
    let header = encode::EventHeader { chat_id: 1, seq: 1, sender_id: 1, sender_device_id: 1, time_ms: 1_764_000_000_000 };
    encode::deliver(&encode::message_event(&header, 123, "cmid-0001", &"x".repeat(64)))
}

fn cross_shard_hop(c: &mut Criterion) {
    let (here, there) = (Arc::new(Mailbox::new(64 * 1024)), Arc::new(Mailbox::new(64 * 1024)));
    // The other shard: the engine's mailbox loop (recv, then drain up to 256 without the waker).
    let other = {
        let (here, there) = (here.clone(), there.clone());
        std::thread::spawn(move || {
            shard_runtime().block_on(async move {
                let frame = Bytes::new();
                let handle = |t: u64| {
                    if t == STOP {
                        return false;
                    }
                    if t & ECHO != 0 {
                        while !here.try_push(t, frame.clone()) {
                            std::hint::spin_loop();
                        }
                    }
                    true
                };
                loop {
                    if !handle(there.recv().await) {
                        return;
                    }
                    for _ in 0..256 {
                        match there.try_recv() {
                            Some(t) => {
                                if !handle(t) {
                                    return;
                                }
                            }
                            None => break,
                        }
                    }
                }
            })
        })
    };
    let rt = shard_runtime();
    let frame = deliver_frame();
    let mut g = c.benchmark_group("cross_shard_hop");
    g.throughput(Throughput::Elements(2));
    g.bench_function("round_trip", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    assert!(there.try_push(i | ECHO, frame.clone()));
                    here.recv().await;
                }
                start.elapsed()
            })
        })
    });
    g.throughput(Throughput::Elements(BURST));
    g.bench_function(BenchmarkId::new("burst", BURST), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    for i in 0..BURST - 1 {
                        while !there.try_push(i, frame.clone()) {
                            std::hint::spin_loop();
                        }
                    }
                    while !there.try_push(ECHO, frame.clone()) {
                        std::hint::spin_loop();
                    }
                    here.recv().await;
                }
                start.elapsed()
            })
        })
    });
    g.finish();
    assert!(there.try_push(STOP, Bytes::new()));
    other.join().unwrap();
}

/// Frames handed to the shard between two drains of the queues in `queue/N` (well under the
/// outbound queue's room for pushed events).
const QUEUED_BEFORE_DRAIN: u64 = 32;

fn fanout(c: &mut Criterion) {
    let frame = deliver_frame();
    let rt = shard_runtime();
    let mut g = c.benchmark_group("fanout");
    for n in [10usize, 1_000, 10_000] {
        g.throughput(Throughput::Elements(n as u64));
        let dir = tempfile::tempdir().unwrap();
        let local = tokio::task::LocalSet::new();
        let mut h = local.block_on(&rt, async { FanOut::new(dir.path(), n).unwrap() });
        g.bench_function(BenchmarkId::new("queue", n), |b| {
            b.iter_custom(|iters| {
                local.block_on(&rt, async {
                    let mut total = Duration::ZERO;
                    let mut left = iters;
                    while left > 0 {
                        let k = left.min(QUEUED_BEFORE_DRAIN);
                        let start = Instant::now();
                        for _ in 0..k {
                            h.deliver(&frame);
                        }
                        total += start.elapsed();
                        assert_eq!(h.drain(), k as usize * n, "every connection gets every frame live");
                        left -= k;
                    }
                    total
                })
            })
        });
        // The same harness, now with one writer task per connection taking frames off its queue.
        let pending = Rc::new(Cell::new(0usize));
        let done = Rc::new(tokio::sync::Notify::new());
        for mut rx in h.take_receivers() {
            let (pending, done) = (pending.clone(), done.clone());
            local.spawn_local(async move {
                while let Some(f) = rx.recv().await {
                    std::hint::black_box(f);
                    pending.set(pending.get() - 1);
                    if pending.get() == 0 {
                        done.notify_one();
                    }
                }
            });
        }
        g.bench_function(BenchmarkId::new("with_writers", n), |b| {
            b.iter_custom(|iters| {
                local.block_on(&rt, async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        pending.set(n);
                        h.deliver(&frame);
                        done.notified().await;
                    }
                    start.elapsed()
                })
            })
        });
        drop(local);
    }
    g.finish();
}

criterion_group!(benches, cross_shard_hop, fanout);
criterion_main!(benches);
