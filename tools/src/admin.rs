//! `magpiectl admin`: work directly on an engine's data directory.
//!
//! Reads open the store read-only, which RocksDB allows next to a running engine (the view is
//! the state as of opening), so `users`, `chats`, `dump` and `stats` work on a live node too.
//! Writes need the database's lock, i.e. a stopped engine: `create-user` then falls back to the
//! engine's own protocol, and `backup` says that it needs the engine stopped.

use crate::cli::{AdminArgs, AdminCommand};
use crate::client_cmds::{client_config, read_secret, Ctx};
use crate::error::{is_lock_error, CliError, Result};
use crate::output::{event_json, event_line_timed, format_time, table, Names};
use magpie_client::{decode_event, Client, ClientError, ErrorCode};
use magpie_storage::{credentials, ChatKind, Role, Store, StoreOptions};
use magpie_wire::limits::{valid_username, MAX_PASSWORD_BYTES, MIN_PASSWORD_BYTES};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Events read from the log per batch while dumping (bounded memory for any log length).
const DUMP_BATCH: usize = 1024;
/// Device name of the short-lived device `create-user` registers through a running engine.
const ADMIN_DEVICE: &str = "magpiectl-admin";

/// The RocksDB directory of `data_dir`: its `db/` (an engine's data directory, or a backup
/// made by `admin backup`), or `data_dir` itself if it is a bare RocksDB directory.
pub fn db_path(data_dir: &Path) -> Result<PathBuf> {
    let nested = data_dir.join("db");
    if nested.join("CURRENT").is_file() {
        Ok(nested)
    } else if data_dir.join("CURRENT").is_file() {
        Ok(data_dir.to_owned())
    } else {
        Err(CliError::new(
            "no_database",
            format!("no Magpie database in {} (expected {}; see --data-dir)", data_dir.display(), nested.display()),
        ))
    }
}

fn open_read_only(data_dir: &Path) -> Result<Store> {
    let path = db_path(data_dir)?;
    Store::open_read_only(&path).map_err(|e| CliError::from(e).context(path.display()))
}

fn storage_kind(kind: ChatKind) -> &'static str {
    match kind {
        ChatKind::Direct => "direct",
        ChatKind::Group => "group",
        ChatKind::Channel => "channel",
    }
}

fn storage_role(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::Admin => "admin",
        Role::Owner => "owner",
    }
}

pub async fn run(ctx: &Ctx, args: AdminArgs) -> Result<()> {
    let dir = args.data_dir.as_path();
    match args.command {
        AdminCommand::CreateUser { username, password } => {
            create_user(ctx, dir, &username, &read_secret(&password)?).await
        }
        // Store calls block on disk; this is a one-command process, so blocking is fine here.
        AdminCommand::Users => users(ctx, dir),
        AdminCommand::Chats => chats(ctx, dir),
        AdminCommand::Dump { chat_id, after, limit } => dump(ctx, dir, chat_id, after, limit),
        AdminCommand::Stats => stats(ctx, dir),
        AdminCommand::Backup { dest } => backup(ctx, dir, &dest),
    }
}

fn users(ctx: &Ctx, dir: &Path) -> Result<()> {
    let store = open_read_only(dir)?;
    let mut rows = Vec::new();
    let mut values = Vec::new();
    for u in store.list_users()? {
        let devices = store.list_devices(u.user_id)?;
        values.push(json!({
            "user_id": u.user_id,
            "username": u.username,
            "created_ms": u.created_ms,
            "devices": devices.iter().map(|d| json!({ "device_id": d.device_id, "name": d.name, "created_ms": d.created_ms })).collect::<Vec<_>>(),
        }));
        let device_names: Vec<String> = devices.iter().map(|d| format!("{} {}", d.device_id, d.name)).collect();
        rows.push(vec![u.user_id.to_string(), u.username, format_time(u.created_ms), device_names.join(", ")]);
    }
    ctx.out.result(Value::Array(values), || {
        if rows.is_empty() {
            "(no users)".into()
        } else {
            table(&["USER", "USERNAME", "CREATED (UTC)", "DEVICES"], &rows)
        }
    });
    Ok(())
}

/// Usernames of every account, for showing who did what in dumps and chat lists.
fn all_names(store: &Store) -> Result<Names> {
    Ok(Names(store.list_users()?.into_iter().map(|u| (u.user_id, u.username)).collect()))
}

