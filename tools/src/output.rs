//! Rendering: human text or JSON, and the shared shapes of events, chats and times.

use magpie_client::{ChatEvent, ChatKind, EventKind, Role};
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
        ChatKind::Unknown(n) => format!("kind{n}"),
    }
}

pub fn role_name(role: Role) -> String {
    match role {
        Role::Member => "member".into(),
        Role::Admin => "admin".into(),
        Role::Unknown(n) => format!("role{n}"),
    }
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
        EventKind::Message { message_id, client_msg_id, content } => json!({
            "kind": "message", "message_id": message_id, "client_msg_id": client_msg_id, "content": content,
        }),
        EventKind::ChatCreated { kind, title, members } => json!({
            "kind": "chat_created",
            "chat_kind": kind_name(*kind),
            "title": title,
            "members": members.iter().map(|(id, role)| json!({"user_id": id, "role": role_name(*role)})).collect::<Vec<_>>(),
        }),
        EventKind::MembersAdded { user_ids } => json!({ "kind": "members_added", "user_ids": user_ids }),
        EventKind::MemberRemoved { user_id, left } => {
            json!({ "kind": "member_removed", "user_id": user_id, "left": left })
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
        EventKind::Message { content, .. } => format!("{sender}: {}", content.replace('\n', "\n    ")),
        EventKind::ChatCreated { kind: ChatKind::Group, title, members } => {
            format!("{sender} created group {title:?} with {}", names.list(members.iter().map(|m| m.0)))
        }
        EventKind::ChatCreated { members, .. } => {
            let others = members.iter().map(|m| m.0).filter(|&id| id != e.sender_id);
            format!("{sender} started a direct chat with {}", names.list(others))
        }
        EventKind::MembersAdded { user_ids } => format!("{sender} added {}", names.list(user_ids.iter().copied())),
        EventKind::MemberRemoved { user_id, left: true } => format!("{} left", names.show(*user_id)),
        EventKind::MemberRemoved { user_id, left: false } => format!("{sender} removed {}", names.show(*user_id)),
        EventKind::Unknown { body_type } => format!("(event type {body_type}, unknown to this build)"),
        other => format!("({other:?})"),
    }
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
        let msg = ev(EventKind::Message { message_id: 1, client_msg_id: "c".into(), content: "hi".into() });
        assert_eq!(event_line(&msg, &names), "[chat 12 #34] alice: hi");
        assert_eq!(event_line(&msg, &Names::default()), "[chat 12 #34] user 5: hi");
        let two = ev(EventKind::Message { message_id: 1, client_msg_id: "c".into(), content: "a\nb".into() });
        assert_eq!(event_line(&two, &names), "[chat 12 #34] alice: a\n    b");
        assert_eq!(table(&["X"], &[vec![describe(&two, &names)]]), "X\nalice: a⏎b");
        let created = ev(EventKind::ChatCreated {
            kind: ChatKind::Group,
            title: "team".into(),
            members: vec![(5, Role::Admin), (7, Role::Member), (9, Role::Member)],
        });
        assert_eq!(describe(&created, &names), "alice created group \"team\" with alice, bob, user 9");
        let direct = ev(EventKind::ChatCreated {
            kind: ChatKind::Direct,
            title: String::new(),
            members: vec![(5, Role::Member), (7, Role::Member)],
        });
        assert_eq!(describe(&direct, &names), "alice started a direct chat with bob");
        assert_eq!(describe(&ev(EventKind::MemberRemoved { user_id: 7, left: true }), &names), "bob left");
        assert_eq!(describe(&ev(EventKind::MemberRemoved { user_id: 7, left: false }), &names), "alice removed bob");

        let v = event_json(&msg, &names);
        assert_eq!(
            (v["kind"].as_str(), v["content"].as_str(), v["sender"].as_str()),
            (Some("message"), Some("hi"), Some("alice"))
        );
        assert_eq!(event_json(&created, &names)["members"][0]["role"], "admin");
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
