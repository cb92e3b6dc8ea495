//! Accounts, devices and users: register, log in, token sign-in, devices and their revocation,
//! user lookup.

use super::{invalid, len_between, storage, Answer, Ctx, Refusal};
use crate::auth;
use crate::crossing::ShardMsg;
use crate::ids::now_ms;
use magpie_storage::{DeviceRecord, Store, StoreError, UserRecord};
use magpie_wire::limits::*;
use magpie_wire::{encode, fb, ErrorCode};

/// A new sign-in on this connection: the user, the device and (for new devices) its token.
fn signed_in(cx: &Ctx<'_>, (user, device, token): (UserRecord, DeviceRecord, String)) -> Answer {
    if cx.conn.auth.get().is_some() {
        return Err((ErrorCode::AlreadyAuthenticated, "already authenticated".into()));
    }
    cx.conn.auth.set(Some((user.user_id, device.device_id)));
    Ok(Some(encode::authenticated(cx.request_id, user.user_id, device.device_id, &user.username, &token)))
}

fn wrong_token() -> Refusal {
    (ErrorCode::InvalidCredentials, "unknown or revoked token".to_string())
}

pub async fn register(cx: &Ctx<'_>, f: &fb::Frame<'_>) -> Answer {
    let r = f.body_as_register().expect("checked type");
    let username = r.username().unwrap_or("").to_string();
    if !valid_username(&username) {
        return Err(invalid("username must be 3..=32 of a-z 0-9 _ . -"));
    }
    let password = len_between(r.password(), MIN_PASSWORD_BYTES, MAX_PASSWORD_BYTES, "password")?;
    let device_name = len_between(r.device_name(), 0, MAX_DEVICE_NAME_BYTES, "device_name")?;
    let memory = cx.shard.shared.config.argon2_memory_kib;
    let new = cx
        .blocking(move |s| {
            let hash = auth::hash_password(&password, memory).map_err(|e| (ErrorCode::Internal, e))?;
            let user = s.create_user(&username, &hash, now_ms()).map_err(|e| match e {
                StoreError::UsernameTaken => (ErrorCode::UsernameTaken, "username taken".to_string()),
                e => storage(e),
            })?;
            new_device(s, user, &device_name)
        })
        .await?;
    signed_in(cx, new)
}

/// A new device of `user`, with the token only the client will ever know.
fn new_device(s: &Store, user: UserRecord, device_name: &str) -> Result<(UserRecord, DeviceRecord, String), Refusal> {
    let token = auth::new_token();
    let device = s.create_device(user.user_id, device_name, auth::token_hash(&token), now_ms()).map_err(storage)?;
    Ok((user, device, token))
}

pub async fn login(cx: &Ctx<'_>, f: &fb::Frame<'_>) -> Answer {
    let r = f.body_as_login().expect("checked type");
    let username = r.username().unwrap_or("").to_string();
    let password = r.password().unwrap_or("").to_string();
    let device_name = len_between(r.device_name(), 0, MAX_DEVICE_NAME_BYTES, "device_name")?;
    let memory = cx.shard.shared.config.argon2_memory_kib;
    let new = cx
        .blocking(move |s| {
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
            new_device(s, user, &device_name)
        })
        .await?;
    signed_in(cx, new)
}

pub async fn authenticate(cx: &Ctx<'_>, f: &fb::Frame<'_>) -> Answer {
    let token = f.body_as_authenticate().expect("checked type").token().unwrap_or("").to_string();
    let found = cx
        .blocking(move |s| {
            let device = s.device_by_token_hash(&auth::token_hash(&token)).map_err(storage)?.ok_or_else(wrong_token)?;
            let user = s.user_by_id(device.user_id).map_err(storage)?.ok_or_else(wrong_token)?;
            Ok((user, device, String::new()))
        })
        .await?;
    signed_in(cx, found)
}

pub async fn list_devices(cx: &Ctx<'_>, (user_id, device_id): (u64, u64)) -> Answer {
    let devices = cx.blocking(move |s| s.list_devices(user_id).map_err(storage)).await?;
    let entries: Vec<_> = devices
        .iter()
        .map(|d| encode::DeviceEntry { device_id: d.device_id, name: &d.name, created_ms: d.created_ms, current: d.device_id == device_id })
        .collect();
    Ok(Some(encode::device_list(cx.request_id, &entries)))
}

/// `RevokeDevice`, or `Logout` (this device).
pub async fn revoke_device(cx: &Ctx<'_>, (user_id, device_id): (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let target = f.body_as_revoke_device().map(|r| r.device_id()).unwrap_or(device_id);
    let revoked = cx.blocking(move |s| s.revoke_device(user_id, target).map_err(storage)).await?;
    if !revoked {
        return Err((ErrorCode::DeviceNotFound, "no such device".into()));
    }
    // Answer first: the revocation closes this very connection when it is the target.
    cx.conn.push_reply(encode::ok(cx.request_id));
    for to in 0..cx.shard.shards() {
        cx.shard.send_to(to, ShardMsg::RevokeDevice { device_id: target });
    }
    Ok(None)
}

pub async fn lookup_user(cx: &Ctx<'_>, f: &fb::Frame<'_>) -> Answer {
    let name = f.body_as_lookup_user().expect("checked type").username().unwrap_or("").to_string();
    let user = cx.blocking(move |s| s.user_by_name(&name).map_err(storage)).await?;
    let user = user.ok_or((ErrorCode::UserNotFound, "no such user".to_string()))?;
    Ok(Some(encode::user_info(cx.request_id, user.user_id, &user.username)))
}

pub async fn get_users(cx: &Ctx<'_>, f: &fb::Frame<'_>) -> Answer {
    let ids: Vec<u64> = f.body_as_get_users().and_then(|g| g.user_ids()).map(|v| v.iter().collect()).unwrap_or_default();
    if ids.is_empty() || ids.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(invalid(format!("user_ids must hold 1..={MAX_MEMBERS_PER_REQUEST} ids")));
    }
    let users = cx
        .blocking(move |s| {
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
    Ok(Some(encode::user_list(cx.request_id, &list)))
}
