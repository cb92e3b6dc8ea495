//! The `magpiectl` binary against a real engine (ephemeral ports, temp data), two users on
//! different transports, profiles in a temporary MAGPIE_HOME.

mod common;

use common::Ctl;
use magpie_testkit::TestEngine;
use serde_json::Value;

/// magpiectl for `profile`, pointed at `engine` over `transport`.
fn ctl(home: &std::path::Path, engine: &TestEngine, cert: &std::path::Path, profile: &str, transport: &str) -> Ctl {
    Ctl::new(home).with_global(&[
        "--server",
        &engine.engine.tcp_addr.to_string(),
        "--quic-addr",
        &engine.engine.quic_addr.to_string(),
        "--ws-addr",
        &engine.engine.tcp_addr.to_string(),
        "--cert",
        cert.to_str().unwrap(),
        "--transport",
        transport,
        "--profile",
        profile,
    ])
}

fn events_of(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["type"] == "event").collect()
}

#[test]
fn register_chat_send_history_and_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = magpie_testkit::start();
    let data = engine.data_dir().to_owned();
    let cert = engine.cert_path();
    let home = tmp.path().join("home");
    let alice = ctl(&home, &engine, &cert, "alice", "quic");
    let bob = ctl(&home, &engine, &cert, "bob", "ws");
    let carol = ctl(&home, &engine, &cert, "carol", "auto");

    // ---- accounts
    let a = alice.run(&["register", "alice", "a long password", "--json", "--device", "laptop"]).json();
    let alice_id = a["user_id"].as_u64().unwrap();
    assert_eq!(a["profile"], "alice");
    let run = bob.run_with_stdin(&["register", "bob", "-"], Some("another password\n"));
    assert!(run.ok().starts_with("registered bob: user "), "{}", run.stdout);
    carol.run(&["register", "carol", "third password"]).ok();
    let who = alice.run(&["whoami", "--json"]).json();
    assert_eq!(
        (who["user_id"].as_u64(), who["username"].as_str(), who["transport"].as_str()),
        (Some(alice_id), Some("alice"), Some("quic"))
    );
    assert_eq!(bob.run(&["whoami", "--json"]).json()["transport"], "websocket");
    assert!(alice.run(&["register", "alice2", "a long password"]).err().contains("profile_in_use"));
    let taken = ctl(&home, &engine, &cert, "x", "ws").run(&["register", "bob", "a long password"]);
    assert!(taken.err().contains("error: username_taken (102)"), "{}", taken.stderr);
    assert!(!home.join("x.json").exists(), "a failed registration leaves no profile");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.join("alice.json")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the profile holds a bearer token");
    }

    // ---- chats
    let g = alice.run(&["group", "team", "bob", "carol", "--json"]).json();
    let team = g["chat_id"].as_u64().unwrap();
    assert_eq!(g["member_ids"].as_array().unwrap().len(), 3);
    let d = alice.run(&["direct", "bob", "--json"]).json();
    let direct = d["chat_id"].as_u64().unwrap();
    let bob_id = d["peer_id"].as_u64().unwrap();
    assert_eq!(
        alice.run(&["direct", "bob", "--json"]).json()["chat_id"].as_u64(),
        Some(direct),
        "one direct chat per pair"
    );
    assert!(alice.run(&["direct", "bob"]).ok().starts_with(&format!("chat {direct}: direct with bob")));

    // ---- send (argument and stdin), durable ack with seq
    let s = alice.run(&["send", &team.to_string(), "hello team", "--json"]).json();
    assert_eq!((s["chat_id"].as_u64(), s["seq"].as_u64()), (Some(team), Some(2)), "seq 1 is the chat's creation");
    let run = alice.run_with_stdin(&["send", &team.to_string(), "-"], Some("from stdin\n"));
    assert!(run.ok().starts_with(&format!("sent to chat {team} as #3 (message ")), "{}", run.stdout);
    bob.run(&["send", &direct.to_string(), "hi alice"]).ok();

    // ---- history
    let h = bob.run(&["history", &team.to_string(), "--json"]).json();
    let events = h["events"].as_array().unwrap();
    assert_eq!(events.iter().map(|e| e["seq"].as_u64().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(
        (events[0]["kind"].as_str(), events[0]["chat_kind"].as_str(), events[0]["title"].as_str()),
        (Some("chat_created"), Some("group"), Some("team"))
    );
    assert_eq!((events[2]["content"].as_str(), events[2]["sender_id"].as_u64()), (Some("from stdin"), Some(alice_id)));
    assert_eq!(h["has_more"], false);
    let h = bob.run(&["history", &team.to_string(), "--json", "--before", "3", "--limit", "1"]).json();
    assert_eq!((h["events"][0]["seq"].as_u64(), h["has_more"].as_bool()), (Some(2), Some(true)));
    let h = bob.run(&["history", &team.to_string(), "--json", "--after", "2"]).json();
    assert_eq!(h["events"].as_array().unwrap().len(), 1);
    let text = alice.run(&["history", &team.to_string()]).ok().to_owned();
    assert!(text.contains(&format!("[chat {team} #1] alice created group \"team\" with alice, bob, carol")), "{text}");
    assert!(text.contains(&format!("[chat {team} #2] alice: hello team")), "{text}");

    // ---- tail: catch up from saved cursors, then only what is new
    let lines = bob.run(&["tail", "--exit-after-sync", "--json"]).json_lines();
    assert_eq!(lines.first().map(|l| l["type"].clone()), Some("connected".into()));
    assert_eq!(lines.last().map(|l| l["type"].clone()), Some("sync_done".into()));
    let seen: Vec<(u64, u64)> =
        events_of(&lines).iter().map(|e| (e["chat_id"].as_u64().unwrap(), e["seq"].as_u64().unwrap())).collect();
    for want in [(team, 1), (team, 2), (team, 3), (direct, 1), (direct, 2)] {
        assert!(seen.contains(&want), "{want:?} missing from {seen:?}");
    }
    let lines = bob.run(&["tail", "--exit-after-sync", "--json"]).json_lines();
    assert!(events_of(&lines).is_empty(), "cursors were saved: {lines:?}");
    alice.run(&["send", &team.to_string(), "after the tail"]).ok();
    alice.run(&["send", &direct.to_string(), "direct again"]).ok();
    let lines = bob.run(&["tail", &team.to_string(), "--exit-after-sync", "--json"]).json_lines();
    let new = events_of(&lines);
    assert_eq!(new.len(), 1, "{lines:?}");
    assert_eq!((new[0]["seq"].as_u64(), new[0]["content"].as_str()), (Some(4), Some("after the tail")));
    let lines = bob.run(&["tail", "--exit-after-sync", "--json"]).json_lines();
    let new = events_of(&lines);
    assert_eq!(new.len(), 1, "only the direct message was left unseen: {lines:?}");
    assert_eq!(new[0]["content"], "direct again");
    // human lines, with the names alice's profile has learnt
    let text = alice.run(&["tail", &team.to_string(), "--exit-after-sync"]).ok().to_owned();
    assert!(text.contains(&format!("[chat {team} #4] alice: after the tail")), "{text}");

    // ---- tail following live events until interrupted, saving its cursors on the way out
    let mut live = bob.spawn(&["tail", "--json"]);
    let pid = live.id();
    // A watchdog, so a stuck tail fails the test instead of hanging it (and, once told the
    // tail has ended, never signals a pid that may have been reused).
    let (ended, watch) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if watch.recv_timeout(std::time::Duration::from_secs(60)).is_err() {
            let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
    });
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(live.stdout.take().unwrap()));
    let mut next = || -> Value { serde_json::from_str(&lines.next().expect("tail still running").unwrap()).unwrap() };
    while next()["type"] != "sync_done" {}
    alice.run(&["send", &team.to_string(), "live!"]).ok();
    let e = next();
    assert_eq!((e["type"].as_str(), e["seq"].as_u64(), e["content"].as_str()), (Some("event"), Some(5), Some("live!")));
    let status = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
    assert!(status.success());
    let exit = live.wait().unwrap();
    let _ = ended.send(());
    assert_eq!(exit.code(), Some(0), "Ctrl-C ends tail cleanly");
    let lines = bob.run(&["tail", "--exit-after-sync", "--json"]).json_lines();
    assert!(events_of(&lines).is_empty(), "the live event's cursor was saved: {lines:?}");

    // ---- chats and info
    let chats = alice.run(&["chats", "--json"]).json();
    let chats = chats.as_array().unwrap();
    assert_eq!(chats.len(), 2);
    let dm = chats.iter().find(|c| c["chat_id"] == direct).unwrap();
    assert_eq!((dm["kind"].as_str(), dm["peer_id"].as_u64()), (Some("direct"), Some(bob_id)));
    assert_eq!(dm["last_message"]["content"], "direct again");
    let text = alice.run(&["chats"]).ok().to_owned();
    assert!(text.contains("team") && text.contains("alice: live!"), "{text}");
    let info = alice.run(&["info", &team.to_string(), "--json"]).json();
    assert_eq!(
        (info["kind"].as_str(), info["last_seq"].as_u64(), info["members"].as_array().unwrap().len()),
        (Some("group"), Some(5), 3)
    );
    assert!(alice.run(&["info", &team.to_string()]).ok().contains("alice (owner)"), "the creator owns the group");

    // ---- membership
    alice.run(&["remove", &team.to_string(), "carol"]).ok();
    let e = carol.run(&["history", &team.to_string(), "--json"]).json_err();
    assert_eq!((e["code"].as_str(), e["number"].as_u64()), (Some("chat_not_found"), Some(200)));
    assert!(bob.run(&["add", &team.to_string(), "carol"]).err().contains("error: forbidden (201)"));
    alice.run(&["add", &team.to_string(), "carol"]).ok();
    carol.run(&["leave", &team.to_string()]).ok();
    assert_eq!(alice.run(&["info", &team.to_string(), "--json"]).json()["members"].as_array().unwrap().len(), 2);
    assert!(bob.run(&["send", "999999", "nobody"]).err().contains("error: chat_not_found (200)"));
    assert!(alice.run(&["group", "g2", "nobody-here"]).err().contains("user_not_found (110)"));

    // ---- devices: a second device for bob, revoked from the first
    let bob2 = ctl(&home, &engine, &cert, "bob2", "ws");
    let b2 = bob2.run(&["login", "bob", "another password", "--device", "phone", "--json"]).json();
    let phone = b2["device_id"].as_u64().unwrap();
    let devices = bob.run(&["devices", "--json"]).json();
    assert_eq!(devices.as_array().unwrap().len(), 2);
    assert!(devices
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["device_id"] == phone && d["current"] == false && d["name"] == "phone"));
    bob.run(&["revoke", &phone.to_string()]).ok();
    assert!(bob2.run(&["whoami"]).err().contains("invalid_credentials (101)"));
    assert!(bob2.run(&["logout"]).ok().contains("profile \"bob2\" cleared"));
    assert!(bob2.run(&["whoami"]).err().contains("not_signed_in"));
    assert!(bob2.run(&["login", "bob", "wrong password"]).err().contains("invalid_credentials (101)"));

    // ---- admin next to the running engine
    let admin = ctl(&home, &engine, &cert, "admin", "ws");
    let data_dir = data.to_str().unwrap();
    let users = admin.run(&["admin", "users", "--json", "--data-dir", data_dir]).json();
    assert_eq!(users.as_array().unwrap().len(), 3, "read-only open works beside the engine");
    let created =
        admin.run(&["admin", "create-user", "dave", "a long password", "--json", "--data-dir", data_dir]).json();
    assert_eq!((created["via"].as_str(), created["username"].as_str()), (Some("engine"), Some("dave")));
    let dave = ctl(&home, &engine, &cert, "dave", "auto");
    assert_eq!(dave.run(&["login", "dave", "a long password", "--json"]).json()["username"], "dave");
    assert_eq!(
        dave.run(&["devices", "--json"]).json().as_array().unwrap().len(),
        1,
        "the admin's registration device was revoked"
    );
    assert!(admin
        .run(&["admin", "backup", tmp.path().join("b").to_str().unwrap(), "--data-dir", data_dir])
        .err()
        .contains("db_locked"));

    // ---- logout
    assert!(alice.run(&["logout"]).ok().contains("device"));
    assert!(!home.join("alice.json").exists());
    assert!(alice.run(&["whoami"]).err().contains("not_signed_in"));

    engine.shutdown();
}

