// A message's actions: the menu (a button on hover or focus, the context menu, a long press)
// with Reply, React, Forward, Edit, Pin, Versions, Reactions, Delete; and the dialogs behind
// them. Which actions a message offers follows PROTOCOL.md §6.13 and the chat's settings.
import { signal, useSignal, type Signal } from '@preact/signals';
import { errorCodeName } from '@magpie/client';
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { previewOf } from '../store/message-rows.js';
import { allowed, canPost, isAdmin, type ChatStore } from '../store/store.js';
import type { ChatRow, MessageRow } from '../store/types.js';
import { describe, Modal } from './app.js';
import { QUICK_EMOJI, EmojiGrid } from './emoji.js';

/** What the composer is doing with a message: replying to it or editing it. */
export type Draft = { mode: 'reply' | 'edit'; row: MessageRow } | null;

export type Dialog =
  | { kind: 'forward' | 'versions' | 'reactions' | 'delete' | 'react' | 'receipts'; row: MessageRow }
  | { kind: 'pins' }
  | null;

/** The conversation's shared UI state (created once per conversation view). */
export interface ConvUi {
  draft: Signal<Draft>;
  dialog: Signal<Dialog>;
  /** The open message menu: its message, what it opened from (focus returns there) and where
   * (viewport px: the anchor's middle, top and bottom, or a pointer). */
  menu: Signal<{ row: MessageRow; anchor: HTMLElement; x: number; top: number; bottom: number } | null>;
  error: Signal<string>;
}

export function newConvUi(): ConvUi {
  return { draft: signal(null), dialog: signal(null), menu: signal(null), error: signal('') };
}

export const canEdit = (m: MessageRow, me: string | undefined): boolean =>
  m.senderId === me && m.state === 'sent' && !m.deleted && !m.forwarded && !m.contact && !m.notice;

export function canDeleteForAll(c: ChatRow, m: MessageRow, me: string | undefined): boolean {
  return !m.deleted && (m.senderId === me || (c.kind !== 'direct' && isAdmin(c)));
}

export const canPin = (c: ChatRow): boolean => !c.left && (c.kind === 'direct' || allowed(c, c.settings.pin));

interface Item {
  label: string;
  run: () => void | Promise<void>;
}

function items(store: ChatStore, ui: ConvUi, c: ChatRow, m: MessageRow): Item[] {
  const me = store.account.value?.userId;
  const out: Item[] = [];
  if (m.state !== 'sent') return out;
  const open = (kind: 'forward' | 'versions' | 'reactions' | 'delete' | 'react' | 'receipts') => () => void (ui.dialog.value = { kind, row: m });
  if (!m.deleted) {
    if (canPost(c)) out.push({ label: 'Reply', run: () => void (ui.draft.value = { mode: 'reply', row: m }) });
    if (!c.left) out.push({ label: 'React', run: open('react') });
    if (c.kind === 'direct' || c.settings.forwarding) out.push({ label: 'Forward', run: open('forward') });
    if (canEdit(m, me)) out.push({ label: 'Edit', run: () => void (ui.draft.value = { mode: 'edit', row: m }) });
    if (canPin(c)) out.push({ label: m.pinned ? 'Unpin' : 'Pin', run: () => store.pinMessage(c.id, m.seq, !m.pinned) });
    if (m.editedMs) out.push({ label: 'Versions', run: open('versions') });
    if (m.reactions?.length) out.push({ label: 'Who reacted', run: open('reactions') });
    // Groups and channels: who has one's own message (direct chats show it as ticks).
    if (m.senderId === me && c.kind !== 'direct' && !m.notice) out.push({ label: 'Read by', run: open('receipts') });
  }
  out.push({ label: 'Delete', run: open('delete') });
  return out;
}

/** The ⋯ button of a message; the menu itself is drawn by `MessageMenuLayer`. */
export function MenuButton({ ui, m, label }: { ui: ConvUi; m: MessageRow; label: string }): JSX.Element | null {
  if (m.state !== 'sent') return null;
  const open = ui.menu.value?.row.seq === m.seq;
  return (
    <span class={`msg-menu${open ? ' open' : ''}`}>
      <button
        type="button"
        class="icon-btn menu-btn"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label={`Message options: ${label}`}
        onClick={(e) => (open ? (ui.menu.value = null) : openMenu(ui, m, e.currentTarget as HTMLElement))}
      >
        <svg class="icon" viewBox="0 0 24 24" width={18} height={18} aria-hidden="true" focusable="false">
          <path d="M5.5 12h.5M11.5 12h.5M17.5 12h.5" fill="none" stroke="currentColor" stroke-width={3} stroke-linecap="round" />
        </svg>
      </button>
    </span>
  );
}

