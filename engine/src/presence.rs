//! Presence, and the shard's side of typing and online counts (PROTOCOL.md §6.15). Nothing
//! here is stored but last seen.
//!
//! Every user has a **home shard** (a hash of their id). The shards holding the user's
//! connections tell the home when one goes live (`Sync`), ends, or reports activity; the home
//! computes the user's presence — offline, online, active, idle after 5 minutes without
//! activity, away after 15, or do-not-disturb — and tells only the shards that have a
//! connection watching the user (a count of watchers per shard), in batches, at most once per
//! [`PRESENCE_FLUSH_MS`]. Each shard keeps the latest presence of the users its connections
//! watch and gives each connection at most one `PresenceChanged` per flush, holding what
//! changed meanwhile (a busy connection keeps it for the next flush: the latest state wins, so
//! nothing grows without bound). So 10,000 users connecting at once cost each watching
//! connection a few frames, not one per user, and a user nobody watches costs two messages per
//! connection and nothing else.
//!
//! Online counts of a chat (`WatchPresence.chat_ids`) are counted where the users live: the
//! chat's owner hands its member set (shared, not copied) to every shard, each counts its home
//! users online among them, and the asking shard adds the parts up. A count is kept 10 s per
//! shard, so many watchers of one big chat cost one count.
//!
//! This file is the state: [`Homes`] and [`status_at`], the pure part (unit-tested below), and
//! [`Presence`], a shard's state; `presence_io.rs` runs it on the shard (messages between
//! shards, the flush clock, the requests' entry points).

use crate::crossing::{ConnId, MemberMap, PresenceState};
use crate::ids::IdMap;
use crate::rate::RateLimiter;
use magpie_storage::UserSettings;
use magpie_wire::presence::{ChatOnline, UserPresence, AWAY_AFTER_MS, IDLE_AFTER_MS, TYPING_BURST, TYPING_RATE_PER_SEC};
use magpie_wire::fb;
use std::collections::BTreeSet;
use std::time::Instant;

/// A user's home shard.
pub fn home_of(user_id: u64, shards: usize) -> usize {
    crate::ids::chat_owner(user_id.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15, shards)
}

pub(crate) const NOBODY: u8 = 2;

/// A user at home on this shard.
#[derive(Debug, Clone, Default)]
pub struct Home {
    /// Live connections, on every shard.
    pub live: u32,
    pub dnd: bool,
    /// `LastSeenVisibility` as stored (0 everyone, 1 shared chats, 2 nobody).
    pub last_seen_vis: u8,
    /// When `live` last went from 0 to 1.
    pub connected_ms: i64,
    /// Last activity reported (0: none).
    pub active_ms: i64,
    /// When the last connection ended (0: not while this engine ran).
    pub last_seen_ms: i64,
    /// The presence last sent (None: nothing known to send, e.g. offline since before start).
    pub sent: Option<PresenceState>,
    /// Watching connections per shard.
    pub interest: Vec<u32>,
    /// When the status changes by itself next (idle, away).
    pub deadline: Option<i64>,
}

/// A user's status at `now` and when it changes by itself next.
pub fn status_at(h: &Home, now: i64) -> (fb::PresenceStatus, Option<i64>) {
    use fb::PresenceStatus as S;
    if h.live == 0 {
        return (S::Offline, None);
    }
    if h.dnd {
        return (S::DoNotDisturb, None);
    }
    let base = h.connected_ms.max(h.active_ms);
    let idle = now - base;
    if idle >= AWAY_AFTER_MS {
        (S::Away, None)
    } else if idle >= IDLE_AFTER_MS {
        (S::Idle, Some(base + AWAY_AFTER_MS))
    } else if h.active_ms > 0 && h.active_ms >= h.connected_ms {
        (S::Active, Some(base + IDLE_AFTER_MS))
    } else {
        (S::Online, Some(base + IDLE_AFTER_MS))
    }
}

/// The users at home on one shard: the pure presence state machine.
#[derive(Default)]
pub struct Homes {
    pub users: IdMap<Home>,
    deadlines: BTreeSet<(i64, u64)>,
    /// Presences to send to each shard at the next flush.
    pub outbox: Vec<Vec<PresenceState>>,
}

impl Homes {
    pub fn new(shards: usize) -> Homes {
        Homes { users: IdMap::default(), deadlines: BTreeSet::new(), outbox: vec![Vec::new(); shards] }
    }

    fn entry(&mut self, user_id: u64) -> &mut Home {
        let shards = self.outbox.len();
        self.users.entry(user_id).or_insert_with(|| Home { interest: vec![0; shards], ..Home::default() })
    }

