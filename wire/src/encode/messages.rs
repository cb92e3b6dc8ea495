//! Encoders for messages and the message features (PROTOCOL.md §6.4, §6.13): sending, the
//! requests that change or query a message, their answers, and the events they append.

use super::{event, frame, opt_str, EventHeader, Fbb};
use crate::fb;
use crate::message::{Attachment, Message, ReactionUpdate, State};
use bytes::Bytes;
use flatbuffers::WIPOffset;

fn strings<'a>(fbb: &mut Fbb<'a>, v: &[String]) -> Option<WIPOffset<flatbuffers::Vector<'a, flatbuffers::ForwardsUOffset<&'a str>>>> {
    let items: Vec<_> = v.iter().map(|s| fbb.create_string(s)).collect();
    (!items.is_empty()).then(|| fbb.create_vector(&items))
}

fn ids<'a>(fbb: &mut Fbb<'a>, v: &[u64]) -> Option<WIPOffset<flatbuffers::Vector<'a, u64>>> {
    (!v.is_empty()).then(|| fbb.create_vector(v))
}

fn states<'a>(fbb: &mut Fbb<'a>, v: &[State]) -> Option<WIPOffset<flatbuffers::Vector<'a, flatbuffers::ForwardsUOffset<fb::MessageState<'a>>>>> {
    let items: Vec<_> = v.iter().map(|s| s.build(fbb)).collect();
    (!items.is_empty()).then(|| fbb.create_vector(&items))
}

fn blobs<'a, B: AsRef<[u8]>>(fbb: &mut Fbb<'a>, events: &[B]) -> WIPOffset<flatbuffers::Vector<'a, flatbuffers::ForwardsUOffset<fb::EventBlob<'a>>>> {
    let items: Vec<_> = events
        .iter()
        .map(|e| {
            let event = Some(fbb.create_vector(e.as_ref()));
            fb::EventBlob::create(fbb, &fb::EventBlobArgs { event })
        })
        .collect();
    fbb.create_vector(&items)
}

// ------------------------------------------------------------------ sending

/// A `SendMessage` with everything it may carry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outgoing<'s> {
    pub chat_id: u64,
    pub client_msg_id: &'s str,
    pub content: &'s str,
    pub reply_to_seq: u64,
    pub mentions: &'s [u64],
    pub mention_all: bool,
    pub attachment: Option<&'s Attachment>,
}

pub fn send_message(request_id: u64, chat_id: u64, client_msg_id: &str, content: &str) -> Bytes {
    send(request_id, &Outgoing { chat_id, client_msg_id, content, ..Outgoing::default() })
}

pub fn send(request_id: u64, m: &Outgoing<'_>) -> Bytes {
    frame(request_id, |fbb| {
        let (client_msg_id, content) = (opt_str(fbb, m.client_msg_id), opt_str(fbb, m.content));
        let mentions = ids(fbb, m.mentions);
        let (attachment_type, attachment) = match m.attachment {
            Some(a) => {
                let (t, v) = a.build(fbb);
                (t, Some(v))
            }
            None => (fb::Attachment::NONE, None),
        };
        let t = fb::SendMessage::create(
            fbb,
            &fb::SendMessageArgs {
                chat_id: m.chat_id,
                client_msg_id,
                content,
                reply_to_seq: m.reply_to_seq,
                mentions,
                mention_all: m.mention_all,
                attachment_type,
                attachment,
            },
        );
        (fb::Body::SendMessage, t.as_union_value())
    })
}

pub fn send_ack(request_id: u64, chat_id: u64, client_msg_id: &str, message_id: u64, seq: u64, time_ms: i64) -> Bytes {
    frame(request_id, |fbb| {
        let client_msg_id = opt_str(fbb, client_msg_id);
        let t = fb::SendAck::create(fbb, &fb::SendAckArgs { chat_id, client_msg_id, message_id, seq, time_ms });
        (fb::Body::SendAck, t.as_union_value())
    })
}

// ------------------------------------------------------------------ events

