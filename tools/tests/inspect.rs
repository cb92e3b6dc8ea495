//! `magpiectl inspect` on frames built with `magpie_wire::encode`, and on garbage.

mod common;

use common::Ctl;
use magpie_wire::encode::{self, EventHeader};
use magpie_wire::ErrorCode;

fn ctl(home: &std::path::Path) -> Ctl {
    Ctl::new(home)
}

fn prefixed(frames: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        out.extend_from_slice(&(f.len() as u32).to_be_bytes());
        out.extend_from_slice(f);
    }
    out
}

const H: EventHeader =
    EventHeader { chat_id: 12, seq: 34, sender_id: 5, sender_device_id: 6, time_ms: 1_700_000_000_000 };

#[test]
fn decodes_frames_given_as_hex() {
    let tmp = tempfile::tempdir().unwrap();
    let ctl = ctl(tmp.path());

    let send = hex::encode(encode::send_message(7, 12, "c-1", "hi there"));
    let text = ctl.run(&["inspect", &send]).ok().to_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("SendMessage frame (client → server), request_id 7, "), "{text}");
    assert!(lines.contains(&"  content: \"hi there\"") && lines.contains(&"  chat_id: 12"), "{text}");

    let v = ctl.run(&["inspect", "--json", &send]).json();
    assert_eq!(
        (v["what"].as_str(), v["type"].as_str(), v["direction"].as_str()),
        (Some("frame"), Some("SendMessage"), Some("client_to_server"))
    );
    assert_eq!((v["request_id"].as_u64(), v["fields"]["client_msg_id"].as_str()), (Some(7), Some("c-1")));

    // hex with a 0x prefix, spaces and a length prefix
    let ack = encode::send_ack(7, 12, "c-1", 99, 34, 1000);
    let spaced: String = hex::encode(prefixed(&[&ack]))
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let v = ctl.run(&["inspect", "--json", &format!("0x{spaced}")]).json();
    assert_eq!(
        (v["type"].as_str(), v["direction"].as_str(), v["fields"]["seq"].as_u64()),
        (Some("SendAck"), Some("server_to_client"), Some(34))
    );

    // server errors show their code by name
    let v =
        ctl.run(&["inspect", "--json", &hex::encode(encode::error(3, ErrorCode::Forbidden, "admins only", 0))]).json();
    assert_eq!((v["fields"]["code"].as_u64(), v["fields"]["code_name"].as_str()), (Some(201), Some("forbidden")));
}

#[test]
fn decodes_nested_events_and_bare_events() {
    let tmp = tempfile::tempdir().unwrap();
    let ctl = ctl(tmp.path());
    let event = encode::message_event(&H, 99, "c-9", "nested hello");

    let v = ctl.run(&["inspect", "--json", &hex::encode(encode::deliver(&event))]).json();
    assert_eq!((v["type"].as_str(), v["request_id"].as_u64()), (Some("Deliver"), Some(0)));
    let e = &v["fields"]["event"];
    assert_eq!(
        (e["kind"].as_str(), e["content"].as_str(), e["seq"].as_u64(), e["chat_id"].as_u64()),
        (Some("message"), Some("nested hello"), Some(34), Some(12))
    );

    let page = encode::history_page(4, 12, &[&event[..], b"junk"], true);
    let v = ctl.run(&["inspect", "--json", &hex::encode(&page)]).json();
    assert_eq!(v["fields"]["events"][0]["content"], "nested hello");
    assert_eq!(v["fields"]["events"][1]["error"], "malformed_frame");
    assert_eq!(v["fields"]["has_more"], true);

    // a stored event, as `admin dump` reads it from the log
    let v = ctl.run(&["inspect", "--json", "--as", "event", &hex::encode(&event)]).json();
    assert_eq!((v["what"].as_str(), v["event"]["message_id"].as_u64()), (Some("event"), Some(99)));
    let text = ctl.run(&["inspect", &hex::encode(&event)]).ok().to_owned();
    assert!(text.starts_with("chat event, ") && text.contains("  content: \"nested hello\""), "{text}");
}

