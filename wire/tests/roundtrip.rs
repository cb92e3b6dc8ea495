//! Every frame the encoder builds passes the verifier for its direction and reads back the same
//! fields; hostile buffers are rejected with the right stable code and never panic.

use magpie_wire::presence::Privacy;
use magpie_wire::{encode, fb, verify, Bytes, ErrorCode};
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap, HashSet};

#[test]
fn client_frames_round_trip() {
    let f = encode::hello(1, 1, 1, 0, "test");
    let h = verify::client_frame(&f).unwrap();
    assert_eq!(h.request_id(), 1);
    assert_eq!(h.body_as_hello().unwrap().client_name(), Some("test"));

    let f = encode::send_message(7, 42, "c-1", "héllo");
    let fr = verify::client_frame(&f).unwrap();
    let m = fr.body_as_send_message().unwrap();
    assert_eq!((fr.request_id(), m.chat_id(), m.client_msg_id(), m.content()), (7, 42, Some("c-1"), Some("héllo")));

    let f = encode::sync(3, &[(1, 5), (2, 0)]);
    let fr = verify::client_frame(&f).unwrap();
    let cursors: Vec<_> = fr.body_as_sync().unwrap().cursors().unwrap().iter().map(|c| (c.chat_id(), c.last_seq())).collect();
    assert_eq!(cursors, vec![(1, 5), (2, 0)]);

    for f in [
        encode::register(1, "alice", "password1", "laptop"),
        encode::login(1, "alice", "password1", "laptop"),
        encode::authenticate(1, "tok"),
        encode::logout(1),
        encode::list_devices(1),
        encode::revoke_device(1, 9),
        encode::lookup_user(1, "bob"),
        encode::get_users(1, &[1, 2]),
        encode::create_direct(1, 2, ""),
        encode::create_group(1, "g", &[1, 2, 3]),
        encode::add_members(1, 5, &[4]),
        encode::remove_member(1, 5, 4),
        encode::leave_chat(1, 5),
        encode::get_chat(1, 5),
        encode::list_chats(1),
        encode::history(1, 5, 0, fb::Direction::Backward, 50),
        encode::ping(1, 99),
    ] {
        verify::client_frame(&f).unwrap();
        assert_eq!(verify::server_frame(&f).unwrap_err(), ErrorCode::UnknownFrame, "server must not accept client-only frames");
    }
}

#[test]
fn server_frames_round_trip_with_nested_events() {
    let h = encode::EventHeader { chat_id: 9, seq: 3, sender_id: 1, sender_device_id: 2, time_ms: 1000 };
    let ev = encode::message_event(&h, 77, "c-9", "hi");
    let f = encode::deliver(&ev);
    let fr = verify::server_frame(&f).unwrap();
    assert_eq!(verify::client_frame(&f).unwrap_err(), ErrorCode::UnknownFrame);
    let bytes = fr.body_as_deliver().unwrap().event().unwrap().bytes();
    assert_eq!(bytes, &ev[..], "the stored event is carried byte for byte");
    let e = verify::event(bytes).unwrap();
    assert_eq!((e.chat_id(), e.seq(), e.sender_id(), e.time_ms()), (9, 3, 1, 1000));
    let m = e.body_as_message_body().unwrap();
    assert_eq!((m.message_id(), m.client_msg_id(), m.content()), (77, Some("c-9"), Some("hi")));

    let page = encode::history_page(4, 9, &[ev.clone(), ev.clone()], true);
    let fr = verify::server_frame(&page).unwrap();
    let p = fr.body_as_history_page().unwrap();
    assert!(p.has_more());
    assert_eq!(p.events().unwrap().len(), 2);

    for f in [
        encode::error(1, ErrorCode::ChatNotFound, "no", 0),
        encode::ok(1),
        encode::close(ErrorCode::MalformedFrame, "bad"),
        encode::pong(1, 2, 3),
        encode::authenticated(1, 2, 3, "alice", "t"),
        encode::device_list(1, &[encode::DeviceEntry { device_id: 1, name: "x", created_ms: 0, current: true }]),
        encode::user_info(1, 2, "bob"),
        encode::user_list(1, &[(2, "bob"), (3, "carol")]),
        encode::send_ack(1, 2, "c", 3, 4, 5),
        encode::sync_done(1, 2, 3),
        encode::chat_list(1, &[encode::ChatSummaryArgs { chat_id: 1, kind: fb::ChatKind::Group, title: "t", last_seq: 2, member_count: 3, last_message: Some(&ev), ..Default::default() }]),
    ] {
        verify::server_frame(&f).unwrap();
    }
}

