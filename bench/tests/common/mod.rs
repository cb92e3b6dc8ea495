//! Helpers shared by the bench's tests: find the engine, run `magpie-bench --quick`, read reports.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

pub fn engine_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("MAGPIE_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_magpie-bench"));
    bench.parent().expect("bench binary has a directory").join("magpie")
}

/// Runs magpie-bench with `args` against the engine binary to success and returns its JSON
/// report and its output (`name` keeps the report files of different runs apart).
pub fn run_bench(name: &str, args: &[&str]) -> (Value, String) {
    let engine = engine_binary();
    assert!(
        engine.is_file(),
        "engine binary {} is missing: run `cargo build --release --bin magpie` first (tools/scripts/test.sh does)",
        engine.display()
    );
    let out = std::env::temp_dir().join(format!("magpie-bench-{name}-{}.json", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_magpie-bench"))
        .args(args)
        .arg("--engine")
        .arg(&engine)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("running magpie-bench");
    let log = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "magpie-bench {args:?} failed ({}):\n{log}", output.status);
    let json = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("reading {}: {e}\n{log}", out.display()));
    let _ = std::fs::remove_file(&out);
    (serde_json::from_str(&json).expect("the report is JSON"), log)
}

/// Runs one quick scenario to success and returns its JSON report and its output.
pub fn run_quick(scenario: &str, transport: &str, extra: &[&str]) -> (Value, String) {
    let mut args = vec!["--quick", "--scenario", scenario, "--transport", transport];
    args.extend_from_slice(extra);
    let (report, log) = run_bench(&format!("quick-{scenario}-{transport}"), &args);
    assert_eq!(report["scenario"], scenario, "{log}");
    assert_eq!(report["transport"], transport, "{log}");
    assert_eq!(report["quick"], true, "{log}");
    (report, log)
}

pub fn num(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for key in path.split('.') {
        cur = cur.get(key).unwrap_or_else(|| panic!("report lacks {path}: {v:#}"));
    }
    cur.as_f64().unwrap_or_else(|| panic!("{path} is not a number: {cur}"))
}


/// Checks a one-to-one, fanout, channel or storage report: complete, every scheduled message sent
/// and acknowledged, delivered exactly once to every member's connection, no errors, and the
/// engine's own metrics agreeing.
pub fn check_load_report(r: &Value, scenario: &str, transport: &str, log: &str) {
    let ctx = format!("{scenario} over {transport}:\n{log}");

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
        "one-to-one" | "storage" => 2.0,
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

    // The engine's own metrics over the same window agree with the generator.
    let m = &r["engine_metrics"]["Ok"];
    assert!(m.is_object(), "engine metrics missing: {ctx}");
    assert_eq!(num(m, "events_committed"), sent, "{ctx}");
    assert_eq!(num(m, "deliveries_live") + num(m, "deliveries_catch_up"), sent * members, "{ctx}");
    assert!(num(m, "frames_in") >= sent, "{ctx}");
    assert_eq!(num(m, "send_durable.count"), sent, "{ctx}");
}

