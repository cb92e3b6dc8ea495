// Per-chat cursors: the highest sequence number handed to the app with nothing missing below it.
// This is where "every event exactly once, in order" is made, without any I/O: duplicates are
// dropped, early events are held back, and gaps are reported as Fills for the caller to fetch
// with a forward `History` request. A port of client-lib/src/cursors.rs.
import { MAX_CLIENT_FRAME_BYTES, MAX_HISTORY_LIMIT } from './limits.js';
import type { ChatEvent } from './types.js';

/** Events held back per chat while a gap is fetched. Past this, newer events are not kept (the
 * fill fetches them too), so a flood during a slow fill cannot grow memory without bound. */
export const MAX_HELD_PER_CHAT = 4096;

/** Most cursors one `Sync` frame can carry (16 bytes each, with room for the frame itself). */
export const MAX_SYNC_CURSORS = Math.floor((MAX_CLIENT_FRAME_BYTES - 1024) / 16);

/** A request to fetch a chat's events after `fromSeq` (History, Forward). */
export interface Fill {
  chatId: bigint;
  fromSeq: bigint;
  limit: number;
}

interface Gap {
  /** Events after the gap, ascending by seq, waiting for it to close. */
  held: ChatEvent[];
  /** Highest seq known to exist (held or dropped for lack of room). */
  target: bigint;
  /** The `fromSeq` of the fill in flight, if any. */
  fetching: bigint | null;
}

class Chat {
  /** Highest contiguous seq handed to the app. */
  seq = 0n;
  /** The user is no longer a member: leave the chat out of `Sync` (the cursor is kept so a
   * later re-add does not replay what the app already has). */
  left = false;
  gap: Gap | null = null;

  take(ev: ChatEvent, out: ChatEvent[]): void {
    if (ev.seq <= this.seq) return; // duplicate: sync replay, a fill overlapping a push, a resend
    if (ev.seq === this.seq + 1n) {
      this.seq = ev.seq;
      out.push(ev);
      this.releaseHeld(out);
      return;
    }
    const gap = (this.gap ??= { held: [], target: 0n, fetching: null });
    if (ev.seq > gap.target) gap.target = ev.seq;
    const held = gap.held;
    // Binary search for the insertion point.
    let lo = 0;
    let hi = held.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (held[mid]!.seq < ev.seq) lo = mid + 1;
      else hi = mid;
    }
    if (lo < held.length && held[lo]!.seq === ev.seq) return; // already held
    if (held.length < MAX_HELD_PER_CHAT || lo < held.length) {
      held.splice(lo, 0, ev);
      if (held.length > MAX_HELD_PER_CHAT) held.pop();
    }
  }

  /** Hands over held events that are now contiguous. */
  releaseHeld(out: ChatEvent[]): void {
    const gap = this.gap;
    if (!gap) return;
    let i = 0;
    for (; i < gap.held.length; i++) {
      const seq = gap.held[i]!.seq;
      if (seq <= this.seq) continue;
      if (seq !== this.seq + 1n) break;
      out.push(gap.held[i]!);
      this.seq = seq;
    }
    if (i > 0) gap.held.splice(0, i);
    if (gap.held.length === 0 && this.seq >= gap.target && gap.fetching === null) this.gap = null;
  }

  /** Gives up on the missing events right after the cursor. */
  skipHole(out: ChatEvent[]): void {
    const gap = this.gap;
    if (!gap) return;
    const resumeAt = gap.held.length > 0 ? gap.held[0]!.seq - 1n : gap.target;
    if (resumeAt > this.seq) this.seq = resumeAt;
    this.releaseHeld(out);
  }

  nextFill(chatId: bigint): Fill | null {
    const gap = this.gap;
    if (!gap || gap.fetching !== null) return null;
    if (gap.held.length === 0 && this.seq >= gap.target) {
      this.gap = null;
      return null;
    }
    // Up to the first held event, or to the newest known one if none could be held.
    const end = gap.held.length > 0 ? gap.held[0]!.seq - 1n : gap.target;
    let missing = end - this.seq;
    if (missing < 1n) missing = 1n;
    gap.fetching = this.seq;
    const limit = missing < BigInt(MAX_HISTORY_LIMIT) ? Number(missing) : MAX_HISTORY_LIMIT;
    return { chatId, fromSeq: this.seq, limit };
  }
}

