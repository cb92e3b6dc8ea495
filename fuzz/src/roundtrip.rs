//! Target `roundtrip`: structured input (the `arbitrary` crate) → `magpie_wire::encode::*` →
//! `verify` → every field equal to what went in.
//!
//! Each frame is verified in the direction it flows (`client_frame` for requests, `server_frame`
//! for replies and pushes) and must be refused in the other. Events are checked through
//! `verify::event`, nested in `Deliver`, `HistoryPage` and `ChatList`, and through
//! `magpie_client::decode_event`. The encoder leaves empty strings out, so an absent string
//! reads back as "".

use arbitrary::{Arbitrary, Unstructured};
use magpie_client::{decode_event, ChatEvent, ChatSettings, EventKind, JoinedVia, Member};
use magpie_wire::chat::{Info, MemberEntry};
use magpie_wire::encode::{self, EventHeader};
use magpie_wire::limits::MAX_CLIENT_FRAME_BYTES;
use magpie_wire::{fb, verify, Bytes, ErrorCode};

#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Header {
    pub chat_id: u64,
    pub seq: u64,
    pub sender_id: u64,
    pub sender_device_id: u64,
    pub time_ms: i64,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum EventBody {
    Message { message_id: u64, client_msg_id: String, content: String },
    ChatCreated { kind: u8, title: String, members: Vec<(u64, u8)> },
    MembersAdded { user_ids: Vec<u64> },
    MemberRemoved { user_id: u64, left: bool },
}

#[derive(Arbitrary, Debug, Clone)]
pub struct Event {
    pub header: Header,
    pub body: EventBody,
}

#[derive(Arbitrary, Debug, Clone)]
pub struct Summary {
    pub chat_id: u64,
    pub kind: u8,
    pub title: String,
    pub last_seq: u64,
    pub member_count: u32,
    pub last_message: Option<Event>,
}

/// One frame (or stored event) to encode. `rid` is the request id.
#[derive(Arbitrary, Debug, Clone)]
pub enum Input {
    Hello { rid: u64, version: u16, min_version: u16, features: u64, client_name: String },
    Welcome { rid: u64, version: u16, features: u64, server_name: String, max_content: u32, max_frame: u32, time_ms: i64, node_id: u64 },
    Error { rid: u64, code: u8, message: String, retry_after_ms: u32 },
    Ok { rid: u64 },
    Close { code: u8, reason: String },
    Ping { rid: u64, nonce: u64 },
    Pong { rid: u64, nonce: u64, time_ms: i64 },
    Register { rid: u64, username: String, password: String, device_name: String },
    Login { rid: u64, username: String, password: String, device_name: String },
    Authenticate { rid: u64, token: String },
    Authenticated { rid: u64, user_id: u64, device_id: u64, username: String, token: String },
    Logout { rid: u64 },
    ListDevices { rid: u64 },
    DeviceList { rid: u64, devices: Vec<(u64, String, i64, bool)> },
    RevokeDevice { rid: u64, device_id: u64 },
    LookupUser { rid: u64, username: String },
    UserInfo { rid: u64, user_id: u64, username: String },
    GetUsers { rid: u64, user_ids: Vec<u64> },
    UserList { rid: u64, users: Vec<(u64, String)> },
    CreateDirect { rid: u64, peer_user_id: u64, peer_username: String },
    CreateGroup { rid: u64, title: String, member_ids: Vec<u64> },
    AddMembers { rid: u64, chat_id: u64, user_ids: Vec<u64> },
    RemoveMember { rid: u64, chat_id: u64, user_id: u64 },
    LeaveChat { rid: u64, chat_id: u64 },
    GetChat { rid: u64, chat_id: u64 },
    ChatInfo { rid: u64, chat_id: u64, kind: u8, title: String, members: Vec<(u64, u8)>, last_seq: u64, created_ms: i64 },
    ListChats { rid: u64 },
    ChatList { rid: u64, chats: Vec<Summary> },
    SendMessage { rid: u64, chat_id: u64, client_msg_id: String, content: String },
    SendAck { rid: u64, chat_id: u64, client_msg_id: String, message_id: u64, seq: u64, time_ms: i64 },
    Deliver { event: Event },
    DeliverRaw { bytes: Vec<u8> },
    Sync { rid: u64, cursors: Vec<(u64, u64)> },
    SyncDone { rid: u64, chats: u32, events: u64 },
    History { rid: u64, chat_id: u64, from_seq: u64, direction: u8, limit: u16 },
    HistoryPage { rid: u64, chat_id: u64, events: Vec<Event>, has_more: bool },
    StoredEvent { event: Event },
}

