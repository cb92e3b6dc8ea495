// Message text with http(s) links made clickable. Everything is rendered as text nodes and
// anchors built by Preact (never innerHTML); only http: and https: URLs become links.
import type { JSX } from 'preact';

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/giu;
const TRAILING = /[.,;:!?)\]}]+$/u;

export function safeHref(raw: string): string | null {
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

export type Part = { text: string; href?: string };

/** Splits text into plain runs and links (trailing punctuation stays outside the link). */
export function linkParts(text: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0];
    const trail = TRAILING.exec(url);
    if (trail) url = url.slice(0, -trail[0].length);
    const start = m.index ?? 0;
    const href = safeHref(url);
    if (!href) continue;
    if (start > last) parts.push({ text: text.slice(last, start) });
    parts.push({ text: url, href });
    last = start + url.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

export function Linkified({ text }: { text: string }): JSX.Element {
  return (
    <>
      {linkParts(text).map((p, i) =>
        p.href ? (
          <a href={p.href} target="_blank" rel="noopener noreferrer" key={i}>
            {p.text}
          </a>
        ) : (
          p.text
        ),
      )}
    </>
  );
}
