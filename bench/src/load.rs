//! The engine as a target of the message-load scenarios ([`Magpie`], an [`open_loop::Peer`]):
//! raw signed-in connections over QUIC or WebSocket, and the scenarios' names.
//!
//! Setup steps, separated by a barrier across the workers: connect and sign in (or register)
//! every client, create the chats (client 2k and 2k+1 in a direct chat, or one group), `Sync`
//! every connection. A message is a `SendMessage` whose client message id and content carry the
//! open-loop stamp; a delivery is a `Deliver` of it, ordered by the chat's seq; the engine
//! acknowledges every send (`SendAck`), so a message is owed to its chat once acknowledged.

use crate::connect::Target;
use crate::open_loop::{intended_of, message_id, Incoming, LoadPlan, Payload, Peer, Run};
use bytes::Bytes;
use magpie_client::session::FIRST_FREE_REQUEST_ID;
use magpie_client::transport::{Connection, FrameReceiver, FrameSender};
use magpie_wire::{encode, fb, verify, ErrorCode};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::timeout;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// N clients in N/2 direct chats, every client sending at R/N.
    OneToOne,
    /// One group of G members; S of them send, R messages/s in total.
    Fanout,
    /// A channel-like group (default 100,000 members, one sender at 1 msg/s): fan-out at its
    /// largest; latency to the last member is the number that matters.
    Channel,
    /// Connection density: engine memory per idle connection and setup rate, in steps.
    Density,
    /// Reconnect storm: every client drops and resumes at once while messages keep flowing.
    Storm,
    /// Storage: durable appends in direct chats (ack latency), then history page reads.
    Storage,
    /// Presence: every client connects at once, without and then with presence watching.
    Presence,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::OneToOne => "one-to-one",
            Scenario::Fanout => "fanout",
            Scenario::Channel => "channel",
            Scenario::Density => "density",
            Scenario::Storm => "storm",
            Scenario::Storage => "storage",
            Scenario::Presence => "presence",
        }
    }

    /// One group for everyone (else: direct chats of two).
    pub fn one_group(self) -> bool {
        matches!(self, Scenario::Fanout | Scenario::Channel)
    }
}

/// The engine under test, and what the setup learns about its clients.
pub struct Magpie {
    scenario: Scenario,
    target: Target,
    /// Connections being set up at once, all workers together.
    register_concurrency: usize,
    user_ids: Vec<AtomicU64>,
    chat_ids: Vec<AtomicU64>,
    /// One-group scenarios: the group's newest event after setup, where every member's Sync
    /// starts.
    group_cursor: AtomicU64,
}

impl Magpie {
    pub fn new(scenario: Scenario, target: Target, clients: usize, register_concurrency: usize) -> Magpie {
        Magpie {
            scenario,
            target,
            register_concurrency,
            user_ids: (0..clients).map(|_| AtomicU64::new(0)).collect(),
            chat_ids: (0..clients).map(|_| AtomicU64::new(0)).collect(),
            group_cursor: AtomicU64::new(0),
        }
    }
}

pub struct Client {
    index: usize,
    conn: Connection,
    user_id: u64,
    next_rid: u64,
}

/// A client's sending half: its chat and its next request id.
pub struct MagpieTx {
    tx: FrameSender,
    chat_id: u64,
    rid: u64,
}

/// A client's receiving half: its user, to tell its own messages' echoes apart.
pub struct MagpieRx {
    rx: FrameReceiver,
    user_id: u64,
}

impl Peer for Magpie {
    type Conn = Client;
    type Tx = MagpieTx;
    type Rx = MagpieRx;
    const SETUP_STEPS: usize = 3;
    const ACKS: bool = true;

    async fn setup(&self, _run: &Run, plan: &LoadPlan, step: usize, w: usize, mine: &[usize], conns: &mut Vec<(usize, Client)>) -> Result<(), String> {
        match step {
            0 => {
                for c in connect_all(self, plan, w, mine).await? {
                    self.user_ids[c.index].store(c.user_id, Relaxed);
                    conns.push((c.index, c));
                }
                Ok(())
            }
            1 => create_chats(self, plan, conns).await,
            _ => sync_all(self, conns).await,
        }
    }

    fn room(&self, client: usize) -> u64 {
        self.chat_ids[client].load(Relaxed)
    }

