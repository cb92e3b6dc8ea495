//! Commands that talk to a running engine through `magpie_client`, signed in with the
//! profile's device token.

use crate::cli::{
    BroadcastCommand, ChatRefArgs, Command, Credentials, Global, HistoryArg, InviteCommand, NewChatArgs, RequestsCommand,
    RoleArg, SettingsArgs, Switch, TransportArg, WhoArg,
};
use crate::error::{CliError, Result};
use crate::output::{
    event_json, event_line, event_line_timed, format_time, kind_name, member_json, merge, role_name, settings_json,
    settings_line, table, Names, Output,
};
use crate::profile::{Login, Profile, ProfileStore};
use magpie_client::{
    new_client_msg_id, ChatInfo, ChatKind, ChatRef, ChatSettings, ChatState, ChatStateChange, ChatSummary, ChatUpdate,
    Client, ClientConfig, ClientEvent, Direction, Draft, ErrorCode, EventKind, Events, HistoryVisibility, Invite, Joined,
    NewChat, Role, TransportPref, Who,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// What every command needs: the options, where output goes, and the profile.
pub struct Ctx {
    pub global: Global,
    pub out: Output,
    pub profiles: ProfileStore,
}

impl Ctx {
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.global.timeout.max(1))
    }
}

/// Resolves `HOST:PORT`, preferring IPv4 (the engine listens on 127.0.0.1 by default, and
/// `localhost` often resolves to ::1 first).
pub fn resolve(addr: &str) -> Result<SocketAddr> {
    let all: Vec<SocketAddr> =
        addr.to_socket_addrs().map_err(|e| CliError::invalid(format!("server address {addr:?}: {e}")))?.collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.first())
        .copied()
        .ok_or_else(|| CliError::invalid(format!("server address {addr:?} resolves to nothing")))
}

/// The client configuration for the global options, without credentials.
pub fn client_config(g: &Global, timeout: Duration) -> Result<ClientConfig> {
    let server = &g.server;
    let quic_addr = resolve(g.quic_addr.as_deref().unwrap_or(server))?;
    let ws_addr = resolve(g.ws_addr.as_deref().unwrap_or(server))?;
    let cert = match g.transport {
        TransportArg::Ws => Vec::new(),
        TransportArg::Quic | TransportArg::Auto => match std::fs::read(&g.cert) {
            Ok(der) => der,
            // Without the certificate QUIC cannot be trusted; `auto` then means WebSocket
            // (the client library's rule), which needs no certificate on loopback.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && g.transport == TransportArg::Auto => Vec::new(),
            Err(e) => {
                return Err(CliError::from(e)
                    .context(format!("reading the engine's certificate {} (see --cert)", g.cert.display())))
            }
        },
    };
    let transport = match g.transport {
        TransportArg::Auto => TransportPref::Auto,
        TransportArg::Quic => TransportPref::Quic,
        TransportArg::Ws => TransportPref::WebSocket,
    };
    Ok(ClientConfig::new(quic_addr, ws_addr, cert)
        .server_name(g.server_name.as_str())
        .transport(transport)
        .client_name(concat!("magpiectl/", env!("CARGO_PKG_VERSION")))
        .request_timeout(timeout))
}

/// A password argument, or one line of standard input for `-`.
pub fn read_secret(arg: &str) -> Result<String> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| CliError::from(e).context("reading the password from stdin"))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// A message argument, or all of standard input for `-` (one trailing newline dropped).
fn read_text(arg: &str) -> Result<String> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| CliError::from(e).context("reading the message from stdin"))?;
    let trimmed = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t));
    Ok(trimmed.map(str::to_owned).unwrap_or(text))
}

/// A connected client signed in as the profile's device.
struct Session {
    client: Client,
    events: Events,
    login: Login,
    names: Names,
    /// Names learnt during this command, saved to the profile at the end.
    learnt: BTreeMap<u64, String>,
}

impl Session {
    async fn open(ctx: &Ctx) -> Result<Session> {
        let (profile, login) = ctx.profiles.require_login()?;
        let config = client_config(&ctx.global, ctx.timeout())?
            .token(login.token.clone())
            // Resume from what `tail` has printed: the sync every connection starts with then
            // sends only newer events, which one-shot commands simply do not read.
            .cursors(profile.cursors.iter().map(|(&c, &s)| (c, s)));
        let (client, events) = Client::connect(config).await.map_err(|e| {
            let e = CliError::from(e);
            if e.number == Some(ErrorCode::InvalidCredentials as u16) {
                e.context(format!(
                    "the device token of profile {:?} was refused (revoked?); `logout` clears it, then `login`",
                    ctx.profiles.name
                ))
            } else {
                e
            }
        })?;
        let mut names = Names(profile.names);
        names.0.insert(login.user_id, login.username.clone());
        Ok(Session { client, events, login, names, learnt: BTreeMap::new() })
    }

    fn learn(&mut self, user_id: u64, username: &str) {
        self.names.0.insert(user_id, username.to_owned());
        self.learnt.insert(user_id, username.to_owned());
    }

    /// Learns the names of any of `ids` not known yet (one request per 1000 unknown ids).
    async fn learn_ids(&mut self, ids: impl IntoIterator<Item = u64>) -> Result<()> {
        let mut unknown: Vec<u64> = ids.into_iter().filter(|id| self.names.get(*id).is_none()).collect();
        unknown.sort_unstable();
        unknown.dedup();
        for chunk in unknown.chunks(1000) {
            for u in self.client.get_users(chunk).await? {
                self.learn(u.user_id, &u.username);
            }
        }
        Ok(())
    }

    async fn user_id(&mut self, username: &str) -> Result<u64> {
        let user = self
            .client
            .lookup_user(username)
            .await
            .map_err(|e| CliError::from(e).context(format!("looking up {username:?}")))?;
        self.learn(user.user_id, &user.username);
        Ok(user.user_id)
    }

