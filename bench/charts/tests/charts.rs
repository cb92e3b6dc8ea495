//! `magpie-bench-charts` end to end: small synthetic reports in a temporary directory, the real
//! binary, and checks on the SVG files it writes.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_magpie-bench-charts");

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("magpie-bench-charts-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write(dir: &Path, name: &str, v: &Value) {
    std::fs::write(dir.join(name), serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// A `magpie-bench --out` report with the fields the charts read (and a few they do not).
fn run(
    scenario: &str,
    transport: &str,
    rate: f64,
    group: u64,
    p50_us: f64,
    deliveries: f64,
) -> Value {
    json!({
        "scenario": scenario,
        "transport": transport,
        "quick": false,
        "config": {"clients": 1000, "group": group, "senders": 10, "rate": rate, "durability": "power-loss"},
        "machine": {"cores": 2, "memory_gib": 24.0, "kernel": "6.18.44", "load_avg_1m_before": 1.0},
        "offered_msgs_per_s": rate,
        "deliveries_per_s": deliveries * 2.0,
        "recipient_deliveries_per_s": deliveries,
        "latency_us": {
            "deliver": {"count": 100, "mean_us": p50_us, "p50_us": p50_us, "p90_us": p50_us * 2.0,
                        "p99_us": p50_us * 5.0, "p999_us": p50_us * 9.0, "max_us": p50_us * 10.0}
        },
        "cpu": {"engine_s": 5.0}
    })
}

fn charts(dir: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .arg(dir)
        .args(extra)
        .output()
        .expect("running magpie-bench-charts")
}

fn svg(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let head = text.trim_start();
    assert!(
        head.starts_with("<svg") || head.starts_with("<?xml"),
        "{} is not SVG: {}",
        path.display(),
        &text[..text.len().min(80)]
    );
    assert!(
        text.trim_end().ends_with("</svg>"),
        "{} is not a complete SVG",
        path.display()
    );
    text
}

fn assert_contains(text: &str, file: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "{file} lacks {n:?}");
    }
}