    fn split(&self, client: usize, c: Client) -> (MagpieTx, MagpieRx) {
        let (tx, rx) = c.conn.split();
        (MagpieTx { tx, chat_id: self.room(client), rid: c.next_rid }, MagpieRx { rx, user_id: c.user_id })
    }

    async fn send(&self, tx: &mut MagpieTx, payload: &str) -> Result<(), String> {
        let frame = encode::send_message(tx.rid, tx.chat_id, message_id(payload), payload);
        tx.rid += 1;
        tx.tx.send(frame).await.map_err(|e| e.to_string())
    }

    async fn recv(&self, rx: &mut MagpieRx) -> Incoming {
        let buf = match rx.rx.recv().await {
            Ok(b) => b,
            Err(e) => return Incoming::Lost(e.to_string()),
        };
        let Ok(f) = verify::server_frame(&buf) else { return Incoming::Bad("bad_server_frame".into()) };
        match f.body_type() {
            fb::Body::Deliver => {
                let Some(ev) = f.body_as_deliver().and_then(|d| d.event()) else { return Incoming::Other };
                let Ok(ev) = verify::event(ev.bytes()) else { return Incoming::Bad("bad_event".into()) };
                // Other events (the chat's creation, membership) are not bench messages.
                let Some(payload) = ev.body_as_message_body().and_then(|m| Payload::parse(m.content().unwrap_or(""))) else {
                    return Incoming::Other;
                };
                Incoming::Delivery { payload, stream: ev.chat_id(), order: ev.seq(), echo: ev.sender_id() == rx.user_id }
            }
            fb::Body::SendAck => match f.body_as_send_ack() {
                Some(a) => Incoming::Ack { room: a.chat_id(), intended_ns: a.client_msg_id().and_then(intended_of) },
                None => Incoming::Other,
            },
            fb::Body::Error => Incoming::Refused(code_name(f.body_as_error().map(|e| e.code()).unwrap_or(0))),
            fb::Body::Close => Incoming::Closed(format!("close_{}", code_name(f.body_as_close().map(|c| c.code()).unwrap_or(0)))),
            _ => Incoming::Other,
        }
    }
}

// ---------------------------------------------------------------------------- setup helpers

pub enum SetupReply {
    Chat(u64),
    /// A history page: the seq of its last event (0 if empty).
    Page(u64),
    Done,
}

/// Sends `frame` and waits for the reply to `rid`, skipping pushes.
pub async fn request(conn: &mut Connection, rid: u64, frame: Bytes, limit: Duration) -> Result<SetupReply, String> {
    let fut = async {
        conn.send(frame).await.map_err(|e| format!("send: {e}"))?;
        loop {
            let buf = conn.recv().await.map_err(|e| format!("recv: {e}"))?;
            let f = verify::server_frame(&buf).map_err(|e| format!("bad frame from server: {e}"))?;
            if f.body_type() == fb::Body::Close {
                let c = f.body_as_close();
                return Err(format!(
                    "closed by server: {} {}",
                    code_name(c.map(|c| c.code()).unwrap_or(0)),
                    c.and_then(|c| c.reason()).unwrap_or("")
                ));
            }
            if f.request_id() != rid {
                continue;
            }
            return match f.body_type() {
                fb::Body::ChatInfo => Ok(SetupReply::Chat(f.body_as_chat_info().map(|c| c.chat_id()).unwrap_or(0))),
                fb::Body::HistoryPage => {
                    let last = f.body_as_history_page().and_then(|p| p.events()).and_then(|e| e.iter().last());
                    let seq = last.and_then(|b| b.event()).and_then(|e| verify::event(e.bytes()).ok()).map(|e| e.seq()).unwrap_or(0);
                    Ok(SetupReply::Page(seq))
                }
                fb::Body::Error => {
                    let e = f.body_as_error();
                    Err(format!(
                        "error {}: {}",
                        code_name(e.map(|e| e.code()).unwrap_or(0)),
                        e.and_then(|e| e.message()).unwrap_or("")
                    ))
                }
                _ => Ok(SetupReply::Done),
            };
        }
    };
    timeout(limit, fut).await.map_err(|_| "timed out".to_string())?
}

pub fn code_name(code: u16) -> String {
    ErrorCode::from_u16(code).map(|c| c.name().to_owned()).unwrap_or_else(|| format!("code_{code}"))
}

