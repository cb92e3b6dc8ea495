//! Runs the peer comparison in quick mode so that its harness never rots: `--compare --quick` for
//! fan-out (magpie over WebSocket, the Socket.IO peer, the no-logic ceiling) and Socket.IO's
//! one-to-one rooms of two, and checks that every report is complete, that every message reached
//! every member's connection exactly once, and that the ratios are there. Timings are never
//! asserted.
//!
//! Needs `node` (or `MAGPIE_NODE`) and `npm ci` run in bench/peers/socketio — tools/scripts/test.sh
//! does that — and the engine binary, as bench/tests/quick.rs does.

mod common;

use common::{num, run_bench};
use serde_json::Value;
use std::path::PathBuf;

fn socketio_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/socketio")
}

/// Runs magpie-bench with `args` (and the ceiling binary of this build) and returns its report.
fn bench(name: &str, args: &[&str]) -> (Value, String) {
    assert!(
        socketio_dir().join("node_modules/socket.io").is_dir(),
        "socket.io is not installed: run `npm ci` in {} (tools/scripts/test.sh does)",
        socketio_dir().display()
    );
    let mut all = args.to_vec();
    all.extend_from_slice(&["--ceiling-bin", env!("CARGO_BIN_EXE_magpie-ceiling")]);
    run_bench(&format!("peers-{name}"), &all)
}

/// A peer's report: complete, every message sent and delivered exactly once, no errors.
fn check_peer(r: &Value, target: &str, scenario: &str, log: &str) {
    let ctx = format!("{target} {scenario}:\n{log}");
    assert_eq!(r["target"], target, "{ctx}");
    assert_eq!(r["scenario"], scenario, "{ctx}");
    assert_eq!(r["quick"], true, "{ctx}");
    assert!(r["server"].as_str().is_some_and(|s| s.contains("listening on ws://")), "{ctx}");
    for key in [
        "config.clients",
        "config.group",
        "config.rate",
        "config.duration_s",
        "machine.cores",
        "machine.load_avg_1m_before",
        "setup_s",
        "offered_msgs_per_s",
        "sent_per_s",
        "deliveries_per_s",
        "recipient_deliveries_per_s",
        "drain_s",
        "cpu.window_s",
        "cpu.server_s",
        "cpu.generator_s",
        "cpu.deliveries_per_server_cpu_s",
        "cpu.server_rss_mib_after",
    ] {
        num(r, key);
    }
    for hist in ["deliver", "deliver_from_send", "last_recipient", "echo", "send_lag"] {
        for q in ["count", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"] {
            num(r, &format!("latency_us.{hist}.{q}"));
        }
    }
    let sent = num(r, "sent");
    let scheduled = num(r, "config.rate") * num(r, "config.duration_s");
    assert!(sent >= scheduled - 1.0 && sent <= scheduled + 1.0, "sent {sent}, scheduled {scheduled}: {ctx}");
    assert_eq!(num(r, "echoed"), sent, "{ctx}");
    assert_eq!(num(r, "errors.total"), 0.0, "{ctx}");
    assert_eq!(num(r, "errors.dead_connections"), 0.0, "{ctx}");
    assert_eq!(r["drained"], true, "{ctx}");
    let members = num(r, "config.group");
    let d = &r["delivery_check"];
    assert_eq!(d["exactly_once"], true, "{ctx}");
    assert_eq!(num(d, "expected"), sent * members, "{ctx}");
    assert_eq!(num(d, "received"), sent * members, "{ctx}");
    for key in ["missing", "duplicates", "out_of_order", "incomplete_messages"] {
        assert_eq!(num(d, key), 0.0, "{key}: {ctx}");
    }
    assert_eq!(num(r, "deliveries"), sent * (members - 1.0), "{ctx}");
    assert_eq!(num(r, "echo_deliveries"), sent, "{ctx}");
    // No warm-up in quick mode: every delivery to a recipient is in the histogram.
    assert_eq!(num(r, "latency_us.deliver.count"), sent * (members - 1.0), "{ctx}");
    assert_eq!(num(r, "latency_us.last_recipient.count"), sent, "{ctx}");
}

// One test, run in sequence: servers side by side would only measure each other.
#[test]
fn peers_quick_compare_and_socketio_one_to_one() {
    let (c, log) = bench("compare", &["--quick", "--compare", "--scenario", "fanout", "--transport", "ws"]);
    assert_eq!(c["compare"], true, "{log}");
    assert_eq!(c["scenario"], "fanout", "{log}");
    let m = &c["results"]["magpie"];
    assert_eq!(m["scenario"], "fanout", "{log}");
    assert_eq!(m["transport"], "ws", "{log}");
    assert_eq!(m["delivery_check"]["exactly_once"], true, "{log}");
    num(m, "cpu.deliveries_per_engine_cpu_s");
    check_peer(&c["results"]["socketio"], "socketio", "fanout", &log);
    check_peer(&c["results"]["ceiling"], "ceiling", "fanout", &log);
    // Every ratio and every side-by-side p99 is a number (not null: all three runs delivered).
    for key in ["deliveries_per_s", "deliveries_per_server_cpu_s"] {
        for ratio in ["engine_over_socketio", "engine_over_ceiling"] {
            num(&c, &format!("ratios.{key}.{ratio}"));
        }
    }
    for target in ["magpie", "socketio", "ceiling"] {
        num(&c, &format!("deliver_latency_us.p99.{target}"));
    }

    let (r, log) = bench("socketio-o2o", &["--quick", "--target", "socketio", "--scenario", "one-to-one"]);
    check_peer(&r, "socketio", "one-to-one", &log);
    assert_eq!(num(&r, "config.rooms"), num(&r, "config.clients") / 2.0, "{log}");
}
