//! `magpie-ceiling`: the simplest WebSocket broadcast server on the engine's own runtime, the
//! "no-logic ceiling" that `magpie-bench --target ceiling` (and `--compare`) measures the engine
//! against (docs/BENCHMARKS.md, Peers).
//!
//! Built like the engine's TCP side and nothing more: one thread per core (pinned, as the engine's
//! shards are), each a tokio current_thread runtime with its own `SO_REUSEPORT` listener on the
//! same port, tokio-tungstenite with the engine's WebSocket settings. Every binary message a client
//! sends is broadcast — the same `Bytes`, never copied — to every connection of the process, the
//! sender's own included: to the local connections directly, and through an unbounded channel to
//! each other thread, which hands it to its own connections. No rooms, no authentication, no
//! sequence numbers, no storage. A connection gets one text message, `ready`, once it is
//! registered, so a client knows that broadcasts from then on reach it.
//!
//! Prints `magpie-ceiling: N threads, write buffer B B, listening on ws://ADDR/` on stdout once
//! every listener is bound; stops on SIGTERM/SIGINT (the default action).

use bytes::Bytes;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use magpie_wire::limits::MAX_CLIENT_FRAME_BYTES;
use socket2::{Domain, Protocol, Socket, Type};
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// The simplest WebSocket broadcast server on the engine's runtime (a benchmark ceiling).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0: any free port, printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Threads, each with its own runtime and listener (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Do not pin the threads to cores.
    #[arg(long)]
    no_pin: bool,
    /// Bytes of WebSocket frames buffered before they are written to the socket. 0, the
    /// engine's setting, writes every frame with its own syscall; more lets the frames queued for
    /// a connection go out together when the writer flushes.
    #[arg(long, default_value_t = 0)]
    write_buffer_size: usize,
}

/// The engine's WebSocket settings (engine/src/transport/ws.rs), so that the two differ only in
/// what the engine does beyond moving frames (unless --write-buffer-size says otherwise).
fn ws_config(write_buffer_size: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(write_buffer_size)
        .max_write_buffer_size((4 * 1024 * 1024).max(2 * write_buffer_size))
        .max_message_size(Some(MAX_CLIENT_FRAME_BYTES))
        .max_frame_size(Some(MAX_CLIENT_FRAME_BYTES))
}

fn tcp_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(4096)?;
    Ok(s.into())
}

/// One thread's connections: the outbox of each, by connection id.
#[derive(Default)]
struct Local {
    conns: RefCell<Vec<(u64, UnboundedSender<Bytes>)>>,
    next_id: Cell<u64>,
}

impl Local {
    fn broadcast(&self, msg: &Bytes) {
        for (_, tx) in self.conns.borrow().iter() {
            // A closed outbox belongs to a connection that is going away; it unregisters itself.
            let _ = tx.send(msg.clone());
        }
    }
}

fn main() {
    let args = Args::parse();
    let threads = if args.threads == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { args.threads };
    let mut listeners = Vec::with_capacity(threads);
    let mut addr = args.listen;
    for _ in 0..threads {
        let l = tcp_listener(addr).unwrap_or_else(|e| {
            eprintln!("magpie-ceiling: binding {addr}: {e}");
            std::process::exit(1)
        });
        addr = l.local_addr().expect("bound listener has an address");
        listeners.push(l);
    }
    let (inboxes, receivers): (Vec<_>, Vec<_>) = (0..threads).map(|_| unbounded_channel::<Bytes>()).unzip();
    let inboxes = Arc::new(inboxes);
    let write_buffer_size = args.write_buffer_size;
    let cores = if args.no_pin { Vec::new() } else { core_affinity::get_core_ids().unwrap_or_default() };
    let handles: Vec<_> = listeners
        .into_iter()
        .zip(receivers)
        .enumerate()
        .map(|(id, (listener, inbox))| {
            let inboxes = inboxes.clone();
            let core = if cores.is_empty() { None } else { Some(cores[id % cores.len()]) };
            std::thread::Builder::new()
                .name(format!("ceiling-{id}"))
                .spawn(move || {
                    if let Some(core) = core {
                        core_affinity::set_for_current(core);
                    }
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                    let local = tokio::task::LocalSet::new();
                    local.block_on(&rt, serve(id, listener, inbox, inboxes, ws_config(write_buffer_size)));
                })
                .expect("spawning a thread")
        })
        .collect();
    println!("magpie-ceiling: {threads} threads, write buffer {write_buffer_size} B, listening on ws://{addr}/");
    let _ = std::io::stdout().flush();
    for h in handles {
        let _ = h.join();
    }
}

/// Body of one thread: accept connections, and hand what other threads forward to the local ones.
async fn serve(
    id: usize,
    listener: std::net::TcpListener,
    mut inbox: UnboundedReceiver<Bytes>,
    inboxes: Arc<Vec<UnboundedSender<Bytes>>>,
    config: WebSocketConfig,
) {
    let local = Rc::new(Local::default());
    let l = local.clone();
    tokio::task::spawn_local(async move {
        while let Some(msg) = inbox.recv().await {
            l.broadcast(&msg);
        }
    });
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener on this runtime");
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                tokio::task::spawn_local(connection(id, stream, local.clone(), inboxes.clone(), config));
            }
            // Out of descriptors and the like: back off a little rather than spin.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
}

async fn connection(
    me: usize,
    stream: tokio::net::TcpStream,
    local: Rc<Local>,
    inboxes: Arc<Vec<UnboundedSender<Bytes>>>,
    config: WebSocketConfig,
) {
    let _ = stream.set_nodelay(true);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else { return };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut outbox) = unbounded_channel::<Bytes>();
    let id = local.next_id.get();
    local.next_id.set(id + 1);
    local.conns.borrow_mut().push((id, tx));
    if sink.send(Message::text("ready")).await.is_err() {
        local.conns.borrow_mut().retain(|(c, _)| *c != id);
        return;
    }
    // The writer: everything queued is fed, then flushed once.
    let writer = tokio::task::spawn_local(async move {
        while let Some(msg) = outbox.recv().await {
            if sink.feed(Message::Binary(msg)).await.is_err() {
                return;
            }
            while let Ok(msg) = outbox.try_recv() {
                if sink.feed(Message::Binary(msg)).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(msg)) = stream.next().await {
        match msg {
            Message::Binary(b) => {
                local.broadcast(&b);
                for (t, inbox) in inboxes.iter().enumerate() {
                    if t != me {
                        let _ = inbox.send(b.clone());
                    }
                }
            }
            Message::Close(_) => break,
            // Pings are answered by tungstenite; text is not part of this server's protocol.
            _ => {}
        }
    }
    local.conns.borrow_mut().retain(|(c, _)| *c != id);
    writer.abort();
}
