//! Encoders for the conversation frames: member pages, chat info and roles, invites and joining,
//! per-user chat state and broadcast lists (PROTOCOL.md §6.9–6.11), and their events.

use super::{event, frame, members_vec, opt_str, EventHeader};
use crate::chat::{Info, MemberEntry, State};
use crate::fb;
use bytes::Bytes;

// ------------------------------------------------------------------ members, info, roles

pub fn list_members(request_id: u64, chat_id: u64, after_user_id: u64, limit: u16, admins_only: bool) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::ListMembers::create(fbb, &fb::ListMembersArgs { chat_id, after_user_id, limit, admins_only });
        (fb::Body::ListMembers, t.as_union_value())
    })
}

pub fn member_list(request_id: u64, chat_id: u64, members: &[MemberEntry], has_more: bool) -> Bytes {
    frame(request_id, |fbb| {
        let members = Some(members_vec(fbb, members));
        let t = fb::MemberList::create(fbb, &fb::MemberListArgs { chat_id, members, has_more });
        (fb::Body::MemberList, t.as_union_value())
    })
}

/// `UpdateChat`: the fields of `info` that `fields` names (`crate::chat::update` bits).
pub fn update_chat(request_id: u64, chat_id: u64, fields: u32, info: &Info) -> Bytes {
    frame(request_id, |fbb| {
        let title = opt_str(fbb, &info.title);
        let description = opt_str(fbb, &info.description);
        let avatar_ref = opt_str(fbb, &info.avatar_ref);
        let handle = opt_str(fbb, &info.handle);
        let settings = Some(info.settings.build(fbb));
        let t = fb::UpdateChat::create(
            fbb,
            &fb::UpdateChatArgs { chat_id, fields, title, description, avatar_ref, handle, settings },
        );
        (fb::Body::UpdateChat, t.as_union_value())
    })
}

pub fn set_role(request_id: u64, chat_id: u64, user_id: u64, role: fb::Role) -> Bytes {
    frame(request_id, |fbb| {
        (fb::Body::SetRole, fb::SetRole::create(fbb, &fb::SetRoleArgs { chat_id, user_id, role }).as_union_value())
    })
}

pub fn transfer_ownership(request_id: u64, chat_id: u64, user_id: u64) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::TransferOwnership::create(fbb, &fb::TransferOwnershipArgs { chat_id, user_id });
        (fb::Body::TransferOwnership, t.as_union_value())
    })
}

pub fn chat_updated_event(h: &EventHeader, info: &Info) -> Bytes {
    event(h, |fbb| {
        let title = opt_str(fbb, &info.title);
        let description = opt_str(fbb, &info.description);
        let avatar_ref = opt_str(fbb, &info.avatar_ref);
        let handle = opt_str(fbb, &info.handle);
        let settings = Some(info.settings.build(fbb));
        let t = fb::ChatUpdated::create(fbb, &fb::ChatUpdatedArgs { title, description, avatar_ref, handle, settings });
        (fb::EventBody::ChatUpdated, t.as_union_value())
    })
}

pub fn role_changed_event(h: &EventHeader, user_id: u64, role: fb::Role) -> Bytes {
    event(h, |fbb| {
        (fb::EventBody::RoleChanged, fb::RoleChanged::create(fbb, &fb::RoleChangedArgs { user_id, role }).as_union_value())
    })
}

pub fn owner_changed_event(h: &EventHeader, previous_owner: u64, new_owner: u64) -> Bytes {
    event(h, |fbb| {
        let t = fb::OwnerChanged::create(fbb, &fb::OwnerChangedArgs { previous_owner, new_owner });
        (fb::EventBody::OwnerChanged, t.as_union_value())
    })
}

// ------------------------------------------------------------------ invites and joining

pub fn create_invite(request_id: u64, chat_id: u64, expires_ms: i64, max_uses: u32) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::CreateInvite::create(fbb, &fb::CreateInviteArgs { chat_id, expires_ms, max_uses });
        (fb::Body::CreateInvite, t.as_union_value())
    })
}

