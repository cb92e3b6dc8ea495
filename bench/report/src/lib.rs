//! The one JSON report schema of magpie-bench: every scenario and every peer writes a [`Report`]
//! (`--compare` a [`Compare`] holding one per target), and `magpie-bench-charts` reads the same
//! types back.
//!
//! A report is the common header (scenario, target, transport, config, machine, the server's
//! banner, setup time) plus the scenario's section, flattened into the top level so that the
//! files keep the shape they always had: [`Load`] for the message-load scenarios and the peers,
//! [`Density`] for the connection sweep, [`Storm`] for the reconnect storm.
//!
//! Reading is lenient where the charts look (see [`lenient`]): result files written by older
//! versions, by hand or by other tools still load, a field that is missing or not a usable number
//! reads as absent (`NaN` or `None`) instead of refusing the file, and unknown fields are ignored.

pub mod lenient;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A latency distribution in microseconds. Read leniently: a missing or unusable quantile is NaN.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LatencySummary {
    pub count: u64,
    #[serde(deserialize_with = "lenient::f64")]
    pub mean_us: f64,
    #[serde(deserialize_with = "lenient::f64")]
    pub p50_us: f64,
    #[serde(deserialize_with = "lenient::f64")]
    pub p90_us: f64,
    #[serde(deserialize_with = "lenient::f64")]
    pub p99_us: f64,
    #[serde(deserialize_with = "lenient::f64")]
    pub p999_us: f64,
    #[serde(deserialize_with = "lenient::f64")]
    pub max_us: f64,
}

impl Default for LatencySummary {
    /// Nothing known: NaN quantiles (an empty histogram summarizes to zeros instead).
    fn default() -> LatencySummary {
        let nan = f64::NAN;
        LatencySummary { count: 0, mean_us: nan, p50_us: nan, p90_us: nan, p99_us: nan, p999_us: nan, max_us: nan }
    }
}

/// One run of one scenario against one target.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Report {
    /// `one-to-one`, `fanout`, `channel`, `density`, `storm`, `storage`.
    pub scenario: String,
    /// `magpie`, `socketio` or `ceiling`.
    #[serde(deserialize_with = "lenient::string")]
    pub target: String,
    /// `quic` or `ws`.
    #[serde(deserialize_with = "lenient::string")]
    pub transport: String,
    pub quick: bool,
    pub config: Config,
    pub machine: Machine,
    /// The server's own description: the engine's banner and path, or the line a peer printed.
    #[serde(alias = "engine")]
    pub server: String,
    /// Writing the seeded accounts into the store before the engine started (magpie only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed_s: Option<f64>,
    /// Connecting, signing in and joining every client (density: all its steps).
    pub setup_s: f64,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub load: Option<Load>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub density: Option<Density>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub storm: Option<Storm>,
    /// The engine's own metrics over the load window (`GET /metrics`), or why they could not be
    /// read (magpie's message-load scenarios).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_metrics: Option<Result<EngineMetrics, String>>,
    /// storage: the history read phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<History>,
    /// presence: the connect storm without and with presence watching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<PresenceStorm>,
}

/// The parameters of a run: the fields every scenario has, then those of some scenarios only.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub clients: usize,
    /// Offered messages per second, all senders together.
    #[serde(deserialize_with = "lenient::num", skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    pub workers: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_s: Option<f64>,
    /// Members of each chat or room (0: direct chats, in magpie's reports).
    #[serde(deserialize_with = "lenient::whole", skip_serializing_if = "Option::is_none")]
    pub group: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub senders: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chats: Option<usize>,
    /// Peers: rooms (the group, or pairs for one-to-one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rooms: Option<usize>,
    #[serde(deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub durability: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub io: Option<String>,
    /// How clients got their accounts: `seed` or `register`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ips: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conns_per_endpoint: Option<usize>,
    /// Connections being set up at once (density).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// density: the cumulative connection count of each step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<usize>>,
    /// storm: seconds into the schedule when every connection drops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storm_at_s: Option<f64>,
    /// Peers: the server's threads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_threads: Option<usize>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Machine {
    #[serde(deserialize_with = "lenient::whole")]
    pub cores: Option<u64>,
    #[serde(deserialize_with = "lenient::num")]
    pub memory_gib: Option<f64>,
    #[serde(deserialize_with = "lenient::string")]
    pub kernel: String,
    /// NaN (written as null) where /proc/loadavg could not be read.
    #[serde(deserialize_with = "lenient::f64")]
    pub load_avg_1m_before: f64,
    #[serde(deserialize_with = "lenient::f64")]
    pub load_avg_1m_after: f64,
    pub nofile_limit: u64,
    /// net.core.rmem_max: caps the engine's 32 MiB UDP receive buffer (QUIC drops packets in
    /// bursts below ~32 MiB; docs/OPERATIONS.md).
    pub udp_rmem_max: u64,
}

