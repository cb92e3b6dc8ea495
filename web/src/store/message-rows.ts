// Messages as rows, and what later events and history states make of them (PROTOCOL.md §6.13).
// Pure functions, no I/O: the store applies them to the rows in memory and to the cached ones,
// and a row reached by applying the events after a message equals the row built from a fresh
// history page with its states (test/unit/message-rows.test.ts holds both to that).
import type { ChatEvent, Location, MessageKind, MessageState, ReactionCount } from '@magpie/client';
import type { MessageRow, PlaceRow, ReactionRow } from './types.js';

/** Leaves out the optional fields that say "none", so equal states are equal rows. */
export function canon(r: MessageRow): MessageRow {
  const out = { ...r };
  if (!out.replyTo) delete out.replyTo;
  if (!out.forwarded) delete out.forwarded;
  if (!out.mentions?.length) delete out.mentions;
  if (!out.mentionAll) delete out.mentionAll;
  if (!out.place) delete out.place;
  if (!out.contact) delete out.contact;
  if (!out.deleted) delete out.deleted;
  if (!out.editedMs) delete out.editedMs;
  if (!out.reactions?.length) delete out.reactions;
  if (!out.pinned) delete out.pinned;
  if (!out.hidden) delete out.hidden;
  return out;
}

function place(l: Location): PlaceRow {
  return { latitude: l.latitude, longitude: l.longitude, accuracyM: l.accuracyM, label: l.label, liveUntilMs: l.liveUntilMs };
}

/** A message event as a row. */
export function messageRow(ev: ChatEvent, k: MessageKind): MessageRow {
  const a = k.attachment;
  return canon({
    chatId: ev.chatId.toString(), seq: Number(ev.seq), clientMsgId: k.clientMsgId, senderId: ev.senderId.toString(), timeMs: ev.timeMs, content: k.content, state: 'sent',
    ...(k.replyTo ? { replyTo: { seq: Number(k.replyTo.seq), senderId: k.replyTo.senderId.toString(), preview: k.replyTo.preview, deleted: k.replyTo.deleted } } : {}),
    ...(k.forwarded ? { forwarded: { senderId: k.forwarded.originalSenderId.toString(), timeMs: k.forwarded.originalTimeMs, fromChatId: k.forwarded.fromChatId ? k.forwarded.fromChatId.toString() : '', fromTitle: k.forwarded.fromTitle } } : {}),
    mentions: k.mentions.map(String), mentionAll: k.mentionAll, deleted: k.deleted,
    ...(a?.type === 'location' ? { place: place(a.location) } : {}),
    ...(a?.type === 'contact' ? { contact: { name: a.contact.name, phones: a.contact.phones, emails: a.contact.emails, userId: a.contact.userId ? a.contact.userId.toString() : '' } } : {}),
  });
}

/** What deleting for everyone leaves: the header, nothing else (but this user's own "hidden"). */
export function tombstone(r: MessageRow): MessageRow {
  return canon({ chatId: r.chatId, seq: r.seq, clientMsgId: r.clientMsgId, senderId: r.senderId, timeMs: r.timeMs, content: '', state: r.state, deleted: true, hidden: r.hidden });
}

function reactionRows(counts: ReactionCount[], mine: (emoji: string) => boolean): ReactionRow[] {
  return counts.filter((c) => c.count > 0).map((c) => ({ emoji: c.emoji, count: c.count, mine: mine(c.emoji) }));
}

/** A history page's state over the row of its message. */
export function withState(r: MessageRow, st: MessageState): MessageRow {
  if (st.deleted || r.deleted) return tombstone({ ...r, hidden: st.hidden });
  const my = new Set(st.myReactions);
  return canon({
    ...r,
    ...(st.editCount > 0 ? { content: st.content, editedMs: st.editedMs } : {}),
    reactions: reactionRows(st.reactions, (e) => my.has(e)),
    pinned: st.pinned,
    hidden: st.hidden,
    ...(st.location && r.place ? { place: { ...place(st.location), label: st.location.label || r.place.label } } : {}),
  });
}