    /// The transport of the connection. The background task publishes it when it starts
    /// serving the connection, announced by the first event, `Connected`.
    async fn transport(&mut self, timeout: Duration) -> Result<String> {
        let wait = async {
            loop {
                if let Some(t) = self.client.transport() {
                    return Ok(t.to_string());
                }
                match self.events.next().await {
                    Some(ClientEvent::Connected { transport, .. }) => return Ok(transport.to_string()),
                    Some(ClientEvent::Closed { code: Some(code), reason }) => return Err(CliError::wire(code, reason)),
                    Some(_) => continue,
                    None => return Err(CliError::new("closed", "the client stopped")),
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or_else(|_| Err(CliError::new("timeout", "not connected in time")))
    }

    /// Closes the connection politely and records the names learnt.
    async fn finish(self, ctx: &Ctx) -> Result<()> {
        self.client.close().await;
        if !self.learnt.is_empty() {
            let user_id = self.login.user_id;
            ctx.profiles.update(|p| {
                // Only if the profile still belongs to the same account.
                if p.login.as_ref().is_some_and(|l| l.user_id == user_id) {
                    p.names.extend(self.learnt);
                }
            })?;
        }
        Ok(())
    }
}

/// Runs a client command.
pub async fn run(ctx: &Ctx, command: Command) -> Result<()> {
    match command {
        Command::Register(c) => sign_in(ctx, c, true).await,
        Command::Login(c) => sign_in(ctx, c, false).await,
        Command::Logout => logout(ctx).await,
        Command::Tail { chat_id, exit_after_sync } => tail(ctx, chat_id, exit_after_sync).await,
        other => {
            let mut s = Session::open(ctx).await?;
            let result = one_shot(ctx, &mut s, other).await;
            // Close even after an error, so the engine sees a clean goodbye.
            let finished = s.finish(ctx).await;
            result.and(finished)
        }
    }
}

async fn sign_in(ctx: &Ctx, c: Credentials, register: bool) -> Result<()> {
    if let Some(l) = ctx.profiles.load()?.login {
        return Err(CliError::new(
            "profile_in_use",
            format!(
                "profile {:?} is signed in as {} (device {}): use another --profile, or `logout` first",
                ctx.profiles.name, l.username, l.device_id
            ),
        ));
    }
    let password = read_secret(&c.password)?;
    let config = client_config(&ctx.global, ctx.timeout())?;
    let config = if register {
        config.register(&c.username, password, &c.device)
    } else {
        config.login(&c.username, password, &c.device)
    };
    let (client, _events) = Client::connect(config).await?;
    let account = client.account().clone();
    let login = Login {
        user_id: account.user_id,
        device_id: account.device_id,
        username: account.username.clone(),
        token: client.token(),
    };
    let saved = ctx.profiles.save(&Profile {
        login: Some(login),
        cursors: BTreeMap::new(),
        names: [(account.user_id, account.username.clone())].into(),
    });
    client.close().await;
    saved?;
    let verb = if register { "registered" } else { "logged in as" };
    ctx.out.result(
        json!({
            "user_id": account.user_id,
            "device_id": account.device_id,
            "username": account.username,
            "profile": ctx.profiles.name,
        }),
        || {
            format!(
                "{verb} {}: user {}, device {} (token saved in profile {:?})",
                account.username, account.user_id, account.device_id, ctx.profiles.name
            )
        },
    );
    Ok(())
}

async fn logout(ctx: &Ctx) -> Result<()> {
    let (_, login) = ctx.profiles.require_login()?;
    match Session::open(ctx).await {
        Ok(s) => {
            let result = s.client.logout().await;
            s.client.close().await;
            result?;
        }
        // A token the engine no longer knows is as good as logged out: forget it.
        Err(e)
            if e.number == Some(ErrorCode::InvalidCredentials as u16)
                || e.number == Some(ErrorCode::Revoked as u16) =>
        {
            ctx.out.note(&format!("note: the engine no longer accepts this profile's token ({e})"));
        }
        Err(e) => return Err(e),
    }
    ctx.profiles.remove()?;
    ctx.out.result(json!({ "logged_out": true, "user_id": login.user_id, "device_id": login.device_id }), || {
        format!(
            "logged out {}: device {} revoked, profile {:?} cleared",
            login.username, login.device_id, ctx.profiles.name
        )
    });
    Ok(())
}

async fn one_shot(ctx: &Ctx, s: &mut Session, command: Command) -> Result<()> {
    let out = ctx.out;
    match command {
        Command::Whoami => {
            let (account, welcome) = (s.client.account().clone(), s.client.welcome());
            let transport = s.transport(ctx.timeout()).await?;
            out.result(
                json!({
                    "user_id": account.user_id,
                    "device_id": account.device_id,
                    "username": account.username,
                    "profile": ctx.profiles.name,
                    "server": ctx.global.server,
                    "transport": transport,
                    "server_name": welcome.server_name,
                    "protocol_version": welcome.protocol_version,
                    "node_id": welcome.node_id,
                }),
                || {
                    format!(
                        "{} (user {}, device {}), profile {:?}\nconnected to {} ({}, protocol {}) via {transport}",
                        account.username,
                        account.user_id,
                        account.device_id,
                        ctx.profiles.name,
                        ctx.global.server,
                        welcome.server_name,
                        welcome.protocol_version
                    )
                },
            );
        }
        Command::Devices => {
            let devices = s.client.list_devices().await?;
            let value = devices
                .iter()
                .map(|d| json!({ "device_id": d.device_id, "name": d.name, "created_ms": d.created_ms, "current": d.current }))
                .collect();
            out.result(Value::Array(value), || {
                let rows: Vec<Vec<String>> = devices
                    .iter()
                    .map(|d| {
                        let this = if d.current { "this device" } else { "" };
                        vec![
                            d.device_id.to_string(),
                            d.name.clone(),
                            crate::output::format_time(d.created_ms),
                            this.into(),
                        ]
                    })
                    .collect();
                table(&["DEVICE", "NAME", "CREATED (UTC)", ""], &rows)
            });
        }
        Command::Revoke { device_id } => {
            s.client.revoke_device(device_id).await?;
            out.result(json!({ "revoked": device_id }), || format!("revoked device {device_id}"));
        }
        Command::Direct { username } => {
            let chat = s.client.create_direct(username.as_str()).await?;
            let me = s.login.user_id;
            let peer = chat.members.iter().map(|m| m.user_id).find(|&id| id != me).unwrap_or(me);
            s.learn(peer, &username);
            out.result(json!({ "chat_id": chat.chat_id, "peer_id": peer, "last_seq": chat.last_seq }), || {
                format!("chat {}: direct with {username}", chat.chat_id)
            });
        }
        Command::Group { title, members, about } => create(s, out, ChatKind::Group, title, members, about).await?,
        Command::Channel { title, subscribers, about } => {
            create(s, out, ChatKind::Channel, title, subscribers, about).await?
        }
        Command::Add { chat_id, usernames } => {
            let mut ids = Vec::with_capacity(usernames.len());
            for name in &usernames {
                ids.push(s.user_id(name).await?);
            }
            s.client.add_members(chat_id, &ids).await?;
            out.result(json!({ "chat_id": chat_id, "added": ids }), || {
                format!("added {} to chat {chat_id}", usernames.join(", "))
            });
        }
        Command::Remove { chat_id, username } => {
            let id = s.user_id(&username).await?;
            s.client.remove_member(chat_id, id).await?;
            out.result(json!({ "chat_id": chat_id, "removed": id }), || {
                format!("removed {username} from chat {chat_id}")
            });
        }
        Command::Leave { chat_id, successor } => {
            let successor_id = match &successor {
                Some(name) => s.user_id(name).await?,
                None => 0,
            };
            s.client.leave_chat_to(chat_id, successor_id).await?;
            out.result(json!({ "chat_id": chat_id, "left": true, "successor": successor_id }), || match &successor {
                Some(name) => format!("left chat {chat_id}, handing it to {name}"),
                None => format!("left chat {chat_id}"),
            });
        }
        Command::Chats { by_activity, archived, before, limit } => {
            if by_activity || archived || before.is_some() {
                chats_by_activity(s, out, archived, before, limit).await?
            } else {
                chats(s, out).await?
            }
        }
        Command::Info { chat_id } => {
            let chat = s.client.get_chat(chat_id).await?;
            s.learn_ids(chat.members.iter().map(|m| m.user_id)).await?;
            out.result(chat_json(&chat, &s.names), || chat_text(&chat, &s.names));
        }
        Command::Members { chat_id, after, limit, admins, all } => {
            let mut members = Vec::new();
            let mut after = after;
            let has_more = loop {
                let page = s.client.list_members(chat_id, after, limit, admins).await?;
                let progressed = !page.members.is_empty();
                after = page.members.last().map_or(after, |m| m.user_id);
                members.extend(page.members);
                if !all || !page.has_more || !progressed {
                    break page.has_more;
                }
            };
            s.learn_ids(members.iter().map(|m| m.user_id)).await?;
            let names = &s.names;
            let value: Vec<Value> = members.iter().map(|m| member_json(m, names)).collect();
            out.result(json!({ "chat_id": chat_id, "members": value, "has_more": has_more }), || {
                let rows: Vec<Vec<String>> = members
                    .iter()
                    .map(|m| vec![m.user_id.to_string(), names.show(m.user_id), role_name(m.role), format!("#{}", m.since_seq)])
                    .collect();
                let mut text = table(&["USER", "NAME", "ROLE", "SINCE"], &rows);
                if has_more {
                    text.push_str(&format!("\n(more: --after {after})"));
                }
                text
            });
        }
        Command::Update { chat_id, title, description, avatar_ref, handle, settings } => {
            // Settings are replaced as a whole: start from the chat's current ones.
            let settings = if settings.is_empty() {
                None
            } else {
                Some(apply_settings(s.client.get_chat(chat_id).await?.settings, &settings))
            };
            let update = ChatUpdate { title, description, avatar_ref, handle, settings };
            if update == ChatUpdate::default() {
                return Err(CliError::invalid("nothing to change: give --title, --description, --handle, a setting, ..."));
            }
            s.client.update_chat(chat_id, &update).await?;
            let chat = s.client.get_chat(chat_id).await?;
            out.result(chat_json(&chat, &s.names), || format!("updated chat {chat_id}\n{}", chat_text(&chat, &s.names)));
        }
        Command::Role { chat_id, username, role } => {
            let id = s.user_id(&username).await?;
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::Member => Role::Member,
            };
            s.client.set_role(chat_id, id, role).await?;
            out.result(json!({ "chat_id": chat_id, "user_id": id, "role": role_name(role) }), || {
                format!("{username} is now {} of chat {chat_id}", role_name(role))
            });
        }
        Command::Transfer { chat_id, username } => {
            let id = s.user_id(&username).await?;
            s.client.transfer_ownership(chat_id, id).await?;
            out.result(json!({ "chat_id": chat_id, "new_owner": id }), || {
                format!("{username} now owns chat {chat_id}; you are an admin")
            });
        }
        Command::Invite(args) => match args.command {
            InviteCommand::Create { chat_id, expires_in, max_uses } => {
                let expires_ms = match expires_in {
                    None => 0,
                    Some(secs) => now_ms().saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)),
                };
                let invite = s.client.create_invite(chat_id, expires_ms, max_uses).await?;
                out.result(invite_json(&invite), || format!("invite {} for chat {chat_id}", invite.code));
            }
            InviteCommand::List { chat_id } => {
                let invites = s.client.list_invites(chat_id).await?;
                s.learn_ids(invites.iter().map(|i| i.created_by)).await?;
                let names = &s.names;
                out.result(Value::Array(invites.iter().map(invite_json).collect()), || {
                    if invites.is_empty() {
                        return format!("(no invite links for chat {chat_id})");
                    }
                    let rows: Vec<Vec<String>> = invites
                        .iter()
                        .map(|i| {
                            let uses = if i.max_uses == 0 { format!("{}", i.uses) } else { format!("{}/{}", i.uses, i.max_uses) };
                            let expires = if i.expires_ms == 0 { "never".into() } else { format_time(i.expires_ms) };
                            let status = if i.revoked { "revoked" } else { "" };
                            vec![i.code.clone(), names.show(i.created_by), uses, expires, status.into()]
                        })
                        .collect();
                    table(&["CODE", "BY", "USES", "EXPIRES (UTC)", ""], &rows)
                });
            }
            InviteCommand::Revoke { chat_id, code } => {
                s.client.revoke_invite(chat_id, &invite_code(&code)).await?;
                out.result(json!({ "chat_id": chat_id, "revoked": code }), || format!("revoked invite {code}"));
            }
        },
        Command::Preview(by) => {
            let p = s.client.preview_chat(chat_ref(by)).await?;
            out.result(
                json!({
                    "chat_id": p.chat_id,
                    "kind": kind_name(p.kind),
                    "title": p.title,
                    "description": p.description,
                    "avatar_ref": p.avatar_ref,
                    "handle": p.handle,
                    "member_count": p.member_count,
                    "approve_joins": p.approve_joins,
                    "is_member": p.is_member,
                }),
                || {
                    let mut text = format!("chat {} ({} {:?}), {} members", p.chat_id, kind_name(p.kind), p.title, p.member_count);
                    if !p.handle.is_empty() {
                        text.push_str(&format!(", handle {}", p.handle));
                    }
                    if !p.description.is_empty() {
                        text.push_str(&format!("\n{}", p.description));
                    }
                    if p.is_member {
                        text.push_str("\nyou are a member");
                    } else if p.approve_joins {
                        text.push_str("\njoining needs an admin's approval");
                    }
                    text
                },
            );
        }
        Command::Join(by) => match s.client.join_chat(chat_ref(by)).await? {
            Joined::Joined(chat) => {
                let mut v = chat_json(&chat, &s.names);
                merge(&mut v, json!({ "joined": true }));
                out.result(v, || format!("joined chat {} ({} {:?})", chat.chat_id, kind_name(chat.kind), chat.title));
            }
            Joined::Pending { chat_id } => {
                out.result(json!({ "chat_id": chat_id, "joined": false, "pending": true }), || {
                    format!("asked to join chat {chat_id}; an admin must approve")
                });
            }
        },
        Command::Requests(args) => match args.command {
            RequestsCommand::List { chat_id } => {
                let requests = s.client.list_join_requests(chat_id).await?;
                s.learn_ids(requests.iter().map(|r| r.user_id)).await?;
                let names = &s.names;
                let value = requests
                    .iter()
                    .map(|r| {
                        let mut v = json!({ "user_id": r.user_id, "time_ms": r.time_ms });
                        if let Some(name) = names.get(r.user_id) {
                            v["username"] = Value::from(name);
                        }
                        v
                    })
                    .collect();
                out.result(json!({ "chat_id": chat_id, "requests": Value::Array(value) }), || {
                    if requests.is_empty() {
                        return format!("(no join requests for chat {chat_id})");
                    }
                    let rows: Vec<Vec<String>> = requests
                        .iter()
                        .map(|r| vec![r.user_id.to_string(), names.show(r.user_id), format_time(r.time_ms)])
                        .collect();
                    table(&["USER", "NAME", "ASKED (UTC)"], &rows)
                });
            }
            RequestsCommand::Approve { chat_id, username } => resolve_request(s, out, chat_id, &username, true).await?,
            RequestsCommand::Decline { chat_id, username } => resolve_request(s, out, chat_id, &username, false).await?,
        },
        Command::State { chat_id, mute_for, mute, unmute, pin, unpin, archive, unarchive, unread, read } => {
            let on_off = |on: bool, off: bool| if on { Some(true) } else if off { Some(false) } else { None };
            let muted_until_ms = match (mute_for, mute, unmute) {
                (Some(secs), _, _) => {
                    Some(now_ms().saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)))
                }
                (None, true, _) => Some(i64::MAX),
                (None, false, true) => Some(0),
                _ => None,
            };
            let change = ChatStateChange {
                muted_until_ms,
                pinned: on_off(pin, unpin),
                archived: on_off(archive, unarchive),
                marked_unread: on_off(unread, read),
            };
            if change == ChatStateChange::default() {
                return Err(CliError::invalid("nothing to change: give --mute, --pin, --archive, --unread, ..."));
            }
            let state = s.client.set_chat_state(chat_id, change).await?;
            let mut v = state_json(&state);
            merge(&mut v, json!({ "chat_id": chat_id }));
            out.result(v, || format!("chat {chat_id}: {}", state_text(&state)));
        }
        Command::Read { chat_id, seq } => {
            let seq = match seq {
                Some(s) => s,
                None => s.client.get_chat(chat_id).await?.last_seq,
            };
            let r = s.client.mark_receipts(chat_id, seq, seq).await?;
            out.result(json!({ "chat_id": chat_id, "delivered_seq": r.delivered_seq, "read_seq": r.read_seq }), || {
                format!("chat {chat_id}: read up to {}, delivered up to {}", r.read_seq, r.delivered_seq)
            });
        }
        Command::Receipts { chat_id, seq } => {
            let l = s.client.get_receipts(chat_id, seq).await?;
            let rows: Vec<Value> = l
                .receipts
                .iter()
                .map(|r| {
                    let read = if r.read_hidden { Value::Null } else { json!(r.read_seq >= seq) };
                    json!({ "user_id": r.user_id, "delivered_seq": r.delivered_seq, "read_seq": r.read_seq, "read": read })
                })
                .collect();
            let c = l.counts;
            out.result(
                json!({ "chat_id": chat_id, "seq": seq, "delivered": c.delivered, "read": c.read, "members": c.members, "receipts": rows }),
                || {
                    let mut text = format!("chat {chat_id} seq {seq}: delivered to {}, read by {} (of {} members)", c.delivered, c.read, c.members);
                    for r in &l.receipts {
                        let state = if r.read_hidden { "delivered (reads hidden)" } else if r.read_seq >= seq { "read" } else { "delivered" };
                        text.push_str(&format!("\n  {}: {state}", r.user_id));
                    }
                    text
                },
            );
        }
        Command::Privacy { read_receipts, last_seen } => {
            use magpie_client::presence::{privacy_fields, LastSeenVisibility, Privacy};
            let mut fields = 0;
            let mut want = Privacy::default();
            if let Some(on) = read_receipts {
                fields |= privacy_fields::READ_RECEIPTS;
                want.read_receipts = on;
            }
            if let Some(v) = last_seen {
                fields |= privacy_fields::LAST_SEEN;
                want.last_seen = match v {
                    crate::cli::LastSeenArg::Everyone => LastSeenVisibility::Everyone,
                    crate::cli::LastSeenArg::Shared => LastSeenVisibility::SharedChats,
                    crate::cli::LastSeenArg::Nobody => LastSeenVisibility::Nobody,
                };
            }
            let p = if fields == 0 { s.client.get_privacy().await? } else { s.client.set_privacy(fields, want).await? };
            let seen = match p.last_seen {
                LastSeenVisibility::SharedChats => "shared",
                LastSeenVisibility::Nobody => "nobody",
                _ => "everyone",
            };
            out.result(json!({ "read_receipts": p.read_receipts, "last_seen": seen }), || {
                format!("read receipts {}; last seen shown to {seen}", if p.read_receipts { "on" } else { "off" })
            });
        }
        Command::Pins { chat_ids } => {
            s.client.reorder_pinned(&chat_ids).await?;
            out.result(json!({ "pinned": chat_ids }), || {
                let ids: Vec<String> = chat_ids.iter().map(u64::to_string).collect();
                format!("pinned chats, first to last: {}", ids.join(", "))
            });
        }
        Command::Broadcast(args) => broadcast(ctx, s, args.command).await?,
        Command::Send { chat_id, text, reply_to, mention } => {
            let text = read_text(&text)?;
            let draft = Draft { content: text, reply_to_seq: reply_to, mentions: mention, ..Draft::default() };
            let pending = s.client.send_draft(chat_id, draft);
            let ack = match tokio::time::timeout(ctx.timeout(), pending).await {
                Ok(ack) => ack?,
                Err(_) => {
                    return Err(CliError::new(
                        "timeout",
                        "no durable ack in time; the message may or may not have been stored (see --timeout)",
                    ))
                }
            };
            out.result(
                json!({
                    "chat_id": ack.chat_id,
                    "seq": ack.seq,
                    "message_id": ack.message_id,
                    "client_msg_id": ack.client_msg_id,
                    "time_ms": ack.time_ms,
                }),
                || format!("sent to chat {} as #{} (message {})", ack.chat_id, ack.seq, ack.message_id),
            );
        }
        Command::Edit { chat_id, seq, text, mention } => {
            s.client.edit_message(chat_id, seq, &read_text(&text)?, &mention).await?;
            out.result(json!({ "chat_id": chat_id, "seq": seq, "edited": true }), || format!("edited #{seq} of chat {chat_id}"));
        }
        Command::Delete { chat_id, seqs, for_me } => {
            s.client.delete_messages(chat_id, &seqs, !for_me).await?;
            let whom = if for_me { "for you" } else { "for everyone" };
            out.result(json!({ "chat_id": chat_id, "seqs": seqs, "for_everyone": !for_me }), || format!("deleted {seqs:?} of chat {chat_id} {whom}"));
        }
        Command::React { chat_id, seq, emoji, remove } => {
            s.client.react(chat_id, seq, &emoji, !remove).await?;
            let what = if remove { "removed" } else { "added" };
            out.result(json!({ "chat_id": chat_id, "seq": seq, "emoji": emoji, "added": !remove }), || format!("{what} {emoji} on #{seq}"));
        }
        Command::Pin { chat_id, seq: Some(seq), unpin } => {
            s.client.pin_message(chat_id, seq, !unpin).await?;
            let what = if unpin { "unpinned" } else { "pinned" };
            out.result(json!({ "chat_id": chat_id, "seq": seq, "pinned": !unpin }), || format!("{what} #{seq} of chat {chat_id}"));
        }
        Command::Pin { chat_id, seq: None, .. } => {
            let pins = s.client.list_pins(chat_id).await?;
            let seqs: Vec<u64> = pins.iter().map(|p| p.seq).collect();
            out.result(json!({ "chat_id": chat_id, "pinned": seqs }), || format!("pinned in chat {chat_id}, newest first: {seqs:?}"));
        }
        Command::Forward { chat_id, seq, to } => {
            let results = s.client.forward_message(chat_id, seq, &to, &new_client_msg_id()).await?;
            let rows: Vec<Value> = results
                .iter()
                .map(|r| json!({ "chat_id": r.chat_id, "seq": r.seq, "error": r.error.map(|e| e.map_or_else(|n| n.to_string(), |c| c.name().to_string())) }))
                .collect();
            out.result(json!({ "results": rows }), || {
                let lines: Vec<String> = results
                    .iter()
                    .map(|r| match r.error {
                        None => format!("chat {}: #{}", r.chat_id, r.seq),
                        Some(e) => format!("chat {}: failed ({})", r.chat_id, e.map_or_else(|n| n.to_string(), |c| c.name().to_string())),
                    })
                    .collect();
                lines.join("\n")
            });
        }
        Command::Mentions { limit } => {
            let page = s.client.list_mentions(0, limit).await?;
            s.learn_ids(page.events.iter().flat_map(users_in)).await?;
            let events: Vec<Value> = page.events.iter().map(|e| event_json(e, &s.names)).collect();
            out.result(json!({ "events": events, "has_more": page.has_more }), || {
                let lines: Vec<String> = page.events.iter().map(|e| event_line_timed(e, &s.names)).collect();
                if lines.is_empty() { "(no mentions)".to_string() } else { lines.join("\n") }
            });
        }
        Command::History { chat_id, before, after, limit } => {
            let (from, direction) = match (before, after) {
                (_, Some(after)) => (after, Direction::Forward),
                (Some(before), None) => (before, Direction::Backward),
                (None, None) => (0, Direction::Backward),
            };
            let page = s.client.history(chat_id, from, direction, limit).await?;
            s.learn_ids(page.events.iter().flat_map(users_in)).await?;
            let events: Vec<Value> = page.events.iter().map(|e| event_json(e, &s.names)).collect();
            out.result(json!({ "chat_id": page.chat_id, "events": events, "has_more": page.has_more }), || {
                let mut lines: Vec<String> = page.events.iter().map(|e| event_line_timed(e, &s.names)).collect();
                if lines.is_empty() {
                    lines.push(format!("(no events in chat {chat_id} there)"));
                }
                if page.has_more {
                    let hint = match direction {
                        Direction::Backward => format!("--before {}", page.events.first().map_or(from, |e| e.seq)),
                        Direction::Forward => format!("--after {}", page.events.last().map_or(from, |e| e.seq)),
                    };
                    lines.push(format!("(more: {hint})"));
                }
                lines.join("\n")
            });
        }
        Command::Register(_)
        | Command::Login(_)
        | Command::Logout
        | Command::Tail { .. }
        | Command::Admin(_)
        | Command::Inspect(_) => {
            unreachable!("dispatched elsewhere")
        }
    }
    Ok(())
}