/// One invite link as `Invite` and `InviteList` carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteArgs {
    pub code: String,
    pub chat_id: u64,
    pub created_by: u64,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub max_uses: u32,
    pub uses: u32,
    pub revoked: bool,
}

fn invite_table<'a>(fbb: &mut flatbuffers::FlatBufferBuilder<'a>, i: &InviteArgs) -> flatbuffers::WIPOffset<fb::Invite<'a>> {
    let code = opt_str(fbb, &i.code);
    fb::Invite::create(
        fbb,
        &fb::InviteArgs {
            code,
            chat_id: i.chat_id,
            created_by: i.created_by,
            created_ms: i.created_ms,
            expires_ms: i.expires_ms,
            max_uses: i.max_uses,
            uses: i.uses,
            revoked: i.revoked,
        },
    )
}

pub fn invite(request_id: u64, i: &InviteArgs) -> Bytes {
    frame(request_id, |fbb| (fb::Body::Invite, invite_table(fbb, i).as_union_value()))
}

pub fn list_invites(request_id: u64, chat_id: u64) -> Bytes {
    frame(request_id, |fbb| (fb::Body::ListInvites, fb::ListInvites::create(fbb, &fb::ListInvitesArgs { chat_id }).as_union_value()))
}

pub fn invite_list(request_id: u64, chat_id: u64, invites: &[InviteArgs]) -> Bytes {
    frame(request_id, |fbb| {
        let items: Vec<_> = invites.iter().map(|i| invite_table(fbb, i)).collect();
        let invites = Some(fbb.create_vector(&items));
        (fb::Body::InviteList, fb::InviteList::create(fbb, &fb::InviteListArgs { chat_id, invites }).as_union_value())
    })
}

pub fn revoke_invite(request_id: u64, chat_id: u64, code: &str) -> Bytes {
    frame(request_id, |fbb| {
        let code = opt_str(fbb, code);
        (fb::Body::RevokeInvite, fb::RevokeInvite::create(fbb, &fb::RevokeInviteArgs { chat_id, code }).as_union_value())
    })
}

/// How `PreviewChat` and `JoinChat` name a chat.
#[derive(Debug, Clone, Copy)]
pub enum ChatRef<'s> {
    Invite(&'s str),
    Handle(&'s str),
}

impl<'s> ChatRef<'s> {
    fn parts(self) -> (&'s str, &'s str) {
        match self {
            ChatRef::Invite(c) => (c, ""),
            ChatRef::Handle(h) => ("", h),
        }
    }
}

pub fn preview_chat(request_id: u64, by: ChatRef<'_>) -> Bytes {
    frame(request_id, |fbb| {
        let (code, handle) = by.parts();
        let (invite_code, handle) = (opt_str(fbb, code), opt_str(fbb, handle));
        (fb::Body::PreviewChat, fb::PreviewChat::create(fbb, &fb::PreviewChatArgs { invite_code, handle }).as_union_value())
    })
}

pub fn join_chat(request_id: u64, by: ChatRef<'_>) -> Bytes {
    frame(request_id, |fbb| {
        let (code, handle) = by.parts();
        let (invite_code, handle) = (opt_str(fbb, code), opt_str(fbb, handle));
        (fb::Body::JoinChat, fb::JoinChat::create(fbb, &fb::JoinChatArgs { invite_code, handle }).as_union_value())
    })
}

pub struct ChatPreviewArgs<'s> {
    pub chat_id: u64,
    pub kind: fb::ChatKind,
    pub info: &'s Info,
    pub member_count: u32,
    pub is_member: bool,
}

