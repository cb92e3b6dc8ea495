//! The message-feature rules on the core alone: commands about messages wait for the messages to
//! be read and then run in order; reactions are coalesced (at once in small chats, at most once a
//! second in big ones, acked only when durable); a refused hand-over leaves no trace.

use super::tests::*;
use super::*;
use crate::crossing::{self, Command};
use magpie_storage::Op;
use magpie_wire::encode::{self, EventHeader};
use magpie_wire::{fb, verify, ErrorCode};

/// A group owned by ALICE with `others` as members, created and committed, plus one message of
/// ALICE's at seq 2, committed.
fn group_with_message(w: &mut World, others: Vec<u64>) {
    let actor = w.actor(ALICE);
    let info = magpie_wire::chat::Info { title: "g".into(), ..Default::default() };
    w.command(Command::CreateGroup(crossing::CreateGroup { actor, chat_id: GROUP, kind: magpie_storage::ChatKind::Group, info, members: others }));
    w.commit_ok(GROUP);
    w.send(ALICE, GROUP, "m1");
    w.commit_ok(GROUP);
}

/// The stored event of ALICE's message at seq 2.
fn stored_message() -> Vec<u8> {
    let h = EventHeader { chat_id: GROUP, seq: 2, sender_id: ALICE, sender_device_id: ALICE * 10, time_ms: 1 };
    encode::message_event(&h, 77, "m1", "hi").to_vec()
}

fn fetches(fx: &[Effect]) -> Vec<(Vec<u64>, Option<u64>, u64)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::FetchMessages { seqs, reactor, generation, .. } => Some((seqs.clone(), *reactor, *generation)),
            _ => None,
        })
        .collect()
}

/// Answers a read of message 2 (for `reactor`, who has no reactions yet).
fn fetched(w: &mut World, reactor: Option<u64>) -> Vec<Effect> {
    let found = Fetched { seq: 2, event: Some(stored_message()), state: None, reactions: reactor.map(|_| Vec::new()) };
    w.input(Input::Fetched { chat_id: GROUP, generation: 0, reactor, result: Ok(vec![found]) })
}

fn react(w: &mut World, user: u64, emoji: &str, add: bool) -> Vec<Effect> {
    let actor = w.actor(user);
    w.command(Command::React(crossing::React { actor, chat_id: GROUP, seq: 2, emoji: emoji.into(), add }))
}

fn replies(fx: &[Effect]) -> Vec<(u64, fb::Body, u16)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Reply(to, frame) => {
                let f = verify::server_frame(frame).unwrap();
                Some((to.conn, f.body_type(), f.body_as_error().map_or(0, |e| e.code())))
            }
            _ => None,
        })
        .collect()
}

/// The `ReactionsChanged` events delivered: per event, (seq, counts, toggles) of each message.
fn reaction_events(fx: &[Effect]) -> Vec<Vec<(u64, Vec<(String, u32)>, usize)>> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Deliver(d) => {
                let f = verify::server_frame(&d.frame).unwrap();
                let ev = verify::event(f.body_as_deliver()?.event()?.bytes()).unwrap();
                let r = ev.body_as_reactions_changed()?;
                Some(
                    r.messages()
                        .unwrap()
                        .iter()
                        .map(|m| {
                            let counts = m.counts().unwrap().iter().map(|c| (c.emoji().unwrap().to_string(), c.count())).collect();
                            (m.seq(), counts, m.toggles().map_or(0, |t| t.len()))
                        })
                        .collect(),
                )
            }
            _ => None,
        })
        .collect()
}

