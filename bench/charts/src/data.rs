//! Reading result files: each `*.json` is parsed into the report schema that magpie-bench
//! writes (`magpie_bench_report`, read leniently: fields added later are ignored, a field that is
//! not a usable number reads as absent) and classified by what it holds:
//!
//! - a **run** (`magpie-bench --out`): a [`schema::Report`] with a `scenario` and its message load
//!   (`latency_us.deliver` and/or `recipient_deliveries_per_s`/`deliveries_per_s`);
//! - a **density** sweep: `"scenario": "density"` with its `points`;
//! - a **peers comparison** ([`schema::Compare`]): `"compare": true` (or `"kind": "compare"`)
//!   with `results`, an object of run reports keyed by target or an array of
//!   `{target, deliveries_per_s, deliveries_per_server_cpu_s}`.
//!
//! Anything else is refused with a reason, which the caller prints as a warning. What the charts
//! keep of a report (below) is a projection of it: units converted, absent values as `None`.

use magpie_bench_report as schema;
pub use schema::{DensityPoint, Machine};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// "2 cores, 24 GiB, Linux 6.18.44"; None when the report says nothing.
pub fn describe(m: &Machine) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(c) = m.cores.filter(|c| *c >= 1) {
        parts.push(format!("{c} core{}", if c == 1 { "" } else { "s" }));
    }
    if let Some(g) = m.memory_gib.filter(|g| *g > 0.0) {
        parts.push(format!("{} GiB", trim_float(g)));
    }
    if !m.kernel.is_empty() {
        parts.push(format!("Linux {}", m.kernel));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// What every kind of report carries for the charts' captions.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub machine: Machine,
    /// A date or timestamp, if the report has one.
    pub date: Option<String>,
}

/// One `magpie-bench` run.
#[derive(Debug, Clone)]
pub struct Run {
    pub origin: Origin,
    pub scenario: String,
    /// The transport, or the peer's name for a peer run.
    pub transport: String,
    /// Offered msg/s (`config.rate`, else `offered_msgs_per_s`), when positive.
    pub rate: Option<f64>,
    /// `config.group` when it is above 0 (fan-out).
    pub group: Option<u64>,
    pub durability: Option<String>,
    /// `latency_us.deliver.{p50,p99,p999}_us`, in ms.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    /// `recipient_deliveries_per_s`, else `deliveries_per_s`.
    pub deliveries_per_s: Option<f64>,
}

impl Run {
    /// The bar-chart group: the scenario, plus the group size when there is one ("fanout 1000").
    pub fn label(&self) -> String {
        match self.group {
            Some(g) => format!("{} {g}", self.scenario),
            None => self.scenario.clone(),
        }
    }
}

/// A connection-density sweep over one transport: its points that have a connection count, in
/// order of it.
#[derive(Debug, Clone)]
pub struct Density {
    pub origin: Origin,
    pub transport: String,
    pub points: Vec<DensityPoint>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PeerResult {
    pub target: String,
    pub deliveries_per_s: Option<f64>,
    pub deliveries_per_server_cpu_s: Option<f64>,
}

/// A comparison of magpie with its peers (Socket.IO, a no-logic ceiling server).
#[derive(Debug, Clone)]
pub struct Compare {
    pub origin: Origin,
    /// What was compared: the report's `scenario` (or `name`, else the file's stem), with the
    /// group size or clients, rate and durability of its runs when they are given.
    pub label: String,
    pub results: Vec<PeerResult>,
}

#[derive(Debug, Clone)]
pub enum Report {
    Run(Run),
    Density(Density),
    Compare(Compare),
}

/// Every report found in a directory, and the files that were not understood.
#[derive(Debug, Default)]
pub struct Loaded {
    pub reports: Vec<Report>,
    pub skipped: Vec<(PathBuf, String)>,
}

/// Reads every `*.json` file directly in `dir` (not in subdirectories), in name order.
/// Fails only if the directory itself cannot be listed; unreadable or unrecognised files end up
/// in `skipped` with the reason.
pub fn load_dir(dir: &Path) -> Result<Loaded, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("reading directory {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("json"))
                && p.is_file()
        })
        .collect();
    files.sort();
    let mut loaded = Loaded::default();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let result = std::fs::read(&path)
            .map_err(|e| format!("cannot read it: {e}"))
            .and_then(|bytes| {
                serde_json::from_slice::<Value>(&bytes).map_err(|e| format!("not valid JSON: {e}"))
            })
            .and_then(|v| classify(&v, &name));
        match result {
            Ok(r) => loaded.reports.push(r),
            Err(why) => loaded.skipped.push((path, why)),
        }
    }
    Ok(loaded)
}

