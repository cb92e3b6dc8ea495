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
//! [`Homes`] and [`status_at`] are the pure part (unit-tested below); [`Presence`] is the
//! shard's state, and the free functions run it against the shard.

use crate::conn::shared::ConnShared;
use crate::crossing::{ConnId, MemberMap, PresenceMsg, PresenceState, ReplyTo, ShardMsg};
use crate::ids::{now_ms, IdMap};
use crate::rate::{RateLimiter, Verdict};
use crate::shard::Shard;
use bytes::Bytes;
use magpie_storage::UserSettings;
use magpie_wire::presence::{ChatOnline, UserPresence, AWAY_AFTER_MS, IDLE_AFTER_MS, PRESENCE_FLUSH_MS, TYPING_BURST, TYPING_RATE_PER_SEC};
use magpie_wire::{encode, fb};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A user's home shard.
pub fn home_of(user_id: u64, shards: usize) -> usize {
    crate::ids::chat_owner(user_id.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15, shards)
}

/// Activity reports a connection passes on to the home: at most one per this long.
const ACTIVE_REPORT_EVERY: Duration = Duration::from_secs(10);
/// How long a shard reuses a chat's online count.
const COUNT_FRESH_MS: i64 = 10_000;
const NOBODY: u8 = 2;

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
struct Watched {
    state: Option<PresenceState>,
    conns: Vec<ConnId>,
}

/// One local connection's watch and limits.
struct Watch {
    user_id: u64,
    users: Vec<u64>,
    chats: Vec<u64>,
    pending_users: Vec<UserPresence>,
    pending_chats: Vec<ChatOnline>,
    typing: RateLimiter,
    last_active_report: Option<Instant>,
    /// Its `Up` reached the home (so it sends `Down`).
    up: bool,
}

/// A count being added up from every shard's part.
struct Counting {
    online: u32,
    member_count: u32,
    answers: usize,
}

/// A shard's presence state: its home users, and its connections' watches.
pub struct Presence {
    pub homes: Homes,
    watched: IdMap<Watched>,
    conns: IdMap<Watch>,
    chat_watchers: IdMap<Vec<ConnId>>,
    dirty: BTreeSet<ConnId>,
    /// Settings of users with connections here (filled on first use, refreshed by `Settings`).
    settings: IdMap<UserSettings>,
    counting: std::collections::HashMap<(ConnId, u64, u64), Counting>,
    counted: IdMap<(ChatOnline, i64)>,
    next_token: u64,
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

