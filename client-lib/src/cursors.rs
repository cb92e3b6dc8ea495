//! Per-chat cursors: the highest sequence number handed to the app with nothing missing below
//! it. This is where "every event exactly once, in order" is made, without any I/O: duplicates
//! are dropped, early events are held back, and gaps are reported as [`Fill`]s for the caller to
//! fetch with a forward `History` request.

use crate::events::ChatEvent;
use magpie_wire::limits::{MAX_CLIENT_FRAME_BYTES, MAX_HISTORY_LIMIT};
use std::collections::{BTreeMap, HashMap};

/// Events held back per chat while a gap is fetched. Past this, newer events are not kept (the
/// fill fetches them too), so a flood during a slow fill cannot grow memory without bound.
const MAX_HELD_PER_CHAT: usize = 4096;

/// Most cursors one `Sync` frame can carry (16 bytes each, with room for the frame itself).
pub(crate) const MAX_SYNC_CURSORS: usize = (MAX_CLIENT_FRAME_BYTES - 1024) / 16;

/// A request to fetch a chat's events after `from_seq` (History, Forward).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fill {
    pub chat_id: u64,
    pub from_seq: u64,
    pub limit: u16,
}

#[derive(Debug, Default)]
struct Chat {
    /// Highest contiguous seq handed to the app.
    seq: u64,
    /// The user is no longer a member: leave the chat out of `Sync` (the cursor is kept so a
    /// later re-add does not replay what the app already has).
    left: bool,
    gap: Option<Gap>,
}

#[derive(Debug, Default)]
struct Gap {
    /// Events after the gap, waiting for it to close.
    held: BTreeMap<u64, ChatEvent>,
    /// Highest seq known to exist (held or dropped for lack of room).
    target: u64,
    /// The `from_seq` of the fill in flight, if any.
    fetching: Option<u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Cursors {
    chats: HashMap<u64, Chat>,
}

impl Cursors {
    pub(crate) fn new(seed: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut c = Cursors::default();
        for (chat_id, seq) in seed {
            let chat = c.chats.entry(chat_id).or_default();
            chat.seq = chat.seq.max(seq);
        }
        c
    }

    pub(crate) fn get(&self, chat_id: u64) -> u64 {
        self.chats.get(&chat_id).map_or(0, |c| c.seq)
    }

    /// Every cursor, sorted by chat.
    pub(crate) fn snapshot(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<_> = self.chats.iter().map(|(&id, c)| (id, c.seq)).collect();
        v.sort_unstable();
        v
    }

    /// The cursors to put in `Sync`: chats still joined that have events (an unlisted chat starts
    /// at 0 anyway). If there are more than fit in one frame, the rest are left out and simply
    /// replayed from the start, and the replay is dropped here as duplicates.
    pub(crate) fn for_sync(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<_> = self.chats.iter().filter(|(_, c)| !c.left && c.seq > 0).map(|(&id, c)| (id, c.seq)).collect();
        // Keep the chats with the most history: those are the costliest to replay.
        if v.len() > MAX_SYNC_CURSORS {
            v.sort_unstable_by_key(|&(_, seq)| std::cmp::Reverse(seq));
            v.truncate(MAX_SYNC_CURSORS);
        }
        v.sort_unstable();
        v
    }

    /// Records whether the user is still a member of `chat_id`.
    pub(crate) fn set_left(&mut self, chat_id: u64, left: bool) {
        self.chats.entry(chat_id).or_default().left = left;
    }

    /// Fills in flight, across all chats.
    pub(crate) fn fills_in_flight(&self) -> usize {
        self.chats.values().filter(|c| c.gap.as_ref().is_some_and(|g| g.fetching.is_some())).count()
    }

    /// Forgets held events and fills: after a reconnect, `Sync` resends everything after the
    /// cursors, and the old connection's fills will never be answered.
    pub(crate) fn reset_gaps(&mut self) {
        for c in self.chats.values_mut() {
            c.gap = None;
        }
    }

    /// Raises the cursor of `chat_id` to `seq` if the app has nothing of the chat past it and
    /// nothing is being fetched: the chat starts after `seq` for this user (they joined, or came
    /// back after leaving, at `seq + 1`). Also marks the chat joined.
    pub(crate) fn start_at(&mut self, chat_id: u64, seq: u64) {
        let chat = self.chats.entry(chat_id).or_default();
        chat.left = false;
        if chat.gap.is_none() && chat.seq < seq {
            chat.seq = seq;
        }
    }

