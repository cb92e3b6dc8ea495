//! The rule book: who may do what in a chat. Every command, writes and reads alike, asks here.
//!
//! - Non-members learn nothing: any request about a chat the caller is not in gets
//!   `chat_not_found`, exactly as for a chat that does not exist.
//! - Membership changes need a group; direct chats have exactly two members for good.
//! - A permission is granted by a role; leaving needs none.

use super::effects::Refusal;
use super::view::ChatView;
use magpie_storage::Role;
use magpie_wire::ErrorCode;

pub const NOT_FOUND: Refusal = (ErrorCode::ChatNotFound, "no such chat");

/// What an action needs beyond membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Reading history and chat info, sending messages.
    Participate,
    /// Adding members to a group.
    AddMembers,
    /// Removing someone else from a group.
    RemoveMembers,
    /// Leaving a group.
    Leave,
}

impl Permission {
    fn needs_group(self) -> bool {
        matches!(self, Permission::AddMembers | Permission::RemoveMembers | Permission::Leave)
    }

    fn granted_to(self, role: Role) -> bool {
        match self {
            Permission::Participate | Permission::Leave => true,
            Permission::AddMembers | Permission::RemoveMembers => role == Role::Admin,
        }
    }

    fn refusal(self) -> Refusal {
        match self {
            Permission::AddMembers => (ErrorCode::Forbidden, "only admins add members"),
            Permission::RemoveMembers => (ErrorCode::Forbidden, "only admins remove members"),
            Permission::Participate | Permission::Leave => (ErrorCode::Forbidden, "not allowed"),
        }
    }
}

/// The caller's role if it is a member; otherwise the answer for a chat that does not exist.
pub fn member(view: &ChatView, user_id: u64) -> Result<Role, Refusal> {
    view.members.get(&user_id).copied().ok_or(NOT_FOUND)
}

/// Membership first (so non-members learn nothing, not even the chat's kind), then the kind of
/// chat, then the role.
pub fn check(view: &ChatView, user_id: u64, permission: Permission) -> Result<Role, Refusal> {
    let role = member(view, user_id)?;
    if permission.needs_group() && !view.is_group() {
        return Err((ErrorCode::NotAGroup, "direct chats have exactly two members"));
    }
    if !permission.granted_to(role) {
        return Err(permission.refusal());
    }
    Ok(role)
}