#[test]
fn invalid_utf8_is_its_own_code() {
    let f = encode::send_message(1, 1, "c", "hello");
    let mut bad = f.to_vec();
    let at = bad.windows(5).position(|w| w == b"hello").unwrap();
    bad[at] = 0xff;
    assert_eq!(verify::client_frame(&bad).unwrap_err(), ErrorCode::InvalidUtf8);
}

#[test]
fn truncated_and_oversized_frames_are_rejected() {
    let f = encode::send_message(1, 1, "c", "hello");
    // The last bytes may be alignment padding, which a buffer can lose and stay valid.
    for cut in 0..f.len() - 4 {
        assert!(verify::client_frame(&f[..cut]).is_err(), "truncated at {cut}");
    }
    let big = "x".repeat(magpie_wire::limits::MAX_CLIENT_FRAME_BYTES);
    let f = encode::send_message(1, 1, "c", &big);
    assert_eq!(verify::client_frame(&f).unwrap_err(), ErrorCode::FrameTooLarge);
}

#[test]
fn unknown_union_type_is_rejected() {
    let f = encode::ping(1, 1);
    let fr = verify::client_frame(&f).unwrap();
    assert_eq!(fr.body_type(), fb::Body::Ping);
    // Rewrite the union discriminant to a value this build does not know.
    let mut bad = f.to_vec();
    let pos = bad.iter().position(|&b| b == fb::Body::Ping.0).unwrap();
    bad[pos] = 200;
    assert!(matches!(verify::client_frame(&bad), Err(ErrorCode::UnknownFrame | ErrorCode::MalformedFrame)));
}

#[test]
fn trailing_bytes_are_ignored_and_misalignment_is_refused() {
    let f = encode::ping(3, 99);
    // Bytes after the buffer, or between the root offset and the rest, are reached by no offset:
    // the verifier does not look at them, and the frame reads as without them.
    let shift = |gap: usize| {
        let root = u32::from_le_bytes(f[..4].try_into().unwrap()) as usize + gap;
        [&(root as u32).to_le_bytes()[..], &vec![0u8; gap], &f[4..]].concat()
    };
    for padded in [[&f[..], &[0u8; 8]].concat(), [&f[..], &[0xff; 3]].concat(), shift(8)] {
        let fr = verify::client_frame(&padded).unwrap();
        assert_eq!((fr.request_id(), fr.body_as_ping().unwrap().nonce()), (3, 99));
    }
    // Moving the tables by other than a multiple of 8 leaves every offset consistent but the
    // table (4-byte) or the nonce (8-byte) off its alignment, counted from the buffer's start.
    for gap in [1, 4] {
        let bad = shift(gap);
        assert!(matches!(fb::root_as_frame(&bad), Err(flatbuffers::InvalidFlatbuffer::Unaligned { .. })), "gap {gap}");
        assert_eq!(verify::client_frame(&bad).unwrap_err(), ErrorCode::MalformedFrame);
    }
}

/// The schema, to find every enum field a client can send.
const SCHEMA: &str = include_str!("../schema/magpie.fbs");

/// A frame of type `body` whose body is an empty table: it verifies for every table type.
fn empty_body_frame(body: fb::Body) -> Vec<u8> {
    let mut b = flatbuffers::FlatBufferBuilder::new();
    let start = b.start_table();
    let t = b.end_table(start);
    let f = fb::Frame::create(&mut b, &fb::FrameArgs { request_id: 1, body_type: body, body: Some(t.as_union_value()) });
    b.finish(f, None);
    b.finished_data().to_vec()
}

