//! The command line, declared with clap's derive API. Global options may be given before or
//! after the subcommand (`magpiectl --json chats` and `magpiectl chats --json` are the same).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Magpie's admin and scripting CLI.
///
/// Client commands talk to a running engine through the Magpie client library, signed in as
/// the device whose token the profile holds (`register` or `login` stores it). Profiles live in
/// $MAGPIE_HOME, or ~/.config/magpie when it is unset, one `<profile>.json` each (mode 0600).
///
/// `admin` commands work on an engine's data directory; `inspect` decodes a raw frame.
/// Every command takes --json for scripts: one JSON document per result (JSON lines for
/// `tail` and `admin dump`). Errors name the stable error code and exit non-zero.
#[derive(Parser, Debug)]
#[command(name = "magpiectl", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// The engine's address: QUIC on this UDP port, WebSocket on this TCP port.
    #[arg(long, global = true, env = "MAGPIE_SERVER", default_value = "127.0.0.1:7600", value_name = "HOST:PORT")]
    pub server: String,
    /// QUIC (UDP) address, when it differs from --server (the engine's --quic).
    #[arg(long, global = true, env = "MAGPIE_QUIC_ADDR", value_name = "HOST:PORT")]
    pub quic_addr: Option<String>,
    /// WebSocket (TCP) address, when it differs from --server (the engine's --tcp).
    #[arg(long, global = true, env = "MAGPIE_WS_ADDR", value_name = "HOST:PORT")]
    pub ws_addr: Option<String>,
    /// The engine's certificate (DER), the only one trusted for QUIC, or the root CA (DER) of an
    /// operator's certificate (`magpie --tls-cert`). Without it `auto` uses WebSocket.
    #[arg(long, global = true, env = "MAGPIE_CERT", default_value = "./magpie-data/tls/cert.der", value_name = "PATH")]
    pub cert: PathBuf,
    /// Name the engine's certificate must be issued for: `localhost` for its self-signed one,
    /// the engine's host name for an operator's certificate.
    #[arg(long, global = true, env = "MAGPIE_SERVER_NAME", default_value = "localhost", value_name = "NAME")]
    pub server_name: String,
    /// Transport: QUIC falling back to WebSocket, or only one of them.
    #[arg(long, global = true, env = "MAGPIE_TRANSPORT", value_enum, default_value_t = TransportArg::Auto)]
    pub transport: TransportArg,
    /// Profile holding the device token and the `tail` cursors.
    #[arg(long, global = true, env = "MAGPIE_PROFILE", default_value = "default", value_name = "NAME")]
    pub profile: String,
    /// Seconds to wait for the engine's answer (connecting, each request, a send's ack).
    #[arg(long, global = true, default_value_t = 10, value_name = "SECONDS")]
    pub timeout: u64,
    /// Machine-readable output: JSON documents on stdout, errors as JSON on stderr.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportArg {
    Auto,
    Quic,
    Ws,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create an account and sign this profile in as its first device.
    Register(Credentials),
    /// Sign this profile in as a new device of an existing account.
    Login(Credentials),
    /// Revoke this profile's device and forget its token.
    Logout,
    /// List the account's devices.
    Devices,
    /// Revoke another device of the account.
    Revoke { device_id: u64 },
    /// Show who the profile is signed in as (checks the token with the engine).
    Whoami,
    /// Open (or find) the direct chat with a user; prints the chat id.
    Direct { username: String },
    /// Create a group with you as admin; prints the chat id.
    Group {
        title: String,
        /// Usernames of the other members.
        members: Vec<String>,
    },
    /// Add members to a group (admins only).
    Add {
        chat_id: u64,
        #[arg(required = true)]
        usernames: Vec<String>,
    },
    /// Remove a member from a group (admins only).
    Remove { chat_id: u64, username: String },
    /// Leave a chat.
    Leave { chat_id: u64 },
    /// List your chats with their latest message.
    Chats,
    /// Show a chat's kind, title and members.
    Info { chat_id: u64 },
    /// Send a message; prints its sequence number once the engine has made it durable.
    Send {
        chat_id: u64,
        /// The message, or `-` to read it from standard input.
        text: String,
    },
    /// Show a page of a chat's history (the newest events unless --before/--after).
    History {
        chat_id: u64,
        /// Events older than this sequence number.
        #[arg(long, value_name = "SEQ", conflicts_with = "after")]
        before: Option<u64>,
        /// Events newer than this sequence number, oldest first.
        #[arg(long, value_name = "SEQ")]
        after: Option<u64>,
        /// Events in the page (1..=500).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=500))]
        limit: u16,
    },
    /// Print every event as it arrives, starting with what the profile has not seen yet.
    ///
    /// The profile keeps a cursor per chat, so the next `tail` resumes where this one stopped.
    /// Runs until Ctrl-C.
    Tail {
        /// Only this chat's events.
        chat_id: Option<u64>,
        /// Stop once caught up (after the engine's SyncDone) instead of following live events.
        #[arg(long)]
        exit_after_sync: bool,
    },
    /// Work on an engine's data directory.
    Admin(AdminArgs),
    /// Decode one frame (or a captured QUIC stream of length-prefixed frames).
    Inspect(InspectArgs),
}

