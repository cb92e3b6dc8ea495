//! Owned replies to requests, and the decoding of every frame the server sends.

use crate::error::{ClientError, Result};
use crate::events::{decode_event, members_of, ChatEvent, ChatKind, Role};
use magpie_wire::{fb, verify, ErrorCode};
use std::time::Duration;

/// The server's answer to `Hello`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Welcome {
    pub protocol_version: u16,
    pub features: u64,
    pub server_name: String,
    pub max_content_bytes: u32,
    pub max_frame_bytes: u32,
    pub server_time_ms: i64,
    pub node_id: u64,
}

/// Who this client is signed in as.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Account {
    pub user_id: u64,
    pub device_id: u64,
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub device_id: u64,
    pub name: String,
    pub created_ms: i64,
    /// The device of this client's connection.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub user_id: u64,
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatInfo {
    pub chat_id: u64,
    pub kind: ChatKind,
    pub title: String,
    pub members: Vec<(u64, Role)>,
    pub last_seq: u64,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSummary {
    pub chat_id: u64,
    pub kind: ChatKind,
    pub title: String,
    pub last_seq: u64,
    pub member_count: u32,
    /// The chat's latest message, if it has one.
    pub last_message: Option<ChatEvent>,
}

/// A page of a chat's history, always in ascending `seq` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    pub chat_id: u64,
    pub events: Vec<ChatEvent>,
    pub has_more: bool,
}

/// The server's promise that a message is durable, with its place in the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendAck {
    pub chat_id: u64,
    pub client_msg_id: String,
    pub message_id: u64,
    pub seq: u64,
    pub time_ms: i64,
}

/// Answer to [`Client::ping`](crate::Client::ping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pong {
    pub nonce: u64,
    pub server_time_ms: i64,
    /// Round trip as seen by the caller, including time spent queued in the client.
    pub rtt: Duration,
}

/// A decoded reply frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Ok,
    Welcome(Welcome),
    Authenticated { account: Account, token: String },
    Devices(Vec<Device>),
    User(UserInfo),
    Users(Vec<UserInfo>),
    Chat(ChatInfo),
    Chats { chats: Vec<ChatSummary>, has_more: bool },
    Ack(SendAck),
    SyncDone { chats: u32, events: u64 },
    Page(HistoryPage),
    Pong { nonce: u64, server_time_ms: i64 },
}

impl Reply {
    fn name(&self) -> &'static str {
        match self {
            Reply::Ok => "Ok",
            Reply::Welcome(_) => "Welcome",
            Reply::Authenticated { .. } => "Authenticated",
            Reply::Devices(_) => "DeviceList",
            Reply::User(_) => "UserInfo",
            Reply::Users(_) => "UserList",
            Reply::Chat(_) => "ChatInfo",
            Reply::Chats { .. } => "ChatList",
            Reply::Ack(_) => "SendAck",
            Reply::SyncDone { .. } => "SyncDone",
            Reply::Page(_) => "HistoryPage",
            Reply::Pong { .. } => "Pong",
        }
    }

    /// The error for a reply of the wrong type.
    pub(crate) fn unexpected(&self, wanted: &str) -> ClientError {
        ClientError::UnexpectedReply(format!("expected {wanted}, got {}", self.name()))
    }
}

/// A decoded frame from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inbound {
    /// The answer to request `request_id`: a reply or the server's `Error`.
    Reply { request_id: u64, result: Result<Reply> },
    /// A pushed event (a broken nested event is reported, not fatal: gap filling recovers it).
    Deliver(Result<ChatEvent>),
    /// The server is about to close the connection.
    Close { code: Option<ErrorCode>, reason: String },
}

fn text(s: Option<&str>) -> String {
    // The encoder omits empty strings, so an absent string field means "".
    s.unwrap_or_default().to_owned()
}

fn missing(what: &str) -> ClientError {
    ClientError::UnexpectedReply(format!("{what} without a body"))
}