/// Every `Table.field` of an enum type in the tables (and their tables, structs and unions) of
/// the body types the server accepts from clients, read from the schema.
fn client_enum_fields() -> BTreeSet<String> {
    let src: Vec<&str> = SCHEMA.lines().map(|l| l.split("//").next().unwrap_or("")).collect();
    let src = src.join("\n");
    let mut enums = HashSet::new();
    // Tables and structs: (field, type); unions: ("", member).
    let mut types: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for block in src.split('}') {
        let Some((head, body)) = block.split_once('{') else { continue };
        let decl: Vec<&str> = head.rsplit(';').next().unwrap().split_whitespace().collect();
        match decl[..] {
            ["enum", name, ..] => {
                enums.insert(name);
            }
            ["union", name] => {
                types.insert(name, body.split(',').map(str::trim).filter(|m| !m.is_empty()).map(|m| ("", m)).collect());
            }
            ["table" | "struct", name] => {
                let fields = body.split(';').filter_map(|f| {
                    let (field, ty) = f.split_once(':')?;
                    let ty = ty.trim().split([' ', '(', '=']).next()?.trim_matches(['[', ']']);
                    Some((field.trim(), ty))
                });
                types.insert(name, fields.collect());
            }
            _ => panic!("a declaration this test cannot read: {head:?}"),
        }
    }
    let client_bodies = fb::Body::ENUM_VALUES
        .iter()
        .filter(|&&b| b != fb::Body::NONE && verify::client_frame(&empty_body_frame(b)).is_ok())
        .map(|b| b.variant_name().unwrap());
    let mut todo: Vec<&str> = client_bodies.collect();
    assert!(todo.contains(&"History") && !todo.contains(&"Welcome"), "client bodies: {todo:?}");
    let (mut seen, mut found) = (HashSet::new(), BTreeSet::new());
    while let Some(t) = todo.pop() {
        if !seen.insert(t) {
            continue;
        }
        for &(field, ty) in types.get(t).unwrap_or_else(|| panic!("{t} is not in the schema")) {
            if enums.contains(ty) {
                found.insert(format!("{t}.{field}"));
            } else if types.contains_key(ty) {
                todo.push(ty);
            }
        }
    }
    found
}