fn chats(ctx: &Ctx, dir: &Path) -> Result<()> {
    let store = open_read_only(dir)?;
    let names = all_names(&store)?;
    let mut rows = Vec::new();
    let mut values = Vec::new();
    for c in store.list_chats()? {
        let members = store.members(c.chat_id)?;
        let last_seq = store.last_seq(c.chat_id)?;
        values.push(json!({
            "chat_id": c.chat_id,
            "kind": storage_kind(c.kind),
            "title": c.title,
            "created_ms": c.created_ms,
            "created_by": c.created_by,
            "description": c.profile.description,
            "handle": c.profile.handle,
            "last_seq": last_seq,
            "members": members.iter().map(|&(id, role)| json!({ "user_id": id, "role": storage_role(role) })).collect::<Vec<_>>(),
        }));
        let who: Vec<String> = members
            .iter()
            .map(|&(id, role)| match role {
                Role::Owner => format!("{}**", names.show(id)),
                Role::Admin => format!("{}*", names.show(id)),
                Role::Member => names.show(id),
            })
            .collect();
        rows.push(vec![
            c.chat_id.to_string(),
            storage_kind(c.kind).into(),
            c.title,
            format!("#{last_seq}"),
            format_time(c.created_ms),
            who.join(", "),
        ]);
    }
    ctx.out.result(Value::Array(values), || {
        if rows.is_empty() {
            "(no chats)".into()
        } else {
            table(&["CHAT", "KIND", "TITLE", "LAST", "CREATED (UTC)", "MEMBERS (** owner, * admin)"], &rows)
        }
    });
    Ok(())
}

fn dump(ctx: &Ctx, dir: &Path, chat_id: u64, after: u64, limit: Option<usize>) -> Result<()> {
    let store = open_read_only(dir)?;
    if store.chat(chat_id)?.is_none() && store.last_seq(chat_id)? == 0 {
        return Err(CliError::wire(ErrorCode::ChatNotFound, format!("no chat {chat_id} in {}", dir.display())));
    }
    let names = all_names(&store)?;
    let (mut from, mut left, mut broken) = (after, limit.unwrap_or(usize::MAX), 0usize);
    while left > 0 {
        let batch = store.read_forward(chat_id, from, DUMP_BATCH.min(left))?;
        let Some(&(last, _)) = batch.last() else { break };
        for (seq, bytes) in &batch {
            match decode_event(bytes) {
                Ok(e) => ctx.out.result(event_json(&e, &names), || event_line_timed(&e, &names)),
                Err(err) => {
                    // A stored event that fails verification is reported in place, not fatal:
                    // the rest of the log is still worth seeing.
                    broken += 1;
                    let code = err.code().unwrap_or(ErrorCode::MalformedFrame);
                    ctx.out.result(
                        json!({ "chat_id": chat_id, "seq": seq, "bytes": bytes.len(), "error": code.name(), "hex": hex::encode(bytes) }),
                        || format!("[chat {chat_id} #{seq}] undecodable event ({code}), {} bytes: {}", bytes.len(), hex::encode(bytes)),
                    );
                }
            }
        }
        left -= batch.len();
        from = last;
    }
    if broken > 0 {
        return Err(CliError::wire(
            ErrorCode::MalformedFrame,
            format!("{broken} stored events of chat {chat_id} failed verification"),
        ));
    }
    Ok(())
}

fn stats(ctx: &Ctx, dir: &Path) -> Result<()> {
    let store = open_read_only(dir)?;
    let s = store.stats()?;
    // Exact counts the store's estimate cannot give: per-chat sequence numbers have no gaps,
    // so a chat's last seq is its number of events.
    let (mut log_events, mut memberships) = (0u64, 0u64);
    for c in store.list_chats()? {
        log_events += store.last_seq(c.chat_id)?;
        memberships += store.members(c.chat_id)?.len() as u64;
    }
    // The store's commit counters count since its opening, always 0 for this read-only
    // handle, so they are left out rather than shown as misleading zeros.
    let value = json!({
        "users": s.users,
        "devices": s.devices,
        "chats": s.chats,
        "memberships": memberships,
        "log_events": log_events,
        "log_events_estimate": s.log_events_estimate,
        "sst_bytes": s.sst_bytes,
    });
    ctx.out.result(value, || {
        let rows = [
            ("users", s.users),
            ("devices", s.devices),
            ("chats", s.chats),
            ("memberships", memberships),
            ("log events", log_events),
            ("log events (RocksDB estimate)", s.log_events_estimate),
            ("SST bytes", s.sst_bytes),
        ];
        rows.iter().map(|(k, v)| format!("{k:<30}{v}")).collect::<Vec<_>>().join("\n")
    });
    Ok(())
}

