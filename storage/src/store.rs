//! The [`Store`] handle: opening, closing, statistics, backups, and shared helpers.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use rocksdb::checkpoint::Checkpoint;
use rocksdb::properties;
use rocksdb::{ColumnFamily, FlushOptions, ReadOptions, WriteBatch, WriteOptions, DB};

use crate::commit::{self, CommitConfig, Committer, Counters};
use crate::error::{Result, StoreError};
use crate::ids::IdAllocator;
use crate::keys;
use crate::scrub;
use crate::schema::{self, ALL_CFS, CF_CHATS, CF_DEVICES, CF_LOG, CF_USERS};
use crate::types::Stats;

/// How durable a group commit is before its callbacks run (and so before the engine acks a
/// message or delivers it to anyone).
///
/// The engine's contract is "ack only after durable; deliver only after durable": nobody may
/// see a message that a crash could erase. What counts as a crash is this setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// Survive power loss / kernel crash: every group commit `fsync`s the WAL before its
    /// callbacks run. Costs one fsync per group commit (group commit amortises it over all
    /// submissions that queued up meanwhile).
    #[default]
    PowerLoss,
    /// Survive a crash of the engine process (SIGKILL, panic, OOM kill): every group commit
    /// writes the WAL into the OS page cache before its callbacks run, without fsync. A power
    /// loss or kernel crash may lose the last few seconds of acknowledged writes.
    ProcessCrash,
}

/// Options for [`Store::open`].
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// See [`Durability`]. Account writes and id-block reservations are always synced.
    pub durability: Durability,
    /// How long (device, client message id) → ack records are kept for idempotent retries.
    /// Older entries are dropped by a compaction filter (so they may linger somewhat longer,
    /// never shorter). Default: 7 days.
    pub dedup_window: Duration,
    /// Upper bound on [`crate::Op`]s merged into one group commit (a single larger submission
    /// is still written whole). Bounds the latency of the submissions in a group. Default 4096.
    pub max_batch_ops: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::PowerLoss,
            dedup_window: Duration::from_secs(7 * 24 * 3600),
            max_batch_ops: 4096,
        }
    }
}

/// Handle to the node's RocksDB. Cheap to clone (an `Arc`); `Send + Sync`.
///
/// All methods block (disk I/O, fsync): call them from blocking threads, never from the
/// engine's async shard threads. Chat-changing writes go through the group [`Committer`]
/// ([`Store::committer`]); rare account writes are synchronous, serialised by an internal
/// mutex, and always fsynced.
///
/// Dropping the last clone closes the store like [`Store::flush_and_close`].
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// `None` once closed. Readers clone the `Arc` so a close never pulls the DB out from
    /// under a running read; the DB itself closes when the last clone is gone.
    db: RwLock<Option<Arc<DB>>>,
    read_only: bool,
    committer: Committer,
    commit_thread: Mutex<Option<JoinHandle<()>>>,
    /// Ends after the committer (which holds its only sender), with a last pass.
    scrub_thread: Mutex<Option<JoinHandle<()>>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) ids: IdAllocator,
    /// Serialises account check-and-insert operations (create user/device, revoke).
    pub(crate) accounts: Mutex<()>,
}

