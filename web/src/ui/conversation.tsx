// One conversation: header, pinned messages, the virtualized message list (only the rows in
// view are in the DOM, so 100,000 messages cost what 30 do), history loaded as you scroll up (or
// up to a quoted message), and the composer.
import { useSignal } from '@preact/signals';
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef } from 'preact/hooks';
import { previewOf } from '../store/message-rows.js';
import { countsText, isLargeChat } from '../store/receipt-counts.js';
import { canPost, firstUnread, isAdmin, presenceText, tickOf, type ChatStore } from '../store/store.js';
import type { ChatRow, MessageRow, Tick } from '../store/types.js';
import { describe, initials } from './app.js';
import { Composer } from './composer.js';
import { Icon } from './icons.js';
import { MessageContent, mentionsMe, Reactions } from './message.js';
import { MenuButton, MessageDialog, MessageMenuLayer, newConvUi, openMenu, type ConvUi } from './message-menu.js';
import { lastSeenIndex, seenSeq } from './seen.js';
import { nameList } from './names.js';

const ESTIMATE = 56;
const OVERSCAN = 800;
/** Room above the unread divider when a chat opens there. */
const DIVIDER_MARGIN = 8;
const GROUP_GAP_MS = 5 * 60_000;

type Props = {
  store: ChatStore;
  chatId: string;
  onBack: () => void;
  onToggleList: () => void;
  listOpen: boolean;
  onDetails: () => void;
};

export function Conversation({ store, chatId, onBack, onToggleList, listOpen, onDetails }: Props): JSX.Element {
  const chat = store.chats.value.get(chatId);
  // Deleted for me: gone from this list (a tombstone stays for "deleted for everyone").
  const all = store.messages(chatId).value;
  const rows = useMemo(() => all.filter((r) => !r.hidden), [all]);
  const ui = useMemo(newConvUi, [chatId]);
  const name = chat ? store.chatName(chat) : '';
  const count = chat ? Math.max(chat.memberCount, chat.kind === 'channel' ? 0 : chat.members.length) : 0;
  // Groups and channels: how many of their members are connected (a snapshot, refreshed).
  const online = chat && chat.kind !== 'direct' ? store.chatOnline.value.get(chat.id) : undefined;
  const onlineText = online ? `, ${online.online} online` : '';
  const sub =
    chat?.kind === 'channel'
      ? `Channel · ${count} ${count === 1 ? 'subscriber' : 'subscribers'}${onlineText}`
      : chat?.kind === 'group'
        ? `${count} ${count === 1 ? 'member' : 'members'}${onlineText}`
        : presenceText(store.presence.value.get(peerOf(store, chat) ?? ''), Date.now()) || 'Direct chat';
  const pending = chat && isAdmin(chat) ? chat.pendingRequests : 0;
  return (
    <section class="conversation" aria-labelledby="conv-title">
      <header class="pane-head conv-head">
        <button type="button" class="icon-btn back" onClick={onBack} aria-label="Back to chats">
          <Icon name="back" />
        </button>
        <button type="button" class="icon-btn toggle-list" onClick={onToggleList} aria-label="Chat list" aria-expanded={listOpen}>
          <Icon name="menu" />
        </button>
        <span class="avatar" aria-hidden="true">
          {initials(name)}
        </span>
        <div class="conv-title">
          <h2 id="conv-title">{name}</h2>
          <span class="sub" data-testid="conv-sub">
            {sub}
            {chat?.handle ? ` · @${chat.handle}` : ''}
          </span>
        </div>
        {pending > 0 && (
          <button type="button" class="small pending-btn" onClick={onDetails} data-testid="pending-requests">
            {pending} {pending === 1 ? 'join request' : 'join requests'}
          </button>
        )}
        <button type="button" class="icon-btn details-btn" onClick={onDetails} aria-label="Chat details">
          <Icon name="info" />
        </button>
      </header>
      {chat && <PinnedBar store={store} chat={chat} ui={ui} />}
      <MessageList store={store} chatId={chatId} rows={rows} ui={ui} chat={chat} />
      {chat && <TypingLine store={store} chat={chat} />}
      {chat && <MessageMenuLayer store={store} ui={ui} chat={chat} />}
      {chat && <MessageDialog store={store} ui={ui} chat={chat} />}
      {chat?.left ? (
        <p class="left-note">You are no longer a member of this chat.</p>
      ) : chat && !canPost(chat) ? (
        <p class="left-note" data-testid="read-only">
          {chat.kind === 'channel' ? 'Only admins post in this channel.' : 'Only admins can send messages in this group.'}
        </p>
      ) : (
        chat && <Composer key={chatId} store={store} chat={chat} rows={rows} ui={ui} />
      )}
    </section>
  );
}

