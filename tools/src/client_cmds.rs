//! Commands that talk to a running engine through `magpie_client`, signed in with the
//! profile's device token.

use crate::cli::{Command, Credentials, Global, TransportArg};
use crate::error::{CliError, Result};
use crate::output::{event_json, event_line, event_line_timed, kind_name, merge, role_name, table, Names, Output};
use crate::profile::{Login, Profile, ProfileStore};
use magpie_client::{ChatKind, Client, ClientConfig, ClientEvent, Direction, ErrorCode, EventKind, Events, TransportPref};
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
            let peer = chat.members.iter().map(|m| m.0).find(|&id| id != me).unwrap_or(me);
            s.learn(peer, &username);
            out.result(json!({ "chat_id": chat.chat_id, "peer_id": peer, "last_seq": chat.last_seq }), || {
                format!("chat {}: direct with {username}", chat.chat_id)
            });
        }
        Command::Group { title, members } => {
            let mut ids = Vec::with_capacity(members.len());
            for name in &members {
                ids.push(s.user_id(name).await?);
            }
            let chat = s.client.create_group(&title, &ids).await?;
            let everyone: Vec<String> = chat.members.iter().map(|m| s.names.show(m.0)).collect();
            out.result(json!({ "chat_id": chat.chat_id, "title": chat.title, "member_ids": chat.members.iter().map(|m| m.0).collect::<Vec<_>>() }), || {
                format!("chat {}: group {:?} with {}", chat.chat_id, chat.title, everyone.join(", "))
            });
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
        Command::Leave { chat_id } => {
            s.client.leave_chat(chat_id).await?;
            out.result(json!({ "chat_id": chat_id, "left": true }), || format!("left chat {chat_id}"));
        }
        Command::Chats => chats(s, out).await?,
        Command::Info { chat_id } => {
            let chat = s.client.get_chat(chat_id).await?;
            s.learn_ids(chat.members.iter().map(|m| m.0)).await?;
            let members: Vec<Value> = chat
                .members
                .iter()
                .map(|&(id, role)| {
                    let mut m = json!({ "user_id": id, "role": role_name(role) });
                    if let Some(name) = s.names.get(id) {
                        m["username"] = Value::from(name);
                    }
                    m
                })
                .collect();
            out.result(
                json!({
                    "chat_id": chat.chat_id,
                    "kind": kind_name(chat.kind),
                    "title": chat.title,
                    "last_seq": chat.last_seq,
                    "created_ms": chat.created_ms,
                    "members": members,
                }),
                || {
                    let title = if chat.title.is_empty() { String::new() } else { format!(" {:?}", chat.title) };
                    let mut text = format!(
                        "chat {} ({}{title}), created {} UTC, last seq {}\nmembers:",
                        chat.chat_id,
                        kind_name(chat.kind),
                        crate::output::format_time(chat.created_ms),
                        chat.last_seq
                    );
                    for &(id, role) in &chat.members {
                        text.push_str(&format!("\n  {id:<8} {} ({})", s.names.show(id), role_name(role)));
                    }
                    text
                },
            );
        }
        Command::Send { chat_id, text } => {
            let text = read_text(&text)?;
            let pending = s.client.send(chat_id, text);
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

/// Every user an event names: its sender and the members it is about.
fn users_in(e: &magpie_client::ChatEvent) -> Vec<u64> {
    let mut ids = vec![e.sender_id];
    match &e.kind {
        EventKind::ChatCreated { members, .. } => ids.extend(members.iter().map(|m| m.0)),
        EventKind::MembersAdded { user_ids } => ids.extend(user_ids),
        EventKind::MemberRemoved { user_id, .. } => ids.push(*user_id),
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
        if let Some(&(peer, _)) = info.members.iter().find(|m| m.0 != s.login.user_id) {
            peers.insert(c.chat_id, peer);
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
