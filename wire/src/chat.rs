//! Plain values for the conversation tables that several frames share (a chat's settings and
//! info, a member, one user's state of a chat), with the schema's defaults, so the engine and the
//! clients never read or build these tables field by field in more than one place.

use crate::fb;

/// `ChatSettings`, with the schema's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub post: fb::Who,
    pub add_members: fb::Who,
    pub change_info: fb::Who,
    pub pin: fb::Who,
    pub history: fb::HistoryVisibility,
    pub forwarding: bool,
    pub approve_joins: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            post: fb::Who::Members,
            add_members: fb::Who::Admins,
            change_info: fb::Who::Admins,
            pin: fb::Who::Admins,
            history: fb::HistoryVisibility::Everything,
            forwarding: true,
            approve_joins: false,
        }
    }
}

impl Settings {
    /// The settings a table holds (absent: the defaults).
    pub fn from_fb(t: Option<fb::ChatSettings<'_>>) -> Settings {
        match t {
            None => Settings::default(),
            Some(t) => Settings {
                post: t.post(),
                add_members: t.add_members(),
                change_info: t.change_info(),
                pin: t.pin(),
                history: t.history(),
                forwarding: t.forwarding(),
                approve_joins: t.approve_joins(),
            },
        }
    }

    /// The first enum field holding a value the schema does not define (the FlatBuffers
    /// verifier cannot tell), as the complaint about it.
    pub fn unknown_value(&self) -> Option<&'static str> {
        let who = [
            (self.post, "ChatSettings.post is not a Who the schema defines"),
            (self.add_members, "ChatSettings.add_members is not a Who the schema defines"),
            (self.change_info, "ChatSettings.change_info is not a Who the schema defines"),
            (self.pin, "ChatSettings.pin is not a Who the schema defines"),
        ];
        if let Some((_, why)) = who.iter().find(|(w, _)| w.variant_name().is_none()) {
            return Some(why);
        }
        self.history.variant_name().is_none().then_some("ChatSettings.history is not a HistoryVisibility the schema defines")
    }

    pub(crate) fn build<'a>(&self, fbb: &mut flatbuffers::FlatBufferBuilder<'a>) -> flatbuffers::WIPOffset<fb::ChatSettings<'a>> {
        fb::ChatSettings::create(
            fbb,
            &fb::ChatSettingsArgs {
                post: self.post,
                add_members: self.add_members,
                change_info: self.change_info,
                pin: self.pin,
                history: self.history,
                forwarding: self.forwarding,
                approve_joins: self.approve_joins,
            },
        )
    }
}

/// What `ChatUpdated` carries, and the descriptive part of `ChatCreated` and `ChatInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Info {
    pub title: String,
    pub description: String,
    pub avatar_ref: String,
    pub handle: String,
    pub settings: Settings,
}

/// One entry of a member list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberEntry {
    pub user_id: u64,
    pub role: fb::Role,
    pub since_seq: u64,
}

/// `ChatState`: one user's own state of one chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    pub muted_until_ms: i64,
    pub pin_rank: u64,
    pub archived: bool,
    pub marked_unread: bool,
}

impl State {
    pub fn from_fb(t: Option<fb::ChatState<'_>>) -> State {
        t.map(|t| State {
            muted_until_ms: t.muted_until_ms(),
            pin_rank: t.pin_rank(),
            archived: t.archived(),
            marked_unread: t.marked_unread(),
        })
        .unwrap_or_default()
    }

    pub(crate) fn build<'a>(&self, fbb: &mut flatbuffers::FlatBufferBuilder<'a>) -> flatbuffers::WIPOffset<fb::ChatState<'a>> {
        fb::ChatState::create(
            fbb,
            &fb::ChatStateArgs {
                muted_until_ms: self.muted_until_ms,
                pin_rank: self.pin_rank,
                archived: self.archived,
                marked_unread: self.marked_unread,
            },
        )
    }
}

/// `UpdateChat.fields` bits.
pub mod update {
    pub const TITLE: u32 = 1;
    pub const DESCRIPTION: u32 = 2;
    pub const AVATAR_REF: u32 = 4;
    pub const HANDLE: u32 = 8;
    pub const SETTINGS: u32 = 16;
    pub const ALL: u32 = 31;
}

/// `SetChatState.fields` bits.
pub mod state_fields {
    pub const MUTED_UNTIL: u32 = 1;
    pub const PINNED: u32 = 2;
    pub const ARCHIVED: u32 = 4;
    pub const MARKED_UNREAD: u32 = 8;
    pub const ALL: u32 = 15;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_schema() {
        // An empty table reads as the schema's defaults, and they are ours.
        let mut fbb = flatbuffers::FlatBufferBuilder::new();
        let t = fb::ChatSettings::create(&mut fbb, &fb::ChatSettingsArgs::default());
        fbb.finish_minimal(t);
        let read = flatbuffers::root::<fb::ChatSettings>(fbb.finished_data()).unwrap();
        assert_eq!(Settings::from_fb(Some(read)), Settings::default());
        assert_eq!(Settings::from_fb(None), Settings::default());
    }
}
