//! SIGKILL the engine while several clients send, restart it on the same data, and check that
//! every acknowledged message is in the log exactly once, in order, and that clients resume
//! without gaps or duplicates.

use magpie_client::{Client, ClientConfig, ClientEvent, Direction, EventKind, TransportPref};
use magpie_testkit::*;
use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The `magpie` binary on `dir`, once it announced readiness (the kit reads its JSON line).
fn spawn_engine(dir: &std::path::Path, quic: &str, tcp: &str) -> Magpie {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_magpie"));
    cmd.args(["--data-dir", dir.to_str().unwrap(), "--quic", quic, "--tcp", tcp, "--shards", "2", "--no-pin"])
        .env("MAGPIE_LOG", std::env::var("CRASH_LOG").unwrap_or("warn".into()));
    spawn_ready(cmd)
}

fn config(p: &Magpie, cert: &[u8], t: TransportPref) -> ClientConfig {
    let mut c = ClientConfig::new(p.ready.quic, p.ready.tcp, cert.to_vec()).transport(t);
    c.request_timeout = Duration::from_secs(60);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_messages_survive_sigkill_exactly_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let first = spawn_engine(dir.path(), "127.0.0.1:0", "127.0.0.1:0");
    let cert = first.cert_der();
    let (quic, tcp) = (first.ready.quic.to_string(), first.ready.tcp.to_string());
    let mut engine = first;

    // Three senders (two QUIC, one WebSocket) and one reader, all in one group.
    let transports = [TransportPref::Quic, TransportPref::WebSocket, TransportPref::Quic];
    let mut senders = Vec::new();
    for (i, t) in transports.iter().enumerate() {
        let (c, ev) = connect_synced(config(&engine, &cert, *t).register(format!("sender{i}"), PASSWORD, "d")).await;
        senders.push((c, ev));
    }
    let (reader, mut reader_ev) = connect_synced(config(&engine, &cert, TransportPref::WebSocket).register("reader", PASSWORD, "d")).await;
    let members: Vec<u64> = senders.iter().map(|s| s.0.user_id()).chain([reader.user_id()]).collect();
    let chat = senders[0].0.create_group("crash", &members).await.unwrap().chat_id;

    // Every ack any sender receives: client_msg_id -> seq.
    let acked: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (i, (client, events)) in senders.into_iter().enumerate() {
        let (acked, stop) = (acked.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let _events = events; // keep the stream alive so the client keeps running
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let id = format!("s{i}-{n}");
                let ack = client.send_with_id(chat, id.clone(), format!("message {id}")).await.expect("send is retried until acked");
                acked.lock().unwrap().insert(id, ack.seq);
                n += 1;
            }
            client
        }));
    }

    // Let traffic flow, then kill -9 in the middle of it.
    while acked.lock().unwrap().len() < 150 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    engine.kill(); // SIGKILL
    let acked_before_kill = acked.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    engine = spawn_engine(dir.path(), &quic, &tcp);
    let restarted = std::time::Instant::now();

    // The clients reconnect by themselves, resend what was not acked, and keep going.
    let target = acked_before_kill + 150;
    tokio::time::timeout(Duration::from_secs(60), async {
        while acked.lock().unwrap().len() < target {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("senders resume after the restart");
    eprintln!("senders resumed {:?} after the restart", restarted.elapsed());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.unwrap());
    }
    eprintln!("senders stopped {:?} after the restart", restarted.elapsed());
    let acked = acked.lock().unwrap().clone();

    // The log: seqs 1..=last with no gap, each client_msg_id exactly once, every ack matching.
    let mut log = Vec::new();
    let mut from = 0;
    loop {
        let page = reader.history(chat, from, Direction::Forward, 500).await.unwrap();
        if page.events.is_empty() {
            break;
        }
        from = page.events.last().unwrap().seq;
        log.extend(page.events);
        if !page.has_more {
            break;
        }
    }
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=log.len() as u64).collect::<Vec<_>>(), "the log has no gaps");
    let mut seen = HashSet::new();
    let mut by_id = HashMap::new();
    for e in &log {
        if let EventKind::Message { client_msg_id, content, .. } = &e.kind {
            assert!(seen.insert(client_msg_id.clone()), "{client_msg_id} stored twice");
            assert_eq!(content, &format!("message {client_msg_id}"));
            by_id.insert(client_msg_id.clone(), e.seq);
        }
    }
    for (id, seq) in &acked {
        assert_eq!(by_id.get(id), Some(seq), "acked message {id} is in the log at its acked seq");
    }
    // Each sender's own messages are in the order it sent them.
    for i in 0..3 {
        let mut mine: Vec<(u64, u64)> = by_id
            .iter()
            .filter_map(|(id, seq)| id.strip_prefix(&format!("s{i}-")).map(|n| (n.parse::<u64>().unwrap(), *seq)))
            .collect();
        mine.sort();
        assert!(mine.windows(2).all(|w| w[0].1 < w[1].1), "sender {i}'s messages keep their order");
    }

    // The reader resumed across the crash: it saw every event of the chat once, in order.
    let last = log.len() as u64;
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while got.last().copied() != Some(last) {
            match reader_ev.next().await {
                Some(ClientEvent::Event(e)) if e.chat_id == chat => got.push(e.seq),
                Some(_) => {}
                None => break,
            }
        }
    })
    .await
    .expect("the reader catches up");
    eprintln!("reader caught up {:?} after the restart", restarted.elapsed());
    assert_eq!(got, (1..=last).collect::<Vec<_>>(), "reader: no gaps, no duplicates");

    drop(clients);
    let _ = Client::close;
    engine.kill();
}
