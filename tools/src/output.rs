//! Rendering: human text or JSON, and the shared shapes of events, chats and times.

use magpie_client::{Attachment, ChatEvent, ChatKind, ChatSettings, EventKind, HistoryVisibility, JoinedVia, Member, MessageExtras, Role, Who};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;

/// Where results go: stdout, as text or as one JSON document per result.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// Prints one result: `value` with --json, otherwise `human` (built only when needed).
    pub fn result(&self, value: Value, human: impl FnOnce() -> String) {
        if self.json {
            self.json_line(&value);
        } else {
            let text = human();
            if !text.is_empty() {
                println_flush(&text);
            }
        }
    }

    /// Prints one JSON document on one line (so streams are JSON lines).
    pub fn json_line(&self, value: &Value) {
        println_flush(&value.to_string());
    }

    /// A status note for people; scripts (--json) get the JSON stream only.
    pub fn note(&self, text: &str) {
        if !self.json {
            eprintln!("{text}");
        }
    }
}

/// Prints a line and flushes, so `tail` output reaches a pipe as it happens. A closed pipe
/// (`magpiectl tail | head`) ends the program quietly instead of panicking.
pub fn println_flush(text: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
        std::process::exit(0);
    }
}

/// Usernames known by id. The protocol has no lookup by id, so names come from what this
/// profile has resolved or seen; others show as `user <id>`.
#[derive(Debug, Clone, Default)]
pub struct Names(pub BTreeMap<u64, String>);

impl Names {
    pub fn get(&self, user_id: u64) -> Option<&str> {
        self.0.get(&user_id).map(String::as_str)
    }

    pub fn show(&self, user_id: u64) -> String {
        match self.get(user_id) {
            Some(name) => name.to_owned(),
            None => format!("user {user_id}"),
        }
    }

    /// Names of `ids`, comma-separated.
    pub fn list_of(&self, ids: &[u64]) -> String {
        self.list(ids.iter().copied())
    }

    fn list(&self, ids: impl IntoIterator<Item = u64>) -> String {
        let names: Vec<String> = ids.into_iter().map(|id| self.show(id)).collect();
        if names.is_empty() {
            "nobody".into()
        } else {
            names.join(", ")
        }
    }
}

pub fn kind_name(kind: ChatKind) -> String {
    match kind {
        ChatKind::Direct => "direct".into(),
        ChatKind::Group => "group".into(),
        ChatKind::Channel => "channel".into(),
        ChatKind::Unknown(n) => format!("kind{n}"),
    }
}

pub fn role_name(role: Role) -> String {
    match role {
        Role::Member => "member".into(),
        Role::Admin => "admin".into(),
        Role::Owner => "owner".into(),
        Role::Unknown(n) => format!("role{n}"),
    }
}

pub fn who_name(who: Who) -> String {
    match who {
        Who::Members => "members".into(),
        Who::Admins => "admins".into(),
        Who::Unknown(n) => format!("who{n}"),
    }
}

pub fn history_name(h: HistoryVisibility) -> String {
    match h {
        HistoryVisibility::Everything => "everything".into(),
        HistoryVisibility::SinceJoined => "since-joined".into(),
        HistoryVisibility::Unknown(n) => format!("history{n}"),
    }
}

pub fn via_name(via: JoinedVia) -> String {
    match via {
        JoinedVia::Added => "added".into(),
        JoinedVia::InviteLink => "invite_link".into(),
        JoinedVia::Handle => "handle".into(),
        JoinedVia::Approved => "approved".into(),
        JoinedVia::Unknown(n) => format!("via{n}"),
    }
}

/// A chat's settings as JSON.
pub fn settings_json(s: &ChatSettings) -> Value {
    json!({
        "post": who_name(s.post),
        "add_members": who_name(s.add_members),
        "change_info": who_name(s.change_info),
        "pin": who_name(s.pin),
        "history": history_name(s.history),
        "forwarding": s.forwarding,
        "approve_joins": s.approve_joins,
    })
}