fn st(s: Option<&str>) -> &str {
    s.unwrap_or_default()
}

fn code(i: u8) -> ErrorCode {
    ErrorCode::ALL[i as usize % ErrorCode::ALL.len()]
}

/// Members with a since_seq derived from the id (the input predates the field).
fn roles(members: &[(u64, u8)]) -> Vec<MemberEntry> {
    members.iter().map(|&(id, r)| MemberEntry { user_id: id, role: fb::Role(r), since_seq: since(id) }).collect()
}

fn since(user_id: u64) -> u64 {
    user_id.rotate_left(17)
}

fn read_members(v: Option<flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<fb::Member<'_>>>>) -> Vec<(u64, u8)> {
    v.map(|v| {
        v.iter()
            .map(|m| {
                assert_eq!(m.since_seq(), since(m.user_id()));
                (m.user_id(), m.role().0)
            })
            .collect()
    })
    .unwrap_or_default()
}

fn read_ids(v: Option<flatbuffers::Vector<'_, u64>>) -> Vec<u64> {
    v.map(|v| v.iter().collect()).unwrap_or_default()
}

/// A join route derived from the ids (the input predates the field), unknown values included.
fn via(user_ids: &[u64]) -> fb::JoinedVia {
    fb::JoinedVia(user_ids.len() as u8)
}

/// Encodes a stored event.
pub fn encode_event(e: &Event) -> Bytes {
    let h = EventHeader {
        chat_id: e.header.chat_id,
        seq: e.header.seq,
        sender_id: e.header.sender_id,
        sender_device_id: e.header.sender_device_id,
        time_ms: e.header.time_ms,
    };
    match &e.body {
        EventBody::Message { message_id, client_msg_id, content } => encode::message_event(&h, *message_id, client_msg_id, content),
        EventBody::ChatCreated { kind, title, members } => {
            let info = Info { title: title.clone(), ..Info::default() };
            encode::chat_created_event(&h, fb::ChatKind(*kind), &info, &roles(members))
        }
        EventBody::MembersAdded { user_ids } => encode::members_added_event(&h, user_ids, via(user_ids)),
        EventBody::MemberRemoved { user_id, left } => encode::member_removed_event(&h, *user_id, *left),
    }
}

/// Checks encoded event bytes against what was encoded, through the verifier and client-lib.
fn check_event(e: &Event, bytes: &[u8]) {
    let v = verify::event(bytes).expect("an encoded event verifies");
    let h = &e.header;
    assert_eq!(
        (v.chat_id(), v.seq(), v.sender_id(), v.sender_device_id(), v.time_ms()),
        (h.chat_id, h.seq, h.sender_id, h.sender_device_id, h.time_ms)
    );
    let kind = match &e.body {
        EventBody::Message { message_id, client_msg_id, content } => {
            let m = v.body_as_message_body().expect("MessageBody");
            assert_eq!((m.message_id(), st(m.client_msg_id()), st(m.content())), (*message_id, &client_msg_id[..], &content[..]));
            EventKind::Message { message_id: *message_id, client_msg_id: client_msg_id.clone(), content: content.clone() }
        }
        EventBody::ChatCreated { kind, title, members } => {
            let c = v.body_as_chat_created().expect("ChatCreated");
            assert_eq!((c.kind().0, st(c.title()), read_members(c.members())), (*kind, &title[..], members.clone()));
            EventKind::ChatCreated {
                kind: fb::ChatKind(*kind).into(),
                title: title.clone(),
                members: members.iter().map(|&(id, r)| Member { user_id: id, role: fb::Role(r).into(), since_seq: since(id) }).collect(),
                description: String::new(),
                handle: String::new(),
                settings: ChatSettings::default(),
            }
        }
        EventBody::MembersAdded { user_ids } => {
            let m = v.body_as_members_added().expect("MembersAdded");
            assert_eq!((read_ids(m.user_ids()), m.via()), (user_ids.clone(), via(user_ids)));
            EventKind::MembersAdded { user_ids: user_ids.clone(), via: JoinedVia::from(via(user_ids)) }
        }
        EventBody::MemberRemoved { user_id, left } => {
            let m = v.body_as_member_removed().expect("MemberRemoved");
            assert_eq!((m.user_id(), m.left()), (*user_id, *left));
            EventKind::MemberRemoved { user_id: *user_id, left: *left }
        }
    };
    crate::walk::walk_event(v);
    let decoded = decode_event(bytes);
    if h.seq == 0 {
        assert!(decoded.is_err(), "decode_event accepted seq 0");
    } else {
        let want = ChatEvent {
            chat_id: h.chat_id,
            seq: h.seq,
            sender_id: h.sender_id,
            sender_device_id: h.sender_device_id,
            time_ms: h.time_ms,
            kind,
        };
        assert_eq!(decoded.as_ref(), Ok(&want));
    }
}

