//! Tidy checks (after rust-analyzer's `xtask/src/tidy.rs`): tests that read the source tree and
//! fail when the code and the docs drift apart.
//!
//! Every list is derived from the code or the file system, never kept by hand here: the error
//! codes from `ErrorCode::ALL`, the column families from `magpie_storage::schema::ALL_CFS`, the
//! frame types from the generated `fb::Body::ENUM_VALUES`, the fuzz targets from the
//! `fuzz_targets/` folders, the Rust files and top-level folders from a walk of the repository
//! (skipping what `.gitignore` files ignore). Each failure names the file and the item to fix.
//!
//! How the docs are read:
//! - PROTOCOL.md §10.1 is the error table: `| number | `name` | retryable | closes | meaning |`.
//! - A frame's direction is stated in a PROTOCOL.md heading: `` `X` (client → server`` or
//!   `` `X` (server → client``; in `` `A` → `B` `` (a request and its reply) `A` is sent by
//!   clients and `B` by the server.
//! - ARCHITECTURE.md has a table whose first column is `column family`, and bullets starting
//!   with a backticked target name in its `fuzz/` section; FUZZING.md a table whose first
//!   column is `target`.
//! - A repo path is a relative link target, or a token of a backticked span or of a fenced code
//!   block that starts with a top-level folder (`engine/…`; from the root) or, in a span, is a
//!   bare `NAME.md` (in the document's folder or the root). Tokens with placeholders or globs
//!   (`<target>`, `*`, `…`) and git-ignored paths (run output such as `fuzz/work/`) are skipped.
//! - Module docs: every `.rs` file counts (sources, tests, examples, benches, fuzz targets), except
//!   files that say they are generated (`@generated`).
//!
//! Run: `cargo test --release -p magpie-tools --test tidy`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use magpie_wire::{fb, verify, ErrorCode};

// ------------------------------------------------------------------ helpers

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tools/ has a parent").to_path_buf()
}

fn read(rel: &str) -> String {
    let p = root().join(rel);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Fails the test with every problem found, one per line.
#[track_caller]
fn report(check: &str, problems: &[String]) {
    assert!(problems.is_empty(), "tidy: {check}: {} problem(s):\n  - {}\n", problems.len(), problems.join("\n  - "));
}

/// Names a folder's `.gitignore` ignores (plain entries like `target/` or `/magpie-data/`; other
/// patterns are not needed by this repository and are not interpreted).
fn ignored_names(dir: &Path) -> BTreeSet<String> {
    let Ok(text) = fs::read_to_string(dir.join(".gitignore")) else { return BTreeSet::new() };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .map(|l| l.trim_start_matches('/').trim_end_matches('/').to_string())
        .filter(|l| !l.contains('/') && !l.contains('*'))
        .collect()
}

/// `rel` with `.` and `..` resolved lexically (a `..` above the root is kept).
fn normalize(rel: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in rel.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether `rel` (relative to the root) is hidden or lies under a git-ignored name.
fn is_ignored(rel: &Path) -> bool {
    let mut dir = root();
    for part in normalize(rel).components() {
        let name = part.as_os_str().to_string_lossy().to_string();
        if name == ".." {
            return false;
        }
        if name.starts_with('.') || name == "node_modules" || ignored_names(&dir).contains(&name) {
            return true;
        }
        dir.push(&name);
    }
    false
}

/// Every file under `dir` (relative to the root), hidden and git-ignored entries skipped.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let abs = root().join(dir);
    let ignored = ignored_names(&abs);
    let mut entries: Vec<_> = fs::read_dir(&abs).unwrap_or_else(|e| panic!("cannot list {}: {e}", abs.display())).map(|e| e.unwrap()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || name == "node_modules" || ignored.contains(&name) {
            continue;
        }
        let rel = dir.join(&name);
        if e.file_type().unwrap().is_dir() {
            walk(&rel, out);
        } else {
            out.push(rel);
        }
    }
}

fn all_files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    walk(Path::new(""), &mut v);
    v
}

/// Top-level folders of the repository (`wire`, `docs`, ...), as found on disk.
fn top_level_dirs() -> BTreeSet<String> {
    let ignored = ignored_names(&root());
    fs::read_dir(root())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| !n.starts_with('.') && !ignored.contains(n))
        .collect()
}

/// README.md and every Markdown file under docs/.
fn doc_files() -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from("README.md")];
    let mut docs = Vec::new();
    walk(Path::new("docs"), &mut docs);
    v.extend(docs.into_iter().filter(|p| p.extension().is_some_and(|e| e == "md")));
    v
}

