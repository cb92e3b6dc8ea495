//! Erasure: what a commit overwrote to erase it (a message deleted for everyone) leaves the
//! disk, not only the newest version of its key.
//!
//! RocksDB never changes a file in place. Overwriting a key writes a new version; the old one
//! stays in the WAL, the memtable and SST files until a compaction happens to drop it, which
//! for a quiet chat may be never. So a commit that erases content also carries an
//! [`crate::Op::Scrub`] naming the chat-log (and message-state) keys it rewrote. Once the commit
//! is written, the `magpie-scrub` thread gathers such ranges for [`SCRUB_DELAY`] (a burst of
//! deletions costs one pass) and then:
//!
//! 1. flushes every column family's memtable, so the old versions held in memory reach an SST
//!    file and every WAL file holding them becomes obsolete (RocksDB deletes obsolete WAL files;
//!    `recycle_log_file_num` stays 0, so none is reused with old bytes in it);
//! 2. compacts each range of the log and message-state column families down to the bottommost
//!    level (`BottommostLevelCompaction::Force`), which rewrites every SST file holding an old
//!    version of those keys without it (no snapshots are held, so nothing keeps them).
//!
//! Bound: erased content is on disk for at most [`SCRUB_DELAY`] plus one pass after its commit
//! (a pass over a few ranges takes well under a second). Not covered, and documented in
//! OPERATIONS.md: a crash between the commit and the pass (pending ranges are in memory only;
//! RocksDB's ordinary compaction drops the versions eventually), checkpoints taken before the
//! deletion, and blocks the filesystem freed but did not overwrite. A close runs the pending
//! pass before the store shuts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use rocksdb::{BottommostLevelCompaction, ColumnFamily, CompactOptions, FlushOptions, DB};

use crate::keys;
use crate::schema::{ALL_CFS, CF_LOG, CF_MESSAGE_STATES};

/// How long the scrubber gathers ranges before a pass.
pub const SCRUB_DELAY: Duration = Duration::from_secs(2);

/// Keys `chat_id ‖ first_seq ..= chat_id ‖ last_seq` of the log and message-state column
/// families whose older versions must leave the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrubRange {
    /// Chat.
    pub chat_id: u64,
    /// First sequence number rewritten.
    pub first_seq: u64,
    /// Last sequence number rewritten (inclusive).
    pub last_seq: u64,
}

/// The committer's end: ranges of commits that were written.
pub(crate) type ScrubSender = Sender<Vec<ScrubRange>>;

pub(crate) fn channel() -> (ScrubSender, Receiver<Vec<ScrubRange>>) {
    crossbeam_channel::unbounded()
}

/// Body of the `magpie-scrub` thread: runs until every sender is gone (the committer stopped),
/// then runs what is pending and returns. `passes` counts completed passes.
pub(crate) fn run(db: Arc<DB>, rx: Receiver<Vec<ScrubRange>>, passes: Arc<AtomicU64>) {
    let mut pending: Vec<ScrubRange> = Vec::new();
    let mut due: Option<Instant> = None;
    loop {
        let got = match due {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
        };
        match got {
            Ok(ranges) => {
                pending.extend(ranges);
                due.get_or_insert_with(|| Instant::now() + SCRUB_DELAY);
            }
            Err(RecvTimeoutError::Timeout) => {
                pass(&db, std::mem::take(&mut pending), &passes);
                due = None;
            }
            Err(RecvTimeoutError::Disconnected) => {
                if !pending.is_empty() {
                    pass(&db, pending, &passes);
                }
                return;
            }
        }
    }
}

/// One pass over `ranges` (merged per chat first: one compaction per chat).
fn pass(db: &DB, mut ranges: Vec<ScrubRange>, passes: &AtomicU64) {
    ranges.sort_by_key(|r| (r.chat_id, r.first_seq));
    let mut merged: Vec<ScrubRange> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(m) if m.chat_id == r.chat_id => m.last_seq = m.last_seq.max(r.last_seq),
            _ => merged.push(r),
        }
    }
    let handles: Vec<&ColumnFamily> = ALL_CFS.iter().filter_map(|n| db.cf_handle(n)).collect();
    if let Err(e) = db.flush_cfs_opt(&handles, &FlushOptions::default()) {
        tracing::error!("scrub: flushing memtables failed: {e}");
        return;
    }
    let mut opts = CompactOptions::default();
    opts.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
    opts.set_exclusive_manual_compaction(false);
    let tables: [(&str, fn(u64, u64) -> [u8; 16]); 2] = [(CF_LOG, keys::log_key), (CF_MESSAGE_STATES, keys::message_key)];
    for (name, key) in tables {
        let Some(cf) = db.cf_handle(name) else { continue };
        for r in &merged {
            db.compact_range_cf_opt(cf, Some(key(r.chat_id, r.first_seq)), Some(key(r.chat_id, r.last_seq)), &opts);
        }
    }
    passes.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(chats = merged.len(), "scrub pass done");
}
