//! Messages and what changes them: `SendMessage` (idempotent per device and client message id,
//! durable before it is acked or delivered; a reply quotes its original), `EditMessage`,
//! `DeleteMessages`, `PinMessage`, `UpdateLiveLocation`, and the reads of one message
//! (versions, who reacted, the copy a forward sends) and of the pinned ones. Reactions, which are
//! coalesced, are `reactions.rs`.
//!
//! Every command about an existing message first makes it known (`targets.rs`), then checks it
//! against the rule book and the message itself: who sent it, whether it is deleted, what kind
//! it is. Nothing a client says about another message is used; the quote of a reply, the origin
//! of a forward and every stored header come from the chat's own log.

use super::append::{append, commit, After, ChatState, Commit};
use super::change::Change;
use super::dedup::Seen;
use super::effects::{Cx, Effect, Refusal};
use super::projection;
use super::rules::{self, is_staff, Permission};
use super::targets::{self, Target};
use super::view::{ChatView, Side};
use crate::crossing::{Actor, Audience, Command, Delete, Edit, MessageQuery, MoveLive, Pin, ReadMessage, Send, Signal};
use magpie_storage::{ChatKind, EditRef, LivePosition, MessageLocation, MessageStateRecord, Op};
use magpie_wire::encode::{self, EventHeader};
use magpie_wire::limits::MENTION_ALL_OPEN_UP_TO;
use magpie_wire::message::{Attachment, ForwardRef, Message, ReplyRef};
use magpie_wire::ErrorCode;
use std::sync::Arc;

/// A seq the durable log holds: only those can be read (a message is acked, and so known to
/// anyone, only once durable).
fn in_log(state: &ChatState, seq: u64) -> Result<(), Refusal> {
    if (1..=state.durable.last_seq).contains(&seq) { Ok(()) } else { Err(targets::NOT_FOUND) }
}