/// What a message-load run measured (one-to-one, fanout, channel, storage; the peers).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Load {
    #[serde(deserialize_with = "lenient::num")]
    pub offered_msgs_per_s: Option<f64>,
    pub sent: u64,
    pub sent_per_s: f64,
    /// magpie: messages the engine acknowledged as durable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acked: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acked_per_s: Option<f64>,
    /// Peers: messages whose sender got its own copy back (no durability acknowledgement there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub echoed: Option<u64>,
    /// Deliveries to members other than the sender.
    pub deliveries: u64,
    /// The sender's own connection receives its message too.
    pub echo_deliveries: u64,
    /// All deliveries (recipients and echoes) per second, from the load start to the last one.
    #[serde(deserialize_with = "lenient::num")]
    pub deliveries_per_s: Option<f64>,
    #[serde(deserialize_with = "lenient::num")]
    pub recipient_deliveries_per_s: Option<f64>,
    /// Time from the end of the schedule until everything owed had arrived (or the drain timeout).
    pub drain_s: f64,
    pub drained: bool,
    pub latency_us: Latency,
    pub errors: Errors,
    pub delivery_check: DeliveryCheck,
    pub cpu: Cpu,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Latency {
    /// Intended send time → delivery at each recipient (every recipient, every message).
    pub deliver: LatencySummary,
    /// Actual send time → delivery: the server and network alone, without the generator's
    /// lateness (not free of coordinated omission; for diagnosis only).
    pub deliver_from_send: LatencySummary,
    /// Intended send time → delivery at the slowest recipient of each message.
    pub last_recipient: LatencySummary,
    /// Intended send time → SendAck at the sender (durable; magpie only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack: Option<LatencySummary>,
    /// Intended send time → the sender's own copy.
    pub echo: LatencySummary,
    /// Intended send time → the moment the generator actually sent (its own lateness).
    pub send_lag: LatencySummary,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Errors {
    pub total: u64,
    pub by_code: BTreeMap<String, u64>,
    pub dead_connections: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliveryCheck {
    /// Σ over connections of the messages owed to it (acknowledged in its chat, or sent in its room).
    pub expected: u64,
    pub received: u64,
    pub missing: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    /// Messages (after the warm-up) not seen by every recipient.
    pub incomplete_messages: u64,
    pub exactly_once: bool,
}

/// CPU over the measured span (load start → drained), the generator's and the server's.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Cpu {
    pub window_s: f64,
    pub generator_s: f64,
    pub generator_cores_busy: f64,
    #[serde(flatten)]
    pub server: ServerCpu,
}

/// The server's share, named for what it is: `engine_s`, `engine_cores_busy`,
/// `deliveries_per_engine_cpu_s`, `engine_rss_mib_after` for the engine, `server_*` for a peer's
/// server, as the reports have always said it.
#[derive(Debug, Clone, Default)]
pub struct ServerCpu {
    /// Whether the server is the engine (which names the fields).
    pub engine: bool,
    pub s: f64,
    pub cores_busy: f64,
    pub deliveries_per_cpu_s: Option<f64>,
    pub rss_mib_after: f64,
}

impl ServerCpu {
    /// The JSON names of the four fields, in the order of the struct's.
    fn names(engine: bool) -> [String; 4] {
        let p = if engine { "engine" } else { "server" };
        [format!("{p}_s"), format!("{p}_cores_busy"), format!("deliveries_per_{p}_cpu_s"), format!("{p}_rss_mib_after")]
    }
}

impl Serialize for ServerCpu {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let [s, busy, per, rss] = ServerCpu::names(self.engine);
        let mut m = serializer.serialize_map(Some(4))?;
        m.serialize_entry(&s, &self.s)?;
        m.serialize_entry(&busy, &self.cores_busy)?;
        m.serialize_entry(&per, &self.deliveries_per_cpu_s)?;
        m.serialize_entry(&rss, &self.rss_mib_after)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for ServerCpu {
    /// From the fields of either naming (a report without any reads as the engine's).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ServerCpu, D::Error> {
        let m = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
        let engine = !ServerCpu::names(false).iter().any(|k| m.contains_key(k));
        let [s, busy, per, rss] = ServerCpu::names(engine).map(|k| m.get(&k).and_then(serde_json::Value::as_f64));
        Ok(ServerCpu {
            engine,
            s: s.unwrap_or(f64::NAN),
            cores_busy: busy.unwrap_or(f64::NAN),
            deliveries_per_cpu_s: per.filter(|x| x.is_finite() && x.abs() < 1e15),
            rss_mib_after: rss.unwrap_or(f64::NAN),
        })
    }
}

/// A histogram's change between two scrapes of the engine's metrics: count and bucket-bound
/// quantiles.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HistogramDelta {
    pub count: u64,
    pub mean_ms: f64,
    /// The upper bound of the bucket holding the quantile (Prometheus buckets: an upper bound,
    /// not an exact value).
    pub p50_le_ms: f64,
    pub p99_le_ms: f64,
    pub p999_le_ms: f64,
}

