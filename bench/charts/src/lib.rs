//! `magpie-bench-charts`: SVG charts from a directory of benchmark result files (the library
//! behind the binary of the same name, `src/main.rs`).
//!
//! `data` reads and classifies the JSON files; `render` draws; this module decides which charts
//! the reports make and what goes into each.

pub mod data;
pub mod render;

use data::{Compare, Density, Origin, Report, Run};
use render::{lighten, transport_color, BarChart, Bars, Line, LineChart, Marker, PALETTE};
use std::collections::BTreeSet;

/// One chart the reports called for: its file name and the SVG, or why it could not be drawn.
pub struct Chart {
    pub file: &'static str,
    pub svg: Result<String, String>,
}

/// Every chart for which the reports have data, in a fixed order.
pub fn build(reports: &[Report]) -> Vec<Chart> {
    let runs: Vec<&Run> = reports
        .iter()
        .filter_map(|r| {
            if let Report::Run(r) = r {
                Some(r)
            } else {
                None
            }
        })
        .collect();
    let density: Vec<&Density> = reports
        .iter()
        .filter_map(|r| {
            if let Report::Density(d) = r {
                Some(d)
            } else {
                None
            }
        })
        .collect();
    let compare: Vec<&Compare> = reports
        .iter()
        .filter_map(|r| {
            if let Report::Compare(c) = r {
                Some(c)
            } else {
                None
            }
        })
        .collect();
    let mut charts = Vec::new();
    let latency = |scenario: &str| -> Vec<&Run> {
        runs.iter()
            .copied()
            .filter(|r| {
                r.scenario == scenario
                    && r.rate.is_some()
                    && [r.p50_ms, r.p99_ms, r.p999_ms]
                        .iter()
                        .flatten()
                        .any(|ms| *ms > 0.0)
            })
            .collect()
    };
    let o2o = latency("one-to-one");
    if !o2o.is_empty() {
        charts.push(Chart {
            file: "latency-vs-rate.svg",
            svg: guarded(|| latency_chart("One-to-one: delivery latency vs offered rate", &o2o)),
        });
    }
    let fanout = latency("fanout");
    if !fanout.is_empty() {
        charts.push(Chart {
            file: "latency-vs-rate-fanout.svg",
            svg: guarded(|| latency_chart("Fan-out: delivery latency vs offered rate", &fanout)),
        });
    }
    if density
        .iter()
        .any(|d| d.points.iter().any(|p| p.engine_rss_mib.is_some()))
    {
        charts.push(Chart {
            file: "memory-vs-connections.svg",
            svg: guarded(|| {
                density_chart(
                    "Engine memory vs connections",
                    "engine RSS (MiB)",
                    "Engine resident set size after each step of the connection-density sweep.",
                    &density,
                    |p| p.engine_rss_mib,
                )
            }),
        });
    }
    if density
        .iter()
        .any(|d| d.points.iter().any(|p| p.rss_per_conn_kib.is_some()))
    {
        charts.push(Chart {
            file: "memory-per-connection.svg",
            svg: guarded(|| {
                density_chart(
                    "Engine memory per connection",
                    "RSS per connection (KiB)",
                    "Engine RSS per connected, synced client, as the density sweep reports it (rss_per_conn_kib).",
                    &density,
                    |p| p.rss_per_conn_kib,
                )
            }),
        });
    }
    let delivering: Vec<&Run> = runs
        .iter()
        .copied()
        .filter(|r| r.deliveries_per_s.is_some_and(|d| d > 0.0))
        .collect();
    if !delivering.is_empty() {
        charts.push(Chart {
            file: "deliveries-by-scenario.svg",
            svg: guarded(|| deliveries_chart(&delivering)),
        });
    }
    if !compare.is_empty() {
        charts.push(Chart {
            file: "peers.svg",
            svg: guarded(|| peers_chart(&compare)),
        });
    }
    charts
}

/// Runs one chart's drawing, turning a panic inside it (plotters asserts on some inputs) into an
/// error, so that odd data costs that chart and not the others.
fn guarded(draw: impl FnOnce() -> Result<String, String>) -> Result<String, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(draw)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        Err(format!("drawing panicked: {why}"))
    })
}

/// Footer lines: what the chart shows, then where the numbers come from.
fn caption<'a>(note: &str, origins: impl Iterator<Item = &'a Origin>) -> Vec<String> {
    let (mut machines, mut dates, mut n) = (BTreeSet::new(), BTreeSet::new(), 0);
    for o in origins {
        n += 1;
        if let Some(m) = data::describe(&o.machine) {
            machines.insert(m);
        }
        if let Some(d) = &o.date {
            dates.insert(d.clone());
        }
    }
    let mut source = match machines.len() {
        0 => "machine: not recorded".to_string(),
        1 => format!("machine: {}", machines.first().unwrap()),
        _ => format!(
            "machines: {}",
            machines.into_iter().collect::<Vec<_>>().join("; ")
        ),
    };
    match (dates.first(), dates.last()) {
        (Some(a), Some(b)) if a == b => source += &format!(" · date: {a}"),
        (Some(a), Some(b)) => source += &format!(" · dates: {a} … {b}"),
        _ => {}
    }
    source += &format!(" · {n} report{}", if n == 1 { "" } else { "s" });
    vec![note.to_string(), source]
}

