//! The engine's files import each other without a loop.
//!
//! Reads `engine/src`, turns every path a file names — `use crate::…`, `use super::…`, `use` of
//! a child module, and `crate::…`/`super::…` paths inside code — into an edge to the file that
//! defines the module the path reaches, and fails on the first cycle it finds, printing it. A
//! loop (six files once imported each other) means no layer can be understood or tested alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every library file by its module path (`main.rs` is another crate and names `magpie_engine::`).
fn modules() -> BTreeMap<Module, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<Module, PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                walk(&path, &[prefix, &[name]].concat(), out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let module = match name.as_str() {
                    "lib" if prefix.is_empty() => vec![],
                    "main" if prefix.is_empty() => continue,
                    "mod" => prefix.to_vec(),
                    _ => [prefix, &[name]].concat(),
                };
                out.insert(module, path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&src(), &[], &mut out);
    out
}

/// The source without comments, string literals (they may mention paths that are not code) and
/// an inline test module at its end (whose `super` is the file itself).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// The full paths of a `use` tree such as `crate::{a::B, c::{self, D}}`.
fn expand_use(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = Vec::new();
    fn go(prefix: &str, t: &str, out: &mut Vec<String>) {
        match t.find('{') {
            None => out.push(format!("{prefix}{t}")),
            Some(open) => {
                let (head, rest) = t.split_at(open);
                let inner = &rest[1..rest.len() - 1];
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in inner.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            go(&format!("{prefix}{head}"), &inner[start..i], out);
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                if start < inner.len() {
                    go(&format!("{prefix}{head}"), &inner[start..], out);
                }
            }
        }
    }
    go("", &tree, &mut out);
    out
}

/// The module paths `file` (module `me`, which declares `children`) refers to.
fn references(code: &str, me: &Module, is_mod_file: bool, children: &BTreeSet<String>) -> Vec<Module> {
    // `super` of a `mod.rs` or `lib.rs` file is its module's parent; of `x/y.rs`, module `x`.
    let parent: Module = me[..me.len().saturating_sub(1)].to_vec();
    let _ = is_mod_file;
    let resolve = |path: &str| -> Option<Module> {
        let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let (base, rest): (Module, &[&str]) = match segs.first()? {
            &"crate" => (vec![], &segs[1..]),
            &"super" => (parent.clone(), &segs[1..]),
            &"self" => (me.clone(), &segs[1..]),
            first if children.contains(*first) => (me.clone(), &segs[..]),
            _ => return None,
        };
        Some([base, rest.iter().map(|s| s.to_string()).collect()].concat())
    };
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let at_word_start = i == 0 || !rest[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let after = &rest[i + 4..];
        let Some(end) = after.find(';') else { break };
        if at_word_start {
            for path in expand_use(&after[..end]) {
                let path = path.split(" as ").next().unwrap_or(&path).to_string();
                out.extend(resolve(path.trim_end_matches("::self")));
            }
        }
        rest = &after[end..];
    }
    for prefix in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let tail = &rest[i..];
            let len = tail.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(tail.len());
            // `super::{…}` opens a use tree, read above.
            if !tail[..len].ends_with("::") {
                out.extend(resolve(&tail[..len]));
            }
            rest = &tail[prefix.len()..];
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn engine_files_import_each_other_without_a_loop() {
    let modules = modules();
    let file_of = |m: &Module| -> Option<&PathBuf> { (0..=m.len()).rev().find_map(|n| modules.get(&m[..n].to_vec())) };
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (module, path) in &modules {
        let text = std::fs::read_to_string(path).unwrap();
        let code = code_of(&text);
        let children: BTreeSet<String> = code
            .lines()
            .filter_map(|l| l.trim().trim_start_matches("pub ").trim_start_matches("pub(crate) ").strip_prefix("mod "))
            .map(|l| l.trim_end_matches(';').trim().to_string())
            .collect();
        let is_mod_file = path.ends_with("mod.rs") || path.ends_with("lib.rs");
        for target in references(&code, module, is_mod_file, &children) {
            if let Some(to) = file_of(&target) {
                if to != path {
                    edges.entry(path.clone()).or_default().insert(to.clone());
                }
            }
        }
    }
    assert!(edges.len() > 10, "the scan found too few imports to be working: {edges:?}");

    // Depth-first search for a back edge.
    fn visit(
        at: &PathBuf,
        edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        stack: &mut Vec<PathBuf>,
        done: &mut BTreeSet<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        if let Some(pos) = stack.iter().position(|p| p == at) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push(at.clone());
            return Some(cycle);
        }
        if done.contains(at) {
            return None;
        }
        stack.push(at.clone());
        for next in edges.get(at).into_iter().flatten() {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(at.clone());
        None
    }
    let mut done = BTreeSet::new();
    for start in edges.keys() {
        if let Some(cycle) = visit(start, &edges, &mut Vec::new(), &mut done) {
            let root = src();
            let names: Vec<String> = cycle.iter().map(|p| p.strip_prefix(&root).unwrap().display().to_string()).collect();
            panic!("engine/src has an import loop: {}", names.join(" -> "));
        }
    }
}

#[test]
fn the_scan_sees_use_trees_and_relative_paths() {
    let me: Module = vec!["chat".into(), "append".into()];
    let children = BTreeSet::new();
    let code = code_of("use super::{view::ChatView, effects::{Cx, Effect}};\nuse crate::crossing::Delivery; // crate::fake\nfn f() { crate::ids::now_ms(); }\n");
    let mut got = references(&code, &me, false, &children);
    got.sort();
    let want: Vec<Module> = [
        vec!["chat", "effects", "Cx"],
        vec!["chat", "effects", "Effect"],
        vec!["chat", "view", "ChatView"],
        vec!["crossing", "Delivery"],
        vec!["ids", "now_ms"],
    ]
    .iter()
    .map(|v| v.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(got, want);
}

/// The chat core decides; the shard does the I/O. Nothing under `engine/src/chat/` may name a
/// runtime, the disk, the network, or the layers that do I/O.
#[test]
fn the_chat_core_does_no_io() {
    let forbidden = ["tokio", "rocksdb", "std::net", "std::fs", "std::thread", "spawn", "crate::shard", "crate::worker", "crate::conn", "crate::transport", "crate::shared", "Store"];
    let dir = src().join("chat");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let code = code_of(&std::fs::read_to_string(&path).unwrap());
        seen += 1;
        for word in forbidden {
            assert!(!code.contains(word), "{} names `{word}`: the chat core must stay free of I/O", path.display());
        }
    }
    assert!(seen > 5, "found only {seen} files in {}", dir.display());
}
