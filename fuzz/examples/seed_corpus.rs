//! Writes the seed corpora: every frame type and every event type, built with
//! `magpie_wire::encode`, into `fuzz/corpus/<target>/` (or the directory given as argument).
//! Deterministic, so re-running it changes nothing unless the encoder or the schema changed.
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example seed_corpus
//! ```
//!
//! It is an example, not a `[[bin]]`, because `cargo fuzz` treats every bin as a fuzz target.

use arbitrary::{Arbitrary, Unstructured};
use bytes::BytesMut;
use magpie_fuzz::{framing, roundtrip};
use magpie_wire::chat::{Info, MemberEntry, Settings, State};
use magpie_wire::encode::{self, EventHeader};
use magpie_wire::limits::{MAX_CONTENT_BYTES, MAX_CLIENT_FRAME_BYTES, PROTOCOL_VERSION};
use magpie_wire::{fb, Bytes, ErrorCode};
use std::path::{Path, PathBuf};

const H: EventHeader = EventHeader { chat_id: 42, seq: 7, sender_id: 1001, sender_device_id: 2001, time_ms: 1_764_300_000_000 };

fn member(user_id: u64, role: fb::Role) -> MemberEntry {
    MemberEntry { user_id, role, since_seq: 1 }
}

fn info() -> Info {
    Info {
        title: "team".into(),
        description: "where we ship".into(),
        avatar_ref: "media:abc".into(),
        handle: "the_team".into(),
        settings: Settings { post: fb::Who::Admins, history: fb::HistoryVisibility::SinceJoined, approve_joins: true, ..Settings::default() },
    }
}

fn events() -> Vec<(&'static str, Bytes)> {
    vec![
        ("event_message", encode::message_event(&H, 9001, "c-7f3a", "hello, wörld 👋")),
        ("event_message_empty", encode::message_event(&EventHeader { seq: 1, ..H }, 1, "", "")),
        (
            "event_chat_created",
            encode::chat_created_event(
                &EventHeader { seq: 1, ..H },
                fb::ChatKind::Group,
                &Info { title: "team".into(), ..Info::default() },
                &[member(1001, fb::Role::Owner), member(1002, fb::Role::Member), member(1003, fb::Role::Member)],
            ),
        ),
        (
            "event_chat_created_direct",
            encode::chat_created_event(&H, fb::ChatKind::Direct, &Info::default(), &[member(1, fb::Role::Member), member(2, fb::Role::Member)]),
        ),
        ("event_members_added", encode::members_added_event(&H, &[1004, 1005], fb::JoinedVia::Added)),
        ("event_member_removed", encode::member_removed_event(&H, 1004, true)),
        (
            "event_chat_created_channel",
            encode::chat_created_event(&EventHeader { seq: 1, ..H }, fb::ChatKind::Channel, &info(), &[member(1001, fb::Role::Owner)]),
        ),
        ("event_members_added_invite", encode::members_added_event(&H, &[1006], fb::JoinedVia::InviteLink)),
        ("event_chat_updated", encode::chat_updated_event(&H, &info())),
        ("event_role_changed", encode::role_changed_event(&H, 1002, fb::Role::Admin)),
        ("event_owner_changed", encode::owner_changed_event(&H, 1001, 1002)),
    ]
}

