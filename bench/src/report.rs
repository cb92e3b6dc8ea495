//! Filling in and printing the one report schema (`magpie_bench_report`, shared with the charts):
//! the machine section, the message-load table every target prints, and the JSON file.

use crate::stats::print_latency_table;
use crate::sys;
use magpie_bench_report::{Machine, Report};
use serde::Serialize;
use std::path::PathBuf;

/// The machine now, with the 1-minute load average taken before the run.
pub fn machine(load_before: f64, nofile: u64) -> Machine {
    Machine {
        cores: Some(sys::cores() as u64),
        memory_gib: Some((sys::memory_gib().unwrap_or(0.0) * 10.0).round() / 10.0),
        kernel: sys::kernel_release(),
        load_avg_1m_before: load_before,
        load_avg_1m_after: sys::load_average().unwrap_or(f64::NAN),
        nofile_limit: nofile,
        udp_rmem_max: std::fs::read_to_string("/proc/sys/net/core/rmem_max").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0),
    }
}

pub fn write_json(out: Option<&PathBuf>, value: &impl Serialize) -> Result<(), String> {
    if let Some(out) = out {
        let json = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
        std::fs::write(out, json + "\n").map_err(|e| format!("writing {}: {e}", out.display()))?;
    }
    Ok(())
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `n` per second over `span` seconds, to one decimal (0 for an empty span).
pub fn per_s(n: u64, span: f64) -> f64 {
    if span > 0.0 {
        (n as f64 / span * 10.0).round() / 10.0
    } else {
        0.0
    }
}

/// Prints a message-load report (any target) as a table.
pub fn print_load(r: &Report) {
    let Some(l) = &r.load else { return };
    let c = &r.config;
    let durability = c.durability.as_ref().map(|d| format!(", durability {d}")).unwrap_or_default();
    println!(
        "\n{} on {} over {} — {} clients, {} chat(s), {} sender(s){durability}, {} s load ({} s warm-up); {}",
        r.scenario,
        r.target,
        r.transport,
        c.clients,
        c.chats.or(c.rooms).unwrap_or(0),
        c.senders.unwrap_or(0),
        c.duration_s.unwrap_or(0.0),
        c.warmup_s.unwrap_or(0.0),
        r.server
    );
    let acked = match (l.acked, l.acked_per_s) {
        (Some(n), Some(per_s)) => format!(", acked {n} ({per_s:.0}/s)"),
        _ => String::new(),
    };
    println!(
        "  offered {:.0} msg/s; sent {} ({:.0}/s){acked}; deliveries {} to recipients + {} echoes = {:.0}/s; drain {:.3} s{}",
        l.offered_msgs_per_s.unwrap_or(0.0),
        l.sent,
        l.sent_per_s,
        l.deliveries,
        l.echo_deliveries,
        l.deliveries_per_s.unwrap_or(0.0),
        l.drain_s,
        if l.drained { "" } else { " (NOT drained)" }
    );
    let t = &l.latency_us;
    let mut rows = vec![("deliver", &t.deliver), ("  from send", &t.deliver_from_send), ("last recipient", &t.last_recipient)];
    if let Some(ack) = &t.ack {
        rows.push(("ack", ack));
    }
    rows.extend([("echo", &t.echo), ("send lag", &t.send_lag)]);
    print_latency_table(&rows);
    let server = &l.cpu.server;
    println!(
        "  cpu over {:.2} s: server {:.2} s ({:.2} cores), generator {:.2} s ({:.2} cores); {:.0} deliveries per server CPU-second; server RSS {:.1} MiB",
        l.cpu.window_s,
        server.s,
        server.cores_busy,
        l.cpu.generator_s,
        l.cpu.generator_cores_busy,
        server.deliveries_per_cpu_s.unwrap_or(0.0),
        server.rss_mib_after
    );
    let d = &l.delivery_check;
    println!(
        "  check: expected {} received {} missing {} duplicates {} out-of-order {} incomplete {} → {}; errors {} {:?}; load avg {:.2} → {:.2}",
        d.expected,
        d.received,
        d.missing,
        d.duplicates,
        d.out_of_order,
        d.incomplete_messages,
        if d.exactly_once { "exactly once" } else { "NOT exactly once" },
        l.errors.total,
        l.errors.by_code,
        r.machine.load_avg_1m_before,
        r.machine.load_avg_1m_after
    );
}