/// Recognises one parsed file. `file` is its name, used for labels and messages.
pub fn classify(v: &Value, file: &str) -> Result<Report, String> {
    if !v.is_object() {
        return Err("not a JSON object".into());
    }
    let date = date(v);
    if v.get("kind").and_then(Value::as_str) == Some("compare")
        || v.get("compare").and_then(Value::as_bool) == Some(true)
    {
        let c = schema::Compare::deserialize(v).map_err(|e| format!("a comparison that does not parse: {e}"))?;
        return compare(c, file, date).map(Report::Compare);
    }
    if !v.get("scenario").is_some_and(Value::is_string) {
        return Err(
            "neither a bench report (no \"scenario\") nor a comparison (no \"kind\": \"compare\")".into(),
        );
    }
    let r = schema::Report::deserialize(v).map_err(|e| format!("a report that does not parse: {e}"))?;
    let origin = Origin { machine: r.machine.clone(), date };
    // A single peer run (`magpie-bench --target socketio|ceiling --out`) has the shape of a magpie
    // run; its series and bars carry the target's name instead of the transport.
    let transport = match r.target.as_str() {
        "" | "magpie" if r.transport.is_empty() => "unknown".to_string(),
        "" | "magpie" => r.transport.clone(),
        t => t.to_string(),
    };
    if r.scenario == "density" {
        let d = r
            .density
            .ok_or("a \"density\" report without a \"points\" array")?;
        let mut points: Vec<DensityPoint> =
            d.points.into_iter().filter(|p| p.connections.is_some()).collect();
        if points.is_empty() {
            return Err("a \"density\" report with no point that has \"connections\"".into());
        }
        points.sort_by_key(|p| p.connections);
        return Ok(Report::Density(Density {
            origin,
            transport,
            points,
        }));
    }
    let load = r.load.unwrap_or_default();
    let deliver = &load.latency_us.deliver;
    let ms = |us: f64| us.is_finite().then_some(us / 1000.0);
    let run = Run {
        transport,
        rate: r
            .config
            .rate
            .or(load.offered_msgs_per_s)
            .filter(|r| *r > 0.0),
        group: r.config.group.filter(|g| *g >= 1),
        durability: r.config.durability.clone(),
        p50_ms: ms(deliver.p50_us),
        p99_ms: ms(deliver.p99_us),
        p999_ms: ms(deliver.p999_us),
        deliveries_per_s: load.recipient_deliveries_per_s.or(load.deliveries_per_s),
        scenario: r.scenario,
        origin,
    };
    if run.p50_ms.is_none()
        && run.p99_ms.is_none()
        && run.p999_ms.is_none()
        && run.deliveries_per_s.is_none()
    {
        return Err(format!(
            "a \"{}\" report with neither latency_us.deliver nor deliveries_per_s",
            run.scenario
        ));
    }
    Ok(Report::Run(run))
}

/// A peers comparison: each target's figures from its run report (as `magpie-bench --compare`
/// writes them; per-CPU from the engine's or the peer server's CPU section) or from a list of
/// summaries. Targets that carry an `error` instead, and summaries without a target, are left out.
fn compare(c: schema::Compare, file: &str, date: Option<String>) -> Result<Compare, String> {
    let reports: Vec<(&String, &schema::Report)> = match &c.results {
        schema::CompareResults::ByTarget(by) => by
            .iter()
            .filter_map(|(k, e)| match e {
                schema::CompareEntry::Report(r) => Some((k, r.as_ref())),
                schema::CompareEntry::Failed { .. } => None,
            })
            .collect(),
        schema::CompareResults::List(_) => Vec::new(),
    };
    let summaries: Vec<schema::PeerSummary> = match &c.results {
        schema::CompareResults::List(list) => list.clone(),
        schema::CompareResults::ByTarget(_) => reports
            .iter()
            .filter_map(|(k, r)| {
                let mut s = r.summary()?;
                s.target = Some(if r.target.is_empty() { (*k).clone() } else { r.target.clone() });
                Some(s)
            })
            .collect(),
    };
    let results: Vec<PeerResult> = summaries
        .into_iter()
        .filter_map(|s| {
            Some(PeerResult {
                target: s.target?,
                deliveries_per_s: s.deliveries_per_s,
                deliveries_per_server_cpu_s: s.deliveries_per_server_cpu_s,
            })
        })
        .filter(|r| r.deliveries_per_s.is_some() || r.deliveries_per_server_cpu_s.is_some())
        .collect();
    if results.is_empty() {
        return Err("a comparison with no result that has a target and a number".into());
    }
    let machine = if describe(&c.machine).is_some() {
        c.machine.clone()
    } else {
        reports
            .iter()
            .map(|(_, r)| r.machine.clone())
            .find(|m| describe(m).is_some())
            .unwrap_or_default()
    };
    // The label says what was compared: the scenario, and the group, rate and durability of the
    // runs (from the first report) so that several comparisons stay apart.
    let mut label = if c.scenario.is_empty() {
        file.trim_end_matches(".json").to_string()
    } else {
        c.scenario.clone()
    };
    if let Some((_, r)) = reports.first() {
        let config = &r.config;
        if let Some(g) = config.group.filter(|g| *g >= 1) {
            label += &format!(" {g}");
        } else if config.clients >= 1 {
            label += &format!(" ×{}", config.clients);
        }
        if let Some(rate) = config.rate.filter(|r| *r > 0.0) {
            label += &format!(" @{rate}/s");
        }
        if let Some(d) = config.durability.as_deref().filter(|d| *d != "power-loss") {
            label += &format!(" {d}");
        }
    }
    Ok(Compare {
        origin: Origin { machine, date },
        label,
        results,
    })
}