/// Markdown lines with their 1-based line numbers and whether they are inside a fenced code
/// block (the fence lines themselves left out).
fn md_lines(text: &str) -> Vec<(usize, &str, bool)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        out.push((i + 1, line, fenced));
    }
    out
}

/// Markdown lines outside fenced code blocks, with their 1-based line numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    md_lines(text).into_iter().filter(|&(_, _, fenced)| !fenced).map(|(n, l, _)| (n, l)).collect()
}

/// The inline code spans of one line: (byte offset of the opening backtick, content).
fn code_spans(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut rest = 0;
    while let Some(open) = line[rest..].find('`').map(|i| rest + i) {
        let ticks = line[open..].bytes().take_while(|&b| b == b'`').count();
        let fence = &line[open..open + ticks];
        let body = open + ticks;
        let Some(close) = line[body..].find(fence).map(|i| body + i) else { break };
        out.push((open, line[body..close].trim()));
        rest = close + ticks;
    }
    out
}

/// The lines of the section under the first heading that contains `needle`, up to the next
/// heading of the same or a higher level.
fn section<'a>(text: &'a str, needle: &str) -> Option<Vec<(usize, &'a str)>> {
    let lines = prose_lines(text);
    let start = lines.iter().position(|(_, l)| l.starts_with('#') && l.contains(needle))?;
    let level = lines[start].1.bytes().take_while(|&b| b == b'#').count();
    let end = lines[start + 1..]
        .iter()
        .position(|(_, l)| l.starts_with('#') && l.bytes().take_while(|&b| b == b'#').count() <= level)
        .map_or(lines.len(), |i| start + 1 + i);
    Some(lines[start + 1..end].to_vec())
}

/// The cells of a Markdown table row, trimmed; `None` for other lines and separator rows.
fn table_row(line: &str) -> Option<Vec<&str>> {
    let t = line.trim();
    if !t.starts_with('|') {
        return None;
    }
    let cells: Vec<&str> = t.trim_matches('|').split('|').map(str::trim).collect();
    if cells.iter().all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' '))) {
        return None;
    }
    Some(cells)
}

/// The body rows (header excluded) of the first table in `text` whose header's first cell is
/// `header`, with line numbers.
fn table_with_header<'a>(text: &'a str, header: &str) -> Option<Vec<(usize, Vec<&'a str>)>> {
    let lines = prose_lines(text);
    let start = lines.iter().position(|(_, l)| table_row(l).is_some_and(|c| c[0] == header))?;
    let mut rows = Vec::new();
    for (n, l) in &lines[start + 1..] {
        if !l.trim().starts_with('|') {
            break;
        }
        if let Some(cells) = table_row(l) {
            rows.push((*n, cells));
        }
    }
    Some(rows)
}

/// The content of the first code span in `s`.
fn first_code(s: &str) -> Option<&str> {
    code_spans(s).first().map(|&(_, c)| c)
}

// ------------------------------------------------------------------ 1. error codes

