//! Plain values for a message and the tables around it (attachments, the quote of a reply, the
//! origin of a forwarded copy, a message's state now), read from and built into FlatBuffers in
//! one place, so the engine, the clients and the tools never walk these tables field by field.

use crate::fb;
use crate::limits::*;
use flatbuffers::{FlatBufferBuilder, WIPOffset};

type Fbb<'a> = FlatBufferBuilder<'a>;

/// A place: `Location`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: f32,
    pub label: String,
    /// 0: a fixed place; otherwise a live location, updated until then.
    pub live_until_ms: i64,
}

/// A contact card: `Contact`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contact {
    pub name: String,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub user_id: u64,
}

/// `Attachment`: what a message carries besides its text.
#[derive(Debug, Clone, PartialEq)]
pub enum Attachment {
    Location(Location),
    Contact(Contact),
}

/// `ReplyRef`: the quoted message of a reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplyRef {
    pub seq: u64,
    pub message_id: u64,
    pub sender_id: u64,
    pub preview: String,
    pub deleted: bool,
}

/// `ForwardRef`: where a forwarded copy came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForwardRef {
    pub original_sender_id: u64,
    pub original_time_ms: i64,
    pub from_chat_id: u64,
    pub from_title: String,
}

/// `MessageBody`: a message as its event holds it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    pub message_id: u64,
    pub client_msg_id: String,
    pub content: String,
    pub reply_to: Option<ReplyRef>,
    pub forwarded: Option<ForwardRef>,
    pub mentions: Vec<u64>,
    pub mention_all: bool,
    pub attachment: Option<Attachment>,
    pub deleted: bool,
}

/// Characters of the quoted text a reply carries.
pub const PREVIEW_CHARS: usize = 100;

fn text(s: Option<&str>) -> String {
    s.unwrap_or("").to_string()
}

fn strings(v: Option<flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<&str>>>) -> Vec<String> {
    v.map(|v| v.iter().map(str::to_string).collect()).unwrap_or_default()
}

impl Location {
    pub fn from_fb(l: fb::Location<'_>) -> Location {
        Location {
            latitude: l.latitude(),
            longitude: l.longitude(),
            accuracy_m: l.accuracy_m(),
            label: text(l.label()),
            live_until_ms: l.live_until_ms(),
        }
    }

    pub fn build<'a>(&self, fbb: &mut Fbb<'a>) -> WIPOffset<fb::Location<'a>> {
        let label = (!self.label.is_empty()).then(|| fbb.create_string(&self.label));
        fb::Location::create(
            fbb,
            &fb::LocationArgs {
                latitude: self.latitude,
                longitude: self.longitude,
                accuracy_m: self.accuracy_m,
                label,
                live_until_ms: self.live_until_ms,
            },
        )
    }

    /// Whether the coordinates and accuracy are ones a place can have.
    pub fn valid_position(latitude: f64, longitude: f64, accuracy_m: f32) -> bool {
        (-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude) && accuracy_m >= 0.0 && accuracy_m.is_finite()
    }
}

impl Contact {
    pub fn from_fb(c: fb::Contact<'_>) -> Contact {
        Contact { name: text(c.name()), phones: strings(c.phones()), emails: strings(c.emails()), user_id: c.user_id() }
    }

    pub fn build<'a>(&self, fbb: &mut Fbb<'a>) -> WIPOffset<fb::Contact<'a>> {
        let name = Some(fbb.create_string(&self.name));
        let list = |fbb: &mut Fbb<'a>, v: &[String]| {
            let items: Vec<_> = v.iter().map(|s| fbb.create_string(s)).collect();
            (!items.is_empty()).then(|| fbb.create_vector(&items))
        };
        let phones = list(fbb, &self.phones);
        let emails = list(fbb, &self.emails);
        fb::Contact::create(fbb, &fb::ContactArgs { name, phones, emails, user_id: self.user_id })
    }
}

