//! Criterion micro-benchmark: one group commit of a batch of log appends, in each durability
//! mode. Each iteration is one `submit_wait` of `n` appends (one WriteBatch, one WAL write, and
//! an fsync in power-loss mode).
//!
//! Run: `cargo bench -p magpie-storage --bench append`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use magpie_storage::{Durability, Op, Store, StoreOptions};

fn bench(c: &mut Criterion) {
    let event = bytes::Bytes::from(vec![0x5au8; 200]);
    let mut g = c.benchmark_group("storage_append_batch");
    g.sample_size(30);
    for (mode, name) in [(Durability::ProcessCrash, "process-crash"), (Durability::PowerLoss, "power-loss")] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions { durability: mode, ..StoreOptions::default() }).unwrap();
        let committer = store.committer();
        let mut seq = 0u64;
        for n in [1u64, 16, 256] {
            g.throughput(Throughput::Elements(n));
            g.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter(|| {
                    let ops = (0..n)
                        .map(|_| {
                            seq += 1;
                            Op::Append { chat_id: 1, seq, event: event.clone() }
                        })
                        .collect();
                    committer.submit_wait(ops).unwrap();
                })
            });
        }
        store.flush_and_close();
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