/** Opens a message's menu by `anchor` (its button or the message), or at a pointer. */
export function openMenu(ui: ConvUi, m: MessageRow, anchor: HTMLElement, at?: { x: number; y: number }): void {
  if (m.state !== 'sent') return;
  const r = anchor.getBoundingClientRect();
  ui.menu.value = { row: m, anchor, x: at?.x ?? r.left + r.width / 2, top: at?.y ?? r.top, bottom: at?.y ?? r.bottom };
}

/**
 * The open message menu, drawn over the list (not inside it: the list scrolls and its rows are
 * transformed, so a menu there would move and clip). It opens below its anchor, or above it in
 * the lower half of the window; scrolling the list closes it, as a native menu would.
 */
export function MessageMenuLayer({ store, ui, chat }: { store: ChatStore; ui: ConvUi; chat: ChatRow }): JSX.Element | null {
  const menu = useRef<HTMLUListElement>(null);
  const state = ui.menu.value;
  useEffect(() => {
    if (!state) return;
    menu.current?.querySelector<HTMLElement>('[role^=menuitem]')?.focus();
    const away = (e: PointerEvent) => {
      const t = e.target as Node;
      if (!menu.current?.contains(t) && !state.anchor.contains(t)) ui.menu.value = null;
    };
    document.addEventListener('pointerdown', away);
    return () => document.removeEventListener('pointerdown', away);
  }, [state]);
  if (!state) return null;
  // The row as it is now (reactions or a pin may have changed since the menu opened).
  const m = store.messages(chat.id).value.find((r) => r.seq === state.row.seq && r.state === 'sent') ?? state.row;
  const list = items(store, ui, chat, m);
  const close = (refocus: boolean) => {
    ui.menu.value = null;
    if (refocus) state.anchor.focus();
  };
  const run = (it: Item) => {
    close(false);
    ui.error.value = '';
    Promise.resolve(it.run()).catch((err) => (ui.error.value = describe(err)));
  };
  const onKey = (e: KeyboardEvent) => {
    const all = Array.from(menu.current?.querySelectorAll<HTMLElement>('[role^=menuitem]') ?? []);
    const i = all.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') (e.preventDefault(), all[(i + 1) % all.length]?.focus());
    else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') (e.preventDefault(), all[(i - 1 + all.length) % all.length]?.focus());
    else if (e.key === 'Escape' || e.key === 'Tab') (e.preventDefault(), e.stopPropagation(), close(true));
  };
  const up = state.top > window.innerHeight / 2;
  const width = 220;
  const left = Math.max(8, Math.min(state.x - width / 2, window.innerWidth - width - 8));
  const style = up ? { left: `${left}px`, top: 'auto', bottom: `${window.innerHeight - state.top + 4}px` } : { left: `${left}px`, top: `${state.bottom + 4}px` };
  return (
    <ul class="menu msg-menu-list" role="menu" aria-label="Message options" ref={menu} onKeyDown={onKey} style={style}>
      {!m.deleted && !chat.left && (
        <li class="quick" role="none">
          {QUICK_EMOJI.slice(0, 6).map((e) => {
            const mine = !!m.reactions?.find((r) => r.emoji === e && r.mine);
            return (
              <button key={e} type="button" role="menuitemcheckbox" tabIndex={-1} class={mine ? 'mine' : ''} aria-label={`React ${e}`} aria-checked={mine} onClick={() => run({ label: e, run: () => store.react(chat.id, m.seq, e, !mine) })}>
                {e}
              </button>
            );
          })}
        </li>
      )}
      {list.map((it) => (
        <li key={it.label} role="menuitem" tabIndex={-1} onClick={() => run(it)} onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), run(it))}>
          {it.label}
        </li>
      ))}
    </ul>
  );
}

/** Whichever dialog the conversation has open. */
export function MessageDialog({ store, ui, chat }: { store: ChatStore; ui: ConvUi; chat: ChatRow }): JSX.Element | null {
  const d = ui.dialog.value;
  if (!d) return null;
  const close = () => (ui.dialog.value = null);
  switch (d.kind) {
    case 'forward':
      return <ForwardDialog store={store} row={d.row} onClose={close} />;
    case 'versions':
      return <VersionsDialog store={store} row={d.row} onClose={close} />;
    case 'reactions':
      return <ReactorsDialog store={store} row={d.row} onClose={close} />;
    case 'delete':
      return <DeleteDialog store={store} chat={chat} row={d.row} onClose={close} />;
    case 'react':
      return <ReactDialog store={store} row={d.row} onClose={close} />;
    case 'receipts':
      return <ReceiptsDialog store={store} row={d.row} onClose={close} />;
    case 'pins':
      return <PinsDialog store={store} chat={chat} onClose={close} />;
  }
}