#[test]
fn every_error_code_is_in_protocol_md() {
    let doc = read("docs/PROTOCOL.md");
    let Some(sec) = section(&doc, "Error codes") else {
        return report("error codes", &["docs/PROTOCOL.md has no \"Error codes\" section (§10.1) with the error table".into()]);
    };
    let text: String = sec.iter().map(|(_, l)| format!("{l}\n")).collect();
    let rows = table_with_header(&text, "Code").unwrap_or_default();
    let mut documented: BTreeMap<u16, (String, Vec<String>)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (_, cells) in &rows {
        match cells[0].parse::<u16>() {
            Ok(n) if cells.len() >= 5 => {
                let name = cells[1].trim_matches('`').to_string();
                documented.insert(n, (name, cells[2..].iter().map(|c| c.to_string()).collect()));
            }
            _ => problems.push(format!("docs/PROTOCOL.md §10.1: row {cells:?} is not `| code | `name` | retryable | closes | meaning |`")),
        }
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    for &code in ErrorCode::ALL {
        let n = code as u16;
        let Some((name, rest)) = documented.get(&n) else {
            problems.push(format!(
                "docs/PROTOCOL.md §10.1: add the row for {n} `{}` (from wire/src/error.rs): | {n} | `{}` | {} | {} | {} |",
                code.name(),
                code.name(),
                yes_no(code.retryable()),
                yes_no(code.closes_connection()),
                code.meaning()
            ));
            continue;
        };
        if name != code.name() {
            problems.push(format!("docs/PROTOCOL.md §10.1: code {n} is named `{name}`, wire/src/error.rs calls it `{}`", code.name()));
        }
        if rest[0] != yes_no(code.retryable()) {
            problems.push(format!("docs/PROTOCOL.md §10.1: `{}` Retryable should be {}", code.name(), yes_no(code.retryable())));
        }
        if rest[1] != yes_no(code.closes_connection()) {
            problems.push(format!("docs/PROTOCOL.md §10.1: `{}` Closes connection should be {}", code.name(), yes_no(code.closes_connection())));
        }
        if !rest[2].starts_with(code.meaning()) {
            problems.push(format!(
                "docs/PROTOCOL.md §10.1: `{}`'s meaning must start with wire/src/error.rs's text {:?}",
                code.name(),
                code.meaning()
            ));
        }
    }
    for (n, (name, _)) in &documented {
        if ErrorCode::from_u16(*n).is_none() {
            problems.push(format!("docs/PROTOCOL.md §10.1 documents {n} `{name}`, which wire/src/error.rs does not have: remove the row"));
        }
    }
    report("error codes (wire/src/error.rs vs docs/PROTOCOL.md §10.1)", &problems);
}

// ------------------------------------------------------------------ 2. column families

#[test]
fn every_column_family_is_in_architecture_md() {
    let doc = read("docs/ARCHITECTURE.md");
    let Some(rows) = table_with_header(&doc, "column family") else {
        return report("column families", &["docs/ARCHITECTURE.md has no table whose first column is `column family` (in the storage/ section)".into()]);
    };
    let documented: BTreeSet<&str> = rows.iter().filter_map(|(_, c)| first_code(c[0])).collect();
    let mut problems = Vec::new();
    for cf in magpie_storage::schema::ALL_CFS {
        if !documented.contains(cf) {
            problems.push(format!("docs/ARCHITECTURE.md: add `{cf}` (storage/src/schema.rs opens it) to the column family table"));
        }
    }
    for cf in &documented {
        if !magpie_storage::schema::ALL_CFS.contains(cf) {
            problems.push(format!("docs/ARCHITECTURE.md: the column family table lists `{cf}`, which storage/src/schema.rs does not open"));
        }
    }
    report("column families (storage/src/schema.rs vs docs/ARCHITECTURE.md)", &problems);
}

// ------------------------------------------------------------------ 3. frame directions

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    ClientToServer,
    ServerToClient,
}

/// Every `Body` variant of the schema, from the generated code (`NONE` excluded).
fn body_variants() -> Vec<(fb::Body, &'static str)> {
    fb::Body::ENUM_VALUES
        .iter()
        .filter(|&&b| b != fb::Body::NONE)
        .map(|&b| (b, b.variant_name().expect("generated variants have names")))
        .collect()
}

/// The direction of each frame as PROTOCOL.md's headings state it, and the contradictions.
fn documented_directions() -> (BTreeMap<String, (Dir, usize)>, Vec<String>) {
    let doc = read("docs/PROTOCOL.md");
    let mut dirs: BTreeMap<String, (Dir, usize)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (n, line) in prose_lines(&doc) {
        if !line.starts_with('#') {
            continue;
        }
        for (open, name) in code_spans(line) {
            let end = open + 1 + line[open + 1..].find('`').unwrap() + 1;
            let (before, after) = (line[..open].trim_end(), &line[end..]);
            let dir = if after.starts_with(" (client → server") {
                Dir::ClientToServer
            } else if after.starts_with(" (server → client") {
                Dir::ServerToClient
            } else if before.ends_with('→') {
                Dir::ServerToClient
            } else if after.trim_start().starts_with('→') {
                Dir::ClientToServer
            } else {
                continue;
            };
            match dirs.get(name) {
                Some(&(d, first)) if d != dir => problems.push(format!(
                    "docs/PROTOCOL.md:{n}: `{name}` is documented as {dir:?} here but as {d:?} at line {first}"
                )),
                Some(_) => {}
                None => {
                    dirs.insert(name.to_string(), (dir, n));
                }
            }
        }
    }
    (dirs, problems)
}