/** The other member of a direct chat. */
function peerOf(store: ChatStore, chat: ChatRow | undefined): string | undefined {
  const me = store.account.value?.userId;
  return chat?.kind === 'direct' ? chat.members.find((m) => m !== me) : undefined;
}

/** "alice is typing…": whoever typed in this chat in the last 3 s (the store expires them). */
function TypingLine({ store, chat }: { store: ChatStore; chat: ChatRow }): JSX.Element {
  const who = [...(store.typing.value.get(chat.id) ?? new Map()).entries()];
  let text = '';
  if (who.length === 1) {
    const [id, t] = who[0]!;
    text = `${store.userName(id)} is ${t.kind === 'recordingVoice' ? 'recording a voice message' : 'typing'}…`;
  } else if (who.length === 2) text = `${store.userName(who[0]![0])} and ${store.userName(who[1]![0])} are typing…`;
  else if (who.length > 2) text = `${who.length} people are typing…`;
  return (
    <p class="typing" data-testid="typing" aria-live="polite">
      {text}
    </p>
  );
}

const keyOf = (m: MessageRow): string => (m.clientMsgId ? `c${m.clientMsgId}` : `s${m.seq}`);
const dayOf = (ms: number): string => new Date(ms).toDateString();

function dayLabel(ms: number): string {
  const d = new Date(ms);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86_400_000);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return d.toLocaleDateString([], { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

/** The chat's latest pinned message (a click shows it) and the way to all of them. */
function PinnedBar({ store, chat, ui }: { store: ChatStore; chat: ChatRow; ui: ConvUi }): JSX.Element | null {
  const pins = store.pins(chat.id).value;
  const top = pins[0];
  if (!top) return null;
  return (
    <div class="pinned-bar" data-testid="pinned-bar">
      <Icon name="pin" />
      <button type="button" class="link pinned-text" onClick={() => void store.reveal(chat.id, top.seq)} aria-label={`Pinned message: ${previewOf(top)}. Show it`}>
        {previewOf(top)}
      </button>
      <button type="button" class="small" onClick={() => (ui.dialog.value = { kind: 'pins' })}>
        {pins.length === 1 ? '1 pinned' : `${pins.length} pinned`}
      </button>
    </div>
  );
}

function MessageList({ store, chatId, rows, ui, chat }: { store: ChatStore; chatId: string; rows: MessageRow[]; ui: ConvUi; chat: ChatRow | undefined }): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const inner = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<string, number>());
  const version = useSignal(0);
  const scrollTop = useSignal(0);
  const viewport = useSignal(600);
  const atBottom = useRef(true);
  const anchor = useRef<{ key: string; rel: number } | null>(null);
  const showJump = useSignal(false);
  const highlight = useSignal<number | null>(null);
  const lastSent = useRef('');
  const me = store.account.value?.userId;
  const mark = store.unreadMark.value.get(chatId);
  const divider = mark === undefined ? undefined : firstUnread(rows, mark, me);
  const dividerIndex = divider ? rows.indexOf(divider) : -1;
  // Opened with unread messages: the list starts at the divider, not at the newest, and reports
  // nothing seen until it is placed there (the read cursor would otherwise cover them).
  const placing = useRef(mark !== undefined);
  if (placing.current) atBottom.current = false;
  const loadingMark = useRef(false);
  // Read when seen: whatever the view shows once the page is visible again.
  const seenNow = useRef(() => {});
  useEffect(() => {
    const onVisible = () => document.visibilityState === 'visible' && seenNow.current();
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [chatId]);
  // Read here so that a new focus (a quote or a mention clicked) renders the list again.
  const focus = store.focus.value;

  const offsets = useMemo(() => {
    const o = new Float64Array(rows.length + 1);
    const h = heights.current;
    for (let i = 0; i < rows.length; i++) o[i + 1] = o[i]! + (h.get(keyOf(rows[i]!)) ?? ESTIMATE);
    return o;
  }, [rows, version.value]);
  const total = offsets[rows.length]!;

  const find = (y: number): number => {
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (offsets[mid + 1]! <= y) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const start = Math.max(0, find(scrollTop.value - OVERSCAN));
  const end = Math.min(rows.length, find(scrollTop.value + viewport.value + OVERSCAN) + 1);

  /** The newest row in view is seen: the read cursor may move up to it (the store coalesces the
   * receipts, and ignores this while the page is hidden). */
  const reportSeen = () => {
    const el = box.current;
    if (!el || placing.current) return;
    const last = lastSeenIndex(offsets, rows.length, el.scrollTop, el.clientHeight);
    // Only true heights count: a row in view still at its estimate (just scrolled to, not yet
    // rendered) could put rows in view that are not; the render that measures it reports again.
    for (let i = find(el.scrollTop); i <= Math.min(rows.length - 1, last + 1); i++) if (!heights.current.has(keyOf(rows[i]!))) return;
    const seq = seenSeq(rows, last);
    if (seq > 0) store.markSeen(chatId, seq);
  };
  seenNow.current = reportSeen;

  /** Where an unread chat opens: its divider near the top, once the rows reach back to it
   * (loading history if need be); the newest if no unread message is left to show. */
  const place = () => {
    if (mark === undefined || !rows.some((r) => r.state === 'sent')) return;
    if (!store.reachesMark(chatId, mark)) {
      if (!loadingMark.current) {
        loadingMark.current = true;
        void store.loadToFirstUnread(chatId).finally(() => (loadingMark.current = false));
      }
      return;
    }
    placing.current = false;
    if (divider) anchor.current = { key: keyOf(divider), rel: -DIVIDER_MARGIN };
    else atBottom.current = true;
  };

  // After each render: measure the rows in view, then keep the reader's place (the bottom, or
  // the first row in view) even as rows above are measured or older history is prepended.
  useLayoutEffect(() => {
    const el = box.current;
    const list = inner.current;
    if (!el || !list) return;
    let changed = false;
    for (const child of Array.from(list.children) as HTMLElement[]) {
      const k = child.dataset.key;
      if (!k) continue;
      const h = child.offsetHeight;
      if (h > 0 && heights.current.get(k) !== h) {
        heights.current.set(k, h);
        changed = true;
      }
    }
    if (changed) {
      version.value++;
      return;
    }
    if (placing.current) place();
    // A quote or a mention was clicked: put that message a third of the way down and mark it.
    const f = focus;
    if (f && f.chatId === chatId) {
      const i = rows.findIndex((r) => r.seq === f.seq && r.state === 'sent');
      if (i >= 0) {
        store.focus.value = null;
        atBottom.current = false;
        anchor.current = { key: keyOf(rows[i]!), rel: -Math.round(el.clientHeight / 3) };
        highlight.value = f.seq;
        setTimeout(() => highlight.value === f.seq && (highlight.value = null), 2500);
      }
    }
    // One's own new message: back to the bottom to show it.
    const last = rows[rows.length - 1];
    if (last && last.state === 'sending' && keyOf(last) !== lastSent.current) {
      lastSent.current = keyOf(last);
      atBottom.current = true;
    }
    if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    } else if (anchor.current) {
      const i = rows.findIndex((r) => keyOf(r) === anchor.current!.key);
      if (i >= 0) {
        const want = Math.max(0, offsets[i]! + anchor.current.rel);
        if (Math.abs(el.scrollTop - want) > 1) el.scrollTop = want;
      }
    }
    scrollTop.value = el.scrollTop;
    viewport.value = el.clientHeight;
    // New rows at the bottom, rows measured, a place kept: what is in view now is seen.
    reportSeen();
  });

  const onScroll = () => {
    const el = box.current!;
    if (ui.menu.value && Math.abs(el.scrollTop - scrollTop.value) > 4) ui.menu.value = null;
    scrollTop.value = el.scrollTop;
    viewport.value = el.clientHeight;
    const fromBottom = el.scrollHeight - el.scrollTop - el.clientHeight;
    if (!placing.current) atBottom.current = fromBottom < 40;
    store.following = atBottom.current;
    // Far from the newest, or unread messages below the view (opened at the divider).
    showJump.value = fromBottom > 600 || (fromBottom >= 40 && (chat?.unread ?? 0) > 0);
    const i = find(el.scrollTop);
    const r = rows[i];
    anchor.current = r ? { key: keyOf(r), rel: el.scrollTop - offsets[i]! } : null;
    if (el.scrollTop < 600 && store.hasOlder(chatId)) void store.loadOlder(chatId);
    reportSeen();
  };
  // The first unread message is above the view (or not loaded yet): a button goes back to it.
  const unreadAbove =
    mark !== undefined && !placing.current && (dividerIndex < 0 ? rows.some((r) => r.state === 'sent') && !store.reachesMark(chatId, mark) : offsets[dividerIndex]! < scrollTop.value - 1);
  const jumpUnread = () => void store.revealFirstUnread(chatId);

  const jump = () => {
    const el = box.current!;
    atBottom.current = true;
    showJump.value = false;
    el.scrollTop = el.scrollHeight;
    scrollTop.value = Math.max(0, total - el.clientHeight);
  };

  const items: JSX.Element[] = [];
  for (let i = start; i < end; i++) {
    const m = rows[i]!;
    const prev = rows[i - 1];
    const newDay = !prev || dayOf(prev.timeMs) !== dayOf(m.timeMs);
    // The first unread message starts a group of its own: who and when, right under the divider.
    const head = newDay || !prev || prev.senderId !== m.senderId || !!prev.notice || m.timeMs - prev.timeMs > GROUP_GAP_MS || i === dividerIndex;
    items.push(<Row key={keyOf(m)} k={keyOf(m)} m={m} store={store} mine={m.senderId === me} newDay={newDay} head={head} ui={ui} chat={chat} focused={highlight.value === m.seq} unreadDivider={i === dividerIndex} />);
  }
  return (
    <div class="messages-wrap">
      <div class="messages" ref={box} onScroll={onScroll} role="log" aria-label="Messages" aria-live="polite" tabIndex={0} data-testid="messages">
        <div class="messages-space" style={{ height: `${total}px` }}>
          {rows.length === 0 && <p class="none">No messages yet. Say hello!</p>}
          <div class="messages-inner" ref={inner} style={{ transform: `translateY(${offsets[start]}px)` }}>
            {items}
          </div>
        </div>
      </div>
      {unreadAbove && (
        <button type="button" class="jump jump-unread" onClick={jumpUnread} data-testid="jump-unread">
          Jump to first unread <Icon name="back" />
        </button>
      )}
      {showJump.value && (
        <button type="button" class="jump" onClick={jump} data-testid="jump">
          Jump to latest <Icon name="down" />
        </button>
      )}
    </div>
  );
}

const LONG_PRESS_MS = 500;

type RowProps = { k: string; m: MessageRow; store: ChatStore; mine: boolean; newDay: boolean; head: boolean; ui: ConvUi; chat: ChatRow | undefined; focused: boolean; unreadDivider: boolean };

const TICK_LABEL: Record<Tick, string> = { sent: 'sent', delivered: 'delivered', read: 'read' };

function Row({ k, m, store, mine, newDay, head, ui, chat, focused, unreadDivider }: RowProps): JSX.Element {
  const tick = mine && chat ? tickOf(chat, m) : null;
  const time = new Date(m.timeMs);
  const sender = mine ? 'You' : store.userName(m.senderId);
  // Sending while offline: the outbox retries it on reconnect.
  const waiting = m.state === 'sending' && store.connection.value !== 'live';
  const press = useRef<ReturnType<typeof setTimeout> | null>(null);
  const endPress = () => {
    if (press.current) clearTimeout(press.current);
    press.current = null;
  };
  return (
    <div class="row-wrap" data-key={k}>
      {newDay && (
        <div class="day" role="separator">
          <span>{dayLabel(m.timeMs)}</span>
        </div>
      )}
      {unreadDivider && (
        <div class="unread-divider" role="separator" data-testid="unread-divider">
          <span>Unread messages</span>
        </div>
      )}
      {m.notice ? (
        <p class="system">{systemText(store, m, sender)}</p>
      ) : (
        <div
          class={`msg${mine ? ' mine' : ''}${head ? ' head' : ''}${mentionsMe(store, m) ? ' mentioned' : ''}${focused ? ' focused' : ''}${m.pinned ? ' pinned' : ''}`}
          data-state={m.state}
          data-seq={m.state === 'sent' ? m.seq : undefined}
          onContextMenu={(e) => {
            if ((e.target as HTMLElement).closest('a') || m.state !== 'sent') return;
            e.preventDefault();
            openMenu(ui, m, e.currentTarget as HTMLElement, { x: e.clientX, y: e.clientY });
          }}
          onTouchStart={(e) => {
            endPress();
            const el = e.currentTarget as HTMLElement;
            press.current = setTimeout(() => openMenu(ui, m, el), LONG_PRESS_MS);
          }}
          onTouchEnd={endPress}
          onTouchMove={endPress}
        >
          {head && (
            <div class="msg-meta">
              <span class="sender">{sender}</span>
              <time dateTime={time.toISOString()}>{time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</time>
            </div>
          )}
          <div class="bubble">
            {m.pinned && (
              <span class="pin-mark" title="Pinned">
                <Icon name="pin" />
                <span class="sr-only">pinned</span>
              </span>
            )}
            <MessageContent store={store} m={m} mine={mine} onVersions={() => (ui.dialog.value = { kind: 'versions', row: m })} />
            {/* Sending, sent, failed: a state of one's own messages only (others' arrived). */}
            {mine && (
              <span class={`state${tick === 'read' ? ' read' : ''}`} title={waiting ? 'Will be sent when back online' : tick ? TICK_LABEL[tick] : m.state} data-testid="tick" data-tick={tick ?? m.state}>
                {m.state === 'sent' ? (tick === 'delivered' || tick === 'read' ? '✓✓' : '✓') : m.state === 'sending' ? (waiting ? 'queued' : '…') : ''}
                <span class="sr-only">{m.state === 'sent' ? (tick ? TICK_LABEL[tick] : 'sent') : m.state === 'sending' ? (waiting ? 'queued, retrying when online' : 'sending') : 'not sent'}</span>
              </span>
            )}
          </div>
          {chat && m.state === 'sent' && <Reactions store={store} m={m} onError={(e) => (ui.error.value = describe(e))} />}
          {mine && chat && isLargeChat(chat) && <CountsLine store={store} chat={chat} m={m} />}
          {chat && <MenuButton ui={ui} m={m} label={`${sender}, ${previewOf(m) || 'message'}`} />}
          {m.state === 'failed' && (
            <button type="button" class="retry" onClick={() => store.retry(m.chatId, m.clientMsgId)}>
              Not sent — retry
            </button>
          )}
        </div>
      )}
    </div>
  );
}

/** Large chats: under one's own newest message, how many have it and have seen it (the counts
 * the engine pushes about once a second while they change). */
function CountsLine({ store, chat, m }: { store: ChatStore; chat: ChatRow; m: MessageRow }): JSX.Element | null {
  const k = store.receiptCounts.value.get(chat.id);
  if (!k || m.state !== 'sent' || k.seq !== m.seq) return null;
  return (
    <p class="receipt-counts" data-testid="receipt-counts">
      {countsText(store.othersOf(chat.id, k), store.privacy.value?.readReceipts ?? true)}
    </p>
  );
}

/** A system line: `{sender}` and `{subjects}` filled in with names (older rows: sender, text, subjects). */
export function systemText(store: ChatStore, m: MessageRow, sender: string): string {
  const me = store.account.value?.userId;
  const subjects = nameList((m.subjects ?? []).map((s) => (s === me ? 'you' : store.userName(s))));
  const text = m.notice ?? '';
  if (!text.includes('{')) return `${sender} ${text}${subjects ? ` ${subjects}` : ''}`;
  const who = sender === 'You' && !text.startsWith('{sender}') ? 'you' : sender;
  const out = text.replace('{sender}', who).replace('{subjects}', subjects);
  // Names stay as written; only a leading "you" is capitalised.
  return out.startsWith('you ') ? `Y${out.slice(1)}` : out;
}