function ErrorLine({ text }: { text: string }): JSX.Element {
  return text ? (
    <p class="error" role="alert">
      {text}
    </p>
  ) : (
    <></>
  );
}

function ForwardDialog({ store, row, onClose }: { store: ChatStore; row: MessageRow; onClose: () => void }): JSX.Element {
  const q = useSignal('');
  const picked = useSignal<Set<string>>(new Set());
  const error = useSignal('');
  const busy = useSignal(false);
  const chats = store.chatList.value.filter((c) => canPost(c) && store.chatName(c).toLowerCase().includes(q.value.trim().toLowerCase()));
  const toggle = (id: string) => {
    const next = new Set(picked.value);
    if (!next.delete(id)) next.add(id);
    picked.value = next;
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    busy.value = true;
    error.value = '';
    try {
      const ack = await store.forward(row.chatId, row.seq, [...picked.value]);
      const failed = ack.results.filter((r) => r.errorCode !== 0);
      if (failed.length === 0) return onClose();
      const name = (id: string) => {
        const c = store.chats.value.get(id);
        return c ? store.chatName(c) : `chat ${id}`;
      };
      error.value = failed.map((r) => `${name(r.chatId.toString())}: ${describe({ codeName: errorCodeName(r.errorCode) })}`).join('; ');
    } catch (err) {
      error.value = describe(err);
    } finally {
      busy.value = false;
    }
  };
  return (
    <Modal title="Forward to" onClose={onClose}>
      <form class="stack" onSubmit={submit}>
        <input type="search" aria-label="Search chats" placeholder="Search chats" value={q.value} onInput={(e) => (q.value = (e.currentTarget as HTMLInputElement).value)} />
        <ul class="pick-list" aria-label="Chats to forward to">
          {chats.map((c) => (
            <li key={c.id}>
              <label class="check">
                <input type="checkbox" checked={picked.value.has(c.id)} onChange={() => toggle(c.id)} disabled={!picked.value.has(c.id) && picked.value.size >= 20} />
                {store.chatName(c)}
              </label>
            </li>
          ))}
          {chats.length === 0 && <li class="none">No chat to forward to.</li>}
        </ul>
        <ErrorLine text={error.value} />
        <div class="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy.value || picked.value.size === 0}>
            Forward{picked.value.size > 1 ? ` to ${picked.value.size} chats` : ''}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function useLoad<T>(load: () => Promise<T>): { value: T | null; error: string } {
  const value = useSignal<T | null>(null);
  const error = useSignal('');
  useEffect(() => {
    load().then(
      (v) => (value.value = v),
      (e) => (error.value = describe(e)),
    );
  }, []);
  return { value: value.value, error: error.value };
}

function VersionsDialog({ store, row, onClose }: { store: ChatStore; row: MessageRow; onClose: () => void }): JSX.Element {
  const { value, error } = useLoad(() => store.versions(row.chatId, row.seq));
  return (
    <Modal title="Versions" onClose={onClose}>
      <ol class="versions" data-testid="versions">
        {(value ?? []).map((v, i) => (
          <li key={i}>
            <span class="sub">
              {i === 0 ? 'Original' : `Edit ${i}`} · {new Date(v.timeMs).toLocaleString()}
            </span>
            <span class="version-text">{v.content}</span>
          </li>
        ))}
      </ol>
      <ErrorLine text={error} />
      <div class="row end">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}

function ReactorsDialog({ store, row, onClose }: { store: ChatStore; row: MessageRow; onClose: () => void }): JSX.Element {
  const { value, error } = useLoad(() => store.whoReacted(row.chatId, row.seq));
  const me = store.account.value?.userId;
  return (
    <Modal title="Who reacted" onClose={onClose}>
      <ul class="reactors" data-testid="reactors">
        {(value ?? []).map((u) => (
          <li key={u.userId}>
            <span>{u.userId === me ? 'You' : store.userName(u.userId)}</span> <span aria-label="reactions">{u.emojis.join(' ')}</span>
          </li>
        ))}
      </ul>
      <ErrorLine text={error} />
      <div class="row end">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}

/** "Read by" / "delivered to" one message, from the members' cursors (GetReceipts). */
function ReceiptsDialog({ store, row, onClose }: { store: ChatStore; row: MessageRow; onClose: () => void }): JSX.Element {
  const { value, error } = useLoad(() => store.receipts(row.chatId, row.seq));
  const others = value ? Math.max(0, value.memberCount - 1) : 0;
  const names = (ids: string[]) => ids.map((id) => <li key={id}>{store.userName(id)}</li>);
  return (
    <Modal title="Message info" onClose={onClose}>
      {value ? (
        <div class="receipts" data-testid="receipts">
          <h3>
            Read by {value.readCount} of {others}
          </h3>
          {value.receipts === 'counts' ? (
            // More than 256 members: the engine counts, it does not list (§6.15).
            <p class="sub" data-testid="receipts-counts-note">
              In chats this large only the counts are shown.
            </p>
          ) : (
            <ul data-testid="read-by">{value.readBy.length > 0 ? names(value.readBy) : <li class="none">{value.readCount > 0 ? '' : 'Nobody yet'}</li>}</ul>
          )}
          <h3>
            Delivered to {value.deliveredCount} of {others}
            {value.deliveredTo.length > 0 ? ', not read yet:' : ''}
          </h3>
          {value.receipts === 'listed' && (
            <ul data-testid="delivered-to">{value.deliveredTo.length > 0 ? names(value.deliveredTo) : <li class="none">{value.deliveredCount === 0 ? 'Nobody yet' : 'All of them read it'}</li>}</ul>
          )}
        </div>
      ) : (
        <p>{error ? '' : 'Loading…'}</p>
      )}
      <ErrorLine text={error} />
      <div class="row end">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}

function DeleteDialog({ store, chat, row, onClose }: { store: ChatStore; chat: ChatRow; row: MessageRow; onClose: () => void }): JSX.Element {
  const error = useSignal('');
  const forAll = canDeleteForAll(chat, row, store.account.value?.userId);
  const run = async (everyone: boolean) => {
    try {
      await store.deleteMessages(chat.id, [row.seq], everyone);
      onClose();
    } catch (err) {
      error.value = describe(err);
    }
  };
  return (
    <Modal title="Delete message" onClose={onClose}>
      <p>{forAll ? 'Delete it for everyone, or only hide it for you (on all your devices)?' : 'Hide it for you, on all your devices? Others still see it.'}</p>
      <ErrorLine text={error.value} />
      <div class="row end">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" onClick={() => void run(false)}>
          Delete for me
        </button>
        {forAll && (
          <button type="button" class="primary danger-fill" onClick={() => void run(true)}>
            Delete for everyone
          </button>
        )}
      </div>
    </Modal>
  );
}

function ReactDialog({ store, row, onClose }: { store: ChatStore; row: MessageRow; onClose: () => void }): JSX.Element {
  const error = useSignal('');
  const mine = new Set((row.reactions ?? []).filter((r) => r.mine).map((r) => r.emoji));
  const pick = async (emoji: string) => {
    try {
      await store.react(row.chatId, row.seq, emoji, !mine.has(emoji));
      onClose();
    } catch (err) {
      error.value = describe(err);
    }
  };
  return (
    <Modal title="React" onClose={onClose}>
      <EmojiGrid mine={mine} onPick={(e) => void pick(e)} />
      <ErrorLine text={error.value} />
      <div class="row end">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Modal>
  );
}

function PinsDialog({ store, chat, onClose }: { store: ChatStore; chat: ChatRow; onClose: () => void }): JSX.Element {
  const pins = store.pins(chat.id).value;
  const error = useSignal('');
  return (
    <Modal title="Pinned messages" onClose={onClose}>
      <ul class="pins" data-testid="pins">
        {pins.map((p) => (
          <li key={p.seq}>
            <button
              type="button"
              class="link pin-text"
              onClick={() => {
                onClose();
                void store.reveal(chat.id, p.seq);
              }}
            >
              <strong>{store.userName(p.senderId)}:</strong> {previewOf(p)}
            </button>
            {canPin(chat) && (
              <button type="button" class="small" onClick={() => store.pinMessage(chat.id, p.seq, false).catch((e) => (error.value = describe(e)))}>
                Unpin
              </button>
            )}
          </li>
        ))}
        {pins.length === 0 && <li class="none">Nothing is pinned.</li>}
      </ul>
      <ErrorLine text={error.value} />
      <div class="row end">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}
