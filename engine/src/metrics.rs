//! Prometheus metrics, served as text (exposition format 0.0.4) on `GET /metrics`.
//!
//! Shards share no mutable state, so every shard has its own [`ShardMetrics`]: plain atomics that
//! only that shard writes (relaxed increments, no locks, no allocation) and that the `/metrics`
//! handler — on whichever shard accepted the scrape — reads and sums. Histograms are fixed arrays
//! of per-bucket counters; the cumulative `le` buckets Prometheus expects are computed at scrape
//! time. Storage counters are read from [`magpie_storage::Store::stats`] at scrape time, on the
//! blocking pool. `docs/ARCHITECTURE.md` ("Metrics") lists every metric and what it measures.

use magpie_wire::{fb, ErrorCode};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// The transports a connection can use, as label values (index = [`Transport`] as usize).
pub const TRANSPORTS: [&str; 2] = ["quic", "websocket"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Quic = 0,
    WebSocket = 1,
}

impl Transport {
    pub fn name(self) -> &'static str {
        TRANSPORTS[self as usize]
    }
}

/// Upper bounds of the latency buckets, in microseconds (50 µs .. 1 s; `+Inf` is implicit).
pub const BUCKETS_US: [u64; 14] = [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000];

/// A latency histogram: one counter per bucket (not cumulative) plus `+Inf`, and the sum.
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    sum_ns: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { buckets: std::array::from_fn(|_| AtomicU64::new(0)), sum_ns: AtomicU64::new(0) }
    }
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let us = d.as_micros().min(u64::MAX as u128) as u64;
        let i = BUCKETS_US.iter().position(|&b| us <= b).unwrap_or(BUCKETS_US.len());
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(d.as_nanos().min(u64::MAX as u128) as u64, Relaxed);
    }
}

/// Counters and gauges of one shard. Written only by that shard; read by the `/metrics` handler.
pub struct ShardMetrics {
    /// Connections being served (from the start of the handshake until the read side ends), by
    /// transport.
    pub conns_open: [AtomicU64; TRANSPORTS.len()],
    /// Verified frames received, by `Body` discriminant.
    frames_in: [AtomicU64; 256],
    /// Frames handed to the transport for writing, by `Body` discriminant.
    frames_out: [AtomicU64; 256],
    /// `Error` and `Close` frames handed to the transport, by position in [`ErrorCode::ALL`].
    errors: Box<[AtomicU64]>,
    /// `Deliver` frames queued to a connection: live (the shared bytes) and from the log.
    pub deliveries_live: AtomicU64,
    pub deliveries_catch_up: AtomicU64,
    /// Ephemeral signals queued to a connection, and dropped because its queue was busy.
    pub signals_sent: AtomicU64,
    pub signals_dropped: AtomicU64,
    /// Events made durable on this (owner) shard and fanned out.
    pub events_committed: AtomicU64,
    /// Batches this owner shard handed to the commit thread whose result it has not handled yet.
    pub commits_inflight: AtomicU64,
    /// Messages this shard holds back because another shard's mailbox was full.
    pub backlog: AtomicU64,
    /// Owner submit → commit callback, for messages.
    pub send_durable: Histogram,
    /// Owner received the Send → Deliver frame queued to local connections (once per shard).
    pub send_deliver: Histogram,
}

impl Default for ShardMetrics {
    fn default() -> Self {
        ShardMetrics {
            conns_open: std::array::from_fn(|_| AtomicU64::new(0)),
            frames_in: std::array::from_fn(|_| AtomicU64::new(0)),
            frames_out: std::array::from_fn(|_| AtomicU64::new(0)),
            errors: ErrorCode::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            deliveries_live: AtomicU64::new(0),
            deliveries_catch_up: AtomicU64::new(0),
            signals_sent: AtomicU64::new(0),
            signals_dropped: AtomicU64::new(0),
            events_committed: AtomicU64::new(0),
            commits_inflight: AtomicU64::new(0),
            backlog: AtomicU64::new(0),
            send_durable: Histogram::default(),
            send_deliver: Histogram::default(),
        }
    }
}

/// Adds one to a counter or gauge.
pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
}