pub fn chat_preview(request_id: u64, a: &ChatPreviewArgs<'_>) -> Bytes {
    frame(request_id, |fbb| {
        let title = opt_str(fbb, &a.info.title);
        let description = opt_str(fbb, &a.info.description);
        let avatar_ref = opt_str(fbb, &a.info.avatar_ref);
        let handle = opt_str(fbb, &a.info.handle);
        let t = fb::ChatPreview::create(
            fbb,
            &fb::ChatPreviewArgs {
                chat_id: a.chat_id,
                kind: a.kind,
                title,
                description,
                avatar_ref,
                handle,
                member_count: a.member_count,
                approve_joins: a.info.settings.approve_joins,
                is_member: a.is_member,
            },
        );
        (fb::Body::ChatPreview, t.as_union_value())
    })
}

pub fn join_pending(request_id: u64, chat_id: u64) -> Bytes {
    frame(request_id, |fbb| (fb::Body::JoinPending, fb::JoinPending::create(fbb, &fb::JoinPendingArgs { chat_id }).as_union_value()))
}

pub fn list_join_requests(request_id: u64, chat_id: u64) -> Bytes {
    frame(request_id, |fbb| {
        (fb::Body::ListJoinRequests, fb::ListJoinRequests::create(fbb, &fb::ListJoinRequestsArgs { chat_id }).as_union_value())
    })
}

/// `requests`: (user id, time requested, Unix ms).
pub fn join_request_list(request_id: u64, chat_id: u64, requests: &[(u64, i64)]) -> Bytes {
    frame(request_id, |fbb| {
        let items: Vec<_> = requests
            .iter()
            .map(|&(user_id, time_ms)| fb::JoinRequest::create(fbb, &fb::JoinRequestArgs { user_id, time_ms }))
            .collect();
        let requests = Some(fbb.create_vector(&items));
        let t = fb::JoinRequestList::create(fbb, &fb::JoinRequestListArgs { chat_id, requests });
        (fb::Body::JoinRequestList, t.as_union_value())
    })
}

pub fn resolve_join_request(request_id: u64, chat_id: u64, user_id: u64, approve: bool) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::ResolveJoinRequest::create(fbb, &fb::ResolveJoinRequestArgs { chat_id, user_id, approve });
        (fb::Body::ResolveJoinRequest, t.as_union_value())
    })
}

// ------------------------------------------------------------------ per-user chat state

/// `SetChatState`: the fields of `state` that `fields` names (`crate::chat::state_fields`
/// bits); `pinned` stands for `pin_rank != 0`.
pub fn set_chat_state(request_id: u64, chat_id: u64, fields: u32, state: &State) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::SetChatState::create(
            fbb,
            &fb::SetChatStateArgs {
                chat_id,
                fields,
                muted_until_ms: state.muted_until_ms,
                pinned: state.pin_rank != 0,
                archived: state.archived,
                marked_unread: state.marked_unread,
            },
        );
        (fb::Body::SetChatState, t.as_union_value())
    })
}

pub fn reorder_pinned(request_id: u64, chat_ids: &[u64]) -> Bytes {
    frame(request_id, |fbb| {
        let chat_ids = Some(fbb.create_vector(chat_ids));
        (fb::Body::ReorderPinned, fb::ReorderPinned::create(fbb, &fb::ReorderPinnedArgs { chat_ids }).as_union_value())
    })
}

pub fn chat_state_changed(request_id: u64, chat_id: u64, state: &State) -> Bytes {
    frame(request_id, |fbb| {
        let state = Some(state.build(fbb));
        let t = fb::ChatStateChanged::create(fbb, &fb::ChatStateChangedArgs { chat_id, state });
        (fb::Body::ChatStateChanged, t.as_union_value())
    })
}

pub fn membership_changed(chat_id: u64, member: bool) -> Bytes {
    frame(0, |fbb| {
        let t = fb::MembershipChanged::create(fbb, &fb::MembershipChangedArgs { chat_id, member });
        (fb::Body::MembershipChanged, t.as_union_value())
    })
}

// ------------------------------------------------------------------ broadcast lists

