//! Quick runs of the channel, storage, density and reconnect-storm scenarios against the real
//! engine binary, so the harness never rots. Checks completeness and correctness (exactly-once,
//! everyone resynced, every step reached), never timings.

mod common;

use common::{check_load_report, num, run_quick};

// One test, run in sequence: engines started in parallel would only measure each other.
#[test]
fn quick_channel_storage_density_storm() {
    let (r, log) = run_quick("channel", "quic", &[]);
    check_load_report(&r, "channel", "quic", &log);

    let (r, log) = run_quick("storage", "ws", &[]);
    check_load_report(&r, "storage", "ws", &log);
    let h = &r["history"];
    // Quick: 20 clients → 10 direct chats, one reader each; 100 pages/s for 3 s.
    assert_eq!(num(h, "readers"), 10.0, "{log}");
    assert_eq!(num(h, "pages"), 300.0, "{log}");
    assert!(h["errors"].as_object().is_some_and(|e| e.is_empty()), "{log}");
    assert!(num(h, "events") > 0.0, "{log}");
    assert_eq!(num(h, "page_latency_us.count"), 300.0, "{log}");

    for transport in ["quic", "ws"] {
        let (r, log) = run_quick("density", transport, &[]);
        // Quick: 40 connections in 5 steps of 8.
        let points = r["points"].as_array().unwrap_or_else(|| panic!("no points: {log}"));
        assert_eq!(points.len(), 5, "{log}");
        let counts: Vec<f64> = points.iter().map(|p| num(p, "connections")).collect();
        assert_eq!(counts, [8.0, 16.0, 24.0, 32.0, 40.0], "{log}");
        for p in points {
            assert!(num(p, "engine_rss_mib") > 0.0, "{log}");
            assert!(num(p, "setup_per_s") > 0.0, "{log}");
        }
        assert_eq!(num(&r, "max_connections"), 40.0, "{log}");
        assert!(r["errors"].as_array().is_some_and(|e| e.is_empty()), "{log}");

        let (r, log) = run_quick("storm", transport, &[]);
        assert_eq!(num(&r, "resynced"), 20.0, "{log}");
        assert_eq!(r["exactly_once"], true, "{log}");
        assert_eq!(r["drained"], true, "{log}");
        assert_eq!(num(&r, "missing"), 0.0, "{log}");
        assert_eq!(num(&r, "duplicate_seqs"), 0.0, "{log}");
        assert_eq!(num(&r, "duplicate_ids"), 0.0, "{log}");
        assert_eq!(num(&r, "sent"), num(&r, "acked"), "{log}");
        // Both members of each chat hold every acknowledged message.
        assert_eq!(num(&r, "expected_deliveries"), 2.0 * num(&r, "acked"), "{log}");
        assert_eq!(num(&r, "received"), num(&r, "expected_deliveries"), "{log}");
        assert_eq!(num(&r, "resync_us.count"), 20.0, "{log}");
    }
}