impl Attachment {
    /// The attachment of a table with an `Attachment` union field; `Err` for a type the schema
    /// does not define (which the FlatBuffers verifier lets through).
    pub fn from_union(
        kind: fb::Attachment,
        location: Option<fb::Location<'_>>,
        contact: Option<fb::Contact<'_>>,
    ) -> Result<Option<Attachment>, &'static str> {
        match kind {
            fb::Attachment::NONE => Ok(None),
            fb::Attachment::Location => Ok(location.map(|l| Attachment::Location(Location::from_fb(l)))),
            fb::Attachment::Contact => Ok(contact.map(|c| Attachment::Contact(Contact::from_fb(c)))),
            _ => Err("the attachment is not a type the schema defines"),
        }
    }

    pub fn build<'a>(&self, fbb: &mut Fbb<'a>) -> (fb::Attachment, WIPOffset<flatbuffers::UnionWIPOffset>) {
        match self {
            Attachment::Location(l) => (fb::Attachment::Location, l.build(fbb).as_union_value()),
            Attachment::Contact(c) => (fb::Attachment::Contact, c.build(fbb).as_union_value()),
        }
    }

    /// Checks the protocol's limits (`now_ms`: a live location ends in the future, at most
    /// [`MAX_LIVE_LOCATION_MS`] ahead).
    pub fn check(&self, now_ms: i64) -> Result<(), &'static str> {
        match self {
            Attachment::Location(l) => {
                if !Location::valid_position(l.latitude, l.longitude, l.accuracy_m) {
                    return Err("latitude must be -90..=90, longitude -180..=180, accuracy_m >= 0");
                }
                if l.label.len() > MAX_LOCATION_LABEL_BYTES {
                    return Err("the location's label is over 256 bytes");
                }
                if l.live_until_ms != 0 && !(now_ms < l.live_until_ms && l.live_until_ms <= now_ms + MAX_LIVE_LOCATION_MS) {
                    return Err("live_until_ms must be in the future, at most 8 hours ahead");
                }
                Ok(())
            }
            Attachment::Contact(c) => {
                let bounded = |v: &[String], max_len: usize| v.len() <= MAX_CONTACT_FIELDS && v.iter().all(|s| (1..=max_len).contains(&s.len()));
                if !(1..=MAX_TITLE_BYTES).contains(&c.name.len()) {
                    Err("the contact's name must be 1..=128 bytes")
                } else if !bounded(&c.phones, MAX_PHONE_BYTES) || !bounded(&c.emails, MAX_EMAIL_BYTES) {
                    Err("a contact has at most 8 phones (1..=32 bytes) and 8 emails (1..=254 bytes)")
                } else {
                    Ok(())
                }
            }
        }
    }
}

impl ReplyRef {
    fn from_fb(r: fb::ReplyRef<'_>) -> ReplyRef {
        ReplyRef { seq: r.seq(), message_id: r.message_id(), sender_id: r.sender_id(), preview: text(r.preview()), deleted: r.deleted() }
    }

    fn build<'a>(&self, fbb: &mut Fbb<'a>) -> WIPOffset<fb::ReplyRef<'a>> {
        let preview = (!self.preview.is_empty()).then(|| fbb.create_string(&self.preview));
        fb::ReplyRef::create(
            fbb,
            &fb::ReplyRefArgs { seq: self.seq, message_id: self.message_id, sender_id: self.sender_id, preview, deleted: self.deleted },
        )
    }
}

impl ForwardRef {
    fn from_fb(f: fb::ForwardRef<'_>) -> ForwardRef {
        ForwardRef {
            original_sender_id: f.original_sender_id(),
            original_time_ms: f.original_time_ms(),
            from_chat_id: f.from_chat_id(),
            from_title: text(f.from_title()),
        }
    }

    fn build<'a>(&self, fbb: &mut Fbb<'a>) -> WIPOffset<fb::ForwardRef<'a>> {
        let from_title = (!self.from_title.is_empty()).then(|| fbb.create_string(&self.from_title));
        fb::ForwardRef::create(
            fbb,
            &fb::ForwardRefArgs {
                original_sender_id: self.original_sender_id,
                original_time_ms: self.original_time_ms,
                from_chat_id: self.from_chat_id,
                from_title,
            },
        )
    }
}