/// Distinct values, for deciding which attributes tell series apart.
fn distinct<T: Ord, I: IntoIterator<Item = T>>(it: I) -> usize {
    it.into_iter().collect::<BTreeSet<T>>().len()
}

/// One series per (transport × percentile), plus group size and durability in the series when
/// the reports mix them. x = offered msg/s, y = ms on a log scale.
fn latency_chart(title: &str, runs: &[&Run]) -> Result<String, String> {
    let by_group = distinct(runs.iter().map(|r| r.group)) > 1;
    let by_durability = distinct(runs.iter().map(|r| r.durability.clone())) > 1;
    let key = |r: &Run| {
        let mut k = r.transport.clone();
        if by_group {
            k += &r.group.map_or(String::new(), |g| format!(" g={g}"));
        }
        if by_durability {
            k += &r
                .durability
                .as_ref()
                .map_or(String::new(), |d| format!(" {d}"));
        }
        k
    };
    let mut keys: Vec<String> = runs
        .iter()
        .map(|r| key(r))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    keys.sort_by_key(|k| (transport_rank(k.split(' ').next().unwrap_or("")), k.clone()));
    let one_per_transport = keys.len() == distinct(runs.iter().map(|r| r.transport.clone()));
    let mut lines = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let members: Vec<&&Run> = runs.iter().filter(|r| &key(r) == k).collect();
        let base = if one_per_transport {
            transport_color(&members[0].transport, i)
        } else {
            PALETTE[i % PALETTE.len()]
        };
        let percentiles: [(&str, fn(&Run) -> Option<f64>, f64, Marker, bool); 3] = [
            ("p50", |r| r.p50_ms, 0.45, Marker::Circle, true),
            ("p99", |r| r.p99_ms, 0.0, Marker::Triangle, false),
            ("p99.9", |r| r.p999_ms, 0.0, Marker::Square, true),
        ];
        for (name, get, light, marker, dashed) in percentiles {
            let points: Vec<(f64, f64)> = members
                .iter()
                .filter_map(|r| Some((r.rate?, get(r)?)))
                .collect();
            if !points.is_empty() {
                lines.push(Line {
                    key: k.clone(),
                    variant: name.to_string(),
                    color: lighten(base, light),
                    marker,
                    dashed,
                    points,
                });
            }
        }
    }
    let note = "Latency from each message's intended send time to its Deliver at every recipient \
                (latency_us.deliver); lines join the median of repeated runs, markers are single runs.";
    let footer = caption(note, runs.iter().map(|r| &r.origin));
    render::page(1000, 620, &footer, |area| {
        render::line_chart(
            area,
            &LineChart {
                title,
                x_desc: "offered load (msg/s, all senders)",
                y_desc: "latency (ms, log scale)",
                log_y: true,
                lines: &lines,
            },
        )
    })
}