/// A stored `Event` holding a plain text message.
pub fn message_event(h: &EventHeader, message_id: u64, client_msg_id: &str, content: &str) -> Bytes {
    let m = Message { message_id, client_msg_id: client_msg_id.into(), content: content.into(), ..Message::default() };
    message_event_of(h, &m)
}

/// A stored `Event` holding `m`.
pub fn message_event_of(h: &EventHeader, m: &Message) -> Bytes {
    event(h, |fbb| (fb::EventBody::MessageBody, m.build(fbb).as_union_value()))
}

pub fn message_edited_event(h: &EventHeader, target_seq: u64, content: &str, mentions: &[u64]) -> Bytes {
    event(h, |fbb| {
        let (content, mentions) = (opt_str(fbb, content), ids(fbb, mentions));
        let t = fb::MessageEdited::create(fbb, &fb::MessageEditedArgs { target_seq, content, mentions });
        (fb::EventBody::MessageEdited, t.as_union_value())
    })
}

pub fn messages_deleted_event(h: &EventHeader, seqs: &[u64]) -> Bytes {
    event(h, |fbb| {
        let seqs = Some(fbb.create_vector(seqs));
        (fb::EventBody::MessagesDeleted, fb::MessagesDeleted::create(fbb, &fb::MessagesDeletedArgs { seqs }).as_union_value())
    })
}

fn reaction_counts<'a>(fbb: &mut Fbb<'a>, counts: &[(String, u32)]) -> WIPOffset<flatbuffers::Vector<'a, flatbuffers::ForwardsUOffset<fb::ReactionCount<'a>>>> {
    let items: Vec<_> = counts
        .iter()
        .map(|(e, count)| {
            let emoji = Some(fbb.create_string(e));
            fb::ReactionCount::create(fbb, &fb::ReactionCountArgs { emoji, count: *count })
        })
        .collect();
    fbb.create_vector(&items)
}

pub fn reactions_changed_event(h: &EventHeader, messages: &[ReactionUpdate]) -> Bytes {
    event(h, |fbb| {
        let items: Vec<_> = messages
            .iter()
            .map(|m| {
                let counts = Some(reaction_counts(fbb, &m.counts));
                let toggles: Vec<_> = m
                    .toggles
                    .iter()
                    .map(|(user_id, e, added)| {
                        let emoji = Some(fbb.create_string(e));
                        fb::ReactionToggle::create(fbb, &fb::ReactionToggleArgs { user_id: *user_id, emoji, added: *added })
                    })
                    .collect();
                let toggles = (!toggles.is_empty()).then(|| fbb.create_vector(&toggles));
                fb::MessageReactions::create(fbb, &fb::MessageReactionsArgs { seq: m.seq, counts, toggles })
            })
            .collect();
        let messages = Some(fbb.create_vector(&items));
        (fb::EventBody::ReactionsChanged, fb::ReactionsChanged::create(fbb, &fb::ReactionsChangedArgs { messages }).as_union_value())
    })
}

pub fn message_pinned_event(h: &EventHeader, target_seq: u64, pinned: bool) -> Bytes {
    event(h, |fbb| {
        (fb::EventBody::MessagePinned, fb::MessagePinned::create(fbb, &fb::MessagePinnedArgs { target_seq, pinned }).as_union_value())
    })
}

/// `LiveLocationUpdated`: where a live location is now (`position`: latitude, longitude,
/// accuracy in metres).
pub fn live_location_event(h: &EventHeader, target_seq: u64, position: (f64, f64, f32), stopped: bool) -> Bytes {
    event(h, |fbb| {
        let (latitude, longitude, accuracy_m) = position;
        let t = fb::LiveLocationUpdated::create(
            fbb,
            &fb::LiveLocationUpdatedArgs { target_seq, latitude, longitude, accuracy_m, stopped },
        );
        (fb::EventBody::LiveLocationUpdated, t.as_union_value())
    })
}

// ------------------------------------------------------------------ requests

