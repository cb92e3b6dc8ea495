//! Reads the engine's own Prometheus metrics (`GET /metrics` on its TCP port, plaintext from
//! loopback) before and after the load, so the report can show the engine's view next to the
//! generator's: frames, deliveries by path, commits and fsyncs, errors by code, send→durable and
//! send→deliver histograms, queue depths.
//!
//! Only the sample lines of the 0.0.4 text format are read (`name{labels} value`); that is all the
//! engine writes, and it keeps the generator free of an HTTP client and a parser dependency.

use magpie_bench_report::{EngineMetrics, HistogramDelta};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One scrape: series (name plus labels, exactly as written) → value.
#[derive(Default, Clone)]
pub struct Scrape(BTreeMap<String, f64>);

pub async fn fetch(addr: SocketAddr) -> Result<Scrape, String> {
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nhost: magpie\r\nconnection: close\r\n\r\n").await.map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8(buf).map_err(|_| "metrics are not UTF-8".to_string())?;
        let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP header end")?;
        if !head.starts_with("HTTP/1.1 200") {
            return Err(format!("GET /metrics: {}", head.lines().next().unwrap_or("")));
        }
        Ok(parse(body))
    };
    tokio::time::timeout(Duration::from_secs(10), fut).await.map_err(|_| "GET /metrics timed out".to_string())?
}

fn parse(body: &str) -> Scrape {
    let mut m = BTreeMap::new();
    for line in body.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        if let Some((series, value)) = line.rsplit_once(' ') {
            if let Ok(v) = value.parse::<f64>() {
                m.insert(series.to_owned(), v);
            }
        }
    }
    Scrape(m)
}

impl Scrape {
    /// Every series of metric `name`: (labels text, value).
    fn family<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (&'a str, f64)> + 'a {
        self.0.iter().filter_map(move |(k, v)| {
            let rest = k.strip_prefix(name)?;
            if rest.is_empty() {
                Some(("", *v))
            } else {
                rest.starts_with('{').then_some((rest, *v))
            }
        })
    }

    fn sum(&self, name: &str) -> f64 {
        self.family(name).map(|(_, v)| v).sum()
    }

    /// Sums over series with the same value of `label` (e.g. errors by `code`).
    fn by_label(&self, name: &str, label: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for (labels, v) in self.family(name) {
            if let Some(value) = label_value(labels, label) {
                *out.entry(value.to_owned()).or_default() += v;
            }
        }
        out
    }
}

fn label_value<'a>(labels: &'a str, label: &str) -> Option<&'a str> {
    let pat = format!("{label}=\"");
    let at = labels.find(&pat)? + pat.len();
    let rest = &labels[at..];
    Some(&rest[..rest.find('"')?])
}

fn histogram_delta(before: &Scrape, after: &Scrape, name: &str) -> HistogramDelta {
    let buckets = |s: &Scrape| -> BTreeMap<u64, f64> {
        let mut b: BTreeMap<u64, f64> = BTreeMap::new();
        for (labels, v) in s.family(&format!("{name}_bucket")) {
            let le = label_value(labels, "le").unwrap_or("+Inf");
            // Keyed in nanoseconds so the map sorts by bound; +Inf last.
            let key = if le == "+Inf" { u64::MAX } else { (le.parse::<f64>().unwrap_or(f64::MAX) * 1e9) as u64 };
            *b.entry(key).or_default() += v;
        }
        b
    };
    let (b0, b1) = (buckets(before), buckets(after));
    let delta: Vec<(u64, f64)> = b1.iter().map(|(k, v)| (*k, v - b0.get(k).copied().unwrap_or(0.0))).collect();
    let count = after.sum(&format!("{name}_count")) - before.sum(&format!("{name}_count"));
    let sum = after.sum(&format!("{name}_sum")) - before.sum(&format!("{name}_sum"));
    let q = |q: f64| -> f64 {
        let want = q * count;
        match delta.iter().find(|(_, c)| *c >= want && count > 0.0) {
            Some((le, _)) if *le != u64::MAX => *le as f64 / 1e6,
            Some(_) => f64::INFINITY,
            None => 0.0,
        }
    };
    HistogramDelta {
        count: count as u64,
        mean_ms: if count > 0.0 { (sum / count * 1e6).round() / 1e3 } else { 0.0 },
        p50_le_ms: q(0.5),
        p99_le_ms: q(0.99),
        p999_le_ms: q(0.999),
    }
}

