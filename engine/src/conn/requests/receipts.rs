//! Receipts: `MarkReceipts` and `GetReceipts` (PROTOCOL.md §6.15). The rules — membership,
//! monotonic cursors, nothing past the chat's end, who is told — are the chat owner's
//! (`chat/receipts.rs`); this side adds the caller's read-receipt setting.

use super::{Answer, Ctx};
use crate::crossing::{self, Command};
use magpie_wire::{fb, ErrorCode};

pub async fn mark(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let m = f.body_as_mark_receipts().expect("checked type");
    let settings = crate::presence_io::settings(cx.shard, me.0).await.map_err(|e| (ErrorCode::Internal, e))?;
    let cmd = crossing::MarkReceipts {
        actor: cx.actor(me),
        chat_id: m.chat_id(),
        delivered_seq: m.delivered_seq(),
        read_seq: m.read_seq(),
        read_private: !settings.read_receipts,
    };
    cx.to_owner(m.chat_id(), Command::MarkReceipts(cmd))
}

pub async fn get(cx: &Ctx<'_>, me: (u64, u64), f: &fb::Frame<'_>) -> Answer {
    let g = f.body_as_get_receipts().expect("checked type");
    let settings = crate::presence_io::settings(cx.shard, me.0).await.map_err(|e| (ErrorCode::Internal, e))?;
    let cmd = crossing::GetReceipts { actor: cx.actor(me), chat_id: g.chat_id(), seq: g.seq(), hide_reads: !settings.read_receipts };
    cx.to_owner(g.chat_id(), Command::GetReceipts(cmd))
}