export class Cursors {
  private readonly chats = new Map<bigint, Chat>();

  constructor(seed: Iterable<readonly [bigint, bigint]> = []) {
    for (const [chatId, seq] of seed) {
      const chat = this.chat(chatId);
      if (seq > chat.seq) chat.seq = seq;
    }
  }

  private chat(chatId: bigint): Chat {
    let c = this.chats.get(chatId);
    if (!c) {
      c = new Chat();
      this.chats.set(chatId, c);
    }
    return c;
  }

  /** The highest contiguous seq handed over for `chatId` (0 = none). */
  get(chatId: bigint): bigint {
    return this.chats.get(chatId)?.seq ?? 0n;
  }

  /** Every cursor, sorted by chat. */
  snapshot(): Array<[bigint, bigint]> {
    return [...this.chats].map(([id, c]): [bigint, bigint] => [id, c.seq]).sort(byFirst);
  }

  /** The cursors to put in `Sync`: chats still joined that have events (an unlisted chat starts
   * at 0 anyway). If more than fit in one frame, those with the least history are left out and
   * simply replayed from the start (and dropped here as duplicates). */
  forSync(): Array<[bigint, bigint]> {
    let v = [...this.chats].filter(([, c]) => !c.left && c.seq > 0n).map(([id, c]): [bigint, bigint] => [id, c.seq]);
    if (v.length > MAX_SYNC_CURSORS) {
      v.sort((a, b) => (a[1] > b[1] ? -1 : a[1] < b[1] ? 1 : 0));
      v = v.slice(0, MAX_SYNC_CURSORS);
    }
    return v.sort(byFirst);
  }

  /** Records whether the user is still a member of `chatId`. */
  setLeft(chatId: bigint, left: boolean): void {
    this.chat(chatId).left = left;
  }

  /** Fills in flight, across all chats. */
  fillsInFlight(): number {
    let n = 0;
    for (const c of this.chats.values()) if (c.gap?.fetching != null) n++;
    return n;
  }

  /** Events held back in `chatId` waiting for a gap to close. */
  heldCount(chatId: bigint): number {
    return this.chats.get(chatId)?.gap?.held.length ?? 0;
  }

  /** Forgets held events and fills: after a reconnect, `Sync` resends everything after the
   * cursors, and the old connection's fills will never be answered. */
  resetGaps(): void {
    for (const c of this.chats.values()) c.gap = null;
  }

  /** Takes one pushed event; appends what the app may now see to `out`, in order. */
  onEvent(ev: ChatEvent, out: ChatEvent[]): Fill | null {
    const chat = this.chat(ev.chatId);
    chat.take(ev, out);
    return chat.nextFill(ev.chatId);
  }

  /** Takes the answer to a fill (events ascending). */
  onFill(chatId: bigint, events: readonly ChatEvent[], out: ChatEvent[]): Fill | null {
    const chat = this.chat(chatId);
    let askedFrom: bigint | null = null;
    if (chat.gap) {
      askedFrom = chat.gap.fetching;
      chat.gap.fetching = null;
    }
    for (const ev of events) if (ev.chatId === chatId) chat.take(ev, out);
    if (askedFrom !== null && askedFrom === chat.seq) {
      // Nothing arrived for the hole the fill asked about: the server has nothing there (e.g.
      // events from before the user joined). Accept the hole rather than ask forever. (If live
      // events closed it meanwhile, the cursor has moved on.)
      chat.skipHole(out);
    } else {
      chat.releaseHeld(out);
    }
    return chat.nextFill(chatId);
  }

  /** A fill failed (error reply): the hole is accepted, as for an empty answer. */
  onFillFailed(chatId: bigint, out: ChatEvent[]): Fill | null {
    return this.onFill(chatId, [], out);
  }
}

function byFirst(a: readonly [bigint, bigint], b: readonly [bigint, bigint]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