pub fn save_broadcast_list(request_id: u64, list_id: u64, name: &str, recipient_ids: &[u64]) -> Bytes {
    frame(request_id, |fbb| {
        let name = opt_str(fbb, name);
        let recipient_ids = Some(fbb.create_vector(recipient_ids));
        let t = fb::SaveBroadcastList::create(fbb, &fb::SaveBroadcastListArgs { list_id, name, recipient_ids });
        (fb::Body::SaveBroadcastList, t.as_union_value())
    })
}

fn broadcast_list_table<'a>(
    fbb: &mut flatbuffers::FlatBufferBuilder<'a>,
    list_id: u64,
    name: &str,
    recipients: &[u64],
) -> flatbuffers::WIPOffset<fb::BroadcastList<'a>> {
    let name = opt_str(fbb, name);
    let recipient_ids = Some(fbb.create_vector(recipients));
    fb::BroadcastList::create(fbb, &fb::BroadcastListArgs { list_id, name, recipient_ids })
}

pub fn broadcast_list(request_id: u64, list_id: u64, name: &str, recipient_ids: &[u64]) -> Bytes {
    frame(request_id, |fbb| (fb::Body::BroadcastList, broadcast_list_table(fbb, list_id, name, recipient_ids).as_union_value()))
}

pub fn delete_broadcast_list(request_id: u64, list_id: u64) -> Bytes {
    frame(request_id, |fbb| {
        let t = fb::DeleteBroadcastList::create(fbb, &fb::DeleteBroadcastListArgs { list_id });
        (fb::Body::DeleteBroadcastList, t.as_union_value())
    })
}

pub fn list_broadcast_lists(request_id: u64) -> Bytes {
    frame(request_id, |fbb| {
        (fb::Body::ListBroadcastLists, fb::ListBroadcastLists::create(fbb, &fb::ListBroadcastListsArgs {}).as_union_value())
    })
}

/// `lists`: (list id, name, recipients).
pub fn broadcast_lists(request_id: u64, lists: &[(u64, &str, &[u64])]) -> Bytes {
    frame(request_id, |fbb| {
        let items: Vec<_> = lists.iter().map(|&(id, name, r)| broadcast_list_table(fbb, id, name, r)).collect();
        let lists = Some(fbb.create_vector(&items));
        (fb::Body::BroadcastLists, fb::BroadcastLists::create(fbb, &fb::BroadcastListsArgs { lists }).as_union_value())
    })
}

pub fn send_broadcast(request_id: u64, list_id: u64, client_msg_id: &str, content: &str) -> Bytes {
    frame(request_id, |fbb| {
        let (client_msg_id, content) = (opt_str(fbb, client_msg_id), opt_str(fbb, content));
        let t = fb::SendBroadcast::create(fbb, &fb::SendBroadcastArgs { list_id, client_msg_id, content });
        (fb::Body::SendBroadcast, t.as_union_value())
    })
}

/// One recipient's outcome in a `BroadcastAck`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BroadcastResultArgs {
    pub user_id: u64,
    pub chat_id: u64,
    pub message_id: u64,
    pub seq: u64,
    /// 0: sent.
    pub error_code: u16,
}

pub fn broadcast_ack(request_id: u64, list_id: u64, client_msg_id: &str, time_ms: i64, results: &[BroadcastResultArgs]) -> Bytes {
    frame(request_id, |fbb| {
        let client_msg_id = opt_str(fbb, client_msg_id);
        let items: Vec<_> = results
            .iter()
            .map(|r| {
                fb::BroadcastResult::create(
                    fbb,
                    &fb::BroadcastResultArgs {
                        user_id: r.user_id,
                        chat_id: r.chat_id,
                        message_id: r.message_id,
                        seq: r.seq,
                        error_code: r.error_code,
                    },
                )
            })
            .collect();
        let results = Some(fbb.create_vector(&items));
        let t = fb::BroadcastAck::create(fbb, &fb::BroadcastAckArgs { list_id, client_msg_id, time_ms, results });
        (fb::Body::BroadcastAck, t.as_union_value())
    })
}

