//! The receipt cursors a chat keeps in its views (`ChatView::receipts`): every member's delivered
//! and read cursor, and the counts of one message derived from them. A leaf of the core (the
//! view holds it; `receipts.rs` has the rules), so it imports no sibling.

use crate::crossing::MemberMap;
use magpie_storage::ReceiptRecord;
use magpie_wire::presence::ReceiptCounts;

/// The cursors of a chat's members, shared between the head and durable views (a persistent
/// map: a copy is O(1)).
#[derive(Debug, Clone, Default)]
pub struct Receipts {
    by_user: imbl::OrdMap<u64, ReceiptRecord>,
    /// A counts push is scheduled (`Effect::Wake`) for this time and not yet sent.
    pub(super) wake_pending: Option<std::time::Instant>,
    /// Large chats: recent counts by message, with when they were computed (a few entries).
    counted: Vec<(ReceiptCounts, std::time::Instant)>,
}

/// How long, and for how many messages, a large chat reuses computed counts.
const COUNTS_FRESH: std::time::Duration = std::time::Duration::from_secs(1);
const COUNTS_KEPT: usize = 16;

impl Receipts {
    /// The stored receipts of the chat's current members.
    pub fn from_stored(stored: Vec<(u64, ReceiptRecord)>, members: &MemberMap) -> Receipts {
        let by_user = stored.into_iter().filter(|(u, _)| members.contains_key(u)).collect();
        Receipts { by_user, wake_pending: None, counted: Vec::new() }
    }

    /// A member's cursors (zero if they never moved them).
    pub fn get(&self, user_id: u64) -> ReceiptRecord {
        self.by_user.get(&user_id).copied().unwrap_or_default()
    }

    pub fn put(&mut self, user_id: u64, r: ReceiptRecord) {
        // Turning read receipts off takes effect at once: no cached count still holds the reads.
        if self.by_user.insert(user_id, r).is_some_and(|old| old.read_private != r.read_private) {
            self.counted.clear();
        }
    }

    /// Counts of message `seq` computed less than a second before `now`.
    pub(super) fn cached_counts(&self, seq: u64, now: std::time::Instant) -> Option<ReceiptCounts> {
        self.counted.iter().find(|(c, at)| c.seq == seq && now.saturating_duration_since(*at) < COUNTS_FRESH).map(|(c, _)| *c)
    }

    pub(super) fn cache_counts(&mut self, counts: ReceiptCounts, now: std::time::Instant) {
        self.counted.retain(|(c, at)| c.seq != counts.seq && now.saturating_duration_since(*at) < COUNTS_FRESH);
        if self.counted.len() >= COUNTS_KEPT {
            self.counted.remove(0);
        }
        self.counted.push((counts, now));
    }

    /// The counts of message `seq` among `members`, leaving out `except` (the asker; 0: nobody).
    pub(super) fn counts(&self, chat_id: u64, seq: u64, members: &MemberMap, except: u64) -> ReceiptCounts {
        let mut c = ReceiptCounts { chat_id, seq, members: members.len() as u32, ..Default::default() };
        for (_, r) in self.by_user.iter().filter(|(u, _)| **u != except && members.contains_key(*u)) {
            if r.delivered_seq >= seq {
                c.delivered += 1;
                if !r.read_private && r.read_seq >= seq {
                    c.read += 1;
                }
            }
        }
        c
    }
}
