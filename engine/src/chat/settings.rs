//! A chat's settings as they are stored in its record (seven bytes, one per field, in schema
//! order), the chat's info as the wire carries it, and a user's stored state of a chat as the
//! wire carries it.

use magpie_storage::{ChatMeta, ChatPrefs};
use magpie_wire::chat::{Info, Settings, State};
use magpie_wire::fb;

/// The stored bytes of `s`.
pub fn encode(s: &Settings) -> Vec<u8> {
    vec![s.post.0, s.add_members.0, s.change_info.0, s.pin.0, s.history.0, u8::from(s.forwarding), u8::from(s.approve_joins)]
}

/// The settings stored as `b` (empty: a chat stored before settings existed, with the
/// defaults).
pub fn decode(b: &[u8]) -> Settings {
    match b {
        [post, add, change, pin, history, forwarding, approve, ..] => Settings {
            post: fb::Who(*post),
            add_members: fb::Who(*add),
            change_info: fb::Who(*change),
            pin: fb::Who(*pin),
            history: fb::HistoryVisibility(*history),
            forwarding: *forwarding != 0,
            approve_joins: *approve != 0,
        },
        _ => Settings::default(),
    }
}

/// The wire form of a chat record's info.
pub fn info_of(meta: &ChatMeta) -> Info {
    Info {
        title: meta.title.clone(),
        description: meta.profile.description.clone(),
        avatar_ref: meta.profile.avatar_ref.clone(),
        handle: meta.profile.handle.clone(),
        settings: decode(&meta.profile.settings),
    }
}

/// The wire form of one user's stored state of a chat.
pub fn state_of(p: &ChatPrefs) -> State {
    State { muted_until_ms: p.muted_until_ms, pin_rank: p.pin_rank, archived: p.archived, marked_unread: p.marked_unread }
}

/// Writes `info` into a chat record.
pub fn set_info(meta: &mut ChatMeta, info: &Info) {
    meta.title = info.title.clone();
    meta.profile.description = info.description.clone();
    meta.profile.avatar_ref = info.avatar_ref.clone();
    meta.profile.handle = info.handle.clone();
    meta.profile.settings = encode(&info.settings);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_storage() {
        let s = Settings { post: fb::Who::Admins, history: fb::HistoryVisibility::SinceJoined, forwarding: false, approve_joins: true, ..Settings::default() };
        assert_eq!(decode(&encode(&s)), s);
        assert_eq!(decode(&[]), Settings::default());
    }
}
