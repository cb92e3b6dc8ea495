//! A raw-frame peer for wire tests: one signed-in, synced connection that sends frames as an
//! independent client would and reads answers by request id, keeping the pushes that arrive in
//! between; with helpers to build common requests and to read what was delivered.

use crate::{TestEngine, PASSWORD, WAIT};
use magpie_client::transport::Connection;
use magpie_client::TransportPref;
use magpie_wire::chat::Settings;
use magpie_wire::limits::{MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use magpie_wire::{encode, fb, verify, Bytes, ErrorCode};
use std::time::Duration;

/// One signed-in, synced raw connection.
pub struct Peer {
    pub c: Connection,
    pub user_id: u64,
    pub token: String,
    next: u64,
    /// Pushes (request id 0) read while waiting for replies.
    pub pushes: Vec<Bytes>,
}

/// A unique name per run and transport (handles and usernames are global).
pub fn name(base: &str, t: TransportPref) -> String {
    format!("{base}_{}", if t == TransportPref::Quic { "q" } else { "w" })
}

impl Peer {
    pub async fn register(e: &TestEngine, t: TransportPref, who: &str) -> Peer {
        Self::start(e, t, encode::register(2, &name(who, t), PASSWORD, "phone")).await
    }

    pub async fn login(e: &TestEngine, t: TransportPref, who: &str, device: &str) -> Peer {
        Self::start(e, t, encode::login(2, &name(who, t), PASSWORD, device)).await
    }

    pub async fn start(e: &TestEngine, t: TransportPref, auth: Bytes) -> Peer {
        let mut c = e.raw(t).await;
        c.send(encode::hello(1, PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, 0, "conversations-test")).await.unwrap();
        c.send(auth.clone()).await.unwrap();
        let mut p = Peer { c, user_id: 0, token: String::new(), next: 10, pushes: Vec::new() };
        p.read(1).await;
        let a = p.read(2).await;
        let f = verify::server_frame(&a).unwrap();
        let a = f.body_as_authenticated().unwrap_or_else(|| panic!("signed in: {:?}", f.body_type()));
        p.user_id = a.user_id();
        p.token = a.token().unwrap_or("").to_string();
        let done = p.ask(|rid| encode::sync(rid, &[])).await;
        assert_eq!(body(&done), fb::Body::SyncDone);
        p
    }

    /// Reads until the frame with `request_id`, keeping pushes.
    pub async fn read(&mut self, request_id: u64) -> Bytes {
        loop {
            let f = tokio::time::timeout(WAIT, self.c.recv()).await.expect("an answer in time").expect("connection open");
            let rid = verify::server_frame(&f).expect("valid server frame").request_id();
            if rid == request_id {
                return f;
            }
            assert_eq!(rid, 0, "an answer to a request we did not make");
            self.pushes.push(f);
        }
    }

    pub async fn ask(&mut self, make: impl FnOnce(u64) -> Bytes) -> Bytes {
        self.next += 1;
        let rid = self.next;
        self.c.send(make(rid)).await.unwrap();
        self.read(rid).await
    }

    /// The error code the request is refused with (fails if it succeeds).
    pub async fn refused(&mut self, make: impl FnOnce(u64) -> Bytes) -> ErrorCode {
        let reply = self.ask(make).await;
        let f = verify::server_frame(&reply).unwrap();
        let e = f.body_as_error().unwrap_or_else(|| panic!("expected a refusal, got {:?}", f.body_type()));
        ErrorCode::from_u16(e.code()).unwrap()
    }

    /// Pushes that arrive within `d` (and those already read).
    pub async fn drain(&mut self, d: Duration) -> Vec<Bytes> {
        while let Ok(Ok(f)) = tokio::time::timeout(d, self.c.recv()).await {
            self.pushes.push(f);
        }
        std::mem::take(&mut self.pushes)
    }

    /// Waits for a push matching `want`.
    pub async fn push(&mut self, want: impl Fn(&fb::Frame<'_>) -> bool) -> Bytes {
        if let Some(i) = self.pushes.iter().position(|p| want(&verify::server_frame(p).unwrap())) {
            return self.pushes.remove(i);
        }
        loop {
            let f = tokio::time::timeout(WAIT, self.c.recv()).await.expect("the push in time").unwrap();
            if want(&verify::server_frame(&f).unwrap()) {
                return f;
            }
            self.pushes.push(f);
        }
    }
}

pub fn body(b: &[u8]) -> fb::Body {
    verify::server_frame(b).unwrap().body_type()
}

pub fn chat_id_of(info: &[u8]) -> u64 {
    let f = verify::server_frame(info).unwrap();
    f.body_as_chat_info().unwrap_or_else(|| panic!("ChatInfo, not {:?}", f.body_type())).chat_id()
}

/// The delivered events of `chat_id` among `pushes`: (seq, body type, sender).
pub fn delivered(pushes: &[Bytes], chat_id: u64) -> Vec<(u64, fb::EventBody, u64)> {
    pushes
        .iter()
        .filter_map(|p| {
            let f = verify::server_frame(p).unwrap();
            let e = verify::event(f.body_as_deliver()?.event()?.bytes()).unwrap();
            (e.chat_id() == chat_id).then(|| (e.seq(), e.body_type(), e.sender_id()))
        })
        .collect()
}

pub fn is_delivery(chat_id: u64, kind: fb::EventBody) -> impl Fn(&fb::Frame<'_>) -> bool {
    move |f| {
        f.body_as_deliver().and_then(|d| d.event()).is_some_and(|e| {
            let e = verify::event(e.bytes()).unwrap();
            e.chat_id() == chat_id && e.body_type() == kind
        })
    }
}

pub fn create(kind: fb::ChatKind, title: &str, members: &[u64], handle: &str, settings: Settings) -> impl FnOnce(u64) -> Bytes {
    let (title, handle, members) = (title.to_string(), handle.to_string(), members.to_vec());
    move |rid| {
        encode::create_chat(rid, &encode::CreateChatArgs { kind, title: &title, member_ids: &members, description: "", handle: &handle, settings: Some(settings) })
    }
}

pub fn send(chat_id: u64, id: &str, text: &str) -> impl FnOnce(u64) -> Bytes {
    let (id, text) = (id.to_string(), text.to_string());
    move |rid| encode::send_message(rid, chat_id, &id, &text)
}

