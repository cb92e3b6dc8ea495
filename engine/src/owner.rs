//! Chat ownership: the one place a chat's log grows.
//!
//! Every command that changes a chat runs on the chat's owner shard, which checks membership
//! and roles against its in-memory copy of the chat, deduplicates retried sends, assigns the next
//! sequence number and hands the write to the commit thread. Only when the commit thread reports
//! the batch durable does the owner ack and fan the event out — so no one ever sees or is told
//! about an event that a crash could erase.

use crate::ids::{chat_owner, now_ms, pair_owner};
use crate::metrics;
use crate::shard::{Delivery, ReplyTo, Shard, ShardMsg};
use bytes::Bytes;
use magpie_storage::{ChatKind, ChatMeta, DedupRecord, Op, Role};
use magpie_wire::{encode, fb, ErrorCode};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Retried sends remembered in memory per chat; older ones are found in the dedup column family
/// by the sender's shard before the send is forwarded here.
const DEDUP_IN_MEMORY: usize = 4096;

pub enum OwnerCmd {
    /// `received` is set when the owner shard takes the command from its mailbox (metrics).
    Send {
        chat_id: u64,
        user_id: u64,
        device_id: u64,
        client_msg_id: String,
        content: String,
        reply: ReplyTo,
        received: Option<Instant>,
    },
    /// `chat_id` was allocated by the requester so that this shard owns it.
    CreateGroup { chat_id: u64, user_id: u64, device_id: u64, title: String, members: Vec<u64>, reply: ReplyTo },
    /// Sent to the pair's owner shard, which serialises creation so a pair gets one chat.
    CreateDirect { user_id: u64, device_id: u64, peer: u64, reply: ReplyTo },
    AddMembers { chat_id: u64, user_id: u64, device_id: u64, user_ids: Vec<u64>, reply: ReplyTo },
    /// `target == user_id` is leaving.
    RemoveMember { chat_id: u64, user_id: u64, device_id: u64, target: u64, reply: ReplyTo },
}

impl OwnerCmd {
    fn reply_to(&self) -> ReplyTo {
        match self {
            OwnerCmd::Send { reply, .. }
            | OwnerCmd::CreateGroup { reply, .. }
            | OwnerCmd::CreateDirect { reply, .. }
            | OwnerCmd::AddMembers { reply, .. }
            | OwnerCmd::RemoveMember { reply, .. } => *reply,
        }
    }
}

#[derive(Default)]
pub struct Owner {
    chats: HashMap<u64, Slot>,
    /// Direct chats being looked up or created, with the requests waiting for them.
    directs: HashMap<(u64, u64), Vec<ReplyTo>>,
    /// Loads started so far: numbers them, so that a load only finishes its own `Loading` slot.
    loads: u64,
}

enum Slot {
    /// Being read from disk by load number `.0`, with the commands waiting for it.
    Loading(u64, Vec<OwnerCmd>),
    Ready(Box<ChatState>),
}

struct ChatState {
    meta: ChatMeta,
    members: HashMap<u64, Role>,
    recipients: Arc<[u64]>,
    /// Highest sequence number assigned (committed or in flight).
    last_seq: u64,
    dedup: HashMap<(u64, String), DedupState>,
    dedup_order: VecDeque<(u64, String)>,
    /// Submitted to the commit thread, oldest first; the thread completes them in this order.
    inflight: VecDeque<Pending>,
    /// A commit failed: finish what is in flight, then drop this state and reload from disk.
    poisoned: bool,
}

enum DedupState {
    Waiting(Vec<ReplyTo>),
    Done { message_id: u64, seq: u64, time_ms: i64 },
}

struct Pending {
    seq: u64,
    event: Bytes,
    recipients: Arc<[u64]>,
    after: AfterCommit,
    /// Messages: when this shard received the Send.
    received: Option<Instant>,
}

enum AfterCommit {
    Ack { key: (u64, String), message_id: u64, time_ms: i64 },
    Reply(ReplyTo, Bytes),
    /// A new chat: answer with its info (direct chats: everyone waiting for the pair).
    Created { reply: ReplyTo, pair: Option<(u64, u64)> },
}

