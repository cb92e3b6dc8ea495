//! Target `connection`: one connection's protocol state machine, fed a fuzzed sequence of frames
//! after a valid handshake, against a real engine running in this process.
//!
//! Once per process: start an engine (`magpie_engine::start`, 2 shards, ephemeral ports, a data
//! directory under the temp dir, process-crash durability, cheap argon2), and a *probe* user with
//! its own group chat on its own synced connection.
//!
//! Per input (see `input.rs` for the format): register two fresh users, *me* and a *peer* (so every
//! input starts from the same state and a crash replays), open a WebSocket to the engine, `Hello`,
//! sign in as *me* (register, token, or not at all, as the input says), then run the ops: requests
//! with harness-chosen request ids and symbolic ids resolved against what the run has seen, raw and
//! corrupted frames, request-id overrides, the peer acting on its own connection at the same time.
//! Replies are read concurrently. Then the run settles, checks, closes, and the probe checks the
//! engine still serves.
//!
//! Oracles (any failure panics, i.e. a crash for libFuzzer):
//! - every frame the server sends passes `verify::server_frame` (nested events `verify::event`);
//! - every request the harness sent gets exactly one reply with its id, of the right type, within
//!   the bound (`MAGPIE_FUZZ_BOUND_MS`, default 10 s): no hang, no lost or duplicate reply;
//! - error codes are known; `internal`, `rate_limited` and protocol-violation codes never answer a
//!   request; the connection ends only after a `Close`, and only with a code the input explains
//!   (verification codes after a raw/corrupted frame or request id 0, `revoked` after a logout or
//!   revocation) — never `server_fault`, `overloaded`, `too_many_errors`, ...; the peer's
//!   connection is never closed, except `revoked` after the fuzzed connection, signed in as the
//!   peer's user (e.g. with the peer's token), revoked the peer's own device;
//! - replies match their request: pong nonce, ack chat and client_msg_id, the chat asked for,
//!   history pages in ascending consecutive order on the right side of `from_seq` within the limit,
//!   chat lists ascending after the cursor within the limit, one current device that is ours;
//! - delivery: no `Deliver` before `Sync`; per chat the seqs delivered are consecutive (no gap,
//!   duplicate or reordering) and start at most at the sync cursor + 1 (at 1 without a cursor),
//!   except that a chat may start (again) at the event that adds this user (§6.9: nothing from
//!   before one's join is pushed);
//!   `SyncDone.events` never exceeds what was delivered; once synced, every message this
//!   connection got an ack for (above its cursor) is delivered, unless the input changed
//!   membership or sent frames the harness cannot interpret;
//! - sends: a client_msg_id retried in the same chat gets the same ack (message id, seq, time);
//!   one already acked in another chat is refused with `invalid_argument`; acks for new
//!   messages in one chat have increasing seqs in request order; distinct messages have distinct
//!   ids; an event seen twice (delivery, history, chat list) is the same bytes (unless a frame the
//!   harness cannot interpret deleted a message for everyone, which rewrites it), and a message event
//!   matches the ack for its (chat, seq);
//! - a panic on any engine thread aborts the process (panic hook);
//! - after every input the probe sends to its own chat and gets the ack and the delivery with the
//!   next seq, and nothing but its own messages ever appears in that chat.

use crate::input::{self, AuthMode, ChatRef, Cmid, Content, DeviceRef, Name, Op, Password, SeqRef, Token, UserRef};
use bytes::Bytes;
use magpie_client::transport::{Connection, FrameSender};
use magpie_wire::limits::{MAX_CONTENT_BYTES, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use magpie_wire::{encode, fb, verify, ErrorCode};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// The password of every user the harness registers.
const PASSWORD: &str = "fuzz-password-1";
/// Requests the harness keeps unanswered at most (the protocol promises no `overloaded` below 64).
const MAX_OUTSTANDING: usize = 56;
/// First request id the harness uses on the fuzzed connection (raw frames pick their own).
const FIRST_RID: u64 = 1 << 20;

/// The harness, created on first use and never dropped: tearing the runtime down while the
/// process exits (libFuzzer returns from main after a single input) would touch thread-locals
/// already destroyed. Kept in a static so that LeakSanitizer sees it as reachable.
static HARNESS: AtomicPtr<Harness> = AtomicPtr::new(std::ptr::null_mut());
static HARNESS_THREAD: OnceLock<std::thread::ThreadId> = OnceLock::new();

/// Runs one input (the fuzz target and the regression replay call this).
pub fn fuzz_connection(data: &[u8]) {
    let (auth, ops) = input::decode(data);
    let me = std::thread::current().id();
    assert_eq!(*HARNESS_THREAD.get_or_init(|| me), me, "the harness runs on one thread only");
    if HARNESS.load(Ordering::Acquire).is_null() {
        HARNESS.store(Box::into_raw(Box::new(Harness::start())), Ordering::Release);
    }
    // SAFETY: set once above and never freed; only ever used from this one thread (asserted), and
    // never re-entered, so this is the only reference.
    let h = unsafe { &mut *HARNESS.load(Ordering::Acquire) };
    h.runs += 1;
    let n = h.runs;
    let (bound, tcp) = (h.bound, h.tcp);
    let Harness { rt, local, probe, .. } = h;
    local.block_on(rt, async {
        let mut run = Run::setup(tcp, bound, n, auth, &ops, probe).await;
        run.ops(&ops).await;
        run.finish().await;
        probe.check(bound).await;
    });
}

struct Harness {
    _engine: magpie_engine::Engine,
    rt: tokio::runtime::Runtime,
    local: tokio::task::LocalSet,
    tcp: SocketAddr,
    bound: Duration,
    probe: Probe,
    runs: u64,
}

impl Harness {
    fn start() -> Harness {
        // A panic on an engine thread (shard, blocking pool) must be a crash, not a dead thread
        // the engine limps on without. Panics on this thread stay panics (a failed oracle in
        // `cargo test` fails the test); libFuzzer's own hook aborts on those.
        let this = std::thread::current().id();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            if std::thread::current().id() != this {
                eprintln!("magpie-fuzz-engine: panic on an engine thread, aborting");
                std::process::abort();
            }
        }));
        let bound = Duration::from_millis(
            std::env::var("MAGPIE_FUZZ_BOUND_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000),
        );
        let dir = data_dir();
        // The engine tests' configuration (ephemeral ports, 2 shards, not pinned), made harsher.
        let mut config = magpie_testkit::test_config(&dir);
        config.io = magpie_engine::IoMode::Epoll;
        config.durability = magpie_engine::Durability::ProcessCrash;
        config.argon2_memory_kib = 8;
        config.idle_timeout = Duration::from_secs(24 * 3600);
        // The smallest queue the engine allows: slow-consumer and catch-up paths get exercised.
        config.outbound_queue = 256;
        let engine = magpie_engine::start(config).expect("the engine starts");
        let tcp = engine.tcp_addr;
        // Never shut down (the harness is never dropped): the process ends with libFuzzer, and the
        // data directory is removed by the next run (see `data_dir`).
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        let local = tokio::task::LocalSet::new();
        let probe = local.block_on(&rt, Probe::start(tcp, bound));
        Harness { _engine: engine, rt, local, tcp, bound, probe, runs: 0 }
    }
}

