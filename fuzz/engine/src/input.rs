//! The `connection` target's input: a small byte format that decodes into a sequence of [`Op`]s,
//! and the encoder that writes the seeds (`examples/seed_engine.rs`).
//!
//! The format is hand-written rather than derived with `arbitrary` so that it can be written as
//! well as read: the seeds are real session scripts (register, create chats, send, sync, page
//! history, revoke, ...), and `decode(encode(ops)) == ops` holds (tested below). Every byte
//! string decodes to *something*; missing bytes read as zero, so a truncated input is still a
//! valid script.
//!
//! ```text
//! input := auth-mode:u8  op*
//! op    := tag:u8 fields...          (tag % OP_KINDS picks the kind; fields are listed on Op)
//! u16, u64: little endian            str: len:u8 bytes (lossy UTF-8)     bytes: len:u16 bytes
//! ```
//!
//! Ids are symbolic ([`ChatRef`], [`UserRef`], [`DeviceRef`], [`SeqRef`]): the harness resolves
//! them against what this run has seen (its own user, the peer, the chats it created or was
//! told about), so an input means the same thing on every run even though the engine hands out
//! different ids each time. `Raw` variants still reach arbitrary values.

/// How the fuzzed connection starts, after `Hello`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// `Register` a fresh user on the fuzzed connection itself.
    Register,
    /// The user is registered on another connection; the fuzzed one sends `Authenticate{token}`.
    Token,
    /// The fuzzed connection stays unauthenticated (the user exists, registered elsewhere).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatRef {
    /// The i-th chat this run learned about (created, or delivered to it), modulo their number.
    Known(u8),
    /// The newest chat this run learned about.
    Newest,
    /// The newest known chat id (or the run's own user id before any) plus a small offset.
    Near(i8),
    /// The probe's chat: it exists, but the fuzzed user is not a member.
    Probe,
    Raw(u64),
    Zero,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRef {
    Me,
    Peer,
    Probe,
    /// The run's own user id plus a small offset.
    Near(i8),
    Raw(u64),
    Zero,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRef {
    /// The device the connection signed in as.
    Mine,
    /// A second device of the same user, made with `Login` for this run.
    Throwaway,
    /// The peer's device (another user's: must be `device_not_found`).
    Peer,
    /// The probe's device (another user's).
    Probe,
    Near(i8),
    Raw(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqRef {
    Zero,
    Small(u8),
    /// The highest seq this run has seen in that chat (acks, deliveries), plus an offset.
    Seen(i8),
    Raw(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    Me,
    Peer,
    Probe,
    /// `fzz<n>`: shared by every run, so mostly taken.
    Fixed(u8),
    Raw(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    Correct,
    Raw(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Mine,
    Throwaway,
    Peer,
    Raw(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmid {
    /// `m<n>`: reusing one is a retry (idempotency).
    Fixed(u8),
    Raw(String),
    /// `n` bytes of `k` (the limit is 64).
    Long(u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text(String),
    /// `len` copies of a character (`multibyte`: "é", 2 bytes each, so the content can straddle
    /// the limit in the middle of a character). `len >= 0x8000` means 65,534 + (len & 3) bytes:
    /// right at the 65,536-byte limit.
    Repeat { multibyte: bool, len: u16 },
    Empty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Ping(u64),
    /// A second Hello (must be refused with an Error, the connection stays open).
    Hello { version: u16, min_version: u16, features: u64 },
    Register { name: Name, password: Password, device: String },
    Login { name: Name, password: Password, device: String },
    Authenticate(Token),
    Logout,
    ListDevices,
    RevokeDevice(DeviceRef),
    LookupUser(Name),
    /// 255 users means 1,001 (over the limit).
    GetUsers(Vec<UserRef>),
    CreateDirect { peer: UserRef, by_name: bool },
    /// 255 members means 1,001 (over the limit).
    CreateGroup { title: String, members: Vec<UserRef> },
    AddMembers { chat: ChatRef, users: Vec<UserRef> },
    RemoveMember { chat: ChatRef, user: UserRef },
    LeaveChat(ChatRef),
    GetChat(ChatRef),
    ListChats { after: ChatRef, limit: u16 },
    Send { chat: ChatRef, cmid: Cmid, content: Content },
    Sync(Vec<(ChatRef, SeqRef)>),
    History { chat: ChatRef, from: SeqRef, forward: bool, limit: u16 },
    /// The peer (another user, its own connection) sends `count` (1..=8) messages: live events
    /// for the fuzzed connection while it does other things.
    PeerSend { chat: ChatRef, count: u8 },
    /// The peer creates a group, with the fuzzed user in it or not.
    PeerCreateGroup { with_me: bool },
    /// The peer adds a user to a chat (e.g. re-adds the fuzzed user after it left).
    PeerAdd { chat: ChatRef, user: UserRef },
    /// The peer removes a user from a chat.
    PeerRemove { chat: ChatRef, user: UserRef },
    /// Wait until every request sent so far has been answered.
    Settle,
    /// Bytes sent as one frame, as they are.
    Raw(Vec<u8>),
    /// XOR `xor` into byte `at` (modulo its length) of the next frame the fuzzed connection sends.
    Corrupt { at: u16, xor: u8 },
    /// The next frame uses this request id instead of a fresh one (0 is a protocol violation).
    RequestId(u64),
    /// `n` (1..=32) pings back to back.
    PingBurst(u8),
    /// Sleep `ms` (0..=7) milliseconds: lets live events and catch-ups interleave differently.
    Pause(u8),
}

/// Number of op kinds; `tag % OP_KINDS` picks one.
pub const OP_KINDS: u8 = 30;
/// Ops per input that the harness runs; the rest is ignored (keeps an execution short).
pub const MAX_OPS: usize = 48;

/// Reads the input format; past the end every read is zero.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
    fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }
    fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }
    fn i8(&mut self) -> i8 {
        self.u8() as i8
    }
    fn u16(&mut self) -> u16 {
        let b = self.take(2);
        let mut a = [0u8; 2];
        a[..b.len()].copy_from_slice(b);
        u16::from_le_bytes(a)
    }
    fn u64(&mut self) -> u64 {
        let b = self.take(8);
        let mut a = [0u8; 8];
        a[..b.len()].copy_from_slice(b);
        u64::from_le_bytes(a)
    }
    fn str(&mut self) -> String {
        let n = self.u8() as usize;
        String::from_utf8_lossy(self.take(n)).into_owned()
    }
    fn bytes(&mut self) -> Vec<u8> {
        let n = self.u16() as usize;
        self.take(n).to_vec()
    }
    fn chat(&mut self) -> ChatRef {
        match self.u8() % 6 {
            0 => ChatRef::Known(self.u8()),
            1 => ChatRef::Newest,
            2 => ChatRef::Near(self.i8()),
            3 => ChatRef::Probe,
            4 => ChatRef::Raw(self.u64()),
            _ => ChatRef::Zero,
        }
    }
    fn user(&mut self) -> UserRef {
        match self.u8() % 6 {
            0 => UserRef::Me,
            1 => UserRef::Peer,
            2 => UserRef::Probe,
            3 => UserRef::Near(self.i8()),
            4 => UserRef::Raw(self.u64()),
            _ => UserRef::Zero,
        }
    }
    fn users(&mut self) -> Vec<UserRef> {
        match self.u8() {
            255 => vec![UserRef::Me; 255],
            n => (0..n % 8).map(|_| self.user()).collect(),
        }
    }
    fn device(&mut self) -> DeviceRef {
        match self.u8() % 6 {
            0 => DeviceRef::Mine,
            1 => DeviceRef::Throwaway,
            2 => DeviceRef::Peer,
            3 => DeviceRef::Probe,
            4 => DeviceRef::Near(self.i8()),
            _ => DeviceRef::Raw(self.u64()),
        }
    }
    fn seq(&mut self) -> SeqRef {
        match self.u8() % 4 {
            0 => SeqRef::Zero,
            1 => SeqRef::Small(self.u8()),
            2 => SeqRef::Seen(self.i8()),
            _ => SeqRef::Raw(self.u64()),
        }
    }
    fn name(&mut self) -> Name {
        match self.u8() % 5 {
            0 => Name::Me,
            1 => Name::Peer,
            2 => Name::Probe,
            3 => Name::Fixed(self.u8()),
            _ => Name::Raw(self.str()),
        }
    }
    fn password(&mut self) -> Password {
        match self.u8() % 2 {
            0 => Password::Correct,
            _ => Password::Raw(self.str()),
        }
    }
    fn token(&mut self) -> Token {
        match self.u8() % 4 {
            0 => Token::Mine,
            1 => Token::Throwaway,
            2 => Token::Peer,
            _ => Token::Raw(self.str()),
        }
    }
    fn cmid(&mut self) -> Cmid {
        match self.u8() % 3 {
            0 => Cmid::Fixed(self.u8()),
            1 => Cmid::Raw(self.str()),
            _ => Cmid::Long(self.u8()),
        }
    }
    fn content(&mut self) -> Content {
        match self.u8() % 3 {
            0 => Content::Text(self.str()),
            1 => Content::Repeat { multibyte: self.bool(), len: self.u16() },
            _ => Content::Empty,
        }
    }

    fn op(&mut self) -> Op {
        match self.u8() % OP_KINDS {
            0 => Op::Ping(self.u64()),
            1 => Op::Hello { version: self.u16(), min_version: self.u16(), features: self.u64() },
            2 => Op::Register { name: self.name(), password: self.password(), device: self.str() },
            3 => Op::Login { name: self.name(), password: self.password(), device: self.str() },
            4 => Op::Authenticate(self.token()),
            5 => Op::Logout,
            6 => Op::ListDevices,
            7 => Op::RevokeDevice(self.device()),
            8 => Op::LookupUser(self.name()),
            9 => Op::GetUsers(self.users()),
            10 => Op::CreateDirect { peer: self.user(), by_name: self.bool() },
            11 => Op::CreateGroup { title: self.str(), members: self.users() },
            12 => Op::AddMembers { chat: self.chat(), users: self.users() },
            13 => Op::RemoveMember { chat: self.chat(), user: self.user() },
            14 => Op::LeaveChat(self.chat()),
            15 => Op::GetChat(self.chat()),
            16 => Op::ListChats { after: self.chat(), limit: self.u16() },
            17 => Op::Send { chat: self.chat(), cmid: self.cmid(), content: self.content() },
            18 => {
                let n = self.u8() % 8;
                Op::Sync((0..n).map(|_| (self.chat(), self.seq())).collect())
            }
            19 => Op::History { chat: self.chat(), from: self.seq(), forward: self.bool(), limit: self.u16() },
            20 => Op::PeerSend { chat: self.chat(), count: self.u8() % 8 + 1 },
            21 => Op::PeerCreateGroup { with_me: self.bool() },
            22 => Op::PeerAdd { chat: self.chat(), user: self.user() },
            23 => Op::PeerRemove { chat: self.chat(), user: self.user() },
            24 => Op::Settle,
            25 => Op::Raw(self.bytes()),
            26 => Op::Corrupt { at: self.u16(), xor: self.u8() },
            27 => Op::RequestId(self.u64()),
            28 => Op::PingBurst(self.u8() % 32 + 1),
            _ => Op::Pause(self.u8() % 8),
        }
    }
}

/// Decodes an input: the auth mode, then at most [`MAX_OPS`] ops.
pub fn decode(data: &[u8]) -> (AuthMode, Vec<Op>) {
    let mut r = Reader::new(data);
    let auth = match r.u8() % 3 {
        0 => AuthMode::Register,
        1 => AuthMode::Token,
        _ => AuthMode::None,
    };
    let mut ops = Vec::new();
    while !r.is_empty() && ops.len() < MAX_OPS {
        ops.push(r.op());
    }
    (auth, ops)
}

/// Writes the input format (for seeds); `decode(&encode(auth, ops)) == (auth, ops)` for every
/// script whose strings are at most 255 bytes and whose `Raw` frames are at most 65,535 bytes.
pub fn encode(auth: AuthMode, ops: &[Op]) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.u8(match auth {
        AuthMode::Register => 0,
        AuthMode::Token => 1,
        AuthMode::None => 2,
    });
    for op in ops {
        w.op(op);
    }
    w.0
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn bool(&mut self, v: bool) {
        self.u8(v as u8);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        assert!(s.len() <= 255, "seed strings are at most 255 bytes");
        self.u8(s.len() as u8);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u16(u16::try_from(b.len()).expect("raw frames in seeds are at most 65,535 bytes"));
        self.0.extend_from_slice(b);
    }
    fn chat(&mut self, c: ChatRef) {
        match c {
            ChatRef::Known(i) => {
                self.u8(0);
                self.u8(i)
            }
            ChatRef::Newest => self.u8(1),
            ChatRef::Near(d) => {
                self.u8(2);
                self.u8(d as u8)
            }
            ChatRef::Probe => self.u8(3),
            ChatRef::Raw(v) => {
                self.u8(4);
                self.u64(v)
            }
            ChatRef::Zero => self.u8(5),
        }
    }
    fn user(&mut self, u: UserRef) {
        match u {
            UserRef::Me => self.u8(0),
            UserRef::Peer => self.u8(1),
            UserRef::Probe => self.u8(2),
            UserRef::Near(d) => {
                self.u8(3);
                self.u8(d as u8)
            }
            UserRef::Raw(v) => {
                self.u8(4);
                self.u64(v)
            }
            UserRef::Zero => self.u8(5),
        }
    }
    fn users(&mut self, users: &[UserRef]) {
        if users.len() == 255 {
            self.u8(255);
            return;
        }
        assert!(users.len() < 8, "at most 7 users, or exactly 255 (meaning 1,001)");
        self.u8(users.len() as u8);
        for &u in users {
            self.user(u);
        }
    }
    fn device(&mut self, d: DeviceRef) {
        match d {
            DeviceRef::Mine => self.u8(0),
            DeviceRef::Throwaway => self.u8(1),
            DeviceRef::Peer => self.u8(2),
            DeviceRef::Probe => self.u8(3),
            DeviceRef::Near(v) => {
                self.u8(4);
                self.u8(v as u8)
            }
            DeviceRef::Raw(v) => {
                self.u8(5);
                self.u64(v)
            }
        }
    }
    fn seq(&mut self, s: SeqRef) {
        match s {
            SeqRef::Zero => self.u8(0),
            SeqRef::Small(v) => {
                self.u8(1);
                self.u8(v)
            }
            SeqRef::Seen(d) => {
                self.u8(2);
                self.u8(d as u8)
            }
            SeqRef::Raw(v) => {
                self.u8(3);
                self.u64(v)
            }
        }
    }
    fn name(&mut self, n: &Name) {
        match n {
            Name::Me => self.u8(0),
            Name::Peer => self.u8(1),
            Name::Probe => self.u8(2),
            Name::Fixed(v) => {
                self.u8(3);
                self.u8(*v)
            }
            Name::Raw(s) => {
                self.u8(4);
                self.str(s)
            }
        }
    }
    fn password(&mut self, p: &Password) {
        match p {
            Password::Correct => self.u8(0),
            Password::Raw(s) => {
                self.u8(1);
                self.str(s)
            }
        }
    }
    fn token(&mut self, t: &Token) {
        match t {
            Token::Mine => self.u8(0),
            Token::Throwaway => self.u8(1),
            Token::Peer => self.u8(2),
            Token::Raw(s) => {
                self.u8(3);
                self.str(s)
            }
        }
    }
    fn cmid(&mut self, c: &Cmid) {
        match c {
            Cmid::Fixed(v) => {
                self.u8(0);
                self.u8(*v)
            }
            Cmid::Raw(s) => {
                self.u8(1);
                self.str(s)
            }
            Cmid::Long(n) => {
                self.u8(2);
                self.u8(*n)
            }
        }
    }
    fn content(&mut self, c: &Content) {
        match c {
            Content::Text(s) => {
                self.u8(0);
                self.str(s)
            }
            Content::Repeat { multibyte, len } => {
                self.u8(1);
                self.bool(*multibyte);
                self.u16(*len)
            }
            Content::Empty => self.u8(2),
        }
    }

    fn op(&mut self, op: &Op) {
        match op {
            Op::Ping(n) => {
                self.u8(0);
                self.u64(*n)
            }
            Op::Hello { version, min_version, features } => {
                self.u8(1);
                self.u16(*version);
                self.u16(*min_version);
                self.u64(*features)
            }
            Op::Register { name, password, device } => {
                self.u8(2);
                self.name(name);
                self.password(password);
                self.str(device)
            }
            Op::Login { name, password, device } => {
                self.u8(3);
                self.name(name);
                self.password(password);
                self.str(device)
            }
            Op::Authenticate(t) => {
                self.u8(4);
                self.token(t)
            }
            Op::Logout => self.u8(5),
            Op::ListDevices => self.u8(6),
            Op::RevokeDevice(d) => {
                self.u8(7);
                self.device(*d)
            }
            Op::LookupUser(n) => {
                self.u8(8);
                self.name(n)
            }
            Op::GetUsers(u) => {
                self.u8(9);
                self.users(u)
            }
            Op::CreateDirect { peer, by_name } => {
                self.u8(10);
                self.user(*peer);
                self.bool(*by_name)
            }
            Op::CreateGroup { title, members } => {
                self.u8(11);
                self.str(title);
                self.users(members)
            }
            Op::AddMembers { chat, users } => {
                self.u8(12);
                self.chat(*chat);
                self.users(users)
            }
            Op::RemoveMember { chat, user } => {
                self.u8(13);
                self.chat(*chat);
                self.user(*user)
            }
            Op::LeaveChat(c) => {
                self.u8(14);
                self.chat(*c)
            }
            Op::GetChat(c) => {
                self.u8(15);
                self.chat(*c)
            }
            Op::ListChats { after, limit } => {
                self.u8(16);
                self.chat(*after);
                self.u16(*limit)
            }
            Op::Send { chat, cmid, content } => {
                self.u8(17);
                self.chat(*chat);
                self.cmid(cmid);
                self.content(content)
            }
            Op::Sync(cursors) => {
                assert!(cursors.len() < 8, "at most 7 cursors");
                self.u8(18);
                self.u8(cursors.len() as u8);
                for &(c, s) in cursors {
                    self.chat(c);
                    self.seq(s);
                }
            }
            Op::History { chat, from, forward, limit } => {
                self.u8(19);
                self.chat(*chat);
                self.seq(*from);
                self.bool(*forward);
                self.u16(*limit)
            }
            Op::PeerSend { chat, count } => {
                assert!((1..=8).contains(count));
                self.u8(20);
                self.chat(*chat);
                self.u8(count - 1)
            }
            Op::PeerCreateGroup { with_me } => {
                self.u8(21);
                self.bool(*with_me)
            }
            Op::PeerAdd { chat, user } => {
                self.u8(22);
                self.chat(*chat);
                self.user(*user)
            }
            Op::PeerRemove { chat, user } => {
                self.u8(23);
                self.chat(*chat);
                self.user(*user)
            }
            Op::Settle => self.u8(24),
            Op::Raw(b) => {
                self.u8(25);
                self.bytes(b)
            }
            Op::Corrupt { at, xor } => {
                self.u8(26);
                self.u16(*at);
                self.u8(*xor)
            }
            Op::RequestId(r) => {
                self.u8(27);
                self.u64(*r)
            }
            Op::PingBurst(n) => {
                assert!((1..=32).contains(n));
                self.u8(28);
                self.u8(n - 1)
            }
            Op::Pause(ms) => {
                assert!(*ms < 8);
                self.u8(29);
                self.u8(*ms)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_string_decodes_and_scripts_round_trip() {
        for data in [&b""[..], &[0], &[2, 255, 255, 255], &[1; 300], &[29; 7]] {
            let (auth, ops) = decode(data);
            assert!(ops.len() <= MAX_OPS);
            let again = encode(auth, &ops);
            assert_eq!(decode(&again), (auth, ops));
        }
    }
}
