//! `magpie-bench-charts <results-dir> [--out <dir>]`: reads every `*.json` result file in a
//! directory (`magpie-bench --out` reports, connection-density sweeps, peer comparisons) and
//! writes SVG charts: latency percentiles vs offered rate, memory vs connections, deliveries/s by
//! scenario and transport, and magpie vs its peers. Files it does not understand are skipped
//! with a warning. See docs/BENCHMARKS.md, "Charts".
//!
//! Exit status: 0 when at least one chart was written, 1 when the reports made no chart (or a
//! chart failed to draw), 2 when the directory could not be read or a file not written.

use magpie_bench_charts as charts;

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// SVG charts from a directory of magpie-bench JSON results.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Directory holding the `*.json` result files (not searched recursively).
    results_dir: PathBuf,
    /// Where to write the SVGs (created if missing; default: the results directory).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let out_dir = args.out.clone().unwrap_or_else(|| args.results_dir.clone());
    let loaded = match charts::data::load_dir(&args.results_dir) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("magpie-bench-charts: {e}");
            return ExitCode::from(2);
        }
    };
    for (path, why) in &loaded.skipped {
        eprintln!(
            "magpie-bench-charts: warning: skipped {}: {why}",
            path.display()
        );
    }
    // A panic inside plotters becomes that chart's error (see charts::build); keep the default
    // hook from printing it as if the program had crashed.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let built = charts::build(&loaded.reports);
    std::panic::set_hook(default_hook);
    if !built.is_empty() {
        if let Err(e) = std::fs::create_dir_all(&out_dir) {
            eprintln!("magpie-bench-charts: creating {}: {e}", out_dir.display());
            return ExitCode::from(2);
        }
    }
    let (mut written, mut failed) = (0, 0);
    for chart in built {
        match chart.svg {
            Ok(svg) => {
                let path = out_dir.join(chart.file);
                if let Err(e) = std::fs::write(&path, svg) {
                    eprintln!("magpie-bench-charts: writing {}: {e}", path.display());
                    return ExitCode::from(2);
                }
                println!("{}", path.display());
                written += 1;
            }
            Err(e) => {
                eprintln!(
                    "magpie-bench-charts: warning: {} not drawn: {e}",
                    chart.file
                );
                failed += 1;
            }
        }
    }
    eprintln!(
        "magpie-bench-charts: {} report(s) read from {}, {} file(s) skipped; {written} chart(s) written to {}{}",
        loaded.reports.len(),
        args.results_dir.display(),
        loaded.skipped.len(),
        out_dir.display(),
        if failed > 0 { format!(", {failed} failed") } else { String::new() }
    );
    if written == 0 {
        eprintln!("magpie-bench-charts: no chart written: no report with anything to plot");
    }
    if written > 0 && failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
