//! What every shard may read: the store, the commit hand-over, every shard's mailbox and
//! metrics, the configuration. Immutable after start; the mailboxes are the only thing shards
//! use to talk.

use crate::config::Config;
use crate::{mailbox, metrics, tls};
use magpie_storage::{Committer, Store};
use std::sync::Arc;

/// Messages a shard's mailbox holds before senders must wait.
pub const MAILBOX_CAPACITY: usize = 64 * 1024;

/// Immutable state every shard can read. The mailboxes are the only thing shards use to talk.
pub struct Shared {
    pub store: Store,
    pub committer: Committer,
    pub mailboxes: Vec<mailbox::Mailbox>,
    /// One set of metrics per shard, written only by that shard (see `metrics.rs`).
    pub metrics: Box<[metrics::ShardMetrics]>,
    pub config: Config,
    pub node_id: u64,
    /// TLS on the TCP port (wss://, https://), with the same certificate as QUIC.
    pub tls_acceptor: tokio_rustls::TlsAcceptor,
}

impl Shared {
    pub fn new(config: &Config, identity: &tls::Identity, store: Store, shards: usize, node_id: u64) -> std::io::Result<Shared> {
        Ok(Shared {
            committer: store.committer(),
            store,
            mailboxes: (0..shards).map(|_| mailbox::Mailbox::new(MAILBOX_CAPACITY)).collect(),
            metrics: (0..shards).map(|_| metrics::ShardMetrics::default()).collect(),
            config: config.clone(),
            node_id,
            tls_acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(tls::tcp_server_config(identity)?)),
        })
    }
}

