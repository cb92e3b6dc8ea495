//! A small in-process stand-in for the engine, speaking the real wire protocol over QUIC and
//! WebSocket, so the client's reconnect, resume, gap-fill and outbox logic is exercised on real
//! sockets before (and independently of) the engine. It keeps everything in memory and has
//! knobs to misbehave on purpose.

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use magpie_wire::chat::{self as wchat, Info, MemberEntry};
use magpie_wire::encode::{BroadcastResultArgs, InviteArgs};
use magpie_wire::framing::{put_prefixed, FrameReader};
use magpie_wire::limits::MAX_CLIENT_FRAME_BYTES;
use magpie_wire::{encode, fb, verify, ErrorCode};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

pub const CERT_DER: &[u8] = include_bytes!("../fixtures/cert.der");
const KEY_DER: &[u8] = include_bytes!("../fixtures/key.der");

/// Ways to misbehave.
#[derive(Default)]
pub struct Knobs {
    /// The next SendMessage is stored, then the connection drops before the ack is sent.
    pub drop_before_next_ack: AtomicBool,
    /// Live pushes of this (user id, seq) are left out, making a gap for that user.
    pub skip_live: Mutex<Option<(u64, u64)>>,
    /// The next SendMessage is refused with rate_limited (retry after 50 ms), not stored.
    pub rate_limit_next_send: AtomicBool,
    pub authenticate_calls: AtomicUsize,
    pub history_calls: AtomicUsize,
}

#[derive(Default)]
struct State {
    next_id: u64,
    users: HashMap<String, (u64, String)>,
    tokens: HashMap<String, (u64, u64)>,
    revoked: Vec<u64>,
    chats: HashMap<u64, Chat>,
    /// (device, client_msg_id) → (chat, message id, seq)
    acks: HashMap<(u64, String), (u64, u64, u64)>,
    /// Synced connections: (user, device, push channel).
    live: Vec<(u64, u64, mpsc::UnboundedSender<Bytes>)>,
    /// (user, chat) → the user's own state of the chat.
    chat_states: HashMap<(u64, u64), wchat::State>,
    /// list id → (owner, name, recipients).
    broadcast_lists: HashMap<u64, (u64, String, Vec<u64>)>,
    next_pin_rank: u64,
}

struct Chat {
    kind: fb::ChatKind,
    info: Info,
    /// In join order: the owner first.
    members: Vec<MemberEntry>,
    events: Vec<Bytes>,
    invites: Vec<InviteArgs>,
    /// (user, time requested).
    requests: Vec<(u64, i64)>,
}

impl Chat {
    fn new(kind: fb::ChatKind, info: Info) -> Chat {
        Chat { kind, info, members: Vec::new(), events: Vec::new(), invites: Vec::new(), requests: Vec::new() }
    }

    fn member_ids(&self) -> Vec<u64> {
        self.members.iter().map(|m| m.user_id).collect()
    }

    fn role(&self, user: u64) -> Option<fb::Role> {
        self.members.iter().find(|m| m.user_id == user).map(|m| m.role)
    }

    fn is_admin(&self, user: u64) -> bool {
        matches!(self.role(user), Some(fb::Role::Admin | fb::Role::Owner))
    }

    fn set_role(&mut self, user: u64, role: fb::Role) {
        if let Some(m) = self.members.iter_mut().find(|m| m.user_id == user) {
            m.role = role;
        }
    }

