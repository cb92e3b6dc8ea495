//! magpiectl's receipt and privacy commands against a real engine (docs/PROTOCOL.md §6.15):
//! `read` moves the cursors, `receipts` shows delivered to and read by, `chats` the unread count,
//! `privacy` hides reads; a cursor past the end and a chat one is not in get their stable codes.

mod common;

use common::Ctl;
use magpie_testkit::TestEngine;

fn ctl(home: &std::path::Path, engine: &TestEngine, profile: &str) -> Ctl {
    let tcp = engine.engine.tcp_addr.to_string();
    Ctl::new(home).with_global(&[
        "--server",
        &tcp,
        "--quic-addr",
        &engine.engine.quic_addr.to_string(),
        "--ws-addr",
        &tcp,
        "--cert",
        engine.cert_path().to_str().unwrap(),
        "--transport",
        "ws",
        "--profile",
        profile,
    ])
}

#[test]
fn read_receipts_and_privacy_from_scripts() {
    let engine = magpie_testkit::start();
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let (alice, bob, carol) = (ctl(&home, &engine, "alice"), ctl(&home, &engine, "bob"), ctl(&home, &engine, "carol"));
    for (c, name) in [(&alice, "alice"), (&bob, "bob"), (&carol, "carol")] {
        c.run(&["register", name, "a long password", "--json"]).ok();
    }
    let bob_id = bob.run(&["whoami", "--json"]).json()["user_id"].as_u64().unwrap();
    let chat = alice.run(&["group", "team", "bob", "carol", "--json"]).json()["chat_id"].as_u64().unwrap().to_string();
    let seq = alice.run(&["send", &chat, "hello", "--json"]).json()["seq"].as_u64().unwrap();
    let unread = |c: &Ctl| {
        let v = c.run(&["chats", "--by-activity", "--json"]).json();
        v["chats"].as_array().unwrap().iter().find(|x| x["chat_id"].as_u64().unwrap().to_string() == chat).unwrap()["unread_count"].as_u64()
    };
    assert_eq!(unread(&bob), Some(1));
    let r = bob.run(&["read", &chat, "--json"]).json();
    assert_eq!((r["read_seq"].as_u64(), r["delivered_seq"].as_u64()), (Some(seq), Some(seq)));
    assert_eq!(unread(&bob), Some(0));
    let who = alice.run(&["receipts", &chat, &seq.to_string(), "--json"]).json();
    assert_eq!((who["delivered"].as_u64(), who["read"].as_u64(), who["members"].as_u64()), (Some(1), Some(1), Some(3)));
    assert_eq!(who["receipts"][0]["user_id"].as_u64(), Some(bob_id));
    assert_eq!(who["receipts"][0]["read"], true);
    // Bob turns read receipts off: his read is hidden from alice.
    let p = bob.run(&["privacy", "--read-receipts", "off", "--last-seen", "nobody", "--json"]).json();
    assert_eq!((p["read_receipts"].as_bool(), p["last_seen"].as_str()), (Some(false), Some("nobody")));
    assert_eq!(bob.run(&["privacy", "--json"]).json()["read_receipts"], false, "stored");
    let who = alice.run(&["receipts", &chat, &seq.to_string(), "--json"]).json();
    assert_eq!((who["delivered"].as_u64(), who["read"].as_u64()), (Some(1), Some(0)));
    assert!(who["receipts"][0]["read"].is_null(), "hidden");
    // Refusals, by their stable codes; nothing changes.
    let e = bob.run(&["read", &chat, &(seq + 10).to_string(), "--json"]).json_err();
    assert_eq!((e["code"].as_str(), e["number"].as_u64()), (Some("receipt_out_of_range"), Some(216)));
    let e = alice.run(&["receipts", "999999", "1", "--json"]).json_err();
    assert_eq!(e["code"].as_str(), Some("chat_not_found"));
    assert_eq!(unread(&carol), Some(1), "carol's cursor never moved");
}
