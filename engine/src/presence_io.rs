//! Presence run on a shard (PROTOCOL.md §6.15): the messages between a user's home shard and
//! the shards watching them, the 250 ms flush clock, and the entry points the requests, the
//! connection's life and the worker call. The state it runs is `presence.rs`.

use crate::conn::shared::ConnShared;
use crate::crossing::{ConnId, MemberMap, PresenceMsg, PresenceState, ReplyTo, ShardMsg};
use crate::ids::now_ms;
use crate::presence::{home_of, Counting, Presence, Watched};
use crate::rate::Verdict;
use crate::shard::Shard;
use bytes::Bytes;
use magpie_storage::UserSettings;
use magpie_wire::presence::{ChatOnline, UserPresence, PRESENCE_FLUSH_MS};
use magpie_wire::{encode, fb};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Activity reports a connection passes on to the home: at most one per this long.
const ACTIVE_REPORT_EVERY: Duration = Duration::from_secs(10);
/// How long a shard reuses a chat's online count.
const COUNT_FRESH_MS: i64 = 10_000;

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
    // The user's last live connection here (this one may still be registered): forget the
    // cached settings, which any of the user's connections may have loaded.
    if let Some(user) = conn.user_id() {
        let others = shard.by_user.borrow().get(&user).is_some_and(|list| list.iter().any(|c| c.id != conn.id));
        if !others {
            shard.presence.borrow_mut().settings.remove(&user);
        }
    }
    let Some(w) = shard.presence.borrow_mut().conns.remove(&conn.id) else { return };
    set_users(shard, conn.id, &w.users, &[]);
    set_chats(shard, conn.id, &w.chats, &[]);
    shard.presence.borrow_mut().dirty.remove(&conn.id);
    if w.up {
        to_home(shard, w.user_id, PresenceMsg::Down { user_id: w.user_id });
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