/// Locks a mutex, ignoring poisoning (the protected state is always consistent between
/// statements: it is either `()` or updated only after the durable write succeeded).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, with all column families, and starts
    /// the `magpie-commit` group-commit thread.
    pub fn open(dir: &Path, opts: StoreOptions) -> Result<Store> {
        std::fs::create_dir_all(dir)?;
        let db = DB::open_cf_descriptors(
            &schema::db_options(),
            dir,
            schema::cf_descriptors(opts.dedup_window),
        )?;
        let db = Arc::new(db);
        let ids = IdAllocator::load(&db)?;
        let counters = Arc::new(Counters::default());
        let (tx, rx) = commit::channel();
        let cfg = CommitConfig {
            durability: opts.durability,
            max_batch_ops: opts.max_batch_ops,
        };
        let committer = Committer::new(Some(tx), Arc::clone(&counters));
        let (scrub_tx, scrub_rx) = scrub::channel();
        let scrub_thread = {
            let db = Arc::clone(&db);
            let passes = Arc::clone(&counters.scrub_passes);
            std::thread::Builder::new().name("magpie-scrub".into()).spawn(move || scrub::run(db, scrub_rx, passes))?
        };
        let thread = {
            let db = Arc::clone(&db);
            let shared = committer.shared();
            std::thread::Builder::new()
                .name("magpie-commit".into())
                .spawn(move || commit::run(db, rx, cfg, shared, scrub_tx))?
        };
        tracing::info!(dir = %dir.display(), durability = ?opts.durability, "store opened");
        Ok(Store {
            inner: Arc::new(Inner {
                db: RwLock::new(Some(db)),
                read_only: false,
                committer,
                commit_thread: Mutex::new(Some(thread)),
                scrub_thread: Mutex::new(Some(scrub_thread)),
                counters,
                ids,
                accounts: Mutex::new(()),
            }),
        })
    }

    /// Opens an existing store read-only, for offline tools (`magpiectl dump`). Every write
    /// (accounts, ids, [`Committer::submit`]) fails with [`StoreError::ReadOnly`].
    ///
    /// Meant for a stopped node or a [`Store::checkpoint`]. It also works next to a running
    /// node: it sees the state as of opening (all SST files are opened up front, so the
    /// running node's compactions cannot pull files from under it).
    pub fn open_read_only(dir: &Path) -> Result<Store> {
        // RocksDB would create the directory (for its info log); a read-only tool must not.
        if !dir.join("CURRENT").is_file() {
            return Err(StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no store in {}", dir.display()),
            )));
        }
        let mut o = schema::db_options();
        o.create_if_missing(false);
        o.create_missing_column_families(false);
        o.set_max_open_files(-1);
        let defaults = StoreOptions::default();
        let db = DB::open_cf_descriptors_read_only(
            &o,
            dir,
            schema::cf_descriptors(defaults.dedup_window),
            false,
        )?;
        let db = Arc::new(db);
        let ids = IdAllocator::load(&db)?;
        let counters = Arc::new(Counters::default());
        Ok(Store {
            inner: Arc::new(Inner {
                db: RwLock::new(Some(db)),
                read_only: true,
                committer: Committer::new(None, Arc::clone(&counters)),
                commit_thread: Mutex::new(None),
                scrub_thread: Mutex::new(None),
                counters,
                ids,
                accounts: Mutex::new(()),
            }),
        })
    }

    /// A handle to the group committer. See [`Committer`] and the `commit` module docs.
    pub fn committer(&self) -> Committer {
        self.inner.committer.clone()
    }

    /// Whether this store was opened with [`Store::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// Node-wide unique ids (users, devices, chats share one space), never reused, starting
    /// at 1. Ids are reserved in blocks whose high-water mark is fsynced before any id from
    /// the block is returned, so a crash can skip ids but never hand one out twice; most
    /// calls touch no disk at all.
    pub fn allocate_ids(&self, n: u64) -> Result<std::ops::Range<u64>> {
        self.check_writable()?;
        let db = self.db()?;
        self.inner.ids.allocate(&db, n, &self.inner.counters)
    }

    /// Counters and sizes; see [`Stats`] for what each means and costs.
    pub fn stats(&self) -> Result<Stats> {
        let db = self.db()?;
        let count = |name: &str| -> Result<u64> {
            let handle = cf(&db, name)?;
            let mut n = 0u64;
            let mut it = db.raw_iterator_cf_opt(handle, ReadOptions::default());
            it.seek_to_first();
            while it.valid() {
                n += 1;
                it.next();
            }
            it.status()?;
            Ok(n)
        };
        let mut sst_bytes = 0u64;
        for name in ALL_CFS {
            sst_bytes += db
                .property_int_value_cf(cf(&db, name)?, properties::TOTAL_SST_FILES_SIZE)?
                .unwrap_or(0);
        }
        let c = &self.inner.counters;
        Ok(Stats {
            users: count(CF_USERS)?,
            devices: count(CF_DEVICES)?,
            chats: count(CF_CHATS)?,
            log_events_estimate: db
                .property_int_value_cf(cf(&db, CF_LOG)?, properties::ESTIMATE_NUM_KEYS)?
                .unwrap_or(0),
            sst_bytes,
            wal_syncs: c.wal_syncs.load(Ordering::Relaxed),
            commits: c.commits.load(Ordering::Relaxed),
            ops_committed: c.ops_committed.load(Ordering::Relaxed),
            submissions: c.submissions.load(Ordering::Relaxed),
            scrub_passes: c.scrub_passes.load(Ordering::Relaxed),
        })
    }

    /// Writes a consistent RocksDB checkpoint (a backup: hard links to the immutable SST files
    /// plus copies of the rest) into `dest`, which must not exist yet and should be on the
    /// same filesystem. The result opens with [`Store::open`] or [`Store::open_read_only`].
    pub fn checkpoint(&self, dest: &Path) -> Result<()> {
        let db = self.db()?;
        Checkpoint::new(&*db)?.create_checkpoint(dest)?;
        Ok(())
    }

    /// Compacts every column family now (addition to the original API, for maintenance
    /// tools and tests): applies the dedup window immediately and reclaims space.
    pub fn compact(&self) -> Result<()> {
        self.check_writable()?;
        let db = self.db()?;
        for name in ALL_CFS {
            db.compact_range_cf(cf(&db, name)?, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// Stops accepting submissions, lets the committer write (and call back) everything
    /// already queued, stops its thread, flushes memtables to SST files (so the next open
    /// has no WAL to replay) and closes the database. Afterwards every method returns
    /// [`StoreError::Closed`]. Idempotent; also run when the last clone is dropped.
    pub fn flush_and_close(&self) {
        self.inner.close();
    }

    // ---- helpers shared by the other modules -------------------------------------------

    /// The open database, or [`StoreError::Closed`].
    pub(crate) fn db(&self) -> Result<Arc<DB>> {
        self.inner
            .db
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(StoreError::Closed)
    }

    /// Point lookup in `cf_name`, decoding the value in place (no copy of the raw bytes).
    pub(crate) fn get_with<T>(
        &self,
        cf_name: &str,
        key: impl AsRef<[u8]>,
        decode: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<Option<T>> {
        let db = self.db()?;
        let value = db.get_pinned_cf(cf(&db, cf_name)?, key)?;
        value.map(|v| decode(&v)).transpose()
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.inner.read_only {
            Err(StoreError::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// A synchronous, fsynced write (account changes).
    pub(crate) fn sync_write(&self, db: &DB, batch: WriteBatch) -> Result<()> {
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.inner
            .counters
            .wal_syncs
            .fetch_add(1, Ordering::Relaxed);
        db.write_opt(batch, &wo)?;
        Ok(())
    }
}

impl Inner {
    fn close(&self) {
        self.committer.close();
        let mut committer_stopped = true;
        if let Some(handle) = lock(&self.commit_thread).take() {
            if handle.thread().id() == std::thread::current().id() {
                // Closed from a commit callback: the thread exits by itself after it returns.
                tracing::warn!("store closed from the committer thread; not joining it");
                committer_stopped = false;
            } else if handle.join().is_err() {
                tracing::error!("committer thread panicked");
            }
        }
        // The scrubber ends (after a last pass) once the committer, its only sender, has.
        if committer_stopped {
            if let Some(handle) = lock(&self.scrub_thread).take() {
                if handle.join().is_err() {
                    tracing::error!("scrub thread panicked");
                }
            }
        }
        let db = self.db.write().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(db) = db {
            if !self.read_only {
                let handles: Vec<&ColumnFamily> =
                    ALL_CFS.iter().filter_map(|n| db.cf_handle(n)).collect();
                if let Err(e) = db.flush_cfs_opt(&handles, &FlushOptions::default()) {
                    // Nothing is lost: the WAL still holds everything and is replayed on open.
                    tracing::warn!("flush on close failed: {e}");
                }
            }
            tracing::info!("store closed");
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

/// A column family handle, or a `Corrupt` error if the database lacks it.
pub(crate) fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a ColumnFamily> {
    db.cf_handle(name)
        .ok_or_else(|| StoreError::Corrupt(format!("missing column family {name}")))
}

/// Read options confining an iterator to the keys whose 8-byte prefix is `id`.
pub(crate) fn prefix_read_options(id: u64) -> ReadOptions {
    let (lo, hi) = keys::prefix_bounds(id);
    let mut ro = ReadOptions::default();
    ro.set_iterate_lower_bound(lo.to_vec());
    if let Some(hi) = hi {
        ro.set_iterate_upper_bound(hi.to_vec());
    }
    ro.set_prefix_same_as_start(true);
    ro
}

/// Calls `f(key, value)` for every entry whose key starts with the 8-byte prefix `id`.
pub(crate) fn for_each_with_prefix(
    db: &DB,
    cf: &ColumnFamily,
    id: u64,
    mut f: impl FnMut(&[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    let mut it = db.raw_iterator_cf_opt(cf, prefix_read_options(id));
    it.seek(keys::prefix_bounds(id).0);
    while let Some((k, v)) = it.item() {
        f(k, v)?;
        it.next();
    }
    it.status()?;
    Ok(())
}

/// Calls `f(key, value)` for every entry of a column family, in key order.
pub(crate) fn for_each(
    db: &DB,
    cf: &ColumnFamily,
    mut f: impl FnMut(&[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    let mut it = db.raw_iterator_cf_opt(cf, ReadOptions::default());
    it.seek_to_first();
    while let Some((k, v)) = it.item() {
        f(k, v)?;
        it.next();
    }
    it.status()?;
    Ok(())
}