    /// Takes one pushed event; appends what the app may now see to `out`, in order.
    pub(crate) fn on_event(&mut self, ev: ChatEvent, out: &mut Vec<ChatEvent>) -> Option<Fill> {
        let chat_id = ev.chat_id;
        let chat = self.chats.entry(chat_id).or_default();
        chat.take(ev, out);
        chat.next_fill(chat_id)
    }

    /// Takes the answer to a fill (events ascending).
    pub(crate) fn on_fill(&mut self, chat_id: u64, events: Vec<ChatEvent>, out: &mut Vec<ChatEvent>) -> Option<Fill> {
        let chat = self.chats.entry(chat_id).or_default();
        let asked_from = chat.gap.as_mut().and_then(|g| g.fetching.take());
        for ev in events.into_iter().filter(|e| e.chat_id == chat_id) {
            chat.take(ev, out);
        }
        if asked_from == Some(chat.seq) {
            // Nothing arrived for the hole the fill asked about: the server has nothing there
            // (e.g. events from before the user joined are not visible). Accept the hole rather
            // than ask forever. (If live events closed it meanwhile, the cursor has moved on.)
            chat.skip_hole(out);
        } else {
            chat.release_held(out);
        }
        chat.next_fill(chat_id)
    }

    /// A fill failed (error reply): the hole is accepted, as for an empty answer.
    pub(crate) fn on_fill_failed(&mut self, chat_id: u64, out: &mut Vec<ChatEvent>) -> Option<Fill> {
        self.on_fill(chat_id, Vec::new(), out)
    }
}

impl Chat {
    fn take(&mut self, ev: ChatEvent, out: &mut Vec<ChatEvent>) {
        if ev.seq <= self.seq {
            return; // duplicate: sync replay, a fill overlapping a push, or a resent event
        }
        if ev.seq == self.seq + 1 {
            self.seq = ev.seq;
            out.push(ev);
            self.release_held(out);
            return;
        }
        let gap = self.gap.get_or_insert_with(Gap::default);
        gap.target = gap.target.max(ev.seq);
        if gap.held.len() < MAX_HELD_PER_CHAT || gap.held.keys().next_back().is_some_and(|&last| ev.seq < last) {
            gap.held.insert(ev.seq, ev);
            if gap.held.len() > MAX_HELD_PER_CHAT {
                gap.held.pop_last();
            }
        }
    }

    /// Hands over held events that are now contiguous.
    fn release_held(&mut self, out: &mut Vec<ChatEvent>) {
        let Some(gap) = self.gap.as_mut() else { return };
        while let Some(entry) = gap.held.first_entry() {
            let seq = *entry.key();
            if seq <= self.seq {
                entry.remove();
            } else if seq == self.seq + 1 {
                out.push(entry.remove());
                self.seq = seq;
            } else {
                break;
            }
        }
        if gap.held.is_empty() && self.seq >= gap.target && gap.fetching.is_none() {
            self.gap = None;
        }
    }

    /// Gives up on the missing events right after the cursor.
    fn skip_hole(&mut self, out: &mut Vec<ChatEvent>) {
        let Some(gap) = self.gap.as_mut() else { return };
        let resume_at = gap.held.keys().next().map_or(gap.target, |&first| first - 1);
        if resume_at > self.seq {
            tracing::warn!(from = self.seq + 1, to = resume_at, "chat history has a hole the server cannot fill; skipping it");
            self.seq = resume_at;
        }
        self.release_held(out);
    }

