//! Criterion micro-benchmarks of the wire hot paths: encoding a message event and its Deliver
//! frame, verifying a client frame, and verifying then reading a delivered event.
//!
//! Run: `cargo bench -p magpie-wire --bench codec` (numbers in docs/BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use magpie_wire::{encode, verify};
use std::hint::black_box;

fn header() -> encode::EventHeader {
    encode::EventHeader { chat_id: 42, seq: 1_000, sender_id: 7, sender_device_id: 9, time_ms: 1_764_000_000_000 }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("wire");
    for size in [64usize, 1024, 16 * 1024] {
        let content = "x".repeat(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("encode_message_event+deliver", size), &content, |b, content| {
            b.iter(|| {
                let event = encode::message_event(&header(), 123, "cmid-0001", black_box(content));
                black_box(encode::deliver(&event))
            })
        });
        let send = encode::send_message(5, 42, "cmid-0001", &content);
        g.bench_with_input(BenchmarkId::new("verify_send_message", size), &send, |b, frame| {
            b.iter(|| {
                let f = verify::client_frame(black_box(frame)).unwrap();
                let m = f.body_as_send_message().unwrap();
                black_box((m.chat_id(), m.client_msg_id(), m.content().map(str::len)))
            })
        });
        let deliver = encode::deliver(&encode::message_event(&header(), 123, "cmid-0001", &content));
        g.bench_with_input(BenchmarkId::new("verify_deliver_and_event", size), &deliver, |b, frame| {
            b.iter(|| {
                let f = verify::server_frame(black_box(frame)).unwrap();
                let e = verify::event(f.body_as_deliver().unwrap().event().unwrap().bytes()).unwrap();
                black_box((e.seq(), e.body_as_message_body().unwrap().content().map(str::len)))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
