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

/// Who sees your last seen (`privacy --last-seen`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastSeenArg {
    Everyone,
    Shared,
    Nobody,
}

fn parse_on_off(s: &str) -> std::result::Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("expected on or off, not {s}")),
    }
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
    /// Create a group with you as owner; prints the chat id.
    Group {
        title: String,
        /// Usernames of the other members.
        members: Vec<String>,
        #[command(flatten)]
        about: NewChatArgs,
    },
    /// Create a channel with you as owner (admins post, subscribers read); prints the chat id.
    Channel {
        title: String,
        /// Usernames of the first subscribers.
        subscribers: Vec<String>,
        #[command(flatten)]
        about: NewChatArgs,
    },
    /// Add members to a group (admins only).
    Add {
        chat_id: u64,
        #[arg(required = true)]
        usernames: Vec<String>,
    },
    /// Remove a member from a group (admins only).
    Remove { chat_id: u64, username: String },
    /// Leave a chat. As its owner, hand it to --successor (default: the longest-serving admin).
    Leave {
        chat_id: u64,
        /// Username of the member who becomes the owner.
        #[arg(long, value_name = "USERNAME")]
        successor: Option<String>,
    },
    /// List your chats with their latest message (by chat id, or as the chat list is shown).
    Chats {
        /// Pinned chats first, then by last activity, newest first (one page; see --before).
        #[arg(long)]
        by_activity: bool,
        /// Only archived chats (implies --by-activity).
        #[arg(long)]
        archived: bool,
        /// The by-activity page after this row, as `LAST_ACTIVITY_MS:CHAT_ID` (implies --by-activity).
        #[arg(long, value_name = "MS:CHAT_ID", value_parser = parse_before)]
        before: Option<(i64, u64)>,
        /// With --by-activity: rows in the page (0 = the engine's default).
        #[arg(long, default_value_t = 0)]
        limit: u16,
    },
    /// Show a chat's kind, title, description, handle, settings and (the first 100) members.
    Info { chat_id: u64 },
    /// Page a chat's members by user id.
    Members {
        chat_id: u64,
        /// Members with a user id above this one.
        #[arg(long, default_value_t = 0, value_name = "USER_ID")]
        after: u64,
        /// Members in the page (0 = the engine's default, 200; at most 1000).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1000))]
        limit: u16,
        /// Only the owner and admins.
        #[arg(long)]
        admins: bool,
        /// Every page, not just one.
        #[arg(long)]
        all: bool,
    },
    /// Change a chat's title, description, avatar, handle or settings.
    Update {
        chat_id: u64,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, value_name = "REF")]
        avatar_ref: Option<String>,
        /// The public handle; an empty string removes it.
        #[arg(long)]
        handle: Option<String>,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Make a member an admin, or an admin a member.
    Role { chat_id: u64, username: String, role: RoleArg },
    /// Hand the chat to another member (you become an admin).
    Transfer { chat_id: u64, username: String },
    /// Invite links: create, list, revoke.
    Invite(InviteArgs),
    /// Show a chat before joining it, by invite code or public handle.
    Preview(ChatRefArgs),
    /// Join a chat by invite code or public handle (or ask to, if it approves joins).
    Join(ChatRefArgs),
    /// Join requests of a chat that approves joins: list, approve, decline (admins).
    Requests(RequestsArgs),
    /// Change your own state of a chat: mute, pin, archive, mark unread.
    State {
        chat_id: u64,
        /// Mute for this many seconds.
        #[arg(long, value_name = "SECONDS", group = "muting")]
        mute_for: Option<u64>,
        /// Mute for good.
        #[arg(long, group = "muting")]
        mute: bool,
        #[arg(long, group = "muting")]
        unmute: bool,
        #[arg(long, conflicts_with = "unpin")]
        pin: bool,
        #[arg(long)]
        unpin: bool,
        #[arg(long, conflicts_with = "unarchive")]
        archive: bool,
        #[arg(long)]
        unarchive: bool,
        /// Mark as unread.
        #[arg(long, conflicts_with = "read")]
        unread: bool,
        /// Clear the unread mark.
        #[arg(long)]
        read: bool,
    },
    /// Mark a chat read (and delivered) up to a seq (default: its last event).
    Read {
        chat_id: u64,
        /// The seq read up to (default: the chat's last event).
        seq: Option<u64>,
    },
    /// Who has a message: delivered to and read by, from the members' cursors.
    Receipts { chat_id: u64, seq: u64 },
    /// Show or change your privacy settings: read receipts, who sees your last seen.
    Privacy {
        /// Send read receipts (and see others').
        #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
        read_receipts: Option<bool>,
        /// Who sees when you were last online.
        #[arg(long, value_enum)]
        last_seen: Option<LastSeenArg>,
    },
    /// Order your pinned chats, first to last (name every pinned chat once).
    Pins {
        #[arg(required = true)]
        chat_ids: Vec<u64>,
    },
    /// Broadcast lists: save, list, delete, send.
    Broadcast(BroadcastArgs),
    /// Send a message; prints its sequence number once the engine has made it durable.
    Send {
        chat_id: u64,
        /// The message, or `-` to read it from standard input.
        text: String,
        /// Reply to this message of the chat.
        #[arg(long, value_name = "SEQ", default_value_t = 0)]
        reply_to: u64,
        /// Mention these members (user ids).
        #[arg(long, value_name = "USER_ID", value_delimiter = ',')]
        mention: Vec<u64>,
    },
    /// Edit one of your messages (every earlier version stays).
    Edit {
        chat_id: u64,
        seq: u64,
        /// The new text, or `-` to read it from standard input.
        text: String,
        /// The members the new text mentions (an edit replaces the mentions; none given: none).
        #[arg(long, value_name = "USER_ID", value_delimiter = ',')]
        mention: Vec<u64>,
    },
    /// Delete messages for everyone (content erased; a tombstone stays), or with --for-me hide them on your devices.
    Delete {
        chat_id: u64,
        #[arg(required = true)]
        seqs: Vec<u64>,
        #[arg(long)]
        for_me: bool,
    },
    /// Add a reaction to a message (--remove takes it back).
    React {
        chat_id: u64,
        seq: u64,
        emoji: String,
        #[arg(long)]
        remove: bool,
    },
    /// Pin a message of a chat (--unpin), or with no seq list the pinned ones.
    Pin {
        chat_id: u64,
        seq: Option<u64>,
        #[arg(long)]
        unpin: bool,
    },
    /// Forward a message to other chats.
    Forward {
        chat_id: u64,
        seq: u64,
        #[arg(required = true)]
        to: Vec<u64>,
    },
    /// The messages that mention you, newest first.
    Mentions {
        /// Messages in the page (0 = the engine's default, 50; at most 200).
        #[arg(long, default_value_t = 0)]
        limit: u16,
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

/// What a new group or channel may carry besides its title and members.
#[derive(Args, Debug, Default)]
pub struct NewChatArgs {
    #[arg(long, default_value = "")]
    pub description: String,
    /// A public handle (5..=32 of a-z, 0-9, _): anyone may then preview and join.
    #[arg(long, default_value = "")]
    pub handle: String,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Chat settings; each one left out keeps its default (or, for `update`, its current value).
#[derive(Args, Debug, Default, Clone, Copy)]
pub struct SettingsArgs {
    /// Who may post.
    #[arg(long, value_enum)]
    pub post: Option<WhoArg>,
    /// Who may add members and create invite links.
    #[arg(long, value_enum)]
    pub add_members: Option<WhoArg>,
    /// Who may change the title, description and avatar.
    #[arg(long, value_enum)]
    pub change_info: Option<WhoArg>,
    /// Who may pin messages.
    #[arg(long = "pin-messages", value_enum, value_name = "WHO")]
    pub pin: Option<WhoArg>,
    /// What members who join later may read.
    #[arg(long, value_enum)]
    pub history: Option<HistoryArg>,
    /// Whether members may forward messages out of the chat.
    #[arg(long, value_enum, value_name = "ON|OFF")]
    pub forwarding: Option<Switch>,
    /// Whether joins by invite link or handle wait for an admin.
    #[arg(long, value_enum, value_name = "ON|OFF")]
    pub approve_joins: Option<Switch>,
}

impl SettingsArgs {
    pub fn is_empty(&self) -> bool {
        self.post.is_none()
            && self.add_members.is_none()
            && self.change_info.is_none()
            && self.pin.is_none()
            && self.history.is_none()
            && self.forwarding.is_none()
            && self.approve_joins.is_none()
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhoArg {
    Members,
    Admins,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryArg {
    Everything,
    SinceJoined,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleArg {
    Admin,
    Member,
}

/// `--invite CODE` or `--handle NAME`.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct ChatRefArgs {
    /// An invite link's code (the part after `#/join/`), or the whole link.
    #[arg(long, value_name = "CODE")]
    pub invite: Option<String>,
    /// A public chat's handle.
    #[arg(long)]
    pub handle: Option<String>,
}

#[derive(Args, Debug)]
pub struct InviteArgs {
    #[command(subcommand)]
    pub command: InviteCommand,
}

#[derive(Subcommand, Debug)]
pub enum InviteCommand {
    /// Create an invite link; prints its code.
    Create {
        chat_id: u64,
        /// The link stops working after this many seconds (default: never).
        #[arg(long, value_name = "SECONDS")]
        expires_in: Option<u64>,
        /// The link admits at most this many people (default: unlimited).
        #[arg(long, default_value_t = 0, value_name = "N")]
        max_uses: u32,
    },
    /// List a chat's invite links (admins).
    List { chat_id: u64 },
    /// Revoke an invite link.
    Revoke { chat_id: u64, code: String },
}

#[derive(Args, Debug)]
pub struct RequestsArgs {
    #[command(subcommand)]
    pub command: RequestsCommand,
}

#[derive(Subcommand, Debug)]
pub enum RequestsCommand {
    /// List the requests waiting.
    List { chat_id: u64 },
    /// Let a user in.
    Approve { chat_id: u64, username: String },
    /// Turn a user's request down.
    Decline { chat_id: u64, username: String },
}

#[derive(Args, Debug)]
pub struct BroadcastArgs {
    #[command(subcommand)]
    pub command: BroadcastCommand,
}

#[derive(Subcommand, Debug)]
pub enum BroadcastCommand {
    /// Create a broadcast list, or replace one (--list); prints its id.
    Save {
        name: String,
        /// Usernames of the recipients (1..=256).
        #[arg(required = true)]
        recipients: Vec<String>,
        /// The list to replace.
        #[arg(long, value_name = "LIST_ID")]
        list: Option<u64>,
    },
    /// List your broadcast lists.
    List,
    /// Delete a broadcast list.
    Delete { list_id: u64 },
    /// Send a message to every recipient of a list, each in your direct chat with them.
    Send {
        list_id: u64,
        /// The message, or `-` to read it from standard input.
        text: String,
        /// The client message id, to retry an earlier send without duplicates (printed by it).
        #[arg(long, value_name = "ID")]
        id: Option<String>,
    },
}

fn parse_before(s: &str) -> Result<(i64, u64), String> {
    let (ms, chat) = s.split_once(':').ok_or("expected LAST_ACTIVITY_MS:CHAT_ID")?;
    Ok((ms.parse().map_err(|e| format!("{ms:?}: {e}"))?, chat.parse().map_err(|e| format!("{chat:?}: {e}"))?))
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

    /// Every client subcommand is documented in docs/OPERATIONS.md as `magpiectl <name>`.
    #[test]
    fn every_subcommand_is_documented() {
        let doc = include_str!("../../docs/OPERATIONS.md");
        let missing: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .filter(|name| name != "help" && !doc.contains(&format!("magpiectl {name}")))
            .collect();
        assert!(missing.is_empty(), "not in docs/OPERATIONS.md: {missing:?}");
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
        let cli = Cli::try_parse_from(["magpiectl", "channel", "News", "bob", "--handle", "news_room", "--approve-joins", "on"])
            .unwrap();
        let Command::Channel { title, subscribers, about } = cli.command else { panic!() };
        assert_eq!((title.as_str(), subscribers, about.handle.as_str()), ("News", vec!["bob".to_string()], "news_room"));
        assert_eq!(about.settings.approve_joins, Some(Switch::On));
        assert!(about.settings.post.is_none() && !about.settings.is_empty());
        assert!(Cli::try_parse_from(["magpiectl", "join", "--invite", "a", "--handle", "b"]).is_err());
        assert!(Cli::try_parse_from(["magpiectl", "join"]).is_err());
        assert!(Cli::try_parse_from(["magpiectl", "state", "1", "--mute", "--unmute"]).is_err());
        let cli = Cli::try_parse_from(["magpiectl", "state", "1", "--mute", "--pin", "--unread"]).unwrap();
        assert!(matches!(cli.command, Command::State { mute: true, pin: true, unread: true, unpin: false, mute_for: None, .. }));
        assert!(Cli::try_parse_from(["magpiectl", "state", "1", "--pin", "--unpin"]).is_err());
        let cli = Cli::try_parse_from(["magpiectl", "privacy", "--read-receipts", "off", "--last-seen", "nobody"]).unwrap();
        assert!(matches!(cli.command, Command::Privacy { read_receipts: Some(false), last_seen: Some(LastSeenArg::Nobody) }));
        assert!(Cli::try_parse_from(["magpiectl", "privacy", "--read-receipts", "maybe"]).is_err());
        assert!(matches!(Cli::try_parse_from(["magpiectl", "read", "4"]).unwrap().command, Command::Read { chat_id: 4, seq: None }));
        let cli = Cli::try_parse_from(["magpiectl", "chats", "--by-activity", "--before", "1700:42"]).unwrap();
        assert!(matches!(cli.command, Command::Chats { by_activity: true, before: Some((1700, 42)), .. }));
        assert!(Cli::try_parse_from(["magpiectl", "chats", "--before", "x"]).is_err());
        let cli = Cli::try_parse_from(["magpiectl", "admin", "users", "--data-dir", "/x"]).unwrap();
        let Command::Admin(a) = cli.command else { panic!() };
        assert_eq!(a.data_dir, PathBuf::from("/x"));
    }
}