/// Verifies a frame from the server and decodes it, nested events included.
pub(crate) fn decode_frame(buf: &[u8]) -> Result<Inbound> {
    let frame = verify::server_frame(buf).map_err(ClientError::Decode)?;
    let request_id = frame.request_id();
    let reply = match frame.body_type() {
        // Close is recognised whatever its request id: it also answers a refused Hello.
        fb::Body::Close => {
            let c = frame.body_as_close().ok_or_else(|| missing("Close"))?;
            return Ok(Inbound::Close { code: ErrorCode::from_u16(c.code()), reason: text(c.reason()) });
        }
        fb::Body::Deliver => {
            let d = frame.body_as_deliver().ok_or_else(|| missing("Deliver"))?;
            let event = match d.event() {
                Some(bytes) => decode_event(bytes.bytes()),
                None => Err(ClientError::Decode(ErrorCode::MalformedFrame)),
            };
            return Ok(Inbound::Deliver(event));
        }
        fb::Body::Error => {
            let e = frame.body_as_error().ok_or_else(|| missing("Error"))?;
            Err(ClientError::from_wire(e.code(), text(e.message()), e.retry_after_ms()))
        }
        fb::Body::Ok => Ok(Reply::Ok),
        fb::Body::Welcome => {
            let w = frame.body_as_welcome().ok_or_else(|| missing("Welcome"))?;
            Ok(Reply::Welcome(Welcome {
                protocol_version: w.protocol_version(),
                features: w.features(),
                server_name: text(w.server_name()),
                max_content_bytes: w.max_content_bytes(),
                max_frame_bytes: w.max_frame_bytes(),
                server_time_ms: w.server_time_ms(),
                node_id: w.node_id(),
            }))
        }
        fb::Body::Pong => {
            let p = frame.body_as_pong().ok_or_else(|| missing("Pong"))?;
            Ok(Reply::Pong { nonce: p.nonce(), server_time_ms: p.server_time_ms() })
        }
        fb::Body::Authenticated => {
            let a = frame.body_as_authenticated().ok_or_else(|| missing("Authenticated"))?;
            Ok(Reply::Authenticated {
                account: Account { user_id: a.user_id(), device_id: a.device_id(), username: text(a.username()) },
                token: text(a.token()),
            })
        }
        fb::Body::DeviceList => {
            let l = frame.body_as_device_list().ok_or_else(|| missing("DeviceList"))?;
            let devices = l
                .devices()
                .map(|v| {
                    v.iter()
                        .map(|d| Device {
                            device_id: d.device_id(),
                            name: text(d.name()),
                            created_ms: d.created_ms(),
                            current: d.current(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(Reply::Devices(devices))
        }
        fb::Body::UserInfo => {
            let u = frame.body_as_user_info().ok_or_else(|| missing("UserInfo"))?;
            Ok(Reply::User(UserInfo { user_id: u.user_id(), username: text(u.username()) }))
        }
        fb::Body::UserList => {
            let l = frame.body_as_user_list().ok_or_else(|| missing("UserList"))?;
            let users = l
                .users()
                .map(|v| v.iter().map(|u| UserInfo { user_id: u.user_id(), username: text(u.username()) }).collect())
                .unwrap_or_default();
            Ok(Reply::Users(users))
        }
        fb::Body::ChatInfo => {
            let c = frame.body_as_chat_info().ok_or_else(|| missing("ChatInfo"))?;
            Ok(Reply::Chat(ChatInfo {
                chat_id: c.chat_id(),
                kind: c.kind().into(),
                title: text(c.title()),
                members: members_of(c.members()),
                last_seq: c.last_seq(),
                created_ms: c.created_ms(),
            }))
        }
        fb::Body::ChatList => {
            let l = frame.body_as_chat_list().ok_or_else(|| missing("ChatList"))?;
            let has_more = l.has_more();
            chat_summaries(l).map(|chats| Reply::Chats { chats, has_more })
        }
        fb::Body::SendAck => {
            let a = frame.body_as_send_ack().ok_or_else(|| missing("SendAck"))?;
            Ok(Reply::Ack(SendAck {
                chat_id: a.chat_id(),
                client_msg_id: text(a.client_msg_id()),
                message_id: a.message_id(),
                seq: a.seq(),
                time_ms: a.time_ms(),
            }))
        }
        fb::Body::SyncDone => {
            let s = frame.body_as_sync_done().ok_or_else(|| missing("SyncDone"))?;
            Ok(Reply::SyncDone { chats: s.chats(), events: s.events() })
        }
        fb::Body::HistoryPage => {
            let p = frame.body_as_history_page().ok_or_else(|| missing("HistoryPage"))?;
            history_page(p).map(Reply::Page)
        }
        // verify::server_frame admits only frames a server sends, all handled above.
        _ => return Err(ClientError::Decode(ErrorCode::UnknownFrame)),
    };
    Ok(Inbound::Reply { request_id, result: reply })
}

fn chat_summaries(l: fb::ChatList<'_>) -> Result<Vec<ChatSummary>> {
    let Some(chats) = l.chats() else { return Ok(Vec::new()) };
    chats
        .iter()
        .map(|c| {
            Ok(ChatSummary {
                chat_id: c.chat_id(),
                kind: c.kind().into(),
                title: text(c.title()),
                last_seq: c.last_seq(),
                member_count: c.member_count(),
                last_message: c.last_message().map(|b| decode_event(b.bytes())).transpose()?,
            })
        })
        .collect()
}

fn history_page(p: fb::HistoryPage<'_>) -> Result<HistoryPage> {
    let events = match p.events() {
        None => Vec::new(),
        Some(blobs) => blobs
            .iter()
            .map(|blob| match blob.event() {
                Some(bytes) => decode_event(bytes.bytes()),
                None => Err(ClientError::Decode(ErrorCode::MalformedFrame)),
            })
            .collect::<Result<_>>()?,
    };
    Ok(HistoryPage { chat_id: p.chat_id(), events, has_more: p.has_more() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;
    use magpie_wire::encode::{self, EventHeader};

    fn reply(buf: &[u8]) -> (u64, Result<Reply>) {
        match decode_frame(buf).unwrap() {
            Inbound::Reply { request_id, result } => (request_id, result),
            other => panic!("not a reply: {other:?}"),
        }
    }

    fn ev(chat_id: u64, seq: u64) -> bytes::Bytes {
        let h = EventHeader { chat_id, seq, sender_id: 1, sender_device_id: 2, time_ms: 3 };
        encode::message_event(&h, seq * 10, &format!("c{seq}"), "hi")
    }

    #[test]
    fn decodes_replies() {
        assert_eq!(reply(&encode::ok(5)), (5, Ok(Reply::Ok)));
        assert_eq!(
            reply(&encode::authenticated(2, 10, 20, "alice", "secret")),
            (2, Ok(Reply::Authenticated {
                account: Account { user_id: 10, device_id: 20, username: "alice".into() },
                token: "secret".into()
            }))
        );
        assert_eq!(
            reply(&encode::error(9, ErrorCode::RateLimited, "slow", 300)),
            (9, Err(ClientError::Server { code: ErrorCode::RateLimited, message: "slow".into(), retry_after_ms: 300 }))
        );
        assert_eq!(
            reply(&encode::send_ack(4, 7, "m-1", 70, 3, 1000)),
            (4, Ok(Reply::Ack(SendAck { chat_id: 7, client_msg_id: "m-1".into(), message_id: 70, seq: 3, time_ms: 1000 })))
        );
        assert_eq!(reply(&encode::sync_done(3, 2, 40)), (3, Ok(Reply::SyncDone { chats: 2, events: 40 })));
        assert_eq!(reply(&encode::pong(6, 42, 99)), (6, Ok(Reply::Pong { nonce: 42, server_time_ms: 99 })));
        let devices = encode::device_list(
            8,
            &[encode::DeviceEntry { device_id: 1, name: "phone", created_ms: 5, current: true }],
        );
        assert_eq!(
            reply(&devices).1,
            Ok(Reply::Devices(vec![Device { device_id: 1, name: "phone".into(), created_ms: 5, current: true }]))
        );
    }

    #[test]
    fn decodes_chats_and_pages_with_nested_events() {
        let last = ev(3, 9);
        let list = encode::chat_list(
            1,
            &[
                encode::ChatSummaryArgs {
                    chat_id: 3,
                    kind: fb::ChatKind::Group,
                    title: "g",
                    last_seq: 9,
                    member_count: 4,
                    last_message: Some(&last),
                },
                encode::ChatSummaryArgs {
                    chat_id: 4,
                    kind: fb::ChatKind::Direct,
                    title: "",
                    last_seq: 0,
                    member_count: 2,
                    last_message: None,
                },
            ],
        );
        let Ok(Reply::Chats { chats, .. }) = reply(&list).1 else { panic!() };
        assert_eq!(chats.len(), 2);
        assert_eq!(chats[0].last_message.as_ref().map(|e| e.seq), Some(9));
        assert_eq!((chats[1].kind, chats[1].last_message.is_none()), (ChatKind::Direct, true));

        let page = encode::history_page(2, 3, &[ev(3, 1), ev(3, 2)], true);
        let Ok(Reply::Page(p)) = reply(&page).1 else { panic!() };
        assert_eq!((p.chat_id, p.has_more, p.events.iter().map(|e| e.seq).collect::<Vec<_>>()), (3, true, vec![1, 2]));

        // A page carrying a broken event is an error as a whole.
        let page = encode::history_page(2, 3, &[&ev(3, 1)[..], &[1, 2, 3][..]], false);
        assert!(matches!(reply(&page).1, Err(ClientError::Decode(_))));
    }

    #[test]
    fn pushes_and_close() {
        match decode_frame(&encode::deliver(&ev(5, 1))).unwrap() {
            Inbound::Deliver(Ok(e)) => {
                assert_eq!((e.chat_id, e.seq), (5, 1));
                assert!(matches!(e.kind, EventKind::Message { message_id: 10, .. }));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(decode_frame(&encode::deliver(b"junk")).unwrap(), Inbound::Deliver(Err(_))));
        assert_eq!(
            decode_frame(&encode::close(ErrorCode::Revoked, "gone")).unwrap(),
            Inbound::Close { code: Some(ErrorCode::Revoked), reason: "gone".into() }
        );
    }

    #[test]
    fn refuses_client_frames_and_garbage() {
        assert_eq!(decode_frame(&encode::ping(1, 1)), Err(ClientError::Decode(ErrorCode::UnknownFrame)));
        assert!(decode_frame(&[]).is_err());
        assert!(decode_frame(&[0u8; 64]).is_err());
    }
}
