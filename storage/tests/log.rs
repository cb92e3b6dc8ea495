//! The chat log: forward and backward paging, isolation between chats, backward matching
//! scans and overwrites.

mod common;

use common::{append_range, event, seqs};

#[test]
fn empty_chat() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    assert_eq!(store.last_seq(1).unwrap(), 0);
    assert!(store.read_forward(1, 0, 10).unwrap().is_empty());
    assert!(store.read_backward(1, 0, 10).unwrap().is_empty());
    assert_eq!(store.last_event_matching(1, 10, |_| true).unwrap(), None);
}

#[test]
fn forward_paging() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    append_range(&store, 7, 1..=25);
    // Neighbouring chats must never leak into chat 7's reads.
    append_range(&store, 6, 1..=3);
    append_range(&store, 8, 1..=3);

    assert_eq!(store.last_seq(7).unwrap(), 25);
    let page = store.read_forward(7, 0, 10).unwrap();
    assert_eq!(seqs(&page), (1..=10).collect::<Vec<_>>());
    assert_eq!(page[0].1, event(7, 1));
    let page = store.read_forward(7, 10, 10).unwrap();
    assert_eq!(seqs(&page), (11..=20).collect::<Vec<_>>());
    let page = store.read_forward(7, 20, 10).unwrap();
    assert_eq!(seqs(&page), (21..=25).collect::<Vec<_>>());
    assert!(store.read_forward(7, 25, 10).unwrap().is_empty());
    assert!(store.read_forward(7, 1000, 10).unwrap().is_empty());
    assert!(store.read_forward(7, u64::MAX, 10).unwrap().is_empty());
    assert!(store.read_forward(7, 0, 0).unwrap().is_empty());
    assert_eq!(store.read_forward(7, 0, usize::MAX).unwrap().len(), 25);
    assert_eq!(seqs(&store.read_forward(7, 24, 1).unwrap()), vec![25]);
}

#[test]
fn backward_paging_returns_ascending() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    append_range(&store, 7, 1..=25);
    append_range(&store, 6, 1..=3);
    append_range(&store, 8, 1..=3);

    // before_seq = 0: from the end.
    let page = store.read_backward(7, 0, 10).unwrap();
    assert_eq!(seqs(&page), (16..=25).collect::<Vec<_>>());
    assert_eq!(page[9].1, event(7, 25));
    // Page on with the smallest seq received.
    let page = store.read_backward(7, 16, 10).unwrap();
    assert_eq!(seqs(&page), (6..=15).collect::<Vec<_>>());
    let page = store.read_backward(7, 6, 10).unwrap();
    assert_eq!(seqs(&page), (1..=5).collect::<Vec<_>>());
    assert!(store.read_backward(7, 1, 10).unwrap().is_empty());
    // before_seq beyond the end behaves like "from the end".
    assert_eq!(
        seqs(&store.read_backward(7, 1000, 3).unwrap()),
        vec![23, 24, 25]
    );
    assert_eq!(seqs(&store.read_backward(7, 26, 1).unwrap()), vec![25]);
    assert_eq!(seqs(&store.read_backward(7, 25, 1).unwrap()), vec![24]);
    assert!(store.read_backward(7, 0, 0).unwrap().is_empty());
    assert_eq!(store.read_backward(7, 0, usize::MAX).unwrap().len(), 25);
}

#[test]
fn extreme_chat_ids_are_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    append_range(&store, u64::MAX, 1..=3);
    append_range(&store, u64::MAX - 1, 1..=2);
    append_range(&store, 0, 5..=5);
    assert_eq!(store.last_seq(u64::MAX).unwrap(), 3);
    assert_eq!(store.last_seq(u64::MAX - 1).unwrap(), 2);
    assert_eq!(store.last_seq(0).unwrap(), 5);
    assert_eq!(
        seqs(&store.read_forward(u64::MAX, 0, 10).unwrap()),
        vec![1, 2, 3]
    );
    assert_eq!(
        seqs(&store.read_backward(u64::MAX - 1, 0, 10).unwrap()),
        vec![1, 2]
    );
    assert_eq!(seqs(&store.read_backward(0, 0, 10).unwrap()), vec![5]);
    // A seq of u64::MAX is still found by "from the end" reads.
    append_range(&store, 9, u64::MAX..=u64::MAX);
    assert_eq!(store.last_seq(9).unwrap(), u64::MAX);
    assert_eq!(seqs(&store.read_backward(9, 0, 1).unwrap()), vec![u64::MAX]);
}

#[test]
fn last_event_matching_scans_backwards_within_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    append_range(&store, 3, 1..=50);
    append_range(&store, 4, 1..=5);
    let is = |seq: u64| move |e: &[u8]| e == event(3, seq).as_slice();

    let found = store.last_event_matching(3, 100, is(10)).unwrap();
    assert_eq!(found, Some((10, event(3, 10))));
    // Newest match wins.
    let found = store
        .last_event_matching(3, 100, |e| e.ends_with(b"0"))
        .unwrap();
    assert_eq!(found.map(|(s, _)| s), Some(50));
    // seq 41 is the 10th from the end: found with max_scan 10, not with 9.
    assert!(store.last_event_matching(3, 10, is(41)).unwrap().is_some());
    assert!(store.last_event_matching(3, 9, is(41)).unwrap().is_none());
    assert!(store.last_event_matching(3, 0, |_| true).unwrap().is_none());
    // Never crosses into another chat.
    assert!(store
        .last_event_matching(4, 1000, |e| e.starts_with(b"event 3/"))
        .unwrap()
        .is_none());
}

#[test]
fn overwriting_a_seq_replaces_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    append_range(&store, 1, 1..=2);
    store
        .committer()
        .submit_wait(vec![magpie_storage::Op::Append {
            chat_id: 1,
            seq: 2,
            event: magpie_storage::bytes::Bytes::from_static(b"tombstone"),
        }])
        .unwrap();
    let all = store.read_forward(1, 0, 10).unwrap();
    assert_eq!(all, vec![(1, event(1, 1)), (2, b"tombstone".to_vec())]);
}