fn client_frames() -> Vec<(&'static str, Bytes)> {
    vec![
        ("hello", encode::hello(1, PROTOCOL_VERSION, 1, 0, "magpie-client-rs/0.1.0")),
        ("ping", encode::ping(3, 0xdead_beef)),
        ("register", encode::register(2, "alice", "correct horse", "laptop")),
        ("login", encode::login(2, "alice", "correct horse", "phone")),
        ("authenticate", encode::authenticate(2, "dGhpcyBpcyBhIGRldmljZSB0b2tlbg")),
        ("logout", encode::logout(9)),
        ("list_devices", encode::list_devices(4)),
        ("revoke_device", encode::revoke_device(5, 2002)),
        ("lookup_user", encode::lookup_user(6, "bob")),
        ("get_users", encode::get_users(7, &[1001, 1002, 1003])),
        ("create_direct", encode::create_direct(8, 1002, "bob")),
        ("create_group", encode::create_group(9, "team", &[1002, 1003])),
        ("add_members", encode::add_members(10, 42, &[1004, 1005])),
        ("remove_member", encode::remove_member(11, 42, 1004)),
        ("leave_chat", encode::leave_chat(12, 42)),
        ("leave_chat_to", encode::leave_chat_to(12, 42, 1002)),
        (
            "create_channel",
            encode::create_chat(
                9,
                &encode::CreateChatArgs {
                    kind: fb::ChatKind::Channel,
                    title: "news",
                    member_ids: &[1002],
                    description: "all the news",
                    handle: "news_room",
                    settings: Some(info().settings),
                },
            ),
        ),
        ("list_members", encode::list_members(19, 42, 1001, 100, true)),
        ("update_chat", encode::update_chat(20, 42, magpie_wire::chat::update::ALL, &info())),
        ("set_role", encode::set_role(21, 42, 1002, fb::Role::Admin)),
        ("transfer_ownership", encode::transfer_ownership(22, 42, 1002)),
        ("create_invite", encode::create_invite(23, 42, 1_764_400_000_000, 5)),
        ("list_invites", encode::list_invites(24, 42)),
        ("revoke_invite", encode::revoke_invite(25, 42, "Zm9vYmFyYmF6cXV4cXV1eA")),
        ("preview_chat_invite", encode::preview_chat(26, encode::ChatRef::Invite("Zm9vYmFyYmF6cXV4cXV1eA"))),
        ("join_chat_handle", encode::join_chat(27, encode::ChatRef::Handle("news_room"))),
        ("list_join_requests", encode::list_join_requests(28, 42)),
        ("resolve_join_request", encode::resolve_join_request(29, 42, 1007, true)),
        ("set_chat_state", encode::set_chat_state(30, 42, magpie_wire::chat::state_fields::ALL, &State { muted_until_ms: i64::MAX, pin_rank: 1, archived: true, marked_unread: true })),
        ("reorder_pinned", encode::reorder_pinned(31, &[43, 42])),
        ("list_chats_by_activity", encode::list_chats_by_activity(32, false, 1_764_300_000_000, 42, 50)),
        ("save_broadcast_list", encode::save_broadcast_list(33, 0, "friends", &[1002, 1003])),
        ("delete_broadcast_list", encode::delete_broadcast_list(34, 5)),
        ("list_broadcast_lists", encode::list_broadcast_lists(35)),
        ("send_broadcast", encode::send_broadcast(36, 5, "c-b1", "party at 8")),
        ("get_chat", encode::get_chat(13, 42)),
        ("list_chats", encode::list_chats(14)),
        ("send_message", encode::send_message(15, 42, "c-7f3a", "hello, wörld 👋")),
        ("send_message_long", encode::send_message(16, 42, "c-long", &"x".repeat(3000))),
        ("sync", encode::sync(17, &[(42, 7), (43, 0)])),
        ("history", encode::history(18, 42, 0, fb::Direction::Backward, 50)),
    ]
}