fn pair_key(a: u64, b: u64) -> (u64, u64) {
    if a < b { (a, b) } else { (b, a) }
}

fn wire_kind(k: ChatKind) -> fb::ChatKind {
    match k {
        ChatKind::Direct => fb::ChatKind::Direct,
        ChatKind::Group => fb::ChatKind::Group,
    }
}

fn wire_role(r: Role) -> fb::Role {
    match r {
        Role::Member => fb::Role::Member,
        Role::Admin => fb::Role::Admin,
    }
}

fn error(reply: ReplyTo, code: ErrorCode, msg: &str) -> Bytes {
    let retry = if code.retryable() { 100 } else { 0 };
    encode::error(reply.request_id, code, msg, retry)
}

/// The `ChatInfo` frame for a chat (members sorted by id).
pub fn chat_info_frame(request_id: u64, meta: &ChatMeta, members: &[(u64, Role)], last_seq: u64) -> Bytes {
    let mut list: Vec<(u64, fb::Role)> = members.iter().map(|&(u, r)| (u, wire_role(r))).collect();
    list.sort_unstable_by_key(|m| m.0);
    encode::chat_info(
        request_id,
        &encode::ChatInfoArgs {
            chat_id: meta.chat_id,
            kind: wire_kind(meta.kind),
            title: &meta.title,
            members: &list,
            last_seq,
            created_ms: meta.created_ms,
        },
    )
}

impl ChatState {
    fn new(meta: ChatMeta, members: Vec<(u64, Role)>, last_seq: u64) -> ChatState {
        let mut s = ChatState {
            meta,
            members: members.into_iter().collect(),
            recipients: Arc::from(Vec::new()),
            last_seq,
            dedup: HashMap::new(),
            dedup_order: VecDeque::new(),
            inflight: VecDeque::new(),
            poisoned: false,
        };
        s.refresh_recipients();
        s
    }

    fn refresh_recipients(&mut self) {
        let mut v: Vec<u64> = self.members.keys().copied().collect();
        v.sort_unstable();
        self.recipients = Arc::from(v);
    }

    fn member_list(&self) -> Vec<(u64, Role)> {
        self.members.iter().map(|(&u, &r)| (u, r)).collect()
    }

    fn header(&self, seq: u64, user_id: u64, device_id: u64, time_ms: i64) -> encode::EventHeader {
        encode::EventHeader { chat_id: self.meta.chat_id, seq, sender_id: user_id, sender_device_id: device_id, time_ms }
    }

    fn remember_done(&mut self, key: (u64, String), message_id: u64, seq: u64, time_ms: i64) -> Vec<ReplyTo> {
        let waiting = match self.dedup.insert(key.clone(), DedupState::Done { message_id, seq, time_ms }) {
            Some(DedupState::Waiting(w)) => w,
            _ => Vec::new(),
        };
        self.dedup_order.push_back(key);
        while self.dedup_order.len() > DEDUP_IN_MEMORY {
            if let Some(old) = self.dedup_order.pop_front() {
                self.dedup.remove(&old);
            }
        }
        waiting
    }
}

/// Entry point for commands arriving at this shard.
pub fn handle(shard: &Rc<Shard>, mut cmd: OwnerCmd) {
    if let OwnerCmd::Send { received, .. } = &mut cmd {
        *received = Some(Instant::now());
    }
    match cmd {
        OwnerCmd::CreateGroup { chat_id, user_id, device_id, title, members, reply } => {
            create_group(shard, chat_id, user_id, device_id, title, members, reply)
        }
        OwnerCmd::CreateDirect { user_id, device_id, peer, reply } => create_direct(shard, user_id, device_id, peer, reply),
        OwnerCmd::Send { chat_id, .. } | OwnerCmd::AddMembers { chat_id, .. } | OwnerCmd::RemoveMember { chat_id, .. } => {
            let mut owner = shard.owner.borrow_mut();
            match owner.chats.get_mut(&chat_id) {
                Some(Slot::Loading(_, queue)) => queue.push(cmd),
                Some(Slot::Ready(_)) => {
                    drop(owner);
                    apply(shard, chat_id, cmd);
                }
                None => {
                    owner.loads += 1;
                    let number = owner.loads;
                    owner.chats.insert(chat_id, Slot::Loading(number, vec![cmd]));
                    drop(owner);
                    load(shard, chat_id, number);
                }
            }
        }
    }
}

