//! `magpiectl admin` against a data directory populated through `magpie_storage` directly.

mod common;

use common::Ctl;
use magpie_storage::{bytes::Bytes, ChatKind, ChatMeta, ChatProfile, Op, Role, Store, StoreOptions};
use magpie_wire::chat::{Info, MemberEntry};
use magpie_wire::encode::{self, EventHeader};
use magpie_wire::fb;
use std::path::Path;

const T0: i64 = 1_700_000_000_000;

struct Fixture {
    alice: u64,
    bob: u64,
    team: u64,
    broken: u64,
}

/// Two users (alice with a device), a group "team" with three events, and a chat whose second
/// stored event is garbage.
fn populate(db: &Path) -> Fixture {
    let store = Store::open(db, StoreOptions::default()).unwrap();
    let alice = store.create_user("alice", "$argon2id$fake", T0).unwrap().user_id;
    let bob = store.create_user("bob", "$argon2id$fake", T0 + 1).unwrap().user_id;
    store.create_device(alice, "laptop", [7; 32], T0 + 2).unwrap();
    let ids = store.allocate_ids(2).unwrap();
    let (team, broken) = (ids.start, ids.start + 1);
    let h = |chat_id, seq, sender_id| EventHeader {
        chat_id,
        seq,
        sender_id,
        sender_device_id: 0,
        time_ms: T0 + seq as i64,
    };
    let append = |chat_id, seq, event: Bytes| Op::Append { chat_id, seq, event };
    let meta = |chat_id, title: &str| ChatMeta {
        chat_id,
        kind: ChatKind::Group,
        title: title.into(),
        created_ms: T0,
        created_by: alice,
        profile: ChatProfile { description: format!("about {title}"), ..ChatProfile::default() },
    };
    let members = [
        MemberEntry { user_id: alice, role: fb::Role::Owner, since_seq: 1 },
        MemberEntry { user_id: bob, role: fb::Role::Member, since_seq: 1 },
    ];
    let team_info = Info { title: "team".into(), ..Info::default() };
    let broken_info = Info { title: "broken".into(), ..Info::default() };
    store
        .committer()
        .submit_wait(vec![
            Op::PutChat(meta(team, "team")),
            Op::PutMember { chat_id: team, user_id: alice, role: Role::Owner, since_seq: 1 },
            Op::PutMember { chat_id: team, user_id: bob, role: Role::Member, since_seq: 1 },
            append(team, 1, encode::chat_created_event(&h(team, 1, alice), fb::ChatKind::Group, &team_info, &members)),
            append(team, 2, encode::message_event(&h(team, 2, alice), 100, "c-1", "hello bob")),
            append(team, 3, encode::message_event(&h(team, 3, bob), 101, "c-2", "hi alice")),
            Op::PutChat(meta(broken, "broken")),
            Op::PutMember { chat_id: broken, user_id: alice, role: Role::Owner, since_seq: 1 },
            append(
                broken,
                1,
                encode::chat_created_event(&h(broken, 1, alice), fb::ChatKind::Group, &broken_info, &members[..1]),
            ),
            append(broken, 2, Bytes::from_static(b"\xde\xad\xbe\xef not a flatbuffer")),
        ])
        .unwrap();
    store.flush_and_close();
    Fixture { alice, bob, team, broken }
}

#[test]
fn admin_commands_read_a_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let f = populate(&data.join("db"));
    let ctl = Ctl::new(&tmp.path().join("home")).with_global(&["admin", "--data-dir", data.to_str().unwrap()]);

    // users
    let out = ctl.run(&["users"]);
    let text = out.ok();
    assert!(text.starts_with("USER"), "{text}");
    assert!(text.contains("alice") && text.contains("bob") && text.contains(" laptop"), "{text}");
    let users = ctl.run(&["users", "--json"]).json();
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!((users[0]["user_id"].as_u64(), users[0]["username"].as_str()), (Some(f.alice), Some("alice")));
    assert_eq!(users[0]["devices"][0]["name"], "laptop");
    assert_eq!(users[1]["devices"].as_array().unwrap().len(), 0);

    // chats
    let text = ctl.run(&["chats"]).ok().to_owned();
    assert!(text.contains("team") && text.contains("#3") && text.contains("alice**, bob"), "{text}");
    let chats = ctl.run(&["chats", "--json"]).json();
    let team = chats.as_array().unwrap().iter().find(|c| c["chat_id"] == f.team).unwrap().clone();
    assert_eq!(
        (team["kind"].as_str(), team["last_seq"].as_u64(), team["members"].as_array().unwrap().len()),
        (Some("group"), Some(3), 2)
    );
    assert_eq!(team["description"], "about team");

    // dump, human and JSON lines
    let text = ctl.run(&["dump", &f.team.to_string()]).ok().to_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0],
        format!("2023-11-14 22:13:20 [chat {} #1] alice created group \"team\" with alice, bob", f.team)
    );
    assert!(lines[1].ends_with(&format!("[chat {} #2] alice: hello bob", f.team)), "{}", lines[1]);
    assert!(lines[2].ends_with(&format!("[chat {} #3] bob: hi alice", f.team)), "{}", lines[2]);
    let events = ctl.run(&["dump", &f.team.to_string(), "--json"]).json_lines();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["kind"], "chat_created");
    assert_eq!(events[0]["members"][0]["role"], "owner");
    assert_eq!(
        (events[2]["kind"].as_str(), events[2]["content"].as_str(), events[2]["sender"].as_str()),
        (Some("message"), Some("hi alice"), Some("bob"))
    );
    assert_eq!(events[2]["sender_id"].as_u64(), Some(f.bob));
    let page = ctl.run(&["dump", &f.team.to_string(), "--json", "--after", "1", "--limit", "1"]).json_lines();
    assert_eq!(page.iter().map(|e| e["seq"].as_u64().unwrap()).collect::<Vec<_>>(), vec![2]);

    // a broken stored event is shown in place and makes the dump fail
    let run = ctl.run(&["dump", &f.broken.to_string()]);
    assert!(run.stdout.contains("alice created group \"broken\""), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("[chat {} #2] undecodable event (malformed_frame (1))", f.broken)),
        "{}",
        run.stdout
    );
    assert!(run.err().contains("error: malformed_frame (1): 1 stored events"), "{}", run.stderr);

    // unknown chats carry the protocol's code
    assert!(ctl.run(&["dump", "999999"]).err().contains("error: chat_not_found (200): no chat 999999"));
    let e = ctl.run(&["dump", "999999", "--json"]).json_err();
    assert_eq!((e["code"].as_str(), e["number"].as_u64()), (Some("chat_not_found"), Some(200)));

    // stats
    let stats = ctl.run(&["stats", "--json"]).json();
    assert_eq!(
        (stats["users"].as_u64(), stats["devices"].as_u64(), stats["chats"].as_u64()),
        (Some(2), Some(1), Some(2))
    );
    assert_eq!((stats["log_events"].as_u64(), stats["memberships"].as_u64()), (Some(5), Some(3)));
    assert!(ctl.run(&["stats"]).ok().contains("log events"));

    // a missing data directory is named
    let nowhere = tmp.path().join("nowhere");
    let run = Ctl::new(&tmp.path().join("home")).run(&["admin", "users", "--data-dir", nowhere.to_str().unwrap()]);
    assert!(run.err().contains("no_database: no Magpie database in"), "{}", run.stderr);
}

