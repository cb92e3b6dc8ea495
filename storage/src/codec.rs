//! Hand-written, versioned binary codec for the record *values* stored in RocksDB.
//!
//! Why hand-written: the records are tiny, their layout must stay stable on disk for years,
//! and every byte read back from disk (or from a damaged backup) is untrusted input. A few
//! explicit functions are easy to audit and to fuzz, and they never allocate more than the
//! input can justify.
//!
//! Layout rules (all versions):
//! - byte 0 is the record's format version ([`VERSION`]); unknown versions are rejected, so a
//!   future layout change bumps the version and adds a decoder branch;
//! - fixed-width integers are big-endian;
//! - strings and byte strings are a LEB128 length (at most 10 bytes, must fit in `u64`)
//!   followed by that many bytes; strings must be UTF-8;
//! - a record must be consumed exactly: trailing bytes are an error.
//!
//! Every `decode_*` function returns a [`CodecError`] on bad input and never panics.
//! Chat-log events are *not* encoded here: the log stores the wire FlatBuffer bytes verbatim.

use crate::types::{
    BroadcastListRecord, ChatHead, ChatKind, ChatMeta, ChatPrefs, ChatProfile, DedupRecord, DeviceRecord, EditRef,
    InviteRecord, LivePosition, MemberRecord, MessageLocation, MessageStateRecord, Role, UserRecord,
};

/// Current format version written by every `encode_*` function.
pub const VERSION: u8 = 1;

/// Why a value (or key) could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The input ended before the field `what` was complete.
    #[error("truncated {what}: need {need} more bytes, {have} left")]
    Truncated {
        /// Field being read.
        what: &'static str,
        /// Bytes the field needs.
        need: u64,
        /// Bytes left in the input.
        have: usize,
    },
    /// The record starts with a version this build does not know.
    #[error("unsupported {what} version {version}")]
    Version {
        /// Record type.
        what: &'static str,
        /// Version byte found.
        version: u8,
    },
    /// A string field is not valid UTF-8.
    #[error("invalid UTF-8 in {what}")]
    Utf8 {
        /// Field being read.
        what: &'static str,
    },
    /// A length prefix is malformed (too long a varint, or overflows `u64`).
    #[error("malformed length prefix for {what}")]
    BadLength {
        /// Field being read.
        what: &'static str,
    },
    /// An enumeration byte has no meaning.
    #[error("invalid {what} value {value}")]
    InvalidEnum {
        /// Enumeration type.
        what: &'static str,
        /// Byte found.
        value: u8,
    },
    /// The record was decoded but bytes remain.
    #[error("{extra} trailing bytes after {what}")]
    Trailing {
        /// Record type.
        what: &'static str,
        /// Number of unread bytes.
        extra: usize,
    },
    /// A key does not have the length its column family requires.
    #[error("bad {what} key length {len}")]
    KeyLength {
        /// Key type.
        what: &'static str,
        /// Length found.
        len: usize,
    },
    /// A key has the right length but violates its column family's invariant.
    #[error("invalid {what} key")]
    InvalidKey {
        /// Key type and violated invariant.
        what: &'static str,
    },
}

/// Result of a decode.
pub type CodecResult<T> = std::result::Result<T, CodecError>;

