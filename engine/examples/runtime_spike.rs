//! Runtime spike: which I/O driver should a shard use for TCP?
//!
//! A shard-like server (one thread, pinned) echoes 64-byte messages; a tokio client on the other
//! core keeps `CONNS` connections each with one request in flight (ping-pong), for a fixed time.
//! Candidates, all single-threaded executors as the engine's shards are:
//! - `epoll`: tokio current-thread runtime with its epoll reactor;
//! - `uring-raw`: tokio-uring's owned-buffer API directly;
//! - `uring-adapter`: tokio-uring behind the AsyncRead/AsyncWrite adapter the engine uses.
//!
//! Run: `cargo run --release -p magpie-engine --example runtime_spike [seconds] [connections]`
//! It prints round trips per second and latency percentiles for each; the numbers in
//! docs/ARCHITECTURE.md come from this.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MSG: usize = 64;

fn main() {
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let conns: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    println!("{:<14} {:>12} {:>9} {:>9} {:>9}", "server", "round trips/s", "p50 µs", "p99 µs", "p99.9 µs");
    for kind in ["epoll", "uring-raw", "uring-adapter"] {
        if kind != "epoll" && tokio_uring::Runtime::new(&tokio_uring::builder()).is_err() {
            println!("{kind:<14} io_uring unavailable on this kernel");
            continue;
        }
        let (rate, h) = run(kind, secs, conns);
        println!(
            "{kind:<14} {rate:>12.0} {:>9} {:>9} {:>9}",
            h.value_at_quantile(0.5) / 1000,
            h.value_at_quantile(0.99) / 1000,
            h.value_at_quantile(0.999) / 1000
        );
    }
}

fn run(kind: &'static str, secs: u64, conns: usize) -> (f64, hdrhistogram::Histogram<u64>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server = std::thread::spawn(move || {
        if let Some(core) = core_affinity::get_core_ids().and_then(|c| c.first().copied()) {
            core_affinity::set_for_current(core);
        }
        match kind {
            "epoll" => {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                tokio::task::LocalSet::new().block_on(&rt, async move {
                    let l = tokio::net::TcpListener::from_std(listener).unwrap();
                    loop {
                        let (mut s, _) = l.accept().await.unwrap();
                        s.set_nodelay(true).unwrap();
                        tokio::task::spawn_local(async move {
                            let mut buf = [0u8; MSG];
                            while s.read_exact(&mut buf).await.is_ok() {
                                if s.write_all(&buf).await.is_err() {
                                    break;
                                }
                            }
                        });
                    }
                });
            }
            "uring-raw" => tokio_uring::start(async move {
                let l = tokio_uring::net::TcpListener::from_std(listener);
                loop {
                    let (s, _) = l.accept().await.unwrap();
                    s.set_nodelay(true).unwrap();
                    tokio_uring::spawn(async move {
                        let mut buf = vec![0u8; MSG];
                        loop {
                            let (r, b) = s.read(buf).await;
                            match r {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    let (w, b) = s.write_all(tokio_uring::buf::BoundedBuf::slice(b, ..n)).await;
                                    buf = b.into_inner();
                                    if w.is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                    });
                }
            }),
            _ => tokio_uring::start(async move {
                let l = tokio_uring::net::TcpListener::from_std(listener);
                loop {
                    let (s, _) = l.accept().await.unwrap();
                    s.set_nodelay(true).unwrap();
                    let mut s = magpie_engine::uring_stream(s);
                    tokio_uring::spawn(async move {
                        let mut buf = [0u8; MSG];
                        while s.read_exact(&mut buf).await.is_ok() {
                            if s.write_all(&buf).await.is_err() || s.flush().await.is_err() {
                                break;
                            }
                        }
                    });
                }
            }),
        }
    });
    let result = load(addr, conns, Duration::from_secs(secs), stop.clone());
    stop.store(true, Ordering::Relaxed);
    drop(server); // the server thread ends with the process
    result
}

fn load(addr: SocketAddr, conns: usize, dur: Duration, stop: Arc<AtomicBool>) -> (f64, hdrhistogram::Histogram<u64>) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        if let Some(core) = core_affinity::get_core_ids().and_then(|c| c.get(1).copied()) {
            core_affinity::set_for_current(core);
        }
        let deadline = Instant::now() + dur;
        let mut tasks = Vec::new();
        for _ in 0..conns {
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                let mut h = hdrhistogram::Histogram::<u64>::new(3).unwrap();
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let mut buf = [7u8; MSG];
                let mut n = 0u64;
                while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    s.write_all(&buf).await.unwrap();
                    s.read_exact(&mut buf).await.unwrap();
                    h.record(t.elapsed().as_nanos() as u64).unwrap();
                    n += 1;
                }
                (n, h)
            }));
        }
        let mut total = 0;
        let mut all = hdrhistogram::Histogram::<u64>::new(3).unwrap();
        for t in tasks {
            let (n, h) = t.await.unwrap();
            total += n;
            all.add(h).unwrap();
        }
        (total as f64 / dur.as_secs_f64(), all)
    })
}
