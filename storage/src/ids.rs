//! Node-wide id allocator (users, devices and chats share one id space).
//!
//! Ids are handed out from blocks. Before the first id of a block is returned, the block's
//! end (the high-water mark) is written to the `meta` column family with an fsync. On open
//! the allocator resumes at the persisted mark, so ids are never reused across crashes or
//! restarts — at worst the unused rest of a block is skipped. One fsync per
//! [`ID_BLOCK`] ids keeps allocation cheap.

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use rocksdb::{WriteOptions, DB};

use crate::codec;
use crate::commit::Counters;
use crate::error::{Result, StoreError};
use crate::keys::META_ID_LIMIT;
use crate::schema::CF_META;
use crate::store::{cf, lock};

/// Ids reserved per persisted block (beyond what the request itself needs).
pub const ID_BLOCK: u64 = 1024;

/// First id ever handed out; 0 is never a valid id.
pub const FIRST_ID: u64 = 1;

struct IdState {
    /// Next id to hand out.
    next: u64,
    /// Durably reserved up to (exclusive).
    limit: u64,
}

pub(crate) struct IdAllocator {
    state: Mutex<IdState>,
}

impl IdAllocator {
    /// Resumes after the persisted high-water mark (or at [`FIRST_ID`] for a new store).
    pub(crate) fn load(db: &DB) -> Result<Self> {
        let limit = match db.get_pinned_cf(cf(db, CF_META)?, META_ID_LIMIT)? {
            Some(v) => codec::decode_u64_value(&v, "id limit")?.max(FIRST_ID),
            None => FIRST_ID,
        };
        Ok(IdAllocator {
            state: Mutex::new(IdState { next: limit, limit }),
        })
    }

    pub(crate) fn allocate(&self, db: &DB, n: u64, counters: &Counters) -> Result<Range<u64>> {
        let mut st = lock(&self.state);
        let end = st.next.checked_add(n).ok_or(StoreError::IdsExhausted)?;
        if end > st.limit {
            let new_limit = end.saturating_add(ID_BLOCK);
            let mut wo = WriteOptions::default();
            wo.set_sync(true);
            counters.wal_syncs.fetch_add(1, Ordering::Relaxed);
            db.put_cf_opt(
                cf(db, CF_META)?,
                META_ID_LIMIT,
                codec::encode_u64_value(new_limit),
                &wo,
            )?;
            st.limit = new_limit;
        }
        let range = st.next..end;
        st.next = end;
        Ok(range)
    }
}