/// Subtracts one from a gauge (never below zero).
pub fn dec(c: &AtomicU64) {
    let _ = c.fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(1)));
}

impl ShardMetrics {
    /// A verified inbound frame.
    pub fn frame_in(&self, body: fb::Body) {
        self.frames_in[body.0 as usize].fetch_add(1, Relaxed);
    }

    /// A frame this engine encoded, about to be written: counts its type and, for `Error` and
    /// `Close`, its error code.
    pub fn frame_out(&self, frame: &[u8]) {
        let Some((body, table)) = peek_body(frame) else { return };
        self.frames_out[body.0 as usize].fetch_add(1, Relaxed);
        if body == fb::Body::Error || body == fb::Body::Close {
            // Both tables have `code: uint16` as their first field.
            if let Some(code) = field_pos(frame, table, 0).and_then(|p| read_u16(frame, p)) {
                if let Some(i) = ErrorCode::ALL.iter().position(|c| *c as u16 == code) {
                    self.errors[i].fetch_add(1, Relaxed);
                }
            }
        }
    }
}

// ---- reading the body type of frames the engine encoded itself ---------------------------
//
// The outbound queue holds encoded bytes; re-verifying every outgoing frame just to count it
// would cost as much as a verification per recipient. These readers follow the FlatBuffers
// layout with bounds-checked safe code and only ever see frames `magpie_wire::encode` built;
// a test below checks them against the verifier.

fn read_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// Where field number `index` of the table at `table` is stored, if present.
fn field_pos(b: &[u8], table: usize, index: usize) -> Option<usize> {
    let soffset = read_u32(b, table)? as i32 as i64;
    let vtable = usize::try_from(table as i64 - soffset).ok()?;
    let vtable_len = read_u16(b, vtable)? as usize;
    let slot = 4 + 2 * index;
    if slot + 2 > vtable_len {
        return None;
    }
    match read_u16(b, vtable + slot)? {
        0 => None,
        off => table.checked_add(off as usize),
    }
}

/// The body type of a frame this engine encoded (e.g. to send typing as a QUIC datagram).
pub fn body_of(frame: &[u8]) -> Option<fb::Body> {
    peek_body(frame).map(|(b, _)| b)
}

/// A frame's body type and the position of its body table.
fn peek_body(b: &[u8]) -> Option<(fb::Body, usize)> {
    let root = read_u32(b, 0)? as usize;
    // Frame { request_id: 0, body_type: 1, body: 2 }
    let body_type = *b.get(field_pos(b, root, 1)?)?;
    let at = field_pos(b, root, 2)?;
    let table = at.checked_add(read_u32(b, at)? as usize)?;
    Some((fb::Body(body_type), table))
}

// ---- the text exposition format ------------------------------------------------------------