#[test]
fn reads_files_streams_and_stdin() {
    let tmp = tempfile::tempdir().unwrap();
    let ctl = ctl(tmp.path());
    let (ping, hello) = (encode::ping(1, 42), encode::hello(1, 1, 1, 0, "probe/1"));

    // a captured QUIC stream: length-prefixed frames back to back, in a binary file
    let stream = tmp.path().join("stream.bin");
    std::fs::write(&stream, prefixed(&[&hello, &ping])).unwrap();
    let v = ctl.run(&["inspect", "--json", stream.to_str().unwrap()]).json();
    let frames = v.as_array().unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(
        (frames[0]["type"].as_str(), frames[0]["fields"]["client_name"].as_str()),
        (Some("Hello"), Some("probe/1"))
    );
    assert_eq!(frames[1]["fields"]["nonce"], 42);
    let text = ctl.run(&["inspect", stream.to_str().unwrap()]).ok().to_owned();
    assert!(text.starts_with("#0: Hello frame") && text.contains("\n#1: Ping frame"), "{text}");

    // a file holding hex text
    let hex_file = tmp.path().join("frame.hex");
    std::fs::write(&hex_file, format!("{}\n", hex::encode(&ping))).unwrap();
    assert_eq!(ctl.run(&["inspect", "--json", hex_file.to_str().unwrap()]).json()["type"], "Ping");

    // stdin, binary
    let run = ctl.run_with_stdin(&["inspect", "--json", "-"], Some(&hex::encode(&ping)));
    assert_eq!(run.json()["fields"]["nonce"], 42);

    // a stream with one bad frame shows the rest and fails
    let bad_stream = tmp.path().join("bad.bin");
    std::fs::write(&bad_stream, prefixed(&[&ping, &[0xffu8; 12]])).unwrap();
    let run = ctl.run(&["inspect", bad_stream.to_str().unwrap()]);
    assert!(
        run.stdout.contains("#0: Ping frame") && run.stdout.contains("#1: error malformed_frame (1), 12 bytes"),
        "{}",
        run.stdout
    );
    assert!(run.err().contains("verification_failed: 1 of 2 frames"), "{}", run.stderr);
}

#[test]
fn garbage_gets_the_stable_error_code() {
    let tmp = tempfile::tempdir().unwrap();
    let ctl = ctl(tmp.path());

    let run = ctl.run(&["inspect", "deadbeef"]);
    assert!(run.err().starts_with("error: malformed_frame (1): 4 bytes are not a frame"), "{}", run.stderr);
    let e = ctl.run(&["inspect", "--json", &"ff".repeat(16)]).json_err();
    assert_eq!((e["code"].as_str(), e["number"].as_u64()), (Some("malformed_frame"), Some(1)));
    // a well-formed table without a body: what the engine answers with unknown_frame
    let e = ctl.run(&["inspect", "--json", "--as", "frame", &"00".repeat(16)]).json_err();
    assert_eq!((e["code"].as_str(), e["number"].as_u64()), (Some("unknown_frame"), Some(3)));

    // every truncation of a real frame fails cleanly (no panic, exit code 1)
    let frame = encode::create_group(9, "a title", &[1, 2, 3]);
    for cut in [1, 8, frame.len() / 2, frame.len() - 1] {
        let run = ctl.run(&["inspect", "--framing", "bare", &hex::encode(&frame[..cut])]);
        assert!(run.err().starts_with("error: malformed_frame (1)"), "cut {cut}: {}", run.stderr);
    }

    // bigger than any frame may be
    let huge = tmp.path().join("huge.bin");
    std::fs::write(&huge, vec![0x11u8; 5 * 1024 * 1024]).unwrap();
    assert!(ctl.run(&["inspect", huge.to_str().unwrap()]).err().starts_with("error: frame_too_large (4)"));

    // a forced length prefix that does not match
    let run = ctl.run(&["inspect", "--framing", "prefixed", &hex::encode(encode::ok(1))]);
    assert!(run.err().contains("do not split into length-prefixed frames"), "{}", run.stderr);

    // neither hex nor a file
    assert!(ctl.run(&["inspect", "not-hex-nor-file"]).err().starts_with("error: invalid_input:"));
}