#[test]
fn an_operator_certificate_is_trusted_through_its_root_and_server_name() {
    // A root CA and a leaf for a name that is not localhost, as a real deployment has.
    let tmp = tempfile::tempdir().unwrap();
    let mut root_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    root_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let root = rcgen::CertifiedIssuer::self_signed(root_params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["chat.test".to_string()]).unwrap().signed_by(&leaf_key, &root).unwrap();
    let (chain, key, ca) = (tmp.path().join("chain.pem"), tmp.path().join("key.pem"), tmp.path().join("ca.der"));
    std::fs::write(&chain, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    std::fs::write(&ca, root.der()).unwrap();

    let engine = magpie_testkit::start_with(|c| (c.tls_cert, c.tls_key) = (Some(chain), Some(key)));
    let home = tmp.path().join("home");

    // The default name, localhost, is not the certificate's: QUIC refuses the engine.
    let wrong = ctl(&home, &engine, &ca, "alice", "quic").run(&["register", "alice", "a long password"]);
    assert!(wrong.err().contains("certificate not valid for name \"localhost\""), "{wrong:?}");
    let alice = ctl(&home, &engine, &ca, "alice", "quic").with_global(&["--server-name", "chat.test"]);
    assert_eq!(alice.run(&["register", "alice", "a long password", "--json"]).json()["username"], "alice");
    engine.shutdown();
}
