//! Erasure against a real store: content overwritten with an `Op::Scrub` leaves every file of
//! the database directory (WAL, memtable flushes, SST files), while an overwrite alone does not.

mod common;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use magpie_storage::{bytes::Bytes, MessageStateRecord, Op, ScrubRange, Store};

/// A string that occurs nowhere else: LZ4 stores it as literal bytes, so a byte search of the
/// files finds it wherever a version of it is kept.
fn secret() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("secret-{nanos:x}-{:x}-kq7wz", std::process::id())
}

fn on_disk(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // A file may vanish between listing and reading (an obsolete WAL being deleted).
        if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    found
}

fn put(chat_id: u64, seq: u64, event: &str) -> Op {
    Op::Append { chat_id, seq, event: Bytes::from(event.to_owned()) }
}

/// Writes two versions of chat 7's event 2 (and its neighbours) and compacts, so the first
/// version is in an SST file and the second in the memtable and WAL.
fn overwritten(store: &Store, text: &str, extra: Vec<Op>) {
    let c = store.committer();
    c.submit_wait(vec![put(7, 1, "before"), put(7, 2, &format!("message {text}")), put(7, 3, "after"), put(8, 2, "other chat")])
        .unwrap();
    store.compact().unwrap();
    let mut ops = vec![put(7, 2, "tombstone")];
    ops.extend(extra);
    c.submit_wait(ops).unwrap();
}

fn wait_for_passes(store: &Store, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.stats().unwrap().scrub_passes < n {
        assert!(Instant::now() < deadline, "no scrub pass within a minute");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_overwrite_alone_keeps_the_old_version_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let text = secret();
    overwritten(&store, &text, Vec::new());
    assert_eq!(store.event(7, 2).unwrap().as_deref(), Some(&b"tombstone"[..]));
    // This is what the scrub is for (and what makes the next test able to fail).
    assert!(!on_disk(dir.path(), &text).is_empty(), "the overwritten version is still in the files");
}

#[test]
fn a_scrub_removes_every_old_version_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let text = secret();
    let state = MessageStateRecord { deleted: true, ..MessageStateRecord::default() };
    let scrub = Op::Scrub(ScrubRange { chat_id: 7, first_seq: 2, last_seq: 2 });
    overwritten(&store, &text, vec![Op::PutMessageState { chat_id: 7, seq: 2, record: state }, scrub]);
    wait_for_passes(&store, 1);
    assert_eq!(on_disk(dir.path(), &text), Vec::<String>::new(), "no file holds the erased text");
    assert_eq!(store.event(7, 2).unwrap().as_deref(), Some(&b"tombstone"[..]));
    assert_eq!(store.event(7, 1).unwrap().as_deref(), Some(&b"before"[..]));
    assert_eq!(store.event(7, 3).unwrap().as_deref(), Some(&b"after"[..]));
    assert_eq!(store.event(8, 2).unwrap().as_deref(), Some(&b"other chat"[..]));
    // And a reopen finds everything that was kept.
    drop(store);
    let store = common::open(dir.path());
    assert_eq!(store.event(7, 2).unwrap().as_deref(), Some(&b"tombstone"[..]));
    assert_eq!(store.event(8, 2).unwrap().as_deref(), Some(&b"other chat"[..]));
}

#[test]
fn a_close_runs_the_pending_scrub() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let text = secret();
    overwritten(&store, &text, vec![Op::Scrub(ScrubRange { chat_id: 7, first_seq: 2, last_seq: 2 })]);
    // Closed well within the gathering delay: the pass runs before the store shuts.
    store.flush_and_close();
    assert_eq!(on_disk(dir.path(), &text), Vec::<String>::new());
    let store = common::open(dir.path());
    assert_eq!(store.event(7, 2).unwrap().as_deref(), Some(&b"tombstone"[..]));
}