/// A frame with request id 1 and an empty table of type `body` (no field of the schema is
/// required, so it verifies whenever the direction is right).
/// `NONE` gets no body at all.
fn frame_with_empty_body(body: fb::Body) -> Vec<u8> {
    let mut b = flatbuffers::FlatBufferBuilder::new();
    let union = (body != fb::Body::NONE).then(|| {
        let start = b.start_table();
        let table = b.end_table(start);
        flatbuffers::WIPOffset::<flatbuffers::UnionWIPOffset>::new(table.value())
    });
    let frame = fb::Frame::create(&mut b, &fb::FrameArgs { request_id: 1, body_type: body, body: union });
    b.finish(frame, None);
    b.finished_data().to_vec()
}

#[test]
fn every_frame_type_has_a_documented_direction() {
    let (dirs, mut problems) = documented_directions();
    let variants = body_variants();
    for (_, name) in &variants {
        if !dirs.contains_key(*name) {
            problems.push(format!(
                "docs/PROTOCOL.md: no heading states who sends `{name}` (a Body variant in wire/schema/magpie.fbs): \
                 write `{name}` (client → server) or `{name}` (server → client) in the heading of the section that documents it"
            ));
        }
    }
    report("frame directions (wire/schema/magpie.fbs vs docs/PROTOCOL.md)", &problems);
}

#[test]
fn server_frames_are_refused_from_clients_and_requests_accepted() {
    let (dirs, _) = documented_directions();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (body, name) in body_variants() {
        let Some(&(dir, line)) = dirs.get(name) else { continue }; // reported by the test above
        checked += 1;
        let buf = frame_with_empty_body(body);
        let (from_client, from_server) = (verify::client_frame(&buf), verify::server_frame(&buf));
        match dir {
            Dir::ServerToClient => {
                if from_client.as_ref().err() != Some(&ErrorCode::UnknownFrame) {
                    problems.push(format!(
                        "wire/src/verify.rs: verify::client_frame must refuse `{name}` with UnknownFrame (server → client, docs/PROTOCOL.md:{line}), got {:?}",
                        from_client.map(|f| f.body_type())
                    ));
                }
                if let Err(e) = from_server {
                    problems.push(format!("wire/src/verify.rs: verify::server_frame must accept `{name}` (server → client, docs/PROTOCOL.md:{line}), got {e}"));
                }
            }
            Dir::ClientToServer => {
                match from_client {
                    Ok(f) if f.body_type() == body => {}
                    other => problems.push(format!(
                        "wire/src/verify.rs: verify::client_frame must accept `{name}` (client → server, docs/PROTOCOL.md:{line}), got {:?}",
                        other.map(|f| f.body_type())
                    )),
                }
                if from_server.as_ref().err() != Some(&ErrorCode::UnknownFrame) {
                    problems.push(format!(
                        "wire/src/verify.rs: verify::server_frame must refuse `{name}` with UnknownFrame (client → server, docs/PROTOCOL.md:{line})"
                    ));
                }
            }
        }
    }
    // A missing body and a body type newer than this build are refused both ways (§10.1).
    for body in [fb::Body::NONE, fb::Body(fb::Body::ENUM_MAX + 1)] {
        let buf = frame_with_empty_body(body);
        if verify::client_frame(&buf).err() != Some(ErrorCode::UnknownFrame) || verify::server_frame(&buf).err() != Some(ErrorCode::UnknownFrame) {
            problems.push(format!("wire/src/verify.rs: a frame with body type {} must be refused with UnknownFrame both ways", body.0));
        }
    }
    assert!(checked > 0, "no frame type has a documented direction (see every_frame_type_has_a_documented_direction)");
    report("frame directions (docs/PROTOCOL.md vs magpie_wire::verify)", &problems);
}

// ------------------------------------------------------------------ 4. paths in the docs

/// Whether a token could be a path but has a placeholder, a glob or an ellipsis in it.
fn has_placeholder(t: &str) -> bool {
    t.contains(['<', '>', '*', '{', '}', '$', '…', '[', ']', '?', '|']) || t.contains("...")
}

/// Strips `:line[:col]` and `#anchor` from a path.
fn strip_location(t: &str) -> &str {
    let mut t = t.split('#').next().unwrap();
    while let Some((head, tail)) = t.rsplit_once(':') {
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            t = head;
        } else {
            break;
        }
    }
    t
}