async fn create(s: &mut Session, out: Output, kind: ChatKind, title: String, members: Vec<String>, about: NewChatArgs) -> Result<()> {
    let mut ids = Vec::with_capacity(members.len());
    for name in &members {
        ids.push(s.user_id(name).await?);
    }
    let settings = (!about.settings.is_empty()).then(|| apply_settings(ChatSettings::default(), &about.settings));
    let new = NewChat { kind, title, member_ids: ids, description: about.description, handle: about.handle, settings };
    let chat = s.client.create_chat(&new).await?;
    let everyone: Vec<String> = chat.members.iter().map(|m| s.names.show(m.user_id)).collect();
    let mut v = chat_json(&chat, &s.names);
    merge(&mut v, json!({ "member_ids": chat.members.iter().map(|m| m.user_id).collect::<Vec<_>>() }));
    out.result(v, || {
        let handle = if chat.handle.is_empty() { String::new() } else { format!(" (handle {})", chat.handle) };
        format!("chat {}: {} {:?}{handle} with {}", chat.chat_id, kind_name(chat.kind), chat.title, everyone.join(", "))
    });
    Ok(())
}

/// `current` with the settings the options name changed.
fn apply_settings(current: ChatSettings, a: &SettingsArgs) -> ChatSettings {
    let who = |w: WhoArg| match w {
        WhoArg::Members => Who::Members,
        WhoArg::Admins => Who::Admins,
    };
    let on = |s: Switch| s == Switch::On;
    ChatSettings {
        post: a.post.map_or(current.post, who),
        add_members: a.add_members.map_or(current.add_members, who),
        change_info: a.change_info.map_or(current.change_info, who),
        pin: a.pin.map_or(current.pin, who),
        history: a.history.map_or(current.history, |h| match h {
            HistoryArg::Everything => HistoryVisibility::Everything,
            HistoryArg::SinceJoined => HistoryVisibility::SinceJoined,
        }),
        forwarding: a.forwarding.map_or(current.forwarding, on),
        approve_joins: a.approve_joins.map_or(current.approve_joins, on),
    }
}

