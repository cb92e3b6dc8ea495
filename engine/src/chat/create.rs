//! Creating chats: groups and channels (the requester allocated an id this shard owns; the
//! creator is the owner) and direct chats (one per pair of users, created on the pair's owner
//! shard, which serialises concurrent requests).

use super::append::{append, After, ChatState};
use super::change::Change;
use super::chats::{Chats, DirectWait, Slot};
use super::effects::{Cx, Effect};
use super::view::ChatView;
use crate::crossing::{Actor, CreateDirect, CreateGroup};
use magpie_storage::{ChatKind, ChatMeta, ChatProfile, Role};
use magpie_wire::chat::Info;
use magpie_wire::{fb, ErrorCode};

/// A pair's direct chat: the existing one, or a fresh id this shard owns for a new one.
pub enum DirectLookup {
    Existing(ChatView),
    New(u64),
}

pub fn pair_key(a: u64, b: u64) -> (u64, u64) {
    if a < b { (a, b) } else { (b, a) }
}

pub fn group(chats: &mut Chats, c: CreateGroup, cx: &mut Cx<'_>) {
    let mut members: Vec<(u64, Role)> = vec![(c.actor.user_id, Role::Owner)];
    for u in c.members {
        if !members.iter().any(|m| m.0 == u) {
            members.push((u, Role::Member));
        }
    }
    let mut info = c.info;
    if c.kind == ChatKind::Channel {
        info.settings.post = fb::Who::Admins;
    }
    let meta = ChatMeta {
        chat_id: c.chat_id,
        kind: c.kind,
        title: String::new(),
        created_ms: cx.now.wall_ms,
        created_by: c.actor.user_id,
        profile: ChatProfile::default(),
    };
    start(chats, c.actor, meta, info, members, None, cx);
}

pub fn direct(chats: &mut Chats, c: CreateDirect, cx: &mut Cx<'_>) {
    let pair = pair_key(c.actor.user_id, c.peer);
    if let Some(wait) = chats.directs.get_mut(&pair) {
        wait.replies.push(c.actor.reply);
        return;
    }
    chats.directs.insert(pair, DirectWait { creator: c.actor, replies: vec![c.actor.reply] });
    cx.effects.push(Effect::FindDirect { pair });
}

pub fn direct_found(chats: &mut Chats, pair: (u64, u64), result: Result<DirectLookup, String>, cx: &mut Cx<'_>) {
    match result {
        Ok(DirectLookup::Existing(found)) => {
            let Some(wait) = chats.take_direct(pair) else { return };
            // A loaded chat's durable state is at least as new as what the lookup read.
            let view = match chats.slots.get(&found.meta.chat_id) {
                Some(Slot::Ready(state)) => &state.durable,
                _ => &found,
            };
            wait.replies.iter().for_each(|&r| cx.reply(r, view.info_frame(r.request_id, 0)));
        }
        Ok(DirectLookup::New(chat_id)) => {
            let Some(creator) = chats.directs.get(&pair).map(|w| w.creator) else { return };
            let meta = ChatMeta {
                chat_id,
                kind: ChatKind::Direct,
                title: String::new(),
                created_ms: cx.now.wall_ms,
                created_by: creator.user_id,
                profile: ChatProfile::default(),
            };
            let members = vec![(pair.0, Role::Member), (pair.1, Role::Member)];
            start(chats, creator, meta, Info::default(), members, Some(pair), cx);
        }
        Err(e) => {
            tracing::error!(?pair, error = %e, "direct chat lookup failed");
            let replies = chats.take_direct(pair).map(|w| w.replies).unwrap_or_default();
            replies.into_iter().for_each(|r| cx.refuse(r, (ErrorCode::Internal, "storage error")));
        }
    }
}

/// Appends a new chat's first event (seq 1) with everything that defines it.
fn start(chats: &mut Chats, creator: Actor, meta: ChatMeta, info: Info, members: Vec<(u64, Role)>, pair: Option<(u64, u64)>, cx: &mut Cx<'_>) {
    let kind = meta.kind;
    let mut state = ChatState::new(ChatView::new_chat(meta));
    let change = Change::Created { kind, info, members };
    let after = After::Created { reply: creator.reply, pair };
    match append(&mut state, (creator.user_id, creator.device_id), change, after, None, cx) {
        Ok(_) => chats.insert_new(state, cx),
        Err(refusal) => {
            let replies = match pair {
                Some(pair) => chats.take_direct(pair).map(|w| w.replies).unwrap_or_default(),
                None => vec![creator.reply],
            };
            replies.into_iter().for_each(|r| cx.refuse(r, refusal));
        }
    }
}