async fn connect_all(m: &Magpie, plan: &LoadPlan, w: usize, mine: &[usize]) -> Result<Vec<Client>, String> {
    let connectors = m.target.connectors(w, plan.workers, mine.len())?;
    let gate = Semaphore::new((m.register_concurrency / plan.workers).max(1));
    let tasks = mine.iter().enumerate().map(|(local, &index)| {
        let (connectors, gate) = (&connectors, &gate);
        async move {
            let _permit = gate.acquire().await.expect("never closed");
            let (conn, session) = m.target.connect(connectors, local, index).await?;
            Ok::<_, String>(Client { index, conn, user_id: session.account.user_id, next_rid: FIRST_FREE_REQUEST_ID })
        }
    });
    join_all(tasks).await.into_iter().collect()
}

async fn create_chats(shared: &Magpie, plan: &LoadPlan, clients: &mut [(usize, Client)]) -> Result<(), String> {
    let limit = shared.target.op_timeout;
    match shared.scenario.one_group() {
        false => {
            // Client 2k creates the direct chat with client 2k+1 (whichever worker holds it).
            let mut tasks = Vec::new();
            for (_, c) in clients.iter_mut().filter(|(i, _)| i % 2 == 0) {
                let peer = shared.user_ids[c.index + 1].load(Relaxed);
                let rid = c.next_rid;
                c.next_rid += 1;
                let frame = encode::create_direct(rid, peer, "");
                let index = c.index;
                tasks.push(async move {
                    match request(&mut c.conn, rid, frame, limit).await? {
                        SetupReply::Chat(id) if id != 0 => Ok((index, id)),
                        _ => Err(format!("client {index}: CreateDirect did not answer ChatInfo")),
                    }
                });
            }
            for r in join_all(tasks).await {
                let (index, chat) = r?;
                shared.chat_ids[index].store(chat, Relaxed);
                shared.chat_ids[index + 1].store(chat, Relaxed);
            }
        }
        true => {
            let Some((_, owner)) = clients.iter_mut().find(|(i, _)| *i == 0) else { return Ok(()) };
            let members: Vec<u64> = (1..plan.clients).map(|i| shared.user_ids[i].load(Relaxed)).collect();
            let mut chunks = members.chunks(magpie_wire::limits::MAX_MEMBERS_PER_REQUEST);
            let first = chunks.next().unwrap_or(&[]);
            let rid = owner.next_rid;
            owner.next_rid += 1;
            let chat = match request(&mut owner.conn, rid, encode::create_group(rid, "bench", first), limit).await? {
                SetupReply::Chat(id) if id != 0 => id,
                _ => return Err("CreateGroup did not answer ChatInfo".into()),
            };
            for chunk in chunks {
                let rid = owner.next_rid;
                owner.next_rid += 1;
                request(&mut owner.conn, rid, encode::add_members(rid, chat, chunk), limit).await?;
            }
            // Members sync from the newest event: replaying the group's membership events to
            // every member (one per AddMembers chunk, to 100,000 connections for a channel) is
            // setup work, not what the scenario measures.
            let rid = owner.next_rid;
            owner.next_rid += 1;
            let newest = match request(&mut owner.conn, rid, encode::history(rid, chat, 0, fb::Direction::Backward, 1), limit).await? {
                SetupReply::Page(seq) => seq,
                _ => return Err("History did not answer a page".into()),
            };
            shared.group_cursor.store(newest, Relaxed);
            for id in &shared.chat_ids {
                id.store(chat, Relaxed);
            }
        }
    }
    Ok(())
}

async fn sync_all(shared: &Magpie, clients: &mut [(usize, Client)]) -> Result<(), String> {
    let limit = shared.target.op_timeout;
    let tasks: Vec<_> = clients
        .iter_mut()
        .map(|(_, c)| {
            let rid = c.next_rid;
            c.next_rid += 1;
            let index = c.index;
            let cursors = match shared.group_cursor.load(Relaxed) {
                0 => Vec::new(),
                seq => vec![(shared.chat_ids[index].load(Relaxed), seq)],
            };
            async move { request(&mut c.conn, rid, encode::sync(rid, &cursors), limit).await.map_err(|e| format!("client {index}: {e}")) }
        })
        .collect();
    for r in join_all(tasks).await {
        r?;
    }
    Ok(())
}

/// Runs futures concurrently on the current task (they borrow, so no spawn). futures-util's
/// `join_all` polls only the futures that were woken once there are more than a few, so tens of
/// thousands of requests do not cost a quadratic number of polls.
pub use futures_util::future::join_all;

