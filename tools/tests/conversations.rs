//! magpiectl's conversation commands against a real engine, checked against the semantics in
//! docs/PROTOCOL.md §6.9–6.11: channels and groups with descriptions, handles and settings;
//! roles and ownership; invite links and ask-to-join; per-user chat state and the chat list;
//! broadcast lists. Every refusal is checked by its stable code (203–209 included).

mod common;

use common::{Ctl, Run};
use magpie_testkit::TestEngine;
use serde_json::Value;

/// magpiectl for `profile` over WebSocket.
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

struct World {
    engine: TestEngine,
    _tmp: tempfile::TempDir,
    home: std::path::PathBuf,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        World { engine: magpie_testkit::start(), _tmp: tmp, home }
    }

    /// A registered user's magpiectl, and their user id.
    fn user(&self, name: &str) -> (Ctl, u64) {
        let c = ctl(&self.home, &self.engine, name);
        let id = c.run(&["register", name, "a long password", "--json"]).json()["user_id"].as_u64().unwrap();
        (c, id)
    }
}

/// The stable error of a failed `--json` run, as (name, number).
#[track_caller]
fn refused(run: Run) -> (String, u64) {
    let e = run.json_err();
    (e["code"].as_str().unwrap_or_default().to_owned(), e["number"].as_u64().unwrap_or_default())
}

fn id(v: &Value) -> String {
    v["chat_id"].as_u64().expect("a chat id").to_string()
}