#[test]
fn every_chart_from_synthetic_reports() {
    let dir = TempDir::new("all");
    let d = &dir.0;
    for (i, (transport, rate, p50)) in [
        ("quic", 2000.0, 1200.0),
        ("quic", 5000.0, 1700.0),
        ("quic", 10000.0, 3100.0),
        ("ws", 2000.0, 1100.0),
        ("ws", 10000.0, 1900.0),
    ]
    .into_iter()
    .enumerate()
    {
        write(
            d,
            &format!("o2o-{i}.json"),
            &run("one-to-one", transport, rate, 0, p50, rate * 1.99),
        );
    }
    write(
        d,
        "fan-quic.json",
        &run("fanout", "quic", 100.0, 1000, 48000.0, 98700.0),
    );
    write(
        d,
        "fan-ws.json",
        &run("fanout", "ws", 100.0, 1000, 98000.0, 97200.0),
    );
    for (transport, per_conn) in [("quic", 7.5), ("ws", 0.9)] {
        let points: Vec<Value> = [1000u64, 5000, 20000]
            .iter()
            .map(|n| {
                json!({"connections": n, "engine_rss_mib": 180.0 + *n as f64 * per_conn / 1024.0,
                            "rss_per_conn_kib": per_conn, "setup_per_s": 900.0})
            })
            .collect();
        write(
            d,
            &format!("density-{transport}.json"),
            &json!({"scenario": "density", "transport": transport,
            "machine": {"cores": 2, "kernel": "6.18.44"}, "points": points}),
        );
    }
    write(
        d,
        "peers.json",
        &json!({"kind": "compare", "scenario": "fanout 1000", "machine": {"cores": 2, "kernel": "6.18.44"},
        "results": [
            {"target": "magpie", "deliveries_per_s": 99000.0, "deliveries_per_server_cpu_s": 150000.0},
            {"target": "socketio", "deliveries_per_s": 40000.0, "deliveries_per_server_cpu_s": 12000.0},
            {"target": "ceiling", "deliveries_per_s": 120000.0}
        ]}),
    );

    let out = TempDir::new("all-out");
    let o = charts(d, &["--out", out.0.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "exit {:?}: {stderr}", o.status);
    assert!(
        stderr.contains("10 report(s) read") && stderr.contains("0 file(s) skipped"),
        "{stderr}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");

    let caption = "machine: 2 cores, 24 GiB, Linux 6.18.44";
    let f = "latency-vs-rate.svg";
    let text = svg(&out.0.join(f));
    assert_contains(
        &text,
        f,
        &[
            "quic p50",
            "quic p99",
            "quic p99.9",
            "ws p50",
            "ws p99.9",
            "offered load (msg/s",
            "latency (ms, log scale)",
            caption,
        ],
    );
    assert!(!text.contains("g=1000"), "one-to-one series carry no group");
    let f = "latency-vs-rate-fanout.svg";
    assert_contains(&svg(&out.0.join(f)), f, &["quic p50", "ws p99", "Fan-out"]);
    let f = "memory-vs-connections.svg";
    assert_contains(
        &svg(&out.0.join(f)),
        f,
        &[
            "quic",
            "ws",
            "engine RSS (MiB)",
            "connections",
            "machine: 2 cores, Linux 6.18.44",
        ],
    );
    let f = "memory-per-connection.svg";
    assert_contains(&svg(&out.0.join(f)), f, &["RSS per connection (KiB)"]);
    let f = "deliveries-by-scenario.svg";
    assert_contains(
        &svg(&out.0.join(f)),
        f,
        &[
            "one-to-one",
            "fanout 1000",
            "quic",
            "ws",
            "deliveries/s",
            "98,700",
        ],
    );
    let f = "peers.svg";
    assert_contains(
        &svg(&out.0.join(f)),
        f,
        &[
            "magpie",
            "socketio",
            "ceiling",
            "deliveries / CPU-s",
            "12.50×",
        ],
    );
    // Nothing was written into the results directory itself.
    assert!(!d.join("latency-vs-rate.svg").exists());
}

#[test]
fn garbage_is_skipped_with_a_warning_and_counted() {
    let dir = TempDir::new("garbage");
    let d = &dir.0;
    write(
        d,
        "good.json",
        &run("one-to-one", "quic", 2000.0, 0, 1200.0, 3998.0),
    );
    std::fs::write(d.join("garbage.json"), b"{ this is not json").unwrap();
    std::fs::write(d.join("binary.json"), [0xff, 0xfe, 0x00, 0x01]).unwrap();
    write(d, "other.json", &json!({"hello": "world"}));
    write(d, "list.json", &json!([1, 2, 3]));
    write(
        d,
        "bad-density.json",
        &json!({"scenario": "density", "transport": "ws", "points": [{"connections": "many"}]}),
    );
    write(
        d,
        "weird-numbers.json",
        &json!({"scenario": "one-to-one", "transport": "ws", "config": {"rate": -5},
        "latency_us": {"deliver": {"p50_us": 0, "p99_us": -1, "p999_us": null}}, "recipient_deliveries_per_s": "fast"}),
    );
    std::fs::write(d.join("notes.txt"), b"not a report, and not *.json").unwrap();

    let o = charts(d, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "exit {:?}: {stderr}", o.status);
    for name in [
        "garbage.json",
        "binary.json",
        "other.json",
        "list.json",
        "bad-density.json",
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains("warning") && l.contains(name)),
            "no warning for {name}: {stderr}"
        );
    }
    assert!(stderr.contains("5 file(s) skipped"), "{stderr}");
    assert!(!stderr.contains("notes.txt"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Default output directory: the results directory.
    let text = svg(&d.join("latency-vs-rate.svg"));
    assert_contains(&text, "latency-vs-rate.svg", &["quic p50", "quic p99"]);
    svg(&d.join("deliveries-by-scenario.svg"));
    assert!(!d.join("memory-vs-connections.svg").exists());
    assert!(!d.join("peers.svg").exists());
}

#[test]
fn nothing_to_plot_and_a_missing_directory_fail_cleanly() {
    let dir = TempDir::new("empty");
    std::fs::write(dir.0.join("garbage.json"), b"[").unwrap();
    let o = charts(&dir.0, &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 file(s) skipped"));

    let o = charts(&dir.0.join("does-not-exist"), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does-not-exist"));
}