    fn watch(&mut self, conn: ConnId, user_id: u64) -> &mut Watch {
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

/// Sends `msg` to `user_id`'s home shard.
fn to_home(shard: &Rc<Shard>, user_id: u64, msg: PresenceMsg) {
    shard.send_to(home_of(user_id, shard.shards()), ShardMsg::Presence(msg));
}

/// The caller's settings: cached for users with a connection here, else read (blocking pool).
pub async fn settings(shard: &Rc<Shard>, user_id: u64) -> Result<UserSettings, String> {
    if let Some(s) = shard.presence.borrow().cached_settings(user_id) {
        return Ok(s);
    }
    let store = shard.shared.store.clone();
    let s = tokio::task::spawn_blocking(move || store.user_settings(user_id).map_err(|e| e.to_string()))
        .await
        .unwrap_or_else(|e| Err(e.to_string()))?;
    shard.presence.borrow_mut().settings.insert(user_id, s);
    Ok(s)
}

/// A connection went live (its `Sync`): the user's home counts it.
pub fn live(shard: &Rc<Shard>, conn: &Rc<ConnShared>, user_id: u64) {
    shard.presence.borrow_mut().watch(conn.id, user_id);
    let (shard, conn) = (shard.clone(), conn.clone());
    tokio::task::spawn_local(async move {
        let s = settings(&shard, user_id).await.unwrap_or_default();
        let mut p = shard.presence.borrow_mut();
        // Closed meanwhile: it never counted.
        let Some(w) = p.conns.get_mut(&conn.id) else { return };
        w.up = true;
        drop(p);
        to_home(&shard, user_id, PresenceMsg::Up { user_id, dnd: s.dnd, last_seen: s.last_seen });
    });
}

/// A connection ended: its watches go, and the home hears of it if it was live.
pub fn closed(shard: &Rc<Shard>, conn: &ConnShared) {
    let Some(w) = shard.presence.borrow_mut().conns.remove(&conn.id) else { return };
    set_users(shard, conn.id, &w.users, &[]);
    set_chats(shard, conn.id, &w.chats, &[]);
    shard.presence.borrow_mut().dirty.remove(&conn.id);
    if w.up {
        to_home(shard, w.user_id, PresenceMsg::Down { user_id: w.user_id });
    }
    // The user's last connection here: forget the cached settings.
    let still_here = shard.presence.borrow().conns.values().any(|x| x.user_id == w.user_id);
    if !still_here {
        shard.presence.borrow_mut().settings.remove(&w.user_id);
    }
}

/// The user is interacting now (passed on at most every 10 s per connection).
pub fn active(shard: &Rc<Shard>, conn: ConnId, user_id: u64) {
    let now = Instant::now();
    let report = {
        let mut p = shard.presence.borrow_mut();
        let w = p.watch(conn, user_id);
        let due = w.last_active_report.is_none_or(|t| now.duration_since(t) >= ACTIVE_REPORT_EVERY);
        if due {
            w.last_active_report = Some(now);
        }
        due
    };
    if report {
        to_home(shard, user_id, PresenceMsg::Active { user_id });
    }
}

/// Takes a typing token of the connection; `Err(retry_after_ms)` when there is none.
pub fn typing_allowed(shard: &Rc<Shard>, conn: ConnId, user_id: u64) -> Result<(), u32> {
    let mut p = shard.presence.borrow_mut();
    match p.watch(conn, user_id).typing.check(Instant::now()) {
        Verdict::Allow => Ok(()),
        Verdict::Refuse(ms) => Err(ms),
        Verdict::Disconnect => Err(1000),
    }
}

/// Tells every shard (and so the user's home) that the user's settings changed.
pub fn settings_changed(shard: &Rc<Shard>, user_id: u64, settings: UserSettings) {
    for to in 0..shard.shards() {
        shard.send_to(to, ShardMsg::Presence(PresenceMsg::Settings { user_id, settings }));
    }
}

fn set_users(shard: &Rc<Shard>, conn: ConnId, old: &[u64], new: &[u64]) {
    let me = shard.id;
    for &u in old.iter().filter(|u| !new.contains(u)) {
        let mut p = shard.presence.borrow_mut();
        let Some(w) = p.watched.get_mut(&u) else { continue };
        w.conns.retain(|&c| c != conn);
        if w.conns.is_empty() {
            p.watched.remove(&u);
            drop(p);
            to_home(shard, u, PresenceMsg::Interest { user_id: u, from: me, add: false });
        }
    }
    for &u in new.iter().filter(|u| !old.contains(u)) {
        let mut p = shard.presence.borrow_mut();
        let w = p.watched.entry(u).or_insert_with(|| Watched { state: None, conns: Vec::new() });
        w.conns.push(conn);
        if w.conns.len() == 1 {
            drop(p);
            to_home(shard, u, PresenceMsg::Interest { user_id: u, from: me, add: true });
        }
    }
}

fn set_chats(shard: &Rc<Shard>, conn: ConnId, old: &[u64], new: &[u64]) {
    let mut p = shard.presence.borrow_mut();
    for c in old.iter().filter(|c| !new.contains(c)) {
        if let Some(list) = p.chat_watchers.get_mut(c) {
            list.retain(|&x| x != conn);
            if list.is_empty() {
                p.chat_watchers.remove(c);
            }
        }
    }
    for &c in new.iter().filter(|c| !old.contains(c)) {
        p.chat_watchers.entry(c).or_default().push(conn);
    }
}

/// A watched user as the reply to `WatchPresence` shows them.
pub enum Seen {
    /// Shares a chat with the watcher: watched; `stored` is their presence from storage
    /// (offline, last seen if they show it), used until their home says more.
    Shared { stored: PresenceState },
    /// Shares no chat: not watched; last seen only if they show it to everyone.
    Stranger { last_seen_ms: i64 },
}

/// Replaces a connection's watch set; returns what is known now (the reply), and asks the
/// chats' owners for their online counts (pushed when counted).
pub fn set_watch(shard: &Rc<Shard>, conn: &Rc<ConnShared>, user_id: u64, users: Vec<(u64, Seen)>, chats: Vec<u64>) -> Vec<UserPresence> {
    let shared: Vec<u64> = users.iter().filter(|(_, s)| matches!(s, Seen::Shared { .. })).map(|(u, _)| *u).collect();
    let (old_users, old_chats) = {
        let mut p = shard.presence.borrow_mut();
        let w = p.watch(conn.id, user_id);
        (std::mem::replace(&mut w.users, shared.clone()), std::mem::replace(&mut w.chats, chats.clone()))
    };
    set_users(shard, conn.id, &old_users, &shared);
    set_chats(shard, conn.id, &old_chats, &chats);
    let mut reply = Vec::with_capacity(users.len());
    {
        let mut p = shard.presence.borrow_mut();
        for (u, seen) in users {
            match seen {
                Seen::Shared { stored } => {
                    let w = p.watched.get_mut(&u).expect("registered above");
                    let state = *w.state.get_or_insert(stored);
                    reply.push(UserPresence { user_id: u, status: state.status, last_seen_ms: state.last_seen_ms });
                }
                Seen::Stranger { last_seen_ms } => reply.push(UserPresence { user_id: u, status: fb::PresenceStatus::Unknown, last_seen_ms }),
            }
        }
    }
    let now = now_ms();
    for chat_id in chats {
        let fresh = shard.presence.borrow().counted.get(&chat_id).filter(|(_, at)| now - at < COUNT_FRESH_MS).map(|(c, _)| *c);
        match fresh {
            Some(c) => queue_chat(&mut shard.presence.borrow_mut(), conn.id, c),
            None => {
                let token = {
                    let mut p = shard.presence.borrow_mut();
                    p.next_token += 1;
                    p.next_token
                };
                let actor = crate::crossing::Actor { user_id, device_id: conn.device_id().unwrap_or(0), reply: ReplyTo { shard: shard.id, conn: conn.id, request_id: 0 } };
                let cmd = crate::crossing::Command::ChatOnline(crate::crossing::ChatOnline { actor, chat_id, token });
                shard.send_to(crate::ids::chat_owner(chat_id, shard.shards()), ShardMsg::Chat(cmd));
            }
        }
    }
    reply
}

fn queue_chat(p: &mut Presence, conn: ConnId, c: ChatOnline) {
    if let Some(w) = p.conns.get_mut(&conn) {
        w.pending_chats.retain(|x| x.chat_id != c.chat_id);
        w.pending_chats.push(c);
        p.dirty.insert(conn);
    }
}

/// The chat core's `Effect::CountOnline`: every shard counts its part.
pub fn count_online(shard: &Rc<Shard>, chat_id: u64, members: MemberMap, reply: ReplyTo, token: u64) {
    for to in 0..shard.shards() {
        let msg = PresenceMsg::Count { chat_id, members: members.clone(), reply, token };
        shard.send_to(to, ShardMsg::Presence(msg));
    }
}

/// The chat core's `Effect::ToWatchers`: every shard gives the frame to its watchers of the chat.
pub fn to_watchers(shard: &Rc<Shard>, chat_id: u64, frame: Bytes) {
    for to in 0..shard.shards() {
        shard.send_to(to, ShardMsg::Presence(PresenceMsg::ChatSignal { chat_id, frame: frame.clone() }));
    }
}

/// A presence message from another shard (or this one).
pub fn handle(shard: &Rc<Shard>, msg: PresenceMsg) {
    let now = now_ms();
    match msg {
        PresenceMsg::Up { user_id, dnd, last_seen } => shard.presence.borrow_mut().homes.up(user_id, dnd, last_seen, now),
        PresenceMsg::Down { user_id } => {
            if shard.presence.borrow_mut().homes.down(user_id, now) {
                let store = shard.shared.store.clone();
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = store.put_last_seen(user_id, now) {
                        tracing::warn!(user_id, error = %e, "could not store last seen");
                    }
                });
            }
        }
        PresenceMsg::Active { user_id } => shard.presence.borrow_mut().homes.active(user_id, now),
        PresenceMsg::Settings { user_id, settings } => {
            let mut p = shard.presence.borrow_mut();
            if let Some(s) = p.settings.get_mut(&user_id) {
                *s = settings;
            }
            if home_of(user_id, shard.shards()) == shard.id {
                p.homes.settings(user_id, &settings, now);
            }
        }
        PresenceMsg::Interest { user_id, from, add } => shard.presence.borrow_mut().homes.interest(user_id, from, add, now),
        PresenceMsg::Changed(states) => {
            let mut p = shard.presence.borrow_mut();
            let p = &mut *p;
            for s in states {
                let Some(w) = p.watched.get_mut(&s.user_id) else { continue };
                w.state = Some(s);
                for c in &w.conns {
                    if let Some(x) = p.conns.get_mut(c) {
                        x.pending_users.retain(|u| u.user_id != s.user_id);
                        x.pending_users.push(UserPresence { user_id: s.user_id, status: s.status, last_seen_ms: s.last_seen_ms });
                        p.dirty.insert(*c);
                    }
                }
            }
        }
        PresenceMsg::ChatSignal { chat_id, frame } => {
            let conns: Vec<ConnId> = shard.presence.borrow().chat_watchers.get(&chat_id).cloned().unwrap_or_default();
            let registry = shard.conns.borrow();
            for c in conns.iter().filter_map(|c| registry.get(c)) {
                let sent = c.offer_signal(&frame);
                crate::metrics::inc(if sent { &shard.metrics().signals_sent } else { &shard.metrics().signals_dropped });
            }
        }
        PresenceMsg::Count { chat_id, members, reply, token } => {
            let online = shard.presence.borrow().homes.online_among(&members);
            let answer = PresenceMsg::Counted { chat_id, online, member_count: members.len() as u32, reply, token };
            shard.send_to(reply.shard, ShardMsg::Presence(answer));
        }
        PresenceMsg::Counted { chat_id, online, member_count, reply, token } => {
            let mut p = shard.presence.borrow_mut();
            let key = (reply.conn, chat_id, token);
            let c = p.counting.entry(key).or_insert(Counting { online: 0, member_count, answers: 0 });
            c.online += online;
            c.answers += 1;
            if c.answers == shard.shards() {
                let c = p.counting.remove(&key).expect("present");
                let count = ChatOnline { chat_id, online: c.online, member_count: c.member_count };
                p.counted.insert(chat_id, (count, now));
                queue_chat(&mut p, reply.conn, count);
            }
        }
    }
}

