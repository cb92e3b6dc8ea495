// What a message bubble shows besides its sender and time: "forwarded from", the quote of a
// reply (a button that jumps to the original), the text with mentions and links, a place or a
// contact card, the tombstone of a deleted message, "edited" (opens the versions) and the
// reaction chips. Plain rendering from the row; actions go through the store.
import { useSignal } from '@preact/signals';
import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import type { ChatStore } from '../store/store.js';
import type { MessageRow, PlaceRow, ReactionRow } from '../store/types.js';
import { Linkified } from './linkify.js';
import { stopLive, sharingLive } from './live.js';
import { mentionParts } from './mention-text.js';

/** Text with `@name` of the mentioned users (and `@all`) marked, links clickable. */
export function Rich({ text, names, me }: { text: string; names: string[]; me: string }): JSX.Element {
  return (
    <>
      {mentionParts(text, names).map((p, i) =>
        p.mention ? (
          <mark key={i} class={`mention${p.mention.toLowerCase() === me.toLowerCase() || p.mention.toLowerCase() === 'all' ? ' me' : ''}`}>
            {p.text}
          </mark>
        ) : (
          <Linkified key={i} text={p.text} />
        ),
      )}
    </>
  );
}

/** The names a message's mentions show as (ids the store cannot name yet are left out). */
export function mentionNames(store: ChatStore, m: MessageRow): string[] {
  const names = (m.mentions ?? []).flatMap((id) => (store.users.value.has(id) ? [store.userName(id)] : []));
  return m.mentionAll ? [...names, 'all'] : names;
}

export function mentionsMe(store: ChatStore, m: MessageRow): boolean {
  const me = store.account.value?.userId;
  return m.senderId !== me && (!!m.mentionAll || (!!me && !!m.mentions?.includes(me)));
}

export function osmLink(p: Pick<PlaceRow, 'latitude' | 'longitude'>): string {
  const lat = p.latitude.toFixed(5);
  const lon = p.longitude.toFixed(5);
  return `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`;
}

export const isLive = (p: PlaceRow, now: number): boolean => p.liveUntilMs > now;

const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function Place({ store, m, mine }: { store: ChatStore; m: MessageRow; mine: boolean }): JSX.Element {
  const p = m.place!;
  // Rendered again when a live location's time is up, to say it ended.
  const now = useSignal(Date.now());
  const live = isLive(p, now.value);
  useEffect(() => {
    if (!live) return;
    const t = setTimeout(() => (now.value = Date.now()), Math.min(p.liveUntilMs - Date.now() + 100, 2 ** 31 - 1));
    return () => clearTimeout(t);
  }, [live, p.liveUntilMs]);
  return (
    <div class="place" data-testid="place">
      <span class="place-title">
        <span aria-hidden="true">📍 </span>
        {p.label || (p.liveUntilMs ? 'Live location' : 'Location')}
      </span>
      <span class="coords">
        {p.latitude.toFixed(5)}, {p.longitude.toFixed(5)}
        {p.accuracyM > 0 ? ` (±${Math.round(p.accuracyM)} m)` : ''}
      </span>
      {p.liveUntilMs > 0 && <span class="live-note">{live ? `Live until ${clock(p.liveUntilMs)}` : 'Live location ended'}</span>}
      <span class="row">
        <a href={osmLink(p)} target="_blank" rel="noopener noreferrer">
          Open in OpenStreetMap
        </a>
        {mine && live && m.state === 'sent' && (
          <button type="button" class="small" onClick={() => void stopLive(store, m)}>
            {sharingLive(m) ? 'Stop sharing' : 'End live location'}
          </button>
        )}
      </span>
    </div>
  );
}

