//! Target `verify_frame`: arbitrary bytes through `verify::client_frame`, `verify::server_frame`
//! and `verify::event`, then every field of whatever verified read through the generated
//! accessors. The accessors trust the buffer (unchecked offsets, `from_utf8_unchecked`), so a
//! gap in verification shows up here as an out-of-bounds read (ASan), a panic, or a string that
//! is not UTF-8 (asserted below).
//!
//! Nested events (`Deliver.event`, `EventBlob.event`, `ChatSummary.last_message`) are verified
//! with `verify::event` before they are read, as the engine and the client do; the generated
//! `*_nested_flatbuffer()` accessors read nested bytes *without* verification and are never
//! called.

use magpie_wire::{fb, verify};
use std::hint::black_box;

/// Folds every value read into one number, so the optimiser cannot drop the reads.
#[derive(Default)]
pub struct Acc(u64);

impl Acc {
    pub fn n(&mut self, v: u64) {
        self.0 = self.0.rotate_left(5) ^ v;
    }
    pub fn s(&mut self, v: Option<&str>) {
        if let Some(s) = v {
            // The generated accessor skips UTF-8 validation: the verifier must have done it.
            assert!(std::str::from_utf8(s.as_bytes()).is_ok(), "verified buffer holds a string that is not UTF-8");
            for b in s.bytes() {
                self.n(b as u64);
            }
            self.n(s.len() as u64);
        } else {
            self.n(u64::MAX);
        }
    }
    pub fn b(&mut self, v: bool) {
        self.n(v as u64);
    }
    pub fn ids(&mut self, v: Option<flatbuffers::Vector<'_, u64>>) {
        if let Some(v) = v {
            self.n(v.len() as u64);
            for x in v.iter() {
                self.n(x);
            }
        }
    }
    pub fn finish(self) -> u64 {
        black_box(self.0)
    }
}

fn members(a: &mut Acc, v: Option<flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<fb::Member<'_>>>>) {
    if let Some(v) = v {
        a.n(v.len() as u64);
        for m in v.iter() {
            a.n(m.user_id());
            a.n(m.role().0 as u64);
            a.n(m.since_seq());
        }
    }
}

fn settings(a: &mut Acc, t: Option<fb::ChatSettings<'_>>) {
    if let Some(t) = t {
        for v in [t.post().0, t.add_members().0, t.change_info().0, t.pin().0, t.history().0] {
            a.n(v as u64);
        }
        a.b(t.forwarding());
        a.b(t.approve_joins());
    }
}

fn state(a: &mut Acc, t: Option<fb::ChatState<'_>>) {
    if let Some(t) = t {
        a.n(t.muted_until_ms() as u64);
        a.n(t.pin_rank());
        a.b(t.archived());
        a.b(t.marked_unread());
    }
}

fn invite(a: &mut Acc, t: fb::Invite<'_>) {
    a.s(t.code());
    a.n(t.chat_id());
    a.n(t.created_by());
    a.n(t.created_ms() as u64);
    a.n(t.expires_ms() as u64);
    a.n(t.max_uses() as u64);
    a.n(t.uses() as u64);
    a.b(t.revoked());
}

fn broadcast_list(a: &mut Acc, t: fb::BroadcastList<'_>) {
    a.n(t.list_id());
    a.s(t.name());
    a.ids(t.recipient_ids());
}

/// Verifies nested event bytes and, if they verify, reads every field.
fn nested(a: &mut Acc, bytes: Option<flatbuffers::Vector<'_, u8>>) {
    if let Some(v) = bytes {
        let raw = v.bytes();
        assert_eq!(raw.len(), v.len());
        for &x in raw {
            a.n(x as u64);
        }
        if let Ok(e) = verify::event(raw) {
            a.n(walk_event(e));
        }
    }
}

