//! A chat's info and settings: `UpdateChat`. Title, description and avatar need the
//! `change_info` permission; settings and the public handle need an admin. A request that
//! changes nothing appends nothing.

use super::append::{append, After, ChatState};
use super::change::Change;
use super::effects::{Cx, Refusal};
use super::rules::{self, Permission};
use crate::crossing::UpdateChat;
use magpie_storage::ChatKind;
use magpie_wire::chat::update;
use magpie_wire::{encode, fb};

pub fn update(state: &mut ChatState, c: UpdateChat, cx: &mut Cx<'_>) -> Result<(), Refusal> {
    let needs = if c.fields & (update::HANDLE | update::SETTINGS) != 0 { Permission::Administer } else { Permission::ChangeInfo };
    rules::check(&state.head, c.actor.user_id, needs)?;
    let old = state.head.info();
    let mut info = old.clone();
    if c.fields & update::TITLE != 0 {
        info.title = c.info.title;
    }
    if c.fields & update::DESCRIPTION != 0 {
        info.description = c.info.description;
    }
    if c.fields & update::AVATAR_REF != 0 {
        info.avatar_ref = c.info.avatar_ref;
    }
    if c.fields & update::HANDLE != 0 {
        info.handle = c.info.handle;
    }
    if c.fields & update::SETTINGS != 0 {
        info.settings = c.info.settings;
    }
    if state.head.kind() == ChatKind::Channel {
        info.settings.post = fb::Who::Admins;
    }
    if info == old {
        cx.reply(c.actor.reply, encode::ok(c.actor.reply.request_id));
        return Ok(());
    }
    append(state, (c.actor.user_id, c.actor.device_id), Change::Updated { info }, After::Ok(c.actor.reply), None, cx).map(drop)
}