fn kinds(history: &Value) -> Vec<String> {
    history["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn channels_groups_roles_and_ownership() {
    let w = World::new();
    let (alice, alice_id) = w.user("alice");
    let (bob, bob_id) = w.user("bob");
    let (carol, carol_id) = w.user("carol");

    // ---- a channel: description, handle, owner
    let c = alice
        .run(&["channel", "News", "bob", "--description", "all the news", "--handle", "news_room", "--json"])
        .json();
    let chan = id(&c);
    assert_eq!((c["kind"].as_str(), c["title"].as_str()), (Some("channel"), Some("News")));
    assert_eq!((c["description"].as_str(), c["handle"].as_str()), (Some("all the news"), Some("news_room")));
    assert_eq!((c["my_role"].as_str(), c["member_count"].as_u64()), (Some("owner"), Some(2)));
    assert_eq!(c["settings"]["post"], "admins", "a channel's post setting is always admins");
    let handle_again = alice.run(&["group", "copy", "--handle", "news_room", "--json"]);
    assert_eq!(refused(handle_again), ("handle_taken".into(), 208));

    // A subscriber reads, sees only the owner and admins, and may not page the subscribers.
    let info = bob.run(&["info", &chan, "--json"]).json();
    assert_eq!((info["my_role"].as_str(), info["member_count"].as_u64()), (Some("member"), Some(2)));
    let shown: Vec<u64> = info["members"].as_array().unwrap().iter().map(|m| m["user_id"].as_u64().unwrap()).collect();
    assert_eq!(shown, [alice_id]);
    assert_eq!(info["members_complete"], false);
    assert_eq!(refused(bob.run(&["send", &chan, "me too", "--json"])), ("forbidden".into(), 201));
    alice.run(&["send", &chan, "first post"]).ok();
    let page = alice.run(&["members", &chan, "--limit", "1", "--json"]).json();
    assert_eq!((page["members"].as_array().unwrap().len(), page["has_more"].as_bool()), (1, Some(true)));
    let all = alice.run(&["members", &chan, "--all", "--limit", "1", "--json"]).json();
    let everyone: Vec<u64> = all["members"].as_array().unwrap().iter().map(|m| m["user_id"].as_u64().unwrap()).collect();
    let mut want = vec![alice_id, bob_id];
    want.sort_unstable();
    assert_eq!((everyone, all["has_more"].as_bool()), (want, Some(false)));
    let admins = alice.run(&["members", &chan, "--admins", "--json"]).json();
    assert_eq!(admins["members"].as_array().unwrap().len(), 1, "only the owner is an admin");

    // ---- a group with settings; info and settings change as one event
    let g = alice.run(&["group", "team", "bob", "carol", "--description", "we ship", "--post", "admins", "--json"]).json();
    let team = id(&g);
    assert_eq!((g["kind"].as_str(), g["settings"]["post"].as_str()), (Some("group"), Some("admins")));
    assert_eq!(g["settings"]["add_members"], "admins", "unnamed settings keep their defaults");
    assert_eq!(refused(bob.run(&["send", &team, "hi", "--json"])), ("forbidden".into(), 201));
    let u = alice.run(&["update", &team, "--title", "Team A", "--approve-joins", "on", "--json"]).json();
    assert_eq!((u["title"].as_str(), u["description"].as_str()), (Some("Team A"), Some("we ship")));
    assert_eq!((u["settings"]["approve_joins"].as_bool(), u["settings"]["post"].as_str()), (Some(true), Some("admins")));
    assert_eq!(refused(bob.run(&["update", &team, "--title", "mine", "--json"])), ("forbidden".into(), 201));
    let h = alice.run(&["history", &team, "--json"]).json();
    assert_eq!(kinds(&h), ["chat_created", "chat_updated"]);
    assert_eq!(h["events"][1]["title"], "Team A");
    // A request that changes nothing appends nothing.
    alice.run(&["update", &team, "--title", "Team A"]).ok();
    assert_eq!(kinds(&alice.run(&["history", &team, "--json"]).json()).len(), 2);

    // ---- roles
    alice.run(&["role", &team, "carol", "admin"]).ok();
    let info = carol.run(&["info", &team, "--json"]).json();
    assert_eq!(info["my_role"], "admin");
    assert_eq!(refused(bob.run(&["role", &team, "bob", "admin", "--json"])), ("forbidden".into(), 201));
    carol.run(&["send", &team, "admins may post"]).ok();
    let h = bob.run(&["history", &team, "--json"]).json();
    let last = h["events"].as_array().unwrap().iter().rev().find(|e| e["kind"] == "role_changed").cloned().unwrap();
    assert_eq!((last["user_id"].as_u64(), last["role"].as_str()), (Some(carol_id), Some("admin")));
    // Only the owner demotes another admin; an admin may step down themselves.
    let carol_demotes_alice = carol.run(&["role", &team, "alice", "member", "--json"]);
    assert_eq!(refused(carol_demotes_alice), ("forbidden".into(), 201));

    // ---- ownership
    assert_eq!(refused(carol.run(&["transfer", &team, "bob", "--json"])), ("forbidden".into(), 201));
    alice.run(&["transfer", &team, "carol"]).ok();
    assert_eq!(alice.run(&["info", &team, "--json"]).json()["my_role"], "admin");
    assert_eq!(carol.run(&["info", &team, "--json"]).json()["my_role"], "owner");
    let h = bob.run(&["history", &team, "--json"]).json();
    let oc = h["events"].as_array().unwrap().iter().find(|e| e["kind"] == "owner_changed").cloned().unwrap();
    assert_eq!((oc["previous_owner"].as_u64(), oc["new_owner"].as_u64()), (Some(alice_id), Some(carol_id)));

    // ---- leaving as the owner: to the longest-serving admin, to a named successor, or refused
    carol.run(&["leave", &team]).ok();
    assert_eq!(alice.run(&["info", &team, "--json"]).json()["my_role"], "owner", "alice was the only admin");
    let duo = id(&alice.run(&["group", "duo", "bob", "--json"]).json());
    assert_eq!(refused(alice.run(&["leave", &duo, "--json"])), ("owner_must_transfer".into(), 203));
    assert_eq!(bob.run(&["info", &duo, "--json"]).json()["member_count"], 2, "a refused leave changes nothing");
    let left = alice.run(&["leave", &duo, "--successor", "bob", "--json"]).json();
    assert_eq!(left["successor"].as_u64(), Some(bob_id));
    let info = bob.run(&["info", &duo, "--json"]).json();
    assert_eq!((info["my_role"].as_str(), info["member_count"].as_u64()), (Some("owner"), Some(1)));
    let tail: Vec<String> = kinds(&bob.run(&["history", &duo, "--json"]).json()).into_iter().rev().take(2).collect();
    assert_eq!(tail, ["member_removed", "owner_changed"], "the hand-over comes first");
    // The last member may always leave.
    bob.run(&["leave", &duo]).ok();
    w.engine.shutdown();
}

/// PROTOCOL.md §6.9: non-admins "may not page [a channel's] subscribers"; §6.8 lists no
/// `forbidden` for `ListMembers`: a subscriber's pages hold only the owner and admins.
#[test]
fn a_subscriber_pages_only_the_owner_and_admins_of_a_channel() {
    let w = World::new();
    let (alice, alice_id) = w.user("alice");
    let (bob, _) = w.user("bob");
    w.user("carol");
    let chan = id(&alice.run(&["channel", "News", "bob", "carol", "--json"]).json());
    assert_eq!(alice.run(&["members", &chan, "--json"]).json()["members"].as_array().unwrap().len(), 3);
    let page = bob.run(&["members", &chan, "--json"]).json();
    let ids: Vec<u64> = page["members"].as_array().unwrap().iter().map(|m| m["user_id"].as_u64().unwrap()).collect();
    assert_eq!((ids, page["has_more"].as_bool()), (vec![alice_id], Some(false)));
    w.engine.shutdown();
}

#[test]
fn invite_links_and_join_requests() {
    let w = World::new();
    let (alice, _) = w.user("alice");
    let (bob, bob_id) = w.user("bob");
    let (carol, carol_id) = w.user("carol");
    let club = id(&alice.run(&["group", "club", "--json"]).json());

    // ---- a one-use link
    let inv = alice.run(&["invite", "create", &club, "--max-uses", "1", "--json"]).json();
    let code = inv["code"].as_str().unwrap().to_owned();
    assert_eq!((code.len(), inv["max_uses"].as_u64(), inv["uses"].as_u64()), (22, Some(1), Some(0)));
    let p = bob.run(&["preview", "--invite", &code, "--json"]).json();
    assert_eq!((p["title"].as_str(), p["is_member"].as_bool(), p["member_count"].as_u64()), (Some("club"), Some(false), Some(1)));
    let j = bob.run(&["join", "--invite", &code, "--json"]).json();
    assert_eq!((j["joined"].as_bool(), j["my_role"].as_str(), j["member_count"].as_u64()), (Some(true), Some("member"), Some(2)));
    assert_eq!(refused(carol.run(&["join", "--invite", &code, "--json"])), ("invite_used_up".into(), 207));
    let h = bob.run(&["history", &club, "--json"]).json();
    let added = h["events"].as_array().unwrap().iter().find(|e| e["kind"] == "members_added").cloned().unwrap();
    assert_eq!((added["via"].as_str(), added["user_ids"][0].as_u64()), (Some("invite_link"), Some(bob_id)));
    // The web app's whole link works as well as the code; an existing member just gets the chat.
    let open = alice.run(&["invite", "create", &club, "--json"]).json()["code"].as_str().unwrap().to_owned();
    let again = bob.run(&["join", "--invite", &format!("https://chat.example/#/join/{open}"), "--json"]).json();
    assert_eq!((again["joined"].as_bool(), again["member_count"].as_u64()), (Some(true), Some(2)));

    // ---- expired, revoked, unknown
    let soon = alice.run(&["invite", "create", &club, "--expires-in", "1", "--json"]).json()["code"].as_str().unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(refused(carol.run(&["join", "--invite", &soon, "--json"])), ("invite_expired".into(), 205));
    alice.run(&["invite", "revoke", &club, &open]).ok();
    assert_eq!(refused(carol.run(&["join", "--invite", &open, "--json"])), ("invite_revoked".into(), 206));
    let unknown = carol.run(&["preview", "--invite", "AAAAAAAAAAAAAAAAAAAAAA", "--json"]);
    assert_eq!(refused(unknown), ("invite_not_found".into(), 204));
    assert_eq!(refused(carol.run(&["info", &club, "--json"])), ("chat_not_found".into(), 200), "nothing changed");

    let listed = alice.run(&["invite", "list", &club, "--json"]).json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().any(|i| i["code"] == open.as_str() && i["revoked"] == true));
    assert!(listed.iter().any(|i| i["code"] == code.as_str() && i["uses"] == 1));
    assert_eq!(refused(bob.run(&["invite", "list", &club, "--json"])), ("forbidden".into(), 201));
    assert_eq!(refused(bob.run(&["invite", "create", &club, "--json"])), ("forbidden".into(), 201));

    // ---- at most 100 live links per chat
    let many = id(&alice.run(&["group", "many", "--json"]).json());
    for _ in 0..100 {
        alice.run(&["invite", "create", &many]).ok();
    }
    assert_eq!(refused(alice.run(&["invite", "create", &many, "--json"])), ("limit_reached".into(), 209));

    // ---- ask to join, by handle
    let vetted = id(&alice.run(&["group", "vetted", "--handle", "vetted_club", "--approve-joins", "on", "--json"]).json());
    let p = bob.run(&["preview", "--handle", "vetted_club", "--json"]).json();
    assert_eq!(p["approve_joins"], true);
    let j = bob.run(&["join", "--handle", "vetted_club", "--json"]).json();
    assert_eq!((j["pending"].as_bool(), j["chat_id"].as_u64().map(|c| c.to_string())), (Some(true), Some(vetted.clone())));
    assert_eq!(bob.run(&["join", "--handle", "vetted_club", "--json"]).json()["pending"], true, "again for a repeat");
    carol.run(&["join", "--handle", "vetted_club"]).ok();
    assert_eq!(refused(bob.run(&["info", &vetted, "--json"])), ("chat_not_found".into(), 200));
    assert_eq!(alice.run(&["info", &vetted, "--json"]).json()["pending_requests"], 2);
    let r = alice.run(&["requests", "list", &vetted, "--json"]).json();
    let mut asked: Vec<u64> = r["requests"].as_array().unwrap().iter().map(|q| q["user_id"].as_u64().unwrap()).collect();
    asked.sort_unstable();
    let mut want = vec![bob_id, carol_id];
    want.sort_unstable();
    assert_eq!(asked, want);
    assert_eq!(refused(bob.run(&["requests", "list", &vetted, "--json"])), ("chat_not_found".into(), 200));
    alice.run(&["requests", "approve", &vetted, "bob"]).ok();
    alice.run(&["requests", "decline", &vetted, "carol"]).ok();
    assert_eq!(bob.run(&["info", &vetted, "--json"]).json()["my_role"], "member");
    assert_eq!(refused(carol.run(&["info", &vetted, "--json"])), ("chat_not_found".into(), 200));
    assert!(alice.run(&["requests", "list", &vetted, "--json"]).json()["requests"].as_array().unwrap().is_empty());
    let h = bob.run(&["history", &vetted, "--json"]).json();
    let added = h["events"].as_array().unwrap().iter().find(|e| e["kind"] == "members_added").cloned().unwrap();
    assert_eq!(added["via"], "approved");
    w.engine.shutdown();
}

