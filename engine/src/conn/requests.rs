//! Request handlers. Each checks its arguments and the caller's rights, then either answers from
//! storage (on the blocking pool) or forwards the command to the shard that owns the chat.

use super::ConnShared;
use crate::auth;
use crate::ids::{chat_owner, now_ms, pair_owner};
use crate::owner::{chat_info_frame, OwnerCmd};
use crate::shard::{ReplyTo, Shard, ShardMsg};
use bytes::Bytes;
use magpie_storage::{Store, StoreError};
use magpie_wire::limits::*;
use magpie_wire::{encode, fb, ErrorCode};
use std::rc::Rc;

/// A handler's refusal: an error code and a human-readable detail.
type Refusal = (ErrorCode, String);

fn invalid(msg: impl Into<String>) -> Refusal {
    (ErrorCode::InvalidArgument, msg.into())
}

/// Runs storage work on the blocking pool.
async fn blocking<T: Send + 'static>(
    store: &Store,
    f: impl FnOnce(&Store) -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .unwrap_or_else(|e| Err((ErrorCode::Internal, format!("worker failed: {e}"))))
}

fn storage(e: StoreError) -> Refusal {
    tracing::error!(error = %e, "storage error");
    (ErrorCode::Internal, "storage error".into())
}

fn len_between(s: Option<&str>, min: usize, max: usize, what: &str) -> Result<String, Refusal> {
    let s = s.unwrap_or("");
    if s.len() < min || s.len() > max {
        return Err(invalid(format!("{what} must be {min}..={max} bytes")));
    }
    Ok(s.to_string())
}

pub async fn dispatch(shard: &Rc<Shard>, conn: &Rc<ConnShared>, f: &fb::Frame<'_>) {
    let request_id = f.request_id();
    let result = match conn.auth.get() {
        None => unauthenticated(shard, conn, f).await,
        Some((user_id, device_id)) => authenticated(shard, conn, f, user_id, device_id).await,
    };
    match result {
        Ok(Some(frame)) => conn.push_reply(frame),
        Ok(None) => {} // answered later, by the owner shard
        Err((code, msg)) => {
            let retry = if code.retryable() { 200 } else { 0 };
            conn.push_reply(encode::error(request_id, code, &msg, retry));
        }
    }
}