// ---------------------------------------------------------------------------------------------
// Primitive writer / reader
// ---------------------------------------------------------------------------------------------

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Bounds-checked cursor over an input slice.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn take(&mut self, n: u64, what: &'static str) -> CodecResult<&'a [u8]> {
        if n > self.buf.len() as u64 {
            return Err(CodecError::Truncated {
                what,
                need: n,
                have: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n as usize);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> CodecResult<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N as u64, what)?);
        Ok(a)
    }

    fn u8(&mut self, what: &'static str) -> CodecResult<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u64(&mut self, what: &'static str) -> CodecResult<u64> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    fn i64(&mut self, what: &'static str) -> CodecResult<i64> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    fn varint(&mut self, what: &'static str) -> CodecResult<u64> {
        let mut v: u64 = 0;
        for i in 0..10u32 {
            let b = self.u8(what)?;
            let bits = u64::from(b & 0x7f);
            // The 10th byte may only contribute the single top bit of a u64.
            if i == 9 && bits > 1 {
                return Err(CodecError::BadLength { what });
            }
            v |= bits << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CodecError::BadLength { what })
    }

    fn bytes(&mut self, what: &'static str) -> CodecResult<&'a [u8]> {
        let n = self.varint(what)?;
        self.take(n, what)
    }

    fn string(&mut self, what: &'static str) -> CodecResult<String> {
        let b = self.bytes(what)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| CodecError::Utf8 { what })
    }

    fn version(&mut self, what: &'static str) -> CodecResult<()> {
        match self.u8(what)? {
            VERSION => Ok(()),
            version => Err(CodecError::Version { what, version }),
        }
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn finish(self, what: &'static str) -> CodecResult<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(CodecError::Trailing {
                what,
                extra: self.buf.len(),
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Enumerations
// ---------------------------------------------------------------------------------------------

/// On-disk byte for a [`ChatKind`]: 0 direct, 1 group, 2 channel.
pub fn chat_kind_to_u8(kind: ChatKind) -> u8 {
    match kind {
        ChatKind::Direct => 0,
        ChatKind::Group => 1,
        ChatKind::Channel => 2,
    }
}

/// Inverse of [`chat_kind_to_u8`].
pub fn chat_kind_from_u8(v: u8) -> CodecResult<ChatKind> {
    match v {
        0 => Ok(ChatKind::Direct),
        1 => Ok(ChatKind::Group),
        2 => Ok(ChatKind::Channel),
        value => Err(CodecError::InvalidEnum {
            what: "chat kind",
            value,
        }),
    }
}

/// On-disk byte for a [`Role`]: 0 member, 1 admin, 2 owner.
pub fn role_to_u8(role: Role) -> u8 {
    match role {
        Role::Member => 0,
        Role::Admin => 1,
        Role::Owner => 2,
    }
}

/// Inverse of [`role_to_u8`].
pub fn role_from_u8(v: u8) -> CodecResult<Role> {
    match v {
        0 => Ok(Role::Member),
        1 => Ok(Role::Admin),
        2 => Ok(Role::Owner),
        value => Err(CodecError::InvalidEnum {
            what: "role",
            value,
        }),
    }
}

/// Value stored in the `members` column family: the single role byte (no version: the
/// value is one enumeration byte, and a new role is a new byte value).
pub fn encode_role(role: Role) -> [u8; 1] {
    [role_to_u8(role)]
}

/// `members` value: the role byte, then the member's `since_seq` (8 bytes, big-endian). A
/// value of the role byte alone (written before joins were recorded) reads as since 0.
pub fn encode_member(m: &MemberRecord) -> [u8; 9] {
    let mut out = [0u8; 9];
    out[0] = role_to_u8(m.role);
    out[1..].copy_from_slice(&m.since_seq.to_be_bytes());
    out
}

/// Decodes a `members` value.
pub fn decode_member(buf: &[u8]) -> CodecResult<MemberRecord> {
    match buf {
        [b] => Ok(MemberRecord { role: role_from_u8(*b)?, since_seq: 0 }),
        [b, rest @ ..] if rest.len() == 8 => {
            Ok(MemberRecord { role: role_from_u8(*b)?, since_seq: decode_u64_value(rest, "member since_seq")? })
        }
        _ => decode_role(buf).map(|role| MemberRecord { role, since_seq: 0 }),
    }
}

/// Decodes the role byte of a `members` value.
pub fn decode_role(buf: &[u8]) -> CodecResult<Role> {
    match buf {
        [b] => role_from_u8(*b),
        [b, rest @ ..] if rest.len() == 8 => role_from_u8(*b),
        [] => Err(CodecError::Truncated {
            what: "role",
            need: 1,
            have: 0,
        }),
        [_, rest @ ..] => Err(CodecError::Trailing {
            what: "role",
            extra: rest.len(),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Plain u64 values (direct-chat index, username/token indexes, id allocator state)
// ---------------------------------------------------------------------------------------------

/// A bare big-endian `u64` value (index targets such as a user id or chat id).
pub fn encode_u64_value(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

/// Decodes a bare big-endian `u64` value; the input must be exactly 8 bytes.
pub fn decode_u64_value(buf: &[u8], what: &'static str) -> CodecResult<u64> {
    let mut r = Reader::new(buf);
    let v = r.u64(what)?;
    r.finish(what)?;
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/// `users` value: version, user_id, created_ms, username, password_hash.
pub fn encode_user(u: &UserRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 16 + 2 + u.username.len() + u.password_hash.len() + 4);
    out.push(VERSION);
    put_u64(&mut out, u.user_id);
    put_i64(&mut out, u.created_ms);
    put_bytes(&mut out, u.username.as_bytes());
    put_bytes(&mut out, u.password_hash.as_bytes());
    out
}

/// Decodes a `users` value.
pub fn decode_user(buf: &[u8]) -> CodecResult<UserRecord> {
    const WHAT: &str = "user record";
    let mut r = Reader::new(buf);
    r.version(WHAT)?;
    let user_id = r.u64("user_id")?;
    let created_ms = r.i64("created_ms")?;
    let username = r.string("username")?;
    let password_hash = r.string("password_hash")?;
    r.finish(WHAT)?;
    Ok(UserRecord {
        user_id,
        username,
        password_hash,
        created_ms,
    })
}

/// `devices` value: version, device_id, user_id, created_ms, token_hash (32 bytes), name.
pub fn encode_device(d: &DeviceRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 24 + 32 + 2 + d.name.len());
    out.push(VERSION);
    put_u64(&mut out, d.device_id);
    put_u64(&mut out, d.user_id);
    put_i64(&mut out, d.created_ms);
    out.extend_from_slice(&d.token_hash);
    put_bytes(&mut out, d.name.as_bytes());
    out
}

/// Decodes a `devices` value.
pub fn decode_device(buf: &[u8]) -> CodecResult<DeviceRecord> {
    const WHAT: &str = "device record";
    let mut r = Reader::new(buf);
    r.version(WHAT)?;
    let device_id = r.u64("device_id")?;
    let user_id = r.u64("user_id")?;
    let created_ms = r.i64("created_ms")?;
    let token_hash = r.array::<32>("token_hash")?;
    let name = r.string("device name")?;
    r.finish(WHAT)?;
    Ok(DeviceRecord {
        device_id,
        user_id,
        name,
        token_hash,
        created_ms,
    })
}

/// `chats` value, version 2: version, chat_id, kind, created_ms, created_by, title, then the
/// profile: description, avatar_ref, handle, settings bytes. Version 1 (no profile) still reads.
pub fn encode_chat(c: &ChatMeta) -> Vec<u8> {
    let p = &c.profile;
    let mut out = Vec::with_capacity(1 + 8 + 1 + 16 + 8 + c.title.len() + p.description.len() + p.avatar_ref.len() + p.handle.len() + p.settings.len());
    out.push(CHAT_VERSION);
    put_u64(&mut out, c.chat_id);
    out.push(chat_kind_to_u8(c.kind));
    put_i64(&mut out, c.created_ms);
    put_u64(&mut out, c.created_by);
    put_bytes(&mut out, c.title.as_bytes());
    put_bytes(&mut out, p.description.as_bytes());
    put_bytes(&mut out, p.avatar_ref.as_bytes());
    put_bytes(&mut out, p.handle.as_bytes());
    put_bytes(&mut out, &p.settings);
    out
}

/// The `chats` record version [`encode_chat`] writes.
const CHAT_VERSION: u8 = 2;

/// Decodes a `chats` value.
pub fn decode_chat(buf: &[u8]) -> CodecResult<ChatMeta> {
    const WHAT: &str = "chat record";
    let mut r = Reader::new(buf);
    let version = r.u8(WHAT)?;
    if version != VERSION && version != CHAT_VERSION {
        return Err(CodecError::Version { what: WHAT, version });
    }
    let chat_id = r.u64("chat_id")?;
    let kind = chat_kind_from_u8(r.u8("chat kind")?)?;
    let created_ms = r.i64("created_ms")?;
    let created_by = r.u64("created_by")?;
    let title = r.string("title")?;
    let profile = if version == CHAT_VERSION {
        ChatProfile {
            description: r.string("description")?,
            avatar_ref: r.string("avatar_ref")?,
            handle: r.string("handle")?,
            settings: r.bytes("settings")?.to_vec(),
        }
    } else {
        ChatProfile::default()
    };
    r.finish(WHAT)?;
    Ok(ChatMeta {
        chat_id,
        kind,
        title,
        created_ms,
        created_by,
        profile,
    })
}

/// Encoded length of a dedup record (fixed).
pub const DEDUP_RECORD_LEN: usize = 1 + 8 * 4;

/// `dedup` value: version, chat_id, seq, message_id, time_ms (33 bytes).
pub fn encode_dedup(d: &DedupRecord) -> [u8; DEDUP_RECORD_LEN] {
    let mut out = [0u8; DEDUP_RECORD_LEN];
    out[0] = VERSION;
    out[1..9].copy_from_slice(&d.chat_id.to_be_bytes());
    out[9..17].copy_from_slice(&d.seq.to_be_bytes());
    out[17..25].copy_from_slice(&d.message_id.to_be_bytes());
    out[25..33].copy_from_slice(&d.time_ms.to_be_bytes());
    out
}

/// Decodes a `dedup` value.
pub fn decode_dedup(buf: &[u8]) -> CodecResult<DedupRecord> {
    const WHAT: &str = "dedup record";
    let mut r = Reader::new(buf);
    r.version(WHAT)?;
    let chat_id = r.u64("chat_id")?;
    let seq = r.u64("seq")?;
    let message_id = r.u64("message_id")?;
    let time_ms = r.i64("time_ms")?;
    r.finish(WHAT)?;
    Ok(DedupRecord {
        chat_id,
        seq,
        message_id,
        time_ms,
    })
}

/// Encoded length of a chat head and of a message location (fixed).
pub const PAIR_RECORD_LEN: usize = 1 + 8 * 2;

fn encode_pair(a: u64, b: u64) -> [u8; PAIR_RECORD_LEN] {
    let mut out = [0u8; PAIR_RECORD_LEN];
    out[0] = VERSION;
    out[1..9].copy_from_slice(&a.to_be_bytes());
    out[9..17].copy_from_slice(&b.to_be_bytes());
    out
}

fn decode_pair(buf: &[u8], what: &'static str, a: &'static str, b: &'static str) -> CodecResult<(u64, u64)> {
    let mut r = Reader::new(buf);
    r.version(what)?;
    let pair = (r.u64(a)?, r.u64(b)?);
    r.finish(what)?;
    Ok(pair)
}

/// `chat_heads` value: version, at_seq, last_message_seq, then member_count (25 bytes; heads
/// of 17 bytes, written before counts were kept, read with no count).
pub fn encode_chat_head(h: &ChatHead) -> Vec<u8> {
    let mut out = encode_pair(h.at_seq, h.last_message_seq).to_vec();
    if let Some(n) = h.member_count {
        put_u64(&mut out, n);
    }
    out
}

/// Decodes a `chat_heads` value.
pub fn decode_chat_head(buf: &[u8]) -> CodecResult<ChatHead> {
    let (pair, count) = if buf.len() > PAIR_RECORD_LEN { buf.split_at(PAIR_RECORD_LEN) } else { (buf, &[][..]) };
    let (at_seq, last_message_seq) = decode_pair(pair, "chat head", "at_seq", "last_message_seq")?;
    let member_count = if count.is_empty() { None } else { Some(decode_u64_value(count, "chat head member_count")?) };
    Ok(ChatHead { at_seq, last_message_seq, member_count })
}

/// `chat_prefs` value: version, muted_until_ms, pin_rank, flags (bit 0 archived, bit 1 marked
/// unread).
pub fn encode_chat_prefs(p: &ChatPrefs) -> Vec<u8> {
    let mut out = Vec::with_capacity(18);
    out.push(VERSION);
    put_i64(&mut out, p.muted_until_ms);
    put_u64(&mut out, p.pin_rank);
    out.push(u8::from(p.archived) | (u8::from(p.marked_unread) << 1));
    out
}

/// Decodes a `chat_prefs` value.
pub fn decode_chat_prefs(buf: &[u8]) -> CodecResult<ChatPrefs> {
    const WHAT: &str = "chat prefs";
    let mut r = Reader::new(buf);
    r.version(WHAT)?;
    let muted_until_ms = r.i64("muted_until_ms")?;
    let pin_rank = r.u64("pin_rank")?;
    let flags = r.u8("flags")?;
    r.finish(WHAT)?;
    if flags > 3 {
        return Err(CodecError::InvalidEnum { what: "chat prefs flags", value: flags });
    }
    Ok(ChatPrefs { muted_until_ms, pin_rank, archived: flags & 1 != 0, marked_unread: flags & 2 != 0 })
}

/// `invites` value: version, chat_id, created_by, created_ms, expires_ms, max_uses, uses,
/// revoked, code.
pub fn encode_invite(i: &InviteRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + i.code.len());
    out.push(VERSION);
    put_u64(&mut out, i.chat_id);
    put_u64(&mut out, i.created_by);
    put_i64(&mut out, i.created_ms);
    put_i64(&mut out, i.expires_ms);
    put_varint(&mut out, u64::from(i.max_uses));
    put_varint(&mut out, u64::from(i.uses));
    out.push(u8::from(i.revoked));
    put_bytes(&mut out, i.code.as_bytes());
    out
}

/// Decodes an `invites` value.
pub fn decode_invite(buf: &[u8]) -> CodecResult<InviteRecord> {
    const WHAT: &str = "invite";
    let mut r = Reader::new(buf);
    r.version(WHAT)?;
    let chat_id = r.u64("chat_id")?;
    let created_by = r.u64("created_by")?;
    let created_ms = r.i64("created_ms")?;
    let expires_ms = r.i64("expires_ms")?;
    let small = |v: u64, what| u32::try_from(v).map_err(|_| CodecError::BadLength { what });
    let max_uses = small(r.varint("max_uses")?, "max_uses")?;
    let uses = small(r.varint("uses")?, "uses")?;
    let revoked = match r.u8("revoked")? {
        0 => false,
        1 => true,
        value => return Err(CodecError::InvalidEnum { what: "invite revoked", value }),
    };
    let code = r.string("code")?;
    r.finish(WHAT)?;
    Ok(InviteRecord { code, chat_id, created_by, created_ms, expires_ms, max_uses, uses, revoked })
}

/// `broadcast_lists` value: version, name, recipient count, recipients (8 bytes each).
pub fn encode_broadcast_list(l: &BroadcastListRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + l.name.len() + 8 * l.recipients.len());
    out.push(VERSION);
    put_u64(&mut out, l.list_id);
    put_bytes(&mut out, l.name.as_bytes());
    put_varint(&mut out, l.recipients.len() as u64);
    for &r in &l.recipients {
        put_u64(&mut out, r);
    }
    out
}

/// Decodes a `broadcast_lists` value.
pub fn decode_broadcast_list(buf: &[u8]) -> CodecResult<BroadcastListRecord> {
    const WHAT: &str = "broadcast list";
    let mut r = Reader::new(buf);
    r.version(WHAT)?;
    let list_id = r.u64("list_id")?;
    let name = r.string("name")?;
    let n = r.varint("recipient count")?;
    let bytes = r.take(n.saturating_mul(8), "recipients")?;
    let recipients = bytes.chunks_exact(8).map(|c| u64::from_be_bytes(c.try_into().expect("8 bytes"))).collect();
    r.finish(WHAT)?;
    Ok(BroadcastListRecord { list_id, name, recipients })
}

/// `message_ids` value: version, chat_id, seq (17 bytes).
pub fn encode_message_location(l: &MessageLocation) -> [u8; PAIR_RECORD_LEN] {
    encode_pair(l.chat_id, l.seq)
}

/// Decodes a `message_ids` value.
pub fn decode_message_location(buf: &[u8]) -> CodecResult<MessageLocation> {
    let (chat_id, seq) = decode_pair(buf, "message location", "chat_id", "seq")?;
    Ok(MessageLocation { chat_id, seq })
}

/// `message_states` value: version; edits (count, then seq, device, time each); content;
/// mentions (count, then 8 bytes each); deleted; reactions (count, then emoji and count each);
/// pinned_ms; live position (0, or 1 then latitude and longitude as f64 bits, accuracy as f32
/// bits, stopped_ms); replies (count, then 8 bytes each).
pub fn encode_message_state(m: &MessageStateRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + m.content.len() + 24 * m.edits.len() + 8 * (m.mentions.len() + m.replies.len()));
    out.push(VERSION);
    put_varint(&mut out, m.edits.len() as u64);
    for e in &m.edits {
        put_u64(&mut out, e.seq);
        put_u64(&mut out, e.device_id);
        put_i64(&mut out, e.time_ms);
    }
    put_bytes(&mut out, m.content.as_bytes());
    put_ids(&mut out, &m.mentions);
    out.push(u8::from(m.deleted));
    put_varint(&mut out, m.reactions.len() as u64);
    for (emoji, n) in &m.reactions {
        put_bytes(&mut out, emoji.as_bytes());
        put_varint(&mut out, u64::from(*n));
    }
    put_i64(&mut out, m.pinned_ms);
    match &m.live {
        None => out.push(0),
        Some(p) => {
            out.push(1);
            put_u64(&mut out, p.latitude.to_bits());
            put_u64(&mut out, p.longitude.to_bits());
            out.extend_from_slice(&p.accuracy_m.to_bits().to_be_bytes());
            put_i64(&mut out, p.stopped_ms);
        }
    }
    put_ids(&mut out, &m.replies);
    out
}

fn put_ids(out: &mut Vec<u8>, ids: &[u64]) {
    put_varint(out, ids.len() as u64);
    ids.iter().for_each(|&id| put_u64(out, id));
}

fn read_bool(r: &mut Reader<'_>, what: &'static str) -> CodecResult<bool> {
    match r.u8(what)? {
        0 => Ok(false),
        1 => Ok(true),
        value => Err(CodecError::InvalidEnum { what, value }),
    }
}

fn read_ids(r: &mut Reader<'_>, what: &'static str) -> CodecResult<Vec<u64>> {
    let n = r.varint(what)?;
    let bytes = r.take(n.saturating_mul(8), what)?;
    Ok(bytes.chunks_exact(8).map(|c| u64::from_be_bytes(c.try_into().expect("8 bytes"))).collect())
}

/// Decodes a `message_states` value.
pub fn decode_message_state(buf: &[u8]) -> CodecResult<MessageStateRecord> {
    const WHAT: &str = "message state";
    let mut r = Reader::new(buf);
    r.version(WHAT)?;
    let n = r.varint("edit count")?;
    // Each edit takes 24 bytes: the count cannot promise more than the input holds.
    let mut edits = Vec::with_capacity(usize::try_from(n.min(buf.len() as u64 / 24)).unwrap_or(0));
    for _ in 0..n {
        edits.push(EditRef { seq: r.u64("edit seq")?, device_id: r.u64("edit device")?, time_ms: r.i64("edit time")? });
    }
    let content = r.string("content")?;
    let mentions = read_ids(&mut r, "mentions")?;
    let deleted = read_bool(&mut r, "deleted")?;
    let n = r.varint("reaction count")?;
    let mut reactions = Vec::new();
    for _ in 0..n {
        let emoji = r.string("emoji")?;
        let count = u32::try_from(r.varint("reaction total")?).map_err(|_| CodecError::BadLength { what: "reaction total" })?;
        reactions.push((emoji, count));
    }
    let pinned_ms = r.i64("pinned_ms")?;
    let live = match r.u8("live")? {
        0 => None,
        1 => Some(LivePosition {
            latitude: f64::from_bits(r.u64("latitude")?),
            longitude: f64::from_bits(r.u64("longitude")?),
            accuracy_m: f32::from_bits(u32::from_be_bytes(r.array("accuracy")?)),
            stopped_ms: r.i64("stopped_ms")?,
        }),
        value => return Err(CodecError::InvalidEnum { what: "live", value }),
    };
    let replies = read_ids(&mut r, "replies")?;
    r.finish(WHAT)?;
    Ok(MessageStateRecord { edits, content, mentions, deleted, reactions, pinned_ms, live, replies })
}

/// `reactions` value: version, then each emoji (the user's reactions to one message).
pub fn encode_emojis(emojis: &[String]) -> Vec<u8> {
    let mut out = vec![VERSION];
    emojis.iter().for_each(|e| put_bytes(&mut out, e.as_bytes()));
    out
}

/// Decodes a `reactions` value.
pub fn decode_emojis(buf: &[u8]) -> CodecResult<Vec<String>> {
    let mut r = Reader::new(buf);
    r.version("reactions")?;
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(r.string("emoji")?);
    }
    Ok(out)
}

/// `mentions` value: where the message is (version, chat_id, seq).
pub fn encode_mention(l: &MessageLocation) -> [u8; PAIR_RECORD_LEN] {
    encode_pair(l.chat_id, l.seq)
}

/// Decodes a `mentions` value.
pub fn decode_mention(buf: &[u8]) -> CodecResult<MessageLocation> {
    decode_message_location(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_heads_and_message_locations_round_trip_and_reject_bad_lengths() {
        let h = ChatHead { at_seq: 7, last_message_seq: 5, member_count: Some(100_000) };
        assert_eq!(decode_chat_head(&encode_chat_head(&h)).unwrap(), h);
        // A head written before counts were kept reads with no count.
        let old = ChatHead { member_count: None, ..h };
        assert_eq!(encode_chat_head(&old).len(), PAIR_RECORD_LEN);
        assert_eq!(decode_chat_head(&encode_chat_head(&old)).unwrap(), old);
        let l = MessageLocation { chat_id: 3, seq: u64::MAX };
        assert_eq!(decode_message_location(&encode_message_location(&l)).unwrap(), l);
        let enc = encode_chat_head(&h);
        assert!(decode_chat_head(&enc[..PAIR_RECORD_LEN - 1]).is_err());
        assert!(decode_chat_head(&enc[..PAIR_RECORD_LEN + 3]).is_err());
        let mut long = enc.to_vec();
        long.push(0);
        assert!(decode_chat_head(&long).is_err());
    }

    fn user() -> UserRecord {
        UserRecord {
            user_id: 42,
            username: "ålice".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            created_ms: -5,
        }
    }

    fn device() -> DeviceRecord {
        DeviceRecord {
            device_id: u64::MAX,
            user_id: 7,
            name: String::new(),
            token_hash: [0xAB; 32],
            created_ms: 1_700_000_000_000,
        }
    }

    fn chat() -> ChatMeta {
        ChatMeta {
            chat_id: 9,
            kind: ChatKind::Group,
            title: "x".repeat(300),
            created_ms: 3,
            created_by: 42,
            profile: ChatProfile {
                description: "about".into(),
                avatar_ref: "media:1".into(),
                handle: "friends".into(),
                settings: vec![1, 1, 1, 1, 1, 0, 1],
            },
        }
    }

    #[test]
    fn version_1_chat_records_still_read() {
        let c = chat();
        let mut v1 = vec![VERSION];
        put_u64(&mut v1, c.chat_id);
        v1.push(chat_kind_to_u8(c.kind));
        put_i64(&mut v1, c.created_ms);
        put_u64(&mut v1, c.created_by);
        put_bytes(&mut v1, c.title.as_bytes());
        assert_eq!(decode_chat(&v1).unwrap(), ChatMeta { profile: ChatProfile::default(), ..c });
    }

    #[test]
    fn members_with_join_points_and_old_role_bytes() {
        let m = MemberRecord { role: Role::Owner, since_seq: 77 };
        assert_eq!(decode_member(&encode_member(&m)).unwrap(), m);
        assert_eq!(decode_role(&encode_member(&m)).unwrap(), Role::Owner);
        assert_eq!(decode_member(&[1]).unwrap(), MemberRecord { role: Role::Admin, since_seq: 0 });
        assert!(decode_member(&[3]).is_err());
        assert!(decode_member(&[0, 1, 2]).is_err());
    }

    #[test]
    fn conversation_records_round_trip_and_reject_truncation() {
        let p = ChatPrefs { muted_until_ms: i64::MAX, pin_rank: 3, archived: true, marked_unread: true };
        let enc = encode_chat_prefs(&p);
        assert_eq!(decode_chat_prefs(&enc).unwrap(), p);
        check_truncations(&enc, decode_chat_prefs);
        let mut bad = enc.clone();
        *bad.last_mut().unwrap() = 4;
        assert!(decode_chat_prefs(&bad).is_err());

        let i = InviteRecord { code: "AbC123".into(), chat_id: 9, created_by: 1, created_ms: 2, expires_ms: 3, max_uses: 70_000, uses: 1, revoked: true };
        let enc = encode_invite(&i);
        assert_eq!(decode_invite(&enc).unwrap(), i);
        check_truncations(&enc, decode_invite);

        let l = BroadcastListRecord { list_id: 5, name: "family".into(), recipients: vec![3, 1, 2] };
        let enc = encode_broadcast_list(&l);
        assert_eq!(decode_broadcast_list(&enc).unwrap(), l);
        check_truncations(&enc, decode_broadcast_list);
    }

    fn dedup() -> DedupRecord {
        DedupRecord {
            chat_id: 1,
            seq: 2,
            message_id: 3,
            time_ms: i64::MIN,
        }
    }

    /// Every strict prefix of a valid encoding must fail, as must any extension.
    fn check_truncations<T: std::fmt::Debug>(enc: &[u8], dec: impl Fn(&[u8]) -> CodecResult<T>) {
        for n in 0..enc.len() {
            assert!(dec(&enc[..n]).is_err(), "prefix of len {n} decoded");
        }
        let mut longer = enc.to_vec();
        longer.push(0);
        assert!(matches!(
            dec(&longer).unwrap_err(),
            CodecError::Trailing { extra: 1, .. }
        ));
    }

    #[test]
    fn user_round_trip_and_truncation() {
        let u = user();
        let enc = encode_user(&u);
        assert_eq!(decode_user(&enc).unwrap(), u);
        check_truncations(&enc, decode_user);
    }

    #[test]
    fn device_round_trip_and_truncation() {
        let d = device();
        let enc = encode_device(&d);
        assert_eq!(decode_device(&enc).unwrap(), d);
        check_truncations(&enc, decode_device);
    }

    #[test]
    fn chat_round_trip_and_truncation() {
        for kind in [ChatKind::Direct, ChatKind::Group] {
            let c = ChatMeta { kind, ..chat() };
            let enc = encode_chat(&c);
            assert_eq!(decode_chat(&enc).unwrap(), c);
            check_truncations(&enc, decode_chat);
        }
    }

    #[test]
    fn dedup_round_trip_and_truncation() {
        let d = dedup();
        let enc = encode_dedup(&d);
        assert_eq!(decode_dedup(&enc).unwrap(), d);
        check_truncations(&enc, decode_dedup);
    }

    #[test]
    fn role_and_u64_values() {
        for r in [Role::Member, Role::Admin, Role::Owner] {
            assert_eq!(decode_role(&encode_role(r)).unwrap(), r);
        }
        assert!(decode_role(&[]).is_err());
        assert!(decode_role(&[3]).is_err());
        assert!(decode_role(&[0, 0]).is_err());
        assert_eq!(decode_u64_value(&encode_u64_value(77), "x").unwrap(), 77);
        assert!(decode_u64_value(&[1, 2, 3], "x").is_err());
        assert!(decode_u64_value(&[0; 9], "x").is_err());
    }

    #[test]
    fn unknown_version_is_rejected() {
        let mut enc = encode_user(&user());
        enc[0] = 2;
        assert_eq!(
            decode_user(&enc).unwrap_err(),
            CodecError::Version {
                what: "user record",
                version: 2
            }
        );
    }

    #[test]
    fn invalid_enum_and_utf8_are_rejected() {
        let mut enc = encode_chat(&chat());
        enc[9] = 7; // kind byte
        assert!(matches!(
            decode_chat(&enc).unwrap_err(),
            CodecError::InvalidEnum { value: 7, .. }
        ));

        let mut u = encode_user(&UserRecord {
            username: "ab".into(),
            ..user()
        });
        // version(1) + id(8) + created(8) + len(1) => username bytes start at 18
        u[18] = 0xFF;
        assert!(matches!(
            decode_user(&u).unwrap_err(),
            CodecError::Utf8 { .. }
        ));
    }

    #[test]
    fn huge_or_malformed_lengths_are_rejected_without_allocating() {
        // version, id, created, then a varint claiming u64::MAX bytes.
        let mut buf = vec![VERSION];
        buf.extend_from_slice(&[0; 16]);
        put_varint(&mut buf, u64::MAX);
        assert!(matches!(
            decode_user(&buf).unwrap_err(),
            CodecError::Truncated { .. }
        ));
        // An 11-byte varint (all continuation bits) is malformed.
        let mut buf = vec![VERSION];
        buf.extend_from_slice(&[0; 16]);
        buf.extend_from_slice(&[0xFF; 11]);
        assert!(matches!(
            decode_user(&buf).unwrap_err(),
            CodecError::BadLength { .. }
        ));
        // A 10th varint byte carrying more than one bit overflows u64.
        let mut buf = vec![VERSION];
        buf.extend_from_slice(&[0; 16]);
        buf.extend_from_slice(&[0xFF; 9]);
        buf.push(0x02);
        assert!(matches!(
            decode_user(&buf).unwrap_err(),
            CodecError::BadLength { .. }
        ));
    }

    #[test]
    fn varint_round_trip() {
        for v in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX - 1, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut r = Reader::new(&out);
            assert_eq!(r.varint("v").unwrap(), v);
            r.finish("v").unwrap();
        }
    }

    /// Deterministic pseudo-random garbage: decoders must return (Ok or Err), never panic.
    #[test]
    fn garbage_never_panics() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 80) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if !buf.is_empty() && next() % 2 == 0 {
                buf[0] = VERSION;
            }
            let _ = decode_user(&buf);
            let _ = decode_device(&buf);
            let _ = decode_chat(&buf);
            let _ = decode_dedup(&buf);
            let _ = decode_role(&buf);
            let _ = decode_u64_value(&buf, "x");
        }
    }
}