#[test]
fn every_enum_field_of_a_client_frame_is_range_checked() {
    // Per field: a frame holding the first value past the schema's, and one holding a defined one.
    use magpie_wire::chat::{Info, Settings};
    let settings = |f: &dyn Fn(&mut Settings)| {
        let mut s = Settings::default();
        f(&mut s);
        encode::update_chat(1, 5, 16, &Info { settings: s, ..Info::default() })
    };
    let bad_who = fb::Who(fb::Who::ENUM_MAX + 1);
    let chat = |kind| encode::create_chat(1, &encode::CreateChatArgs { kind, title: "t", ..Default::default() });
    let order = |order: fb::ChatOrder| {
        encode::frame(1, |fbb| {
            let t = fb::ListChats::create(fbb, &fb::ListChatsArgs { order, ..Default::default() });
            (fb::Body::ListChats, t.as_union_value())
        })
    };
    let cases: Vec<(&str, Bytes, Bytes)> = vec![
        (
            "History.direction",
            encode::history(1, 5, 0, fb::Direction(fb::Direction::ENUM_MAX + 1), 50),
            encode::history(1, 5, 0, fb::Direction::Forward, 50),
        ),
        ("CreateGroup.kind", chat(fb::ChatKind(fb::ChatKind::ENUM_MAX + 1)), chat(fb::ChatKind::Channel)),
        ("SetRole.role", encode::set_role(1, 5, 2, fb::Role(fb::Role::ENUM_MAX + 1)), encode::set_role(1, 5, 2, fb::Role::Admin)),
        ("ListChats.order", order(fb::ChatOrder(fb::ChatOrder::ENUM_MAX + 1)), order(fb::ChatOrder::ByActivity)),
        ("ChatSettings.post", settings(&|s| s.post = bad_who), settings(&|s| s.post = fb::Who::Admins)),
        ("ChatSettings.add_members", settings(&|s| s.add_members = bad_who), settings(&|s| s.add_members = fb::Who::Members)),
        ("ChatSettings.change_info", settings(&|s| s.change_info = bad_who), settings(&|s| s.change_info = fb::Who::Members)),
        ("ChatSettings.pin", settings(&|s| s.pin = bad_who), settings(&|s| s.pin = fb::Who::Members)),
        (
            "ChatSettings.history",
            settings(&|s| s.history = fb::HistoryVisibility(fb::HistoryVisibility::ENUM_MAX + 1)),
            settings(&|s| s.history = fb::HistoryVisibility::SinceJoined),
        ),
        (
            "SetTyping.kind",
            encode::set_typing(1, 5, fb::TypingKind(fb::TypingKind::ENUM_MAX + 1)),
            encode::set_typing(1, 5, fb::TypingKind::RecordingVoice),
        ),
        (
            "SetPrivacy.last_seen",
            encode::set_privacy(1, 2, &Privacy { last_seen: fb::LastSeenVisibility(fb::LastSeenVisibility::ENUM_MAX + 1), ..Privacy::default() }),
            encode::set_privacy(1, 2, &Privacy { last_seen: fb::LastSeenVisibility::Nobody, ..Privacy::default() }),
        ),
    ];
    let listed: BTreeSet<String> = cases.iter().map(|c| c.0.to_string()).collect();
    assert_eq!(client_enum_fields(), listed, "check every enum field of a client frame in verify::client_enums and list it here");
    for (field, bad, good) in &cases {
        let bad = verify::client_frame(bad).expect("the FlatBuffers verifier accepts any enum value");
        let why = verify::client_enums(&bad).unwrap_err();
        assert!(why.starts_with(field), "{why}");
        verify::client_enums(&verify::client_frame(good).unwrap()).unwrap();
    }
    for &d in fb::Direction::ENUM_VALUES {
        verify::client_enums(&verify::client_frame(&encode::history(1, 5, 0, d, 50)).unwrap()).unwrap();
    }
    verify::client_enums(&verify::client_frame(&encode::history(1, 5, 0, fb::Direction(u8::MAX), 50)).unwrap()).unwrap_err();
    verify::client_enums(&verify::client_frame(&encode::ping(1, 1)).unwrap()).unwrap();
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = verify::client_frame(&buf);
        let _ = verify::server_frame(&buf);
        let _ = verify::event(&buf);
    }

    #[test]
    fn messages_round_trip(chat in any::<u64>(), cmid in "[a-z0-9-]{1,64}", content in "\\PC{0,300}") {
        let f = encode::send_message(5, chat, &cmid, &content);
        let fr = verify::client_frame(&f).unwrap();
        let m = fr.body_as_send_message().unwrap();
        prop_assert_eq!(m.chat_id(), chat);
        prop_assert_eq!(m.client_msg_id().unwrap(), cmid.as_str());
        prop_assert_eq!(m.content().unwrap_or(""), content.as_str());
    }
}