#[test]
fn chat_state_orders_the_chat_list_and_reaches_the_other_devices() {
    let w = World::new();
    let (alice, _) = w.user("alice");
    let mut chats = Vec::new();
    for n in 0..12 {
        chats.push(id(&alice.run(&["group", &format!("g{n}"), "--json"]).json()));
    }

    let s = alice.run(&["state", &chats[0], "--pin", "--json"]).json();
    assert_ne!(s["pin_rank"].as_u64(), Some(0));
    let s = alice.run(&["state", &chats[1], "--mute", "--json"]).json();
    assert_eq!(s["muted_until_ms"].as_i64(), Some(i64::MAX));
    let s = alice.run(&["state", &chats[2], "--archive", "--unread", "--json"]).json();
    assert_eq!((s["archived"].as_bool(), s["marked_unread"].as_bool()), (Some(true), Some(true)));
    assert!(alice.run(&["state", &chats[3]]).err().contains("nothing to change"));

    // Pinned first, then by activity (newest first); archived chats only on their own list.
    alice.run(&["send", &chats[4], "recent"]).ok();
    let list = alice.run(&["chats", "--by-activity", "--json"]).json();
    let order: Vec<String> = list["chats"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(&order[..2], [chats[0].clone(), chats[4].clone()]);
    assert!(!order.contains(&chats[2]));
    assert_eq!(order.len(), 11);
    let by_id = alice.run(&["chats", "--json"]).json();
    let muted = by_id.as_array().unwrap().iter().find(|c| id(c) == chats[1]).unwrap().clone();
    assert_eq!((muted["state"]["muted_until_ms"].as_i64(), muted["my_role"].as_str()), (Some(i64::MAX), Some("owner")));
    let archived = alice.run(&["chats", "--archived", "--json"]).json();
    let archived = archived["chats"].as_array().unwrap();
    assert_eq!(archived.iter().map(id).collect::<Vec<_>>(), [chats[2].clone()]);
    assert_eq!(archived[0]["state"]["marked_unread"], true);
    // Paging continues after the last row.
    let first = alice.run(&["chats", "--by-activity", "--limit", "3", "--json"]).json();
    assert_eq!((first["chats"].as_array().unwrap().len(), first["has_more"].as_bool()), (3, Some(true)));
    let next = first["next"].as_str().unwrap().to_owned();
    let rest = alice.run(&["chats", "--by-activity", "--before", &next, "--json"]).json();
    let rest: Vec<String> = rest["chats"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(rest.len(), 8);
    assert!(first["chats"].as_array().unwrap().iter().all(|c| !rest.contains(&id(c))));

    // Pinning puts a chat at the top of the pinned ones; pins reorders exactly the pinned chats.
    alice.run(&["state", &chats[5], "--pin"]).ok();
    let top: Vec<String> =
        alice.run(&["chats", "--by-activity", "--json"]).json()["chats"].as_array().unwrap().iter().take(2).map(id).collect();
    assert_eq!(top, [chats[5].clone(), chats[0].clone()]);
    alice.run(&["pins", &chats[0], &chats[5]]).ok();
    let top: Vec<String> =
        alice.run(&["chats", "--by-activity", "--json"]).json()["chats"].as_array().unwrap().iter().take(2).map(id).collect();
    assert_eq!(top, [chats[0].clone(), chats[5].clone()]);
    assert_eq!(refused(alice.run(&["pins", &chats[0], "--json"])), ("invalid_argument".into(), 103));

    // At most 10 pinned chats (two so far; the archived one is left alone).
    for c in chats.iter().filter(|c| ![&chats[0], &chats[2], &chats[5]].contains(c)).take(8) {
        alice.run(&["state", c, "--pin"]).ok();
    }
    assert_eq!(refused(alice.run(&["state", &chats[11], "--pin", "--json"])), ("limit_reached".into(), 209));

    // Another device of the same user is told, live.
    let phone = ctl(&w.home, &w.engine, "alice-phone");
    phone.run(&["login", "alice", "a long password", "--device", "phone"]).ok();
    let mut live = phone.spawn(&["tail", "--json"]);
    let pid = live.id();
    let (ended, watch) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if watch.recv_timeout(std::time::Duration::from_secs(60)).is_err() {
            let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
    });
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(live.stdout.take().unwrap()));
    let mut next = || -> Value { serde_json::from_str(&lines.next().expect("tail still running").unwrap()).unwrap() };
    while next()["type"] != "sync_done" {}
    alice.run(&["state", &chats[1], "--unmute"]).ok();
    let pushed = loop {
        let l = next();
        if l["type"] == "chat_state" {
            break l;
        }
    };
    assert_eq!((id(&pushed), pushed["muted_until_ms"].as_i64()), (chats[1].clone(), Some(0)));
    std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
    assert_eq!(live.wait().unwrap().code(), Some(0));
    let _ = ended.send(());
    w.engine.shutdown();
}