/// Reads every field of a verified event.
pub fn walk_event(e: fb::Event<'_>) -> u64 {
    let mut a = Acc::default();
    a.n(e.chat_id());
    a.n(e.seq());
    a.n(e.sender_id());
    a.n(e.sender_device_id());
    a.n(e.time_ms() as u64);
    a.n(e.body_type().0 as u64);
    if let Some(m) = e.body_as_message_body() {
        a.n(m.message_id());
        a.s(m.client_msg_id());
        a.s(m.content());
    }
    if let Some(c) = e.body_as_chat_created() {
        a.n(c.kind().0 as u64);
        a.s(c.title());
        members(&mut a, c.members());
        a.s(c.description());
        a.s(c.handle());
        settings(&mut a, c.settings());
    }
    if let Some(m) = e.body_as_members_added() {
        a.ids(m.user_ids());
        a.n(m.via().0 as u64);
    }
    if let Some(u) = e.body_as_chat_updated() {
        a.s(u.title());
        a.s(u.description());
        a.s(u.avatar_ref());
        a.s(u.handle());
        settings(&mut a, u.settings());
    }
    if let Some(r) = e.body_as_role_changed() {
        a.n(r.user_id());
        a.n(r.role().0 as u64);
    }
    if let Some(o) = e.body_as_owner_changed() {
        a.n(o.previous_owner());
        a.n(o.new_owner());
    }
    if let Some(m) = e.body_as_member_removed() {
        a.n(m.user_id());
        a.b(m.left());
    }
    black_box(format!("{e:?}"));
    a.finish()
}