#[derive(Args, Debug)]
pub struct Credentials {
    pub username: String,
    /// The password, or `-` to read it from standard input (keeps it out of `ps`).
    pub password: String,
    /// A name for this device, shown by `devices`.
    #[arg(long, default_value = "magpiectl", value_name = "NAME")]
    pub device: String,
}

#[derive(Args, Debug)]
pub struct AdminArgs {
    /// The engine's data directory (its `db/` is read; a backup directory works too).
    #[arg(long, global = true, env = "MAGPIE_DATA", default_value = "./magpie-data", value_name = "DIR")]
    pub data_dir: PathBuf,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an account: directly in the store when the engine is stopped, otherwise
    /// through the running engine (--server).
    CreateUser {
        username: String,
        /// The password, or `-` to read it from standard input.
        password: String,
    },
    /// List every account with its devices.
    Users,
    /// List every chat.
    Chats,
    /// Print a chat's log, every event decoded.
    Dump {
        chat_id: u64,
        /// Start after this sequence number.
        #[arg(long, default_value_t = 0, value_name = "SEQ")]
        after: u64,
        /// At most this many events.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Counts and sizes of the store.
    Stats,
    /// Write a consistent backup (a RocksDB checkpoint) as a new data directory. Needs the
    /// engine stopped.
    Backup {
        /// Must not exist yet (or be empty); best on the same filesystem (hard links).
        dest: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Hex (spaces and a 0x prefix allowed), a file holding the bytes (binary or hex), or `-`
    /// for standard input.
    pub input: String,
    /// How the bytes are framed: a 4-byte big-endian length before each frame (QUIC), or one
    /// bare frame (WebSocket); `auto` tells them apart.
    #[arg(long, value_enum, default_value_t = Framing::Auto)]
    pub framing: Framing,
    /// What the bytes are: a protocol frame, or a stored chat-log event; `auto` tries a
    /// frame, then an event.
    #[arg(long = "as", value_enum, default_value_t = InspectAs::Auto)]
    pub kind: InspectAs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Auto,
    Prefixed,
    Bare,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InspectAs {
    Auto,
    Frame,
    Event,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_anywhere() {
        let cli =
            Cli::try_parse_from(["magpiectl", "history", "5", "--json", "--before", "9", "--profile", "bob"]).unwrap();
        assert!(cli.global.json);
        assert_eq!(cli.global.profile, "bob");
        assert!(matches!(cli.command, Command::History { chat_id: 5, before: Some(9), after: None, limit: 50 }));
        assert!(Cli::try_parse_from(["magpiectl", "history", "5", "--before", "9", "--after", "1"]).is_err());
        assert!(Cli::try_parse_from(["magpiectl", "history", "5", "--limit", "501"]).is_err());
        let cli = Cli::try_parse_from(["magpiectl", "admin", "users", "--data-dir", "/x"]).unwrap();
        let Command::Admin(a) = cli.command else { panic!() };
        assert_eq!(a.data_dir, PathBuf::from("/x"));
    }
}