#[test]
fn commands_about_an_unknown_message_wait_for_one_read_and_then_run_in_order() {
    let mut w = World::new();
    group_with_message(&mut w, vec![BOB]);
    let a = w.actor(BOB);
    let fx = w.command(Command::Edit(crossing::Edit { actor: a, chat_id: GROUP, seq: 2, content: "x".into(), mentions: vec![] }));
    assert_eq!(fetches(&fx), vec![(vec![2], None, 0)]);
    let a2 = w.actor(ALICE);
    let fx = w.command(Command::Edit(crossing::Edit { actor: a2, chat_id: GROUP, seq: 2, content: "edited".into(), mentions: vec![] }));
    assert!(fetches(&fx).is_empty(), "one read per message: {fx:?}");
    let before = w.commits.submitted.len();
    let fx = fetched(&mut w, None);
    // Bob's edit is refused (not his message), Alice's is handed over; nothing answered yet for hers.
    assert_eq!(replies(&fx), vec![(BOB, fb::Body::Error, ErrorCode::NotMessageSender as u16)]);
    assert_eq!(w.commits.submitted.len(), before + 1);
    let fx = w.commit_ok(GROUP);
    assert_eq!(replies(&fx), vec![(ALICE, fb::Body::Ok, 0)]);
    // Now known: a second edit needs no read, and its base is the first edit.
    let a3 = w.actor(ALICE);
    let fx = w.command(Command::Edit(crossing::Edit { actor: a3, chat_id: GROUP, seq: 2, content: "edited".into(), mentions: vec![] }));
    assert!(fetches(&fx).is_empty());
    assert_eq!(replies(&fx), vec![(ALICE, fb::Body::Ok, 0)], "the same text again changes nothing");
    // Beyond the durable log there is nothing to read.
    let a4 = w.actor(ALICE);
    let fx = w.command(Command::Edit(crossing::Edit { actor: a4, chat_id: GROUP, seq: 99, content: "x".into(), mentions: vec![] }));
    assert_eq!(replies(&fx), vec![(ALICE, fb::Body::Error, ErrorCode::MessageNotFound as u16)]);
}

#[test]
fn reactions_in_a_small_chat_batch_while_one_is_written_and_are_acked_when_durable() {
    let mut w = World::new();
    group_with_message(&mut w, vec![BOB, CAROL]);
    let fx = react(&mut w, BOB, "👍", true);
    assert_eq!(fetches(&fx), vec![(vec![2], Some(BOB), 0)]);
    let fx = fetched(&mut w, Some(BOB));
    assert!(replies(&fx).is_empty(), "acked only once durable");
    // While Bob's is written, Carol's and Alice's are collected.
    for user in [CAROL, ALICE] {
        let fx = react(&mut w, user, "👍", true);
        assert_eq!(fetches(&fx).len(), 1);
        let found = Fetched { seq: 2, event: Some(stored_message()), state: None, reactions: Some(Vec::new()) };
        let fx = w.input(Input::Fetched { chat_id: GROUP, generation: 0, reactor: Some(user), result: Ok(vec![found]) });
        assert!(replies(&fx).is_empty() && reaction_events(&fx).is_empty());
    }
    let fx = w.commit_ok(GROUP);
    assert_eq!(replies(&fx), vec![(BOB, fb::Body::Ok, 0)]);
    assert_eq!(reaction_events(&fx), vec![vec![(2, vec![("👍".to_string(), 1)], 1)]]);
    let fx = w.commit_ok(GROUP);
    let mut acked: Vec<u64> = replies(&fx).into_iter().map(|r| r.0).collect();
    acked.sort_unstable();
    assert_eq!(acked, vec![ALICE, CAROL]);
    assert_eq!(reaction_events(&fx), vec![vec![(2, vec![("👍".to_string(), 3)], 2)]], "one event for both, with who");
}