/// The engine's counters over the measured window, and its queues at the end of it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineMetrics {
    pub frames_in: u64,
    pub frames_out: u64,
    pub deliveries_live: u64,
    pub deliveries_catch_up: u64,
    pub events_committed: u64,
    pub storage_commits: u64,
    pub wal_syncs: u64,
    /// Storage operations per RocksDB write: how much group commit merged.
    pub ops_per_commit: f64,
    pub errors_by_code: BTreeMap<String, u64>,
    pub send_durable: HistogramDelta,
    pub send_deliver: HistogramDelta,
    pub connections_open_end: u64,
    pub mailbox_depth_end: u64,
    pub mailbox_backlog_end: u64,
}

/// storage's read phase: history pages on an open-loop schedule.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct History {
    pub readers: usize,
    pub page_size: u16,
    pub offered_pages_per_s: f64,
    pub pages: u64,
    pub events: u64,
    pub pages_per_s: f64,
    pub events_per_s: f64,
    /// Intended request time → the page at the reader.
    pub page_latency_us: LatencySummary,
    pub errors: BTreeMap<String, u64>,
    pub engine_cpu_s: f64,
}

/// The connection-density sweep. `points` is required: it is what makes a report a sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Density {
    #[serde(default)]
    pub baseline_rss_mib: f64,
    pub points: Vec<DensityPoint>,
    #[serde(default)]
    pub max_connections: u64,
    /// RSS slope between the first and the last step, KiB per idle connection.
    #[serde(default)]
    pub kib_per_idle_connection: f64,
    /// Connections set up per second over all steps.
    #[serde(default)]
    pub setup_per_s: f64,
    #[serde(default)]
    pub stopped_because: String,
    #[serde(default)]
    pub errors: Vec<String>,
    #[serde(default)]
    pub engine_cpu_s: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DensityPoint {
    #[serde(deserialize_with = "lenient::whole")]
    pub connections: Option<u64>,
    #[serde(deserialize_with = "lenient::num")]
    pub engine_rss_mib: Option<f64>,
    /// (RSS − RSS with no connections) ÷ connections.
    #[serde(deserialize_with = "lenient::num")]
    pub rss_per_conn_kib: Option<f64>,
    /// RSS growth since the previous step ÷ connections added.
    pub marginal_kib_per_conn: f64,
    pub setup_s: f64,
    pub setup_per_s: f64,
    pub generator_rss_mib: f64,
    pub available_mib: f64,
}

/// The presence connect storm: the same connect storm twice, without watching and watching.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PresenceStorm {
    pub clients: usize,
    /// How long clients listened after the last one synced.
    pub window_s: f64,
    pub rounds: Vec<PresenceRound>,
}

/// One connect storm of the presence scenario.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PresenceRound {
    /// Every client watched its peer and its chat.
    pub watching: bool,
    pub clients: usize,
    pub synced: usize,
    /// The round's start → the last client's SyncDone.
    pub all_synced_s: f64,
    /// The round's start → each client's SyncDone.
    pub sync_us: LatencySummary,
    /// The round's start → the end of the observation window.
    pub round_s: f64,
    pub engine_cpu_s: f64,
    /// `PresenceChanged` pushes received (request id 0), all clients together.
    pub presence_frames: u64,
    /// Users and chats in those pushes.
    pub presence_entries: u64,
    pub presence_bytes: u64,
    pub max_presence_frames_per_client: u64,
    /// Every other frame received (replies, SyncDone, events).
    pub other_frames: u64,
    /// Clients whose last word on their peer was online.
    pub peer_online_at_end: usize,
    pub errors: std::collections::BTreeMap<String, u64>,
}

/// The reconnect storm. `resynced` is required: it is what makes a report a storm.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Storm {
    #[serde(default)]
    pub clients: usize,
    pub resynced: u64,
    /// Storm → the last client's SyncDone.
    #[serde(default)]
    pub all_synced_s: f64,
    /// Storm → each client's SyncDone.
    #[serde(default)]
    pub resync_us: LatencySummary,
    /// Intended send time → delivery, all messages (those scheduled during the outage included).
    #[serde(default)]
    pub deliver_us: LatencySummary,
    #[serde(default)]
    pub sent: u64,
    #[serde(default)]
    pub acked: u64,
    #[serde(default)]
    pub resent_after_storm: u64,
    #[serde(default)]
    pub expected_deliveries: u64,
    #[serde(default)]
    pub received: u64,
    #[serde(default)]
    pub missing: u64,
    #[serde(default)]
    pub duplicate_seqs: u64,
    #[serde(default)]
    pub duplicate_ids: u64,
    #[serde(default)]
    pub out_of_order: u64,
    #[serde(default)]
    pub exactly_once: bool,
    #[serde(default)]
    pub drained: bool,
    #[serde(default)]
    pub errors: BTreeMap<String, u64>,
    #[serde(default)]
    pub engine_cpu_s: f64,
}