    fn next_fill(&mut self, chat_id: u64) -> Option<Fill> {
        let seq = self.seq;
        let gap = self.gap.as_mut()?;
        if gap.fetching.is_some() {
            return None;
        }
        if gap.held.is_empty() && seq >= gap.target {
            self.gap = None;
            return None;
        }
        // Up to the first held event, or to the newest known one if none could be held.
        let end = gap.held.keys().next().map_or(gap.target, |&first| first - 1);
        let missing = end.saturating_sub(seq).max(1);
        gap.fetching = Some(seq);
        Some(Fill { chat_id, from_seq: seq, limit: missing.min(u64::from(MAX_HISTORY_LIMIT)) as u16 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;

    fn ev(chat_id: u64, seq: u64) -> ChatEvent {
        ChatEvent {
            chat_id,
            seq,
            sender_id: 1,
            sender_device_id: 1,
            time_ms: 0,
            kind: EventKind::MembersAdded { user_ids: vec![], via: crate::events::JoinedVia::Added },
        }
    }

    fn seqs(out: &[ChatEvent]) -> Vec<u64> {
        out.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn a_join_starts_the_chat_without_fetching_what_came_before() {
        let mut c = Cursors::new([(2, 3)]);
        let mut out = Vec::new();
        c.start_at(1, 49);
        assert_eq!(c.on_event(ev(1, 50), &mut out), None, "no fill for seqs 1..=49");
        assert_eq!((seqs(&out), c.get(1)), (vec![50], 50));
        // Coming back later: what happened while away is skipped too, but never what the app
        // has, and never under a fill in flight.
        c.start_at(1, 40);
        assert_eq!(c.get(1), 50);
        let fill = c.on_event(ev(2, 6), &mut out).expect("a gap in chat 2");
        c.start_at(2, 9);
        assert_eq!(c.get(2), 3, "a fill is in flight");
        c.on_fill(2, vec![ev(2, 4), ev(2, 5)], &mut out);
        assert_eq!((fill.from_seq, c.get(2)), (3, 6));
        c.set_left(1, true);
        c.start_at(1, 80);
        assert_eq!(c.for_sync(), vec![(1, 80), (2, 6)], "joined again, from its new start");
    }

    #[test]
    fn in_order_events_pass_and_duplicates_drop() {
        let mut c = Cursors::new([(1, 2)]);
        let mut out = Vec::new();
        for s in [1, 2, 3, 3, 4, 2] {
            assert_eq!(c.on_event(ev(1, s), &mut out), None);
        }
        assert_eq!(seqs(&out), [3, 4]);
        assert_eq!(c.get(1), 4);
        assert_eq!(c.get(99), 0);
    }

    #[test]
    fn gap_is_filled_before_later_events_are_emitted() {
        let mut c = Cursors::new([(1, 2)]);
        let mut out = Vec::new();
        let fill = c.on_event(ev(1, 6), &mut out);
        assert_eq!(fill, Some(Fill { chat_id: 1, from_seq: 2, limit: 3 }));
        assert!(out.is_empty());
        // More live events while the fill is in flight: held, no second fill.
        assert_eq!(c.on_event(ev(1, 7), &mut out), None);
        assert_eq!(c.fills_in_flight(), 1);
        // The fill's answer overlaps what is held; each event comes out once.
        assert_eq!(c.on_fill(1, vec![ev(1, 3), ev(1, 4), ev(1, 5), ev(1, 6)], &mut out), None);
        assert_eq!(seqs(&out), [3, 4, 5, 6, 7]);
        assert_eq!((c.get(1), c.fills_in_flight()), (7, 0));
    }

    #[test]
    fn partial_fill_asks_again() {
        let mut c = Cursors::default();
        let mut out = Vec::new();
        assert_eq!(c.on_event(ev(1, 5), &mut out), Some(Fill { chat_id: 1, from_seq: 0, limit: 4 }));
        assert_eq!(c.on_fill(1, vec![ev(1, 1), ev(1, 2)], &mut out), Some(Fill { chat_id: 1, from_seq: 2, limit: 2 }));
        assert_eq!(c.on_fill(1, vec![ev(1, 3), ev(1, 4)], &mut out), None);
        assert_eq!(seqs(&out), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn unfillable_hole_is_skipped_not_retried_forever() {
        // E.g. a user added to a group at seq 5 who may not read seqs 1..4.
        let mut c = Cursors::default();
        let mut out = Vec::new();
        assert!(c.on_event(ev(1, 5), &mut out).is_some());
        assert_eq!(c.on_fill(1, vec![], &mut out), None);
        assert_eq!(seqs(&out), [5]);
        // A failed fill behaves the same.
        assert!(c.on_event(ev(1, 9), &mut out).is_some());
        assert_eq!(c.on_fill_failed(1, &mut out), None);
        assert_eq!(seqs(&out), [5, 9]);
        assert_eq!(c.fills_in_flight(), 0);
    }

    #[test]
    fn hole_closed_by_live_events_during_a_fill_is_not_skipped() {
        let mut c = Cursors::new([(1, 2)]);
        let mut out = Vec::new();
        assert_eq!(c.on_event(ev(1, 5), &mut out), Some(Fill { chat_id: 1, from_seq: 2, limit: 2 }));
        for s in [3, 4, 8] {
            assert_eq!(c.on_event(ev(1, s), &mut out), None);
        }
        assert_eq!(seqs(&out), [3, 4, 5]);
        // The stale answer brings nothing new, yet 6 and 7 must still be fetched, not skipped.
        assert_eq!(c.on_fill(1, vec![ev(1, 3), ev(1, 4)], &mut out), Some(Fill { chat_id: 1, from_seq: 5, limit: 2 }));
        assert_eq!(c.on_fill(1, vec![ev(1, 6), ev(1, 7)], &mut out), None);
        assert_eq!(seqs(&out), [3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn two_holes_are_filled_one_after_the_other() {
        let mut c = Cursors::default();
        let mut out = Vec::new();
        assert_eq!(c.on_event(ev(1, 3), &mut out), Some(Fill { chat_id: 1, from_seq: 0, limit: 2 }));
        assert_eq!(c.on_event(ev(1, 6), &mut out), None);
        assert_eq!(c.on_fill(1, vec![ev(1, 1), ev(1, 2)], &mut out), Some(Fill { chat_id: 1, from_seq: 3, limit: 2 }));
        assert_eq!(c.on_fill(1, vec![ev(1, 4), ev(1, 5), ev(1, 6)], &mut out), None);
        assert_eq!(seqs(&out), [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn chats_are_independent() {
        let mut c = Cursors::default();
        let mut out = Vec::new();
        assert!(c.on_event(ev(1, 2), &mut out).is_some());
        assert_eq!(c.on_event(ev(2, 1), &mut out), None);
        assert_eq!(seqs(&out), [1]);
        assert_eq!(out[0].chat_id, 2);
    }

    #[test]
    fn held_events_are_bounded_and_the_rest_refetched() {
        let mut c = Cursors::default();
        let mut out = Vec::new();
        let n = MAX_HELD_PER_CHAT as u64 + 100;
        assert!(c.on_event(ev(1, 2), &mut out).is_some());
        for s in 3..=n + 1 {
            assert_eq!(c.on_event(ev(1, s), &mut out), None);
        }
        let held = c.chats[&1].gap.as_ref().unwrap().held.len();
        assert_eq!(held, MAX_HELD_PER_CHAT);
        // Seq 1 arrives; held events come out, then the dropped tail is fetched.
        let fill = c.on_fill(1, vec![ev(1, 1)], &mut out).unwrap();
        assert_eq!(fill.from_seq, MAX_HELD_PER_CHAT as u64 + 1);
        assert_eq!(c.on_fill(1, (fill.from_seq + 1..=n + 1).map(|s| ev(1, s)).collect(), &mut out), None);
        assert_eq!(seqs(&out), (1..=n + 1).collect::<Vec<_>>());
    }

    #[test]
    fn reset_drops_held_events_but_keeps_cursors() {
        let mut c = Cursors::new([(1, 1)]);
        let mut out = Vec::new();
        assert!(c.on_event(ev(1, 4), &mut out).is_some());
        c.reset_gaps();
        assert_eq!((c.get(1), c.fills_in_flight()), (1, 0));
        // After the reconnect the sync resends 2, 3, 4 in order.
        for s in 2..=4 {
            assert_eq!(c.on_event(ev(1, s), &mut out), None);
        }
        assert_eq!(seqs(&out), [2, 3, 4]);
    }

    #[test]
    fn sync_lists_joined_chats_with_history() {
        let mut c = Cursors::new([(1, 5), (2, 0), (3, 9)]);
        c.set_left(3, true);
        assert_eq!(c.for_sync(), vec![(1, 5)]);
        c.set_left(3, false);
        assert_eq!(c.for_sync(), vec![(1, 5), (3, 9)]);
        assert_eq!(c.snapshot(), vec![(1, 5), (2, 0), (3, 9)]);

        let many = Cursors::new((1..=MAX_SYNC_CURSORS as u64 + 10).map(|id| (id, id)));
        let v = many.for_sync();
        assert_eq!(v.len(), MAX_SYNC_CURSORS);
        assert_eq!(v[0], (11, 11), "the chats with the least history are the ones left out");
        let frame = magpie_wire::encode::sync(1, &v);
        assert!(frame.len() <= MAX_CLIENT_FRAME_BYTES);
    }
}