/// Reads every field of a verified frame, nested events included (verified first).
pub fn walk_frame(f: fb::Frame<'_>) -> u64 {
    let mut a = Acc::default();
    a.n(f.request_id());
    a.n(f.body_type().0 as u64);
    if let Some(t) = f.body_as_hello() {
        a.n(t.protocol_version() as u64);
        a.n(t.min_protocol_version() as u64);
        a.n(t.features());
        a.s(t.client_name());
    }
    if let Some(t) = f.body_as_welcome() {
        a.n(t.protocol_version() as u64);
        a.n(t.features());
        a.s(t.server_name());
        a.n(t.max_content_bytes() as u64);
        a.n(t.max_frame_bytes() as u64);
        a.n(t.server_time_ms() as u64);
        a.n(t.node_id());
    }
    if let Some(t) = f.body_as_error() {
        a.n(t.code() as u64);
        a.s(t.message());
        a.n(t.retry_after_ms() as u64);
    }
    if f.body_as_ok().is_some() {
        a.n(1);
    }
    if let Some(t) = f.body_as_close() {
        a.n(t.code() as u64);
        a.s(t.reason());
    }
    if let Some(t) = f.body_as_ping() {
        a.n(t.nonce());
    }
    if let Some(t) = f.body_as_pong() {
        a.n(t.nonce());
        a.n(t.server_time_ms() as u64);
    }
    if let Some(t) = f.body_as_register() {
        a.s(t.username());
        a.s(t.password());
        a.s(t.device_name());
    }
    if let Some(t) = f.body_as_login() {
        a.s(t.username());
        a.s(t.password());
        a.s(t.device_name());
    }
    if let Some(t) = f.body_as_authenticate() {
        a.s(t.token());
    }
    if let Some(t) = f.body_as_authenticated() {
        a.n(t.user_id());
        a.n(t.device_id());
        a.s(t.username());
        a.s(t.token());
    }
    if f.body_as_logout().is_some() {
        a.n(2);
    }
    if f.body_as_list_devices().is_some() {
        a.n(3);
    }
    if let Some(t) = f.body_as_device_list() {
        if let Some(v) = t.devices() {
            a.n(v.len() as u64);
            for d in v.iter() {
                a.n(d.device_id());
                a.s(d.name());
                a.n(d.created_ms() as u64);
                a.b(d.current());
            }
        }
    }
    if let Some(t) = f.body_as_revoke_device() {
        a.n(t.device_id());
    }
    if let Some(t) = f.body_as_lookup_user() {
        a.s(t.username());
    }
    if let Some(t) = f.body_as_user_info() {
        a.n(t.user_id());
        a.s(t.username());
    }
    if let Some(t) = f.body_as_create_direct() {
        a.n(t.peer_user_id());
        a.s(t.peer_username());
    }
    if let Some(t) = f.body_as_create_group() {
        a.s(t.title());
        a.ids(t.member_ids());
        a.n(t.kind().0 as u64);
        a.s(t.description());
        a.s(t.handle());
        settings(&mut a, t.settings());
    }
    if let Some(t) = f.body_as_add_members() {
        a.n(t.chat_id());
        a.ids(t.user_ids());
    }
    if let Some(t) = f.body_as_remove_member() {
        a.n(t.chat_id());
        a.n(t.user_id());
    }
    if let Some(t) = f.body_as_leave_chat() {
        a.n(t.chat_id());
        a.n(t.successor());
    }
    if let Some(t) = f.body_as_get_chat() {
        a.n(t.chat_id());
    }
    if let Some(t) = f.body_as_chat_info() {
        a.n(t.chat_id());
        a.n(t.kind().0 as u64);
        a.s(t.title());
        members(&mut a, t.members());
        a.n(t.last_seq());
        a.n(t.created_ms() as u64);
        a.n(t.member_count() as u64);
        a.b(t.members_complete());
        a.n(t.my_role().0 as u64);
        a.s(t.description());
        a.s(t.avatar_ref());
        a.s(t.handle());
        settings(&mut a, t.settings());
        a.n(t.pending_requests() as u64);
    }
    if let Some(t) = f.body_as_list_chats() {
        a.n(t.after_chat_id());
        a.n(t.limit() as u64);
        a.n(t.order().0 as u64);
        a.b(t.archived());
        a.n(t.before_ms() as u64);
        a.n(t.before_chat_id());
    }
    if let Some(t) = f.body_as_chat_list() {
        if let Some(v) = t.chats() {
            a.n(v.len() as u64);
            for c in v.iter() {
                a.n(c.chat_id());
                a.n(c.kind().0 as u64);
                a.s(c.title());
                a.n(c.last_seq());
                a.n(c.member_count() as u64);
                nested(&mut a, c.last_message());
                a.n(c.last_activity_ms() as u64);
                state(&mut a, c.state());
                a.n(c.my_role().0 as u64);
                a.n(c.unread_count() as u64);
                a.n(c.unread_mentions() as u64);
                a.s(c.avatar_ref());
                a.s(c.handle());
            }
        }
    }
    if let Some(t) = f.body_as_send_message() {
        a.n(t.chat_id());
        a.s(t.client_msg_id());
        a.s(t.content());
    }
    if let Some(t) = f.body_as_send_ack() {
        a.n(t.chat_id());
        a.s(t.client_msg_id());
        a.n(t.message_id());
        a.n(t.seq());
        a.n(t.time_ms() as u64);
    }
    if let Some(t) = f.body_as_deliver() {
        nested(&mut a, t.event());
    }
    if let Some(t) = f.body_as_sync() {
        if let Some(v) = t.cursors() {
            a.n(v.len() as u64);
            for c in v.iter() {
                a.n(c.chat_id());
                a.n(c.last_seq());
            }
        }
    }
    if let Some(t) = f.body_as_sync_done() {
        a.n(t.chats() as u64);
        a.n(t.events());
    }
    if let Some(t) = f.body_as_history() {
        a.n(t.chat_id());
        a.n(t.from_seq());
        a.n(t.direction().0 as u64);
        a.n(t.limit() as u64);
    }
    if let Some(t) = f.body_as_history_page() {
        a.n(t.chat_id());
        if let Some(v) = t.events() {
            a.n(v.len() as u64);
            for blob in v.iter() {
                nested(&mut a, blob.event());
            }
        }
        a.b(t.has_more());
    }
    if let Some(t) = f.body_as_get_users() {
        a.ids(t.user_ids());
    }
    if let Some(t) = f.body_as_user_list() {
        if let Some(v) = t.users() {
            a.n(v.len() as u64);
            for u in v.iter() {
                a.n(u.user_id());
                a.s(u.username());
            }
        }
    }
    if let Some(t) = f.body_as_list_members() {
        a.n(t.chat_id());
        a.n(t.after_user_id());
        a.n(t.limit() as u64);
        a.b(t.admins_only());
    }
    if let Some(t) = f.body_as_member_list() {
        a.n(t.chat_id());
        members(&mut a, t.members());
        a.b(t.has_more());
    }
    if let Some(t) = f.body_as_update_chat() {
        a.n(t.chat_id());
        a.n(t.fields() as u64);
        a.s(t.title());
        a.s(t.description());
        a.s(t.avatar_ref());
        a.s(t.handle());
        settings(&mut a, t.settings());
    }
    if let Some(t) = f.body_as_set_role() {
        a.n(t.chat_id());
        a.n(t.user_id());
        a.n(t.role().0 as u64);
    }
    if let Some(t) = f.body_as_transfer_ownership() {
        a.n(t.chat_id());
        a.n(t.user_id());
    }
    if let Some(t) = f.body_as_create_invite() {
        a.n(t.chat_id());
        a.n(t.expires_ms() as u64);
        a.n(t.max_uses() as u64);
    }
    if let Some(t) = f.body_as_invite() {
        invite(&mut a, t);
    }
    if let Some(t) = f.body_as_list_invites() {
        a.n(t.chat_id());
    }
    if let Some(t) = f.body_as_invite_list() {
        a.n(t.chat_id());
        for i in t.invites().iter().flat_map(|v| v.iter()) {
            invite(&mut a, i);
        }
    }
    if let Some(t) = f.body_as_revoke_invite() {
        a.n(t.chat_id());
        a.s(t.code());
    }
    if let Some(t) = f.body_as_preview_chat() {
        a.s(t.invite_code());
        a.s(t.handle());
    }
    if let Some(t) = f.body_as_chat_preview() {
        a.n(t.chat_id());
        a.n(t.kind().0 as u64);
        a.s(t.title());
        a.s(t.description());
        a.s(t.avatar_ref());
        a.s(t.handle());
        a.n(t.member_count() as u64);
        a.b(t.approve_joins());
        a.b(t.is_member());
    }
    if let Some(t) = f.body_as_join_chat() {
        a.s(t.invite_code());
        a.s(t.handle());
    }
    if let Some(t) = f.body_as_join_pending() {
        a.n(t.chat_id());
    }
    if let Some(t) = f.body_as_list_join_requests() {
        a.n(t.chat_id());
    }
    if let Some(t) = f.body_as_join_request_list() {
        a.n(t.chat_id());
        for r in t.requests().iter().flat_map(|v| v.iter()) {
            a.n(r.user_id());
            a.n(r.time_ms() as u64);
        }
    }
    if let Some(t) = f.body_as_resolve_join_request() {
        a.n(t.chat_id());
        a.n(t.user_id());
        a.b(t.approve());
    }
    if let Some(t) = f.body_as_set_chat_state() {
        a.n(t.chat_id());
        a.n(t.fields() as u64);
        a.n(t.muted_until_ms() as u64);
        a.b(t.pinned());
        a.b(t.archived());
        a.b(t.marked_unread());
    }
    if let Some(t) = f.body_as_reorder_pinned() {
        a.ids(t.chat_ids());
    }
    if let Some(t) = f.body_as_chat_state_changed() {
        a.n(t.chat_id());
        state(&mut a, t.state());
    }
    if let Some(t) = f.body_as_membership_changed() {
        a.n(t.chat_id());
        a.b(t.member());
    }
    if let Some(t) = f.body_as_save_broadcast_list() {
        a.n(t.list_id());
        a.s(t.name());
        a.ids(t.recipient_ids());
    }
    if let Some(t) = f.body_as_broadcast_list() {
        broadcast_list(&mut a, t);
    }
    if let Some(t) = f.body_as_delete_broadcast_list() {
        a.n(t.list_id());
    }
    if f.body_as_list_broadcast_lists().is_some() {
        a.n(5);
    }
    if let Some(t) = f.body_as_broadcast_lists() {
        for l in t.lists().iter().flat_map(|v| v.iter()) {
            broadcast_list(&mut a, l);
        }
    }
    if let Some(t) = f.body_as_send_broadcast() {
        a.n(t.list_id());
        a.s(t.client_msg_id());
        a.s(t.content());
    }
    if let Some(t) = f.body_as_broadcast_ack() {
        a.n(t.list_id());
        a.s(t.client_msg_id());
        a.n(t.time_ms() as u64);
        for r in t.results().iter().flat_map(|v| v.iter()) {
            a.n(r.user_id());
            a.n(r.chat_id());
            a.n(r.message_id());
            a.n(r.seq());
            a.n(r.error_code() as u64);
        }
    }
    // The enum checks read fields of verified frames too; they must not panic on any of them.
    black_box(verify::client_enums(&f).err());
    // The generated Debug impls walk every field too (nested bytes as plain vectors).
    black_box(format!("{f:?}"));
    a.finish()
}

/// The `verify_frame` target.
pub fn fuzz_verify(data: &[u8]) {
    let client = verify::client_frame(data);
    let server = verify::server_frame(data);
    if let Ok(f) = client {
        walk_frame(f);
    }
    if let Ok(f) = server {
        walk_frame(f);
    }
    // A frame is for one direction only; Close is server-to-client.
    assert!(!(client.is_ok() && server.is_ok()), "a frame verified as both a client and a server frame");
    if let Ok(e) = verify::event(data) {
        walk_event(e);
    }
}