/// Every conversation frame (PROTOCOL.md §6.9–6.11) encodes into what the verifier of its
/// direction accepts and reads back what was put in; server-only ones are refused from clients.
#[test]
fn conversation_frames_round_trip() {
    use magpie_wire::chat::{update, Info, MemberEntry, Settings, State};
    let settings = Settings { post: fb::Who::Admins, history: fb::HistoryVisibility::SinceJoined, approve_joins: true, ..Settings::default() };
    let info = Info { title: "T".into(), description: "d".into(), avatar_ref: "a".into(), handle: "news_1".into(), settings };
    let requests = [
        encode::create_chat(1, &encode::CreateChatArgs { kind: fb::ChatKind::Channel, title: "c", member_ids: &[2], description: "d", handle: "h", settings: Some(settings) }),
        encode::leave_chat_to(1, 5, 9),
        encode::list_members(1, 5, 0, 10, true),
        encode::update_chat(1, 5, update::ALL, &info),
        encode::set_role(1, 5, 2, fb::Role::Admin),
        encode::transfer_ownership(1, 5, 2),
        encode::create_invite(1, 5, 10, 3),
        encode::list_invites(1, 5),
        encode::revoke_invite(1, 5, "code"),
        encode::preview_chat(1, encode::ChatRef::Handle("h")),
        encode::join_chat(1, encode::ChatRef::Invite("code")),
        encode::list_join_requests(1, 5),
        encode::resolve_join_request(1, 5, 2, true),
        encode::set_chat_state(1, 5, 15, &State { muted_until_ms: 9, pin_rank: 1, archived: true, marked_unread: true }),
        encode::reorder_pinned(1, &[5, 6]),
        encode::save_broadcast_list(1, 0, "l", &[2, 3]),
        encode::delete_broadcast_list(1, 4),
        encode::list_broadcast_lists(1),
        encode::send_broadcast(1, 4, "c", "hi"),
        encode::list_chats_by_activity(1, true, 5, 6, 7),
    ];
    for f in &requests {
        let fr = verify::client_frame(f).unwrap();
        verify::client_enums(&fr).unwrap();
        assert!(verify::server_frame(f).is_err(), "{:?} is a request", fr.body_type());
    }
    let c = verify::client_frame(&requests[0]).unwrap().body_as_create_group().unwrap();
    assert_eq!((c.kind(), c.handle(), Settings::from_fb(c.settings())), (fb::ChatKind::Channel, Some("h"), settings));

    let invite = encode::InviteArgs { code: "x".into(), chat_id: 5, created_by: 1, created_ms: 2, expires_ms: 3, max_uses: 4, uses: 1, revoked: false };
    let member = MemberEntry { user_id: 1, role: fb::Role::Owner, since_seq: 1 };
    let replies = [
        encode::chat_info(1, &encode::ChatInfoArgs { chat_id: 1, kind: fb::ChatKind::Direct, info: &info, members: &[member], members_complete: true, member_count: 1, my_role: fb::Role::Owner, last_seq: 0, created_ms: 0, pending_requests: 2 }),
        encode::member_list(1, 5, &[member], true),
        encode::invite(1, &invite),
        encode::invite_list(1, 5, &[invite.clone()]),
        encode::chat_preview(1, &encode::ChatPreviewArgs { chat_id: 5, kind: fb::ChatKind::Channel, info: &info, member_count: 100_000, is_member: false }),
        encode::join_pending(1, 5),
        encode::join_request_list(1, 5, &[(2, 3)]),
        encode::chat_state_changed(0, 5, &State::default()),
        encode::membership_changed(5, true),
        encode::broadcast_list(1, 4, "l", &[2]),
        encode::broadcast_lists(1, &[(4, "l", &[2, 3])]),
        encode::broadcast_ack(1, 4, "c", 5, &[encode::BroadcastResultArgs { user_id: 2, chat_id: 7, message_id: 8, seq: 9, error_code: 0 }]),
    ];
    for f in &replies {
        let fr = verify::server_frame(f).unwrap();
        assert_eq!(verify::client_frame(f).unwrap_err(), ErrorCode::UnknownFrame, "{:?} is server-only", fr.body_type());
    }
    let ci = verify::server_frame(&replies[0]).unwrap().body_as_chat_info().unwrap();
    assert_eq!((ci.handle(), ci.pending_requests(), Settings::from_fb(ci.settings())), (Some("news_1"), 2, settings));
    let m = ci.members().unwrap().get(0);
    assert_eq!((m.user_id(), m.role(), m.since_seq()), (1, fb::Role::Owner, 1));

    let h = encode::EventHeader { chat_id: 5, seq: 2, sender_id: 1, sender_device_id: 1, time_ms: 0 };
    for e in [encode::chat_updated_event(&h, &info), encode::role_changed_event(&h, 2, fb::Role::Admin), encode::owner_changed_event(&h, 1, 2), encode::members_added_event(&h, &[3], fb::JoinedVia::InviteLink)] {
        verify::event(&e).unwrap();
    }
}

/// Enum values outside the schema are refused before anything reads them.
#[test]
fn unknown_enum_values_in_conversation_requests_are_refused() {
    let bad_role = encode::set_role(1, 5, 2, fb::Role(9));
    assert!(verify::client_enums(&verify::client_frame(&bad_role).unwrap()).is_err());
    let bad_kind = encode::create_chat(1, &encode::CreateChatArgs { kind: fb::ChatKind(7), title: "t", ..Default::default() });
    assert!(verify::client_enums(&verify::client_frame(&bad_kind).unwrap()).is_err());
    let settings = magpie_wire::chat::Settings { post: fb::Who(5), ..Default::default() };
    let info = magpie_wire::chat::Info { settings, ..Default::default() };
    let bad_settings = encode::update_chat(1, 5, 16, &info);
    assert!(verify::client_enums(&verify::client_frame(&bad_settings).unwrap()).is_err());
}