pub fn edit_message(request_id: u64, chat_id: u64, seq: u64, content: &str, mentions: &[u64]) -> Bytes {
    frame(request_id, |fbb| {
        let (content, mentions) = (opt_str(fbb, content), ids(fbb, mentions));
        let t = fb::EditMessage::create(fbb, &fb::EditMessageArgs { chat_id, seq, content, mentions });
        (fb::Body::EditMessage, t.as_union_value())
    })
}

pub fn delete_messages(request_id: u64, chat_id: u64, seqs: &[u64], for_everyone: bool) -> Bytes {
    frame(request_id, |fbb| {
        let seqs = ids(fbb, seqs);
        let t = fb::DeleteMessages::create(fbb, &fb::DeleteMessagesArgs { chat_id, seqs, for_everyone });
        (fb::Body::DeleteMessages, t.as_union_value())
    })
}

pub fn react(request_id: u64, chat_id: u64, seq: u64, emoji: &str, add: bool) -> Bytes {
    frame(request_id, |fbb| {
        let emoji = opt_str(fbb, emoji);
        (fb::Body::React, fb::React::create(fbb, &fb::ReactArgs { chat_id, seq, emoji, add }).as_union_value())
    })
}

pub fn list_reactions(request_id: u64, chat_id: u64, seq: u64, emoji: &str, after_user_id: u64, limit: u16) -> Bytes {
    frame(request_id, |fbb| {
        let emoji = opt_str(fbb, emoji);
        let t = fb::ListReactions::create(fbb, &fb::ListReactionsArgs { chat_id, seq, emoji, after_user_id, limit });
        (fb::Body::ListReactions, t.as_union_value())
    })
}

pub fn pin_message(request_id: u64, chat_id: u64, seq: u64, pinned: bool) -> Bytes {
    frame(request_id, |fbb| {
        (fb::Body::PinMessage, fb::PinMessage::create(fbb, &fb::PinMessageArgs { chat_id, seq, pinned }).as_union_value())
    })
}

pub fn list_pins(request_id: u64, chat_id: u64) -> Bytes {
    frame(request_id, |fbb| (fb::Body::ListPins, fb::ListPins::create(fbb, &fb::ListPinsArgs { chat_id }).as_union_value()))
}

pub fn update_live_location(request_id: u64, chat_id: u64, seq: u64, position: (f64, f64, f32), stop: bool) -> Bytes {
    frame(request_id, |fbb| {
        let (latitude, longitude, accuracy_m) = position;
        let t = fb::UpdateLiveLocation::create(
            fbb,
            &fb::UpdateLiveLocationArgs { chat_id, seq, latitude, longitude, accuracy_m, stop },
        );
        (fb::Body::UpdateLiveLocation, t.as_union_value())
    })
}

pub fn forward_message(request_id: u64, from_chat_id: u64, seq: u64, to_chat_ids: &[u64], client_msg_id: &str) -> Bytes {
    frame(request_id, |fbb| {
        let to_chat_ids = ids(fbb, to_chat_ids);
        let client_msg_id = opt_str(fbb, client_msg_id);
        let t = fb::ForwardMessage::create(fbb, &fb::ForwardMessageArgs { from_chat_id, seq, to_chat_ids, client_msg_id });
        (fb::Body::ForwardMessage, t.as_union_value())
    })
}

pub fn get_message_versions(request_id: u64, chat_id: u64, seq: u64) -> Bytes {
    frame(request_id, |fbb| {
        (fb::Body::GetMessageVersions, fb::GetMessageVersions::create(fbb, &fb::GetMessageVersionsArgs { chat_id, seq }).as_union_value())
    })
}

pub fn list_mentions(request_id: u64, before_message_id: u64, limit: u16) -> Bytes {
    frame(request_id, |fbb| {
        (fb::Body::ListMentions, fb::ListMentions::create(fbb, &fb::ListMentionsArgs { before_message_id, limit }).as_union_value())
    })
}

// ------------------------------------------------------------------ answers and pushes