fn server_frames() -> Vec<(&'static str, Bytes)> {
    let ev: Vec<Bytes> = (1..=3).map(|seq| encode::message_event(&EventHeader { seq, ..H }, seq * 10, "c", "hi")).collect();
    vec![
        (
            "welcome",
            encode::welcome(
                1,
                &encode::WelcomeArgs {
                    protocol_version: PROTOCOL_VERSION,
                    features: 0,
                    server_name: "magpie/0.1.0",
                    max_content_bytes: MAX_CONTENT_BYTES as u32,
                    max_frame_bytes: MAX_CLIENT_FRAME_BYTES as u32,
                    server_time_ms: 1_764_300_000_000,
                    node_id: 1,
                },
            ),
        ),
        ("error", encode::error(2, ErrorCode::RateLimited, "slow down", 250)),
        ("ok", encode::ok(3)),
        ("close", encode::close(ErrorCode::Revoked, "device revoked")),
        ("pong", encode::pong(3, 0xdead_beef, 1_764_300_000_000)),
        ("authenticated", encode::authenticated(2, 1001, 2001, "alice", "dGhpcyBpcyBhIGRldmljZSB0b2tlbg")),
        (
            "device_list",
            encode::device_list(
                4,
                &[
                    encode::DeviceEntry { device_id: 2001, name: "laptop", created_ms: 1, current: true },
                    encode::DeviceEntry { device_id: 2002, name: "phone", created_ms: 2, current: false },
                ],
            ),
        ),
        ("user_info", encode::user_info(6, 1002, "bob")),
        ("user_list", encode::user_list(7, &[(1001, "alice"), (1002, "bob")])),
        (
            "chat_info",
            encode::chat_info(
                13,
                &encode::ChatInfoArgs {
                    chat_id: 42,
                    kind: fb::ChatKind::Group,
                    info: &info(),
                    members: &[member(1001, fb::Role::Owner), member(1002, fb::Role::Member)],
                    members_complete: true,
                    member_count: 2,
                    my_role: fb::Role::Owner,
                    last_seq: 7,
                    created_ms: 1_764_300_000_000,
                    pending_requests: 1,
                },
            ),
        ),
        (
            "chat_list",
            encode::chat_list(
                14,
                &[
                    encode::ChatSummaryArgs {
                        chat_id: 42,
                        kind: fb::ChatKind::Group,
                        title: "team",
                        last_seq: 3,
                        member_count: 3,
                        last_message: Some(&ev[2]),
                        last_activity_ms: 1_764_300_000_000,
                        state: State { muted_until_ms: 0, pin_rank: 2, archived: false, marked_unread: true },
                        my_role: fb::Role::Admin,
                        unread_count: 4,
                        unread_mentions: 1,
                        avatar_ref: "media:abc",
                        handle: "the_team",
                        receipts: Default::default(),
                    },
                    encode::ChatSummaryArgs {
                        chat_id: 43,
                        kind: fb::ChatKind::Direct,
                        title: "",
                        last_seq: 0,
                        member_count: 2,
                        last_message: None,
                        ..Default::default()
                    },
                ],
            ),
        ),
        ("send_ack", encode::send_ack(15, 42, "c-7f3a", 9001, 7, 1_764_300_000_000)),
        ("deliver", encode::deliver(&ev[0])),
        ("deliver_chat_created", encode::deliver(&events()[2].1)),
        ("sync_done", encode::sync_done(17, 2, 7)),
        ("history_page", encode::history_page(18, 42, &ev, true)),
        ("member_list", encode::member_list(19, 42, &[member(1001, fb::Role::Owner), member(1002, fb::Role::Admin)], true)),
        ("invite", encode::invite(23, &invite())),
        ("invite_list", encode::invite_list(24, 42, &[invite(), encode::InviteArgs { revoked: true, uses: 5, ..invite() }])),
        (
            "chat_preview",
            encode::chat_preview(
                26,
                &encode::ChatPreviewArgs { chat_id: 42, kind: fb::ChatKind::Channel, info: &info(), member_count: 100_000, is_member: false },
            ),
        ),
        ("join_pending", encode::join_pending(27, 42)),
        ("join_request_list", encode::join_request_list(28, 42, &[(1007, 1_764_300_000_000), (1008, 1_764_300_000_001)])),
        ("chat_state_changed", encode::chat_state_changed(30, 42, &State { muted_until_ms: i64::MAX, pin_rank: 1, archived: false, marked_unread: false })),
        ("chat_state_changed_push", encode::chat_state_changed(0, 42, &State::default())),
        ("membership_changed", encode::membership_changed(42, true)),
        ("broadcast_list", encode::broadcast_list(33, 5, "friends", &[1002, 1003])),
        ("broadcast_lists", encode::broadcast_lists(35, &[(5, "friends", &[1002, 1003]), (6, "family", &[1004])])),
        (
            "broadcast_ack",
            encode::broadcast_ack(
                36,
                5,
                "c-b1",
                1_764_300_000_000,
                &[
                    encode::BroadcastResultArgs { user_id: 1002, chat_id: 50, message_id: 9100, seq: 3, error_code: 0 },
                    encode::BroadcastResultArgs { user_id: 1003, error_code: ErrorCode::UserNotFound as u16, ..Default::default() },
                ],
            ),
        ),
        ("deliver_chat_updated", encode::deliver(&encode::chat_updated_event(&H, &info()))),
    ]
}

