//! A shard's mailbox loop, and the driver of its chat core: it feeds the core each input with
//! the time, runs the effects the core returns (replies, deliveries, loads, history reads) and
//! feeds the results of the slow ones back in. Disk reads run on the blocking pool and commits
//! on the commit thread, so the shard thread never waits.

use crate::chat::{ChatView, Commits, DirectLookup, Effect, Fetched, Input, Now, Observation, Refusal, Snapshot};
use crate::crossing::{ReplyTo, ShardMsg};
use crate::ids::{chat_owner, now_ms};
use crate::metrics;
use crate::pages;
use crate::shard::Shard;
use magpie_storage::{Op, Store, StoreError};
use magpie_wire::{encode, fb, verify, ErrorCode};
use std::rc::Rc;
use std::time::Instant;

/// Events folded per read when a chat's stored head is behind its log.
const FOLD_BATCH: usize = 1024;

/// The shard's main loop: drain the mailbox until told to stop.
pub async fn run(shard: Rc<Shard>) {
    loop {
        let msg = shard.mailbox().recv().await;
        if !handle(&shard, msg) {
            return;
        }
        // Drain a burst without going back through the waker.
        for _ in 0..256 {
            match shard.mailbox().try_recv() {
                Some(m) => {
                    if !handle(&shard, m) {
                        return;
                    }
                }
                None => break,
            }
        }
    }
}

/// Handles one message; false means stop.
fn handle(shard: &Rc<Shard>, msg: ShardMsg) -> bool {
    match msg {
        ShardMsg::Shutdown => return false,
        ShardMsg::Chat(cmd) => feed(shard, Input::Command(cmd)),
        ShardMsg::Deliver(d) => shard.deliver_local(&d, true),
        ShardMsg::Signal(s) => shard.signal_local(&s),
        ShardMsg::Reply { conn, frame } => shard.deliver_reply(conn, frame),
        ShardMsg::Committed { chat_id, result, elapsed } => {
            metrics::dec(&shard.metrics().commits_inflight);
            feed(shard, Input::Committed { chat_id, result, elapsed });
        }
        ShardMsg::RevokeDevice { device_id } => shard.revoke_device(device_id),
        ShardMsg::Presence(m) => crate::presence_io::handle(shard, m),
    }
    true
}

/// The commit hand-over as the core sees it: never waits; a full queue refuses.
struct ShardCommits<'a>(&'a Rc<Shard>);

impl Commits for ShardCommits<'_> {
    fn try_commit(&mut self, chat_id: u64, ops: Vec<Op>) -> Result<(), Refusal> {
        let shard = self.0;
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
                Ok(())
            }
            Err(StoreError::Busy) => Err((ErrorCode::Unavailable, "the server is busy writing; retry shortly")),
            Err(e) => {
                tracing::error!(chat_id, error = %e, "cannot submit a commit");
                Err((ErrorCode::Unavailable, "storage is closed"))
            }
        }
    }
}

/// Runs one input through the chat core and executes what it decided.
pub fn feed(shard: &Rc<Shard>, input: Input) {
    let now = Now { at: Instant::now(), wall_ms: now_ms() };
    let effects = shard.core.borrow_mut().handle(input, now, &mut ShardCommits(shard));
    for effect in effects {
        execute(shard, effect);
    }
}