/// Verifies a request: accepted as a client frame (unless over the size limit), refused as a
/// server frame.
fn client(b: &[u8]) -> Option<fb::Frame<'_>> {
    assert!(verify::server_frame(b).is_err(), "a request verified as a server frame");
    if b.len() > MAX_CLIENT_FRAME_BYTES {
        assert_eq!(verify::client_frame(b).err(), Some(ErrorCode::FrameTooLarge));
        return None;
    }
    let f = verify::client_frame(b).expect("an encoded request verifies");
    crate::walk::walk_frame(f);
    Some(f)
}

/// Verifies a reply or push: accepted as a server frame, refused as a client frame.
fn server(b: &[u8]) -> fb::Frame<'_> {
    assert!(verify::client_frame(b).is_err(), "a server frame verified as a client frame");
    let f = verify::server_frame(b).expect("an encoded server frame verifies");
    crate::walk::walk_frame(f);
    f
}

/// Encodes, verifies and compares one input.
pub fn check(input: &Input) {
    match input {
        Input::Hello { rid, version, min_version, features, client_name } => {
            let b = encode::hello(*rid, *version, *min_version, *features, client_name);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_hello().unwrap();
            assert_eq!(f.request_id(), *rid);
            assert_eq!(
                (t.protocol_version(), t.min_protocol_version(), t.features(), st(t.client_name())),
                (*version, *min_version, *features, &client_name[..])
            );
        }
        Input::Welcome { rid, version, features, server_name, max_content, max_frame, time_ms, node_id } => {
            let a = encode::WelcomeArgs {
                protocol_version: *version,
                features: *features,
                server_name,
                max_content_bytes: *max_content,
                max_frame_bytes: *max_frame,
                server_time_ms: *time_ms,
                node_id: *node_id,
            };
            let b = encode::welcome(*rid, &a);
            let f = server(&b);
            let t = f.body_as_welcome().unwrap();
            assert_eq!(f.request_id(), *rid);
            assert_eq!(
                (t.protocol_version(), t.features(), st(t.server_name()), t.max_content_bytes(), t.max_frame_bytes()),
                (*version, *features, &server_name[..], *max_content, *max_frame)
            );
            assert_eq!((t.server_time_ms(), t.node_id()), (*time_ms, *node_id));
        }
        Input::Error { rid, code: c, message, retry_after_ms } => {
            let b = encode::error(*rid, code(*c), message, *retry_after_ms);
            let f = server(&b);
            let t = f.body_as_error().unwrap();
            assert_eq!(f.request_id(), *rid);
            assert_eq!(ErrorCode::from_u16(t.code()), Some(code(*c)));
            assert_eq!((st(t.message()), t.retry_after_ms()), (&message[..], *retry_after_ms));
        }
        Input::Ok { rid } => {
            let b = encode::ok(*rid);
            let f = server(&b);
            assert!(f.body_as_ok().is_some());
            assert_eq!(f.request_id(), *rid);
        }
        Input::Close { code: c, reason } => {
            let b = encode::close(code(*c), reason);
            let f = server(&b);
            let t = f.body_as_close().unwrap();
            assert_eq!(f.request_id(), 0);
            assert_eq!((ErrorCode::from_u16(t.code()), st(t.reason())), (Some(code(*c)), &reason[..]));
        }
        Input::Ping { rid, nonce } => {
            let b = encode::ping(*rid, *nonce);
            let Some(f) = client(&b) else { return };
            assert_eq!((f.request_id(), f.body_as_ping().unwrap().nonce()), (*rid, *nonce));
        }
        Input::Pong { rid, nonce, time_ms } => {
            let b = encode::pong(*rid, *nonce, *time_ms);
            let f = server(&b);
            let t = f.body_as_pong().unwrap();
            assert_eq!((f.request_id(), t.nonce(), t.server_time_ms()), (*rid, *nonce, *time_ms));
        }
        Input::Register { rid, username, password, device_name } => {
            let b = encode::register(*rid, username, password, device_name);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_register().unwrap();
            assert_eq!(f.request_id(), *rid);
            assert_eq!(
                (st(t.username()), st(t.password()), st(t.device_name())),
                (&username[..], &password[..], &device_name[..])
            );
        }
        Input::Login { rid, username, password, device_name } => {
            let b = encode::login(*rid, username, password, device_name);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_login().unwrap();
            assert_eq!(f.request_id(), *rid);
            assert_eq!(
                (st(t.username()), st(t.password()), st(t.device_name())),
                (&username[..], &password[..], &device_name[..])
            );
        }
        Input::Authenticate { rid, token } => {
            let b = encode::authenticate(*rid, token);
            let Some(f) = client(&b) else { return };
            assert_eq!((f.request_id(), st(f.body_as_authenticate().unwrap().token())), (*rid, &token[..]));
        }
        Input::Authenticated { rid, user_id, device_id, username, token } => {
            let b = encode::authenticated(*rid, *user_id, *device_id, username, token);
            let f = server(&b);
            let t = f.body_as_authenticated().unwrap();
            assert_eq!(f.request_id(), *rid);
            assert_eq!(
                (t.user_id(), t.device_id(), st(t.username()), st(t.token())),
                (*user_id, *device_id, &username[..], &token[..])
            );
        }
        Input::Logout { rid } => {
            let b = encode::logout(*rid);
            let Some(f) = client(&b) else { return };
            assert!(f.body_as_logout().is_some());
            assert_eq!(f.request_id(), *rid);
        }
        Input::ListDevices { rid } => {
            let b = encode::list_devices(*rid);
            let Some(f) = client(&b) else { return };
            assert!(f.body_as_list_devices().is_some());
            assert_eq!(f.request_id(), *rid);
        }
        Input::DeviceList { rid, devices } => {
            let entries: Vec<_> = devices
                .iter()
                .map(|(id, name, created, current)| encode::DeviceEntry {
                    device_id: *id,
                    name,
                    created_ms: *created,
                    current: *current,
                })
                .collect();
            let b = encode::device_list(*rid, &entries);
            let f = server(&b);
            assert_eq!(f.request_id(), *rid);
            let got: Vec<_> = f
                .body_as_device_list()
                .unwrap()
                .devices()
                .map(|v| v.iter().map(|d| (d.device_id(), st(d.name()).to_owned(), d.created_ms(), d.current())).collect())
                .unwrap_or_default();
            assert_eq!(&got, devices);
        }
        Input::RevokeDevice { rid, device_id } => {
            let b = encode::revoke_device(*rid, *device_id);
            let Some(f) = client(&b) else { return };
            assert_eq!((f.request_id(), f.body_as_revoke_device().unwrap().device_id()), (*rid, *device_id));
        }
        Input::LookupUser { rid, username } => {
            let b = encode::lookup_user(*rid, username);
            let Some(f) = client(&b) else { return };
            assert_eq!((f.request_id(), st(f.body_as_lookup_user().unwrap().username())), (*rid, &username[..]));
        }
        Input::UserInfo { rid, user_id, username } => {
            let b = encode::user_info(*rid, *user_id, username);
            let f = server(&b);
            let t = f.body_as_user_info().unwrap();
            assert_eq!((f.request_id(), t.user_id(), st(t.username())), (*rid, *user_id, &username[..]));
        }
        Input::GetUsers { rid, user_ids } => {
            let b = encode::get_users(*rid, user_ids);
            let Some(f) = client(&b) else { return };
            assert_eq!(f.request_id(), *rid);
            assert_eq!(&read_ids(f.body_as_get_users().unwrap().user_ids()), user_ids);
        }
        Input::UserList { rid, users } => {
            let pairs: Vec<(u64, &str)> = users.iter().map(|(id, n)| (*id, n.as_str())).collect();
            let b = encode::user_list(*rid, &pairs);
            let f = server(&b);
            assert_eq!(f.request_id(), *rid);
            let got: Vec<(u64, String)> = f
                .body_as_user_list()
                .unwrap()
                .users()
                .map(|v| v.iter().map(|u| (u.user_id(), st(u.username()).to_owned())).collect())
                .unwrap_or_default();
            assert_eq!(&got, users);
        }
        Input::CreateDirect { rid, peer_user_id, peer_username } => {
            let b = encode::create_direct(*rid, *peer_user_id, peer_username);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_create_direct().unwrap();
            assert_eq!((f.request_id(), t.peer_user_id(), st(t.peer_username())), (*rid, *peer_user_id, &peer_username[..]));
        }
        Input::CreateGroup { rid, title, member_ids } => {
            let b = encode::create_group(*rid, title, member_ids);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_create_group().unwrap();
            assert_eq!((f.request_id(), st(t.title()), &read_ids(t.member_ids())), (*rid, &title[..], member_ids));
            assert_eq!((t.kind(), t.settings().is_none()), (fb::ChatKind::Group, true));
            assert!(verify::client_enums(&f).is_ok());
        }
        Input::AddMembers { rid, chat_id, user_ids } => {
            let b = encode::add_members(*rid, *chat_id, user_ids);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_add_members().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), &read_ids(t.user_ids())), (*rid, *chat_id, user_ids));
        }
        Input::RemoveMember { rid, chat_id, user_id } => {
            let b = encode::remove_member(*rid, *chat_id, *user_id);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_remove_member().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), t.user_id()), (*rid, *chat_id, *user_id));
        }
        Input::LeaveChat { rid, chat_id } => {
            let b = encode::leave_chat(*rid, *chat_id);
            let Some(f) = client(&b) else { return };
            let l = f.body_as_leave_chat().unwrap();
            assert_eq!((f.request_id(), l.chat_id(), l.successor()), (*rid, *chat_id, 0));
        }
        Input::GetChat { rid, chat_id } => {
            let b = encode::get_chat(*rid, *chat_id);
            let Some(f) = client(&b) else { return };
            assert_eq!((f.request_id(), f.body_as_get_chat().unwrap().chat_id()), (*rid, *chat_id));
        }
        Input::ChatInfo { rid, chat_id, kind, title, members, last_seq, created_ms } => {
            let m = roles(members);
            let info = Info { title: title.clone(), ..Info::default() };
            let a = encode::ChatInfoArgs {
                chat_id: *chat_id,
                kind: fb::ChatKind(*kind),
                info: &info,
                members: &m,
                members_complete: true,
                member_count: m.len() as u32,
                my_role: fb::Role::Member,
                last_seq: *last_seq,
                created_ms: *created_ms,
                pending_requests: 0,
            };
            let b = encode::chat_info(*rid, &a);
            let f = server(&b);
            let t = f.body_as_chat_info().unwrap();
            assert_eq!(f.request_id(), *rid);
            assert_eq!(
                (t.chat_id(), t.kind().0, st(t.title()), read_members(t.members()), t.last_seq(), t.created_ms()),
                (*chat_id, *kind, &title[..], members.clone(), *last_seq, *created_ms)
            );
        }
        Input::ListChats { rid } => {
            let b = encode::list_chats(*rid);
            let Some(f) = client(&b) else { return };
            assert!(f.body_as_list_chats().is_some());
            assert_eq!(f.request_id(), *rid);
        }
        Input::ChatList { rid, chats } => {
            let events: Vec<Option<Bytes>> = chats.iter().map(|c| c.last_message.as_ref().map(encode_event)).collect();
            let args: Vec<_> = chats
                .iter()
                .zip(&events)
                .map(|(c, e)| encode::ChatSummaryArgs {
                    chat_id: c.chat_id,
                    kind: fb::ChatKind(c.kind),
                    title: &c.title,
                    last_seq: c.last_seq,
                    member_count: c.member_count,
                    last_message: e.as_deref(),
                    ..Default::default()
                })
                .collect();
            let b = encode::chat_list(*rid, &args);
            let f = server(&b);
            assert_eq!(f.request_id(), *rid);
            let got: Vec<_> = f.body_as_chat_list().unwrap().chats().map(|v| v.iter().collect()).unwrap_or_default();
            assert_eq!(got.len(), chats.len());
            for ((g, c), e) in got.iter().zip(chats).zip(&events) {
                assert_eq!(
                    (g.chat_id(), g.kind().0, st(g.title()), g.last_seq(), g.member_count()),
                    (c.chat_id, c.kind, &c.title[..], c.last_seq, c.member_count)
                );
                let nested = g.last_message().map(|v| v.bytes());
                assert_eq!(nested, e.as_deref());
                if let (Some(bytes), Some(ev)) = (nested, &c.last_message) {
                    check_event(ev, bytes);
                }
            }
        }
        Input::SendMessage { rid, chat_id, client_msg_id, content } => {
            let b = encode::send_message(*rid, *chat_id, client_msg_id, content);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_send_message().unwrap();
            assert_eq!(
                (f.request_id(), t.chat_id(), st(t.client_msg_id()), st(t.content())),
                (*rid, *chat_id, &client_msg_id[..], &content[..])
            );
        }
        Input::SendAck { rid, chat_id, client_msg_id, message_id, seq, time_ms } => {
            let b = encode::send_ack(*rid, *chat_id, client_msg_id, *message_id, *seq, *time_ms);
            let f = server(&b);
            let t = f.body_as_send_ack().unwrap();
            assert_eq!(
                (f.request_id(), t.chat_id(), st(t.client_msg_id()), t.message_id(), t.seq(), t.time_ms()),
                (*rid, *chat_id, &client_msg_id[..], *message_id, *seq, *time_ms)
            );
        }
        Input::Deliver { event } => {
            let e = encode_event(event);
            let b = encode::deliver(&e);
            let f = server(&b);
            assert_eq!(f.request_id(), 0);
            let nested = f.body_as_deliver().unwrap().event().map(|v| v.bytes());
            assert_eq!(nested, Some(&e[..]));
            check_event(event, nested.unwrap());
        }
        Input::DeliverRaw { bytes } => {
            let b = encode::deliver(bytes);
            let f = server(&b);
            let nested = f.body_as_deliver().unwrap().event().map(|v| v.bytes());
            assert_eq!(nested, Some(&bytes[..]));
            crate::client::check_event(bytes);
        }
        Input::Sync { rid, cursors } => {
            let b = encode::sync(*rid, cursors);
            let Some(f) = client(&b) else { return };
            assert_eq!(f.request_id(), *rid);
            let got: Vec<(u64, u64)> = f
                .body_as_sync()
                .unwrap()
                .cursors()
                .map(|v| v.iter().map(|c| (c.chat_id(), c.last_seq())).collect())
                .unwrap_or_default();
            assert_eq!(&got, cursors);
        }
        Input::SyncDone { rid, chats, events } => {
            let b = encode::sync_done(*rid, *chats, *events);
            let f = server(&b);
            let t = f.body_as_sync_done().unwrap();
            assert_eq!((f.request_id(), t.chats(), t.events()), (*rid, *chats, *events));
        }
        Input::History { rid, chat_id, from_seq, direction, limit } => {
            let b = encode::history(*rid, *chat_id, *from_seq, fb::Direction(*direction), *limit);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_history().unwrap();
            assert_eq!(
                (f.request_id(), t.chat_id(), t.from_seq(), t.direction().0, t.limit()),
                (*rid, *chat_id, *from_seq, *direction, *limit)
            );
        }
        Input::HistoryPage { rid, chat_id, events, has_more } => {
            let encoded: Vec<Bytes> = events.iter().map(encode_event).collect();
            let b = encode::history_page(*rid, *chat_id, &encoded, *has_more);
            let f = server(&b);
            let t = f.body_as_history_page().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), t.has_more()), (*rid, *chat_id, *has_more));
            let blobs: Vec<_> = t.events().map(|v| v.iter().collect()).unwrap_or_default();
            assert_eq!(blobs.len(), events.len());
            for ((blob, ev), e) in blobs.iter().zip(events).zip(&encoded) {
                let nested = blob.event().map(|v| v.bytes());
                assert_eq!(nested, Some(&e[..]));
                check_event(ev, nested.unwrap());
            }
        }
        Input::StoredEvent { event } => {
            let e = encode_event(event);
            check_event(event, &e);
        }
    }
}

/// The `roundtrip` target: one or more inputs from the fuzzer's bytes.
pub fn fuzz_roundtrip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    // Several frames per input also exercises the reuse of the thread-local builder.
    for _ in 0..64 {
        let before = u.len();
        match Input::arbitrary(&mut u) {
            Ok(input) => check(&input),
            Err(_) => break,
        }
        if u.is_empty() || u.len() == before {
            break;
        }
    }
}