#[test]
fn create_user_and_backup_with_the_engine_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    populate(&data.join("db"));
    std::fs::create_dir_all(data.join("tls")).unwrap();
    std::fs::write(data.join("tls/cert.der"), b"cert").unwrap();
    std::fs::write(data.join("node_id"), b"42\n").unwrap();
    let ctl = Ctl::new(&tmp.path().join("home")).with_global(&["admin", "--data-dir", data.to_str().unwrap()]);

    let created = ctl.run(&["create-user", "carol", "a long password", "--json"]).json();
    assert_eq!((created["username"].as_str(), created["via"].as_str()), (Some("carol"), Some("store")));
    let run = ctl.run_with_stdin(&["create-user", "dave", "-"], Some("another password\n"));
    assert!(run.ok().starts_with("created user dave (id "), "{}", run.stdout);

    // the hash is the engine's argon2id with the engine's parameters
    let store = Store::open_read_only(&data.join("db")).unwrap();
    let carol = store.user_by_name("carol").unwrap().unwrap();
    assert_eq!(carol.user_id, created["user_id"].as_u64().unwrap());
    assert!(carol.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", carol.password_hash);
    drop(store);

    assert!(ctl.run(&["create-user", "carol", "a long password"]).err().contains("username_taken (102)"));
    assert!(ctl.run(&["create-user", "Bad Name", "a long password"]).err().contains("invalid_argument (103)"));
    assert!(ctl.run(&["create-user", "erin", "short"]).err().contains("invalid_argument (103)"));

    // backup: a complete data directory that the admin commands (and an engine) open
    let dest = tmp.path().join("backup");
    let done = ctl.run(&["backup", dest.to_str().unwrap(), "--json"]).json();
    assert_eq!(done["copied"], serde_json::json!(["tls", "node_id"]));
    assert_eq!(std::fs::read(dest.join("node_id")).unwrap(), b"42\n");
    let users = Ctl::new(&tmp.path().join("home"))
        .run(&["admin", "users", "--json", "--data-dir", dest.to_str().unwrap()])
        .json();
    let names: Vec<&str> = users.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice", "bob", "carol", "dave"]);
    assert!(ctl.run(&["backup", dest.to_str().unwrap()]).err().contains("exists and is not empty"));
}

#[test]
fn a_locked_database_is_read_but_not_written() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    populate(&data.join("db"));
    // This process plays the running engine: it holds the RocksDB lock.
    let engine = Store::open(&data.join("db"), StoreOptions::default()).unwrap();
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = format!("127.0.0.1:{dead_port}");
    let ctl = Ctl::new(&tmp.path().join("home")).with_global(&[
        "admin",
        "--data-dir",
        data.to_str().unwrap(),
        "--server",
        &server,
        "--transport",
        "ws",
        "--timeout",
        "3",
    ]);

    // reads work next to the lock holder
    assert_eq!(ctl.run(&["users", "--json"]).json().as_array().unwrap().len(), 2);

    // backup says why it cannot
    let run = ctl.run(&["backup", tmp.path().join("b").to_str().unwrap()]);
    assert!(
        run.err().contains("error: db_locked:") && run.stderr.contains("needs the engine stopped"),
        "{}",
        run.stderr
    );

    // create-user falls back to the engine's protocol, and says so when that fails too
    let run = ctl.run(&["create-user", "frank", "a long password"]);
    let err = run.err();
    assert!(err.contains("locked by a running engine: creating the user through the engine at"), "{err}");
    assert!(err.contains("error: transport:") && err.contains("did not answer"), "{err}");
    drop(engine);
}