    /// Recomputes `user_id`'s presence; queues it for every interested shard if it changed.
    pub fn update(&mut self, user_id: u64, now: i64) {
        let Some(h) = self.users.get_mut(&user_id) else { return };
        let known = h.live > 0 || h.last_seen_ms > 0;
        let (status, deadline) = status_at(h, now);
        if let Some(old) = h.deadline.take() {
            self.deadlines.remove(&(old, user_id));
        }
        if let Some(d) = deadline {
            self.deadlines.insert((d, user_id));
        }
        h.deadline = deadline;
        let last_seen_ms = if h.live == 0 && h.last_seen_vis != NOBODY { h.last_seen_ms } else { 0 };
        let state = PresenceState { user_id, status, last_seen_ms };
        if known && h.sent != Some(state) {
            h.sent = Some(state);
            for (shard, &n) in h.interest.iter().enumerate() {
                if n > 0 {
                    self.outbox[shard].push(state);
                }
            }
        }
        if h.live == 0 && h.interest.iter().all(|&n| n == 0) {
            self.users.remove(&user_id);
        }
    }

    /// A connection of the user went live.
    pub fn up(&mut self, user_id: u64, dnd: bool, last_seen_vis: u8, now: i64) {
        let h = self.entry(user_id);
        if h.live == 0 {
            h.connected_ms = now;
        }
        h.live += 1;
        (h.dnd, h.last_seen_vis) = (dnd, last_seen_vis);
        self.update(user_id, now);
    }

    /// A live connection of the user ended; true when it was the last (last seen is now).
    pub fn down(&mut self, user_id: u64, now: i64) -> bool {
        let Some(h) = self.users.get_mut(&user_id) else { return false };
        h.live = h.live.saturating_sub(1);
        let last = h.live == 0;
        if last {
            h.last_seen_ms = now;
        }
        self.update(user_id, now);
        last
    }

    pub fn active(&mut self, user_id: u64, now: i64) {
        if let Some(h) = self.users.get_mut(&user_id) {
            if h.live > 0 {
                h.active_ms = now;
                self.update(user_id, now);
            }
        }
    }

    pub fn settings(&mut self, user_id: u64, s: &UserSettings, now: i64) {
        if let Some(h) = self.users.get_mut(&user_id) {
            (h.dnd, h.last_seen_vis) = (s.dnd, s.last_seen);
            self.update(user_id, now);
        }
    }

    /// Shard `from` has a watcher more or fewer; a new one is sent what is known.
    pub fn interest(&mut self, user_id: u64, from: usize, add: bool, now: i64) {
        let h = self.entry(user_id);
        if add {
            h.interest[from] += 1;
            if let Some(state) = h.sent {
                self.outbox[from].push(state);
            }
        } else {
            h.interest[from] = h.interest[from].saturating_sub(1);
        }
        self.update(user_id, now);
    }

    /// Users whose status changes by itself by `now` (idle, away).
    pub fn expire(&mut self, now: i64) {
        while let Some(&(at, user)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(h) = self.users.get_mut(&user) {
                h.deadline = None;
            }
            self.update(user, now);
        }
    }

    /// How many users at home here are online and in `members`.
    pub fn online_among(&self, members: &MemberMap) -> u32 {
        let online = |u: &u64| self.users.get(u).is_some_and(|h| h.live > 0);
        if self.users.len() < members.len() {
            self.users.iter().filter(|(u, h)| h.live > 0 && members.contains_key(*u)).count() as u32
        } else {
            members.keys().filter(|u| online(u)).count() as u32
        }
    }
}

/// What a shard knows of a user its connections watch.
pub(crate) struct Watched {
    pub(crate) state: Option<PresenceState>,
    pub(crate) conns: Vec<ConnId>,
}

/// One local connection's watch and limits.
pub(crate) struct Watch {
    pub(crate) user_id: u64,
    pub(crate) users: Vec<u64>,
    pub(crate) chats: Vec<u64>,
    pub(crate) pending_users: Vec<UserPresence>,
    pub(crate) pending_chats: Vec<ChatOnline>,
    pub(crate) typing: RateLimiter,
    pub(crate) last_active_report: Option<Instant>,
    /// Its `Up` reached the home (so it sends `Down`).
    pub(crate) up: bool,
}

/// A count being added up from every shard's part.
pub(crate) struct Counting {
    pub(crate) online: u32,
    pub(crate) member_count: u32,
    pub(crate) answers: usize,
}

/// A shard's presence state: its home users, and its connections' watches.
pub struct Presence {
    pub homes: Homes,
    pub(crate) watched: IdMap<Watched>,
    pub(crate) conns: IdMap<Watch>,
    pub(crate) chat_watchers: IdMap<Vec<ConnId>>,
    pub(crate) dirty: BTreeSet<ConnId>,
    /// Settings of users with connections here (filled on first use, refreshed by `Settings`).
    pub(crate) settings: IdMap<UserSettings>,
    pub(crate) counting: std::collections::HashMap<(ConnId, u64, u64), Counting>,
    pub(crate) counted: IdMap<(ChatOnline, i64)>,
    pub(crate) next_token: u64,
}

impl Presence {
    pub fn new(shards: usize) -> Presence {
        Presence {
            homes: Homes::new(shards),
            watched: IdMap::default(),
            conns: IdMap::default(),
            chat_watchers: IdMap::default(),
            dirty: BTreeSet::new(),
            settings: IdMap::default(),
            counting: Default::default(),
            counted: IdMap::default(),
            next_token: 1,
        }
    }