async fn unauthenticated(shard: &Rc<Shard>, conn: &Rc<ConnShared>, f: &fb::Frame<'_>) -> Result<Option<Bytes>, Refusal> {
    let rid = f.request_id();
    let memory = shard.shared.config.argon2_memory_kib;
    let store = &shard.shared.store;
    let (user, device, token) = match f.body_type() {
        fb::Body::Ping => return Ok(Some(pong(f))),
        fb::Body::Hello => return Err(invalid("already greeted")),
        fb::Body::Register => {
            let r = f.body_as_register().expect("checked type");
            let username = r.username().unwrap_or("").to_string();
            if !valid_username(&username) {
                return Err(invalid("username must be 3..=32 of a-z 0-9 _ . -"));
            }
            let password = len_between(r.password(), MIN_PASSWORD_BYTES, MAX_PASSWORD_BYTES, "password")?;
            let device_name = len_between(r.device_name(), 0, MAX_DEVICE_NAME_BYTES, "device_name")?;
            blocking(store, move |s| {
                let hash = auth::hash_password(&password, memory).map_err(|e| (ErrorCode::Internal, e))?;
                let user = s.create_user(&username, &hash, now_ms()).map_err(|e| match e {
                    StoreError::UsernameTaken => (ErrorCode::UsernameTaken, "username taken".to_string()),
                    e => storage(e),
                })?;
                let token = auth::new_token();
                let device = s.create_device(user.user_id, &device_name, auth::token_hash(&token), now_ms()).map_err(storage)?;
                Ok((user, device, token))
            })
            .await?
        }
        fb::Body::Login => {
            let r = f.body_as_login().expect("checked type");
            let username = r.username().unwrap_or("").to_string();
            let password = r.password().unwrap_or("").to_string();
            let device_name = len_between(r.device_name(), 0, MAX_DEVICE_NAME_BYTES, "device_name")?;
            blocking(store, move |s| {
                let user = s.user_by_name(&username).map_err(storage)?;
                let ok = match &user {
                    Some(u) => auth::verify_password(&password, &u.password_hash),
                    None => {
                        // Same work for unknown names, so timing does not reveal which exist.
                        auth::verify_password(&password, auth::dummy_hash(memory));
                        false
                    }
                };
                let Some(user) = user.filter(|_| ok) else {
                    return Err((ErrorCode::InvalidCredentials, "wrong username or password".into()));
                };
                let token = auth::new_token();
                let device = s.create_device(user.user_id, &device_name, auth::token_hash(&token), now_ms()).map_err(storage)?;
                Ok((user, device, token))
            })
            .await?
        }
        fb::Body::Authenticate => {
            let token = f.body_as_authenticate().expect("checked type").token().unwrap_or("").to_string();
            blocking(store, move |s| {
                let device = s.device_by_token_hash(&auth::token_hash(&token)).map_err(storage)?;
                let device = device.ok_or((ErrorCode::InvalidCredentials, "unknown or revoked token".to_string()))?;
                let user = s.user_by_id(device.user_id).map_err(storage)?;
                let user = user.ok_or((ErrorCode::InvalidCredentials, "unknown or revoked token".to_string()))?;
                Ok((user, device, String::new()))
            })
            .await?
        }
        _ => return Err((ErrorCode::Unauthenticated, "authenticate first".into())),
    };
    if conn.auth.get().is_some() {
        return Err((ErrorCode::AlreadyAuthenticated, "already authenticated".into()));
    }
    conn.auth.set(Some((user.user_id, device.device_id)));
    Ok(Some(encode::authenticated(rid, user.user_id, device.device_id, &user.username, &token)))
}

fn pong(f: &fb::Frame<'_>) -> Bytes {
    let nonce = f.body_as_ping().map(|p| p.nonce()).unwrap_or(0);
    encode::pong(f.request_id(), nonce, now_ms())
}