fn execute(shard: &Rc<Shard>, effect: Effect) {
    match effect {
        Effect::Reply(to, frame) => shard.reply(to, frame),
        Effect::Deliver(d) => shard.fan_out(d),
        Effect::Signal(s) => shard.broadcast_signal(s),
        Effect::Observe(Observation::SendDurable(elapsed)) => shard.metrics().send_durable.observe(elapsed),
        Effect::Observe(Observation::Committed) => metrics::inc(&shard.metrics().events_committed),
        Effect::ToWatchers { chat_id, frame } => crate::presence_io::to_watchers(shard, chat_id, frame),
        Effect::CountOnline { chat_id, members, reply, token } => crate::presence_io::count_online(shard, chat_id, members, reply, token),
        Effect::Load { chat_id, load } => {
            let shard = shard.clone();
            tokio::task::spawn_local(async move {
                let result = blocking(&shard, move |s| load_chat(s, chat_id)).await;
                feed(&shard, Input::Loaded { chat_id, load, result });
            });
        }
        Effect::FindDirect { pair } => {
            let shard = shard.clone();
            let (shards, me) = (shard.shards(), shard.id);
            tokio::task::spawn_local(async move {
                let result = blocking(&shard, move |s| find_direct(s, pair, shards, me)).await;
                feed(&shard, Input::DirectFound { pair, result });
            });
        }
        Effect::ReadHistory { reply, chat_id, from_seq, direction, limit, up_to, from_min, viewer } => {
            answer(shard, reply, move |s| {
                // One more than the page, which tells if there is more; nothing past the
                // durable end (`before_seq` 0 means "from the end").
                let rows = if direction == fb::Direction::Forward {
                    s.read_forward(chat_id, from_seq.max(from_min.saturating_sub(1)), limit + 1)
                } else {
                    let before = if from_seq == 0 || from_seq > up_to { up_to + 1 } else { from_seq };
                    s.read_backward(chat_id, before, limit + 1)
                };
                let visible = from_min.max(1)..=up_to;
                pages::history(reply.request_id, chat_id, rows?, limit, direction, visible, |lo, hi| {
                    pages::message_states(s, chat_id, viewer, lo, hi)
                })
            });
        }
        Effect::FetchMessages { chat_id, seqs, reactor, generation } => {
            let shard = shard.clone();
            tokio::task::spawn_local(async move {
                let result = blocking(&shard, move |s| fetch_messages(s, chat_id, &seqs, reactor).map_err(|e| e.to_string())).await;
                feed(&shard, Input::Fetched { chat_id, generation, reactor, result });
            });
        }
        Effect::Wake { chat_id, after } => {
            let shard = shard.clone();
            tokio::task::spawn_local(async move {
                tokio::time::sleep(after).await;
                feed(&shard, Input::Wake { chat_id });
            });
        }
        Effect::ReadVersions { reply, chat_id, seq, seqs } => {
            answer(shard, reply, move |s| {
                let mut versions = Vec::with_capacity(seqs.len());
                for at in seqs {
                    let Some(event) = s.event(chat_id, at)? else { continue };
                    let Ok(e) = verify::event(&event) else { continue };
                    let content = match (e.body_as_message_body(), e.body_as_message_edited()) {
                        (Some(m), _) => m.content(),
                        (_, Some(m)) => m.content(),
                        _ => None,
                    };
                    versions.push((at, content.unwrap_or("").to_string(), e.time_ms()));
                }
                Ok(encode::message_versions(reply.request_id, chat_id, seq, &versions))
            });
        }
        Effect::ReadReactions { reply, chat_id, seq, emoji, after_user_id, limit } => {
            answer(shard, reply, move |s| {
                let (users, has_more) = s.reactions_page(chat_id, seq, emoji.as_deref(), after_user_id, limit)?;
                Ok(encode::reaction_list(reply.request_id, chat_id, seq, &users, has_more))
            });
        }
        Effect::ReadPins { reply, chat_id, seqs, viewer } => {
            answer(shard, reply, move |s| {
                let mut states = Vec::with_capacity(seqs.len());
                for seq in seqs {
                    let Some(event) = s.event(chat_id, seq)? else { continue };
                    let rec = s.message_state(chat_id, seq)?;
                    let mut state = pages::viewer_state(s, chat_id, seq, rec.as_ref(), viewer)?;
                    state.event = Some(event);
                    states.push(state);
                }
                Ok(encode::pin_list(reply.request_id, chat_id, &states))
            });
        }
    }
}