#[test]
fn a_big_chat_gets_at_most_one_reactions_event_per_interval_with_totals_only() {
    let mut w = World::new();
    let members: Vec<u64> = (2..=400).collect();
    group_with_message(&mut w, members);
    let fx = react(&mut w, 2, "🔥", true);
    let _ = fx;
    fetched(&mut w, Some(2));
    let fx = w.commit_ok(GROUP);
    assert_eq!(reaction_events(&fx), vec![vec![(2, vec![("🔥".to_string(), 1)], 0)]], "totals only");
    // A storm right after: no event until the interval is over; then one for all of them.
    let mut woke = Vec::new();
    for user in 3..53 {
        react(&mut w, user, "🔥", true);
        let found = Fetched { seq: 2, event: None, state: None, reactions: Some(Vec::new()) };
        let fx = w.input(Input::Fetched { chat_id: GROUP, generation: 0, reactor: Some(user), result: Ok(vec![found]) });
        assert!(reaction_events(&fx).is_empty());
        woke.extend(fx.into_iter().filter(|e| matches!(e, Effect::Wake { .. })));
    }
    assert_eq!(woke.len(), 1, "one wake-up asked for: {woke:?}");
    let before = w.commits.submitted.len();
    w.input(Input::Wake { chat_id: GROUP });
    assert_eq!(w.commits.submitted.len(), before + 1, "one commit for fifty reactions");
    let (_, ops) = w.commits.submitted.last().unwrap();
    assert_eq!(ops.iter().filter(|o| matches!(o, Op::PutReactions { .. })).count(), 50);
    let fx = w.commit_ok(GROUP);
    assert_eq!(replies(&fx).len(), 50);
    assert_eq!(reaction_events(&fx), vec![vec![(2, vec![("🔥".to_string(), 51)], 0)]]);
}

#[test]
fn a_refused_reaction_flush_leaves_no_trace() {
    let mut w = World::new();
    group_with_message(&mut w, vec![BOB]);
    react(&mut w, BOB, "👍", true);
    w.commits.refuse = true;
    let fx = fetched(&mut w, Some(BOB));
    assert_eq!(replies(&fx), vec![(BOB, fb::Body::Error, ErrorCode::Unavailable as u16)]);
    w.commits.refuse = false;
    // Bob's retry is a new reaction, counted once.
    let fx = react(&mut w, BOB, "👍", true);
    assert!(fetches(&fx).is_empty(), "his (empty) reactions stayed known");
    let fx = w.commit_ok(GROUP);
    assert_eq!(reaction_events(&fx), vec![vec![(2, vec![("👍".to_string(), 1)], 1)]]);
    // Removing what one does not have changes nothing.
    let fx = react(&mut w, ALICE, "🎉", false);
    assert_eq!(fetches(&fx).len(), 1);
    let found = Fetched { seq: 2, event: None, state: None, reactions: Some(Vec::new()) };
    let fx = w.input(Input::Fetched { chat_id: GROUP, generation: 0, reactor: Some(ALICE), result: Ok(vec![found]) });
    assert_eq!(replies(&fx), vec![(ALICE, fb::Body::Ok, 0)]);
}

#[test]
fn deleting_for_everyone_rewrites_the_message_and_its_edits_and_asks_for_their_old_versions_to_be_scrubbed() {
    let mut w = World::new();
    group_with_message(&mut w, vec![BOB]);
    let actor = w.actor(ALICE);
    w.command(Command::Delete(crossing::Delete { actor, chat_id: GROUP, seqs: vec![2], for_everyone: true }));
    let edit = magpie_storage::EditRef { seq: 5, device_id: ALICE * 10, time_ms: 3 };
    let state = magpie_storage::MessageStateRecord { edits: vec![edit], ..Default::default() };
    let found = Fetched { seq: 2, event: Some(stored_message()), state: Some(state), reactions: None };
    w.input(Input::Fetched { chat_id: GROUP, generation: 0, reactor: None, result: Ok(vec![found]) });
    let (_, ops) = w.commits.submitted.last().unwrap();
    let rewritten: Vec<u64> = ops.iter().filter_map(|o| if let Op::Append { seq, .. } = o { Some(*seq) } else { None }).collect();
    assert!(rewritten.contains(&2) && rewritten.contains(&5), "the message and its edit are rewritten: {rewritten:?}");
    let scrub = magpie_storage::ScrubRange { chat_id: GROUP, first_seq: 2, last_seq: 5 };
    assert!(ops.contains(&Op::Scrub(scrub)), "{ops:?}");
}
