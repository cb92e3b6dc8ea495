//! Races between requests that meet on a chat's owner shard.

use magpie_client::{ErrorCode, TransportPref};
use magpie_testkit::*;

/// Rounds of the race below. Before the fix about half of them hung (the fuzz target `connection`
/// found it; `fuzz/regressions/connection/remove-member-races-peer-create-group`), so a run of
/// this many rounds hits it with near certainty; a round costs a group creation.
const ROUNDS: usize = 64;

/// A group's id is allocated before the group exists, so anyone can send a request for the next
/// id, and it can reach the owner shard before the `CreateGroup` that gets that id — while the
/// owner is still looking the id up on disk. Every request must still be answered exactly once:
/// the early one with `chat_not_found` (no such chat yet, and the sender is no member anyway), the
/// creation with its `ChatInfo`, and the new chat must work afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_the_next_chat_id_racing_its_creation_gets_answered() {
    let e = start();
    let t = TransportPref::WebSocket;
    let (alice, _alice_ev) = e.register("alice", t).await;
    let (bob, _bob_ev) = e.register("bob", t).await;
    // Chat ids come from one counter: nothing else allocates ids while the rounds run.
    let mut next = bob.create_group("first", &[]).await.unwrap().chat_id + 1;
    for round in 0..ROUNDS {
        let race = async { tokio::join!(alice.remove_member(next, bob.user_id()), bob.create_group("racer", &[])) };
        let Ok((removed, created)) = tokio::time::timeout(WAIT, race).await else {
            panic!("round {round}: RemoveMember or CreateGroup for chat {next} was never answered");
        };
        match removed {
            Err(e) if e.code() == Some(ErrorCode::ChatNotFound) => {}
            other => panic!("round {round}: RemoveMember for chat {next} answered {other:?}, not chat_not_found"),
        }
        let created = created.unwrap_or_else(|e| panic!("round {round}: CreateGroup failed: {e}"));
        assert_eq!(created.chat_id, next, "round {round}: the race needs the id RemoveMember named");
        // The owner kept the new chat's state: it accepts a message right after its creation.
        let ack = tokio::time::timeout(WAIT, bob.send(next, "still here")).await.expect("send answered in time").unwrap();
        assert_eq!(ack.seq, 2, "round {round}");
        next += 1;
    }
}