/// Reads a chat's state from disk (off the shard thread), then runs the commands that waited.
/// `number` is the load's, in its `Loading` slot.
fn load(shard: &Rc<Shard>, chat_id: u64, number: u64) {
    let shard = shard.clone();
    tokio::task::spawn_local(async move {
        let store = shard.shared.store.clone();
        let loaded = tokio::task::spawn_blocking(move || -> Result<_, String> {
            let Some(meta) = store.chat(chat_id).map_err(|e| e.to_string())? else { return Ok(None) };
            let members = store.members(chat_id).map_err(|e| e.to_string())?;
            let last_seq = store.last_seq(chat_id).map_err(|e| e.to_string())?;
            Ok(Some((meta, members, last_seq)))
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        // The chat may have been created while this load ran (`start_chat` took the slot over and
        // answered the commands that waited): then what was read is stale and the slot not ours.
        let waiting = {
            let mut owner = shard.owner.borrow_mut();
            if !matches!(owner.chats.get(&chat_id), Some(Slot::Loading(n, _)) if *n == number) {
                return;
            }
            match owner.chats.remove(&chat_id) {
                Some(Slot::Loading(_, w)) => w,
                _ => unreachable!("checked above"),
            }
        };
        match loaded {
            Ok(Some((meta, members, last_seq))) => {
                shard.owner.borrow_mut().chats.insert(chat_id, Slot::Ready(Box::new(ChatState::new(meta, members, last_seq))));
                for cmd in waiting {
                    apply(&shard, chat_id, cmd);
                }
            }
            Ok(None) => {
                for cmd in waiting {
                    let r = cmd.reply_to();
                    shard.reply(r, error(r, ErrorCode::ChatNotFound, "no such chat"));
                }
            }
            Err(e) => {
                tracing::error!(chat_id, error = %e, "loading chat failed");
                for cmd in waiting {
                    let r = cmd.reply_to();
                    shard.reply(r, error(r, ErrorCode::Internal, "storage error"));
                }
            }
        }
    });
}

fn apply(shard: &Rc<Shard>, chat_id: u64, cmd: OwnerCmd) {
    let mut owner = shard.owner.borrow_mut();
    let Some(Slot::Ready(state)) = owner.chats.get_mut(&chat_id) else { unreachable!("apply on a ready chat") };
    let reply = cmd.reply_to();
    if state.poisoned {
        drop(owner);
        shard.reply(reply, error(reply, ErrorCode::Unavailable, "chat is recovering from a storage error"));
        return;
    }
    let result = match cmd {
        OwnerCmd::Send { user_id, device_id, client_msg_id, content, reply, received, .. } => {
            send(shard, state, user_id, device_id, client_msg_id, content, reply, received)
        }
        OwnerCmd::AddMembers { user_id, device_id, user_ids, reply, .. } => {
            add_members(shard, state, user_id, device_id, user_ids, reply)
        }
        OwnerCmd::RemoveMember { user_id, device_id, target, reply, .. } => {
            remove_member(shard, state, user_id, device_id, target, reply)
        }
        OwnerCmd::CreateGroup { .. } | OwnerCmd::CreateDirect { .. } => unreachable!("handled in handle()"),
    };
    drop(owner);
    if let Err((code, msg)) = result {
        shard.reply(reply, error(reply, code, msg));
    }
}

type Refusal = (ErrorCode, &'static str);

#[allow(clippy::too_many_arguments)]
fn send(
    shard: &Rc<Shard>,
    state: &mut ChatState,
    user_id: u64,
    device_id: u64,
    client_msg_id: String,
    content: String,
    reply: ReplyTo,
    received: Option<Instant>,
) -> Result<(), Refusal> {
    if !state.members.contains_key(&user_id) {
        return Err((ErrorCode::ChatNotFound, "no such chat"));
    }
    let key = (device_id, client_msg_id);
    match state.dedup.get_mut(&key) {
        Some(DedupState::Waiting(w)) => {
            w.push(reply);
            return Ok(());
        }
        Some(DedupState::Done { message_id, seq, time_ms }) => {
            let ack = encode::send_ack(reply.request_id, state.meta.chat_id, &key.1, *message_id, *seq, *time_ms);
            shard.reply(reply, ack);
            return Ok(());
        }
        None => {}
    }
    let seq = state.last_seq + 1;
    let time_ms = now_ms();
    let message_id = shard.message_ids.next(time_ms);
    let event = encode::message_event(&state.header(seq, user_id, device_id, time_ms), message_id, &key.1, &content);
    let ops = vec![
        Op::Append { chat_id: state.meta.chat_id, seq, event: event.clone() },
        Op::PutDedup {
            device_id,
            client_msg_id: key.1.clone(),
            record: DedupRecord { chat_id: state.meta.chat_id, seq, message_id, time_ms },
        },
    ];
    let recipients = state.recipients.clone();
    let after = AfterCommit::Ack { key: key.clone(), message_id, time_ms };
    submit(shard, state, ops, Pending { seq, event, recipients, after, received })?;
    state.dedup.insert(key, DedupState::Waiting(vec![reply]));
    Ok(())
}

fn add_members(
    shard: &Rc<Shard>,
    state: &mut ChatState,
    user_id: u64,
    device_id: u64,
    user_ids: Vec<u64>,
    reply: ReplyTo,
) -> Result<(), Refusal> {
    let Some(&role) = state.members.get(&user_id) else { return Err((ErrorCode::ChatNotFound, "no such chat")) };
    if state.meta.kind != ChatKind::Group {
        return Err((ErrorCode::NotAGroup, "direct chats have exactly two members"));
    }
    if role != Role::Admin {
        return Err((ErrorCode::Forbidden, "only admins add members"));
    }
    let mut new: Vec<u64> = user_ids.into_iter().filter(|u| !state.members.contains_key(u)).collect();
    new.sort_unstable();
    new.dedup();
    if new.is_empty() {
        shard.reply(reply, encode::ok(reply.request_id));
        return Ok(());
    }
    let seq = state.last_seq + 1;
    let chat_id = state.meta.chat_id;
    let event = encode::members_added_event(&state.header(seq, user_id, device_id, now_ms()), &new);
    let mut ops: Vec<Op> = new.iter().map(|&u| Op::PutMember { chat_id, user_id: u, role: Role::Member }).collect();
    ops.push(Op::Append { chat_id, seq, event: event.clone() });
    // The new members receive the event that adds them.
    let mut recipients: Vec<u64> = state.recipients.iter().copied().chain(new.iter().copied()).collect();
    recipients.sort_unstable();
    let ok = encode::ok(reply.request_id);
    submit(shard, state, ops, Pending { seq, event, recipients: Arc::from(recipients), after: AfterCommit::Reply(reply, ok), received: None })?;
    for &u in &new {
        state.members.insert(u, Role::Member);
    }
    state.refresh_recipients();
    Ok(())
}

fn remove_member(
    shard: &Rc<Shard>,
    state: &mut ChatState,
    user_id: u64,
    device_id: u64,
    target: u64,
    reply: ReplyTo,
) -> Result<(), Refusal> {
    let Some(&role) = state.members.get(&user_id) else { return Err((ErrorCode::ChatNotFound, "no such chat")) };
    if state.meta.kind != ChatKind::Group {
        return Err((ErrorCode::NotAGroup, "direct chats have exactly two members"));
    }
    let leaving = target == user_id;
    if !leaving && role != Role::Admin {
        return Err((ErrorCode::Forbidden, "only admins remove members"));
    }
    if !state.members.contains_key(&target) {
        return Err((ErrorCode::UserNotFound, "that user is not a member"));
    }
    let seq = state.last_seq + 1;
    let chat_id = state.meta.chat_id;
    let event = encode::member_removed_event(&state.header(seq, user_id, device_id, now_ms()), target, leaving);
    // The removed member is told too: the recipients are the members before the removal.
    let recipients = state.recipients.clone();
    let ops = vec![Op::RemoveMember { chat_id, user_id: target }, Op::Append { chat_id, seq, event: event.clone() }];
    let ok = encode::ok(reply.request_id);
    submit(shard, state, ops, Pending { seq, event, recipients, after: AfterCommit::Reply(reply, ok), received: None })?;
    state.members.remove(&target);
    state.refresh_recipients();
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn create_group(
    shard: &Rc<Shard>,
    chat_id: u64,
    user_id: u64,
    device_id: u64,
    title: String,
    others: Vec<u64>,
    reply: ReplyTo,
) {
    let mut members: Vec<(u64, Role)> = vec![(user_id, Role::Admin)];
    for u in others {
        if !members.iter().any(|m| m.0 == u) {
            members.push((u, Role::Member));
        }
    }
    let meta = ChatMeta { chat_id, kind: ChatKind::Group, title, created_ms: now_ms(), created_by: user_id };
    start_chat(shard, meta, members, device_id, vec![], AfterCommit::Created { reply, pair: None });
}

/// Appends a new chat's first event (seq 1) with everything that defines it.
fn start_chat(
    shard: &Rc<Shard>,
    meta: ChatMeta,
    members: Vec<(u64, Role)>,
    device_id: u64,
    mut ops: Vec<Op>,
    after: AfterCommit,
) {
    let chat_id = meta.chat_id;
    let (first_reply, after_pair) = match &after {
        AfterCommit::Created { reply, pair } => (*reply, *pair),
        _ => unreachable!("start_chat is only used for new chats"),
    };
    let mut state = ChatState::new(meta.clone(), members.clone(), 0);
    let wire_members: Vec<(u64, fb::Role)> = members.iter().map(|&(u, r)| (u, wire_role(r))).collect();
    let header = state.header(1, meta.created_by, device_id, meta.created_ms);
    let event = encode::chat_created_event(&header, wire_kind(meta.kind), &meta.title, &wire_members);
    ops.push(Op::PutChat(meta));
    ops.extend(members.iter().map(|&(user_id, role)| Op::PutMember { chat_id, user_id, role }));
    ops.push(Op::Append { chat_id, seq: 1, event: event.clone() });
    let recipients = state.recipients.clone();
    match submit(shard, &mut state, ops, Pending { seq: 1, event, recipients, after, received: None }) {
        Ok(()) => {
            // Ids are handed out before their chats exist, so a command naming this id can get
            // here first; it then waits in a `Loading` slot for a load that finds nothing. Replacing
            // that slot unanswered lost those commands, and the load later removed this new state,
            // losing the creation's commit result and so its reply. The commands came before the
            // chat existed: they get `chat_not_found`, and the load leaves the slot alone.
            let early = match shard.owner.borrow_mut().chats.insert(chat_id, Slot::Ready(Box::new(state))) {
                Some(Slot::Loading(_, waiting)) => waiting,
                _ => Vec::new(),
            };
            for cmd in early {
                let r = cmd.reply_to();
                shard.reply(r, error(r, ErrorCode::ChatNotFound, "no such chat"));
            }
        }
        Err((code, msg)) => {
            let reply = |r: ReplyTo| (r, error(r, code, msg));
            let waiting = match after_pair {
                Some(key) => shard.owner.borrow_mut().directs.remove(&key).unwrap_or_default(),
                None => vec![first_reply],
            };
            for (r, frame) in waiting.into_iter().map(reply) {
                shard.reply(r, frame);
            }
        }
    }
}

fn create_direct(shard: &Rc<Shard>, user_id: u64, device_id: u64, peer: u64, reply: ReplyTo) {
    let key = pair_key(user_id, peer);
    {
        let mut owner = shard.owner.borrow_mut();
        if let Some(waiting) = owner.directs.get_mut(&key) {
            waiting.push(reply);
            return;
        }
        owner.directs.insert(key, vec![reply]);
    }
    let shard = shard.clone();
    tokio::task::spawn_local(async move {
        let store = shard.shared.store.clone();
        let shards = shard.shared.mailboxes.len();
        let me = shard.id;
        // Either the existing chat's info, or a fresh id that this shard owns.
        let found = tokio::task::spawn_blocking(move || -> Result<Result<Bytes, u64>, String> {
            let e = |e: magpie_storage::StoreError| e.to_string();
            if let Some(chat_id) = store.direct_chat(key.0, key.1).map_err(e)? {
                let meta = store.chat(chat_id).map_err(e)?.ok_or("direct index points at a missing chat")?;
                let members = store.members(chat_id).map_err(e)?;
                let last_seq = store.last_seq(chat_id).map_err(e)?;
                return Ok(Ok(chat_info_frame(0, &meta, &members, last_seq)));
            }
            debug_assert_eq!(pair_owner(key.0, key.1, shards), me);
            loop {
                let ids = store.allocate_ids(4 * shards as u64).map_err(e)?;
                if let Some(id) = ids.into_iter().find(|&id| chat_owner(id, shards) == me) {
                    return Ok(Err(id));
                }
            }
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        match found {
            Ok(Ok(info)) => finish_direct(&shard, key, Some(info)),
            Ok(Err(chat_id)) => {
                let meta =
                    ChatMeta { chat_id, kind: ChatKind::Direct, title: String::new(), created_ms: now_ms(), created_by: user_id };
                let members = vec![(key.0, Role::Member), (key.1, Role::Member)];
                let ops = vec![Op::PutDirect { a: key.0, b: key.1, chat_id }];
                start_chat(&shard, meta, members, device_id, ops, AfterCommit::Created { reply, pair: Some(key) });
            }
            Err(e) => {
                tracing::error!(error = %e, "direct chat lookup failed");
                finish_direct(&shard, key, None);
            }
        }
    });
}

/// Answers everyone waiting for a pair's direct chat with its info (request ids patched in).
fn finish_direct(shard: &Rc<Shard>, key: (u64, u64), info: Option<Bytes>) {
    let waiting = shard.owner.borrow_mut().directs.remove(&key).unwrap_or_default();
    for r in waiting {
        let frame = match &info {
            Some(info) => with_request_id(info, r.request_id),
            None => error(r, ErrorCode::Internal, "storage error"),
        };
        shard.reply(r, frame);
    }
}

/// Re-encodes a ChatInfo frame for another request id.
fn with_request_id(frame: &Bytes, request_id: u64) -> Bytes {
    let f = magpie_wire::verify::server_frame(frame).expect("we encoded it");
    let c = f.body_as_chat_info().expect("a ChatInfo frame");
    let members: Vec<(u64, fb::Role)> =
        c.members().map(|m| m.iter().map(|m| (m.user_id(), m.role())).collect()).unwrap_or_default();
    encode::chat_info(
        request_id,
        &encode::ChatInfoArgs {
            chat_id: c.chat_id(),
            kind: c.kind(),
            title: c.title().unwrap_or(""),
            members: &members,
            last_seq: c.last_seq(),
            created_ms: c.created_ms(),
        },
    )
}

/// Hands a change to the commit thread. Nothing blocks: when the commit queue is full the change
/// is refused (`unavailable`, retry later) and the chat's state is left as it was, so callers
/// change their in-memory state only after this succeeds.
fn submit(shard: &Rc<Shard>, state: &mut ChatState, ops: Vec<Op>, pending: Pending) -> Result<(), Refusal> {
    let chat_id = state.meta.chat_id;
    let shared = shard.shared.clone();
    let me = shard.id;
    let submitted = Instant::now();
    let done = Box::new(move |result: magpie_storage::Result<()>| {
        let elapsed = submitted.elapsed();
        let result = result.map_err(|e| e.to_string());
        shared.mailboxes[me].push_blocking(ShardMsg::Committed { chat_id, result, elapsed });
    });
    match shard.shared.committer.try_submit(ops, done) {
        Ok(()) => {
            metrics::inc(&shard.metrics().commits_inflight);
            state.last_seq = pending.seq;
            state.inflight.push_back(pending);
            Ok(())
        }
        Err(magpie_storage::StoreError::Busy) => Err((ErrorCode::Unavailable, "the server is busy writing; retry shortly")),
        Err(e) => {
            tracing::error!(chat_id, error = %e, "cannot submit a commit");
            Err((ErrorCode::Unavailable, "storage is closed"))
        }
    }
}

/// The commit thread made the oldest in-flight batch of `chat_id` durable (or failed it).
/// `elapsed` is the time from the hand-over to the commit callback.
pub fn committed(shard: &Rc<Shard>, chat_id: u64, result: Result<(), String>, elapsed: Duration) {
    let m = shard.metrics();
    metrics::dec(&m.commits_inflight);
    let mut owner = shard.owner.borrow_mut();
    let Some(Slot::Ready(state)) = owner.chats.get_mut(&chat_id) else {
        tracing::error!(chat_id, "commit result for a chat that is not loaded");
        return;
    };
    let Some(p) = state.inflight.pop_front() else {
        tracing::error!(chat_id, "commit result with nothing in flight");
        return;
    };
    let mut replies: Vec<(ReplyTo, Bytes)> = Vec::new();
    let mut delivery = None;
    match result {
        Ok(()) => {
            metrics::inc(&m.events_committed);
            match p.after {
                AfterCommit::Ack { key, message_id, time_ms } => {
                    m.send_durable.observe(elapsed);
                    for r in state.remember_done(key.clone(), message_id, p.seq, time_ms) {
                        replies.push((r, encode::send_ack(r.request_id, chat_id, &key.1, message_id, p.seq, time_ms)));
                    }
                }
                AfterCommit::Reply(r, frame) => replies.push((r, frame)),
                AfterCommit::Created { reply, pair } => {
                    let info = chat_info_frame(reply.request_id, &state.meta, &state.member_list(), p.seq);
                    match pair {
                        Some(key) => {
                            for r in owner_directs_take(&mut owner, key) {
                                replies.push((r, with_request_id(&info, r.request_id)));
                            }
                        }
                        None => replies.push((reply, info)),
                    }
                }
            }
            delivery = Some(Delivery {
                chat_id,
                seq: p.seq,
                recipients: p.recipients,
                frame: encode::deliver(&p.event),
                received: p.received,
            });
        }
        Err(e) => {
            tracing::error!(chat_id, seq = p.seq, error = %e, "commit failed; the chat will be reloaded");
            state.poisoned = true;
            let fail = |r: ReplyTo| (r, error(r, ErrorCode::Internal, "storage error"));
            match p.after {
                AfterCommit::Ack { key, .. } => {
                    if let Some(DedupState::Waiting(w)) = state.dedup.remove(&key) {
                        replies.extend(w.into_iter().map(fail));
                    }
                }
                AfterCommit::Reply(r, _) => replies.push(fail(r)),
                AfterCommit::Created { reply, pair } => match pair {
                    Some(key) => replies.extend(owner_directs_take(&mut owner, key).into_iter().map(fail)),
                    None => replies.push(fail(reply)),
                },
            }
        }
    }
    // Re-borrow: owner_directs_take needed the whole owner above.
    if let Some(Slot::Ready(state)) = owner.chats.get(&chat_id) {
        if state.poisoned && state.inflight.is_empty() {
            owner.chats.remove(&chat_id);
        }
    }
    drop(owner);
    for (r, frame) in replies {
        shard.reply(r, frame);
    }
    if let Some(d) = delivery {
        shard.fan_out(d);
    }
}

fn owner_directs_take(owner: &mut Owner, key: (u64, u64)) -> Vec<ReplyTo> {
    owner.directs.remove(&key).unwrap_or_default()
}
