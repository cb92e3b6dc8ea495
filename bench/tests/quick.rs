//! Runs `magpie-bench --quick` for both scenarios over both transports against the real engine
//! binary, and checks the reports: complete, every message delivered exactly once to every
//! member's connection, no errors. Timings are never asserted.
//!
//! The engine comes from `MAGPIE_BIN`, or `magpie` beside the bench binary (the same
//! `target/release`); `tools/scripts/test.sh` builds it before running the tests.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn engine_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("MAGPIE_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_magpie-bench"));
    bench.parent().expect("bench binary has a directory").join("magpie")
}

fn run_quick(scenario: &str, transport: &str) -> Value {
    let engine = engine_binary();
    assert!(
        engine.is_file(),
        "engine binary {} is missing: run `cargo build --release --bin magpie` first (tools/scripts/test.sh does)",
        engine.display()
    );
    let out = std::env::temp_dir().join(format!("magpie-bench-quick-{scenario}-{transport}-{}.json", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_magpie-bench"))
        .args(["--quick", "--scenario", scenario, "--transport", transport])
        .arg("--engine")
        .arg(&engine)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("running magpie-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "magpie-bench {scenario} {transport} failed ({}):\n{stdout}\n{stderr}", output.status);
    let json = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("reading {}: {e}\n{stdout}\n{stderr}", out.display()));
    let _ = std::fs::remove_file(&out);
    let report: Value = serde_json::from_str(&json).expect("the report is JSON");
    check(&report, scenario, transport, &format!("{stdout}\n{stderr}"));
    report
}

fn num(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for key in path.split('.') {
        cur = cur.get(key).unwrap_or_else(|| panic!("report lacks {path}: {v:#}"));
    }
    cur.as_f64().unwrap_or_else(|| panic!("{path} is not a number: {cur}"))
}

fn check(r: &Value, scenario: &str, transport: &str, log: &str) {
    let ctx = format!("{scenario} over {transport}:\n{log}");
    assert_eq!(r["scenario"], scenario, "{ctx}");
    assert_eq!(r["transport"], transport, "{ctx}");
    assert_eq!(r["quick"], true, "{ctx}");

    // Complete: every section and every latency summary is there.
    for key in [
        "config.clients",
        "config.rate",
        "config.duration_s",
        "machine.cores",
        "setup_s",
        "offered_msgs_per_s",
        "sent_per_s",
        "acked_per_s",
        "deliveries_per_s",
        "recipient_deliveries_per_s",
        "drain_s",
        "cpu.window_s",
        "cpu.engine_s",
        "cpu.generator_s",
        "cpu.deliveries_per_engine_cpu_s",
        "errors.total",
    ] {
        num(r, key);
    }
    for hist in ["deliver", "deliver_from_send", "last_recipient", "ack", "echo", "send_lag"] {
        for q in ["count", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"] {
            num(r, &format!("latency_us.{hist}.{q}"));
        }
    }

    // Every scheduled message was sent and acknowledged, without errors.
    let sent = num(r, "sent");
    let expected_sent = num(r, "config.rate") * num(r, "config.duration_s");
    assert!(sent >= expected_sent - 1.0 && sent <= expected_sent + 1.0, "sent {sent}, scheduled {expected_sent}: {ctx}");
    assert_eq!(num(r, "acked"), sent, "{ctx}");
    assert_eq!(num(r, "errors.total"), 0.0, "{ctx}");
    assert_eq!(num(r, "errors.dead_connections"), 0.0, "{ctx}");
    assert_eq!(r["drained"], true, "{ctx}");

    // Exactly once to every member's connection (the sender's own included).
    let members = match scenario {
        "one-to-one" => 2.0,
        _ => num(r, "config.group"),
    };
    let d = &r["delivery_check"];
    assert_eq!(d["exactly_once"], true, "{ctx}");
    assert_eq!(num(d, "expected"), sent * members, "{ctx}");
    assert_eq!(num(d, "received"), sent * members, "{ctx}");
    assert_eq!(num(d, "missing"), 0.0, "{ctx}");
    assert_eq!(num(d, "duplicates"), 0.0, "{ctx}");
    assert_eq!(num(d, "out_of_order"), 0.0, "{ctx}");
    assert_eq!(num(d, "incomplete_messages"), 0.0, "{ctx}");
    assert_eq!(num(r, "deliveries"), sent * (members - 1.0), "{ctx}");
    assert_eq!(num(r, "echo_deliveries"), sent, "{ctx}");
    // No warm-up in quick mode: every delivery to a recipient is in the histogram.
    assert_eq!(num(r, "latency_us.deliver.count"), sent * (members - 1.0), "{ctx}");
    assert_eq!(num(r, "latency_us.last_recipient.count"), sent, "{ctx}");
    assert_eq!(num(r, "latency_us.ack.count"), sent, "{ctx}");
}

// One test, run in sequence: four engines at once would only measure each other.
#[test]
fn quick_mode_both_scenarios_both_transports() {
    for scenario in ["one-to-one", "fanout"] {
        for transport in ["quic", "ws"] {
            run_quick(scenario, transport);
        }
    }
}