/** How one event changes the messages it names: `seqs` are the rows to change; with `quotes`,
 * the rows whose quote names one of them. */
export interface Patch {
  seqs: number[];
  quotes?: boolean;
  apply: (r: MessageRow) => MessageRow;
}

/** The patches of one event (none for events that are not about earlier messages). */
export function patchesOf(ev: ChatEvent, me: string | undefined): Patch[] {
  const k = ev.kind;
  switch (k.type) {
    case 'messageEdited':
      return [{
        seqs: [Number(k.targetSeq)],
        apply: (r) => (r.deleted ? r : canon({ ...r, content: k.content, mentions: k.mentions.map(String), editedMs: ev.timeMs })),
      }];
    case 'messagesDeleted': {
      const seqs = k.seqs.map(Number);
      return [
        { seqs, apply: tombstone },
        { seqs, quotes: true, apply: (r) => (r.replyTo && seqs.includes(r.replyTo.seq) ? { ...r, replyTo: { ...r.replyTo, preview: '', deleted: true } } : r) },
      ];
    }
    case 'reactionsChanged':
      return k.messages.map((m) => ({
        seqs: [Number(m.seq)],
        apply: (r) => {
          if (r.deleted) return r;
          // Mine: what this user had, changed by their toggles (a big chat's events carry none).
          const mine = new Set((r.reactions ?? []).filter((x) => x.mine).map((x) => x.emoji));
          for (const t of m.toggles) if (t.userId.toString() === me) (t.added ? mine.add(t.emoji) : mine.delete(t.emoji));
          return canon({ ...r, reactions: reactionRows(m.counts, (e) => mine.has(e)) });
        },
      }));
    case 'messagePinned':
      return [{ seqs: [Number(k.targetSeq)], apply: (r) => (r.deleted ? r : canon({ ...r, pinned: k.pinned })) }];
    case 'liveLocationUpdated':
      return [{
        seqs: [Number(k.targetSeq)],
        apply: (r) => {
          if (!r.place || r.deleted) return r;
          // A stop ends it now: live until the stop's time.
          const liveUntilMs = k.stopped ? Math.min(r.place.liveUntilMs, ev.timeMs) : r.place.liveUntilMs;
          return { ...r, place: { ...r.place, latitude: k.latitude, longitude: k.longitude, accuracyM: k.accuracyM, liveUntilMs } };
        },
      }];
    default:
      return [];
  }
}

/** Whether a patch changes this row. */
export function touches(p: Patch, r: MessageRow): boolean {
  return p.quotes ? !!r.replyTo && p.seqs.includes(r.replyTo.seq) : p.seqs.includes(r.seq);
}

/** Applies patches, in order, to the rows they touch (the others are kept as they are). */
export function applyPatches(rows: readonly MessageRow[], patches: readonly Patch[]): MessageRow[] {
  let out = rows as MessageRow[];
  for (const p of patches) {
    let changed = false;
    const next = out.map((r) => {
      if (r.state !== 'sent' || r.notice || !touches(p, r)) return r;
      changed = true;
      return p.apply(r);
    });
    if (changed) out = next;
  }
  return out;
}

/** Hides rows for this user ("delete for me"). */
export function hidePatch(seqs: number[]): Patch {
  return { seqs, apply: (r) => ({ ...r, hidden: true }) };
}

/** The chat list's one-line preview of a message. */
export function previewOf(r: Pick<MessageRow, 'content' | 'place' | 'contact' | 'deleted'>): string {
  if (r.deleted) return 'Message deleted';
  const caption = r.content.slice(0, 200);
  if (r.place) return `📍 ${r.place.liveUntilMs ? 'Live location' : r.place.label || 'Location'}${caption ? ` · ${caption}` : ''}`;
  if (r.contact) return `👤 ${r.contact.name}`;
  return caption;
}