/// `--compare`: magpie and its peers run back to back with the same parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Compare {
    pub compare: bool,
    /// What was compared (a hand-written comparison may call it `name`).
    #[serde(alias = "name")]
    pub scenario: String,
    pub magpie_transport: String,
    pub quick: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_unix_s: Option<u64>,
    /// The machine, with the load averages before the first run and after the last.
    pub machine: Machine,
    pub ratios: Ratios,
    pub deliver_latency_us: SideBySide,
    pub design_targets: DesignTargets,
    pub results: CompareResults,
}

/// Each target's report (or why it has none), keyed by target; or, in a hand-written comparison,
/// a list of summaries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CompareResults {
    ByTarget(BTreeMap<String, CompareEntry>),
    List(Vec<PeerSummary>),
}

impl Default for CompareResults {
    fn default() -> CompareResults {
        CompareResults::ByTarget(BTreeMap::new())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CompareEntry {
    Failed { error: String },
    Report(Box<Report>),
}

/// One target's figures in a comparison.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PeerSummary {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub target: Option<String>,
    #[serde(deserialize_with = "lenient::num")]
    pub deliveries_per_s: Option<f64>,
    #[serde(deserialize_with = "lenient::num")]
    pub deliveries_per_server_cpu_s: Option<f64>,
}

impl Report {
    /// This report's figures for a comparison, when it is a message-load run.
    pub fn summary(&self) -> Option<PeerSummary> {
        let load = self.load.as_ref()?;
        Some(PeerSummary {
            target: Some(self.target.clone()),
            deliveries_per_s: load.deliveries_per_s,
            deliveries_per_server_cpu_s: load.cpu.server.deliveries_per_cpu_s,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Ratios {
    pub deliveries_per_s: EngineOver,
    pub deliveries_per_server_cpu_s: EngineOver,
}

/// The engine's figure divided by a peer's (None when either is missing).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineOver {
    pub engine_over_socketio: Option<f64>,
    pub engine_over_ceiling: Option<f64>,
}

/// Delivery latency quantiles (µs) of each target, side by side.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SideBySide {
    pub p50: Targets,
    pub p99: Targets,
    pub p999: Targets,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Targets {
    pub magpie: Option<f64>,
    pub socketio: Option<f64>,
    pub ceiling: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DesignTargets {
    pub engine_over_ceiling_at_least: f64,
    pub engine_over_socketio_per_cpu_s_at_least: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_cpu_keeps_the_engines_and_the_peers_names() {
        let engine = ServerCpu { engine: true, s: 2.0, cores_busy: 0.5, deliveries_per_cpu_s: Some(10.0), rss_mib_after: 80.0 };
        let cpu = Cpu { window_s: 4.0, generator_s: 1.0, generator_cores_busy: 0.25, server: engine };
        let v = serde_json::to_value(&cpu).unwrap();
        assert_eq!(v, json!({"window_s": 4.0, "generator_s": 1.0, "generator_cores_busy": 0.25, "engine_s": 2.0,
            "engine_cores_busy": 0.5, "deliveries_per_engine_cpu_s": 10.0, "engine_rss_mib_after": 80.0}));
        let back: Cpu = serde_json::from_value(v).unwrap();
        assert!(back.server.engine && back.server.deliveries_per_cpu_s == Some(10.0));
        let peer: Cpu = serde_json::from_value(json!({"server_s": 3.0, "deliveries_per_server_cpu_s": 7.0})).unwrap();
        assert!(!peer.server.engine);
        assert_eq!((peer.server.s, peer.server.deliveries_per_cpu_s), (3.0, Some(7.0)));
    }

    #[test]
    fn the_scenario_section_is_told_by_its_fields() {
        let r: Report = serde_json::from_value(json!({"scenario": "density", "transport": "ws", "points": [{"connections": 8}]})).unwrap();
        assert!(r.density.is_some() && r.storm.is_none());
        let r: Report = serde_json::from_value(json!({"scenario": "storm", "resynced": 20, "clients": 20})).unwrap();
        assert!(r.storm.is_some_and(|s| s.resynced == 20) && r.density.is_none());
    }
}