/// Answers `reply` with the frame `read` builds on the blocking pool (or a storage error).
fn answer(shard: &Rc<Shard>, reply: ReplyTo, read: impl FnOnce(&Store) -> Result<bytes::Bytes, StoreError> + Send + 'static) {
    let shard = shard.clone();
    tokio::task::spawn_local(async move {
        let frame = match blocking(&shard, move |s| read(s).map_err(|e| e.to_string())).await {
            Ok(frame) => frame,
            Err(e) => storage_error(reply, &e),
        };
        shard.reply(reply, frame);
    });
}

/// What the disk has of these messages: each event, its state, and `reactor`'s reactions.
fn fetch_messages(s: &Store, chat_id: u64, seqs: &[u64], reactor: Option<u64>) -> Result<Vec<Fetched>, StoreError> {
    seqs.iter()
        .map(|&seq| {
            Ok(Fetched {
                seq,
                event: s.event(chat_id, seq)?,
                state: s.message_state(chat_id, seq)?,
                reactions: reactor.map(|r| s.reactions_of(chat_id, seq, r)).transpose()?,
            })
        })
        .collect()
}

fn storage_error(reply: ReplyTo, e: &str) -> bytes::Bytes {
    tracing::error!(error = %e, "storage error");
    encode::error(reply.request_id, ErrorCode::Internal, "storage error", 0)
}

async fn blocking<T: Send + 'static>(
    shard: &Rc<Shard>,
    f: impl FnOnce(&Store) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let store = shard.shared.store.clone();
    tokio::task::spawn_blocking(move || f(&store)).await.unwrap_or_else(|e| Err(e.to_string()))
}

/// A chat's state: its stored snapshot with the events after it folded on (none when the head
/// is current, which it normally is; a store written before heads existed folds its whole log
/// once, here on the blocking pool).
pub fn load_chat(store: &Store, chat_id: u64) -> Result<Option<ChatView>, String> {
    let e = |e: StoreError| e.to_string();
    let Some(meta) = store.chat(chat_id).map_err(e)? else { return Ok(None) };
    let members = store.members_with_since(chat_id).map_err(e)?;
    let head = store.chat_head(chat_id).map_err(e)?.unwrap_or_default();
    let invites = store.invites_of(chat_id).map_err(e)?;
    let requests = store.join_requests(chat_id).map_err(e)?;
    let pins = store.pins_of(chat_id).map_err(e)?;
    let receipts = store.receipts_of(chat_id).map_err(e)?;
    let mut view = ChatView::from_snapshot(Snapshot { meta, members, head, invites, requests, pins, receipts });
    loop {
        let rows = store.read_forward(chat_id, view.last_seq, FOLD_BATCH).map_err(e)?;
        if rows.is_empty() {
            break;
        }
        view.fold(rows.iter().map(|r| r.1.as_slice()))?;
    }
    // The newest message's sender gets a large chat's receipt counts; the head keeps only its seq.
    if view.last_message_sender == 0 && view.last_message_seq != 0 {
        if let Some(event) = store.event(chat_id, view.last_message_seq).map_err(e)? {
            view.last_message_sender = verify::event(&event).map_err(|why| format!("stored event: {why}"))?.sender_id();
        }
    }
    Ok(Some(view))
}

/// The pair's direct chat, or a fresh id that shard `me` owns for a new one.
fn find_direct(store: &Store, pair: (u64, u64), shards: usize, me: usize) -> Result<DirectLookup, String> {
    let e = |e: StoreError| e.to_string();
    if let Some(chat_id) = store.direct_chat(pair.0, pair.1).map_err(e)? {
        let view = load_chat(store, chat_id)?.ok_or("direct index points at a missing chat")?;
        return Ok(DirectLookup::Existing(view));
    }
    loop {
        let ids = store.allocate_ids(4 * shards as u64).map_err(e)?;
        if let Some(id) = ids.into_iter().find(|&id| chat_owner(id, shards) == me) {
            return Ok(DirectLookup::New(id));
        }
    }
}