    fn allowed(&self, user: u64, who: fb::Who) -> bool {
        who == fb::Who::Members || self.is_admin(user)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn err(id: u64, code: ErrorCode) -> Bytes {
    encode::error(id, code, code.name(), 0)
}

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Appends an event built by `make(seq)` and pushes it to every synced member connection.
    fn append(&mut self, knobs: &Knobs, chat_id: u64, make: impl FnOnce(u64) -> Bytes) -> u64 {
        self.append_to(knobs, chat_id, &[], make)
    }

    /// As [`append`], also pushing to `also` (members just removed, who are told).
    fn append_to(&mut self, knobs: &Knobs, chat_id: u64, also: &[u64], make: impl FnOnce(u64) -> Bytes) -> u64 {
        let chat = self.chats.get_mut(&chat_id).unwrap();
        let seq = chat.events.len() as u64 + 1;
        let event = make(seq);
        chat.events.push(event.clone());
        let frame = encode::deliver(&event);
        let skip = *knobs.skip_live.lock().unwrap();
        let members = chat.member_ids();
        for (user, _, tx) in &self.live {
            if (members.contains(user) || also.contains(user)) && skip != Some((*user, seq)) {
                let _ = tx.send(frame.clone());
            }
        }
        seq
    }

    /// Pushes `frame` to the user's synced connections, other than `except`.
    fn push_to_user(&self, user: u64, frame: &Bytes, except: Option<&mpsc::UnboundedSender<Bytes>>) {
        for (u, _, tx) in &self.live {
            if *u == user && !except.is_some_and(|e| e.same_channel(tx)) {
                let _ = tx.send(frame.clone());
            }
        }
    }

    fn handle_taken(&self, handle: &str, except: u64) -> bool {
        !handle.is_empty() && self.chats.iter().any(|(&id, c)| id != except && c.info.handle == handle)
    }

    /// The member chat `chat_id` of `user`, or the error to answer.
    fn member_chat(&self, id: u64, user: u64, chat_id: u64) -> Result<&Chat, Bytes> {
        match self.chats.get(&chat_id) {
            Some(c) if c.role(user).is_some() => Ok(c),
            _ => Err(err(id, ErrorCode::ChatNotFound)),
        }
    }

    fn chat_by(&self, id: u64, invite_code: &str, handle: &str) -> Result<(u64, Option<InviteArgs>), Bytes> {
        if !handle.is_empty() {
            return self
                .chats
                .iter()
                .find(|(_, c)| c.info.handle == handle)
                .map(|(&chat_id, _)| (chat_id, None))
                .ok_or_else(|| err(id, ErrorCode::ChatNotFound));
        }
        let found = self.chats.iter().find_map(|(&chat_id, c)| c.invites.iter().find(|i| i.code == invite_code).map(|i| (chat_id, i.clone())));
        match found {
            None => Err(err(id, ErrorCode::InviteNotFound)),
            Some((_, i)) if i.revoked => Err(err(id, ErrorCode::InviteRevoked)),
            Some((_, i)) if i.expires_ms != 0 && i.expires_ms <= now_ms() => Err(err(id, ErrorCode::InviteExpired)),
            Some((_, i)) if i.max_uses != 0 && i.uses >= i.max_uses => Err(err(id, ErrorCode::InviteUsedUp)),
            Some((chat_id, i)) => Ok((chat_id, Some(i))),
        }
    }

    fn count_use(&mut self, chat_id: u64, invite: &Option<InviteArgs>) {
        if let Some(i) = invite {
            let chat = self.chats.get_mut(&chat_id).unwrap();
            if let Some(i) = chat.invites.iter_mut().find(|x| x.code == i.code) {
                i.uses += 1;
            }
        }
    }

    /// Adds `users` as members; a channel's subscribers get no event.
    fn add(&mut self, knobs: &Knobs, chat_id: u64, by: (u64, u64), users: &[u64], via: fb::JoinedVia) {
        let chat = self.chats.get_mut(&chat_id).unwrap();
        let since_seq = chat.events.len() as u64 + 1;
        let users: Vec<u64> = users.iter().copied().filter(|u| chat.role(*u).is_none()).collect();
        if users.is_empty() {
            return;
        }
        chat.members.extend(users.iter().map(|&user_id| MemberEntry { user_id, role: fb::Role::Member, since_seq }));
        if chat.kind != fb::ChatKind::Channel {
            self.append(knobs, chat_id, |seq| {
                let h = encode::EventHeader { chat_id, seq, sender_id: by.0, sender_device_id: by.1, time_ms: now_ms() };
                encode::members_added_event(&h, &users, via)
            });
        }
    }

    fn state(&self, user: u64, chat_id: u64) -> wchat::State {
        self.chat_states.get(&(user, chat_id)).copied().unwrap_or_default()
    }

    fn direct_with(&mut self, knobs: &Knobs, me: (u64, u64), peer: u64) -> u64 {
        let found = self.chats.iter().find(|(_, c)| {
            c.kind == fb::ChatKind::Direct && c.role(me.0).is_some() && c.role(peer).is_some()
        });
        if let Some((&chat_id, _)) = found {
            return chat_id;
        }
        let chat_id = self.id();
        let mut ids = [me.0, peer];
        ids.sort_unstable();
        let members: Vec<_> = ids.iter().map(|&user_id| MemberEntry { user_id, role: fb::Role::Member, since_seq: 1 }).collect();
        let mut chat = Chat::new(fb::ChatKind::Direct, Info::default());
        chat.members = members.clone();
        self.chats.insert(chat_id, chat);
        self.append(knobs, chat_id, |seq| {
            let h = encode::EventHeader { chat_id, seq, sender_id: me.0, sender_device_id: me.1, time_ms: now_ms() };
            encode::chat_created_event(&h, fb::ChatKind::Direct, &Info::default(), &members)
        });
        chat_id
    }
}

pub struct Mock {
    pub quic_addr: SocketAddr,
    pub ws_addr: SocketAddr,
    pub knobs: Arc<Knobs>,
    state: Arc<Mutex<State>>,
}

impl Mock {
    pub async fn start() -> Mock {
        let state = Arc::new(Mutex::new(State::default()));
        let knobs = Arc::new(Knobs::default());

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(CERT_DER.to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(KEY_DER.to_vec())),
            )
            .unwrap();
        tls.alpn_protocols = vec![magpie_client::transport::ALPN.to_vec()];
        let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls).unwrap();
        let endpoint =
            quinn::Endpoint::server(quinn::ServerConfig::with_crypto(Arc::new(crypto)), "127.0.0.1:0".parse().unwrap())
                .unwrap();
        let quic_addr = endpoint.local_addr().unwrap();
        let (st, kn) = (state.clone(), knobs.clone());
        tokio::spawn(async move {
            while let Some(incoming) = endpoint.accept().await {
                let (st, kn) = (st.clone(), kn.clone());
                tokio::spawn(async move {
                    let Ok(conn) = incoming.await else { return };
                    let Ok((send, recv)) = conn.accept_bi().await else { return };
                    serve_quic(conn, send, recv, st, kn).await;
                });
            }
        });

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws_addr = listener.local_addr().unwrap();
        let (st, kn) = (state.clone(), knobs.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (st, kn) = (st.clone(), kn.clone());
                tokio::spawn(async move {
                    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else { return };
                    serve_ws(ws, st, kn).await;
                });
            }
        });
        Mock { quic_addr, ws_addr, knobs, state }
    }

    /// Appends a message to `chat_id` from `sender` as if sent by another client.
    pub fn inject_message(&self, chat_id: u64, sender: u64, content: &str) -> u64 {
        let mut st = self.state.lock().unwrap();
        let message_id = st.id();
        st.append(&self.knobs, chat_id, |seq| {
            let h = encode::EventHeader { chat_id, seq, sender_id: sender, sender_device_id: 0, time_ms: 0 };
            encode::message_event(&h, message_id, &format!("inj-{message_id}"), content)
        })
    }

    /// Revokes the device: its live connections get Close{revoked}.
    pub fn revoke(&self, device: u64) {
        let mut st = self.state.lock().unwrap();
        st.revoked.push(device);
        st.live.retain(|(_, d, tx)| {
            if *d == device {
                let _ = tx.send(encode::close(ErrorCode::Revoked, "device revoked"));
                false
            } else {
                true
            }
        });
    }
}

