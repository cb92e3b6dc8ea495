//! Replays the committed seeds (`corpus/<target>/`) and every crash input kept in
//! `regressions/<target>/` through the same harness functions the fuzz targets run, without
//! libFuzzer or sanitizers: `cargo test --manifest-path fuzz/Cargo.toml`.

use std::path::Path;

fn replay(dir: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut n = 0;
    for (target, run) in magpie_fuzz::TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else { continue };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
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
fn regressions_do_not_crash() {
    replay("regressions");
}

#[test]
fn seeds_do_not_crash() {
    assert!(replay("corpus") > 0, "no seeds: run `cargo run --example seed_corpus`");
}
