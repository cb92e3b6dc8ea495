//! Every frame the encoder builds passes the verifier for its direction and reads back the same
//! fields; hostile buffers are rejected with the right stable code and never panic.

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
        encode::chat_list(1, &[encode::ChatSummaryArgs { chat_id: 1, kind: fb::ChatKind::Group, title: "t", last_seq: 2, member_count: 3, last_message: Some(&ev) }]),
        encode::chat_info(1, &encode::ChatInfoArgs { chat_id: 1, kind: fb::ChatKind::Direct, title: "", members: &[(1, fb::Role::Member)], last_seq: 0, created_ms: 0 }),
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
    let cases: [(&str, Bytes, Bytes); 1] = [(
        "History.direction",
        encode::history(1, 5, 0, fb::Direction(fb::Direction::ENUM_MAX + 1), 50),
        encode::history(1, 5, 0, fb::Direction::Forward, 50),
    )];
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
