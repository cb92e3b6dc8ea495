//! A message to send: its text and what it may carry besides (a reply's original, mentions, a
//! place or a contact card). The outbox keeps it until acknowledged, so it is an owned value.

use magpie_wire::encode::Outgoing;
use magpie_wire::message::Attachment;

/// A message for [`Client::send_draft`](crate::Client::send_draft).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Draft {
    /// 1..=65,536 bytes of UTF-8 (with an attachment, a caption: may be empty).
    pub content: String,
    /// The seq of the message this replies to (0: none).
    pub reply_to_seq: u64,
    /// Members mentioned (at most 50).
    pub mentions: Vec<u64>,
    /// @all (groups; admins only above 100 members).
    pub mention_all: bool,
    pub attachment: Option<Attachment>,
}

impl Draft {
    pub(crate) fn outgoing<'a>(&'a self, chat_id: u64, client_msg_id: &'a str) -> Outgoing<'a> {
        Outgoing {
            chat_id,
            client_msg_id,
            content: &self.content,
            reply_to_seq: self.reply_to_seq,
            mentions: &self.mentions,
            mention_all: self.mention_all,
            attachment: self.attachment.as_ref(),
        }
    }
}

impl From<String> for Draft {
    fn from(content: String) -> Self {
        Draft { content, ..Draft::default() }
    }
}

impl From<&str> for Draft {
    fn from(content: &str) -> Self {
        content.to_string().into()
    }
}