fn density_chart(
    title: &str,
    y_desc: &str,
    note: &str,
    reports: &[&Density],
    value: fn(&data::DensityPoint) -> Option<f64>,
) -> Result<String, String> {
    let mut transports: Vec<&str> = reports
        .iter()
        .map(|d| d.transport.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    transports.sort_by_key(|t| (transport_rank(t), t.to_string()));
    let lines: Vec<Line> = transports
        .iter()
        .enumerate()
        .map(|(i, t)| Line {
            key: t.to_string(),
            variant: String::new(),
            color: transport_color(t, i),
            marker: [
                Marker::Circle,
                Marker::Triangle,
                Marker::Square,
                Marker::Cross,
            ][i % 4],
            dashed: false,
            points: reports
                .iter()
                .filter(|d| d.transport == *t)
                .flat_map(|d| {
                    d.points
                        .iter()
                        .filter_map(|p| Some((p.connections? as f64, value(p)?)))
                })
                .collect(),
        })
        .collect();
    let footer = caption(note, reports.iter().map(|d| &d.origin));
    render::page(1000, 620, &footer, |area| {
        render::line_chart(
            area,
            &LineChart {
                title,
                x_desc: "connections (synced clients)",
                y_desc,
                log_y: false,
                lines: &lines,
            },
        )
    })
}

/// QUIC first, then WebSocket, then anything else.
fn transport_rank(t: &str) -> u8 {
    match t {
        "quic" => 0,
        "ws" => 1,
        _ => 2,
    }
}

/// Grouped bars: a group per scenario (and fan-out group size), a bar per transport, the best
/// deliveries/s among the runs of that group and transport.
fn deliveries_chart(runs: &[&Run]) -> Result<String, String> {
    let scenario_rank = |s: &str| match s {
        "one-to-one" => 0,
        "fanout" => 1,
        _ => 2,
    };
    let mut groups: Vec<(u8, String, u64, String)> = runs
        .iter()
        .map(|r| {
            (
                scenario_rank(&r.scenario),
                r.scenario.clone(),
                r.group.unwrap_or(0),
                r.label(),
            )
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    groups.dedup_by(|a, b| a.3 == b.3);
    let labels: Vec<String> = groups.into_iter().map(|g| g.3).collect();
    let mut transports: Vec<&str> = runs
        .iter()
        .map(|r| r.transport.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    transports.sort_by_key(|t| (transport_rank(t), t.to_string()));
    let bars: Vec<Bars> = transports
        .iter()
        .enumerate()
        .map(|(i, t)| Bars {
            label: t.to_string(),
            color: transport_color(t, i),
            values: labels
                .iter()
                .map(|l| {
                    runs.iter()
                        .filter(|r| r.transport == *t && &r.label() == l)
                        .filter_map(|r| r.deliveries_per_s)
                        .reduce(f64::max)
                })
                .collect(),
        })
        .collect();
    let note = "Deliveries per second to recipients (recipient_deliveries_per_s; deliveries_per_s where absent), \
                the highest among the runs of each scenario and transport.";
    let footer = caption(note, runs.iter().map(|r| &r.origin));
    render::page(1000, 600, &footer, |area| {
        render::bar_chart(
            area,
            &BarChart {
                title: "Deliveries per second by scenario and transport",
                y_desc: "deliveries/s",
                groups: &labels,
                bars: &bars,
            },
        )
    })
}

/// Two panels: deliveries/s and deliveries per server CPU-second, a group per comparison, a bar
/// per target.
fn peers_chart(reports: &[&Compare]) -> Result<String, String> {
    // A group per comparison, in label order; repeats of the same comparison stay apart.
    let mut reports = reports.to_vec();
    reports.sort_by(|a, b| a.label.cmp(&b.label));
    let labels: Vec<String> = reports
        .iter()
        .enumerate()
        .map(
            |(i, c)| match reports[..i].iter().filter(|p| p.label == c.label).count() {
                0 => c.label.clone(),
                n => format!("{} #{}", c.label, n + 1),
            },
        )
        .collect();
    let target_rank = |t: &str| match t {
        "magpie" => 0,
        "socketio" => 1,
        "ceiling" => 2,
        _ => 3,
    };
    let mut targets: Vec<&str> = reports
        .iter()
        .flat_map(|c| c.results.iter().map(|r| r.target.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    targets.sort_by_key(|t| (target_rank(t), t.to_string()));
    let color = |i: usize, t: &str| match t {
        "magpie" => PALETTE[2],
        "socketio" => PALETTE[3],
        "ceiling" => PALETTE[7],
        _ => PALETTE[[4, 5, 6, 8, 9][i % 5]],
    };
    let value = |c: &Compare, target: &str, get: fn(&data::PeerResult) -> Option<f64>| {
        c.results
            .iter()
            .filter(|r| r.target == target)
            .filter_map(get)
            .reduce(f64::max)
    };
    let panel = |get: fn(&data::PeerResult) -> Option<f64>| -> Vec<Bars> {
        targets
            .iter()
            .enumerate()
            .map(|(i, t)| Bars {
                label: t.to_string(),
                color: color(i, t),
                values: reports.iter().map(|c| value(c, t, get)).collect(),
            })
            .collect()
    };
    let per_s = panel(|r| r.deliveries_per_s);
    let per_cpu = panel(|r| r.deliveries_per_server_cpu_s);
    let ratios: Vec<String> = reports
        .iter()
        .zip(&labels)
        .filter_map(|(c, l)| {
            let m = value(c, "magpie", |r| r.deliveries_per_server_cpu_s)?;
            let s = value(c, "socketio", |r| r.deliveries_per_server_cpu_s).filter(|s| *s > 0.0)?;
            Some(format!("{l}: {:.2}×", m / s))
        })
        .collect();
    let note =
        "Magpie and its peers under the same load: all deliveries per second (deliveries_per_s), \
                and per CPU-second of the server process.";
    let mut footer = caption(note, reports.iter().map(|c| &c.origin));
    if !ratios.is_empty() {
        footer.insert(
            1,
            format!(
                "magpie ÷ socketio, deliveries per server CPU-second: {}",
                ratios.join("; ")
            ),
        );
    }
    // Two panels one above the other, so that several comparisons' labels have the full width.
    render::page(1100, 980, &footer, |area| {
        let (top, bottom) = area.split_vertically(area.dim_in_pixel().1 / 2);
        for (half, title, y_desc, bars) in [
            (
                &top,
                "Magpie vs peers: deliveries per second",
                "deliveries/s",
                &per_s,
            ),
            (
                &bottom,
                "Magpie vs peers: deliveries per server CPU-second",
                "deliveries / CPU-s",
                &per_cpu,
            ),
        ] {
            if let Err(e) = render::bar_chart(
                half,
                &BarChart {
                    title,
                    y_desc,
                    groups: &labels,
                    bars,
                },
            ) {
                render::note(half, title, &format!("nothing to draw ({e})"))?;
            }
        }
        Ok(())
    })
}