/// A chat's settings in words, one line.
pub fn settings_line(s: &ChatSettings) -> String {
    format!(
        "post: {}, add members: {}, change info: {}, pin: {}, history: {}, forwarding: {}, approve joins: {}",
        who_name(s.post),
        who_name(s.add_members),
        who_name(s.change_info),
        who_name(s.pin),
        history_name(s.history),
        if s.forwarding { "on" } else { "off" },
        if s.approve_joins { "on" } else { "off" },
    )
}

/// A member as JSON, with the username when known.
pub fn member_json(m: &Member, names: &Names) -> Value {
    let mut v = json!({ "user_id": m.user_id, "role": role_name(m.role), "since_seq": m.since_seq });
    if let Some(name) = names.get(m.user_id) {
        v["username"] = Value::from(name);
    }
    v
}

/// An event as JSON: the header, `kind`, and the kind's fields; `sender` when the name is known.
pub fn event_json(e: &ChatEvent, names: &Names) -> Value {
    let mut v = json!({
        "chat_id": e.chat_id,
        "seq": e.seq,
        "sender_id": e.sender_id,
        "sender_device_id": e.sender_device_id,
        "time_ms": e.time_ms,
    });
    let fields = match &e.kind {
        EventKind::Message { message_id, client_msg_id, content, extras } => {
            let mut m = json!({ "kind": "message", "message_id": message_id, "client_msg_id": client_msg_id, "content": content });
            if let Some(x) = extras {
                merge(&mut m, extras_json(x));
            }
            m
        }
        EventKind::MessageEdited { target_seq, content, mentions } => {
            json!({ "kind": "message_edited", "target_seq": target_seq, "content": content, "mentions": mentions })
        }
        EventKind::MessagesDeleted { seqs } => json!({ "kind": "messages_deleted", "seqs": seqs }),
        EventKind::ReactionsChanged { messages } => json!({
            "kind": "reactions_changed",
            "messages": messages.iter().map(|m| json!({
                "seq": m.seq,
                "counts": m.counts.iter().map(|(e, n)| json!({"emoji": e, "count": n})).collect::<Vec<_>>(),
                "toggles": m.toggles.iter().map(|(u, e, added)| json!({"user_id": u, "emoji": e, "added": added})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
        EventKind::MessagePinned { target_seq, pinned } => json!({ "kind": "message_pinned", "target_seq": target_seq, "pinned": pinned }),
        EventKind::LiveLocationUpdated { target_seq, latitude, longitude, accuracy_m, stopped } => json!({
            "kind": "live_location_updated", "target_seq": target_seq, "latitude": latitude, "longitude": longitude,
            "accuracy_m": accuracy_m, "stopped": stopped,
        }),
        EventKind::ChatCreated { kind, title, members, description, handle, settings } => json!({
            "kind": "chat_created",
            "chat_kind": kind_name(*kind),
            "title": title,
            "members": members.iter().map(|m| json!({"user_id": m.user_id, "role": role_name(m.role)})).collect::<Vec<_>>(),
            "description": description,
            "handle": handle,
            "settings": settings_json(settings),
        }),
        EventKind::MembersAdded { user_ids, via } => {
            json!({ "kind": "members_added", "user_ids": user_ids, "via": via_name(*via) })
        }
        EventKind::MemberRemoved { user_id, left } => {
            json!({ "kind": "member_removed", "user_id": user_id, "left": left })
        }
        EventKind::ChatUpdated { title, description, avatar_ref, handle, settings } => json!({
            "kind": "chat_updated",
            "title": title,
            "description": description,
            "avatar_ref": avatar_ref,
            "handle": handle,
            "settings": settings_json(settings),
        }),
        EventKind::RoleChanged { user_id, role } => {
            json!({ "kind": "role_changed", "user_id": user_id, "role": role_name(*role) })
        }
        EventKind::OwnerChanged { previous_owner, new_owner } => {
            json!({ "kind": "owner_changed", "previous_owner": previous_owner, "new_owner": new_owner })
        }
        EventKind::Unknown { body_type } => json!({ "kind": "unknown", "body_type": body_type }),
        // EventKind is non_exhaustive: a kind added to the client library after this tool.
        other => json!({ "kind": "unknown", "debug": format!("{other:?}") }),
    };
    merge(&mut v, fields);
    if let Some(name) = names.get(e.sender_id) {
        v["sender"] = Value::from(name);
    }
    v
}

/// What a message carries besides its text, as JSON fields.
fn extras_json(x: &MessageExtras) -> Value {
    let mut v = json!({ "mentions": x.mentions, "mention_all": x.mention_all, "deleted": x.deleted });
    if let Some(r) = &x.reply_to {
        v["reply_to"] = json!({ "seq": r.seq, "message_id": r.message_id, "sender_id": r.sender_id, "preview": r.preview, "deleted": r.deleted });
    }
    if let Some(f) = &x.forwarded {
        v["forwarded"] = json!({ "original_sender_id": f.original_sender_id, "original_time_ms": f.original_time_ms, "from_chat_id": f.from_chat_id, "from_title": f.from_title });
    }
    match &x.attachment {
        Some(Attachment::Location(l)) => {
            v["location"] = json!({ "latitude": l.latitude, "longitude": l.longitude, "accuracy_m": l.accuracy_m, "label": l.label, "live_until_ms": l.live_until_ms });
        }
        Some(Attachment::Contact(c)) => {
            v["contact"] = json!({ "name": c.name, "phones": c.phones, "emails": c.emails, "user_id": c.user_id });
        }
        None => {}
    }
    v
}

/// Adds `extra`'s fields to the object `into`.
pub fn merge(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}

/// What happened, in words: `alice: hi`, `alice added bob`, ...
pub fn describe(e: &ChatEvent, names: &Names) -> String {
    let sender = names.show(e.sender_id);
    match &e.kind {
        // Continuation lines are indented so a multi-line message stays visibly one event.
        EventKind::Message { extras: Some(x), .. } if x.deleted => format!("{sender}: (deleted)"),
        EventKind::Message { content, extras, .. } => {
            let quote = match extras.as_ref().and_then(|x| x.reply_to.as_ref()) {
                Some(r) if r.deleted => format!("(replying to #{}, deleted) ", r.seq),
                Some(r) => format!("(replying to #{} {:?}) ", r.seq, r.preview),
                None => String::new(),
            };
            let place = match extras.as_ref().and_then(|x| x.attachment.as_ref()) {
                Some(Attachment::Location(l)) => format!(" [location {:.5}, {:.5} {}]", l.latitude, l.longitude, l.label),
                Some(Attachment::Contact(c)) => format!(" [contact {}]", c.name),
                None => String::new(),
            };
            format!("{sender}: {quote}{}{place}", content.replace('\n', "\n    "))
        }
        EventKind::MessageEdited { target_seq, content, .. } => format!("{sender} edited #{target_seq}: {content}"),
        EventKind::MessagesDeleted { seqs } => format!("{sender} deleted {}", seq_list(seqs)),
        EventKind::ReactionsChanged { messages } => {
            let parts: Vec<String> = messages
                .iter()
                .map(|m| format!("#{} {}", m.seq, m.counts.iter().map(|(e, n)| format!("{e}{n}")).collect::<Vec<_>>().join(" ")))
                .collect();
            format!("reactions: {}", parts.join(", "))
        }
        EventKind::MessagePinned { target_seq, pinned } => format!("{sender} {} #{target_seq}", if *pinned { "pinned" } else { "unpinned" }),
        EventKind::LiveLocationUpdated { target_seq, latitude, longitude, stopped, .. } => {
            let what = if *stopped { "stopped sharing" } else { "moved" };
            format!("{sender} {what} live location #{target_seq} at {latitude:.5}, {longitude:.5}")
        }
        EventKind::ChatCreated { kind: ChatKind::Direct, members, .. } => {
            let others = members.iter().map(|m| m.user_id).filter(|&id| id != e.sender_id);
            format!("{sender} started a direct chat with {}", names.list(others))
        }
        EventKind::ChatCreated { kind, title, members, .. } => {
            let kind = kind_name(*kind);
            format!("{sender} created {kind} {title:?} with {}", names.list(members.iter().map(|m| m.user_id)))
        }
        EventKind::MembersAdded { user_ids, via: JoinedVia::Added } => {
            format!("{sender} added {}", names.list(user_ids.iter().copied()))
        }
        EventKind::MembersAdded { user_ids, via: JoinedVia::Approved } => {
            format!("{sender} approved {}", names.list(user_ids.iter().copied()))
        }
        EventKind::MembersAdded { user_ids, via } => {
            let how = match via {
                JoinedVia::InviteLink => "an invite link".to_owned(),
                JoinedVia::Handle => "the chat's handle".to_owned(),
                other => via_name(*other),
            };
            format!("{} joined by {how}", names.list(user_ids.iter().copied()))
        }
        EventKind::ChatUpdated { title, .. } => format!("{sender} changed the chat's info (title {title:?})"),
        EventKind::RoleChanged { user_id, role } => {
            format!("{sender} made {} {}", names.show(*user_id), role_name(*role))
        }
        EventKind::OwnerChanged { previous_owner, new_owner } => {
            format!("{} handed ownership to {}", names.show(*previous_owner), names.show(*new_owner))
        }
        EventKind::MemberRemoved { user_id, left: true } => format!("{} left", names.show(*user_id)),
        EventKind::MemberRemoved { user_id, left: false } => format!("{sender} removed {}", names.show(*user_id)),
        EventKind::Unknown { body_type } => format!("(event type {body_type}, unknown to this build)"),
        other => format!("({other:?})"),
    }
}

fn seq_list(seqs: &[u64]) -> String {
    seqs.iter().map(|s| format!("#{s}")).collect::<Vec<_>>().join(", ")
}

/// `[chat 12 #34] alice: hi`
pub fn event_line(e: &ChatEvent, names: &Names) -> String {
    format!("[chat {} #{}] {}", e.chat_id, e.seq, describe(e, names))
}

/// `2026-05-01 10:00:03 [chat 12 #34] alice: hi`, for history and dumps where time matters.
pub fn event_line_timed(e: &ChatEvent, names: &Names) -> String {
    format!("{} {}", format_time(e.time_ms), event_line(e, names))
}

/// Unix milliseconds as `YYYY-MM-DD hh:mm:ss` UTC (the days-to-civil algorithm of
/// H. Hinnant's "chrono-compatible low-level date algorithms"; no date crate needed for this).
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", sod / 3600, sod % 3600 / 60, sod % 60)
}

/// Lays out rows in columns separated by two spaces; the last column is not padded. Line
/// breaks inside a cell are shown as `⏎` so that every row stays on one line.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> =
        rows.iter().map(|r| r.iter().map(|c| c.replace("\n    ", "\n").replace('\n', "⏎")).collect()).collect();
    let rows = rows.as_slice();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            if i == last {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(rows.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind) -> ChatEvent {
        ChatEvent { chat_id: 12, seq: 34, sender_id: 5, sender_device_id: 6, time_ms: 0, kind }
    }

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(format_time(1_700_000_000_123), "2023-11-14 22:13:20");
        assert_eq!(format_time(-1000), "1969-12-31 23:59:59");
    }

    #[test]
    fn events_read_naturally() {
        let names = Names([(5, "alice".to_string()), (7, "bob".to_string())].into());
        let msg = ev(EventKind::Message { message_id: 1, client_msg_id: "c".into(), content: "hi".into(), extras: None });
        assert_eq!(event_line(&msg, &names), "[chat 12 #34] alice: hi");
        assert_eq!(event_line(&msg, &Names::default()), "[chat 12 #34] user 5: hi");
        let two = ev(EventKind::Message { message_id: 1, client_msg_id: "c".into(), content: "a\nb".into(), extras: None });
        assert_eq!(event_line(&two, &names), "[chat 12 #34] alice: a\n    b");
        assert_eq!(table(&["X"], &[vec![describe(&two, &names)]]), "X\nalice: a⏎b");
        let m = |user_id, role| Member { user_id, role, since_seq: 1 };
        let created = ev(EventKind::ChatCreated {
            kind: ChatKind::Group,
            title: "team".into(),
            members: vec![m(5, Role::Owner), m(7, Role::Member), m(9, Role::Member)],
            description: String::new(),
            handle: String::new(),
            settings: ChatSettings::default(),
        });
        assert_eq!(describe(&created, &names), "alice created group \"team\" with alice, bob, user 9");
        let channel = ev(EventKind::ChatCreated {
            kind: ChatKind::Channel,
            title: "team".into(),
            members: vec![m(5, Role::Owner)],
            description: String::new(),
            handle: String::new(),
            settings: ChatSettings::default(),
        });
        assert_eq!(describe(&channel, &names), "alice created channel \"team\" with alice");
        let direct = ev(EventKind::ChatCreated {
            kind: ChatKind::Direct,
            title: String::new(),
            members: vec![m(5, Role::Member), m(7, Role::Member)],
            description: String::new(),
            handle: String::new(),
            settings: ChatSettings::default(),
        });
        assert_eq!(describe(&direct, &names), "alice started a direct chat with bob");
        assert_eq!(describe(&ev(EventKind::MemberRemoved { user_id: 7, left: true }), &names), "bob left");
        assert_eq!(describe(&ev(EventKind::MemberRemoved { user_id: 7, left: false }), &names), "alice removed bob");
        let added = |via| ev(EventKind::MembersAdded { user_ids: vec![7], via });
        assert_eq!(describe(&added(JoinedVia::Added), &names), "alice added bob");
        assert_eq!(describe(&added(JoinedVia::InviteLink), &names), "bob joined by an invite link");
        assert_eq!(describe(&added(JoinedVia::Approved), &names), "alice approved bob");
        assert_eq!(event_json(&added(JoinedVia::Handle), &names)["via"], "handle");
        let role = ev(EventKind::RoleChanged { user_id: 7, role: Role::Admin });
        assert_eq!(describe(&role, &names), "alice made bob admin");
        let owner = ev(EventKind::OwnerChanged { previous_owner: 5, new_owner: 7 });
        assert_eq!(describe(&owner, &names), "alice handed ownership to bob");
        assert_eq!(event_json(&owner, &names)["new_owner"], 7);
        let settings = ChatSettings { post: Who::Admins, history: HistoryVisibility::SinceJoined, ..ChatSettings::default() };
        let updated = ev(EventKind::ChatUpdated {
            title: "t".into(),
            description: "d".into(),
            avatar_ref: String::new(),
            handle: "the_t".into(),
            settings,
        });
        let v = event_json(&updated, &names);
        assert_eq!((v["kind"].as_str(), v["handle"].as_str()), (Some("chat_updated"), Some("the_t")));
        assert_eq!((v["settings"]["post"].as_str(), v["settings"]["history"].as_str()), (Some("admins"), Some("since-joined")));

        let v = event_json(&msg, &names);
        assert_eq!(
            (v["kind"].as_str(), v["content"].as_str(), v["sender"].as_str()),
            (Some("message"), Some("hi"), Some("alice"))
        );
        assert_eq!(event_json(&created, &names)["members"][0]["role"], "owner");
    }

    #[test]
    fn tables_align() {
        let t = table(
            &["ID", "NAME", "NOTE"],
            &[vec!["1".into(), "alice".into(), "x".into()], vec!["22".into(), "bo".into(), "".into()]],
        );
        assert_eq!(t, "ID  NAME   NOTE\n1   alice  x\n22  bo");
    }
}