/// `ReactionList`: (user, their emojis) by ascending user id.
pub fn reaction_list(request_id: u64, chat_id: u64, seq: u64, users: &[(u64, Vec<String>)], has_more: bool) -> Bytes {
    frame(request_id, |fbb| {
        let items: Vec<_> = users
            .iter()
            .map(|(user_id, emojis)| {
                let emojis = strings(fbb, emojis);
                fb::UserReactions::create(fbb, &fb::UserReactionsArgs { user_id: *user_id, emojis })
            })
            .collect();
        let users = Some(fbb.create_vector(&items));
        (fb::Body::ReactionList, fb::ReactionList::create(fbb, &fb::ReactionListArgs { chat_id, seq, users, has_more }).as_union_value())
    })
}

pub fn pin_list(request_id: u64, chat_id: u64, messages: &[State]) -> Bytes {
    frame(request_id, |fbb| {
        let messages = states(fbb, messages);
        (fb::Body::PinList, fb::PinList::create(fbb, &fb::PinListArgs { chat_id, messages }).as_union_value())
    })
}

/// One target's result in a `ForwardAck` (`error_code` 0: sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ForwardResult {
    pub chat_id: u64,
    pub message_id: u64,
    pub seq: u64,
    pub error_code: u16,
}

pub fn forward_ack(request_id: u64, client_msg_id: &str, results: &[ForwardResult]) -> Bytes {
    frame(request_id, |fbb| {
        let client_msg_id = opt_str(fbb, client_msg_id);
        let items: Vec<_> = results
            .iter()
            .map(|r| {
                fb::ForwardResult::create(
                    fbb,
                    &fb::ForwardResultArgs { chat_id: r.chat_id, message_id: r.message_id, seq: r.seq, error_code: r.error_code },
                )
            })
            .collect();
        let results = Some(fbb.create_vector(&items));
        (fb::Body::ForwardAck, fb::ForwardAck::create(fbb, &fb::ForwardAckArgs { client_msg_id, results }).as_union_value())
    })
}

/// `MessageVersions`: (seq of the event holding it, content, time), the original first.
pub fn message_versions(request_id: u64, chat_id: u64, seq: u64, versions: &[(u64, String, i64)]) -> Bytes {
    frame(request_id, |fbb| {
        let items: Vec<_> = versions
            .iter()
            .map(|(seq, content, time_ms)| {
                let content = opt_str(fbb, content);
                fb::MessageVersion::create(fbb, &fb::MessageVersionArgs { seq: *seq, content, time_ms: *time_ms })
            })
            .collect();
        let versions = Some(fbb.create_vector(&items));
        (fb::Body::MessageVersions, fb::MessageVersions::create(fbb, &fb::MessageVersionsArgs { chat_id, seq, versions }).as_union_value())
    })
}

pub fn mention_list<B: AsRef<[u8]>>(request_id: u64, events: &[B], message_states: &[State], has_more: bool) -> Bytes {
    frame(request_id, |fbb| {
        let events = Some(blobs(fbb, events));
        let states = states(fbb, message_states);
        (fb::Body::MentionList, fb::MentionList::create(fbb, &fb::MentionListArgs { events, states, has_more }).as_union_value())
    })
}

pub fn messages_hidden(chat_id: u64, seqs: &[u64]) -> Bytes {
    frame(0, |fbb| {
        let seqs = Some(fbb.create_vector(seqs));
        (fb::Body::MessagesHidden, fb::MessagesHidden::create(fbb, &fb::MessagesHiddenArgs { chat_id, seqs }).as_union_value())
    })
}

/// `HistoryPage` with the states of the page's changed messages.
pub fn history_page_with<B: AsRef<[u8]>>(request_id: u64, chat_id: u64, events: &[B], message_states: &[State], has_more: bool) -> Bytes {
    frame(request_id, |fbb| {
        let events = Some(blobs(fbb, events));
        let states = states(fbb, message_states);
        (fb::Body::HistoryPage, fb::HistoryPage::create(fbb, &fb::HistoryPageArgs { chat_id, events, has_more, states }).as_union_value())
    })
}

pub fn history_page<B: AsRef<[u8]>>(request_id: u64, chat_id: u64, events: &[B], has_more: bool) -> Bytes {
    history_page_with(request_id, chat_id, events, &[], has_more)
}
