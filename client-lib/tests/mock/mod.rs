//! A small in-process stand-in for the engine, speaking the real wire protocol over QUIC and
//! WebSocket, so the client's reconnect, resume, gap-fill and outbox logic is exercised on real
//! sockets before (and independently of) the engine. It keeps everything in memory and has
//! knobs to misbehave on purpose.

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
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
}

struct Chat {
    kind: fb::ChatKind,
    title: String,
    members: Vec<u64>,
    events: Vec<Bytes>,
}

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Appends an event built by `make(seq)` and pushes it to every synced member connection.
    fn append(&mut self, knobs: &Knobs, chat_id: u64, make: impl FnOnce(u64) -> Bytes) -> u64 {
        let chat = self.chats.get_mut(&chat_id).unwrap();
        let seq = chat.events.len() as u64 + 1;
        let event = make(seq);
        chat.events.push(event.clone());
        let frame = encode::deliver(&event);
        let skip = *knobs.skip_live.lock().unwrap();
        for (user, _, tx) in &self.live {
            if chat.members.contains(user) && skip != Some((*user, seq)) {
                let _ = tx.send(frame.clone());
            }
        }
        seq
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
                    if chat.members.contains(&user) {
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
                let mut members = vec![user];
                members.extend(g.member_ids().unwrap().iter());
                let chat_id = s.id();
                let title = g.title().unwrap_or("").to_owned();
                s.chats.insert(chat_id, Chat { kind: fb::ChatKind::Group, title: title.clone(), members: members.clone(), events: vec![] });
                let roles: Vec<_> =
                    members.iter().map(|&m| (m, if m == user { fb::Role::Admin } else { fb::Role::Member })).collect();
                s.append(&kn, chat_id, |seq| {
                    let h = encode::EventHeader { chat_id, seq, sender_id: user, sender_device_id: device, time_ms: 0 };
                    encode::chat_created_event(&h, fb::ChatKind::Group, &title, &roles)
                });
                chat_info(id, &s, chat_id)
            }
            fb::Body::GetChat => {
                let chat_id = f.body_as_get_chat().unwrap().chat_id();
                match s.chats.get(&chat_id) {
                    Some(c) if c.members.contains(&me.unwrap().0) => chat_info(id, &s, chat_id),
                    _ => encode::error(id, ErrorCode::ChatNotFound, "no such chat", 0),
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
                } else if !s.chats.get(&chat_id).is_some_and(|c| c.members.contains(&user)) {
                    encode::error(id, ErrorCode::ChatNotFound, "no such chat", 0)
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

fn chat_info(id: u64, s: &State, chat_id: u64) -> Bytes {
    let c = &s.chats[&chat_id];
    let members: Vec<_> = c.members.iter().map(|&m| (m, fb::Role::Member)).collect();
    encode::chat_info(
        id,
        &encode::ChatInfoArgs {
            chat_id,
            kind: c.kind,
            title: &c.title,
            members: &members,
            last_seq: c.events.len() as u64,
            created_ms: 0,
        },
    )
}