impl Message {
    /// A verified `MessageBody`; `Err` when its attachment has a type the schema does not define.
    pub fn from_fb(m: fb::MessageBody<'_>) -> Result<Message, &'static str> {
        Ok(Message {
            message_id: m.message_id(),
            client_msg_id: text(m.client_msg_id()),
            content: text(m.content()),
            reply_to: m.reply_to().map(ReplyRef::from_fb),
            forwarded: m.forwarded().map(ForwardRef::from_fb),
            mentions: m.mentions().map(|v| v.iter().collect()).unwrap_or_default(),
            mention_all: m.mention_all(),
            attachment: Attachment::from_union(m.attachment_type(), m.attachment_as_location(), m.attachment_as_contact())?,
            deleted: m.deleted(),
        })
    }

    pub fn build<'a>(&self, fbb: &mut Fbb<'a>) -> WIPOffset<fb::MessageBody<'a>> {
        let client_msg_id = (!self.client_msg_id.is_empty()).then(|| fbb.create_string(&self.client_msg_id));
        let content = (!self.content.is_empty()).then(|| fbb.create_string(&self.content));
        let reply_to = self.reply_to.as_ref().map(|r| r.build(fbb));
        let forwarded = self.forwarded.as_ref().map(|f| f.build(fbb));
        let mentions = (!self.mentions.is_empty()).then(|| fbb.create_vector(&self.mentions));
        let (attachment_type, attachment) = match &self.attachment {
            Some(a) => {
                let (t, v) = a.build(fbb);
                (t, Some(v))
            }
            None => (fb::Attachment::NONE, None),
        };
        fb::MessageBody::create(
            fbb,
            &fb::MessageBodyArgs {
                message_id: self.message_id,
                client_msg_id,
                content,
                reply_to,
                forwarded,
                mentions,
                mention_all: self.mention_all,
                attachment_type,
                attachment,
                deleted: self.deleted,
            },
        )
    }

    /// What a reply quotes of this message whose current text is `content`: its first
    /// [`PREVIEW_CHARS`] characters, or a place's label or a contact's name when it has none.
    pub fn preview(&self, content: &str) -> String {
        let source = match (&self.attachment, content.is_empty()) {
            (Some(Attachment::Location(l)), true) => &l.label,
            (Some(Attachment::Contact(c)), true) => &c.name,
            _ => content,
        };
        source.chars().take(PREVIEW_CHARS).collect()
    }

    /// The tombstone that replaces this message when it is deleted for everyone: its ids and
    /// nothing else.
    pub fn tombstone(&self) -> Message {
        Message { message_id: self.message_id, client_msg_id: self.client_msg_id.clone(), deleted: true, ..Message::default() }
    }
}

/// Whether `emoji` is a reaction the protocol accepts: 1..=32 bytes, no whitespace or control
/// characters.
pub fn valid_reaction(emoji: &str) -> bool {
    (1..=MAX_REACTION_BYTES).contains(&emoji.len()) && !emoji.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `ReactionCount`s from (emoji, count) pairs, highest count first (ties by emoji).
pub fn sorted_counts(counts: &mut [(String, u32)]) {
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
}

/// `MessageReactions`: one message's reactions after a `ReactionsChanged` event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReactionUpdate {
    pub seq: u64,
    /// Totals, highest first.
    pub counts: Vec<(String, u32)>,
    /// (user, emoji, added): in chats of at most [`REACTION_TOGGLES_UP_TO`] members only.
    pub toggles: Vec<(u64, String, bool)>,
}

/// `MessageState`: a message's state now, beside its stored event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    pub seq: u64,
    /// ListPins only: the message's stored event.
    pub event: Option<Vec<u8>>,
    pub edit_count: u32,
    pub content: String,
    pub edited_ms: i64,
    pub deleted: bool,
    pub reactions: Vec<(String, u32)>,
    pub my_reactions: Vec<String>,
    pub pinned: bool,
    pub location: Option<Location>,
    pub hidden: bool,
    /// The message's chat.
    pub chat_id: u64,
}

