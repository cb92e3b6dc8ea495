// `@name` in message text: which members a text mentions (what the composer sends as
// `mentions`), and where the mentions are (what a bubble marks). One pattern for both, so what
// is sent as a mention is what shows as one.
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');

/** `@name` not inside a word or an address, and not the start of a longer name. */
function pattern(names: string[], flags: string): RegExp {
  return new RegExp(`(^|[^\\w@])@(${names.map(escape).join('|')})(?![\\w.-]*\\w)`, flags);
}

/** Who a text mentions: the members whose `@name` it has, and `@all` (groups only). */
export function mentionsIn(text: string, members: Array<[string, string]>, group: boolean): { mentions: string[]; mentionAll: boolean } {
  const has = (name: string) => pattern([name], 'iu').test(text);
  return { mentions: members.filter(([, name]) => has(name)).map(([id]) => id), mentionAll: group && has('all') };
}

export type MentionPart = { text: string; mention?: string };

/** Splits text into plain runs and the mentions of `names` (the name as written). */
export function mentionParts(text: string, names: string[]): MentionPart[] {
  if (names.length === 0) return [{ text }];
  const parts: MentionPart[] = [];
  let last = 0;
  for (const m of text.matchAll(pattern(names, 'giu'))) {
    const start = (m.index ?? 0) + m[1]!.length;
    if (start > last) parts.push({ text: text.slice(last, start) });
    parts.push({ text: `@${m[2]}`, mention: m[2]! });
    last = start + 1 + m[2]!.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}
