//! Histograms, counters and their summaries.

use hdrhistogram::Histogram;
pub use magpie_bench_report::LatencySummary;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Nanoseconds from 1 ns to one hour at 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

/// Live counters of one worker, read by the main thread to know when the run has drained.
/// Padded so the workers do not share a cache line.
#[repr(align(128))]
#[derive(Default)]
pub struct WorkerCounters {
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub errored: AtomicU64,
    /// Distinct bench messages received, the sender's own copies included.
    pub delivered: AtomicU64,
    pub echoes: AtomicU64,
    /// Deliveries owed: members of the chat for every acknowledged message.
    pub expected: AtomicU64,
    pub dead: AtomicU64,
    pub senders_running: AtomicUsize,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub sent: u64,
    pub acked: u64,
    pub errored: u64,
    pub delivered: u64,
    pub echoes: u64,
    pub expected: u64,
    pub dead: u64,
    pub senders_running: usize,
}

pub fn totals(counters: &[WorkerCounters]) -> Totals {
    let mut t = Totals::default();
    for c in counters {
        t.sent += c.sent.load(Relaxed);
        t.acked += c.acked.load(Relaxed);
        t.errored += c.errored.load(Relaxed);
        t.delivered += c.delivered.load(Relaxed);
        t.echoes += c.echoes.load(Relaxed);
        t.expected += c.expected.load(Relaxed);
        t.dead += c.dead.load(Relaxed);
        t.senders_running += c.senders_running.load(Relaxed);
    }
    t
}

pub fn summarize(h: &Histogram<u64>) -> LatencySummary {
    let us = |ns: u64| (ns as f64 / 100.0).round() / 10.0;
    if h.is_empty() {
        return LatencySummary { count: 0, mean_us: 0.0, p50_us: 0.0, p90_us: 0.0, p99_us: 0.0, p999_us: 0.0, max_us: 0.0 };
    }
    LatencySummary {
        count: h.len(),
        mean_us: (h.mean() / 100.0).round() / 10.0,
        p50_us: us(h.value_at_quantile(0.50)),
        p90_us: us(h.value_at_quantile(0.90)),
        p99_us: us(h.value_at_quantile(0.99)),
        p999_us: us(h.value_at_quantile(0.999)),
        max_us: us(h.max()),
    }
}

/// Which sequence numbers a receiver has seen: one bit each, for the exactly-once checks.
#[derive(Default)]
pub struct SeqSet(Vec<u64>);

impl SeqSet {
    /// Records `n`; false if it was already there (a duplicate).
    pub fn insert(&mut self, n: u64) -> bool {
        let (word, bit) = ((n / 64) as usize, n % 64);
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        let fresh = self.0[word] & (1 << bit) == 0;
        self.0[word] |= 1 << bit;
        fresh
    }

    pub fn contains(&self, n: u64) -> bool {
        self.0.get((n / 64) as usize).is_some_and(|w| w & (1 << (n % 64)) != 0)
    }
}

/// Prints latency summaries as the reports' table: one row per (name, summary).
pub fn print_latency_table(rows: &[(&str, &LatencySummary)]) {
    println!("  {:<16} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}", "latency (µs)", "count", "mean", "p50", "p90", "p99", "p99.9", "max");
    for (name, s) in rows {
        println!(
            "  {:<16} {:>9} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
            name, s.count, s.mean_us, s.p50_us, s.p90_us, s.p99_us, s.p999_us, s.max_us
        );
    }
}

#[cfg(test)]
mod tests {
    use super::SeqSet;

    #[test]
    fn seq_set_finds_duplicates_across_words() {
        let mut s = SeqSet::default();
        assert!(s.insert(1) && s.insert(64) && s.insert(200));
        assert!(!s.insert(64));
        assert!(s.contains(1) && s.contains(200) && !s.contains(2) && !s.contains(10_000));
    }
}