pub fn delta(before: &Scrape, after: &Scrape) -> EngineMetrics {
    let d = |name: &str| (after.sum(name) - before.sum(name)).max(0.0) as u64;
    let e0 = before.by_label("magpie_errors_total", "code");
    let errors_by_code = after
        .by_label("magpie_errors_total", "code")
        .into_iter()
        .map(|(k, v)| (k.clone(), (v - e0.get(&k).copied().unwrap_or(0.0)) as u64))
        .filter(|(_, v)| *v > 0)
        .collect();
    let live = after.by_label("magpie_deliveries_total", "path");
    let live0 = before.by_label("magpie_deliveries_total", "path");
    let path = |p: &str| (live.get(p).copied().unwrap_or(0.0) - live0.get(p).copied().unwrap_or(0.0)) as u64;
    let commits = d("magpie_storage_commits_total");
    EngineMetrics {
        frames_in: d("magpie_frames_in_total"),
        frames_out: d("magpie_frames_out_total"),
        deliveries_live: path("live"),
        deliveries_catch_up: path("catch_up"),
        events_committed: d("magpie_events_committed_total"),
        storage_commits: commits,
        wal_syncs: d("magpie_storage_wal_syncs_total"),
        ops_per_commit: ((d("magpie_storage_ops_committed_total") as f64 / commits.max(1) as f64) * 10.0).round() / 10.0,
        errors_by_code,
        send_durable: histogram_delta(before, after, "magpie_send_durable_seconds"),
        send_deliver: histogram_delta(before, after, "magpie_send_deliver_seconds"),
        connections_open_end: after.sum("magpie_connections_open") as u64,
        mailbox_depth_end: after.sum("magpie_mailbox_depth") as u64,
        mailbox_backlog_end: after.sum("magpie_mailbox_backlog") as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_from_two_scrapes() {
        let before = parse(
            "# HELP x\nmagpie_frames_in_total{type=\"Send\"} 10\nmagpie_frames_in_total{type=\"Ping\"} 5\n\
             magpie_errors_total{code=\"rate_limited\"} 1\n\
             magpie_send_durable_seconds_bucket{shard=\"0\",le=\"0.001\"} 0\nmagpie_send_durable_seconds_bucket{shard=\"0\",le=\"0.01\"} 0\n\
             magpie_send_durable_seconds_bucket{shard=\"0\",le=\"+Inf\"} 0\nmagpie_send_durable_seconds_count{shard=\"0\"} 0\nmagpie_send_durable_seconds_sum{shard=\"0\"} 0\n",
        );
        let after = parse(
            "magpie_frames_in_total{type=\"Send\"} 110\nmagpie_frames_in_total{type=\"Ping\"} 5\n\
             magpie_errors_total{code=\"rate_limited\"} 4\n\
             magpie_send_durable_seconds_bucket{shard=\"0\",le=\"0.001\"} 90\nmagpie_send_durable_seconds_bucket{shard=\"0\",le=\"0.01\"} 100\n\
             magpie_send_durable_seconds_bucket{shard=\"0\",le=\"+Inf\"} 100\nmagpie_send_durable_seconds_count{shard=\"0\"} 100\nmagpie_send_durable_seconds_sum{shard=\"0\"} 0.2\n\
             magpie_connections_open{shard=\"0\",transport=\"quic\"} 7\n",
        );
        let m = delta(&before, &after);
        assert_eq!(m.frames_in, 100);
        assert_eq!(m.errors_by_code.get("rate_limited"), Some(&3));
        assert_eq!(m.send_durable.count, 100);
        assert_eq!(m.send_durable.p50_le_ms, 1.0);
        assert_eq!(m.send_durable.p99_le_ms, 10.0);
        assert_eq!(m.send_durable.mean_ms, 2.0);
        assert_eq!(m.connections_open_end, 7);
    }
}