/// `$MAGPIE_FUZZ_DATA_DIR` (default: the temp dir) `/magpie-fuzz-engine-<pid>`, fresh. Directories
/// of processes that no longer exist are removed first (a fuzzing process never shuts its engine
/// down, so it cannot clean up after itself).
fn data_dir() -> PathBuf {
    let base = std::env::var_os("MAGPIE_FUZZ_DATA_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    const PREFIX: &str = "magpie-fuzz-engine-";
    if let Ok(entries) = std::fs::read_dir(&base) {
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else { continue };
            if pid.parse::<u32>().is_ok() && !std::path::Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = base.join(format!("{PREFIX}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the engine's data directory");
    dir
}

// ---------------------------------------------------------------- connections

enum Incoming {
    Frame(Bytes),
    End(String),
}

/// A WebSocket connection whose frames a local task reads into a channel, so that sending never
/// waits for reading and the server's queue always drains.
struct Conn {
    tx: FrameSender,
    rx: mpsc::UnboundedReceiver<Incoming>,
    reader: tokio::task::JoinHandle<()>,
}

impl Conn {
    async fn open(addr: SocketAddr, bound: Duration) -> Conn {
        let c = tokio::time::timeout(bound, Connection::websocket(addr, None))
            .await
            .unwrap_or_else(|_| panic!("no WebSocket connection within {bound:?}"))
            .unwrap_or_else(|e| panic!("the engine refused a WebSocket connection: {e}"));
        let (tx, mut receiver) = c.split();
        let (frames, rx) = mpsc::unbounded_channel();
        let reader = tokio::task::spawn_local(async move {
            loop {
                match receiver.recv().await {
                    Ok(f) => {
                        if frames.send(Incoming::Frame(f)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = frames.send(Incoming::End(e.to_string()));
                        return;
                    }
                }
            }
        });
        Conn { tx, rx, reader }
    }

    async fn send(&mut self, frame: Bytes) -> bool {
        self.tx.send_raw(frame).await.is_ok()
    }

    async fn next(&mut self, bound: Duration, what: &str) -> Incoming {
        match tokio::time::timeout(bound, self.rx.recv()).await {
            Ok(Some(i)) => i,
            Ok(None) => Incoming::End("reader gone".into()),
            Err(_) => panic!("no frame within {bound:?} while waiting for {what}"),
        }
    }

    /// Sends `frame` and returns the reply with `rid` (other frames are passed to `other`).
    async fn call(&mut self, frame: Bytes, rid: u64, bound: Duration, what: &str, mut other: impl FnMut(&[u8])) -> Bytes {
        assert!(self.send(frame).await, "send failed during {what}");
        loop {
            match self.next(bound, what).await {
                Incoming::Frame(f) => {
                    let fr = verify::server_frame(&f).unwrap_or_else(|c| panic!("{what}: server frame fails verification: {c:?}"));
                    if fr.request_id() == rid {
                        return f;
                    }
                    other(&f);
                }
                Incoming::End(e) => panic!("{what}: connection ended: {e}"),
            }
        }
    }

    async fn close(self) {
        self.reader.abort();
        let Conn { mut tx, .. } = self;
        let _ = tokio::time::timeout(Duration::from_millis(200), tx.close()).await;
    }
}

#[derive(Debug, Clone)]
struct Account {
    name: String,
    user_id: u64,
    device_id: u64,
    token: String,
}

fn authenticated(f: &[u8], what: &str) -> Account {
    let fr = verify::server_frame(f).unwrap();
    let Some(a) = fr.body_as_authenticated() else { panic!("{what}: expected Authenticated, got {}", describe(&fr)) };
    Account {
        name: a.username().unwrap_or("").to_string(),
        user_id: a.user_id(),
        device_id: a.device_id(),
        token: a.token().unwrap_or("").to_string(),
    }
}

/// Opens a connection, greets, and registers (or logs in as) `name`.
async fn signed_in(addr: SocketAddr, bound: Duration, name: &str, login: bool) -> (Conn, Account) {
    let mut c = Conn::open(addr, bound).await;
    assert!(c.send(encode::hello(1, PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, 0, "magpie-fuzz")).await);
    let req = if login { encode::login(2, name, PASSWORD, "fuzz-2") } else { encode::register(2, name, PASSWORD, "fuzz") };
    let f = c.call(req, 2, bound, "sign in", |_| {}).await;
    let mut a = authenticated(&f, "sign in");
    assert_eq!(a.name, name);
    a.name = name.to_string();
    (c, a)
}

fn describe(f: &fb::Frame<'_>) -> String {
    match f.body_as_error() {
        Some(e) => format!("Error {:?} {:?}", ErrorCode::from_u16(e.code()), e.message()),
        None => match f.body_as_close() {
            Some(c) => format!("Close {:?} {:?}", ErrorCode::from_u16(c.code()), c.reason()),
            None => format!("{:?}", f.body_type()),
        },
    }
}

fn hash(b: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    b.hash(&mut h);
    h.finish()
}

/// An error answer to a request: a known code that does not close the connection, and never one
/// the harness's traffic cannot explain.
fn check_error(e: fb::Error<'_>, what: &str) -> ErrorCode {
    let code = ErrorCode::from_u16(e.code()).unwrap_or_else(|| panic!("{what}: unknown error code {}", e.code()));
    assert!(!code.closes_connection(), "{what}: a protocol-violation code in an Error frame: {code}");
    assert!(
        !matches!(code, ErrorCode::Internal | ErrorCode::RateLimited),
        "{what}: {code} ({:?}); the harness stays far below the rate limit, and `internal` is a server failure",
        e.message()
    );
    code
}

/// Whether the stored event `bytes` is a `MembersAdded` naming `user`: where a chat starts for
/// them (PROTOCOL.md §6.9, history visibility), so their first delivery of it may be this one.
fn adds(bytes: &[u8], user: u64) -> bool {
    let added = verify::event(bytes).ok().and_then(|e| e.body_as_members_added()).and_then(|m| m.user_ids());
    added.is_some_and(|ids| ids.iter().any(|id| id == user))
}

// ---------------------------------------------------------------- the probe

/// A user with its own group chat and a synced connection, alive for the whole process.
struct Probe {
    conn: Conn,
    account: Account,
    chat: u64,
    last_seq: u64,
    /// Highest seq delivered per chat (the fuzzed users may add the probe to their chats).
    delivered: HashMap<u64, u64>,
    next_rid: u64,
}

impl Probe {
    async fn start(addr: SocketAddr, bound: Duration) -> Probe {
        let (mut conn, account) = signed_in(addr, bound, "fuzzprobe", false).await;
        let f = conn.call(encode::create_group(3, "probe", &[]), 3, bound, "probe: create group", |_| {}).await;
        let chat = verify::server_frame(&f).unwrap().body_as_chat_info().expect("probe: ChatInfo").chat_id();
        let mut p = Probe { conn, account, chat, last_seq: 1, delivered: HashMap::new(), next_rid: 10 };
        assert!(p.conn.send(encode::sync(4, &[])).await);
        loop {
            let Incoming::Frame(f) = p.conn.next(bound, "probe: sync").await else { panic!("probe: connection ended") };
            if p.frame(&f) == Some(4) {
                break;
            }
        }
        p
    }

    /// Checks one frame; returns the request id of a reply.
    fn frame(&mut self, f: &[u8]) -> Option<u64> {
        let fr = verify::server_frame(f).unwrap_or_else(|c| panic!("probe: server frame fails verification: {c:?}"));
        if let Some(d) = fr.body_as_deliver() {
            let bytes = d.event().expect("probe: Deliver without an event");
            let e = verify::event(bytes.bytes()).unwrap_or_else(|c| panic!("probe: delivered event fails verification: {c:?}"));
            // As for the fuzzed users: the event that adds the probe (to a chat a fuzzed user made)
            // is where that chat starts for it (PROTOCOL.md §6.9, history visibility).
            let joins = adds(bytes.bytes(), self.account.user_id);
            match self.delivered.get(&e.chat_id()).copied() {
                Some(last) if joins && e.seq() > last => {}
                None if joins => {}
                last => {
                    let last = last.unwrap_or(0);
                    assert_eq!(e.seq(), last + 1, "probe: chat {} delivered seq {} after {last}", e.chat_id(), e.seq());
                }
            }
            self.delivered.insert(e.chat_id(), e.seq());
            if e.chat_id() == self.chat {
                assert_eq!(e.sender_id(), self.account.user_id, "probe: someone else wrote to the probe's chat: {e:?}");
            }
            return None;
        }
        if let Some(c) = fr.body_as_close() {
            panic!("probe: the engine closed the probe's connection: {:?} {:?}", ErrorCode::from_u16(c.code()), c.reason());
        }
        Some(fr.request_id())
    }

    /// The engine still serves: the probe's message is acked with the next seq and delivered.
    async fn check(&mut self, bound: Duration) {
        self.next_rid += 1;
        let rid = self.next_rid;
        let cmid = format!("p{rid}");
        assert!(self.conn.send(encode::send_message(rid, self.chat, &cmid, "still serving?")).await, "probe: send failed");
        let mut acked = false;
        while !acked || self.delivered.get(&self.chat).copied().unwrap_or(0) < self.last_seq + 1 {
            let f = match self.conn.next(bound, "the probe's ack and delivery").await {
                Incoming::Frame(f) => f,
                Incoming::End(e) => panic!("probe: the engine dropped the probe's connection: {e}"),
            };
            if self.frame(&f) == Some(rid) {
                let fr = verify::server_frame(&f).unwrap();
                let Some(ack) = fr.body_as_send_ack() else { panic!("probe: send answered with {}", describe(&fr)) };
                assert_eq!(ack.seq(), self.last_seq + 1, "probe: its chat's seqs are not gap-free");
                acked = true;
            }
        }
        self.last_seq += 1;
    }
}

// ---------------------------------------------------------------- one run

/// What the reply to a request of the fuzzed connection must be.
#[derive(Debug, Clone)]
enum Expect {
    Pong(u64),
    /// A second Hello: an `invalid_argument` Error.
    Refused,
    /// Register / Login (a token comes back) or Authenticate (none).
    Auth { with_token: bool },
    /// `Ok` or an Error (Logout, RevokeDevice, AddMembers, RemoveMember, LeaveChat).
    Done,
    Devices,
    ChatInfo { chat: Option<u64> },
    Chats { after: u64, limit: usize },
    User,
    Users(Vec<u64>),
    /// `reused`: the client_msg_id was already acked in another chat before this was sent, so
    /// the engine must refuse it (`invalid_argument`).
    Ack { chat: u64, cmid: String, content: String, reused: bool },
    SyncDone,
    History { chat: u64, from: u64, forward: bool, limit: usize },
}

/// What the reply to a request of the peer's connection must be.
#[derive(Debug, Clone)]
enum PeerExpect {
    Ack { chat: u64, cmid: String },
    ChatInfo,
    Done,
}

#[derive(Debug, Clone)]
struct Ack {
    rid: u64,
    chat: u64,
    cmid: String,
    message_id: u64,
    seq: u64,
    time_ms: i64,
}

/// A message event's identity, from an ack or from the event itself.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MessageFacts {
    message_id: u64,
    cmid: String,
    /// None when unknown (an ack for a client_msg_id sent more than once: a retry gets the
    /// original's ack whatever content it carried).
    content: Option<String>,
    sender: u64,
    device: u64,
}

struct Run<'p> {
    bound: Duration,
    probe: &'p Probe,
    me: Account,
    peer: Account,
    throwaway: Option<Account>,
    a: Conn,
    b: Conn,

    next_rid: u64,
    pending: HashMap<u64, Expect>,
    /// Request ids of frames the harness cannot interpret (raw, corrupted, overridden ids): any
    /// number of replies of any type.
    wild: HashSet<u64>,
    override_rid: Option<u64>,
    corrupt: Option<(u16, u8)>,
    /// Something was sent that may fail verification (or had request id 0).
    violation_sent: bool,
    /// A Logout or RevokeDevice was sent (possibly inside a raw frame).
    revoke_sent: bool,
    /// A frame the harness cannot interpret was sent.
    wild_sent: bool,
    /// A Sync the harness cannot interpret was sent (its cursors are unknown).
    wild_sync: bool,
    /// The input may have changed the fuzzed user's memberships (leave, remove, raw frames).
    membership_changed: bool,
    authed: Option<(u64, u64)>,
    closed: Option<ErrorCode>,
    ended: bool,

    /// Chats learned this run, in order, and the highest seq seen per chat.
    chats: Vec<u64>,
    seen_seq: HashMap<u64, u64>,
    /// Syncs sent: request id and cursors (last entry per chat wins, as in the engine).
    syncs: HashMap<u64, HashMap<u64, u64>>,
    synced_by: Option<u64>,
    delivered: HashMap<u64, u64>,
    deliveries: u64,
    acks: Vec<Ack>,
    /// (chat, client_msg_id) -> how many sends carried it.
    sends: HashMap<(u64, String), u32>,
    /// client_msg_id -> the chats it was acked in.
    acked: HashMap<String, HashSet<u64>>,
    /// Every event seen (delivery, history, chat list): (chat, seq) -> hash of its bytes.
    events: HashMap<(u64, u64), u64>,
    /// Message facts by (chat, seq), from acks and from events; the two must agree.
    facts: HashMap<(u64, u64), MessageFacts>,

    b_next_rid: u64,
    b_pending: HashMap<u64, PeerExpect>,

    /// A Register/Login/Authenticate went out on the fuzzed connection (it may be signed in as
    /// anyone, the peer included, e.g. with the peer's token or by logging in as the peer).
    auth_sent: bool,
    /// Logout/RevokeDevice frames sent while the fuzzed connection was or may have been signed
    /// in: what each one revokes.
    revokes: Vec<Revoke>,
    /// The engine sent the peer's connection a `Close` (`revoked`: see `peer_close_explained`).
    b_closed: bool,
    /// The peer's connection ended (after its `Close`).
    b_ended: bool,
}

/// What a Logout/RevokeDevice the fuzzed connection sent revokes.
#[derive(Debug, Clone, Copy)]
enum Revoke {
    /// Logout: the device the connection is signed in as (known once `Authenticated` arrived).
    Current,
    Device(u64),
}

impl<'p> Run<'p> {
    async fn setup(addr: SocketAddr, bound: Duration, n: u64, auth: AuthMode, ops: &[Op], probe: &'p Probe) -> Run<'p> {
        let me_name = format!("fza{n}");
        let peer_name = format!("fzb{n}");
        let needs_throwaway = ops.iter().any(|o| {
            matches!(o, Op::RevokeDevice(DeviceRef::Throwaway) | Op::Authenticate(Token::Throwaway))
        });
        let open_me = async {
            match auth {
                AuthMode::Register => {
                    let mut c = Conn::open(addr, bound).await;
                    assert!(c.send(encode::hello(1, PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, 0, "magpie-fuzz")).await);
                    let f = c.call(encode::register(2, &me_name, PASSWORD, "fuzz"), 2, bound, "register", |_| {}).await;
                    let a = authenticated(&f, "register");
                    let authed = Some((a.user_id, a.device_id));
                    (c, a, authed)
                }
                AuthMode::Token | AuthMode::None => {
                    let (setup, a) = signed_in(addr, bound, &me_name, false).await;
                    setup.close().await;
                    let mut c = Conn::open(addr, bound).await;
                    let f = c.call(encode::hello(1, PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, 0, "magpie-fuzz"), 1, bound, "hello", |_| {}).await;
                    let fr = verify::server_frame(&f).unwrap();
                    assert!(fr.body_as_welcome().is_some(), "hello answered with {}", describe(&fr));
                    let mut authed = None;
                    if auth == AuthMode::Token {
                        let f = c.call(encode::authenticate(2, &a.token), 2, bound, "authenticate", |_| {}).await;
                        let b = authenticated(&f, "authenticate");
                        assert_eq!((b.user_id, b.device_id), (a.user_id, a.device_id));
                        assert!(b.token.is_empty(), "Authenticate must not hand out a token");
                        authed = Some((a.user_id, a.device_id));
                    }
                    (c, a, authed)
                }
            }
        };
        let open_peer = signed_in(addr, bound, &peer_name, false);
        let ((a, me, authed), (b, peer)) = tokio::join!(open_me, open_peer);
        let throwaway = if needs_throwaway {
            let (c, t) = signed_in(addr, bound, &me_name, true).await;
            c.close().await;
            assert_eq!(t.user_id, me.user_id);
            Some(t)
        } else {
            None
        };
        Run {
            bound,
            probe,
            me,
            peer,
            throwaway,
            a,
            b,
            next_rid: FIRST_RID,
            pending: HashMap::new(),
            wild: HashSet::new(),
            override_rid: None,
            corrupt: None,
            violation_sent: false,
            revoke_sent: false,
            wild_sent: false,
            wild_sync: false,
            membership_changed: false,
            authed,
            closed: None,
            ended: false,
            chats: Vec::new(),
            seen_seq: HashMap::new(),
            syncs: HashMap::new(),
            synced_by: None,
            delivered: HashMap::new(),
            deliveries: 0,
            acks: Vec::new(),
            acked: HashMap::new(),
            sends: HashMap::new(),
            events: HashMap::new(),
            facts: HashMap::new(),
            b_next_rid: 100,
            b_pending: HashMap::new(),
            auth_sent: false,
            revokes: Vec::new(),
            b_closed: false,
            b_ended: false,
        }
    }

    // ---------------------------------------------------------------- resolving symbolic ids

    fn newest(&self) -> u64 {
        self.chats.iter().copied().max().unwrap_or(self.me.user_id)
    }

    fn chat(&self, c: ChatRef) -> u64 {
        match c {
            ChatRef::Known(i) if !self.chats.is_empty() => self.chats[i as usize % self.chats.len()],
            ChatRef::Known(_) => self.newest(),
            ChatRef::Newest => self.chats.last().copied().unwrap_or_else(|| self.newest()),
            ChatRef::Near(d) => self.newest().wrapping_add_signed(d as i64),
            ChatRef::Probe => self.probe.chat,
            ChatRef::Raw(v) => v,
            ChatRef::Zero => 0,
        }
    }

    fn user(&self, u: UserRef) -> u64 {
        match u {
            UserRef::Me => self.me.user_id,
            UserRef::Peer => self.peer.user_id,
            UserRef::Probe => self.probe.account.user_id,
            UserRef::Near(d) => self.me.user_id.wrapping_add_signed(d as i64),
            UserRef::Raw(v) => v,
            UserRef::Zero => 0,
        }
    }

    fn users(&self, us: &[UserRef]) -> Vec<u64> {
        if us.len() == 255 {
            // The over-the-limit case: 1,001 ids.
            return vec![self.me.user_id; 1001];
        }
        us.iter().map(|&u| self.user(u)).collect()
    }

    fn device(&self, d: DeviceRef) -> u64 {
        match d {
            DeviceRef::Mine => self.authed.map(|a| a.1).unwrap_or(self.me.device_id),
            DeviceRef::Throwaway => self.throwaway.as_ref().map(|t| t.device_id).unwrap_or(0),
            DeviceRef::Peer => self.peer.device_id,
            DeviceRef::Probe => self.probe.account.device_id,
            DeviceRef::Near(v) => self.me.device_id.wrapping_add_signed(v as i64),
            DeviceRef::Raw(v) => v,
        }
    }

    fn seq(&self, chat: u64, s: SeqRef) -> u64 {
        match s {
            SeqRef::Zero => 0,
            SeqRef::Small(v) => v as u64,
            SeqRef::Seen(d) => self.seen_seq.get(&chat).copied().unwrap_or(0).saturating_add_signed(d as i64),
            SeqRef::Raw(v) => v,
        }
    }

    fn name(&self, n: &Name) -> String {
        match n {
            Name::Me => self.me.name.clone(),
            Name::Peer => self.peer.name.clone(),
            Name::Probe => self.probe.account.name.clone(),
            Name::Fixed(v) => format!("fzz{v}"),
            Name::Raw(s) => s.clone(),
        }
    }

    fn learn_chat(&mut self, chat: u64) {
        if chat != 0 && chat != self.probe.chat && !self.chats.contains(&chat) {
            self.chats.push(chat);
        }
    }

    fn uses_known_chats(op: &Op) -> bool {
        let known = |c: &ChatRef| matches!(c, ChatRef::Known(_) | ChatRef::Newest | ChatRef::Near(_));
        match op {
            Op::AddMembers { chat, .. }
            | Op::RemoveMember { chat, .. }
            | Op::LeaveChat(chat)
            | Op::GetChat(chat)
            | Op::ListChats { after: chat, .. }
            | Op::Send { chat, .. }
            | Op::History { chat, .. }
            | Op::PeerSend { chat, .. }
            | Op::PeerAdd { chat, .. }
            | Op::PeerRemove { chat, .. } => known(chat),
            Op::Sync(cursors) => cursors.iter().any(|(c, _)| known(c)),
            _ => false,
        }
    }

    // ---------------------------------------------------------------- sending

    async fn ops(&mut self, ops: &[Op]) {
        for op in ops {
            if self.ended {
                break;
            }
            self.pump();
            // Resolve chat references against every chat being created: wait for those replies.
            if Self::uses_known_chats(op) {
                self.settle_where(|r| {
                    r.pending.values().any(|e| matches!(e, Expect::ChatInfo { chat: None }))
                        || r.b_pending.values().any(|e| matches!(e, PeerExpect::ChatInfo))
                })
                .await;
            }
            self.op(op).await;
        }
    }

    async fn op(&mut self, op: &Op) {
        match op {
            Op::Ping(nonce) => self.request(|r| encode::ping(r, *nonce), Expect::Pong(*nonce)).await,
            Op::Hello { version, min_version, features } => {
                self.request(|r| encode::hello(r, *version, *min_version, *features, "again"), Expect::Refused).await
            }
            Op::Register { name, password, device } => {
                let (name, pw) = (self.name(name), self.password(password));
                self.request(|r| encode::register(r, &name, &pw, device), Expect::Auth { with_token: true }).await
            }
            Op::Login { name, password, device } => {
                let (name, pw) = (self.name(name), self.password(password));
                self.request(|r| encode::login(r, &name, &pw, device), Expect::Auth { with_token: true }).await
            }
            Op::Authenticate(t) => {
                let token = match t {
                    Token::Mine => self.me.token.clone(),
                    Token::Throwaway => self.throwaway.as_ref().map(|t| t.token.clone()).unwrap_or_default(),
                    Token::Peer => self.peer.token.clone(),
                    Token::Raw(s) => s.clone(),
                };
                self.request(|r| encode::authenticate(r, &token), Expect::Auth { with_token: false }).await
            }
            Op::Logout => {
                self.revoke_sent = true;
                self.membership_changed = true;
                self.request(encode::logout, Expect::Done).await
            }
            Op::ListDevices => self.request(encode::list_devices, Expect::Devices).await,
            Op::RevokeDevice(d) => {
                self.revoke_sent = true;
                self.membership_changed = true;
                let d = self.device(*d);
                self.request(|r| encode::revoke_device(r, d), Expect::Done).await
            }
            Op::LookupUser(n) => {
                let n = self.name(n);
                self.request(|r| encode::lookup_user(r, &n), Expect::User).await
            }
            Op::GetUsers(us) => {
                let ids = self.users(us);
                self.request(|r| encode::get_users(r, &ids), Expect::Users(ids.clone())).await
            }
            Op::CreateDirect { peer, by_name } => {
                let (id, name) = match (*by_name, *peer) {
                    (false, p) => (self.user(p), String::new()),
                    (true, UserRef::Me) => (0, self.me.name.clone()),
                    (true, UserRef::Peer) => (0, self.peer.name.clone()),
                    (true, UserRef::Probe) => (0, self.probe.account.name.clone()),
                    (true, p) => (0, format!("fza{}", self.user(p))),
                };
                self.request(|r| encode::create_direct(r, id, &name), Expect::ChatInfo { chat: None }).await
            }
            Op::CreateGroup { title, members } => {
                let ids = self.users(members);
                self.request(|r| encode::create_group(r, title, &ids), Expect::ChatInfo { chat: None }).await
            }
            Op::AddMembers { chat, users } => {
                let (chat, ids) = (self.chat(*chat), self.users(users));
                self.request(|r| encode::add_members(r, chat, &ids), Expect::Done).await
            }
            Op::RemoveMember { chat, user } => {
                self.membership_changed = true;
                let (chat, user) = (self.chat(*chat), self.user(*user));
                self.request(|r| encode::remove_member(r, chat, user), Expect::Done).await
            }
            Op::LeaveChat(chat) => {
                self.membership_changed = true;
                let chat = self.chat(*chat);
                self.request(|r| encode::leave_chat(r, chat), Expect::Done).await
            }
            Op::GetChat(chat) => {
                let chat = self.chat(*chat);
                self.request(|r| encode::get_chat(r, chat), Expect::ChatInfo { chat: Some(chat) }).await
            }
            Op::ListChats { after, limit } => {
                let after = match after {
                    ChatRef::Zero => 0,
                    c => self.chat(*c),
                };
                let page = match *limit {
                    0 => 100,
                    l => (l as usize).min(500),
                };
                self.request(|r| encode::list_chats_page(r, after, *limit), Expect::Chats { after, limit: page }).await
            }
            Op::Send { chat, cmid, content } => {
                let chat = self.chat(*chat);
                let cmid = match cmid {
                    Cmid::Fixed(v) => format!("m{v}"),
                    Cmid::Raw(s) => s.clone(),
                    Cmid::Long(n) => "k".repeat(*n as usize),
                };
                let content = match content {
                    Content::Text(s) => s.clone(),
                    Content::Empty => String::new(),
                    Content::Repeat { multibyte, len } => {
                        let bytes = if len & 0x8000 != 0 { MAX_CONTENT_BYTES - 2 + (len & 3) as usize } else { *len as usize };
                        if *multibyte {
                            let mut s = "é".repeat(bytes / 2);
                            if bytes % 2 == 1 {
                                s.push('x');
                            }
                            s
                        } else {
                            "x".repeat(bytes)
                        }
                    }
                };
                *self.sends.entry((chat, cmid.clone())).or_default() += 1;
                let reused = self.acked.get(&cmid).is_some_and(|chats| !chats.contains(&chat));
                let expect = Expect::Ack { chat, cmid: cmid.clone(), content: content.clone(), reused };
                self.request(|r| encode::send_message(r, chat, &cmid, &content), expect).await
            }
            Op::Sync(cursors) => {
                let cursors: Vec<(u64, u64)> = cursors
                    .iter()
                    .map(|&(c, s)| {
                        let chat = self.chat(c);
                        (chat, self.seq(chat, s))
                    })
                    .collect();
                let rid = self.peek_rid();
                if let Some(rid) = rid {
                    self.syncs.insert(rid, cursors.iter().copied().collect());
                }
                self.request(|r| encode::sync(r, &cursors), Expect::SyncDone).await
            }
            Op::History { chat, from, forward, limit } => {
                let chat = self.chat(*chat);
                let from = self.seq(chat, *from);
                let dir = if *forward { fb::Direction::Forward } else { fb::Direction::Backward };
                let page = match *limit {
                    0 => 50,
                    l => (l as usize).min(500),
                };
                let expect = Expect::History { chat, from, forward: *forward, limit: page };
                self.request(|r| encode::history(r, chat, from, dir, *limit), expect).await
            }
            Op::PeerSend { chat, count } => {
                let chat = self.chat(*chat);
                for _ in 0..*count {
                    let rid = self.b_next_rid;
                    let cmid = format!("b{rid}");
                    self.peer_request(encode::send_message(rid, chat, &cmid, "from the peer"), PeerExpect::Ack { chat, cmid }).await;
                }
            }
            Op::PeerCreateGroup { with_me } => {
                let members = if *with_me { vec![self.me.user_id] } else { vec![] };
                let rid = self.b_next_rid;
                self.peer_request(encode::create_group(rid, "peer's group", &members), PeerExpect::ChatInfo).await
            }
            Op::PeerAdd { chat, user } => {
                let (chat, user) = (self.chat(*chat), self.user(*user));
                let rid = self.b_next_rid;
                self.peer_request(encode::add_members(rid, chat, &[user]), PeerExpect::Done).await
            }
            Op::PeerRemove { chat, user } => {
                self.membership_changed = true;
                let (chat, user) = (self.chat(*chat), self.user(*user));
                let rid = self.b_next_rid;
                self.peer_request(encode::remove_member(rid, chat, user), PeerExpect::Done).await
            }
            Op::Settle => self.settle().await,
            Op::Raw(bytes) if self.closed.is_none() => {
                let b = Bytes::from(bytes.clone());
                self.classify_wild(&b);
                self.send_a(b).await;
            }
            Op::Raw(_) => {}
            Op::Corrupt { at, xor } => self.corrupt = Some((*at, *xor)),
            Op::RequestId(r) => self.override_rid = Some(*r),
            Op::PingBurst(n) => {
                for i in 0..*n {
                    self.request(|r| encode::ping(r, i as u64), Expect::Pong(i as u64)).await;
                }
            }
            Op::Pause(ms) => {
                tokio::time::sleep(Duration::from_millis(*ms as u64)).await;
            }
        }
    }

    fn password(&self, p: &Password) -> String {
        match p {
            Password::Correct => PASSWORD.to_string(),
            Password::Raw(s) => s.clone(),
        }
    }

    /// The request id the next tracked request will get (None if the next frame is wild).
    fn peek_rid(&self) -> Option<u64> {
        if self.override_rid.is_some() || self.corrupt.is_some() {
            None
        } else {
            let mut r = self.next_rid;
            while self.wild.contains(&r) {
                r += 1;
            }
            Some(r)
        }
    }

    /// Sends a request built by `build(request_id)` on the fuzzed connection, tracked unless a
    /// preceding `RequestId` or `Corrupt` op makes it wild.
    async fn request(&mut self, build: impl FnOnce(u64) -> Bytes, expect: Expect) {
        self.pump();
        if self.ended || self.closed.is_some() {
            return;
        }
        if self.pending.len() + 1 >= MAX_OUTSTANDING {
            self.settle().await;
            if self.ended {
                return;
            }
        }
        if let Some(r) = self.override_rid.take() {
            let mut frame = build(r).to_vec();
            if let Some((at, xor)) = self.corrupt.take() {
                let i = at as usize % frame.len();
                frame[i] ^= xor;
            }
            let frame = Bytes::from(frame);
            self.classify_wild(&frame);
            self.send_a(frame).await;
            return;
        }
        while self.wild.contains(&self.next_rid) {
            self.next_rid += 1;
        }
        let rid = self.next_rid;
        self.next_rid += 1;
        let frame = build(rid);
        if let Some((at, xor)) = self.corrupt.take() {
            let mut frame = frame.to_vec();
            let i = at as usize % frame.len();
            frame[i] ^= xor;
            self.syncs.remove(&rid);
            let frame = Bytes::from(frame);
            self.classify_wild(&frame);
            self.send_a(frame).await;
            return;
        }
        self.pending.insert(rid, expect);
        self.send_a(frame).await;
    }

    /// Notes what a frame the harness did not build (or altered) may do.
    fn classify_wild(&mut self, frame: &[u8]) {
        self.wild_sent = true;
        self.membership_changed = true;
        match verify::client_frame(frame) {
            Ok(f) if f.request_id() != 0 => {
                let rid = f.request_id();
                self.wild.insert(rid);
                self.pending.remove(&rid);
                self.syncs.remove(&rid);
                match f.body_type() {
                    fb::Body::Logout | fb::Body::RevokeDevice => self.revoke_sent = true,
                    fb::Body::Sync => {
                        // Its cursors are unknown to the delivery checks: treat them as "anything".
                        self.syncs.insert(rid, HashMap::new());
                        self.wild_sync = true;
                    }
                    _ => {}
                }
            }
            _ => self.violation_sent = true,
        }
    }

    async fn send_a(&mut self, frame: Bytes) {
        self.note_sent(&frame);
        if !self.a.send(frame).await {
            // The server closed; the reader reports how (a Close must have come first).
            self.drain_until_end().await;
        }
    }

    /// Notes what a frame about to go out on the fuzzed connection may do to *other*
    /// connections: sign it in (as whom is only known from the reply), revoke a device.
    fn note_sent(&mut self, frame: &[u8]) {
        let Ok(f) = verify::client_frame(frame) else { return };
        let signed_in = self.authed.is_some() || self.auth_sent;
        match f.body_type() {
            fb::Body::Register | fb::Body::Login | fb::Body::Authenticate => self.auth_sent = true,
            fb::Body::Logout if signed_in => self.revokes.push(Revoke::Current),
            fb::Body::RevokeDevice if signed_in => {
                let d = f.body_as_revoke_device().map(|r| r.device_id()).unwrap_or(0);
                self.revokes.push(Revoke::Device(d));
            }
            _ => {}
        }
    }

    /// The engine may close the peer's connection only when the fuzzed connection is signed in
    /// as the peer's user and revoked the peer's very device: a Logout on the peer's device (signed
    /// in with the peer's token), or RevokeDevice of it (e.g. after logging in as the peer). A
    /// revocation can never reach another user's device (`device_not_found`).
    fn peer_close_explained(&self) -> bool {
        let Some((user, device)) = self.authed else { return false };
        user == self.peer.user_id
            && self.revokes.iter().any(|r| match *r {
                Revoke::Current => device == self.peer.device_id,
                Revoke::Device(d) => d == self.peer.device_id,
            })
    }

    async fn peer_request(&mut self, frame: Bytes, expect: PeerExpect) {
        self.pump();
        if self.b_closed {
            // Revoked by the fuzzed connection (checked in `on_b`/`finish`): nothing more to ask.
            return;
        }
        if self.b_pending.len() + 1 >= MAX_OUTSTANDING {
            self.settle().await;
            if self.b_closed {
                return;
            }
        }
        let rid = self.b_next_rid;
        self.b_next_rid += 1;
        self.b_pending.insert(rid, expect);
        if !self.b.send(frame).await {
            // The engine closed it; its reader reports how (a Close must have come first).
            self.drain_b_until_end().await;
        }
    }

    async fn drain_b_until_end(&mut self) {
        while !self.b_ended {
            let bound = self.bound;
            match tokio::time::timeout(bound, self.b.rx.recv()).await {
                Ok(i) => self.on_b(i.unwrap_or(Incoming::End("reader gone".into()))),
                Err(_) => panic!("peer: the connection was closed but did not end within {bound:?}"),
            }
        }
    }

    // ---------------------------------------------------------------- receiving

    /// Processes every frame already received, without waiting.
    fn pump(&mut self) {
        while let Ok(i) = self.a.rx.try_recv() {
            self.on_a(i);
        }
        while let Ok(i) = self.b.rx.try_recv() {
            self.on_b(i);
        }
    }

    /// Waits for the next frame on either connection (panics after the bound).
    async fn wait_one(&mut self, what: &str) {
        let bound = self.bound;
        let a_open = !self.ended;
        let b_open = !self.b_ended;
        tokio::select! {
            i = self.a.rx.recv(), if a_open => self.on_a(i.unwrap_or(Incoming::End("reader gone".into()))),
            i = self.b.rx.recv(), if b_open => self.on_b(i.unwrap_or(Incoming::End("reader gone".into()))),
            _ = tokio::time::sleep(bound) => panic!(
                "no frame within {bound:?} while waiting for {what}; unanswered: {:?}; peer unanswered: {:?}",
                self.pending, self.b_pending
            ),
        }
    }

    async fn settle_where(&mut self, mut busy: impl FnMut(&Self) -> bool) {
        self.pump();
        while busy(self) {
            self.wait_one("replies").await;
        }
    }

    /// Waits until every tracked request on both connections is answered (or the fuzzed
    /// connection has ended, which drops its outstanding requests).
    async fn settle(&mut self) {
        self.settle_where(|r| !r.pending.is_empty() || !r.b_pending.is_empty()).await;
    }

    async fn drain_until_end(&mut self) {
        while !self.ended {
            let bound = self.bound;
            match tokio::time::timeout(bound, self.a.rx.recv()).await {
                Ok(i) => self.on_a(i.unwrap_or(Incoming::End("reader gone".into()))),
                Err(_) => panic!("the send failed but the connection did not end within {bound:?}"),
            }
        }
    }

    fn on_a(&mut self, i: Incoming) {
        let f = match i {
            Incoming::Frame(f) => f,
            Incoming::End(why) => {
                if !self.ended {
                    assert!(self.closed.is_some(), "the engine dropped the connection without a Close frame: {why}");
                    self.ended = true;
                    self.pending.clear();
                }
                return;
            }
        };
        assert!(self.closed.is_none(), "a frame after Close");
        let fr = verify::server_frame(&f).unwrap_or_else(|c| panic!("server frame fails verification: {c:?}"));
        let rid = fr.request_id();
        if let Some(c) = fr.body_as_close() {
            assert_eq!(rid, 0, "Close with a request id");
            let code = ErrorCode::from_u16(c.code()).unwrap_or_else(|| panic!("Close with an unknown code {}", c.code()));
            assert!(!c.reason().unwrap_or("").is_empty(), "Close without a reason");
            let explained = match code {
                ErrorCode::MalformedFrame | ErrorCode::InvalidUtf8 | ErrorCode::UnknownFrame | ErrorCode::FrameTooLarge => {
                    self.violation_sent
                }
                ErrorCode::Revoked => self.revoke_sent,
                _ => false,
            };
            assert!(explained, "Close {code} ({:?}) that the input does not explain", c.reason());
            self.closed = Some(code);
            self.pending.clear();
            return;
        }
        if let Some(d) = fr.body_as_deliver() {
            assert_eq!(rid, 0, "Deliver with a request id");
            let bytes = d.event().expect("Deliver without an event");
            self.deliver(bytes.bytes());
            return;
        }
        // Receipt, presence and typing pushes (PROTOCOL.md §6.15) and the pushes of one's own
        // state (a chat's state, a subscription, messages hidden for oneself: §6.10, §6.13) answer
        // nothing and change no chat's log: a raw MarkReceipts, WatchPresence, SetTyping,
        // SetChatState, JoinChat or DeleteMessages (or the peer's) may cause them.
        if rid == 0
            && matches!(
                fr.body_type(),
                fb::Body::ReceiptChanged
                    | fb::Body::ReceiptCounts
                    | fb::Body::PresenceChanged
                    | fb::Body::TypingChanged
                    | fb::Body::Privacy
                    | fb::Body::ChatStateChanged
                    | fb::Body::MembershipChanged
                    | fb::Body::MessagesHidden
            )
        {
            return;
        }
        assert_ne!(rid, 0, "a reply with request id 0: {}", describe(&fr));
        if self.wild.contains(&rid) {
            self.pending.remove(&rid);
            if let Some(done) = fr.body_as_sync_done() {
                self.sync_done(rid, done);
            }
            if let Some(e) = fr.body_as_error() {
                check_error(e, "reply to a raw frame");
                self.sync_refused(rid);
            }
            self.reply_side_effects(&fr);
            return;
        }
        let Some(expect) = self.pending.remove(&rid) else {
            panic!("a reply to request {rid}, which is not outstanding (lost or duplicate): {}", describe(&fr))
        };
        self.reply(rid, expect, &fr);
    }

    /// What any verified reply teaches the harness, whoever asked.
    fn reply_side_effects(&mut self, fr: &fb::Frame<'_>) {
        if let Some(a) = fr.body_as_authenticated() {
            assert!(self.authed.is_none(), "authenticated twice on one connection");
            self.authed = Some((a.user_id(), a.device_id()));
        }
        if let Some(c) = fr.body_as_chat_info() {
            self.learn_chat(c.chat_id());
        }
    }

    fn reply(&mut self, rid: u64, expect: Expect, fr: &fb::Frame<'_>) {
        let what = format!("reply to {rid} ({expect:?})");
        if let Some(e) = fr.body_as_error() {
            let code = check_error(e, &what);
            match &expect {
                Expect::Pong(_) => panic!("{what}: Ping refused with {code}"),
                Expect::Refused => assert_eq!(code, ErrorCode::InvalidArgument, "{what}"),
                Expect::SyncDone => self.sync_refused(rid),
                Expect::Ack { reused: true, .. } => assert_eq!(code, ErrorCode::InvalidArgument, "{what}"),
                _ => {}
            }
            return;
        }
        match expect {
            Expect::Pong(nonce) => {
                let p = fr.body_as_pong().unwrap_or_else(|| panic!("{what}: got {}", describe(fr)));
                assert_eq!(p.nonce(), nonce, "{what}: wrong nonce");
            }
            Expect::Refused => panic!("{what}: a second Hello was answered with {}", describe(fr)),
            Expect::Auth { with_token } => {
                let a = fr.body_as_authenticated().unwrap_or_else(|| panic!("{what}: got {}", describe(fr)));
                assert!(a.user_id() != 0 && a.device_id() != 0, "{what}: zero ids");
                let token = a.token().unwrap_or("");
                if with_token {
                    assert!(token.len() == 64 && token.bytes().all(|c| c.is_ascii_hexdigit()), "{what}: bad token {token:?}");
                } else {
                    assert!(token.is_empty(), "{what}: Authenticate handed out a token");
                }
                self.reply_side_effects(fr);
            }
            Expect::Done => assert!(fr.body_as_ok().is_some(), "{what}: got {}", describe(fr)),
            Expect::Devices => {
                let l = fr.body_as_device_list().unwrap_or_else(|| panic!("{what}: got {}", describe(fr)));
                let current: Vec<u64> = l.devices().into_iter().flatten().filter(|d| d.current()).map(|d| d.device_id()).collect();
                let mine = self.authed.expect("a DeviceList before Authenticated").1;
                if self.revoke_sent {
                    // After revoking its own device the connection is served until the
                    // revocation reaches its shard; its device is no longer listed.
                    assert!(current.iter().all(|&d| d == mine), "{what}: another device is current: {current:?}");
                } else {
                    assert_eq!(current, vec![mine], "{what}: the current device is not exactly ours");
                }
            }
            Expect::ChatInfo { chat } => {
                let c = fr.body_as_chat_info().unwrap_or_else(|| panic!("{what}: got {}", describe(fr)));
                assert_ne!(c.chat_id(), 0, "{what}: chat id 0");
                if let Some(chat) = chat {
                    assert_eq!(c.chat_id(), chat, "{what}: another chat");
                }
                let me = self.authed.expect("ChatInfo before Authenticated").0;
                assert!(c.members().into_iter().flatten().any(|m| m.user_id() == me), "{what}: we are not among the members");
                self.reply_side_effects(fr);
            }
            Expect::Chats { after, limit } => {
                let l = fr.body_as_chat_list().unwrap_or_else(|| panic!("{what}: got {}", describe(fr)));
                let mut prev = after;
                let mut n = 0;
                for s in l.chats().into_iter().flatten() {
                    assert!(s.chat_id() > prev, "{what}: chat ids not ascending after the cursor");
                    prev = s.chat_id();
                    n += 1;
                    self.learn_chat(s.chat_id());
                    if let Some(m) = s.last_message() {
                        let e = self.event(m.bytes(), "a chat list's last message");
                        assert_eq!(e, (s.chat_id(), e.1), "{what}: last message of another chat");
                    }
                }
                assert!(n <= limit, "{what}: {n} chats, over the limit {limit}");
            }
            Expect::User => {
                let u = fr.body_as_user_info().unwrap_or_else(|| panic!("{what}: got {}", describe(fr)));
                assert_ne!(u.user_id(), 0, "{what}");
            }
            Expect::Users(ids) => {
                let l = fr.body_as_user_list().unwrap_or_else(|| panic!("{what}: got {}", describe(fr)));
                for u in l.users().into_iter().flatten() {
                    assert!(ids.contains(&u.user_id()), "{what}: a user that was not asked for");
                }
            }
            Expect::Ack { chat, cmid, content, reused } => {
                let a = fr.body_as_send_ack().unwrap_or_else(|| panic!("{what}: got {}", describe(fr)));
                assert!(!reused, "{what}: a client_msg_id already acked in another chat was accepted again");
                assert_eq!((a.chat_id(), a.client_msg_id().unwrap_or("")), (chat, cmid.as_str()), "{what}: ack for another send");
                assert!(a.seq() >= 1 && a.message_id() != 0, "{what}: seq or message id 0");
                let (user, device) = self.authed.expect("a SendAck before Authenticated");
                let once = self.sends.get(&(chat, cmid.clone())) == Some(&1);
                let content = once.then(|| content.clone());
                let facts = MessageFacts { message_id: a.message_id(), cmid: cmid.clone(), content, sender: user, device };
                self.fact(chat, a.seq(), facts);
                self.acked.entry(cmid.clone()).or_default().insert(chat);
                self.acks.push(Ack { rid, chat, cmid, message_id: a.message_id(), seq: a.seq(), time_ms: a.time_ms() });
            }
            Expect::SyncDone => {
                let d = fr.body_as_sync_done().unwrap_or_else(|| panic!("{what}: got {}", describe(fr)));
                self.sync_done(rid, d);
            }
            Expect::History { chat, from, forward, limit } => {
                let p = fr.body_as_history_page().unwrap_or_else(|| panic!("{what}: got {}", describe(fr)));
                assert_eq!(p.chat_id(), chat, "{what}: page of another chat");
                let mut seqs = Vec::new();
                for blob in p.events().into_iter().flatten() {
                    let bytes = blob.event().unwrap_or_else(|| panic!("{what}: an EventBlob without an event"));
                    let (c, s) = self.event(bytes.bytes(), "a history page's event");
                    assert_eq!(c, chat, "{what}: an event of another chat");
                    seqs.push(s);
                }
                assert!(seqs.len() <= limit, "{what}: {} events, over the limit", seqs.len());
                assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{what}: seqs not ascending and consecutive: {seqs:?}");
                if let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) {
                    if forward {
                        assert!(first > from, "{what}: forward page starts at {first}");
                    } else if from != 0 {
                        assert!(last < from, "{what}: backward page ends at {last}");
                    }
                }
            }
        }
    }

    fn sync_refused(&mut self, rid: u64) {
        self.syncs.remove(&rid);
    }

    fn sync_done(&mut self, rid: u64, d: fb::SyncDone<'_>) {
        assert!(self.synced_by.is_none(), "two SyncDone on one connection");
        assert!(d.events() <= self.deliveries, "SyncDone counts {} events but {} were delivered", d.events(), self.deliveries);
        self.synced_by = Some(rid);
    }

    /// Verifies a nested event and checks it against everything seen before; returns (chat, seq).
    fn event(&mut self, bytes: &[u8], what: &str) -> (u64, u64) {
        let e = verify::event(bytes).unwrap_or_else(|c| panic!("{what} fails verification: {c:?}"));
        let (chat, seq) = (e.chat_id(), e.seq());
        assert!(seq >= 1, "{what}: seq 0");
        let h = hash(bytes);
        // Deleting a message for everyone rewrites its stored event (a tombstone) and the quotes
        // of replies to it (PROTOCOL §6.13); only a frame the harness cannot interpret can do it.
        let erased = e.body_as_message_body().is_some_and(|m| m.deleted() || m.reply_to().is_some_and(|r| r.deleted()));
        match self.events.get(&(chat, seq)) {
            Some(&before) if before != h && self.wild_sent && erased => {
                self.events.insert((chat, seq), h);
            }
            Some(&before) => assert_eq!(before, h, "{what}: chat {chat} seq {seq} has two different encodings"),
            None => {
                self.events.insert((chat, seq), h);
            }
        }
        if let Some(m) = e.body_as_message_body().filter(|m| !m.deleted()) {
            let facts = MessageFacts {
                message_id: m.message_id(),
                cmid: m.client_msg_id().unwrap_or("").to_string(),
                content: Some(m.content().unwrap_or("").to_string()),
                sender: e.sender_id(),
                device: e.sender_device_id(),
            };
            self.fact(chat, seq, facts);
        }
        self.learn_chat(chat);
        let s = self.seen_seq.entry(chat).or_default();
        *s = (*s).max(seq);
        (chat, seq)
    }

    fn fact(&mut self, chat: u64, seq: u64, facts: MessageFacts) {
        match self.facts.get_mut(&(chat, seq)) {
            Some(before) => {
                let same = before.message_id == facts.message_id
                    && before.cmid == facts.cmid
                    && (before.sender, before.device) == (facts.sender, facts.device)
                    && (before.content.is_none() || facts.content.is_none() || before.content == facts.content);
                assert!(same, "chat {chat} seq {seq}: the ack and the event disagree: {before:?} vs {facts:?}");
                if before.content.is_none() {
                    before.content = facts.content;
                }
            }
            None => {
                self.facts.insert((chat, seq), facts);
            }
        }
        let s = self.seen_seq.entry(chat).or_default();
        *s = (*s).max(seq);
    }

    fn deliver(&mut self, bytes: &[u8]) {
        assert!(!self.syncs.is_empty() || self.synced_by.is_some(), "a Deliver before any Sync");
        let (chat, seq) = self.event(bytes, "a delivered event");
        self.deliveries += 1;
        // The event that adds this user is where the chat starts for them: nothing from before
        // it (or, after leaving and coming back, from while they were away) is pushed
        // (PROTOCOL.md §6.9, history visibility).
        let joins = self.authed.is_some_and(|(me, _)| adds(bytes, me));
        match self.delivered.get(&chat) {
            Some(&last) if joins && seq > last => {}
            Some(&last) => assert_eq!(seq, last + 1, "chat {chat}: delivered seq {seq} after {last} (gap, duplicate or reorder)"),
            None if joins => {}
            None => {
                // The first delivery of a chat starts right after the cursor the accepted Sync gave
                // (or at 1): at most cursor + 1 (less when the cursor was past the end of the log).
                if !self.wild_sync {
                    let cursor = self.syncs.values().map(|c| c.get(&chat).copied().unwrap_or(0)).max().unwrap_or(0);
                    assert!(seq <= cursor.saturating_add(1), "chat {chat}: first delivery is seq {seq}, cursor {cursor}");
                }
            }
        }
        self.delivered.insert(chat, seq);
    }

    fn on_b(&mut self, i: Incoming) {
        let f = match i {
            Incoming::Frame(f) => f,
            Incoming::End(why) => {
                assert!(self.b_closed, "the engine dropped the peer's connection without a Close frame: {why}");
                self.b_ended = true;
                return;
            }
        };
        assert!(!self.b_closed, "peer: a frame after Close");
        let fr = verify::server_frame(&f).unwrap_or_else(|c| panic!("peer: server frame fails verification: {c:?}"));
        if let Some(c) = fr.body_as_close() {
            // Only a revocation of the peer's own device by the fuzzed connection, signed in as
            // the peer, explains this (checked here when the fuzzed connection's sign-in is
            // known, else in `finish` once every reply is in).
            let code = ErrorCode::from_u16(c.code());
            assert!(
                code == Some(ErrorCode::Revoked) && fr.request_id() == 0 && !c.reason().unwrap_or("").is_empty(),
                "peer: the engine closed the peer's connection: {}",
                describe(&fr)
            );
            assert!(
                !self.revokes.is_empty() && (self.authed.is_none() || self.peer_close_explained()),
                "peer: the engine closed the peer's connection: {}; the fuzzed connection signed in as {:?} \
                 (peer: user {}, device {}) and revoked {:?}",
                describe(&fr),
                self.authed,
                self.peer.user_id,
                self.peer.device_id,
                self.revokes
            );
            self.b_closed = true;
            self.b_pending.clear();
            return;
        }
        assert!(fr.body_as_deliver().is_none(), "peer: a Deliver on a connection that never synced");
        let rid = fr.request_id();
        let expect = self.b_pending.remove(&rid).unwrap_or_else(|| panic!("peer: reply to {rid}, not outstanding: {}", describe(&fr)));
        if let Some(e) = fr.body_as_error() {
            check_error(e, "peer");
            return;
        }
        match expect {
            PeerExpect::Ack { chat, cmid } => {
                let a = fr.body_as_send_ack().unwrap_or_else(|| panic!("peer: send answered with {}", describe(&fr)));
                assert_eq!((a.chat_id(), a.client_msg_id().unwrap_or("")), (chat, cmid.as_str()), "peer: ack for another send");
                let facts = MessageFacts {
                    message_id: a.message_id(),
                    cmid,
                    content: Some("from the peer".into()),
                    sender: self.peer.user_id,
                    device: self.peer.device_id,
                };
                self.fact(chat, a.seq(), facts);
            }
            PeerExpect::ChatInfo => {
                let c = fr.body_as_chat_info().unwrap_or_else(|| panic!("peer: create answered with {}", describe(&fr)));
                self.learn_chat(c.chat_id());
            }
            PeerExpect::Done => assert!(fr.body_as_ok().is_some(), "peer: got {}", describe(&fr)),
        }
    }

    // ---------------------------------------------------------------- the end of a run

    async fn finish(mut self) {
        self.settle().await;
        if !self.ended && self.closed.is_none() {
            // The connection still answers.
            self.override_rid = None;
            self.corrupt = None;
            self.request(|r| encode::ping(r, 7), Expect::Pong(7)).await;
            self.settle().await;
        }
        if self.closed.is_some() {
            // After a Close the engine ends the connection (bounded).
            self.drain_until_end().await;
        }
        if self.b_closed {
            // Every reply of the fuzzed connection is in, so whom it signed in as is known.
            assert!(
                self.peer_close_explained(),
                "peer: the engine closed the peer's connection (revoked), but the fuzzed connection signed in as \
                 {:?} (peer: user {}, device {}) and revoked {:?}",
                self.authed,
                self.peer.user_id,
                self.peer.device_id,
                self.revokes
            );
            self.drain_b_until_end().await;
        }
        // Delivery completeness: a synced connection gets every message it was acked (above its
        // cursor), when nothing in the input can have taken it out of the chat.
        if let Some(sync) = self.synced_by {
            if !self.membership_changed && !self.ended && self.closed.is_none() {
                let cursors = self.syncs.get(&sync).cloned().unwrap_or_default();
                let want: Vec<(u64, u64)> = self
                    .acks
                    .iter()
                    .filter(|a| a.seq > cursors.get(&a.chat).copied().unwrap_or(0))
                    .map(|a| (a.chat, a.seq))
                    .collect();
                let missing = |r: &Self| want.iter().any(|&(c, s)| r.delivered.get(&c).copied().unwrap_or(0) < s);
                while missing(&self) {
                    self.wait_one("the delivery of acked messages").await;
                }
            }
        }
        self.check_acks();
        let Run { a, b, .. } = self;
        a.close().await;
        b.close().await;
    }

    /// Idempotency (§7.3: the key is (device, client_msg_id); a retry in the same chat gets the
    /// original ack) and order (new messages in one chat: seqs increase in request order).
    fn check_acks(&self) {
        // In request order, not arrival order: a retry answered from the on-disk dedup record
        // can overtake the original's ack, which comes back from the owner shard's commit.
        let mut in_request_order: Vec<&Ack> = self.acks.iter().collect();
        in_request_order.sort_by_key(|a| a.rid);
        let mut first: HashMap<(u64, &str), &Ack> = HashMap::new();
        for a in in_request_order {
            match first.get(&(a.chat, a.cmid.as_str())) {
                Some(f) => assert_eq!(
                    (f.message_id, f.seq, f.time_ms),
                    (a.message_id, a.seq, a.time_ms),
                    "chat {}: client_msg_id {:?} acked twice differently (requests {} and {})",
                    a.chat,
                    a.cmid,
                    f.rid,
                    a.rid
                ),
                None => {
                    first.insert((a.chat, &a.cmid), a);
                }
            }
        }
        let mut news: Vec<&Ack> = first.values().copied().collect();
        news.sort_by_key(|a| a.rid);
        let mut last_seq: HashMap<u64, (u64, u64)> = HashMap::new();
        let mut ids: HashMap<u64, u64> = HashMap::new();
        for a in news {
            if let Some(&(rid, seq)) = last_seq.get(&a.chat) {
                assert!(a.seq > seq, "chat {}: send {} acked seq {} after send {rid} got seq {seq}", a.chat, a.rid, a.seq);
            }
            last_seq.insert(a.chat, (a.rid, a.seq));
            if let Some(other) = ids.insert(a.message_id, a.rid) {
                panic!("message id {} acked for two different messages (requests {other} and {})", a.message_id, a.rid);
            }
        }
    }
}