function ContactCard({ store, m }: { store: ChatStore; m: MessageRow }): JSX.Element {
  const c = m.contact!;
  return (
    <div class="contact-card" data-testid="contact">
      <span class="contact-name">
        <span aria-hidden="true">👤 </span>
        {c.name}
        {c.userId && store.users.value.has(c.userId) ? <span class="sub"> · @{store.userName(c.userId)}</span> : null}
      </span>
      {c.phones.map((p) => (
        <a key={p} href={`tel:${p.replace(/[^\d+]/gu, '')}`}>
          {p}
        </a>
      ))}
      {c.emails.map((e) => (
        <a key={e} href={`mailto:${e}`}>
          {e}
        </a>
      ))}
    </div>
  );
}

/** The body of one message: everything inside the bubble but the send state. */
export function MessageContent({ store, m, mine, onVersions }: { store: ChatStore; m: MessageRow; mine: boolean; onVersions: () => void }): JSX.Element {
  if (m.deleted) {
    return (
      <span class="text tombstone" data-testid="tombstone">
        This message was deleted
      </span>
    );
  }
  const me = store.account.value?.username ?? '';
  const f = m.forwarded;
  return (
    <div class="content">
      {f && (
        <span class="forwarded" data-testid="forwarded">
          Forwarded from {f.fromTitle || (f.senderId === store.account.value?.userId ? 'you' : store.userName(f.senderId))}
        </span>
      )}
      {m.replyTo && (
        <button
          type="button"
          class={`quote${m.replyTo.deleted ? ' deleted' : ''}`}
          data-testid="quote"
          title={m.replyTo.deleted ? undefined : 'Show the original'}
          disabled={m.replyTo.deleted}
          onClick={() => void store.reveal(m.chatId, m.replyTo!.seq)}
        >
          <span class="sr-only">Reply to </span>
          <span class="quote-who">{m.replyTo.senderId === store.account.value?.userId ? 'You' : store.userName(m.replyTo.senderId)}</span>
          <span class="quote-text">{m.replyTo.deleted ? 'Deleted message' : m.replyTo.preview}</span>
        </button>
      )}
      {m.place && <Place store={store} m={m} mine={mine} />}
      {m.contact && <ContactCard store={store} m={m} />}
      {m.content && (
        <span class="text">
          <Rich text={m.content} names={mentionNames(store, m)} me={me} />
        </span>
      )}
      {m.editedMs ? (
        <button type="button" class="edited" onClick={onVersions} title={`Edited ${new Date(m.editedMs).toLocaleString()}`}>
          edited
        </button>
      ) : null}
    </div>
  );
}

/** Reaction chips: the count of each, highlighted when mine; a click toggles mine. Who reacted
 * shows on hover or focus (fetched then). */
export function Reactions({ store, m, onError }: { store: ChatStore; m: MessageRow; onError: (e: unknown) => void }): JSX.Element | null {
  const list = m.reactions ?? [];
  if (list.length === 0 || m.deleted) return null;
  const who = async (el: HTMLElement, r: ReactionRow) => {
    if (el.dataset.who) return;
    el.dataset.who = '1';
    try {
      const users = await store.whoReacted(m.chatId, m.seq, r.emoji);
      const me = store.account.value?.userId;
      el.title = users.map((u) => (u.userId === me ? 'You' : store.userName(u.userId))).join(', ');
    } catch {
      delete el.dataset.who;
    }
  };
  return (
    <div class="reactions" role="group" aria-label="Reactions">
      {list.map((r) => (
        <button
          key={r.emoji}
          type="button"
          class={`chip${r.mine ? ' mine' : ''}`}
          aria-pressed={r.mine}
          aria-label={`${r.emoji} ${r.count}${r.mine ? ', yours: remove' : ': add yours'}`}
          data-emoji={r.emoji}
          onPointerEnter={(e) => void who(e.currentTarget as HTMLElement, r)}
          onFocus={(e) => void who(e.currentTarget as HTMLElement, r)}
          onClick={() => store.react(m.chatId, m.seq, r.emoji, !r.mine).catch(onError)}
        >
          <span aria-hidden="true">{r.emoji}</span> <span class="n" aria-hidden="true">{r.count}</span>
        </button>
      ))}
    </div>
  );
}