/// What is wrong with one path-like token of a document, if anything. `in_code_block`: only
/// tokens starting with a top-level folder count there (no bare `NAME.md`).
fn check_path_token(token: &str, doc_dir: &Path, tops: &BTreeSet<String>, in_code_block: bool) -> Option<String> {
    let token = token.trim_end_matches(['.', ':']);
    let token = token.strip_prefix("./").unwrap_or(token);
    if token.is_empty() || has_placeholder(token) {
        return None;
    }
    let path = strip_location(token);
    let first = path.split('/').next().unwrap();
    if path.contains('/') && tops.contains(first) {
        let rel = PathBuf::from(path);
        (!root().join(&rel).exists() && !is_ignored(&rel)).then(|| format!("`{token}` does not exist (fix the path or the text)"))
    } else if !in_code_block && !path.contains('/') && path.ends_with(".md") && path.len() > 3 {
        let here = if doc_dir.as_os_str().is_empty() { ".".to_string() } else { doc_dir.display().to_string() };
        (!root().join(doc_dir).join(path).exists() && !root().join(path).exists())
            .then(|| format!("`{token}` is neither in {here} nor at the repository root (fix the reference or drop it)"))
    } else {
        None
    }
}

#[test]
fn docs_point_only_at_files_that_exist() {
    let tops = top_level_dirs();
    let mut problems = Vec::new();
    let mut checked = 0;
    let split = |c: char| c.is_whitespace() || matches!(c, '=' | ',' | ';' | '(' | ')' | '"' | '\'' | '`');
    for doc in doc_files() {
        let text = fs::read_to_string(root().join(&doc)).unwrap();
        let doc_dir = doc.parent().unwrap_or(Path::new("")).to_path_buf();
        let shown = doc.display().to_string();
        for (n, line, fenced) in md_lines(&text) {
            if fenced {
                // Commands in code blocks: paths from the repository root.
                for token in line.split(split) {
                    checked += 1;
                    if let Some(p) = check_path_token(token, &doc_dir, &tops, true) {
                        problems.push(format!("{shown}:{n}: {p}"));
                    }
                }
                continue;
            }
            // Relative links: [text](target), resolved against the document's folder.
            let mut rest = line;
            while let Some(i) = rest.find("](") {
                let after = &rest[i + 2..];
                let target = after.split([')', ' ']).next().unwrap_or("");
                rest = after;
                if target.is_empty() || target.starts_with('#') || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let rel = normalize(&doc_dir.join(strip_location(target)));
                if !root().join(&rel).exists() && !is_ignored(&rel) {
                    problems.push(format!("{shown}:{n}: the link to `{target}` points at {}, which does not exist", rel.display()));
                }
            }
            // Backticked repo paths.
            for (_, span) in code_spans(line) {
                for token in span.split(split) {
                    checked += 1;
                    if let Some(p) = check_path_token(token, &doc_dir, &tops, false) {
                        problems.push(format!("{shown}:{n}: {p}"));
                    }
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} tokens looked at: is the Markdown reading broken?");
    report("paths in README.md and docs/", &problems);
}

// ------------------------------------------------------------------ 5. module docs

/// Whether a file says it was generated (its first lines carry `@generated` or "automatically
/// generated").
fn is_generated(text: &str) -> bool {
    text.lines().take(5).any(|l| l.contains("@generated") || l.contains("automatically generated"))
}

/// Every `.rs` file of the repository — sources, tests, examples, benches, fuzz targets and
/// build scripts of every crate, the fuzz workspaces included — opens with a `//!` line.
#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let mut problems = Vec::new();
    let mut seen = 0;
    for rel in all_files().into_iter().filter(|p| p.extension().is_some_and(|e| e == "rs")) {
        let text = fs::read_to_string(root().join(&rel)).unwrap();
        if is_generated(&text) {
            continue;
        }
        seen += 1;
        if !text.starts_with("//!") {
            problems.push(format!("{}: add a `//!` line saying what this module is for, as its first line", rel.display()));
        }
    }
    assert!(seen > 50, "found only {seen} Rust files: is the walk broken?");
    report("module docs", &problems);
}

// ------------------------------------------------------------------ 6. crate boundaries

/// The packages `package` depends on through normal dependencies, for any target platform.
fn normal_dependencies(package: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "-q", "--locked", "-p", package, "-e", "normal", "--target", "all", "--prefix", "none", "--format", "{p}"])
        .current_dir(root())
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree -p {package} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
}

fn forbidden_dependencies(package: &str, forbidden: &[&str], why: &str) -> Vec<String> {
    let deps = normal_dependencies(package);
    assert!(deps.contains(package), "cargo tree -p {package} did not list {package} itself: {deps:?}");
    forbidden
        .iter()
        .filter(|f| deps.contains(**f))
        .map(|f| format!("{package} must not depend on {f} ({why}); `cargo tree -p {package} -e normal -i {f}` shows the path"))
        .collect()
}