fn backup(ctx: &Ctx, dir: &Path, dest: &Path) -> Result<()> {
    let src = db_path(dir)?;
    if dest.exists() && std::fs::read_dir(dest).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(CliError::invalid(format!("{} exists and is not empty", dest.display())));
    }
    // A RocksDB checkpoint needs a writable handle (it pauses file deletions and may flush),
    // which only one process can hold: the engine's while it runs.
    let store = match Store::open(&src, StoreOptions::default()) {
        Ok(store) => store,
        Err(e) if is_lock_error(&e) => {
            return Err(CliError::new(
                "db_locked",
                format!(
                    "{} is locked by a running engine: a checkpoint needs the engine stopped \
                     (online backups need an admin request to the engine, which the protocol does not have yet)",
                    src.display()
                ),
            ))
        }
        Err(e) => return Err(CliError::from(e).context(src.display())),
    };
    std::fs::create_dir_all(dest)?;
    let db_dest = dest.join("db");
    let written = store.checkpoint(&db_dest);
    store.flush_and_close();
    written.map_err(|e| CliError::from(e).context(format!("checkpoint into {}", db_dest.display())))?;
    // With the certificate, key and node id beside it, the backup is a complete data
    // directory: `magpie --data-dir DEST` starts from it as the same node.
    let mut copied = Vec::new();
    if src != dir {
        for name in ["tls", "node_id"] {
            let from = dir.join(name);
            if from.exists() {
                copy_tree(&from, &dest.join(name))?;
                copied.push(name);
            }
        }
    }
    ctx.out.result(
        json!({ "backup": dest.display().to_string(), "db": db_dest.display().to_string(), "copied": copied }),
        || format!("backup written to {} (start an engine on it with --data-dir {})", dest.display(), dest.display()),
    );
    Ok(())
}

/// Copies a file or a directory tree, keeping permissions (the TLS key stays private).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let meta = std::fs::metadata(from)?;
    if meta.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        std::fs::set_permissions(to, meta.permissions())?;
    } else {
        std::fs::copy(from, to)?;
    }
    Ok(())
}

/// An argon2id PHC string with the engine's default parameters, from the engine's own
/// `magpie_storage::credentials`: a user created here verifies exactly like one the engine created.
pub fn hash_password(password: &str) -> Result<String> {
    credentials::hash_password(password, credentials::DEFAULT_MEMORY_KIB)
        .map_err(|e| CliError::new("internal", format!("hashing the password: {e}")))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

async fn create_user(ctx: &Ctx, dir: &Path, username: &str, password: &str) -> Result<()> {
    // The engine's own rules, checked here too because the direct path bypasses the engine.
    if !valid_username(username) {
        return Err(CliError::wire(ErrorCode::InvalidArgument, "username must be 3..=32 of a-z 0-9 _ . -"));
    }
    if !(MIN_PASSWORD_BYTES..=MAX_PASSWORD_BYTES).contains(&password.len()) {
        return Err(CliError::wire(
            ErrorCode::InvalidArgument,
            format!("password must be {MIN_PASSWORD_BYTES}..={MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    // Directly in the store when we can take its lock; otherwise the engine owns it.
    let why_not_direct = match db_path(dir) {
        Err(e) => e.message,
        Ok(path) => match Store::open(&path, StoreOptions::default()) {
            Ok(store) => {
                let created =
                    hash_password(password).and_then(|hash| Ok(store.create_user(username, &hash, now_ms())?));
                store.flush_and_close();
                let user = created?;
                ctx.out.result(
                    json!({ "user_id": user.user_id, "username": user.username, "via": "store", "db": path.display().to_string() }),
                    || format!("created user {} (id {}) in {}", user.username, user.user_id, path.display()),
                );
                return Ok(());
            }
            Err(e) if is_lock_error(&e) => format!("{} is locked by a running engine", path.display()),
            Err(e) => return Err(CliError::from(e).context(path.display())),
        },
    };
    ctx.out.note(&format!("{why_not_direct}: creating the user through the engine at {} instead", ctx.global.server));
    let config = client_config(&ctx.global, std::time::Duration::from_secs(ctx.global.timeout.max(1)))?.register(
        username,
        password,
        ADMIN_DEVICE,
    );
    let (client, _events) = Client::connect(config).await.map_err(|e| {
        let transport_failure = matches!(e, ClientError::Transport(_) | ClientError::Timeout);
        let e = CliError::from(e);
        if transport_failure {
            e.context(format!("{why_not_direct}, and the engine at {} did not answer", ctx.global.server))
        } else {
            e
        }
    })?;
    let user_id = client.user_id();
    // Registering also signed a device in; revoke it so the account is left as if created
    // offline (no device, no live token).
    let logged_out = client.logout().await;
    client.close().await;
    logged_out.map_err(|e| {
        CliError::from(e)
            .context(format!("user {username} (id {user_id}) created, but revoking the registration device failed"))
    })?;
    ctx.out.result(
        json!({ "user_id": user_id, "username": username, "via": "engine", "server": ctx.global.server }),
        || format!("created user {username} (id {user_id}) through the engine at {}", ctx.global.server),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_like_the_engines() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(credentials::verify_password("correct horse", &phc));
        assert!(!credentials::verify_password("wrong", &phc));
    }

    #[test]
    fn finds_the_database_in_either_layout() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(db_path(dir.path()).unwrap_err().code, "no_database");
        std::fs::create_dir(dir.path().join("db")).unwrap();
        std::fs::write(dir.path().join("db/CURRENT"), "MANIFEST-000001\n").unwrap();
        assert_eq!(db_path(dir.path()).unwrap(), dir.path().join("db"));
        assert_eq!(db_path(&dir.path().join("db")).unwrap(), dir.path().join("db"));
    }
}
