//! Runs `magpie-bench --quick` for both scenarios over both transports against the real engine
//! binary, and checks the reports: complete, every message delivered exactly once to every
//! member's connection, no errors. Timings are never asserted.
//!
//! The engine comes from `MAGPIE_BIN`, or `magpie` beside the bench binary (the same
//! `target/release`); `tools/scripts/test.sh` builds it before running the tests.

mod common;

use common::{check_load_report, run_quick};

// One test, run in sequence: four engines at once would only measure each other.
#[test]
fn quick_mode_both_scenarios_both_transports() {
    for scenario in ["one-to-one", "fanout"] {
        for transport in ["quic", "ws"] {
            let (r, log) = run_quick(scenario, transport, &[]);
            check_load_report(&r, scenario, transport, &log);
        }
    }
    // Registration over the wire (the default seeds accounts into the store).
    let (r, log) = run_quick("one-to-one", "quic", &["--accounts", "register"]);
    check_load_report(&r, "one-to-one", "quic", &log);
}
