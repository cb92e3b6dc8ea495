//! Who owns what, and ids minted without coordination.

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A hash map keyed by ids the engine assigned itself (users, chats, connections). The delivery
/// path looks up two of them per recipient connection, and SipHash (std's default, resistant to
/// chosen keys, which clients cannot choose here) was ~10% of a shard's instructions in fan-out.
pub type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// One multiply per `u64` (the FxHash step), then a rotation so that the well-mixed high bits
/// pick the bucket.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

const ID_HASH_K: u64 = 0xf135_7aea_2e62_a9c5;

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(ID_HASH_K);
    }
}

/// Spreads ids evenly over shards even when they are consecutive.
fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser: a fixed, well-distributed permutation of u64.
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The shard that owns a chat: it alone assigns the chat's sequence numbers.
pub fn chat_owner(chat_id: u64, shards: usize) -> usize {
    (mix(chat_id) % shards as u64) as usize
}

/// The shard that serialises creation of the direct chat between two users.
pub fn pair_owner(a: u64, b: u64, shards: usize) -> usize {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    (mix(lo ^ mix(hi)) % shards as u64) as usize
}

/// Time-ordered message ids, unique per node without a shared counter:
/// 42 bits of milliseconds since 2025-01-01, 10 bits of shard, 12 bits of sequence.
pub struct MessageIds {
    shard: u64,
    last_ms: Cell<u64>,
    seq: Cell<u64>,
}

const EPOCH_MS: i64 = 1_735_689_600_000;

impl MessageIds {
    pub fn new(shard: usize) -> MessageIds {
        MessageIds { shard: shard as u64 & 0x3ff, last_ms: Cell::new(0), seq: Cell::new(0) }
    }

    pub fn next(&self, now_ms: i64) -> u64 {
        let mut ms = (now_ms - EPOCH_MS).max(0) as u64;
        if ms <= self.last_ms.get() {
            // Same millisecond (or the clock went back): keep counting on the last one, borrowing
            // from the next millisecond when 4096 ids were used.
            ms = self.last_ms.get();
            let s = self.seq.get() + 1;
            if s > 0xfff {
                ms += 1;
                self.seq.set(0);
            } else {
                self.seq.set(s);
            }
        } else {
            self.seq.set(0);
        }
        self.last_ms.set(ms);
        (ms << 22) | (self.shard << 12) | self.seq.get()
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn message_ids_are_unique_and_increasing() {
        let ids = MessageIds::new(3);
        let mut seen = HashSet::new();
        let mut last = 0;
        for i in 0..20_000 {
            let id = ids.next(EPOCH_MS + 5 + (i / 10_000));
            assert!(id > last);
            assert!(seen.insert(id));
            last = id;
        }
    }

    #[test]
    fn owners_spread_over_shards() {
        let mut counts = [0usize; 4];
        for id in 1..=4000 {
            counts[chat_owner(id, 4)] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
        assert_eq!(pair_owner(5, 9, 4), pair_owner(9, 5, 4));
    }
}
