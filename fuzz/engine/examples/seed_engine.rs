//! Writes the `connection` target's seeds into `fuzz/corpus/connection/` (or the directory given
//! as argument): real sessions — chats, sends, retries, sync with cursors, history paging,
//! membership changes, devices, the unauthenticated phase — plus every client frame type built with
//! `magpie_wire::encode` sent raw after a sync, and the protocol violations. Deterministic, so
//! re-running it changes nothing unless the input format or the encoder changed.
//!
//! ```sh
//! cargo run --manifest-path fuzz/engine/Cargo.toml --example seed_engine
//! ```

use magpie_fuzz_engine::input::{
    encode, AuthMode, ChatRef, Cmid, Content, DeviceRef, Name, Op, Password, SeqRef, Token, UserRef,
};
use magpie_wire::{encode as wire, fb};
use std::path::PathBuf;

fn send(chat: ChatRef, id: u8, text: &str) -> Op {
    Op::Send { chat, cmid: Cmid::Fixed(id), content: Content::Text(text.into()) }
}

fn group(title: &str, members: Vec<UserRef>) -> Op {
    Op::CreateGroup { title: title.into(), members }
}

fn seeds() -> Vec<(String, AuthMode, Vec<Op>)> {
    use ChatRef::{Known, Near, Newest, Probe, Zero};
    use Op::*;
    let mut s: Vec<(String, AuthMode, Vec<Op>)> = vec![
        (
            "chat_basics".into(),
            AuthMode::Register,
            vec![
                group("team", vec![UserRef::Peer]),
                send(Newest, 1, "hello"),
                Sync(vec![]),
                PeerSend { chat: Newest, count: 3 },
                send(Newest, 2, "hello again"),
                History { chat: Newest, from: SeqRef::Zero, forward: false, limit: 0 },
                GetChat(Newest),
                ListChats { after: Zero, limit: 0 },
                Settle,
            ],
        ),
        (
            "sync_with_cursor".into(),
            AuthMode::Register,
            vec![
                CreateDirect { peer: UserRef::Peer, by_name: false },
                send(Newest, 1, "one"),
                send(Newest, 2, "two"),
                send(Newest, 3, "three"),
                Settle,
                Sync(vec![(Newest, SeqRef::Small(2))]),
                send(Newest, 4, "four"),
                PeerSend { chat: Newest, count: 2 },
                CreateDirect { peer: UserRef::Peer, by_name: true },
                Settle,
            ],
        ),
        (
            "sync_then_live_interleaved".into(),
            AuthMode::Token,
            vec![
                PeerCreateGroup { with_me: true },
                PeerSend { chat: Newest, count: 8 },
                Sync(vec![(Newest, SeqRef::Seen(-3))]),
                PeerSend { chat: Newest, count: 8 },
                send(Newest, 1, "while syncing"),
                Pause(1),
                PeerSend { chat: Newest, count: 8 },
                Settle,
                Sync(vec![]),
            ],
        ),
        (
            "idempotent_retries_and_limits".into(),
            AuthMode::Register,
            vec![
                group("a", vec![]),
                group("b", vec![]),
                Settle,
                send(Known(0), 1, "first"),
                send(Known(0), 1, "first"),
                send(Known(1), 1, "same id, other chat"),
                Send { chat: Known(0), cmid: Cmid::Long(64), content: Content::Text("64-byte id".into()) },
                Send { chat: Known(0), cmid: Cmid::Long(65), content: Content::Text("65-byte id".into()) },
                Send { chat: Known(0), cmid: Cmid::Raw(String::new()), content: Content::Text("no id".into()) },
                Send { chat: Known(0), cmid: Cmid::Fixed(2), content: Content::Empty },
                Send { chat: Known(0), cmid: Cmid::Fixed(3), content: Content::Repeat { multibyte: false, len: 0x8002 } },
                Send { chat: Known(0), cmid: Cmid::Fixed(4), content: Content::Repeat { multibyte: false, len: 0x8003 } },
                Send { chat: Known(0), cmid: Cmid::Fixed(5), content: Content::Repeat { multibyte: true, len: 0x8003 } },
                Send { chat: Known(0), cmid: Cmid::Fixed(6), content: Content::Text("ünïcödé 👋".into()) },
                Sync(vec![(Known(0), SeqRef::Small(1))]),
                send(Known(0), 1, "retry after sync"),
            ],
        ),
        (
            "history_paging".into(),
            AuthMode::Register,
            vec![
                group("log", vec![UserRef::Peer]),
                send(Newest, 1, "1"),
                send(Newest, 2, "2"),
                send(Newest, 3, "3"),
                PeerSend { chat: Newest, count: 5 },
                Settle,
                History { chat: Newest, from: SeqRef::Small(3), forward: true, limit: 2 },
                History { chat: Newest, from: SeqRef::Seen(0), forward: false, limit: 3 },
                History { chat: Newest, from: SeqRef::Zero, forward: true, limit: 600 },
                History { chat: Newest, from: SeqRef::Raw(u64::MAX), forward: false, limit: 1 },
                History { chat: Probe, from: SeqRef::Zero, forward: false, limit: 0 },
                History { chat: Near(1), from: SeqRef::Zero, forward: true, limit: 0 },
                ListChats { after: Known(0), limit: 1 },
            ],
        ),
        (
            "membership".into(),
            AuthMode::Register,
            vec![
                Sync(vec![]),
                group("club", vec![UserRef::Peer]),
                send(Newest, 1, "welcome"),
                AddMembers { chat: Newest, users: vec![UserRef::Probe] },
                RemoveMember { chat: Newest, user: UserRef::Probe },
                RemoveMember { chat: Newest, user: UserRef::Peer },
                PeerAdd { chat: Newest, user: UserRef::Me },
                PeerCreateGroup { with_me: true },
                PeerRemove { chat: Newest, user: UserRef::Me },
                PeerAdd { chat: Newest, user: UserRef::Me },
                PeerSend { chat: Newest, count: 2 },
                LeaveChat(Known(0)),
                send(Known(0), 2, "after leaving"),
                AddMembers { chat: Known(0), users: vec![UserRef::Raw(1 << 40)] },
                AddMembers { chat: Known(0), users: vec![UserRef::Me; 255] },
                CreateDirect { peer: UserRef::Me, by_name: false },
                LeaveChat(Probe),
                GetChat(Probe),
                send(Probe, 3, "let me in"),
            ],
        ),
        (
            "devices".into(),
            AuthMode::Register,
            vec![
                ListDevices,
                RevokeDevice(DeviceRef::Throwaway),
                RevokeDevice(DeviceRef::Throwaway),
                RevokeDevice(DeviceRef::Peer),
                RevokeDevice(DeviceRef::Probe),
                RevokeDevice(DeviceRef::Raw(0)),
                ListDevices,
                Settle,
                Logout,
                Ping(1),
            ],
        ),
        (
            "revoke_own_device".into(),
            AuthMode::Token,
            vec![Sync(vec![]), RevokeDevice(DeviceRef::Mine), Ping(2)],
        ),
        (
            "unauthenticated".into(),
            AuthMode::None,
            vec![
                Ping(5),
                send(Newest, 1, "too early"),
                ListChats { after: Zero, limit: 0 },
                Sync(vec![]),
                Login { name: Name::Me, password: Password::Raw("wrong password".into()), device: "x".into() },
                Login { name: Name::Raw("nobody-here".into()), password: Password::Correct, device: "x".into() },
                Register { name: Name::Me, password: Password::Correct, device: "x".into() },
                Register { name: Name::Raw("NotValid!".into()), password: Password::Correct, device: "x".into() },
                Register { name: Name::Fixed(1), password: Password::Raw("short".into()), device: "x".into() },
                Authenticate(Token::Raw("00".into())),
                Hello { version: 1, min_version: 1, features: 0 },
                Authenticate(Token::Mine),
                Authenticate(Token::Mine),
                Sync(vec![]),
                group("late", vec![]),
            ],
        ),
        (
            "login_throwaway".into(),
            AuthMode::None,
            vec![
                Login { name: Name::Me, password: Password::Correct, device: "phone".into() },
                ListDevices,
                Authenticate(Token::Throwaway),
                RevokeDevice(DeviceRef::Throwaway),
            ],
        ),
        (
            "users".into(),
            AuthMode::Token,
            vec![
                GetUsers(vec![UserRef::Me, UserRef::Peer, UserRef::Probe, UserRef::Zero]),
                GetUsers(vec![]),
                GetUsers(vec![UserRef::Me; 255]),
                LookupUser(Name::Peer),
                LookupUser(Name::Raw("no-such-user".into())),
                CreateDirect { peer: UserRef::Near(1), by_name: false },
                CreateDirect { peer: UserRef::Probe, by_name: true },
                group("big", vec![UserRef::Me; 255]),
                group("", vec![]),
                group("dup members", vec![UserRef::Peer, UserRef::Peer, UserRef::Me]),
            ],
        ),
        (
            "burst".into(),
            AuthMode::Register,
            vec![
                Sync(vec![]),
                PeerCreateGroup { with_me: true },
                PingBurst(32),
                PeerSend { chat: Newest, count: 8 },
                PingBurst(32),
                PeerSend { chat: Newest, count: 8 },
                PingBurst(32),
                Settle,
            ],
        ),
    ];
    // Protocol violations: each ends the connection with a Close.
    s.push(("violation_garbage".into(), AuthMode::Register, vec![Sync(vec![]), Raw(vec![0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4])]));
    s.push(("violation_empty_frame".into(), AuthMode::Register, vec![Raw(vec![])]));
    s.push(("violation_request_id_0".into(), AuthMode::Register, vec![RequestId(0), Ping(1)]));
    s.push(("violation_corrupt".into(), AuthMode::Register, vec![Corrupt { at: 40, xor: 0xff }, send(Zero, 1, "hello")]));
    s.push(("duplicate_request_id".into(), AuthMode::Register, vec![RequestId(7), Ping(1), RequestId(7), Ping(2), Settle]));
    s.push((
        "violation_server_frame".into(),
        AuthMode::Register,
        vec![Raw(wire::send_ack(9, 1, "x", 1, 1, 1).to_vec())],
    ));
    // Every client frame type, as real encoder output, sent raw after a sync.
    let frames: Vec<(&str, bytes::Bytes)> = vec![
        ("ping", wire::ping(3, 0xdead_beef)),
        ("hello", wire::hello(1, 1, 1, 0, "magpie-client-rs/0.1.0")),
        ("register", wire::register(2, "alice", "correct horse", "laptop")),
        ("login", wire::login(2, "alice", "correct horse", "phone")),
        ("authenticate", wire::authenticate(2, "dGhpcyBpcyBhIGRldmljZSB0b2tlbg")),
        ("list_devices", wire::list_devices(4)),
        ("revoke_device", wire::revoke_device(5, 2002)),
        ("lookup_user", wire::lookup_user(6, "bob")),
        ("get_users", wire::get_users(7, &[1, 2, 3])),
        ("create_direct", wire::create_direct(8, 2, "")),
        ("create_group", wire::create_group(9, "team", &[1, 2])),
        ("add_members", wire::add_members(10, 3, &[1])),
        ("remove_member", wire::remove_member(11, 3, 1)),
        ("leave_chat", wire::leave_chat(12, 3)),
        ("get_chat", wire::get_chat(13, 3)),
        ("list_chats", wire::list_chats(14)),
        ("send_message", wire::send_message(15, 3, "c-7f3a", "hello, wörld 👋")),
        ("sync", wire::sync(17, &[(3, 1), (4, 0)])),
        ("history", wire::history(18, 3, 0, fb::Direction::Backward, 50)),
        ("logout", wire::logout(19)),
    ];
    for (name, f) in frames {
        s.push((format!("raw_{name}"), AuthMode::Register, vec![Sync(vec![]), Raw(f.to_vec()), Ping(1)]));
    }
    s
}

fn main() {
    let dir = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus/connection")
    });
    std::fs::create_dir_all(&dir).unwrap();
    let seeds = seeds();
    for (name, auth, ops) in &seeds {
        let bytes = encode(*auth, ops);
        assert_eq!(magpie_fuzz_engine::input::decode(&bytes), (*auth, ops.clone()), "seed {name} does not round-trip");
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    println!("wrote {} seeds to {}", seeds.len(), dir.display());
}
