//! Reads of what the message features keep beside the log: a message's state now, who reacted
//! with what, the messages a user hid for themselves, the messages that mention a user, and a
//! chat's pinned messages. Every write goes through the group [`crate::Committer`] in the
//! batch of the event it belongs to (the chat core derives them); only reads are here.

use rocksdb::{Direction, IteratorMode, ReadOptions};

use crate::codec;
use crate::error::Result;
use crate::keys;
use crate::schema::{CF_HIDDEN, CF_MENTIONS, CF_MESSAGE_STATES, CF_PINS, CF_REACTIONS};
use crate::store::{cf, for_each_with_prefix, Store};
use crate::types::{MessageLocation, MessageStateRecord};

/// A page of who reacted: (user, their reactions), and whether more follow.
pub type ReactionPage = (Vec<(u64, Vec<String>)>, bool);

impl Store {
    /// What changed message `seq` of `chat_id` since it was sent (`None`: nothing).
    pub fn message_state(&self, chat_id: u64, seq: u64) -> Result<Option<MessageStateRecord>> {
        self.get_with(CF_MESSAGE_STATES, keys::message_key(chat_id, seq), |v| Ok(codec::decode_message_state(v)?))
    }

    /// The states of the messages of `chat_id` with seqs in `from..=to`, ascending.
    pub fn message_states_in(&self, chat_id: u64, from: u64, to: u64) -> Result<Vec<(u64, MessageStateRecord)>> {
        let db = self.db()?;
        let mut out = Vec::new();
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(keys::message_key(chat_id, to.saturating_add(1)).to_vec());
        let start = keys::message_key(chat_id, from);
        let it = db.iterator_cf_opt(cf(&db, CF_MESSAGE_STATES)?, ro, IteratorMode::From(&start, Direction::Forward));
        for item in it {
            let (k, v) = item?;
            let (c, seq) = keys::decode_message_key(&k)?;
            if c != chat_id || seq > to {
                break;
            }
            out.push((seq, codec::decode_message_state(&v)?));
        }
        Ok(out)
    }

    /// `user_id`'s reactions to message `seq` of `chat_id`.
    pub fn reactions_of(&self, chat_id: u64, seq: u64, user_id: u64) -> Result<Vec<String>> {
        Ok(self
            .get_with(CF_REACTIONS, keys::reaction_key(chat_id, seq, user_id), |v| Ok(codec::decode_emojis(v)?))?
            .unwrap_or_default())
    }

    /// Who reacted to message `seq` of `chat_id`, by ascending user id after `after_user_id`
    /// (with `emoji`, only those who chose it): at most `limit`, and whether more follow.
    pub fn reactions_page(
        &self,
        chat_id: u64,
        seq: u64,
        emoji: Option<&str>,
        after_user_id: u64,
        limit: usize,
    ) -> Result<ReactionPage> {
        let db = self.db()?;
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(keys::reaction_key(chat_id, seq.saturating_add(1), 0).to_vec());
        let Some(from) = after_user_id.checked_add(1) else { return Ok((Vec::new(), false)) };
        let start = keys::reaction_key(chat_id, seq, from);
        let it = db.iterator_cf_opt(cf(&db, CF_REACTIONS)?, ro, IteratorMode::From(&start, Direction::Forward));
        let mut out = Vec::new();
        for item in it {
            let (k, v) = item?;
            let (c, s, user) = keys::decode_reaction_key(&k)?;
            if (c, s) != (chat_id, seq) {
                break;
            }
            let emojis = codec::decode_emojis(&v)?;
            if emoji.is_some_and(|e| !emojis.iter().any(|x| x == e)) {
                continue;
            }
            if out.len() == limit {
                return Ok((out, true));
            }
            out.push((user, emojis));
        }
        Ok((out, false))
    }

    /// The seqs in `from..=to` of `chat_id` that `user_id` hid for themselves, ascending.
    pub fn hidden_in(&self, user_id: u64, chat_id: u64, from: u64, to: u64) -> Result<Vec<u64>> {
        let db = self.db()?;
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(keys::hidden_key(user_id, chat_id, to.saturating_add(1)).to_vec());
        let start = keys::hidden_key(user_id, chat_id, from);
        let it = db.iterator_cf_opt(cf(&db, CF_HIDDEN)?, ro, IteratorMode::From(&start, Direction::Forward));
        let mut out = Vec::new();
        for item in it {
            let (k, _) = item?;
            let (u, c, seq) = keys::decode_hidden_key(&k)?;
            if (u, c) != (user_id, chat_id) || seq > to {
                break;
            }
            out.push(seq);
        }
        Ok(out)
    }

    /// The messages that mention `user_id` with ids below `before_message_id` (0: all), newest
    /// first: at most `limit` of (message id, where it is).
    pub fn mentions_of(&self, user_id: u64, before_message_id: u64, limit: usize) -> Result<Vec<(u64, MessageLocation)>> {
        let db = self.db()?;
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(keys::mention_key(user_id, 0).to_vec());
        let before = if before_message_id == 0 { u64::MAX } else { before_message_id };
        // Reverse from the first key at or after `before`: the iterator's upper bound keeps it out.
        ro.set_iterate_upper_bound(keys::mention_key(user_id, before).to_vec());
        let start = keys::mention_key(user_id, before);
        let it = db.iterator_cf_opt(cf(&db, CF_MENTIONS)?, ro, IteratorMode::From(&start, Direction::Reverse));
        let mut out = Vec::new();
        for item in it.take(limit) {
            let (k, v) = item?;
            let (u, message_id) = keys::decode_mention_key(&k)?;
            if u != user_id {
                break;
            }
            out.push((message_id, codec::decode_mention(&v)?));
        }
        Ok(out)
    }

    /// A chat's pinned messages: (seq, seq of the event that pinned it), by seq.
    pub fn pins_of(&self, chat_id: u64) -> Result<Vec<(u64, u64)>> {
        let db = self.db()?;
        let mut out = Vec::new();
        for_each_with_prefix(&db, cf(&db, CF_PINS)?, chat_id, |k, v| {
            out.push((keys::decode_message_key(k)?.1, codec::decode_u64_value(v, "pin")?));
            Ok(())
        })?;
        Ok(out)
    }
}