/// `mentions` reduced to distinct members, ascending.
fn members_among(view: &ChatView, mentions: &[u64]) -> Vec<u64> {
    let mut out: Vec<u64> = mentions.iter().copied().filter(|u| view.members.contains_key(u)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Writes the state of message `seq` (`record`) with the next commit.
fn state_write(chat_id: u64, seq: u64, record: &MessageStateRecord) -> Op {
    Op::PutMessageState { chat_id, seq, record: record.clone() }
}

/// Appends `change` about message `seq`, whose state becomes `record` (written with `writes`),
/// answered `Ok` once durable.
fn change_message(state: &mut ChatState, actor: &Actor, seq: u64, change: Change, record: MessageStateRecord, mut writes: Vec<Op>, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    writes.push(state_write(state.chat_id(), seq, &record));
    let c = Commit { changes: vec![change], sides: vec![Side::Writes(writes)], after: After::Ok(actor.reply), received: None };
    commit(state, (actor.user_id, actor.device_id), c, cx)?;
    if let Some(t) = state.targets.get_mut(seq) {
        t.state = record;
    }
    Ok(())
}

pub fn send(state: &mut ChatState, c: Send, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let role = rules::check(&state.head, c.actor.user_id, Permission::Post)?;
    if c.mention_all {
        match state.head.kind() {
            ChatKind::Group if state.head.members.len() > MENTION_ALL_OPEN_UP_TO && !is_staff(role) => {
                return Err((ErrorCode::Forbidden, "only admins mention @all in a group this big"));
            }
            ChatKind::Group => {}
            _ => return Err((ErrorCode::InvalidArgument, "@all is for groups")),
        }
    }
    let key = (c.actor.device_id, c.client_msg_id.clone());
    match state.dedup.check(&key, c.actor.reply) {
        Seen::Joined => return Ok(()),
        Seen::Acked(a) => {
            let ack = encode::send_ack(c.actor.reply.request_id, state.chat_id(), &key.1, a.message_id, a.seq, a.time_ms);
            cx.reply(c.actor.reply, ack);
            return Ok(());
        }
        Seen::New => {}
    }
    if c.reply_to_seq == 0 {
        return finish_send(state, c, None, cx);
    }
    // A reply: its original must be known. A parked send runs again from the top, so the
    // dedup window sees every retry in order.
    in_log(state, c.reply_to_seq)?;
    let seq = c.reply_to_seq;
    let Some(Command::Send(c)) = state.targets.ready(state.chat_id(), &[seq], None, Command::Send(c), cx) else { return Ok(()) };
    let t = state.targets.live(&state.head, c.actor.user_id, seq)?;
    let quote = ReplyRef { seq, message_id: t.message.message_id, sender_id: t.header.sender_id, preview: t.message.preview(t.content()), deleted: false };
    let mut record = t.state.clone();
    record.replies.push(state.head.last_seq + 1);
    finish_send(state, c, Some((quote, record)), cx)
}

/// Appends the message; a reply also records itself in its original's state.
fn finish_send(state: &mut ChatState, c: Send, reply: Option<(ReplyRef, MessageStateRecord)>, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let chat_id = state.chat_id();
    let key = (c.actor.device_id, c.client_msg_id);
    let time_ms = cx.now.wall_ms;
    let message_id = cx.ids.next(time_ms);
    let (reply_to, quoted) = reply.unzip();
    let message = Message {
        message_id,
        client_msg_id: key.1.clone(),
        content: c.content,
        reply_to,
        forwarded: c.forwarded.map(|f| *f),
        mentions: members_among(&state.head, &c.mentions),
        mention_all: c.mention_all,
        attachment: c.attachment.map(|a| *a),
        deleted: false,
    };
    let change = Change::Message(Box::new(message));
    let after = After::Ack { key: key.clone(), message_id, time_ms };
    let sender = (c.actor.user_id, c.actor.device_id);
    match quoted {
        None => {
            append(state, sender, change, after, Some(cx.now.at), cx)?;
        }
        Some(record) => {
            let seq = c.reply_to_seq;
            let sides = vec![Side::Writes(vec![state_write(chat_id, seq, &record)])];
            commit(state, sender, Commit { changes: vec![change], sides, after, received: Some(cx.now.at) }, cx)?;
            if let Some(t) = state.targets.get_mut(seq) {
                t.state = record;
            }
        }
    }
    state.dedup.pending(key, c.actor.reply);
    Ok(())
}

pub fn edit(state: &mut ChatState, c: Edit, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let user = c.actor.user_id;
    rules::check(&state.head, user, Permission::Read)?;
    in_log(state, c.seq)?;
    let chat_id = state.chat_id();
    let Some(Command::Edit(c)) = state.targets.ready(chat_id, &[c.seq], None, Command::Edit(c), cx) else { return Ok(()) };
    let t = state.targets.live(&state.head, user, c.seq)?;
    if t.header.sender_id != user {
        return Err((ErrorCode::NotMessageSender, "only its sender edits a message"));
    }
    if t.message.forwarded.is_some() || matches!(t.message.attachment, Some(Attachment::Contact(_))) {
        return Err((ErrorCode::NotEditable, "forwarded copies and contact cards cannot be edited"));
    }
    if c.content.is_empty() && t.message.attachment.is_none() {
        return Err((ErrorCode::InvalidArgument, "content must not be empty"));
    }
    let mentions = members_among(&state.head, &c.mentions);
    if c.content == t.content() && mentions == t.mentions() {
        cx.reply(c.actor.reply, encode::ok(c.actor.reply.request_id));
        return Ok(());
    }
    let edit_seq = state.head.last_seq + 1;
    let header = EventHeader { chat_id, seq: edit_seq, sender_id: user, sender_device_id: c.actor.device_id, time_ms: cx.now.wall_ms };
    let mut record = t.state.clone();
    record.edits.push(EditRef { seq: edit_seq, device_id: c.actor.device_id, time_ms: cx.now.wall_ms });
    record.content = c.content.clone();
    let location = MessageLocation { chat_id, seq: c.seq };
    let writes = projection::edit_mentions(&header, t.message.message_id, location, t.mentions(), &mentions, &state.head);
    record.mentions = mentions.clone();
    let change = Change::Edited { target_seq: c.seq, content: c.content, mentions };
    change_message(state, &c.actor, c.seq, change, record, writes, cx)
}

pub fn delete(state: &mut ChatState, c: Delete, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let user = c.actor.user_id;
    let role = rules::check(&state.head, user, Permission::Read)?;
    for &seq in &c.seqs {
        in_log(state, seq)?;
    }
    let chat_id = state.chat_id();
    let seqs = c.seqs.clone();
    let Some(Command::Delete(c)) = state.targets.ready(chat_id, &seqs, None, Command::Delete(c), cx) else { return Ok(()) };
    for &seq in &c.seqs {
        state.targets.get(&state.head, user, seq)?;
    }
    if !c.for_everyone {
        let writes = c.seqs.iter().map(|&seq| Op::PutHidden { user_id: user, chat_id, seq }).collect();
        let pushed = Signal { audience: Audience::Users(Arc::from([user])), frame: encode::messages_hidden(chat_id, &c.seqs) };
        let after = After::Reply { reply: c.actor.reply, frame: encode::ok(c.actor.reply.request_id), signals: vec![pushed] };
        commit(state, (user, c.actor.device_id), Commit::side(Side::Writes(writes), after), cx)?;
        return Ok(());
    }
    // Deleting for everyone rewrites every reply to these messages too: make them known.
    let mut doomed = Vec::new();
    for &seq in &c.seqs {
        let t = state.targets.get(&state.head, user, seq)?;
        if t.deleted() {
            continue;
        }
        let may = t.header.sender_id == user || (state.head.kind() != ChatKind::Direct && is_staff(role));
        if !may {
            return Err((ErrorCode::NotMessageSender, "only its sender (or, in groups and channels, an admin) deletes a message for everyone"));
        }
        doomed.push(seq);
    }
    if doomed.is_empty() {
        cx.reply(c.actor.reply, encode::ok(c.actor.reply.request_id));
        return Ok(());
    }
    let replies: Vec<u64> = doomed
        .iter()
        .flat_map(|&s| state.targets.get_mut(s).map(|t| t.state.replies.clone()).unwrap_or_default())
        .filter(|r| !doomed.contains(r))
        .collect();
    let Some(Command::Delete(c)) = state.targets.ready(chat_id, &replies, None, Command::Delete(c), cx) else { return Ok(()) };
    let mut writes = Vec::new();
    let mut erased: Vec<(u64, Target)> = Vec::new();
    for &seq in &doomed {
        let t = state.targets.get(&state.head, user, seq)?;
        let (w, gone) = projection::erase(t);
        writes.extend(w);
        erased.push((seq, gone));
    }
    for &r in &replies {
        if let Some(t) = state.targets.get_mut(r) {
            if let Some((w, quoted)) = projection::unquote(t) {
                writes.push(w);
                erased.push((r, quoted));
            }
        }
    }
    writes.extend(projection::scrub(chat_id, &writes));
    let change = Change::Deleted { seqs: doomed };
    let after = After::Ok(c.actor.reply);
    commit(state, (user, c.actor.device_id), Commit { changes: vec![change], sides: vec![Side::Writes(writes)], after, received: None }, cx)?;
    for (seq, t) in erased {
        state.targets.put(seq, t);
    }
    Ok(())
}

pub fn pin(state: &mut ChatState, c: Pin, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let user = c.actor.user_id;
    rules::check(&state.head, user, Permission::Pin)?;
    in_log(state, c.seq)?;
    let chat_id = state.chat_id();
    let Some(Command::Pin(c)) = state.targets.ready(chat_id, &[c.seq], None, Command::Pin(c), cx) else { return Ok(()) };
    let t = state.targets.live(&state.head, user, c.seq)?;
    if c.pinned == state.head.pins.contains_key(&c.seq) {
        cx.reply(c.actor.reply, encode::ok(c.actor.reply.request_id));
        return Ok(());
    }
    if c.pinned && state.head.pins.len() >= magpie_wire::limits::MAX_PINNED_MESSAGES {
        return Err((ErrorCode::LimitReached, "a chat has at most 50 pinned messages"));
    }
    let mut record = t.state.clone();
    record.pinned_ms = if c.pinned { cx.now.wall_ms } else { 0 };
    let change = Change::Pinned { target_seq: c.seq, pinned: c.pinned };
    change_message(state, &c.actor, c.seq, change, record, Vec::new(), cx)
}

pub fn move_live(state: &mut ChatState, c: MoveLive, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let user = c.actor.user_id;
    rules::check(&state.head, user, Permission::Read)?;
    in_log(state, c.seq)?;
    let chat_id = state.chat_id();
    let Some(Command::MoveLive(c)) = state.targets.ready(chat_id, &[c.seq], None, Command::MoveLive(c), cx) else { return Ok(()) };
    let t = state.targets.live(&state.head, user, c.seq)?;
    if t.header.sender_id != user {
        return Err((ErrorCode::NotMessageSender, "only its sender moves a live location"));
    }
    let Some(Attachment::Location(place)) = &t.message.attachment else {
        return Err((ErrorCode::InvalidArgument, "the message is not a live location"));
    };
    if place.live_until_ms == 0 {
        return Err((ErrorCode::InvalidArgument, "the message is not a live location"));
    }
    if cx.now.wall_ms >= place.live_until_ms || t.state.live.is_some_and(|l| l.stopped_ms != 0) {
        return Err((ErrorCode::LiveLocationEnded, "the live location has ended"));
    }
    let (latitude, longitude, accuracy_m) = c.position;
    let mut record = t.state.clone();
    let stopped_ms = if c.stop { cx.now.wall_ms } else { 0 };
    record.live = Some(LivePosition { latitude, longitude, accuracy_m, stopped_ms });
    let change = Change::LiveMoved { target_seq: c.seq, position: c.position, stopped: c.stop };
    change_message(state, &c.actor, c.seq, change, record, Vec::new(), cx)
}

/// Reads of one message, answered from what is durable.
pub fn read(state: &mut ChatState, c: ReadMessage, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let user = c.actor.user_id;
    rules::check(&state.durable, user, Permission::Read)?;
    in_log(state, c.seq)?;
    let chat_id = state.chat_id();
    let Some(Command::ReadMessage(c)) = state.targets.ready(chat_id, &[c.seq], None, Command::ReadMessage(c), cx) else { return Ok(()) };
    let t = state.targets.live(&state.durable, user, c.seq)?;
    let reply = c.actor.reply;
    match c.query {
        MessageQuery::Versions => {
            let seqs = std::iter::once(c.seq).chain(t.state.edits.iter().map(|e| e.seq)).collect();
            cx.effects.push(Effect::ReadVersions { reply, chat_id, seq: c.seq, seqs });
        }
        MessageQuery::Reactions { emoji, after_user_id, limit } => {
            cx.effects.push(Effect::ReadReactions { reply, chat_id, seq: c.seq, emoji, after_user_id, limit });
        }
        MessageQuery::ForwardCopy => {
            let view = &state.durable;
            if view.kind() != ChatKind::Direct && !view.settings.forwarding {
                return Err((ErrorCode::ForwardingDisabled, "this chat does not allow forwarding its messages"));
            }
            let channel = view.kind() == ChatKind::Channel;
            let origin = t.message.forwarded.clone().unwrap_or_else(|| ForwardRef {
                original_sender_id: t.header.sender_id,
                original_time_ms: t.header.time_ms,
                from_chat_id: if channel { chat_id } else { 0 },
                from_title: if channel { view.meta.title.clone() } else { String::new() },
            });
            let copy = Message { content: t.content().to_string(), forwarded: Some(origin), attachment: projection::fixed(t), ..Message::default() };
            let event = encode::message_event_of(&t.header, &copy);
            cx.reply(reply, encode::history_page(reply.request_id, chat_id, &[event], false));
        }
    }
    Ok(())
}

/// `ListPins`: the pinned messages, most recently pinned first.
pub fn list_pins(state: &mut ChatState, c: crate::crossing::ChatQuery, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    rules::check(&state.durable, c.actor.user_id, Permission::Read)?;
    let mut pins: Vec<(u64, u64)> = state.durable.pins.iter().map(|(&seq, &at)| (seq, at)).collect();
    pins.sort_by_key(|p| std::cmp::Reverse(p.1));
    let seqs = pins.into_iter().map(|p| p.0).collect();
    cx.effects.push(Effect::ReadPins { reply: c.actor.reply, chat_id: c.chat_id, seqs, viewer: c.actor.user_id });
    Ok(())
}
