//! The group committer: merging concurrent submissions, batch bounds, callback order, close,
//! panicking callbacks and `try_submit` on a full queue.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use magpie_storage::{Durability, Op, StoreError};

/// Blocks the committer inside a callback until `release` is sent, so that submissions made
/// meanwhile are guaranteed to be queued together. Returns the release sender.
fn hold_committer(c: &magpie_storage::Committer) -> mpsc::Sender<()> {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    c.submit(
        vec![common::append(1, 1)],
        Box::new(move |r| {
            r.unwrap();
            entered_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        }),
    );
    entered_rx.recv().unwrap();
    release_tx
}

#[test]
fn concurrent_submissions_are_merged_and_called_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let c = store.committer();
    let release = hold_committer(&c);

    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 50;
    // (thread, index) in callback order.
    let order = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let submitters: Vec<_> = (0..THREADS)
        .map(|t| {
            let c = c.clone();
            let order = Arc::clone(&order);
            let done_tx = done_tx.clone();
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let order = Arc::clone(&order);
                    let done_tx = done_tx.clone();
                    c.submit(
                        vec![common::append(100 + t, i + 1)],
                        Box::new(move |r| {
                            r.unwrap();
                            order.lock().unwrap().push((t, i));
                            done_tx.send(()).unwrap();
                        }),
                    );
                }
            })
        })
        .collect();
    for s in submitters {
        s.join().unwrap();
    }
    // Everything is queued now; let the committer go.
    release.send(()).unwrap();
    for _ in 0..THREADS * PER_THREAD {
        done_rx.recv().unwrap();
    }

    let stats = store.stats().unwrap();
    assert_eq!(stats.submissions, 1 + THREADS * PER_THREAD);
    // One commit for the holding submission, one for all 400 queued ones.
    assert_eq!(stats.commits, 2);
    assert!(stats.commits < stats.submissions);
    assert_eq!(stats.ops_committed, 1 + THREADS * PER_THREAD);
    // No id reservations or account writes happened, so only the two group commits synced.
    assert_eq!(stats.wal_syncs, 2);

    // Callbacks follow submission order: per thread, indices are increasing.
    let order = order.lock().unwrap();
    assert_eq!(order.len() as u64, THREADS * PER_THREAD);
    for t in 0..THREADS {
        let mine: Vec<u64> = order
            .iter()
            .filter(|(tt, _)| *tt == t)
            .map(|p| p.1)
            .collect();
        assert_eq!(mine, (0..PER_THREAD).collect::<Vec<_>>());
        assert_eq!(store.last_seq(100 + t).unwrap(), PER_THREAD);
    }
}

#[test]
fn max_batch_ops_bounds_each_group() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_with(dir.path(), Durability::ProcessCrash, 4);
    let c = store.committer();
    let release = hold_committer(&c);
    let (done_tx, done_rx) = mpsc::channel();
    for seq in 1..=100 {
        let done_tx = done_tx.clone();
        c.submit(
            vec![common::append(2, seq)],
            Box::new(move |r| done_tx.send(r.is_ok()).unwrap()),
        );
    }
    // A single submission larger than the bound is still written whole, alone.
    let big: Vec<Op> = (1..=10).map(|s| common::append(3, s)).collect();
    let done_big = done_tx.clone();
    c.submit(big, Box::new(move |r| done_big.send(r.is_ok()).unwrap()));
    release.send(()).unwrap();
    for _ in 0..101 {
        assert!(done_rx.recv().unwrap());
    }
    let stats = store.stats().unwrap();
    // 1 (holder) + 100 / 4 + 1 (the big one).
    assert_eq!(stats.commits, 27);
    assert_eq!(stats.ops_committed, 1 + 100 + 10);
    // ProcessCrash: no fsync per commit.
    assert_eq!(stats.wal_syncs, 0);
    assert_eq!(store.last_seq(2).unwrap(), 100);
    assert_eq!(store.last_seq(3).unwrap(), 10);
}

