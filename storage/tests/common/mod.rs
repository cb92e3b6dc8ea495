//! Helpers shared by the storage integration tests: opening stores and building appends.
#![allow(dead_code)]

use std::path::Path;

use magpie_storage::{bytes::Bytes, DedupRecord, Durability, Op, Store, StoreOptions};

pub fn open(dir: &Path) -> Store {
    Store::open(dir, StoreOptions::default()).expect("open store")
}

pub fn open_with(dir: &Path, durability: Durability, max_batch_ops: usize) -> Store {
    Store::open(
        dir,
        StoreOptions {
            durability,
            max_batch_ops,
            ..StoreOptions::default()
        },
    )
    .expect("open store")
}

pub fn event(chat_id: u64, seq: u64) -> Vec<u8> {
    format!("event {chat_id}/{seq}").into_bytes()
}

pub fn append(chat_id: u64, seq: u64) -> Op {
    Op::Append {
        chat_id,
        seq,
        event: Bytes::from(event(chat_id, seq)),
    }
}

pub fn append_range(store: &Store, chat_id: u64, seqs: std::ops::RangeInclusive<u64>) {
    let ops = seqs.map(|s| append(chat_id, s)).collect();
    store.committer().submit_wait(ops).expect("append");
}

pub fn dedup(device_id: u64, id: &str, chat_id: u64, seq: u64, time_ms: i64) -> Op {
    Op::PutDedup {
        device_id,
        client_msg_id: id.to_owned(),
        record: DedupRecord {
            chat_id,
            seq,
            message_id: seq * 10,
            time_ms,
        },
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub fn seqs(v: &[(u64, Vec<u8>)]) -> Vec<u64> {
    v.iter().map(|(s, _)| *s).collect()
}