impl State {
    pub fn build<'a>(&self, fbb: &mut Fbb<'a>) -> WIPOffset<fb::MessageState<'a>> {
        let event = self.event.as_ref().map(|e| fbb.create_vector(e));
        let content = (!self.content.is_empty()).then(|| fbb.create_string(&self.content));
        let reactions = (!self.reactions.is_empty()).then(|| {
            let items: Vec<_> = self
                .reactions
                .iter()
                .map(|(e, n)| {
                    let emoji = Some(fbb.create_string(e));
                    fb::ReactionCount::create(fbb, &fb::ReactionCountArgs { emoji, count: *n })
                })
                .collect();
            fbb.create_vector(&items)
        });
        let my_reactions = (!self.my_reactions.is_empty()).then(|| {
            let items: Vec<_> = self.my_reactions.iter().map(|e| fbb.create_string(e)).collect();
            fbb.create_vector(&items)
        });
        let location = self.location.as_ref().map(|l| l.build(fbb));
        fb::MessageState::create(
            fbb,
            &fb::MessageStateArgs {
                seq: self.seq,
                event,
                edit_count: self.edit_count,
                content,
                edited_ms: self.edited_ms,
                deleted: self.deleted,
                reactions,
                my_reactions,
                pinned: self.pinned,
                location,
                hidden: self.hidden,
                chat_id: self.chat_id,
            },
        )
    }

    pub fn from_fb(s: fb::MessageState<'_>) -> State {
        State {
            seq: s.seq(),
            event: s.event().map(|e| e.bytes().to_vec()),
            edit_count: s.edit_count(),
            content: text(s.content()),
            edited_ms: s.edited_ms(),
            deleted: s.deleted(),
            reactions: s
                .reactions()
                .map(|v| v.iter().map(|r| (text(r.emoji()), r.count())).collect())
                .unwrap_or_default(),
            my_reactions: strings(s.my_reactions()),
            pinned: s.pinned(),
            location: s.location().map(Location::from_fb),
            hidden: s.hidden(),
            chat_id: s.chat_id(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips() {
        let m = Message {
            message_id: 7,
            client_msg_id: "c".into(),
            content: "hi @bob".into(),
            reply_to: Some(ReplyRef { seq: 3, message_id: 5, sender_id: 2, preview: "earlier".into(), deleted: false }),
            forwarded: Some(ForwardRef { original_sender_id: 9, original_time_ms: 1, from_chat_id: 0, from_title: String::new() }),
            mentions: vec![2],
            mention_all: true,
            attachment: Some(Attachment::Contact(Contact { name: "Ann".into(), phones: vec!["+1".into()], emails: vec![], user_id: 0 })),
            deleted: false,
        };
        let mut fbb = FlatBufferBuilder::new();
        let t = m.build(&mut fbb);
        fbb.finish_minimal(t);
        let back = flatbuffers::root::<fb::MessageBody>(fbb.finished_data()).unwrap();
        assert_eq!(Message::from_fb(back).unwrap(), m);
    }

    #[test]
    fn previews_and_limits() {
        let long = "é".repeat(150);
        let m = Message::default();
        assert_eq!(m.preview(&long).chars().count(), PREVIEW_CHARS);
        let place = Message { attachment: Some(Attachment::Location(Location { label: "Café".into(), ..Location::default() })), ..m };
        assert_eq!(place.preview(""), "Café");
        assert!(valid_reaction("👍🏽") && valid_reaction("👨‍👩‍👧") && !valid_reaction("") && !valid_reaction("a b") && !valid_reaction(&"x".repeat(33)));
        let at = |lat, lon, live| Attachment::Location(Location { latitude: lat, longitude: lon, live_until_ms: live, ..Location::default() });
        assert!(at(45.0, 7.0, 0).check(1000).is_ok());
        assert!(at(91.0, 7.0, 0).check(1000).is_err());
        assert!(at(45.0, 181.0, 0).check(1000).is_err());
        assert!(at(45.0, 7.0, 999).check(1000).is_err(), "a live location that already ended");
        assert!(at(45.0, 7.0, 1000 + MAX_LIVE_LOCATION_MS + 1).check(1000).is_err());
        assert!(Attachment::Contact(Contact::default()).check(0).is_err(), "a contact needs a name");
    }
}