/// The report's date: the first of a few customary keys, at the top level or under `machine`
/// (hand-written and foreign result files name it in many ways; magpie-bench's comparison writes
/// `started_unix_s`). A string is taken as written (its first 10 characters when it is an ISO
/// 8601 timestamp); a number as Unix seconds (or milliseconds, if it is that large).
fn date(v: &Value) -> Option<String> {
    const KEYS: [&str; 9] = [
        "date",
        "started_at",
        "started_unix_s",
        "start_time",
        "started",
        "timestamp",
        "time",
        "finished_at",
        "unix_time",
    ];
    let found = KEYS.iter().find_map(|k| v.get(*k)).or_else(|| {
        v.get("machine")
            .and_then(|m| KEYS.iter().find_map(|k| m.get(*k)))
    })?;
    match found {
        Value::String(s) => {
            let s = s.trim();
            let iso = s.len() >= 10
                && s.as_bytes()[..10].is_ascii()
                && s.as_bytes()[4] == b'-'
                && s.as_bytes()[7] == b'-'
                && s.as_bytes()[..4].iter().all(u8::is_ascii_digit);
            match s {
                "" => None,
                _ if iso => Some(s[..10].to_string()),
                _ => Some(s.chars().take(40).collect()),
            }
        }
        Value::Number(n) => {
            let mut secs = n.as_f64().filter(|x| x.is_finite() && *x > 0.0)?;
            if secs > 1e11 {
                secs /= 1000.0;
            }
            Some(utc_date(secs as i64))
        }
        _ => None,
    }
}