fn chat_json(chat: &ChatInfo, names: &Names) -> Value {
    json!({
        "chat_id": chat.chat_id,
        "kind": kind_name(chat.kind),
        "title": chat.title,
        "description": chat.description,
        "avatar_ref": chat.avatar_ref,
        "handle": chat.handle,
        "settings": settings_json(&chat.settings),
        "my_role": role_name(chat.my_role),
        "member_count": chat.member_count,
        "members_complete": chat.members_complete,
        "pending_requests": chat.pending_requests,
        "last_seq": chat.last_seq,
        "created_ms": chat.created_ms,
        "members": chat.members.iter().map(|m| crate::output::member_json(m, names)).collect::<Vec<_>>(),
    })
}

fn chat_text(chat: &ChatInfo, names: &Names) -> String {
    let title = if chat.title.is_empty() { String::new() } else { format!(" {:?}", chat.title) };
    let mut text = format!(
        "chat {} ({}{title}), created {} UTC, last seq {}",
        chat.chat_id,
        kind_name(chat.kind),
        format_time(chat.created_ms),
        chat.last_seq
    );
    if !chat.handle.is_empty() {
        text.push_str(&format!("\nhandle: {}", chat.handle));
    }
    if !chat.description.is_empty() {
        text.push_str(&format!("\ndescription: {}", chat.description));
    }
    if chat.kind != ChatKind::Direct {
        text.push_str(&format!("\nsettings: {}", settings_line(&chat.settings)));
        text.push_str(&format!("\nyou: {}", role_name(chat.my_role)));
    }
    if chat.pending_requests > 0 {
        text.push_str(&format!("\njoin requests waiting: {} (see `requests list`)", chat.pending_requests));
    }
    let shown = if chat.members_complete {
        String::new()
    } else {
        format!(", {} shown (see `members`)", chat.members.len())
    };
    text.push_str(&format!("\nmembers ({}{shown}):", chat.member_count));
    for m in &chat.members {
        text.push_str(&format!("\n  {:<8} {} ({})", m.user_id, names.show(m.user_id), role_name(m.role)));
    }
    text
}