async fn authenticated(
    shard: &Rc<Shard>,
    conn: &Rc<ConnShared>,
    f: &fb::Frame<'_>,
    user_id: u64,
    device_id: u64,
) -> Result<Option<Bytes>, Refusal> {
    let rid = f.request_id();
    let store = &shard.shared.store;
    let shards = shard.shared.mailboxes.len();
    let reply = ReplyTo { shard: shard.id, conn: conn.id, request_id: rid };
    match f.body_type() {
        fb::Body::Ping => Ok(Some(pong(f))),
        fb::Body::Hello => Err(invalid("already greeted")),
        fb::Body::Register | fb::Body::Login | fb::Body::Authenticate => {
            Err((ErrorCode::AlreadyAuthenticated, "already authenticated".into()))
        }
        fb::Body::SendMessage => {
            let m = f.body_as_send_message().expect("checked type");
            let chat_id = m.chat_id();
            let client_msg_id = len_between(m.client_msg_id(), 1, MAX_CLIENT_MSG_ID_BYTES, "client_msg_id")?;
            let content = m.content().unwrap_or("");
            if content.len() > MAX_CONTENT_BYTES {
                return Err((ErrorCode::ContentTooLarge, format!("content is over {MAX_CONTENT_BYTES} bytes")));
            }
            if content.is_empty() {
                return Err(invalid("content must not be empty"));
            }
            let content = content.to_string();
            // A retry of a send acked before this process started is found on disk; newer ones
            // are caught by the owner's in-memory window.
            let cmid = client_msg_id.clone();
            let earlier = blocking(store, move |s| s.dedup_lookup(device_id, &cmid).map_err(storage)).await?;
            if let Some(rec) = earlier {
                if rec.chat_id != chat_id {
                    return Err(invalid("client_msg_id was already used in another chat"));
                }
                return Ok(Some(encode::send_ack(rid, chat_id, &client_msg_id, rec.message_id, rec.seq, rec.time_ms)));
            }
            let cmd = OwnerCmd::Send { chat_id, user_id, device_id, client_msg_id, content, reply, received: None };
            shard.send_to(chat_owner(chat_id, shards), ShardMsg::Owner(cmd));
            Ok(None)
        }
        fb::Body::Sync => {
            let cursors: Vec<(u64, u64)> = f
                .body_as_sync()
                .and_then(|s| s.cursors())
                .map(|v| v.iter().map(|c| (c.chat_id(), c.last_seq())).collect())
                .unwrap_or_default();
            super::delivery::start_sync(shard, conn, rid, user_id, cursors);
            Ok(None)
        }
        fb::Body::History => {
            let h = f.body_as_history().expect("checked type");
            let (chat_id, from, dir) = (h.chat_id(), h.from_seq(), h.direction());
            let limit = match h.limit() {
                0 => DEFAULT_HISTORY_LIMIT,
                l => l.min(MAX_HISTORY_LIMIT),
            } as usize;
            let rows = blocking(store, move |s| {
                require_member(s, chat_id, user_id)?;
                let rows = if dir == fb::Direction::Forward {
                    s.read_forward(chat_id, from, limit + 1)
                } else {
                    s.read_backward(chat_id, from, limit + 1)
                };
                rows.map_err(storage)
            })
            .await?;
            Ok(Some(history_page(rid, chat_id, rows, limit, dir)))
        }
        fb::Body::CreateDirect => {
            let c = f.body_as_create_direct().expect("checked type");
            let (peer_id, peer_name) = (c.peer_user_id(), c.peer_username().unwrap_or("").to_string());
            let peer = blocking(store, move |s| {
                let u = if peer_id != 0 { s.user_by_id(peer_id) } else { s.user_by_name(&peer_name) };
                u.map_err(storage)?.map(|u| u.user_id).ok_or((ErrorCode::UserNotFound, "no such user".into()))
            })
            .await?;
            if peer == user_id {
                return Err(invalid("a direct chat needs another user"));
            }
            let cmd = OwnerCmd::CreateDirect { user_id, device_id, peer, reply };
            shard.send_to(pair_owner(user_id, peer, shards), ShardMsg::Owner(cmd));
            Ok(None)
        }
        fb::Body::CreateGroup => {
            let g = f.body_as_create_group().expect("checked type");
            let title = len_between(g.title(), 1, MAX_TITLE_BYTES, "title")?;
            let members: Vec<u64> = g.member_ids().map(|v| v.iter().collect()).unwrap_or_default();
            if members.len() > MAX_MEMBERS_PER_REQUEST {
                return Err(invalid(format!("at most {MAX_MEMBERS_PER_REQUEST} members per request")));
            }
            let (members, chat_id) = blocking(store, move |s| {
                require_users(s, &members)?;
                let id = s.allocate_ids(1).map_err(storage)?.start;
                Ok((members, id))
            })
            .await?;
            let cmd = OwnerCmd::CreateGroup { chat_id, user_id, device_id, title, members, reply };
            shard.send_to(chat_owner(chat_id, shards), ShardMsg::Owner(cmd));
            Ok(None)
        }
        fb::Body::AddMembers => {
            let a = f.body_as_add_members().expect("checked type");
            let chat_id = a.chat_id();
            let user_ids: Vec<u64> = a.user_ids().map(|v| v.iter().collect()).unwrap_or_default();
            if user_ids.is_empty() || user_ids.len() > MAX_MEMBERS_PER_REQUEST {
                return Err(invalid(format!("user_ids must hold 1..={MAX_MEMBERS_PER_REQUEST} ids")));
            }
            let user_ids = blocking(store, move |s| require_users(s, &user_ids).map(|_| user_ids)).await?;
            let cmd = OwnerCmd::AddMembers { chat_id, user_id, device_id, user_ids, reply };
            shard.send_to(chat_owner(chat_id, shards), ShardMsg::Owner(cmd));
            Ok(None)
        }
        fb::Body::RemoveMember | fb::Body::LeaveChat => {
            let (chat_id, target) = match f.body_as_remove_member() {
                Some(r) => (r.chat_id(), r.user_id()),
                None => (f.body_as_leave_chat().expect("checked type").chat_id(), user_id),
            };
            let cmd = OwnerCmd::RemoveMember { chat_id, user_id, device_id, target, reply };
            shard.send_to(chat_owner(chat_id, shards), ShardMsg::Owner(cmd));
            Ok(None)
        }
        fb::Body::GetChat => {
            let chat_id = f.body_as_get_chat().expect("checked type").chat_id();
            let frame = blocking(store, move |s| {
                let members = require_member(s, chat_id, user_id)?;
                let meta = s.chat(chat_id).map_err(storage)?.ok_or((ErrorCode::ChatNotFound, "no such chat".into()))?;
                let last_seq = s.last_seq(chat_id).map_err(storage)?;
                Ok(chat_info_frame(rid, &meta, &members, last_seq))
            })
            .await?;
            Ok(Some(frame))
        }
        fb::Body::ListChats => {
            let l = f.body_as_list_chats().expect("checked type");
            let (after, limit) = (l.after_chat_id(), match l.limit() {
                0 => DEFAULT_CHAT_PAGE,
                n => n.min(MAX_CHAT_PAGE),
            } as usize);
            Ok(Some(blocking(store, move |s| list_chats(s, rid, user_id, after, limit)).await?))
        }
        fb::Body::LookupUser => {
            let name = f.body_as_lookup_user().expect("checked type").username().unwrap_or("").to_string();
            let user = blocking(store, move |s| s.user_by_name(&name).map_err(storage)).await?;
            let user = user.ok_or((ErrorCode::UserNotFound, "no such user".to_string()))?;
            Ok(Some(encode::user_info(rid, user.user_id, &user.username)))
        }
        fb::Body::GetUsers => {
            let ids: Vec<u64> = f.body_as_get_users().and_then(|g| g.user_ids()).map(|v| v.iter().collect()).unwrap_or_default();
            if ids.is_empty() || ids.len() > MAX_MEMBERS_PER_REQUEST {
                return Err(invalid(format!("user_ids must hold 1..={MAX_MEMBERS_PER_REQUEST} ids")));
            }
            let users = blocking(store, move |s| {
                let mut found = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(u) = s.user_by_id(id).map_err(storage)? {
                        found.push((u.user_id, u.username));
                    }
                }
                Ok(found)
            })
            .await?;
            let list: Vec<(u64, &str)> = users.iter().map(|(id, name)| (*id, name.as_str())).collect();
            Ok(Some(encode::user_list(rid, &list)))
        }
        fb::Body::ListDevices => {
            let devices = blocking(store, move |s| s.list_devices(user_id).map_err(storage)).await?;
            let entries: Vec<_> = devices
                .iter()
                .map(|d| encode::DeviceEntry {
                    device_id: d.device_id,
                    name: &d.name,
                    created_ms: d.created_ms,
                    current: d.device_id == device_id,
                })
                .collect();
            Ok(Some(encode::device_list(rid, &entries)))
        }
        fb::Body::RevokeDevice | fb::Body::Logout => {
            let target = f.body_as_revoke_device().map(|r| r.device_id()).unwrap_or(device_id);
            let revoked = blocking(store, move |s| s.revoke_device(user_id, target).map_err(storage)).await?;
            if !revoked {
                return Err((ErrorCode::DeviceNotFound, "no such device".into()));
            }
            // Answer first: the revocation closes this very connection when it is the target.
            conn.push_reply(encode::ok(rid));
            for to in 0..shards {
                shard.send_to(to, ShardMsg::RevokeDevice { device_id: target });
            }
            Ok(None)
        }
        other => Err((ErrorCode::UnknownFrame, format!("{other:?} is not a request"))),
    }
}