#[test]
fn wire_depends_on_no_runtime_and_no_storage() {
    let problems = forbidden_dependencies("magpie-wire", &["tokio", "quinn", "rocksdb"], "wire does no I/O: docs/ARCHITECTURE.md, Invariants");
    report("crate boundaries", &problems);
}

#[test]
fn client_lib_does_not_depend_on_rocksdb() {
    let problems = forbidden_dependencies("magpie-client", &["rocksdb"], "only storage knows RocksDB: docs/ARCHITECTURE.md, Invariants");
    report("crate boundaries", &problems);
}

// ------------------------------------------------------------------ 7. fuzz targets

/// The fuzz targets of one cargo-fuzz project: the file stems in `<project>/fuzz_targets/`.
fn fuzz_target_files(project: &str) -> BTreeSet<String> {
    let dir = root().join(project).join("fuzz_targets");
    fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
        .collect()
}

/// The `[[bin]]` targets of a cargo-fuzz manifest: (name, path).
fn fuzz_manifest_bins(project: &str) -> BTreeSet<(String, String)> {
    let text = read(&format!("{project}/Cargo.toml"));
    let mut bins = BTreeSet::new();
    let (mut in_bin, mut name, mut path) = (false, None::<String>, None::<String>);
    let value = |l: &str| l.split_once('=').map(|(_, v)| v.trim().trim_matches('"').to_string());
    for line in text.lines().map(str::trim).chain(std::iter::once("[end]")) {
        if line.starts_with('[') {
            if in_bin {
                bins.insert((name.take().unwrap_or_default(), path.take().unwrap_or_default()));
            }
            in_bin = line == "[[bin]]";
        } else if in_bin && line.starts_with("name") {
            name = value(line);
        } else if in_bin && line.starts_with("path") {
            path = value(line);
        }
    }
    bins
}

/// Fuzz projects: `fuzz/` and every folder under it with a cargo-fuzz manifest.
fn fuzz_projects() -> Vec<String> {
    let mut v = vec!["fuzz".to_string()];
    for e in fs::read_dir(root().join("fuzz")).unwrap().map(|e| e.unwrap()) {
        if e.path().join("Cargo.toml").exists() && e.path().join("fuzz_targets").is_dir() {
            v.push(format!("fuzz/{}", e.file_name().to_string_lossy()));
        }
    }
    v
}

#[test]
fn fuzz_targets_match_the_docs_and_manifests() {
    let mut problems = Vec::new();
    let mut targets = BTreeMap::new();
    for project in fuzz_projects() {
        let files = fuzz_target_files(&project);
        let bins = fuzz_manifest_bins(&project);
        for t in &files {
            if !bins.contains(&(t.clone(), format!("fuzz_targets/{t}.rs"))) {
                problems.push(format!("{project}/Cargo.toml: add a [[bin]] name = \"{t}\", path = \"fuzz_targets/{t}.rs\""));
            }
            targets.insert(t.clone(), project.clone());
        }
        for (name, path) in &bins {
            if !files.iter().any(|t| format!("fuzz_targets/{t}.rs") == *path) {
                problems.push(format!("{project}/Cargo.toml: [[bin]] `{name}` names {path}, which does not exist"));
            }
        }
    }

    let fuzzing = read("docs/FUZZING.md");
    let table: BTreeSet<String> = table_with_header(&fuzzing, "target")
        .unwrap_or_default()
        .iter()
        .filter_map(|(_, c)| first_code(c[0]).map(str::to_string))
        .collect();
    let arch = read("docs/ARCHITECTURE.md");
    let bullets: BTreeSet<String> = section(&arch, "`fuzz/`")
        .unwrap_or_default()
        .iter()
        .filter_map(|(_, l)| l.strip_prefix("- ").and_then(|b| b.starts_with('`').then(|| first_code(b)).flatten()).map(str::to_string))
        .collect();
    for (doc, listed, place) in [("docs/FUZZING.md", &table, "the `target` table"), ("docs/ARCHITECTURE.md", &bullets, "the bullets of the `fuzz/` section")] {
        for (t, project) in &targets {
            if !listed.contains(t) {
                problems.push(format!("{doc}: add `{t}` ({project}/fuzz_targets/{t}.rs) to {place}"));
            }
        }
        for t in listed {
            if !targets.contains_key(t) {
                problems.push(format!("{doc}: {place} lists `{t}`, but no fuzz_targets/{t}.rs exists"));
            }
        }
    }
    report("fuzz targets (fuzz*/fuzz_targets vs manifests and docs)", &problems);
}