#[test]
fn broadcast_lists_send_separately_and_retries_duplicate_nothing() {
    let w = World::new();
    let (alice, _) = w.user("alice");
    let (bob, bob_id) = w.user("bob");
    let (carol, carol_id) = w.user("carol");

    let l = alice.run(&["broadcast", "save", "friends", "bob", "carol", "--json"]).json();
    let list = l["list_id"].as_u64().unwrap().to_string();
    assert_eq!((l["name"].as_str(), l["recipient_ids"].as_array().unwrap().len()), (Some("friends"), 2));
    let lists = alice.run(&["broadcast", "list", "--json"]).json();
    assert_eq!(lists.as_array().unwrap().len(), 1);
    assert!(bob.run(&["broadcast", "list", "--json"]).json().as_array().unwrap().is_empty(), "recipients never see it");

    let ack = alice.run(&["broadcast", "send", &list, "party at 8", "--id", "bc-1", "--json"]).json();
    assert_eq!(ack["client_msg_id"], "bc-1");
    let results = ack["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 2);
    for r in &results {
        assert!(r["error"].is_null(), "{r}");
        assert_eq!(r["seq"].as_u64(), Some(2), "a new direct chat: its creation, then the message");
    }
    let to = |user: u64| results.iter().find(|r| r["user_id"] == user).unwrap()["chat_id"].as_u64().unwrap().to_string();
    let (to_bob, to_carol) = (to(bob_id), to(carol_id));
    assert_ne!(to_bob, to_carol, "one direct chat per recipient");
    let h = bob.run(&["history", &to_bob, "--json"]).json();
    assert_eq!(h["events"][1]["content"], "party at 8");
    assert_eq!(carol.run(&["info", &to_carol, "--json"]).json()["kind"], "direct");
    // The same id again: the same results, nothing new.
    let again = alice.run(&["broadcast", "send", &list, "party at 8", "--id", "bc-1", "--json"]).json();
    assert_eq!(again["results"].as_array().unwrap(), &results);
    assert_eq!(bob.run(&["info", &to_bob, "--json"]).json()["last_seq"], 2);
    // The direct chat is the one `direct` finds.
    assert_eq!(alice.run(&["direct", "bob", "--json"]).json()["chat_id"].as_u64().unwrap().to_string(), to_bob);

    let replaced = alice.run(&["broadcast", "save", "just bob", "bob", "--list", &list, "--json"]).json();
    assert_eq!((replaced["list_id"].as_u64().unwrap().to_string(), replaced["name"].as_str()), (list.clone(), Some("just bob")));
    alice.run(&["broadcast", "delete", &list]).ok();
    assert!(alice.run(&["broadcast", "list", "--json"]).json().as_array().unwrap().is_empty());
    w.engine.shutdown();
}

#[test]
fn message_features_from_scripts_reply_edit_react_pin_forward_delete_and_mentions() {
    let w = World::new();
    let (alice, _) = w.user("mf_alice");
    let (bob, bob_id) = w.user("mf_bob");
    let team = id(&alice.run(&["group", "team", "mf_bob", "--json"]).json());
    let m = alice.run(&["send", &team, "lunch @mf_bob?", "--mention", &bob_id.to_string(), "--json"]).json()["seq"].as_u64().unwrap().to_string();
    let r = bob.run(&["send", &team, "yes!", "--reply-to", &m, "--json"]).json()["seq"].as_u64().unwrap().to_string();
    assert_eq!(refused(bob.run(&["edit", &team, &m, "no lunch", "--json"])), ("not_message_sender".to_owned(), 212));
    alice.run(&["edit", &team, &m, "lunch at one @mf_bob?", "--mention", &bob_id.to_string(), "--json"]).json();
    bob.run(&["react", &team, &m, "👍", "--json"]).json();
    alice.run(&["pin", &team, &m, "--json"]).json();
    assert_eq!(alice.run(&["pin", &team, "--json"]).json()["pinned"], serde_json::json!([m.parse::<u64>().unwrap()]));
    let mentions = bob.run(&["mentions", "--json"]).json();
    assert_eq!(mentions["events"].as_array().unwrap().len(), 1);
    let dm = id(&alice.run(&["direct", "mf_bob", "--json"]).json());
    let fw = alice.run(&["forward", &team, &m, &dm, "--json"]).json();
    assert_eq!(fw["results"][0]["error"], Value::Null, "{fw}");
    // Deleted for everyone: a tombstone, the reply's quote erased too.
    alice.run(&["delete", &team, &m, "--json"]).json();
    let h = bob.run(&["history", &team, "--json"]).json();
    let events = h["events"].as_array().unwrap();
    let at = |seq: &str| events.iter().find(|e| e["seq"].as_u64().unwrap().to_string() == seq).unwrap().clone();
    assert_eq!(at(&m)["deleted"], true);
    assert_eq!(at(&m)["content"], "");
    assert_eq!(at(&r)["reply_to"]["deleted"], true);
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(["message_edited", "reactions_changed", "message_pinned", "messages_deleted"].iter().all(|k| kinds.contains(k)), "{kinds:?}");
}