/// Escapes a label value: backslash, double quote and line feed.
pub fn escape_label(v: &str, out: &mut String) {
    for ch in v.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

struct Text {
    out: String,
}

impl Text {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        // HELP text escapes backslash and line feed; ours has neither, but keep it correct.
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label(v, &mut self.out);
                self.out.push('"');
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    fn histogram(&mut self, name: &str, help: &str, shards: &[ShardMetrics], h: impl Fn(&ShardMetrics) -> &Histogram) {
        self.header(name, "histogram", help);
        let mut counts = [0u64; BUCKETS_US.len() + 1];
        let mut sum_ns = 0u64;
        for s in shards {
            let h = h(s);
            for (c, b) in counts.iter_mut().zip(&h.buckets) {
                *c += b.load(Relaxed);
            }
            sum_ns = sum_ns.wrapping_add(h.sum_ns.load(Relaxed));
        }
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        for (i, c) in counts.iter().enumerate() {
            cumulative += c;
            let le = match BUCKETS_US.get(i) {
                Some(&us) => format!("{}", us as f64 / 1e6),
                None => "+Inf".to_string(),
            };
            self.sample(&bucket, &[("le", &le)], cumulative);
        }
        self.sample(&format!("{name}_sum"), &[], sum_ns as f64 / 1e9);
        // The count is the +Inf bucket, so the two always agree within one scrape.
        self.sample(&format!("{name}_count"), &[], cumulative);
    }
}

/// The full `/metrics` body from every shard's metrics, each shard's mailbox depth and the
/// store's counters (if they could be read).
pub fn render(shards: &[ShardMetrics], mailbox_depths: &[usize], stats: Option<&magpie_storage::Stats>) -> String {
    let mut t = Text { out: String::with_capacity(8 * 1024) };
    let sum = |f: &dyn Fn(&ShardMetrics) -> u64| shards.iter().map(f).fold(0u64, u64::wrapping_add);

    t.header("magpie_connections_open", "gauge", "Client connections being served, by shard and transport.");
    for (i, s) in shards.iter().enumerate() {
        let shard = i.to_string();
        for (ti, transport) in TRANSPORTS.iter().enumerate() {
            t.sample("magpie_connections_open", &[("shard", &shard), ("transport", transport)], s.conns_open[ti].load(Relaxed));
        }
    }

    for (name, help, out) in [
        ("magpie_frames_in_total", "Verified frames received from clients, by frame type.", false),
        ("magpie_frames_out_total", "Frames handed to the transport for clients, by frame type.", true),
    ] {
        t.header(name, "counter", help);
        for i in 1..=fb::Body::ENUM_MAX {
            let Some(ty) = fb::Body(i).variant_name() else { continue };
            let v = sum(&|s| if out { s.frames_out[i as usize].load(Relaxed) } else { s.frames_in[i as usize].load(Relaxed) });
            if v > 0 {
                t.sample(name, &[("type", ty)], v);
            }
        }
    }

    t.header("magpie_errors_total", "counter", "Error and Close frames sent to clients, by error code.");
    for (i, code) in ErrorCode::ALL.iter().enumerate() {
        t.sample("magpie_errors_total", &[("code", code.name())], sum(&|s| s.errors[i].load(Relaxed)));
    }

    t.header("magpie_deliveries_total", "counter", "Deliver frames queued to client connections: live, or read back from the log.");
    t.sample("magpie_deliveries_total", &[("path", "live")], sum(&|s| s.deliveries_live.load(Relaxed)));
    t.sample("magpie_deliveries_total", &[("path", "catch_up")], sum(&|s| s.deliveries_catch_up.load(Relaxed)));

    t.header("magpie_signals_total", "counter", "Ephemeral signals (typing, presence) to client connections: queued, or dropped for a busy connection.");
    t.sample("magpie_signals_total", &[("outcome", "sent")], sum(&|s| s.signals_sent.load(Relaxed)));
    t.sample("magpie_signals_total", &[("outcome", "dropped")], sum(&|s| s.signals_dropped.load(Relaxed)));

    t.header("magpie_events_committed_total", "counter", "Chat events made durable by their owner shard and fanned out.");
    t.sample("magpie_events_committed_total", &[], sum(&|s| s.events_committed.load(Relaxed)));

    t.histogram(
        "magpie_send_durable_seconds",
        "Messages: owner shard submitting the write to the commit thread until the commit callback.",
        shards,
        |s| &s.send_durable,
    );
    t.histogram(
        "magpie_send_deliver_seconds",
        "Messages: owner shard receiving the Send until the Deliver frame is queued on a shard's local connections (once per shard).",
        shards,
        |s| &s.send_deliver,
    );

    t.header("magpie_mailbox_depth", "gauge", "Messages waiting in a shard's mailbox.");
    for (i, depth) in mailbox_depths.iter().enumerate() {
        t.sample("magpie_mailbox_depth", &[("shard", &i.to_string())], *depth);
    }
    t.header("magpie_mailbox_backlog", "gauge", "Messages a shard holds back because another shard's mailbox is full.");
    for (i, s) in shards.iter().enumerate() {
        t.sample("magpie_mailbox_backlog", &[("shard", &i.to_string())], s.backlog.load(Relaxed));
    }
    t.header("magpie_commits_inflight", "gauge", "Batches an owner shard handed to the commit thread whose result it has not handled yet.");
    for (i, s) in shards.iter().enumerate() {
        t.sample("magpie_commits_inflight", &[("shard", &i.to_string())], s.commits_inflight.load(Relaxed));
    }

    if let Some(st) = stats {
        for (name, kind, help, v) in [
            ("magpie_storage_wal_syncs_total", "counter", "WAL fsyncs requested by the store.", st.wal_syncs),
            ("magpie_storage_commits_total", "counter", "RocksDB writes issued by the group committer.", st.commits),
            ("magpie_storage_ops_committed_total", "counter", "Storage operations written by the group committer.", st.ops_committed),
            ("magpie_storage_submissions_total", "counter", "Batches handed to the commit thread.", st.submissions),
            ("magpie_storage_users", "gauge", "Accounts.", st.users),
            ("magpie_storage_devices", "gauge", "Non-revoked devices.", st.devices),
            ("magpie_storage_chats", "gauge", "Chats.", st.chats),
            ("magpie_storage_log_events_estimate", "gauge", "RocksDB's estimate of the chat-log entries.", st.log_events_estimate),
            ("magpie_storage_sst_bytes", "gauge", "Total size of the SST files.", st.sst_bytes),
        ] {
            t.header(name, kind, help);
            t.sample(name, &[], v);
        }
    }
    t.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use magpie_wire::{encode, verify};

    #[test]
    fn peek_agrees_with_the_verifier() {
        let frames = [
            encode::error(7, ErrorCode::ChatNotFound, "no such chat", 0),
            encode::error(7, ErrorCode::RateLimited, "", 100),
            encode::close(ErrorCode::Overloaded, "outbound queue full"),
            encode::close(ErrorCode::ShuttingDown, ""),
            encode::ok(3),
            encode::pong(1, 2, 3),
            encode::deliver(&[1, 2, 3, 4, 5]),
            encode::send_ack(9, 1, "c", 2, 3, 4),
            encode::sync_done(1, 2, 3),
        ];
        for f in &frames {
            let v = verify::server_frame(f).unwrap();
            let (body, table) = peek_body(f).unwrap();
            assert_eq!(body, v.body_type());
            let code = field_pos(f, table, 0).and_then(|p| read_u16(f, p));
            if let Some(e) = v.body_as_error() {
                assert_eq!(code, Some(e.code()));
            }
            if let Some(c) = v.body_as_close() {
                assert_eq!(code, Some(c.code()));
            }
        }
        let m = ShardMetrics::default();
        for f in &frames {
            m.frame_out(f);
        }
        let idx = |c: ErrorCode| ErrorCode::ALL.iter().position(|x| *x == c).unwrap();
        assert_eq!(m.errors[idx(ErrorCode::ChatNotFound)].load(Relaxed), 1);
        assert_eq!(m.errors[idx(ErrorCode::Overloaded)].load(Relaxed), 1);
        assert_eq!(m.frames_out[fb::Body::Error.0 as usize].load(Relaxed), 2);
        assert_eq!(m.frames_out[fb::Body::Deliver.0 as usize].load(Relaxed), 1);
        // Garbage never panics.
        for junk in [&[][..], &[0xff; 3], &[0xff; 64], &[4, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]] {
            m.frame_out(junk);
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let mut s = String::new();
        escape_label("a\\b\"c\nd", &mut s);
        assert_eq!(s, "a\\\\b\\\"c\\nd");
    }

    #[test]
    fn histograms_are_cumulative() {
        let shards = [ShardMetrics::default(), ShardMetrics::default()];
        shards[0].send_durable.observe(Duration::from_micros(10));
        shards[1].send_durable.observe(Duration::from_micros(700));
        shards[1].send_durable.observe(Duration::from_secs(5));
        let mut t = Text { out: String::new() };
        t.histogram("h", "help", &shards, |s| &s.send_durable);
        let out = t.out;
        assert!(out.contains("h_bucket{le=\"0.00005\"} 1\n"), "{out}");
        assert!(out.contains("h_bucket{le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("h_bucket{le=\"0.001\"} 2\n"), "{out}");
        assert!(out.contains("h_bucket{le=\"1\"} 2\n"), "{out}");
        assert!(out.contains("h_bucket{le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("h_count 3\n"), "{out}");
        assert!(out.contains("# TYPE h histogram\n"), "{out}");
    }
}