/// YYYY-MM-DD (UTC) of a Unix time, by the days-to-civil algorithm (no calendar crate needed).
pub fn utc_date(unix_secs: i64) -> String {
    let z = unix_secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// 24.0 → "24", 23.5 → "23.5".
pub fn trim_float(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_bench_run_is_read_with_units_converted() {
        let v = json!({
            "scenario": "fanout", "transport": "ws",
            "config": {"rate": 100.0, "group": 1000, "durability": "power-loss"},
            "machine": {"cores": 2, "memory_gib": 24.0, "kernel": "6.18.44"},
            "latency_us": {"deliver": {"p50_us": 1500.0, "p99_us": 20000.0, "p999_us": 31000.5}},
            "deliveries_per_s": 99000.0, "recipient_deliveries_per_s": 98000.0,
            "something_new": [1, 2, 3]
        });
        let Report::Run(r) = classify(&v, "f.json").unwrap() else {
            panic!("not a run")
        };
        assert_eq!(r.label(), "fanout 1000");
        assert_eq!(r.rate, Some(100.0));
        assert_eq!(r.p50_ms, Some(1.5));
        assert_eq!(r.p999_ms, Some(31.0005));
        assert_eq!(r.deliveries_per_s, Some(98000.0));
        assert_eq!(
            describe(&r.origin.machine).as_deref(),
            Some("2 cores, 24 GiB, Linux 6.18.44")
        );
    }

    #[test]
    fn one_to_one_has_no_group_and_falls_back_to_all_deliveries() {
        let v = json!({"scenario": "one-to-one", "transport": "quic", "config": {"rate": 2000, "group": 0},
                       "deliveries_per_s": 4000});
        let Report::Run(r) = classify(&v, "o.json").unwrap() else {
            panic!("not a run")
        };
        assert_eq!(r.label(), "one-to-one");
        assert_eq!(r.deliveries_per_s, Some(4000.0));
        assert_eq!(r.p50_ms, None);
    }

    #[test]
    fn density_and_compare_are_recognised_and_tolerate_missing_fields() {
        let d = json!({"scenario": "density", "transport": "quic", "points": [
            {"connections": 2000, "engine_rss_mib": 300.0},
            {"connections": 1000, "engine_rss_mib": 250.0, "rss_per_conn_kib": 6.5},
            {"engine_rss_mib": 1.0}
        ]});
        let Report::Density(d) = classify(&d, "d.json").unwrap() else {
            panic!("not density")
        };
        assert_eq!(d.points.len(), 2);
        assert_eq!(d.points[0].connections, Some(1000));
        assert_eq!(d.points[1].rss_per_conn_kib, None);

        let c = json!({"kind": "compare", "results": [
            {"target": "magpie", "deliveries_per_s": 1e5, "deliveries_per_server_cpu_s": 2e5},
            {"target": "socketio", "deliveries_per_s": 2e4},
            {"deliveries_per_s": 5.0},
            {"target": "ceiling"}
        ]});
        let Report::Compare(c) = classify(&c, "peers-fanout.json").unwrap() else {
            panic!("not compare")
        };
        assert_eq!(c.label, "peers-fanout");
        assert_eq!(c.results.len(), 2);
        assert_eq!(c.results[1].deliveries_per_server_cpu_s, None);
    }

    #[test]
    fn the_compare_output_of_magpie_bench_is_read() {
        let run = |target: Option<&str>, cpu: Value| {
            let mut r = json!({"scenario": "fanout", "transport": "ws", "deliveries_per_s": 99000.0,
                "config": {"group": 100, "rate": 1000.0, "durability": "process-crash"},
                "machine": {"cores": 2, "kernel": "6.18"}, "cpu": cpu});
            if let Some(t) = target {
                r["target"] = json!(t);
            }
            r
        };
        let v = json!({"compare": true, "scenario": "fanout", "started_unix_s": 1_795_000_000u64, "results": {
            "magpie": run(None, json!({"deliveries_per_engine_cpu_s": 200000.0})),
            "socketio": run(Some("socketio"), json!({"deliveries_per_server_cpu_s": 150000.0})),
            "ceiling": {"error": "the ceiling server did not start"}
        }});
        let Report::Compare(c) = classify(&v, "cmp.json").unwrap() else {
            panic!("not compare")
        };
        assert_eq!(c.label, "fanout 100 @1000/s process-crash");
        assert_eq!(c.origin.date.as_deref(), Some("2026-11-18"));
        assert_eq!(c.origin.machine.cores, Some(2));
        let by = |t: &str| c.results.iter().find(|r| r.target == t).cloned();
        assert_eq!(
            by("magpie").unwrap().deliveries_per_server_cpu_s,
            Some(200000.0)
        );
        assert_eq!(
            by("socketio").unwrap().deliveries_per_server_cpu_s,
            Some(150000.0)
        );
        assert!(by("ceiling").is_none());

        // One peer run on its own is a run whose "transport" is the target.
        let Report::Run(r) = classify(&run(Some("socketio"), json!({})), "sio.json").unwrap()
        else {
            panic!("not a run")
        };
        assert_eq!(r.transport, "socketio");
    }

    #[test]
    fn unknown_shapes_are_refused_with_a_reason() {
        for v in [
            json!([1, 2]),
            json!("x"),
            json!({"hello": 1}),
            json!({"scenario": 5}),
            json!({"scenario": "one-to-one"}),
            json!({"scenario": "density", "points": "no"}),
            json!({"kind": "compare", "results": [{"target": 1}]}),
            json!({"scenario": "one-to-one", "recipient_deliveries_per_s": 1e300}),
        ] {
            assert!(classify(&v, "x.json").is_err(), "{v} was accepted");
        }
    }

    #[test]
    fn dates_from_strings_and_unix_times() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_795_000_000), "2026-11-18");
        assert_eq!(
            date(&json!({"date": "2026-11-28T05:10:00Z"})).as_deref(),
            Some("2026-11-28")
        );
        assert_eq!(
            date(&json!({"machine": {"timestamp": 1_795_000_000_000u64}})).as_deref(),
            Some("2026-11-18")
        );
        assert_eq!(
            date(&json!({"time": "yesterday"})).as_deref(),
            Some("yesterday")
        );
        assert_eq!(date(&json!({"date": null})), None);
        assert_eq!(
            date(&json!({"date": "2026-1é-28"})).as_deref(),
            Some("2026-1é-28")
        );
    }
}
