//! The rule book: who may do what in a chat. Every command, writes and reads alike, asks here.
//!
//! - Non-members learn nothing: any request about a chat the caller is not in gets
//!   `chat_not_found`, exactly as for a chat that does not exist.
//! - Membership, info and role changes need a group or a channel; direct chats have exactly two
//!   members for good.
//! - A permission is granted by a role, and for some by the chat's settings; the owner may
//!   always. In channels only the owner and admins post or add people.
//! - Roles come only from the chat's log (the command carries the caller's id from its
//!   connection, never a role), so a forged field in a request changes nothing.

use super::effects::Refusal;
use super::view::ChatView;
use magpie_storage::{ChatKind, Role};
use magpie_wire::{fb, ErrorCode};

pub const NOT_FOUND: Refusal = (ErrorCode::ChatNotFound, "no such chat");

/// What an action needs beyond membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Reading history and chat info.
    Read,
    /// Sending messages.
    Post,
    /// Adding members, making invite links.
    AddMembers,
    /// Changing the title, description or avatar.
    ChangeInfo,
    /// What only admins do: settings and handle, removing members, roles, invite lists, join
    /// requests, a channel's subscriber list.
    Administer,
    /// Leaving.
    Leave,
    /// Pinning messages: the chat's `pin` setting; both people of a direct chat.
    Pin,
}

pub fn is_staff(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Owner)
}

impl Permission {
    fn needs_group(self) -> bool {
        !matches!(self, Permission::Read | Permission::Post | Permission::Pin)
    }

    fn granted(self, view: &ChatView, role: Role) -> bool {
        let by_setting = |who: fb::Who| is_staff(role) || (who == fb::Who::Members && view.kind() != ChatKind::Channel);
        match self {
            Permission::Read | Permission::Leave => true,
            Permission::Post => by_setting(view.settings.post),
            Permission::AddMembers => by_setting(view.settings.add_members),
            Permission::ChangeInfo => is_staff(role) || view.settings.change_info == fb::Who::Members,
            Permission::Administer => is_staff(role),
            Permission::Pin => view.kind() == ChatKind::Direct || by_setting(view.settings.pin),
        }
    }

    fn refusal(self) -> Refusal {
        match self {
            Permission::Post => (ErrorCode::Forbidden, "only admins post here"),
            Permission::AddMembers => (ErrorCode::Forbidden, "only admins add members here"),
            Permission::ChangeInfo => (ErrorCode::Forbidden, "only admins change this chat's info"),
            Permission::Administer => (ErrorCode::Forbidden, "only admins may do that"),
            Permission::Pin => (ErrorCode::Forbidden, "only admins pin messages here"),
            Permission::Read | Permission::Leave => (ErrorCode::Forbidden, "not allowed"),
        }
    }
}

/// The caller's role if it is a member; otherwise the answer for a chat that does not exist.
pub fn member(view: &ChatView, user_id: u64) -> Result<Role, Refusal> {
    view.role(user_id).ok_or(NOT_FOUND)
}

/// Membership first (so non-members learn nothing, not even the chat's kind), then the kind of
/// chat, then the role.
pub fn check(view: &ChatView, user_id: u64, permission: Permission) -> Result<Role, Refusal> {
    let role = member(view, user_id)?;
    if permission.needs_group() && view.kind() == ChatKind::Direct {
        return Err((ErrorCode::NotAGroup, "direct chats have exactly two members"));
    }
    if !permission.granted(view, role) {
        return Err(permission.refusal());
    }
    Ok(role)
}

/// Whether `actor` may remove `target`: anyone themselves (leaving), admins remove members, the
/// owner removes admins, nobody removes the owner.
pub fn may_remove(actor: Role, target: Role) -> bool {
    match target {
        Role::Owner => false,
        Role::Admin => actor == Role::Owner,
        Role::Member => is_staff(actor),
    }
}