#[test]
fn callbacks_from_one_thread_run_in_submission_order_after_data_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_with(dir.path(), Durability::PowerLoss, 16);
    let c = store.committer();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, done_rx) = mpsc::channel();
    const N: u64 = 1000;
    for seq in 1..=N {
        let seen = Arc::clone(&seen);
        let reader = store.clone();
        let done_tx = done_tx.clone();
        c.submit(
            vec![common::append(5, seq)],
            Box::new(move |r| {
                r.unwrap();
                // The write is complete before any callback runs.
                assert!(reader.last_seq(5).unwrap() >= seq);
                seen.lock().unwrap().push(seq);
                done_tx.send(()).unwrap();
            }),
        );
    }
    for _ in 0..N {
        done_rx.recv().unwrap();
    }
    assert_eq!(*seen.lock().unwrap(), (1..=N).collect::<Vec<_>>());
    let stats = store.stats().unwrap();
    assert_eq!(stats.submissions, N);
    assert_eq!(stats.ops_committed, N);
    assert!(stats.commits >= N / 16 && stats.commits <= N);
    assert_eq!(stats.wal_syncs, stats.commits);
}

#[test]
fn many_threads_waiting_on_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let next = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let c = store.committer();
            let next = Arc::clone(&next);
            std::thread::spawn(move || {
                for i in 1..=50u64 {
                    c.submit_wait(vec![
                        common::append(1000 + t, i),
                        common::dedup(t, &format!("m{i}"), 1000 + t, i, 0),
                    ])
                    .unwrap();
                    next.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(next.load(Ordering::Relaxed), 400);
    let stats = store.stats().unwrap();
    assert_eq!(stats.submissions, 400);
    assert_eq!(stats.ops_committed, 800);
    assert!(stats.commits >= 1 && stats.commits <= stats.submissions);
    for t in 0..8 {
        assert_eq!(store.last_seq(1000 + t).unwrap(), 50);
        assert_eq!(store.dedup_lookup(t, "m50").unwrap().unwrap().seq, 50);
    }
}

#[test]
fn close_drains_the_queue_then_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let c = store.committer();
    let release = hold_committer(&c);
    let (done_tx, done_rx) = mpsc::channel();
    for seq in 2..=20 {
        let done_tx = done_tx.clone();
        c.submit(
            vec![common::append(1, seq)],
            Box::new(move |r| done_tx.send(r.is_ok()).unwrap()),
        );
    }
    let closer = {
        let store = store.clone();
        std::thread::spawn(move || store.flush_and_close())
    };
    // Give `close` a chance to start before releasing; correctness does not depend on it.
    std::thread::yield_now();
    release.send(()).unwrap();
    closer.join().unwrap();
    // Everything queued before the close was committed and called back with Ok.
    for _ in 2..=20 {
        assert!(done_rx.recv().unwrap());
    }
    assert!(matches!(
        c.submit_wait(vec![common::append(1, 21)]),
        Err(StoreError::Closed)
    ));
    assert!(matches!(store.last_seq(1), Err(StoreError::Closed)));
    assert!(matches!(store.allocate_ids(1), Err(StoreError::Closed)));
    store.flush_and_close(); // idempotent
    drop(store);

    let store = common::open(dir.path());
    assert_eq!(store.last_seq(1).unwrap(), 20);
}

#[test]
fn empty_submission_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    store.committer().submit_wait(Vec::new()).unwrap();
    assert_eq!(store.stats().unwrap().commits, 0);
}

#[test]
fn a_panicking_callback_does_not_stop_the_committer() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let c = store.committer();
    c.submit(
        vec![common::append(1, 1)],
        Box::new(|_| panic!("callback bug")),
    );
    c.submit_wait(vec![common::append(1, 2)]).unwrap();
    assert_eq!(store.last_seq(1).unwrap(), 2);
}

#[test]
fn try_submit_refuses_instead_of_blocking_when_the_queue_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    let c = store.committer();
    let release = hold_committer(&c);
    let called = Arc::new(AtomicU64::new(0));
    let mut busy_at = None;
    for i in 0..(magpie_storage::QUEUE_CAPACITY as u64 + 10) {
        let called = Arc::clone(&called);
        let r = c.try_submit(vec![common::append(7, i + 1)], Box::new(move |r| {
            r.unwrap();
            called.fetch_add(1, Ordering::Relaxed);
        }));
        if let Err(e) = r {
            assert!(matches!(e, StoreError::Busy), "{e:?}");
            busy_at = Some(i);
            break;
        }
    }
    let queued = busy_at.expect("a full queue refuses");
    assert_eq!(queued, magpie_storage::QUEUE_CAPACITY as u64);
    release.send(()).unwrap();
    // Everything queued is written; the refused submission is not (its callback never runs).
    c.submit_wait(vec![common::append(8, 1)]).unwrap();
    assert_eq!(called.load(Ordering::Relaxed), queued);
    assert_eq!(store.last_seq(7).unwrap(), queued);
}