async fn serve_quic(
    conn: quinn::Connection,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    st: Arc<Mutex<State>>,
    kn: Arc<Knobs>,
) {
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Bytes>();
    tokio::spawn(async move {
        let mut reader = FrameReader::new(MAX_CLIENT_FRAME_BYTES);
        while let Ok(Some(chunk)) = recv.read_chunk(65536, true).await {
            reader.extend(&chunk.bytes);
            while let Ok(Some(frame)) = reader.next_frame() {
                let _ = in_tx.send(frame);
            }
        }
    });
    let writer = tokio::spawn(async move {
        while let Some(frame) = out_rx.recv().await {
            let mut buf = BytesMut::new();
            put_prefixed(&mut buf, &frame);
            if send.write_all(&buf).await.is_err() {
                return;
            }
        }
        let _ = send.finish();
        // Let the client read what was written before the connection goes.
        let _ = tokio::time::timeout(Duration::from_secs(2), conn.closed()).await;
        conn.close(0u32.into(), b"");
    });
    handle(in_rx, out_tx, st, kn).await;
    let _ = writer.await;
}

async fn serve_ws(ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>, st: Arc<Mutex<State>>, kn: Arc<Knobs>) {
    let (mut sink, mut stream) = ws.split();
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Bytes>();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            if let Message::Binary(b) = msg {
                let _ = in_tx.send(b);
            }
        }
    });
    let writer = tokio::spawn(async move {
        while let Some(frame) = out_rx.recv().await {
            if sink.send(Message::Binary(frame)).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    handle(in_rx, out_tx, st, kn).await;
    let _ = writer.await;
}

/// The protocol, one connection. Returning closes the connection (after queued frames).
async fn handle(
    mut inbound: mpsc::UnboundedReceiver<Bytes>,
    out: mpsc::UnboundedSender<Bytes>,
    st: Arc<Mutex<State>>,
    kn: Arc<Knobs>,
) {
    let mut me: Option<(u64, u64)> = None;
    while let Some(buf) = inbound.recv().await {
        let f = match verify::client_frame(&buf) {
            Ok(f) => f,
            Err(code) => {
                let _ = out.send(encode::close(code, "bad frame"));
                return;
            }
        };
        let id = f.request_id();
        let mut s = st.lock().unwrap();
        let reply = match f.body_type() {
            fb::Body::Hello => encode::welcome(
                id,
                &encode::WelcomeArgs {
                    protocol_version: 1,
                    features: 0,
                    server_name: "mock",
                    max_content_bytes: 65536,
                    max_frame_bytes: MAX_CLIENT_FRAME_BYTES as u32,
                    server_time_ms: 0,
                    node_id: 1,
                },
            ),
            fb::Body::Register => {
                let r = f.body_as_register().unwrap();
                let name = r.username().unwrap().to_owned();
                if s.users.contains_key(&name) {
                    encode::error(id, ErrorCode::UsernameTaken, "taken", 0)
                } else {
                    let (user, device) = (s.id(), s.id());
                    s.users.insert(name.clone(), (user, r.password().unwrap().to_owned()));
                    let token = format!("tok-{device}");
                    s.tokens.insert(token.clone(), (user, device));
                    me = Some((user, device));
                    encode::authenticated(id, user, device, &name, &token)
                }
            }
            fb::Body::Authenticate => {
                kn.authenticate_calls.fetch_add(1, Ordering::SeqCst);
                match s.tokens.get(f.body_as_authenticate().unwrap().token().unwrap_or("")).copied() {
                    Some((user, device)) if !s.revoked.contains(&device) => {
                        me = Some((user, device));
                        let name = s.users.iter().find(|(_, (u, _))| *u == user).unwrap().0.clone();
                        encode::authenticated(id, user, device, &name, "")
                    }
                    _ => encode::error(id, ErrorCode::InvalidCredentials, "unknown token", 0),
                }
            }
            fb::Body::Sync => {
                let (user, device) = me.unwrap();
                let cursors: HashMap<u64, u64> =
                    f.body_as_sync().unwrap().cursors().unwrap().iter().map(|c| (c.chat_id(), c.last_seq())).collect();
                let (mut chats, mut events) = (0, 0);
                for (chat_id, chat) in &s.chats {
                    if chat.role(user).is_some() {
                        chats += 1;
                        let from = cursors.get(chat_id).copied().unwrap_or(0) as usize;
                        for e in chat.events.iter().skip(from) {
                            events += 1;
                            let _ = out.send(encode::deliver(e));
                        }
                    }
                }
                s.live.push((user, device, out.clone()));
                encode::sync_done(id, chats, events)
            }
            fb::Body::LookupUser => {
                let name = f.body_as_lookup_user().unwrap().username().unwrap_or("");
                match s.users.get(name) {
                    Some((user, _)) => encode::user_info(id, *user, name),
                    None => encode::error(id, ErrorCode::UserNotFound, "no such user", 0),
                }
            }
            fb::Body::CreateGroup => {
                let (user, device) = me.unwrap();
                let g = f.body_as_create_group().unwrap();
                let info = Info {
                    title: g.title().unwrap_or("").to_owned(),
                    description: g.description().unwrap_or("").to_owned(),
                    avatar_ref: String::new(),
                    handle: g.handle().unwrap_or("").to_owned(),
                    settings: wchat::Settings::from_fb(g.settings()),
                };
                if s.handle_taken(&info.handle, 0) {
                    err(id, ErrorCode::HandleTaken)
                } else {
                    let chat_id = s.id();
                    let mut members = vec![MemberEntry { user_id: user, role: fb::Role::Owner, since_seq: 1 }];
                    for m in g.member_ids().unwrap().iter() {
                        if members.iter().all(|e| e.user_id != m) {
                            members.push(MemberEntry { user_id: m, role: fb::Role::Member, since_seq: 1 });
                        }
                    }
                    let mut chat = Chat::new(g.kind(), info.clone());
                    chat.members = members.clone();
                    s.chats.insert(chat_id, chat);
                    s.append(&kn, chat_id, |seq| {
                        let h = encode::EventHeader { chat_id, seq, sender_id: user, sender_device_id: device, time_ms: 0 };
                        encode::chat_created_event(&h, g.kind(), &info, &members)
                    });
                    chat_info(id, &s, chat_id, user)
                }
            }
            fb::Body::GetChat => {
                let chat_id = f.body_as_get_chat().unwrap().chat_id();
                match s.member_chat(id, me.unwrap().0, chat_id) {
                    Ok(_) => chat_info(id, &s, chat_id, me.unwrap().0),
                    Err(e) => e,
                }
            }
            fb::Body::ListMembers => {
                let user = me.unwrap().0;
                let l = f.body_as_list_members().unwrap();
                match s.member_chat(id, user, l.chat_id()) {
                    Err(e) => e,
                    Ok(c) => {
                        // A channel's subscribers are paged to admins only.
                        let admins_only = l.admins_only() || (c.kind == fb::ChatKind::Channel && !c.is_admin(user));
                        let limit = if l.limit() == 0 { 200 } else { l.limit().min(1000) as usize };
                        let mut all: Vec<MemberEntry> = c
                            .members
                            .iter()
                            .filter(|m| m.user_id > l.after_user_id())
                            .filter(|m| !admins_only || m.role != fb::Role::Member)
                            .copied()
                            .collect();
                        all.sort_by_key(|m| m.user_id);
                        let has_more = all.len() > limit;
                        all.truncate(limit);
                        encode::member_list(id, l.chat_id(), &all, has_more)
                    }
                }
            }
            fb::Body::UpdateChat => {
                let (user, device) = me.unwrap();
                let u = f.body_as_update_chat().unwrap();
                let chat_id = u.chat_id();
                match s.member_chat(id, user, chat_id) {
                    Err(e) => e,
                    Ok(c) if c.kind == fb::ChatKind::Direct => err(id, ErrorCode::NotAGroup),
                    Ok(c) => {
                        let mut info = c.info.clone();
                        let bits = u.fields();
                        let admin_only = bits & (wchat::update::HANDLE | wchat::update::SETTINGS) != 0;
                        if (admin_only && !c.is_admin(user)) || !c.allowed(user, c.info.settings.change_info) {
                            err(id, ErrorCode::Forbidden)
                        } else {
                            let text = |v: Option<&str>| v.unwrap_or("").to_owned();
                            if bits & wchat::update::TITLE != 0 {
                                info.title = text(u.title());
                            }
                            if bits & wchat::update::DESCRIPTION != 0 {
                                info.description = text(u.description());
                            }
                            if bits & wchat::update::AVATAR_REF != 0 {
                                info.avatar_ref = text(u.avatar_ref());
                            }
                            if bits & wchat::update::HANDLE != 0 {
                                info.handle = text(u.handle());
                            }
                            if bits & wchat::update::SETTINGS != 0 {
                                info.settings = wchat::Settings::from_fb(u.settings());
                            }
                            if s.handle_taken(&info.handle, chat_id) {
                                err(id, ErrorCode::HandleTaken)
                            } else if info == c.info {
                                encode::ok(id)
                            } else {
                                s.chats.get_mut(&chat_id).unwrap().info = info.clone();
                                s.append(&kn, chat_id, |seq| {
                                    let h = encode::EventHeader { chat_id, seq, sender_id: user, sender_device_id: device, time_ms: 0 };
                                    encode::chat_updated_event(&h, &info)
                                });
                                encode::ok(id)
                            }
                        }
                    }
                }
            }
            fb::Body::SetRole => {
                let (user, device) = me.unwrap();
                let r = f.body_as_set_role().unwrap();
                let (chat_id, target, role) = (r.chat_id(), r.user_id(), r.role());
                match s.member_chat(id, user, chat_id) {
                    Err(e) => e,
                    Ok(_) if role == fb::Role::Owner => err(id, ErrorCode::InvalidArgument),
                    Ok(c) if c.kind == fb::ChatKind::Direct => err(id, ErrorCode::NotAGroup),
                    Ok(c) if c.role(target).is_none() => err(id, ErrorCode::UserNotFound),
                    Ok(c) => {
                        let mine = c.role(user).unwrap();
                        let ok = match role {
                            fb::Role::Admin => c.is_admin(user) && target != user,
                            _ => (mine == fb::Role::Owner && target != user) || (target == user && mine == fb::Role::Admin),
                        };
                        if !ok {
                            err(id, ErrorCode::Forbidden)
                        } else {
                            s.chats.get_mut(&chat_id).unwrap().set_role(target, role);
                            s.append(&kn, chat_id, |seq| {
                                let h = encode::EventHeader { chat_id, seq, sender_id: user, sender_device_id: device, time_ms: 0 };
                                encode::role_changed_event(&h, target, role)
                            });
                            encode::ok(id)
                        }
                    }
                }
            }
            fb::Body::TransferOwnership => {
                let (user, device) = me.unwrap();
                let t = f.body_as_transfer_ownership().unwrap();
                let (chat_id, target) = (t.chat_id(), t.user_id());
                match s.member_chat(id, user, chat_id) {
                    Err(e) => e,
                    Ok(c) if c.role(user) != Some(fb::Role::Owner) => err(id, ErrorCode::Forbidden),
                    Ok(c) if c.role(target).is_none() || target == user => err(id, ErrorCode::UserNotFound),
                    Ok(_) => {
                        let chat = s.chats.get_mut(&chat_id).unwrap();
                        chat.set_role(target, fb::Role::Owner);
                        chat.set_role(user, fb::Role::Admin);
                        s.append(&kn, chat_id, |seq| {
                            let h = encode::EventHeader { chat_id, seq, sender_id: user, sender_device_id: device, time_ms: 0 };
                            encode::owner_changed_event(&h, user, target)
                        });
                        encode::ok(id)
                    }
                }
            }
            fb::Body::LeaveChat => {
                let (user, device) = me.unwrap();
                let l = f.body_as_leave_chat().unwrap();
                let chat_id = l.chat_id();
                match s.member_chat(id, user, chat_id) {
                    Err(e) => e,
                    Ok(c) if c.kind == fb::ChatKind::Direct => err(id, ErrorCode::NotAGroup),
                    Ok(c) => {
                        let others: Vec<MemberEntry> = c.members.iter().filter(|m| m.user_id != user).copied().collect();
                        let successor = if c.role(user) != Some(fb::Role::Owner) || others.is_empty() {
                            Ok(None)
                        } else if let Some(m) = others.iter().find(|m| m.user_id == l.successor()) {
                            Ok(Some(m.user_id))
                        } else {
                            // The longest-serving admin (lowest since_seq).
                            others.iter().filter(|m| m.role == fb::Role::Admin).min_by_key(|m| m.since_seq).map(|m| Some(m.user_id)).ok_or(())
                        };
                        let subscriber = c.kind == fb::ChatKind::Channel && c.role(user) == Some(fb::Role::Member);
                        match successor {
                            Err(()) => err(id, ErrorCode::OwnerMustTransfer),
                            Ok(next) => {
                                let h = |chat_id, seq| encode::EventHeader { chat_id, seq, sender_id: user, sender_device_id: device, time_ms: 0 };
                                if let Some(next) = next {
                                    s.chats.get_mut(&chat_id).unwrap().set_role(next, fb::Role::Owner);
                                    s.append(&kn, chat_id, |seq| encode::owner_changed_event(&h(chat_id, seq), user, next));
                                }
                                s.chats.get_mut(&chat_id).unwrap().members.retain(|m| m.user_id != user);
                                if subscriber {
                                    s.push_to_user(user, &encode::membership_changed(chat_id, false), Some(&out));
                                } else {
                                    s.append_to(&kn, chat_id, &[user], |seq| encode::member_removed_event(&h(chat_id, seq), user, true));
                                }
                                encode::ok(id)
                            }
                        }
                    }
                }
            }
            fb::Body::CreateInvite => {
                let user = me.unwrap().0;
                let c = f.body_as_create_invite().unwrap();
                let chat_id = c.chat_id();
                match s.member_chat(id, user, chat_id) {
                    Err(e) => e,
                    Ok(chat) if chat.kind == fb::ChatKind::Direct => err(id, ErrorCode::NotAGroup),
                    Ok(chat) if !chat.allowed(user, chat.info.settings.add_members) => err(id, ErrorCode::Forbidden),
                    Ok(chat) if chat.invites.iter().filter(|i| !i.revoked).count() >= 100 => err(id, ErrorCode::LimitReached),
                    Ok(_) => {
                        let n = s.id();
                        let invite = InviteArgs {
                            code: format!("{n:0>22}"),
                            chat_id,
                            created_by: user,
                            created_ms: now_ms(),
                            expires_ms: c.expires_ms(),
                            max_uses: c.max_uses(),
                            uses: 0,
                            revoked: false,
                        };
                        s.chats.get_mut(&chat_id).unwrap().invites.push(invite.clone());
                        encode::invite(id, &invite)
                    }
                }
            }
            fb::Body::ListInvites => {
                let user = me.unwrap().0;
                let chat_id = f.body_as_list_invites().unwrap().chat_id();
                match s.member_chat(id, user, chat_id) {
                    Err(e) => e,
                    Ok(c) if !c.is_admin(user) => err(id, ErrorCode::Forbidden),
                    Ok(c) => encode::invite_list(id, chat_id, &c.invites),
                }
            }
            fb::Body::RevokeInvite => {
                let user = me.unwrap().0;
                let r = f.body_as_revoke_invite().unwrap();
                let (chat_id, code) = (r.chat_id(), r.code().unwrap_or("").to_owned());
                match s.member_chat(id, user, chat_id) {
                    Err(e) => e,
                    Ok(c) => match c.invites.iter().position(|i| i.code == code) {
                        None => err(id, ErrorCode::InviteNotFound),
                        Some(i) if c.invites[i].created_by != user && !c.is_admin(user) => err(id, ErrorCode::Forbidden),
                        Some(i) => {
                            s.chats.get_mut(&chat_id).unwrap().invites[i].revoked = true;
                            encode::ok(id)
                        }
                    },
                }
            }
            fb::Body::PreviewChat => {
                let user = me.unwrap().0;
                let p = f.body_as_preview_chat().unwrap();
                match s.chat_by(id, p.invite_code().unwrap_or(""), p.handle().unwrap_or("")) {
                    Err(e) => e,
                    Ok((chat_id, _)) => {
                        let c = &s.chats[&chat_id];
                        encode::chat_preview(
                            id,
                            &encode::ChatPreviewArgs {
                                chat_id,
                                kind: c.kind,
                                info: &c.info,
                                member_count: c.members.len() as u32,
                                is_member: c.role(user).is_some(),
                            },
                        )
                    }
                }
            }
            fb::Body::JoinChat => {
                let (user, device) = me.unwrap();
                let j = f.body_as_join_chat().unwrap();
                match s.chat_by(id, j.invite_code().unwrap_or(""), j.handle().unwrap_or("")) {
                    Err(e) => e,
                    Ok((chat_id, _)) if s.chats[&chat_id].role(user).is_some() => chat_info(id, &s, chat_id, user),
                    Ok((chat_id, invite)) => {
                        let c = &s.chats[&chat_id];
                        if c.info.settings.approve_joins {
                            if c.requests.iter().all(|r| r.0 != user) {
                                s.count_use(chat_id, &invite);
                                s.chats.get_mut(&chat_id).unwrap().requests.push((user, now_ms()));
                            }
                            encode::join_pending(id, chat_id)
                        } else {
                            let channel = c.kind == fb::ChatKind::Channel;
                            s.count_use(chat_id, &invite);
                            let via = if invite.is_some() { fb::JoinedVia::InviteLink } else { fb::JoinedVia::Handle };
                            s.add(&kn, chat_id, (user, device), &[user], via);
                            if channel {
                                s.push_to_user(user, &encode::membership_changed(chat_id, true), Some(&out));
                            }
                            chat_info(id, &s, chat_id, user)
                        }
                    }
                }
            }
            fb::Body::ListJoinRequests => {
                let user = me.unwrap().0;
                let chat_id = f.body_as_list_join_requests().unwrap().chat_id();
                match s.member_chat(id, user, chat_id) {
                    Err(e) => e,
                    Ok(c) if !c.is_admin(user) => err(id, ErrorCode::Forbidden),
                    Ok(c) => encode::join_request_list(id, chat_id, &c.requests),
                }
            }
            fb::Body::ResolveJoinRequest => {
                let (user, device) = me.unwrap();
                let r = f.body_as_resolve_join_request().unwrap();
                let (chat_id, target) = (r.chat_id(), r.user_id());
                match s.member_chat(id, user, chat_id) {
                    Err(e) => e,
                    Ok(c) if !c.is_admin(user) => err(id, ErrorCode::Forbidden),
                    Ok(c) if c.requests.iter().all(|q| q.0 != target) => err(id, ErrorCode::UserNotFound),
                    Ok(_) => {
                        s.chats.get_mut(&chat_id).unwrap().requests.retain(|q| q.0 != target);
                        if r.approve() {
                            s.add(&kn, chat_id, (user, device), &[target], fb::JoinedVia::Approved);
                        }
                        encode::ok(id)
                    }
                }
            }
            fb::Body::SetChatState => {
                let user = me.unwrap().0;
                let c = f.body_as_set_chat_state().unwrap();
                let chat_id = c.chat_id();
                let pinned = s.chat_states.iter().filter(|((u, _), st)| *u == user && st.pin_rank != 0).count();
                let mut state = s.state(user, chat_id);
                let bits = c.fields();
                if let Err(e) = s.member_chat(id, user, chat_id) {
                    e
                } else if bits & wchat::state_fields::PINNED != 0 && c.pinned() && state.pin_rank == 0 && pinned >= 10 {
                    err(id, ErrorCode::LimitReached)
                } else {
                    if bits & wchat::state_fields::MUTED_UNTIL != 0 {
                        state.muted_until_ms = c.muted_until_ms();
                    }
                    if bits & wchat::state_fields::PINNED != 0 {
                        state.pin_rank = if !c.pinned() {
                            0
                        } else if state.pin_rank != 0 {
                            state.pin_rank
                        } else {
                            s.next_pin_rank += 1;
                            s.next_pin_rank
                        };
                    }
                    if bits & wchat::state_fields::ARCHIVED != 0 {
                        state.archived = c.archived();
                    }
                    if bits & wchat::state_fields::MARKED_UNREAD != 0 {
                        state.marked_unread = c.marked_unread();
                    }
                    s.chat_states.insert((user, chat_id), state);
                    s.push_to_user(user, &encode::chat_state_changed(0, chat_id, &state), Some(&out));
                    encode::chat_state_changed(id, chat_id, &state)
                }
            }
            fb::Body::ReorderPinned => {
                let user = me.unwrap().0;
                let order: Vec<u64> = f.body_as_reorder_pinned().unwrap().chat_ids().map(|v| v.iter().collect()).unwrap_or_default();
                let mut pinned: Vec<u64> =
                    s.chat_states.iter().filter(|((u, _), st)| *u == user && st.pin_rank != 0).map(|((_, c), _)| *c).collect();
                let mut sorted = order.clone();
                sorted.sort_unstable();
                pinned.sort_unstable();
                if sorted != pinned {
                    err(id, ErrorCode::InvalidArgument)
                } else {
                    // First = highest rank.
                    for (i, &chat_id) in order.iter().enumerate() {
                        let mut state = s.state(user, chat_id);
                        state.pin_rank = (order.len() - i) as u64;
                        s.chat_states.insert((user, chat_id), state);
                        s.push_to_user(user, &encode::chat_state_changed(0, chat_id, &state), None);
                    }
                    encode::ok(id)
                }
            }
            fb::Body::ListChats => {
                let user = me.unwrap().0;
                let l = f.body_as_list_chats().unwrap();
                let mut mine: Vec<(u64, i64, wchat::State)> = s
                    .chats
                    .iter()
                    .filter(|(_, c)| c.role(user).is_some())
                    .map(|(&chat_id, c)| (chat_id, c.events.len() as i64, s.state(user, chat_id)))
                    .collect();
                if l.order() == fb::ChatOrder::ByActivity {
                    // Activity here is the log length; pinned first on the first page.
                    mine.retain(|(_, _, st)| st.archived == l.archived());
                    mine.sort_by_key(|&(chat_id, activity, st)| {
                        let pinned = st.pin_rank != 0 && !l.archived();
                        (std::cmp::Reverse(pinned), std::cmp::Reverse(if pinned { st.pin_rank as i64 } else { activity }), std::cmp::Reverse(chat_id))
                    });
                } else {
                    mine.sort_by_key(|&(chat_id, _, _)| chat_id);
                    mine.retain(|&(chat_id, _, _)| chat_id > l.after_chat_id());
                }
                let rows: Vec<_> = mine
                    .iter()
                    .map(|&(chat_id, activity, state)| {
                        let c = &s.chats[&chat_id];
                        encode::ChatSummaryArgs {
                            chat_id,
                            kind: c.kind,
                            title: &c.info.title,
                            last_seq: c.events.len() as u64,
                            member_count: c.members.len() as u32,
                            last_activity_ms: activity,
                            state,
                            my_role: c.role(user).unwrap(),
                            handle: &c.info.handle,
                            avatar_ref: &c.info.avatar_ref,
                            ..Default::default()
                        }
                    })
                    .collect();
                encode::chat_list(id, &rows)
            }
            fb::Body::SaveBroadcastList => {
                let user = me.unwrap().0;
                let b = f.body_as_save_broadcast_list().unwrap();
                let name = b.name().unwrap_or("").to_owned();
                let recipients: Vec<u64> = b.recipient_ids().map(|v| v.iter().collect()).unwrap_or_default();
                let list_id = b.list_id();
                let foreign = list_id != 0 && s.broadcast_lists.get(&list_id).is_none_or(|l| l.0 != user);
                if name.is_empty() || recipients.is_empty() || recipients.len() > 256 || foreign {
                    err(id, ErrorCode::InvalidArgument)
                } else {
                    let list_id = if list_id == 0 { s.id() } else { list_id };
                    s.broadcast_lists.insert(list_id, (user, name.clone(), recipients.clone()));
                    encode::broadcast_list(id, list_id, &name, &recipients)
                }
            }
            fb::Body::DeleteBroadcastList => {
                let user = me.unwrap().0;
                let list_id = f.body_as_delete_broadcast_list().unwrap().list_id();
                if s.broadcast_lists.get(&list_id).is_some_and(|l| l.0 == user) {
                    s.broadcast_lists.remove(&list_id);
                    encode::ok(id)
                } else {
                    err(id, ErrorCode::InvalidArgument)
                }
            }
            fb::Body::ListBroadcastLists => {
                let user = me.unwrap().0;
                let mut lists: Vec<(u64, &str, &[u64])> = s
                    .broadcast_lists
                    .iter()
                    .filter(|(_, l)| l.0 == user)
                    .map(|(&id, l)| (id, l.1.as_str(), l.2.as_slice()))
                    .collect();
                lists.sort_by_key(|l| l.0);
                encode::broadcast_lists(id, &lists)
            }
            fb::Body::SendBroadcast => {
                let (user, device) = me.unwrap();
                let b = f.body_as_send_broadcast().unwrap();
                let (list_id, cmid, content) = (b.list_id(), b.client_msg_id().unwrap_or("").to_owned(), b.content().unwrap_or("").to_owned());
                match s.broadcast_lists.get(&list_id).filter(|l| l.0 == user).map(|l| l.2.clone()) {
                    None => err(id, ErrorCode::InvalidArgument),
                    Some(recipients) => {
                        let mut results = Vec::new();
                        for r in recipients {
                            let key = format!("{cmid}@{r}");
                            if let Some(&(chat_id, message_id, seq)) = s.acks.get(&(device, key.clone())) {
                                results.push(BroadcastResultArgs { user_id: r, chat_id, message_id, seq, error_code: 0 });
                            } else if !s.users.values().any(|(u, _)| *u == r) {
                                results.push(BroadcastResultArgs { user_id: r, error_code: ErrorCode::UserNotFound as u16, ..Default::default() });
                            } else {
                                let chat_id = s.direct_with(&kn, (user, device), r);
                                let message_id = s.id();
                                let seq = s.append(&kn, chat_id, |seq| {
                                    let h = encode::EventHeader { chat_id, seq, sender_id: user, sender_device_id: device, time_ms: 0 };
                                    encode::message_event(&h, message_id, &key, &content)
                                });
                                s.acks.insert((device, key), (chat_id, message_id, seq));
                                results.push(BroadcastResultArgs { user_id: r, chat_id, message_id, seq, error_code: 0 });
                            }
                        }
                        encode::broadcast_ack(id, list_id, &cmid, now_ms(), &results)
                    }
                }
            }
            fb::Body::SendMessage => {
                let (user, device) = me.unwrap();
                let m = f.body_as_send_message().unwrap();
                let (chat_id, cmid, content) = (m.chat_id(), m.client_msg_id().unwrap().to_owned(), m.content().unwrap().to_owned());
                if kn.rate_limit_next_send.swap(false, Ordering::SeqCst) {
                    encode::error(id, ErrorCode::RateLimited, "slow down", 50)
                } else if let Some(&(chat, message_id, seq)) = s.acks.get(&(device, cmid.clone())) {
                    encode::send_ack(id, chat, &cmid, message_id, seq, 0)
                } else if s.chats.get(&chat_id).is_none_or(|c| c.role(user).is_none()) {
                    encode::error(id, ErrorCode::ChatNotFound, "no such chat", 0)
                } else if !s.chats[&chat_id].allowed(user, s.chats[&chat_id].info.settings.post)
                    || (s.chats[&chat_id].kind == fb::ChatKind::Channel && !s.chats[&chat_id].is_admin(user))
                {
                    err(id, ErrorCode::Forbidden)
                } else {
                    let message_id = s.id();
                    let seq = s.append(&kn, chat_id, |seq| {
                        let h = encode::EventHeader { chat_id, seq, sender_id: user, sender_device_id: device, time_ms: 0 };
                        encode::message_event(&h, message_id, &cmid, &content)
                    });
                    s.acks.insert((device, cmid.clone()), (chat_id, message_id, seq));
                    if kn.drop_before_next_ack.swap(false, Ordering::SeqCst) {
                        // Durable but unacknowledged: the client must resend and get this ack.
                        s.live.retain(|(_, _, tx)| !tx.same_channel(&out));
                        return;
                    }
                    encode::send_ack(id, chat_id, &cmid, message_id, seq, 0)
                }
            }
            fb::Body::History => {
                kn.history_calls.fetch_add(1, Ordering::SeqCst);
                let h = f.body_as_history().unwrap();
                let limit = if h.limit() == 0 { 50 } else { h.limit() as usize };
                let chat = &s.chats[&h.chat_id()];
                let all: Vec<_> = chat.events.iter().enumerate().map(|(i, e)| (i as u64 + 1, e)).collect();
                let page: Vec<&Bytes> = if h.direction() == fb::Direction::Forward {
                    all.iter().filter(|(seq, _)| *seq > h.from_seq()).take(limit).map(|(_, e)| *e).collect()
                } else {
                    let before: Vec<_> = all.iter().filter(|(seq, _)| h.from_seq() == 0 || *seq < h.from_seq()).collect();
                    before[before.len().saturating_sub(limit)..].iter().map(|(_, e)| *e).collect()
                };
                encode::history_page(id, h.chat_id(), &page, false)
            }
            fb::Body::Ping => encode::pong(id, f.body_as_ping().unwrap().nonce(), 0),
            fb::Body::Logout => {
                let (_, device) = me.unwrap();
                s.revoked.push(device);
                s.live.retain(|(_, _, tx)| !tx.same_channel(&out));
                let _ = out.send(encode::ok(id));
                return;
            }
            _ => encode::error(id, ErrorCode::InvalidArgument, "not in the mock", 0),
        };
        drop(s);
        let _ = out.send(reply);
    }
    st.lock().unwrap().live.retain(|(_, _, tx)| !tx.same_channel(&out));
}

fn chat_info(id: u64, s: &State, chat_id: u64, user: u64) -> Bytes {
    let c = &s.chats[&chat_id];
    let my_role = c.role(user).unwrap();
    let admin = c.is_admin(user);
    // The owner and admins first, then members by id; a channel's subscribers only for admins.
    let mut members: Vec<MemberEntry> = c.members.clone();
    members.sort_by_key(|m| (m.role == fb::Role::Member, std::cmp::Reverse(m.role.0), m.user_id));
    if c.kind == fb::ChatKind::Channel && !admin {
        members.retain(|m| m.role != fb::Role::Member);
    }
    let complete = members.len() <= 100 && members.len() == c.members.len();
    members.truncate(100);
    encode::chat_info(
        id,
        &encode::ChatInfoArgs {
            chat_id,
            kind: c.kind,
            info: &c.info,
            members: &members,
            members_complete: complete,
            member_count: c.members.len() as u32,
            my_role,
            last_seq: c.events.len() as u64,
            created_ms: 0,
            pending_requests: if admin { c.requests.len() as u32 } else { 0 },
        },
    )
}