    pub(crate) fn watch(&mut self, conn: ConnId, user_id: u64) -> &mut Watch {
        self.conns.entry(conn).or_insert_with(|| Watch {
            user_id,
            users: Vec::new(),
            chats: Vec::new(),
            pending_users: Vec::new(),
            pending_chats: Vec::new(),
            typing: RateLimiter::new(TYPING_RATE_PER_SEC, TYPING_BURST),
            last_active_report: None,
            up: false,
        })
    }

    /// The cached settings of a user with a connection here.
    pub fn cached_settings(&self, user_id: u64) -> Option<UserSettings> {
        self.settings.get(&user_id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fb::PresenceStatus as S;

    const T0: i64 = 1_800_000_000_000;
    const MIN: i64 = 60_000;

    fn sent(h: &mut Homes, shard: usize) -> Vec<(u64, S, i64)> {
        std::mem::take(&mut h.outbox[shard]).into_iter().map(|s| (s.user_id, s.status, s.last_seen_ms)).collect()
    }

    #[test]
    fn the_state_machine_online_active_idle_away_offline() {
        let mut h = Homes::new(2);
        h.interest(7, 1, true, T0);
        assert!(sent(&mut h, 1).is_empty(), "nothing known of a user who has not connected since start");
        h.up(7, false, 0, T0);
        assert_eq!(sent(&mut h, 1), vec![(7, S::Online, 0)]);
        assert!(sent(&mut h, 0).is_empty(), "only interested shards hear of it");
        h.active(7, T0 + MIN);
        assert_eq!(sent(&mut h, 1), vec![(7, S::Active, 0)]);
        h.expire(T0 + MIN + 5 * MIN - 1);
        assert!(sent(&mut h, 1).is_empty());
        h.expire(T0 + MIN + 5 * MIN);
        assert_eq!(sent(&mut h, 1), vec![(7, S::Idle, 0)]);
        h.expire(T0 + MIN + 15 * MIN);
        assert_eq!(sent(&mut h, 1), vec![(7, S::Away, 0)]);
        h.active(7, T0 + 20 * MIN);
        assert_eq!(sent(&mut h, 1), vec![(7, S::Active, 0)]);
        // A second device: still one user, online until both are gone.
        h.up(7, false, 0, T0 + 21 * MIN);
        assert!(sent(&mut h, 1).is_empty());
        assert!(!h.down(7, T0 + 22 * MIN));
        assert!(sent(&mut h, 1).is_empty());
        assert!(h.down(7, T0 + 23 * MIN));
        assert_eq!(sent(&mut h, 1), vec![(7, S::Offline, T0 + 23 * MIN)]);
    }

    #[test]
    fn do_not_disturb_and_a_hidden_last_seen() {
        let mut h = Homes::new(1);
        h.interest(7, 0, true, T0);
        h.up(7, true, NOBODY, T0);
        assert_eq!(sent(&mut h, 0), vec![(7, S::DoNotDisturb, 0)]);
        h.expire(T0 + 60 * MIN);
        assert!(sent(&mut h, 0).is_empty(), "do-not-disturb does not go idle");
        h.settings(7, &UserSettings { dnd: false, last_seen: NOBODY, read_receipts: true }, T0 + 61 * MIN);
        assert_eq!(sent(&mut h, 0), vec![(7, S::Away, 0)]);
        h.down(7, T0 + 62 * MIN);
        assert_eq!(sent(&mut h, 0), vec![(7, S::Offline, 0)], "nobody sees last seen");
    }

    #[test]
    fn a_new_watcher_gets_what_is_known_and_an_unwatched_user_is_forgotten_offline() {
        let mut h = Homes::new(2);
        h.up(7, false, 0, T0);
        assert!(sent(&mut h, 0).is_empty() && sent(&mut h, 1).is_empty(), "nobody watches: nothing sent");
        h.interest(7, 1, true, T0 + 1);
        assert_eq!(sent(&mut h, 1), vec![(7, S::Online, 0)]);
        h.interest(7, 1, false, T0 + 2);
        h.down(7, T0 + 3);
        assert!(sent(&mut h, 1).is_empty());
        assert!(h.users.is_empty(), "offline and unwatched: no state kept");
    }

    #[test]
    fn online_counts_walk_the_smaller_side() {
        let mut h = Homes::new(1);
        for u in 1..=5 {
            h.up(u, false, 0, T0);
        }
        h.down(5, T0);
        let members: MemberMap = (3..=100u64).map(|u| (u, magpie_storage::MemberRecord { role: magpie_storage::Role::Member, since_seq: 1 })).collect();
        assert_eq!(h.online_among(&members), 2);
        let few: MemberMap = [(1u64, magpie_storage::MemberRecord { role: magpie_storage::Role::Member, since_seq: 1 })].into_iter().collect();
        assert_eq!(h.online_among(&few), 1);
    }
}
