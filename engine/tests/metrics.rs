//! `GET /metrics` on the TCP port: Prometheus text format, and the counters move with traffic.
//! Nothing here asserts on timings, only on counts.

use magpie_client::TransportPref;
use magpie_testkit::*;
use magpie_wire::ErrorCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Scrapes `/metrics` over plain TCP; returns the body after checking the response head.
async fn scrape(e: &TestEngine) -> String {
    let mut s = tokio::net::TcpStream::connect(e.engine.tcp_addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(WAIT, s.read_to_string(&mut response)).await.expect("scrape in time").unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{head}");
    let len: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap()))
        .expect("content-length");
    assert_eq!(len, body.len());
    body.to_string()
}

/// Every sample of `name` as (labels, value); checks the exposition syntax on the way.
fn samples(body: &str, name: &str) -> Vec<(Vec<(String, String)>, f64)> {
    let mut out = Vec::new();
    for line in body.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {line:?}"));
        let value: f64 = if value == "+Inf" { f64::INFINITY } else { value.parse().unwrap_or_else(|_| panic!("bad value {line:?}")) };
        let (metric, labels) = match series.split_once('{') {
            Some((m, rest)) => (m, rest.strip_suffix('}').unwrap_or_else(|| panic!("bad labels {line:?}"))),
            None => (series, ""),
        };
        if metric != name {
            continue;
        }
        let labels = labels
            .split(',')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap();
                (k.to_string(), v.trim_matches('"').to_string())
            })
            .collect();
        out.push((labels, value));
    }
    out
}

/// The sum of `name`'s samples whose labels include every pair in `want`.
fn total(body: &str, name: &str, want: &[(&str, &str)]) -> f64 {
    samples(body, name)
        .into_iter()
        .filter(|(labels, _)| want.iter().all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v)))
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_frames_deliveries_latencies_connections_and_errors() {
    const N: usize = 5;
    let e = start();
    let before = scrape(&e).await;
    for t in ["# TYPE magpie_connections_open gauge", "# TYPE magpie_send_durable_seconds histogram", "# TYPE magpie_errors_total counter"] {
        assert!(before.contains(t), "{t} missing:\n{before}");
    }
    assert_eq!(total(&before, "magpie_connections_open", &[]), 0.0);

    let (alice, mut alice_ev) = e.register("alice", TransportPref::Quic).await;
    let (bob, mut bob_ev) = e.register("bob", TransportPref::WebSocket).await;
    let g = alice.create_group("g", &[bob.user_id()]).await.unwrap();
    for i in 0..N {
        alice.send(g.chat_id, format!("from alice {i}")).await.unwrap();
        bob.send(g.chat_id, format!("from bob {i}")).await.unwrap();
    }
    // Both see all 2N messages.
    for events in [&mut alice_ev, &mut bob_ev] {
        for _ in 0..2 * N {
            next_message(events).await;
        }
    }

    let body = scrape(&e).await;
    let n = N as f64;
    // One client per transport, spread over the shards however the kernel chose.
    assert_eq!(total(&body, "magpie_connections_open", &[("transport", "quic")]), 1.0, "{body}");
    assert_eq!(total(&body, "magpie_connections_open", &[("transport", "websocket")]), 1.0, "{body}");
    assert_eq!(samples(&body, "magpie_connections_open").len(), 2 * e.engine.shards, "one series per shard and transport");

    assert!(total(&body, "magpie_frames_in_total", &[("type", "SendMessage")]) >= 2.0 * n, "{body}");
    assert!(total(&body, "magpie_frames_in_total", &[("type", "Hello")]) >= 2.0, "{body}");
    assert!(total(&body, "magpie_frames_out_total", &[("type", "SendAck")]) >= 2.0 * n, "{body}");
    // Every message goes to both members.
    assert!(total(&body, "magpie_frames_out_total", &[("type", "Deliver")]) >= 4.0 * n, "{body}");
    assert!(total(&body, "magpie_deliveries_total", &[]) >= 4.0 * n, "{body}");
    // 2N messages plus the group's creation.
    assert!(total(&body, "magpie_events_committed_total", &[]) >= 2.0 * n + 1.0, "{body}");

    for h in ["magpie_send_durable_seconds", "magpie_send_deliver_seconds"] {
        let count = total(&body, &format!("{h}_count"), &[]);
        assert!(count >= 2.0 * n, "{h}: {body}");
        let buckets = samples(&body, &format!("{h}_bucket"));
        assert!(buckets.len() > 2);
        let values: Vec<f64> = buckets.iter().map(|b| b.1).collect();
        assert!(values.windows(2).all(|w| w[0] <= w[1]), "{h} buckets are cumulative: {values:?}");
        assert_eq!(buckets.last().unwrap().0, vec![("le".to_string(), "+Inf".to_string())]);
        assert_eq!(*values.last().unwrap(), count);
    }

    assert_eq!(samples(&body, "magpie_mailbox_depth").len(), e.engine.shards);
    assert_eq!(total(&body, "magpie_commits_inflight", &[]), 0.0, "every commit result was handled");
    assert!(total(&body, "magpie_storage_commits_total", &[]) >= 1.0, "{body}");
    assert!(total(&body, "magpie_storage_submissions_total", &[]) >= 2.0 * n + 1.0, "{body}");

    // A send to a chat one is not in answers chat_not_found, and the counter moves.
    let errors_before = total(&body, "magpie_errors_total", &[("code", "chat_not_found")]);
    let (mallory, _mallory_ev) = e.register("mallory", TransportPref::WebSocket).await;
    let r = mallory.send(g.chat_id, "let me in").await;
    assert_eq!(r.err().and_then(|e| e.code()), Some(ErrorCode::ChatNotFound));
    let body = scrape(&e).await;
    assert!(total(&body, "magpie_errors_total", &[("code", "chat_not_found")]) >= errors_before + 1.0, "{body}");
    assert_eq!(total(&body, "magpie_connections_open", &[("transport", "websocket")]), 2.0, "{body}");
    assert!(total(&body, "magpie_frames_out_total", &[("type", "Error")]) >= 1.0, "{body}");

    // Connections that end leave the gauge.
    for c in [&alice, &bob, &mallory] {
        c.close().await;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let body = scrape(&e).await;
        if total(&body, "magpie_connections_open", &[]) == 0.0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "connections still counted after close:\n{body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