/// The chat's members if `user_id` is one of them; otherwise the same answer as for a chat
/// that does not exist, so non-members learn nothing.
fn require_member(s: &Store, chat_id: u64, user_id: u64) -> Result<Vec<(u64, magpie_storage::Role)>, Refusal> {
    let members = s.members(chat_id).map_err(storage)?;
    if members.iter().any(|m| m.0 == user_id) {
        Ok(members)
    } else {
        Err((ErrorCode::ChatNotFound, "no such chat".into()))
    }
}

fn require_users(s: &Store, ids: &[u64]) -> Result<(), Refusal> {
    for &id in ids {
        if s.user_by_id(id).map_err(storage)?.is_none() {
            return Err((ErrorCode::UserNotFound, format!("no user {id}")));
        }
    }
    Ok(())
}

/// A page of at most `limit` events; `rows` holds up to one more, which tells if there is more.
fn history_page(rid: u64, chat_id: u64, mut rows: Vec<(u64, Vec<u8>)>, limit: usize, dir: fb::Direction) -> Bytes {
    let mut has_more = rows.len() > limit;
    if has_more {
        if dir == fb::Direction::Forward {
            rows.truncate(limit);
        } else {
            rows.drain(..rows.len() - limit);
        }
    }
    // Keep the page under the frame budget, trimming from the far end of the reading direction.
    let mut total: usize = rows.iter().map(|r| r.1.len() + 16).sum();
    while total > MAX_PAGE_BYTES && rows.len() > 1 {
        let dropped = if dir == fb::Direction::Forward { rows.pop() } else { Some(rows.remove(0)) };
        total -= dropped.map(|r| r.1.len() + 16).unwrap_or(0);
        has_more = true;
    }
    let events: Vec<&[u8]> = rows.iter().map(|r| r.1.as_slice()).collect();
    encode::history_page(rid, chat_id, &events, has_more)
}

