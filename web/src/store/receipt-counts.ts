// Read counts of large chats (PROTOCOL.md §6.15): above 256 members the engine keeps no per-member
// receipt lists for others to see; the people who post get `ReceiptCounts` for the chat's newest
// message instead, and `GetReceipts` answers with counts only. Both count every member whose
// cursor reached the message, the one who posted included, so a sender's own view takes itself
// out. Pure functions: the store keeps the rows, the UI words them.

/** Chats with more members than this get counts, not lists (§6.15). */
export const LARGE_CHAT_MEMBERS = 256;

/** One message's counts, over all members (as the engine sends them). */
export interface CountsRow {
  seq: number;
  delivered: number;
  read: number;
  members: number;
}

export function isLargeChat(c: { memberCount: number }): boolean {
  return c.memberCount > LARGE_CHAT_MEMBERS;
}

/** The same counts over the members other than the viewer: the viewer is in them when their own
 * cursors reached the message (their read only when it counts, i.e. read receipts on). */
export function othersCounts(k: CountsRow, self: { delivered: boolean; read: boolean }): CountsRow {
  return {
    seq: k.seq,
    delivered: Math.max(0, k.delivered - (self.delivered ? 1 : 0)),
    read: Math.max(0, k.read - (self.read ? 1 : 0)),
    members: Math.max(0, k.members - 1),
  };
}

/** "Seen by 3 · delivered to 12 of 300" (with read receipts off only the delivered part: this
 * user sees nobody's reads). */
export function countsText(k: CountsRow, readReceipts: boolean): string {
  const delivered = `delivered to ${k.delivered} of ${k.members}`;
  return readReceipts ? `Seen by ${k.read} · ${delivered}` : `D${delivered.slice(1)}`;
}
