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
use magpie_wire::chat::{Info, MemberEntry, Settings, State};
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
    ChatUpdated { info: InfoIn },
    RoleChanged { user_id: u64, role: u8 },
    OwnerChanged { previous_owner: u64, new_owner: u64 },
}

/// `ChatSettings`, any byte in the enum fields (the encoder must carry unknown values as they are).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct SettingsIn {
    pub post: u8,
    pub add_members: u8,
    pub change_info: u8,
    pub pin: u8,
    pub history: u8,
    pub forwarding: bool,
    pub approve_joins: bool,
}

impl SettingsIn {
    fn wire(&self) -> Settings {
        Settings {
            post: fb::Who(self.post),
            add_members: fb::Who(self.add_members),
            change_info: fb::Who(self.change_info),
            pin: fb::Who(self.pin),
            history: fb::HistoryVisibility(self.history),
            forwarding: self.forwarding,
            approve_joins: self.approve_joins,
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub struct InfoIn {
    pub title: String,
    pub description: String,
    pub avatar_ref: String,
    pub handle: String,
    pub settings: SettingsIn,
}

impl InfoIn {
    fn wire(&self) -> Info {
        Info {
            title: self.title.clone(),
            description: self.description.clone(),
            avatar_ref: self.avatar_ref.clone(),
            handle: self.handle.clone(),
            settings: self.settings.wire(),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct StateIn {
    pub muted_until_ms: i64,
    pub pin_rank: u64,
    pub archived: bool,
    pub marked_unread: bool,
}

impl StateIn {
    fn wire(&self) -> State {
        State { muted_until_ms: self.muted_until_ms, pin_rank: self.pin_rank, archived: self.archived, marked_unread: self.marked_unread }
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub struct InviteIn {
    pub code: String,
    pub chat_id: u64,
    pub created_by: u64,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub max_uses: u32,
    pub uses: u32,
    pub revoked: bool,
}

impl InviteIn {
    fn wire(&self) -> encode::InviteArgs {
        encode::InviteArgs {
            code: self.code.clone(),
            chat_id: self.chat_id,
            created_by: self.created_by,
            created_ms: self.created_ms,
            expires_ms: self.expires_ms,
            max_uses: self.max_uses,
            uses: self.uses,
            revoked: self.revoked,
        }
    }
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
    pub last_activity_ms: i64,
    pub state: StateIn,
    pub my_role: u8,
    pub unread_count: u32,
    pub unread_mentions: u32,
    pub avatar_ref: String,
    pub handle: String,
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
    CreateChat { rid: u64, kind: u8, title: String, member_ids: Vec<u64>, description: String, handle: String, settings: Option<SettingsIn> },
    LeaveChatTo { rid: u64, chat_id: u64, successor: u64 },
    ChatInfoFull { rid: u64, chat_id: u64, kind: u8, info: InfoIn, members: Vec<(u64, u8, u64)>, complete: bool, count: u32, my_role: u8, last_seq: u64, created_ms: i64, pending: u32 },
    ListMembers { rid: u64, chat_id: u64, after_user_id: u64, limit: u16, admins_only: bool },
    MemberList { rid: u64, chat_id: u64, members: Vec<(u64, u8, u64)>, has_more: bool },
    UpdateChat { rid: u64, chat_id: u64, fields: u32, info: InfoIn },
    SetRole { rid: u64, chat_id: u64, user_id: u64, role: u8 },
    TransferOwnership { rid: u64, chat_id: u64, user_id: u64 },
    Invite { rid: u64, invite: InviteIn },
    InviteList { rid: u64, chat_id: u64, invites: Vec<InviteIn> },
    PreviewOrJoin { rid: u64, code: String, handle: String, by_handle: bool, join: bool },
    ChatPreview { rid: u64, chat_id: u64, kind: u8, info: InfoIn, member_count: u32, is_member: bool },
    JoinRequestList { rid: u64, chat_id: u64, requests: Vec<(u64, i64)> },
    SetChatState { rid: u64, chat_id: u64, fields: u32, state: StateIn },
    ChatStateChanged { rid: u64, chat_id: u64, state: StateIn },
    MembershipChanged { chat_id: u64, member: bool },
    ListChatsByActivity { rid: u64, archived: bool, before_ms: i64, before_chat_id: u64, limit: u16 },
    SaveBroadcastList { rid: u64, list_id: u64, name: String, recipient_ids: Vec<u64> },
    BroadcastLists { rid: u64, lists: Vec<(u64, String, Vec<u64>)> },
    SendBroadcast { rid: u64, list_id: u64, client_msg_id: String, content: String },
    BroadcastAck { rid: u64, list_id: u64, client_msg_id: String, time_ms: i64, results: Vec<(u64, u64, u64, u64, u16)> },
    CreateInvite { rid: u64, chat_id: u64, expires_ms: i64, max_uses: u32 },
    ListInvites { rid: u64, chat_id: u64 },
    RevokeInvite { rid: u64, chat_id: u64, code: String },
    JoinPending { rid: u64, chat_id: u64 },
    ListJoinRequests { rid: u64, chat_id: u64 },
    ResolveJoinRequest { rid: u64, chat_id: u64, user_id: u64, approve: bool },
    ReorderPinned { rid: u64, chat_ids: Vec<u64> },
    BroadcastList { rid: u64, list_id: u64, name: String, recipient_ids: Vec<u64> },
    DeleteBroadcastList { rid: u64, list_id: u64 },
    ListBroadcastLists { rid: u64 },
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
        EventBody::ChatUpdated { info } => encode::chat_updated_event(&h, &info.wire()),
        EventBody::RoleChanged { user_id, role } => encode::role_changed_event(&h, *user_id, fb::Role(*role)),
        EventBody::OwnerChanged { previous_owner, new_owner } => encode::owner_changed_event(&h, *previous_owner, *new_owner),
    }
}

fn entries(members: &[(u64, u8, u64)]) -> Vec<MemberEntry> {
    members.iter().map(|&(user_id, r, since_seq)| MemberEntry { user_id, role: fb::Role(r), since_seq }).collect()
}

fn read_entries(v: Option<flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<fb::Member<'_>>>>) -> Vec<(u64, u8, u64)> {
    v.map(|v| v.iter().map(|m| (m.user_id(), m.role().0, m.since_seq())).collect()).unwrap_or_default()
}

fn read_settings(t: Option<fb::ChatSettings<'_>>) -> Settings {
    Settings::from_fb(t)
}

fn check_info(i: &InfoIn, title: Option<&str>, description: Option<&str>, avatar_ref: Option<&str>, handle: Option<&str>) {
    assert_eq!(
        (st(title), st(description), st(avatar_ref), st(handle)),
        (&i.title[..], &i.description[..], &i.avatar_ref[..], &i.handle[..])
    );
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
            EventKind::Message { message_id: *message_id, client_msg_id: client_msg_id.clone(), content: content.clone(), extras: None }
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
        EventBody::ChatUpdated { info } => {
            let u = v.body_as_chat_updated().expect("ChatUpdated");
            check_info(info, u.title(), u.description(), u.avatar_ref(), u.handle());
            assert_eq!(read_settings(u.settings()), info.settings.wire());
            EventKind::ChatUpdated {
                title: info.title.clone(),
                description: info.description.clone(),
                avatar_ref: info.avatar_ref.clone(),
                handle: info.handle.clone(),
                settings: ChatSettings::from(info.settings.wire()),
            }
        }
        EventBody::RoleChanged { user_id, role } => {
            let r = v.body_as_role_changed().expect("RoleChanged");
            assert_eq!((r.user_id(), r.role().0), (*user_id, *role));
            EventKind::RoleChanged { user_id: *user_id, role: fb::Role(*role).into() }
        }
        EventBody::OwnerChanged { previous_owner, new_owner } => {
            let o = v.body_as_owner_changed().expect("OwnerChanged");
            assert_eq!((o.previous_owner(), o.new_owner()), (*previous_owner, *new_owner));
            EventKind::OwnerChanged { previous_owner: *previous_owner, new_owner: *new_owner }
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
                    last_activity_ms: c.last_activity_ms,
                    state: c.state.wire(),
                    my_role: fb::Role(c.my_role),
                    unread_count: c.unread_count,
                    unread_mentions: c.unread_mentions,
                    avatar_ref: &c.avatar_ref,
                    handle: &c.handle,
                    receipts: Default::default(),
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
                assert_eq!(
                    (g.last_activity_ms(), State::from_fb(g.state()), g.my_role().0, g.unread_count(), g.unread_mentions()),
                    (c.last_activity_ms, c.state.wire(), c.my_role, c.unread_count, c.unread_mentions)
                );
                assert_eq!((st(g.avatar_ref()), st(g.handle())), (&c.avatar_ref[..], &c.handle[..]));
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
        Input::CreateChat { rid, kind, title, member_ids, description, handle, settings } => {
            let a = encode::CreateChatArgs {
                kind: fb::ChatKind(*kind),
                title,
                member_ids,
                description,
                handle,
                settings: settings.map(|s| s.wire()),
            };
            let b = encode::create_chat(*rid, &a);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_create_group().unwrap();
            assert_eq!((f.request_id(), t.kind().0, st(t.title()), &read_ids(t.member_ids())), (*rid, *kind, &title[..], member_ids));
            assert_eq!((st(t.description()), st(t.handle())), (&description[..], &handle[..]));
            assert_eq!(t.settings().map(|s| Settings::from_fb(Some(s))), settings.map(|s| s.wire()));
            // The enum check accepts exactly the values the schema defines.
            let known = fb::ChatKind(*kind).variant_name().is_some()
                && settings.is_none_or(|s| s.wire().unknown_value().is_none());
            assert_eq!(verify::client_enums(&f).is_ok(), known);
        }
        Input::LeaveChatTo { rid, chat_id, successor } => {
            let b = encode::leave_chat_to(*rid, *chat_id, *successor);
            let Some(f) = client(&b) else { return };
            let l = f.body_as_leave_chat().unwrap();
            assert_eq!((f.request_id(), l.chat_id(), l.successor()), (*rid, *chat_id, *successor));
        }
        Input::ChatInfoFull { rid, chat_id, kind, info, members, complete, count, my_role, last_seq, created_ms, pending } => {
            let (i, m) = (info.wire(), entries(members));
            let a = encode::ChatInfoArgs {
                chat_id: *chat_id,
                kind: fb::ChatKind(*kind),
                info: &i,
                members: &m,
                members_complete: *complete,
                member_count: *count,
                my_role: fb::Role(*my_role),
                last_seq: *last_seq,
                created_ms: *created_ms,
                pending_requests: *pending,
            };
            let b = encode::chat_info(*rid, &a);
            let f = server(&b);
            let t = f.body_as_chat_info().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), t.kind().0, t.last_seq(), t.created_ms()), (*rid, *chat_id, *kind, *last_seq, *created_ms));
            check_info(info, t.title(), t.description(), t.avatar_ref(), t.handle());
            assert_eq!(read_settings(t.settings()), i.settings);
            assert_eq!(&read_entries(t.members()), members);
            assert_eq!(
                (t.members_complete(), t.member_count(), t.my_role().0, t.pending_requests()),
                (*complete, *count, *my_role, *pending)
            );
        }
        Input::ListMembers { rid, chat_id, after_user_id, limit, admins_only } => {
            let b = encode::list_members(*rid, *chat_id, *after_user_id, *limit, *admins_only);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_list_members().unwrap();
            assert_eq!(
                (f.request_id(), t.chat_id(), t.after_user_id(), t.limit(), t.admins_only()),
                (*rid, *chat_id, *after_user_id, *limit, *admins_only)
            );
        }
        Input::MemberList { rid, chat_id, members, has_more } => {
            let b = encode::member_list(*rid, *chat_id, &entries(members), *has_more);
            let f = server(&b);
            let t = f.body_as_member_list().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), t.has_more()), (*rid, *chat_id, *has_more));
            assert_eq!(&read_entries(t.members()), members);
        }
        Input::UpdateChat { rid, chat_id, fields, info } => {
            let b = encode::update_chat(*rid, *chat_id, *fields, &info.wire());
            let Some(f) = client(&b) else { return };
            let t = f.body_as_update_chat().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), t.fields()), (*rid, *chat_id, *fields));
            check_info(info, t.title(), t.description(), t.avatar_ref(), t.handle());
            assert_eq!(read_settings(t.settings()), info.settings.wire());
            assert_eq!(verify::client_enums(&f).is_ok(), info.settings.wire().unknown_value().is_none());
        }
        Input::SetRole { rid, chat_id, user_id, role } => {
            let b = encode::set_role(*rid, *chat_id, *user_id, fb::Role(*role));
            let Some(f) = client(&b) else { return };
            let t = f.body_as_set_role().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), t.user_id(), t.role().0), (*rid, *chat_id, *user_id, *role));
            assert_eq!(verify::client_enums(&f).is_ok(), fb::Role(*role).variant_name().is_some());
        }
        Input::TransferOwnership { rid, chat_id, user_id } => {
            let b = encode::transfer_ownership(*rid, *chat_id, *user_id);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_transfer_ownership().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), t.user_id()), (*rid, *chat_id, *user_id));
        }
        Input::Invite { rid, invite } => {
            let b = encode::invite(*rid, &invite.wire());
            let f = server(&b);
            assert_eq!(f.request_id(), *rid);
            check_invite(invite, f.body_as_invite().unwrap());
        }
        Input::InviteList { rid, chat_id, invites } => {
            let args: Vec<_> = invites.iter().map(InviteIn::wire).collect();
            let b = encode::invite_list(*rid, *chat_id, &args);
            let f = server(&b);
            let t = f.body_as_invite_list().unwrap();
            assert_eq!((f.request_id(), t.chat_id()), (*rid, *chat_id));
            let got: Vec<_> = t.invites().map(|v| v.iter().collect()).unwrap_or_default();
            assert_eq!(got.len(), invites.len());
            for (g, i) in got.into_iter().zip(invites) {
                check_invite(i, g);
            }
        }
        Input::PreviewOrJoin { rid, code, handle, by_handle, join } => {
            let by = if *by_handle { encode::ChatRef::Handle(handle) } else { encode::ChatRef::Invite(code) };
            let b = if *join { encode::join_chat(*rid, by) } else { encode::preview_chat(*rid, by) };
            let Some(f) = client(&b) else { return };
            let (c, h) = if *join {
                let j = f.body_as_join_chat().unwrap();
                (j.invite_code(), j.handle())
            } else {
                let p = f.body_as_preview_chat().unwrap();
                (p.invite_code(), p.handle())
            };
            let want: (&str, &str) = if *by_handle { ("", handle) } else { (code, "") };
            assert_eq!((f.request_id(), st(c), st(h)), (*rid, want.0, want.1));
        }
        Input::ChatPreview { rid, chat_id, kind, info, member_count, is_member } => {
            let i = info.wire();
            let a = encode::ChatPreviewArgs { chat_id: *chat_id, kind: fb::ChatKind(*kind), info: &i, member_count: *member_count, is_member: *is_member };
            let b = encode::chat_preview(*rid, &a);
            let f = server(&b);
            let t = f.body_as_chat_preview().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), t.kind().0, t.member_count()), (*rid, *chat_id, *kind, *member_count));
            check_info(info, t.title(), t.description(), t.avatar_ref(), t.handle());
            assert_eq!((t.approve_joins(), t.is_member()), (info.settings.approve_joins, *is_member));
        }
        Input::JoinRequestList { rid, chat_id, requests } => {
            let b = encode::join_request_list(*rid, *chat_id, requests);
            let f = server(&b);
            let t = f.body_as_join_request_list().unwrap();
            assert_eq!((f.request_id(), t.chat_id()), (*rid, *chat_id));
            let got: Vec<(u64, i64)> = t.requests().map(|v| v.iter().map(|r| (r.user_id(), r.time_ms())).collect()).unwrap_or_default();
            assert_eq!(&got, requests);
        }
        Input::SetChatState { rid, chat_id, fields, state } => {
            let b = encode::set_chat_state(*rid, *chat_id, *fields, &state.wire());
            let Some(f) = client(&b) else { return };
            let t = f.body_as_set_chat_state().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), t.fields(), t.muted_until_ms()), (*rid, *chat_id, *fields, state.muted_until_ms));
            assert_eq!((t.pinned(), t.archived(), t.marked_unread()), (state.pin_rank != 0, state.archived, state.marked_unread));
        }
        Input::ChatStateChanged { rid, chat_id, state } => {
            let b = encode::chat_state_changed(*rid, *chat_id, &state.wire());
            let f = server(&b);
            let t = f.body_as_chat_state_changed().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), State::from_fb(t.state())), (*rid, *chat_id, state.wire()));
        }
        Input::MembershipChanged { chat_id, member } => {
            let b = encode::membership_changed(*chat_id, *member);
            let f = server(&b);
            let t = f.body_as_membership_changed().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), t.member()), (0, *chat_id, *member));
        }
        Input::ListChatsByActivity { rid, archived, before_ms, before_chat_id, limit } => {
            let b = encode::list_chats_by_activity(*rid, *archived, *before_ms, *before_chat_id, *limit);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_list_chats().unwrap();
            assert_eq!(
                (f.request_id(), t.order(), t.archived(), t.before_ms(), t.before_chat_id(), t.limit(), t.after_chat_id()),
                (*rid, fb::ChatOrder::ByActivity, *archived, *before_ms, *before_chat_id, *limit, 0)
            );
            assert!(verify::client_enums(&f).is_ok());
        }
        Input::SaveBroadcastList { rid, list_id, name, recipient_ids } => {
            let b = encode::save_broadcast_list(*rid, *list_id, name, recipient_ids);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_save_broadcast_list().unwrap();
            assert_eq!((f.request_id(), t.list_id(), st(t.name()), &read_ids(t.recipient_ids())), (*rid, *list_id, &name[..], recipient_ids));
        }
        Input::BroadcastLists { rid, lists } => {
            let args: Vec<(u64, &str, &[u64])> = lists.iter().map(|(id, n, r)| (*id, n.as_str(), r.as_slice())).collect();
            let b = encode::broadcast_lists(*rid, &args);
            let f = server(&b);
            let t = f.body_as_broadcast_lists().unwrap();
            let got: Vec<(u64, String, Vec<u64>)> = t
                .lists()
                .map(|v| v.iter().map(|l| (l.list_id(), st(l.name()).to_owned(), read_ids(l.recipient_ids()))).collect())
                .unwrap_or_default();
            assert_eq!((f.request_id(), &got), (*rid, lists));
        }
        Input::SendBroadcast { rid, list_id, client_msg_id, content } => {
            let b = encode::send_broadcast(*rid, *list_id, client_msg_id, content);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_send_broadcast().unwrap();
            assert_eq!(
                (f.request_id(), t.list_id(), st(t.client_msg_id()), st(t.content())),
                (*rid, *list_id, &client_msg_id[..], &content[..])
            );
        }
        Input::BroadcastAck { rid, list_id, client_msg_id, time_ms, results } => {
            let args: Vec<_> = results
                .iter()
                .map(|&(user_id, chat_id, message_id, seq, error_code)| encode::BroadcastResultArgs { user_id, chat_id, message_id, seq, error_code })
                .collect();
            let b = encode::broadcast_ack(*rid, *list_id, client_msg_id, *time_ms, &args);
            let f = server(&b);
            let t = f.body_as_broadcast_ack().unwrap();
            assert_eq!((f.request_id(), t.list_id(), st(t.client_msg_id()), t.time_ms()), (*rid, *list_id, &client_msg_id[..], *time_ms));
            let got: Vec<_> = t
                .results()
                .map(|v| v.iter().map(|r| (r.user_id(), r.chat_id(), r.message_id(), r.seq(), r.error_code())).collect())
                .unwrap_or_default();
            assert_eq!(&got, results);
        }
        Input::CreateInvite { rid, chat_id, expires_ms, max_uses } => {
            let b = encode::create_invite(*rid, *chat_id, *expires_ms, *max_uses);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_create_invite().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), t.expires_ms(), t.max_uses()), (*rid, *chat_id, *expires_ms, *max_uses));
        }
        Input::ListInvites { rid, chat_id } => {
            let b = encode::list_invites(*rid, *chat_id);
            let Some(f) = client(&b) else { return };
            assert_eq!((f.request_id(), f.body_as_list_invites().unwrap().chat_id()), (*rid, *chat_id));
        }
        Input::RevokeInvite { rid, chat_id, code } => {
            let b = encode::revoke_invite(*rid, *chat_id, code);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_revoke_invite().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), st(t.code())), (*rid, *chat_id, &code[..]));
        }
        Input::JoinPending { rid, chat_id } => {
            let b = encode::join_pending(*rid, *chat_id);
            let f = server(&b);
            assert_eq!((f.request_id(), f.body_as_join_pending().unwrap().chat_id()), (*rid, *chat_id));
        }
        Input::ListJoinRequests { rid, chat_id } => {
            let b = encode::list_join_requests(*rid, *chat_id);
            let Some(f) = client(&b) else { return };
            assert_eq!((f.request_id(), f.body_as_list_join_requests().unwrap().chat_id()), (*rid, *chat_id));
        }
        Input::ResolveJoinRequest { rid, chat_id, user_id, approve } => {
            let b = encode::resolve_join_request(*rid, *chat_id, *user_id, *approve);
            let Some(f) = client(&b) else { return };
            let t = f.body_as_resolve_join_request().unwrap();
            assert_eq!((f.request_id(), t.chat_id(), t.user_id(), t.approve()), (*rid, *chat_id, *user_id, *approve));
        }
        Input::ReorderPinned { rid, chat_ids } => {
            let b = encode::reorder_pinned(*rid, chat_ids);
            let Some(f) = client(&b) else { return };
            assert_eq!((f.request_id(), &read_ids(f.body_as_reorder_pinned().unwrap().chat_ids())), (*rid, chat_ids));
        }
        Input::BroadcastList { rid, list_id, name, recipient_ids } => {
            let b = encode::broadcast_list(*rid, *list_id, name, recipient_ids);
            let f = server(&b);
            let t = f.body_as_broadcast_list().unwrap();
            assert_eq!((f.request_id(), t.list_id(), st(t.name()), &read_ids(t.recipient_ids())), (*rid, *list_id, &name[..], recipient_ids));
        }
        Input::DeleteBroadcastList { rid, list_id } => {
            let b = encode::delete_broadcast_list(*rid, *list_id);
            let Some(f) = client(&b) else { return };
            assert_eq!((f.request_id(), f.body_as_delete_broadcast_list().unwrap().list_id()), (*rid, *list_id));
        }
        Input::ListBroadcastLists { rid } => {
            let b = encode::list_broadcast_lists(*rid);
            let Some(f) = client(&b) else { return };
            assert!(f.body_as_list_broadcast_lists().is_some());
            assert_eq!(f.request_id(), *rid);
        }
    }
}

fn check_invite(i: &InviteIn, t: fb::Invite<'_>) {
    assert_eq!(
        (st(t.code()), t.chat_id(), t.created_by(), t.created_ms(), t.expires_ms(), t.max_uses(), t.uses(), t.revoked()),
        (&i.code[..], i.chat_id, i.created_by, i.created_ms, i.expires_ms, i.max_uses, i.uses, i.revoked)
    );
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