/// One page of the user's chats in ascending id order, cut at `limit` chats or the byte budget.
fn list_chats(s: &Store, rid: u64, user_id: u64, after: u64, limit: usize) -> Result<Bytes, Refusal> {
    struct Row {
        meta: magpie_storage::ChatMeta,
        last_seq: u64,
        members: u32,
        last: Option<Vec<u8>>,
    }
    let mut rows = Vec::new();
    let mut budget = MAX_PAGE_BYTES;
    let mut has_more = false;
    let mut ids = s.chats_of_user(user_id).map_err(storage)?;
    ids.sort_unstable();
    for chat_id in ids.into_iter().filter(|&c| c > after) {
        if rows.len() == limit {
            has_more = true;
            break;
        }
        let Some(meta) = s.chat(chat_id).map_err(storage)? else { continue };
        let last_seq = s.last_seq(chat_id).map_err(storage)?;
        let members = s.members(chat_id).map_err(storage)?.len() as u32;
        let last = s
            .last_event_matching(chat_id, 64, |b| {
                magpie_wire::verify::event(b).map(|e| e.body_type() == fb::EventBody::MessageBody).unwrap_or(false)
            })
            .map_err(storage)?
            .map(|(_, b)| b);
        let size = last.as_ref().map_or(0, |b| b.len()) + meta.title.len() + 64;
        if size > budget {
            has_more = true;
            break;
        }
        budget -= size;
        rows.push(Row { meta, last_seq, members, last });
    }
    let summaries: Vec<encode::ChatSummaryArgs<'_>> = rows
        .iter()
        .map(|r| encode::ChatSummaryArgs {
            chat_id: r.meta.chat_id,
            kind: match r.meta.kind {
                magpie_storage::ChatKind::Direct => fb::ChatKind::Direct,
                magpie_storage::ChatKind::Group => fb::ChatKind::Group,
            },
            title: &r.meta.title,
            last_seq: r.last_seq,
            member_count: r.members,
            last_message: r.last.as_deref(),
        })
        .collect();
    Ok(encode::chat_list_page(rid, &summaries, has_more))
}