fn invite_json(i: &Invite) -> Value {
    json!({
        "code": i.code,
        "chat_id": i.chat_id,
        "created_by": i.created_by,
        "created_ms": i.created_ms,
        "expires_ms": i.expires_ms,
        "max_uses": i.max_uses,
        "uses": i.uses,
        "revoked": i.revoked,
    })
}

/// The code of an invite, given as the code or as the web app's whole `…/#/join/<code>` link.
fn invite_code(s: &str) -> String {
    s.rsplit_once("/join/").map_or(s, |(_, code)| code).trim().to_owned()
}

fn chat_ref(by: ChatRefArgs) -> ChatRef {
    match (by.invite, by.handle) {
        (Some(code), _) => ChatRef::Invite(invite_code(&code)),
        (None, Some(handle)) => ChatRef::Handle(handle.trim_start_matches('@').to_owned()),
        (None, None) => unreachable!("clap requires one of them"),
    }
}

async fn resolve_request(s: &mut Session, out: Output, chat_id: u64, username: &str, approve: bool) -> Result<()> {
    let id = s.user_id(username).await?;
    s.client.resolve_join_request(chat_id, id, approve).await?;
    out.result(json!({ "chat_id": chat_id, "user_id": id, "approved": approve }), || {
        if approve {
            format!("{username} joined chat {chat_id}")
        } else {
            format!("declined {username}'s request to join chat {chat_id}")
        }
    });
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn state_json(state: &ChatState) -> Value {
    json!({
        "muted_until_ms": state.muted_until_ms,
        "pin_rank": state.pin_rank,
        "archived": state.archived,
        "marked_unread": state.marked_unread,
    })
}

fn state_text(state: &ChatState) -> String {
    let mut parts = Vec::new();
    match state.muted_until_ms {
        0 => {}
        i64::MAX => parts.push("muted".to_owned()),
        t => parts.push(format!("muted until {} UTC", format_time(t))),
    }
    if state.pin_rank != 0 {
        parts.push("pinned".into());
    }
    if state.archived {
        parts.push("archived".into());
    }
    if state.marked_unread {
        parts.push("marked unread".into());
    }
    if parts.is_empty() {
        "not muted, pinned, archived or marked".into()
    } else {
        parts.join(", ")
    }
}

async fn chats_by_activity(s: &mut Session, out: Output, archived: bool, before: Option<(i64, u64)>, limit: u16) -> Result<()> {
    let (chats, has_more) = s.client.list_chats_by_activity(archived, before, limit).await?;
    let senders: Vec<u64> = chats.iter().filter_map(|c| c.last_message.as_ref()).flat_map(users_in).collect();
    s.learn_ids(senders).await?;
    let names = &s.names;
    let next = chats.last().map(|c| format!("{}:{}", c.last_activity_ms, c.chat_id));
    let summary = |c: &ChatSummary| {
        json!({
            "chat_id": c.chat_id,
            "kind": kind_name(c.kind),
            "title": c.title,
            "handle": c.handle,
            "avatar_ref": c.avatar_ref,
            "last_seq": c.last_seq,
            "member_count": c.member_count,
            "last_activity_ms": c.last_activity_ms,
            "my_role": role_name(c.my_role),
            "unread_count": c.unread_count,
            "unread_mentions": c.unread_mentions,
            "read_seq": c.receipts.read_seq,
            "peer_delivered_seq": c.receipts.peer_delivered_seq,
            "peer_read_seq": c.receipts.peer_read_seq,
            "state": state_json(&c.state),
            "last_message": c.last_message.as_ref().map(|e| event_json(e, names)),
        })
    };
    let value = json!({
        "chats": chats.iter().map(summary).collect::<Vec<_>>(),
        "has_more": has_more,
        "next": if has_more { next.clone() } else { None },
    });
    out.result(value, || {
        if chats.is_empty() {
            return if archived { "(no archived chats)".into() } else { "(no chats)".into() };
        }
        let rows: Vec<Vec<String>> = chats
            .iter()
            .map(|c| {
                let mut flags = Vec::new();
                if c.state.pin_rank != 0 {
                    flags.push("pinned");
                }
                if c.state.muted_until_ms != 0 {
                    flags.push("muted");
                }
                if c.state.marked_unread {
                    flags.push("unread");
                }
                let last = c.last_message.as_ref().map(|e| crate::output::describe(e, names)).unwrap_or_default();
                vec![
                    c.chat_id.to_string(),
                    kind_name(c.kind),
                    c.title.clone(),
                    format_time(c.last_activity_ms),
                    flags.join(","),
                    last,
                ]
            })
            .collect();
        let mut text = table(&["CHAT", "KIND", "TITLE", "ACTIVE (UTC)", "STATE", "LAST MESSAGE"], &rows);
        if let (true, Some(next)) = (has_more, &next) {
            text.push_str(&format!("\n(more: --before {next})"));
        }
        text
    });
    Ok(())
}

async fn broadcast(ctx: &Ctx, s: &mut Session, command: BroadcastCommand) -> Result<()> {
    let out = ctx.out;
    let list_json = |l: &magpie_client::BroadcastList| json!({ "list_id": l.list_id, "name": l.name, "recipient_ids": l.recipient_ids });
    match command {
        BroadcastCommand::Save { name, recipients, list } => {
            let mut ids = Vec::with_capacity(recipients.len());
            for r in &recipients {
                ids.push(s.user_id(r).await?);
            }
            let saved = s.client.save_broadcast_list(list.unwrap_or(0), &name, &ids).await?;
            out.result(list_json(&saved), || {
                format!("broadcast list {} {:?}: {}", saved.list_id, saved.name, recipients.join(", "))
            });
        }
        BroadcastCommand::List => {
            let lists = s.client.list_broadcast_lists().await?;
            s.learn_ids(lists.iter().flat_map(|l| l.recipient_ids.iter().copied())).await?;
            let names = &s.names;
            out.result(Value::Array(lists.iter().map(list_json).collect()), || {
                if lists.is_empty() {
                    return "(no broadcast lists)".into();
                }
                let rows: Vec<Vec<String>> = lists
                    .iter()
                    .map(|l| vec![l.list_id.to_string(), l.name.clone(), names.list_of(&l.recipient_ids)])
                    .collect();
                table(&["LIST", "NAME", "RECIPIENTS"], &rows)
            });
        }
        BroadcastCommand::Delete { list_id } => {
            s.client.delete_broadcast_list(list_id).await?;
            out.result(json!({ "deleted": list_id }), || format!("deleted broadcast list {list_id}"));
        }
        BroadcastCommand::Send { list_id, text, id } => {
            let text = read_text(&text)?;
            let client_msg_id = id.unwrap_or_else(new_client_msg_id);
            let ack = s.client.send_broadcast_with_id(list_id, &client_msg_id, &text).await?;
            s.learn_ids(ack.results.iter().map(|r| r.user_id)).await?;
            let names = &s.names;
            let error_name = |r: &magpie_client::BroadcastResult| match r.error {
                None => None,
                Some(Ok(code)) => Some(code.name().to_owned()),
                Some(Err(n)) => Some(format!("code {n}")),
            };
            let results: Vec<Value> = ack
                .results
                .iter()
                .map(|r| {
                    json!({
                        "user_id": r.user_id,
                        "chat_id": r.chat_id,
                        "message_id": r.message_id,
                        "seq": r.seq,
                        "error": error_name(r),
                    })
                })
                .collect();
            let failed = ack.results.iter().filter(|r| !r.is_sent()).count();
            out.result(
                json!({ "list_id": ack.list_id, "client_msg_id": ack.client_msg_id, "time_ms": ack.time_ms, "results": results }),
                || {
                    let mut lines = vec![format!(
                        "sent to {} of {} (client message id {}; pass --id {} to retry without duplicates)",
                        ack.results.len() - failed,
                        ack.results.len(),
                        ack.client_msg_id,
                        ack.client_msg_id
                    )];
                    for r in &ack.results {
                        lines.push(match error_name(r) {
                            None => format!("  {}: chat {} #{}", names.show(r.user_id), r.chat_id, r.seq),
                            Some(e) => format!("  {}: failed ({e})", names.show(r.user_id)),
                        });
                    }
                    lines.join("\n")
                },
            );
            if failed > 0 {
                return Err(CliError::new("partial", format!("{failed} of {} recipients were not sent to", ack.results.len())));
            }
        }
    }
    Ok(())
}

/// Every user an event names: its sender and the members it is about.
fn users_in(e: &magpie_client::ChatEvent) -> Vec<u64> {
    let mut ids = vec![e.sender_id];
    match &e.kind {
        EventKind::ChatCreated { members, .. } => ids.extend(members.iter().map(|m| m.user_id)),
        EventKind::MembersAdded { user_ids, .. } => ids.extend(user_ids),
        EventKind::MemberRemoved { user_id, .. } | EventKind::RoleChanged { user_id, .. } => ids.push(*user_id),
        EventKind::OwnerChanged { previous_owner, new_owner } => ids.extend([*previous_owner, *new_owner]),
        _ => {}
    }
    ids
}

async fn chats(s: &mut Session, out: Output) -> Result<()> {
    let chats = s.client.list_chats().await?;
    // A direct chat has no title; its name is the other member, which only ChatInfo lists.
    let mut peers = BTreeMap::new();
    for c in chats.iter().filter(|c| c.kind == ChatKind::Direct) {
        let info = s.client.get_chat(c.chat_id).await?;
        if let Some(peer) = info.members.iter().find(|m| m.user_id != s.login.user_id) {
            peers.insert(c.chat_id, peer.user_id);
        }
    }
    let senders = chats.iter().filter_map(|c| c.last_message.as_ref()).flat_map(users_in);
    let ids: Vec<u64> = peers.values().copied().chain(senders).collect();
    s.learn_ids(ids).await?;
    let names = &s.names;
    let value = chats
        .iter()
        .map(|c| {
            let mut v = json!({
                "chat_id": c.chat_id,
                "kind": kind_name(c.kind),
                "title": c.title,
                "last_seq": c.last_seq,
                "member_count": c.member_count,
                "last_message": c.last_message.as_ref().map(|e| event_json(e, names)),
                "last_activity_ms": c.last_activity_ms,
                "my_role": role_name(c.my_role),
                "handle": c.handle,
                "state": state_json(&c.state),
            });
            if let Some(peer) = peers.get(&c.chat_id) {
                merge(&mut v, json!({ "peer_id": peer }));
            }
            v
        })
        .collect();
    out.result(Value::Array(value), || {
        if chats.is_empty() {
            return "(no chats)".into();
        }
        let rows: Vec<Vec<String>> = chats
            .iter()
            .map(|c| {
                let name = match peers.get(&c.chat_id) {
                    Some(&peer) => names.show(peer),
                    None => c.title.clone(),
                };
                let last = c.last_message.as_ref().map(|e| crate::output::describe(e, names)).unwrap_or_default();
                vec![
                    c.chat_id.to_string(),
                    kind_name(c.kind),
                    name,
                    c.member_count.to_string(),
                    format!("#{}", c.last_seq),
                    last,
                ]
            })
            .collect();
        table(&["CHAT", "KIND", "NAME", "MEMBERS", "LAST", "LAST MESSAGE"], &rows)
    });
    Ok(())
}

/// Follows the event stream, printing events and keeping the profile's cursors.
async fn tail(ctx: &Ctx, only: Option<u64>, exit_after_sync: bool) -> Result<()> {
    let mut s = Session::open(ctx).await?;
    if let Some(chat_id) = only {
        // Fail early, with the engine's code, for a chat the user cannot see.
        if let Err(e) = s.client.get_chat(chat_id).await {
            s.client.close().await;
            return Err(e.into());
        }
    }
    let out = ctx.out;
    let device_id = s.login.device_id;
    let mut printed: BTreeMap<u64, u64> = BTreeMap::new();
    let mut dirty = false;
    // Cursors are saved at most once a second (and on exit): a file write per event would
    // dominate a large catch-up, and losing a second of cursors only replays those events.
    let mut save_tick = tokio::time::interval(Duration::from_secs(1));
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let outcome: Result<()> = loop {
        tokio::select! {
            _ = &mut ctrl_c => break Ok(()),
            _ = sigterm.recv() => break Ok(()),
            _ = save_tick.tick() => {
                if dirty {
                    if let Err(e) = save_cursors(ctx, device_id, &printed) {
                        break Err(e);
                    }
                    dirty = false;
                }
            }
            event = s.events.next() => match event {
                Some(ClientEvent::Event(e)) => {
                    if only.is_none_or(|c| c == e.chat_id) {
                        // A name we cannot fetch is shown as its id; that is no reason to stop.
                        let _ = s.learn_ids(users_in(&e)).await;
                        if out.json {
                            let mut v = json!({ "type": "event" });
                            merge(&mut v, event_json(&e, &s.names));
                            out.json_line(&v);
                        } else {
                            crate::output::println_flush(&event_line(&e, &s.names));
                        }
                        printed.insert(e.chat_id, e.seq);
                        dirty = true;
                    }
                }
                Some(ClientEvent::Connected { transport, resumed }) => {
                    if out.json {
                        out.json_line(&json!({ "type": "connected", "transport": transport.to_string(), "resumed": resumed }));
                    } else {
                        let again = if resumed { "re" } else { "" };
                        eprintln!("-- {again}connected to {} via {transport} as {}", ctx.global.server, s.login.username);
                    }
                }
                Some(ClientEvent::SyncDone { chats, events: n }) => {
                    if out.json {
                        out.json_line(&json!({ "type": "sync_done", "chats": chats, "events": n }));
                    } else {
                        eprintln!("-- up to date ({chats} chats synced, {n} events)");
                    }
                    if exit_after_sync {
                        break Ok(());
                    }
                }
                Some(ClientEvent::ChatStateChanged { chat_id, state }) if only.is_none_or(|c| c == chat_id) => {
                    if out.json {
                        let mut v = json!({ "type": "chat_state", "chat_id": chat_id });
                        merge(&mut v, state_json(&state));
                        out.json_line(&v);
                    } else {
                        crate::output::println_flush(&format!("[chat {chat_id}] your state: {}", state_text(&state)));
                    }
                }
                Some(ClientEvent::MembershipChanged { chat_id, member }) if only.is_none_or(|c| c == chat_id) => {
                    if out.json {
                        out.json_line(&json!({ "type": "membership", "chat_id": chat_id, "member": member }));
                    } else {
                        let what = if member { "joined" } else { "left" };
                        crate::output::println_flush(&format!("[chat {chat_id}] you {what} (on another device)"));
                    }
                }
                Some(ClientEvent::MessagesHidden { chat_id, seqs }) if only.is_none_or(|c| c == chat_id) => {
                    if out.json {
                        out.json_line(&json!({ "type": "messages_hidden", "chat_id": chat_id, "seqs": seqs }));
                    } else {
                        crate::output::println_flush(&format!("[chat {chat_id}] you hid {seqs:?}"));
                    }
                }
                Some(ClientEvent::Receipt { chat_id, receipt: r }) if only.is_none_or(|c| c == chat_id) => {
                    if out.json {
                        let v = json!({ "type": "receipt", "chat_id": chat_id, "user_id": r.user_id, "delivered_seq": r.delivered_seq,
                            "read_seq": r.read_seq, "read_hidden": r.read_hidden });
                        out.json_line(&v);
                    } else {
                        let read = if r.read_hidden { "hidden".to_string() } else { r.read_seq.to_string() };
                        crate::output::println_flush(&format!("[chat {chat_id}] {} has delivered {} read {read}", s.names.show(r.user_id), r.delivered_seq));
                    }
                }
                Some(ClientEvent::Typing { chat_id, user_id, kind, .. }) if only.is_none_or(|c| c == chat_id) => {
                    let what = match kind {
                        magpie_client::presence::TypingKind::Typing => "typing",
                        magpie_client::presence::TypingKind::RecordingVoice => "recording",
                        _ => "stopped",
                    };
                    if out.json {
                        out.json_line(&json!({ "type": "typing", "chat_id": chat_id, "user_id": user_id, "kind": what }));
                    } else {
                        crate::output::println_flush(&format!("[chat {chat_id}] {} {what}", s.names.show(user_id)));
                    }
                }
                // Presence comes only to a watching connection (tail watches nobody), counts to admins.
                Some(
                    ClientEvent::ChatStateChanged { .. }
                    | ClientEvent::MembershipChanged { .. }
                    | ClientEvent::Receipt { .. }
                    | ClientEvent::Typing { .. }
                    | ClientEvent::ReceiptCounts(_)
                    | ClientEvent::Presence(_)
                    | ClientEvent::Privacy(_)
                    | ClientEvent::MessagesHidden { .. },
                ) => {}
                Some(ClientEvent::Disconnected { reason }) => {
                    if out.json {
                        out.json_line(&json!({ "type": "disconnected", "reason": reason }));
                    } else {
                        eprintln!("-- disconnected ({reason}); reconnecting");
                    }
                }
                Some(ClientEvent::Closed { code, reason }) => {
                    break Err(match code {
                        Some(code) => CliError::wire(code, reason),
                        None => CliError::new("rejected", reason),
                    });
                }
                None => break Err(CliError::new("closed", "the client stopped")),
            }
        }
    };
    let saved = save_cursors(ctx, device_id, &printed);
    s.client.close().await;
    outcome.and(saved)
}

fn save_cursors(ctx: &Ctx, device_id: u64, printed: &BTreeMap<u64, u64>) -> Result<()> {
    if printed.is_empty() {
        return Ok(());
    }
    ctx.profiles.update(|p| {
        // If the profile was logged out or re-registered meanwhile, these cursors are stale.
        if p.login.as_ref().is_some_and(|l| l.device_id == device_id) {
            for (&chat, &seq) in printed {
                let cursor = p.cursors.entry(chat).or_insert(0);
                *cursor = (*cursor).max(seq);
            }
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_preferring_ipv4() {
        assert_eq!(resolve("127.0.0.1:7600").unwrap(), "127.0.0.1:7600".parse().unwrap());
        assert!(resolve("localhost:7600").unwrap().port() == 7600);
        assert_eq!(resolve("no-port").unwrap_err().code, "invalid_input");
    }
}