fn invite() -> encode::InviteArgs {
    encode::InviteArgs {
        code: "Zm9vYmFyYmF6cXV4cXV1eA".into(),
        chat_id: 42,
        created_by: 1001,
        created_ms: 1_764_300_000_000,
        expires_ms: 0,
        max_uses: 0,
        uses: 2,
        revoked: false,
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("create corpus dir");
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

/// Bytes that `arbitrary` decodes into each variant of `roundtrip::Input`: a discriminant sweep
/// with the same filler, keeping the first input found for each variant.
fn roundtrip_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seen = std::collections::BTreeMap::new();
    let filler: Vec<u8> = (0u8..96).map(|i| i.wrapping_mul(37).wrapping_add(5)).collect();
    for k in 0u64..4096 {
        let d = ((k << 32) / 4096) as u32 + 1;
        let mut bytes = d.to_le_bytes().to_vec();
        bytes.extend_from_slice(&filler);
        let mut u = Unstructured::new(&bytes);
        let Ok(input) = roundtrip::Input::arbitrary(&mut u) else { continue };
        let dbg = format!("{input:?}");
        let name: String = dbg.chars().take_while(|c| c.is_alphanumeric()).collect();
        seen.entry(name).or_insert(bytes);
    }
    seen.into_iter().collect()
}

/// One valid encoding per storage decoder, prefixed with the selector byte the target reads.
fn storage_seeds() -> Vec<(&'static str, Vec<u8>)> {
    use magpie_storage::{
        codec, keys, BroadcastListRecord, ChatHead, ChatKind, ChatMeta, ChatPrefs, ChatProfile, DedupRecord, DeviceRecord,
        InviteRecord, MemberRecord, MessageLocation, Role, UserRecord,
    };
    let user = UserRecord { user_id: 7, username: "alice".into(), password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(), created_ms: 1_764_000_000_000 };
    let device = DeviceRecord { device_id: 9, user_id: 7, name: "laptop".into(), token_hash: [3; 32], created_ms: 1_764_000_000_001 };
    let profile = ChatProfile { description: "old friends".into(), avatar_ref: "media:1".into(), handle: "friends_club".into(), settings: vec![0, 1, 1, 1, 0, 1, 0] };
    let chat = ChatMeta { chat_id: 42, kind: ChatKind::Group, title: "friends".into(), created_ms: 1_764_000_000_002, created_by: 7, profile };
    let channel = ChatMeta { chat_id: 43, kind: ChatKind::Channel, title: "news".into(), created_ms: 1_764_000_000_002, created_by: 7, profile: ChatProfile::default() };
    let invite = InviteRecord { code: "Zm9vYmFyYmF6cXV4cXV1eA".into(), chat_id: 42, created_by: 7, created_ms: 1, expires_ms: 2, max_uses: 3, uses: 1, revoked: false };
    let list = BroadcastListRecord { list_id: 5, name: "pals".into(), recipients: vec![8, 9] };
    let dedup = DedupRecord { chat_id: 42, seq: 5, message_id: 123_456, time_ms: 1_764_000_000_003 };
    let with = |sel: u8, b: &[u8]| [&[sel][..], b].concat();
    vec![
        ("user", with(0, &codec::encode_user(&user))),
        ("device", with(1, &codec::encode_device(&device))),
        ("chat", with(2, &codec::encode_chat(&chat))),
        ("dedup", with(3, &codec::encode_dedup(&dedup))),
        ("role", with(4, &codec::encode_role(Role::Admin))),
        ("u64", with(5, &codec::encode_u64_value(42))),
        ("id_key", with(6, &keys::id_key(42))),
        ("log_key", with(7, &keys::log_key(42, 5))),
        ("member_key", with(8, &keys::member_key(42, 7))),
        ("user_chat_key", with(9, &keys::user_chat_key(7, 42))),
        ("user_device_key", with(10, &keys::user_device_key(7, 9))),
        ("direct_key", with(11, &keys::direct_key(7, 8))),
        ("dedup_key", with(12, &keys::dedup_key(9, "cmid-1"))),
        ("member", with(13, &codec::encode_member(&MemberRecord { role: Role::Owner, since_seq: 3 }))),
        ("chat_head", with(14, &codec::encode_chat_head(&ChatHead { at_seq: 9, last_message_seq: 8, member_count: Some(3) }))),
        ("chat_prefs", with(15, &codec::encode_chat_prefs(&ChatPrefs { muted_until_ms: i64::MAX, pin_rank: 2, archived: true, marked_unread: false }))),
        ("invite", with(16, &codec::encode_invite(&invite))),
        ("broadcast_list", with(17, &codec::encode_broadcast_list(&list))),
        ("message_location", with(18, &codec::encode_message_location(&MessageLocation { chat_id: 42, seq: 5 }))),
        ("chat_prefs_key", with(19, &keys::chat_prefs_key(7, 42))),
        ("join_request_key", with(20, &keys::join_request_key(42, 8))),
        ("chat_channel", with(2, &codec::encode_chat(&channel))),
    ]
}

fn main() {
    let root: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    let (events, client, server) = (events(), client_frames(), server_frames());
    let mut n = 0;

    for (name, b) in events.iter().chain(&client).chain(&server) {
        write(&root.join("verify_frame"), name, b);
        n += 1;
    }
    for (name, b) in events.iter().chain(&server) {
        write(&root.join("client_decode"), name, b);
        n += 1;
    }

    // framing: real frames back to back, length-prefixed, in a few chunkings and limits.
    let mut stream = BytesMut::new();
    for (_, b) in client.iter().filter(|(name, _)| *name != "send_message_long").chain(&server) {
        magpie_wire::framing::put_prefixed(&mut stream, b);
    }
    let seeds: [(&str, u16, &[u8]); 5] = [
        ("stream_whole", u16::MAX, &[]),
        ("stream_bytewise", u16::MAX, &[0]),
        ("stream_mixed_chunks", u16::MAX, &[2, 0, 6, 254, 30, 3]),
        ("stream_small_limit", 64, &[15, 7]),
        ("stream_zero_limit", 0, &[3]),
    ];
    for (name, max, chunks) in seeds {
        write(&root.join("framing"), name, &framing::build(max, chunks, &stream));
        n += 1;
    }
    let mut one = BytesMut::new();
    magpie_wire::framing::put_prefixed(&mut one, &client[0].1);
    write(&root.join("framing"), "one_hello", &framing::build(u16::MAX, &[1], &one));
    write(&root.join("framing"), "empty_frame_prefix", &framing::build(u16::MAX, &[], &[0, 0, 0, 0, 1, 2, 3]));
    n += 2;

    for (name, b) in roundtrip_seeds() {
        write(&root.join("roundtrip"), &name, &b);
        n += 1;
    }
    // storage_codec: every record and key kind, real encodings behind their decoder's selector.
    for (i, (name, b)) in storage_seeds().into_iter().enumerate() {
        write(&root.join("storage_codec"), &format!("{i:02}_{name}"), &b);
        n += 1;
    }
    println!("wrote {n} seeds under {}", root.display());
}
