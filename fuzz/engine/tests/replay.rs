//! Replays the committed seeds (`fuzz/corpus/<target>/`) and every crash input kept in
//! `fuzz/regressions/<target>/` through the same harness functions the fuzz targets run, without
//! libFuzzer or sanitizers: `cargo test --manifest-path fuzz/engine/Cargo.toml`.
//!
//! One test function: the harness keeps one engine per thread, and inputs run one at a time.

use std::path::Path;

fn replay(dir: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    let mut n = 0;
    for (target, run) in magpie_fuzz_engine::TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else { continue };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file() && !p.ends_with("README.md")).collect();
        files.sort();
        for path in files {
            let data = std::fs::read(&path).unwrap();
            eprintln!("{target}: {}", path.display());
            run(&data);
            n += 1;
        }
    }
    n
}

#[test]
fn seeds_and_regressions_do_not_crash() {
    replay("regressions");
    assert!(replay("corpus") > 0, "no seeds: run `cargo run --manifest-path fuzz/engine/Cargo.toml --example seed_engine`");
}