/// Every [`PRESENCE_FLUSH_MS`]: statuses that changed by themselves, the batches for the
/// watching shards, and one `PresenceChanged` per connection with news.
pub fn flush(shard: &Rc<Shard>) {
    let now = now_ms();
    let batches: Vec<(usize, Vec<PresenceState>)> = {
        let mut p = shard.presence.borrow_mut();
        p.homes.expire(now);
        p.counted.retain(|_, (_, at)| now - *at < COUNT_FRESH_MS);
        p.homes.outbox.iter_mut().enumerate().filter(|(_, b)| !b.is_empty()).map(|(to, b)| (to, std::mem::take(b))).collect()
    };
    for (to, batch) in batches {
        shard.send_to(to, ShardMsg::Presence(PresenceMsg::Changed(batch)));
    }
    let dirty = std::mem::take(&mut shard.presence.borrow_mut().dirty);
    let registry = shard.conns.borrow();
    let mut p = shard.presence.borrow_mut();
    for conn in dirty {
        let (Some(c), Some(w)) = (registry.get(&conn), p.conns.get_mut(&conn)) else { continue };
        let frame = encode::presence_changed(0, &w.pending_users, &w.pending_chats);
        if c.offer_signal(&frame) {
            w.pending_users.clear();
            w.pending_chats.clear();
            crate::metrics::inc(&shard.metrics().signals_sent);
        } else if !c.is_closing() {
            // Busy: the latest states wait for the next flush (bounded by the watch set).
            p.dirty.insert(conn);
        }
    }
}

/// The shard's presence clock.
pub async fn run(shard: Rc<Shard>) {
    let mut tick = tokio::time::interval(Duration::from_millis(PRESENCE_FLUSH_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        flush(&shard);
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
