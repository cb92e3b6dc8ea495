// Groups and channels: the settings fields, the create dialog, the chat menu in the list (pin,
// mute, archive, mark unread), joining by link or handle, and the broadcast list composer.
import { useSignal } from '@preact/signals';
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { errorCodeName, MUTED_FOREVER, type BroadcastAck, type ChatPreview, type JoinTarget } from '@magpie/client';
import { DEFAULT_SETTINGS_ROW, isMuted, isPinned, type ChatStore } from '../store/store.js';
import type { ChatRow, SettingsRow } from '../store/types.js';
import { describe, Modal } from './app.js';

type Props = { store: ChatStore };

const WHO_LABELS: Array<[keyof SettingsRow, string]> = [
  ['post', 'Who may post'],
  ['addMembers', 'Who may add members and make invite links'],
  ['changeInfo', 'Who may change the name, description and picture'],
  ['pin', 'Who may pin messages'],
];

/** The settings as form fields; `channel` hides "who may post" (admins only there). */
export function SettingsFields({ value, channel, disabled, onChange }: { value: SettingsRow; channel: boolean; disabled?: boolean; onChange: (s: SettingsRow) => void }): JSX.Element {
  const set = <K extends keyof SettingsRow>(k: K, v: SettingsRow[K]) => onChange({ ...value, [k]: v });
  return (
    <fieldset class="settings" disabled={disabled}>
      <legend class="sr-only">Settings</legend>
      {WHO_LABELS.filter(([k]) => !(channel && (k === 'post' || k === 'addMembers'))).map(([k, label]) => (
        <label key={k} class="inline">
          <span>{label}</span>
          <select value={value[k] as string} onChange={(e) => set(k, (e.currentTarget as HTMLSelectElement).value as 'members' | 'admins')}>
            <option value="members">{channel ? 'Everyone' : 'All members'}</option>
            <option value="admins">Admins only</option>
          </select>
        </label>
      ))}
      <label class="inline">
        <span>New members see</span>
        <select value={value.history} onChange={(e) => set('history', (e.currentTarget as HTMLSelectElement).value as SettingsRow['history'])}>
          <option value="everything">Earlier messages too</option>
          <option value="sinceJoined">Only messages after they join</option>
        </select>
      </label>
      <label class="check">
        <input type="checkbox" checked={value.forwarding} onChange={(e) => set('forwarding', (e.currentTarget as HTMLInputElement).checked)} />
        Messages may be forwarded
      </label>
      <label class="check">
        <input type="checkbox" checked={value.approveJoins} onChange={(e) => set('approveJoins', (e.currentTarget as HTMLInputElement).checked)} />
        An admin approves people joining by link or handle
      </label>
    </fieldset>
  );
}

const HANDLE_RE = '[a-z0-9_]{5,32}';

export function NewGroup({ store, kind, onClose }: Props & { kind: 'group' | 'channel'; onClose: () => void }): JSX.Element {
  const error = useSignal('');
  const busy = useSignal(false);
  const settings = useSignal<SettingsRow>({ ...DEFAULT_SETTINGS_ROW });
  const channel = kind === 'channel';
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    busy.value = true;
    error.value = '';
    try {
      const id = await store.createChat({
        kind,
        title: String(f.get('title') ?? ''),
        description: String(f.get('description') ?? ''),
        handle: String(f.get('handle') ?? ''),
        usernames: String(f.get('members') ?? '').split(/[\s,]+/u).filter(Boolean),
        settings: channel ? { ...settings.value, post: 'admins', addMembers: 'admins' } : settings.value,
      });
      store.open(id);
      onClose();
    } catch (err) {
      error.value = describe(err);
    } finally {
      busy.value = false;
    }
  };
  return (
    <Modal title={channel ? 'New channel' : 'New group'} onClose={onClose}>
      <form onSubmit={submit} class="stack">
        <label>
          {channel ? 'Channel name' : 'Group name'}
          <input name="title" required maxLength={128} />
        </label>
        <label>
          Description (optional)
          <textarea name="description" rows={2} maxLength={1024} />
        </label>
        <label>
          Public handle (optional)
          <input name="handle" pattern={HANDLE_RE} maxLength={32} autoComplete="off" aria-describedby="handle-help" placeholder="e.g. daily_news" />
          <small id="handle-help" class="help">
            5–32 of a–z, 0–9 and _. With a handle anyone can find and join it.
          </small>
        </label>
        <label>
          {channel ? 'Subscribers (usernames, comma separated)' : 'Members (usernames, comma separated)'}
          <input name="members" autoComplete="off" />
        </label>
        <details class="more-settings">
          <summary>Settings</summary>
          <SettingsFields value={settings.value} channel={channel} onChange={(s) => (settings.value = s)} />
        </details>
        {error.value ? (
          <p class="error" role="alert">
            {error.value}
          </p>
        ) : (
          <></>
        )}
        <div class="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy.value}>
            {channel ? 'Create channel' : 'Create group'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

// ------------------------------------------------------------------ the chat menu

const HOUR = 3_600_000;

type MenuItem = { label: string; run: () => Promise<void> };

function menuItems(store: ChatStore, c: ChatRow): MenuItem[] {
  const muted = isMuted(c, Date.now());
  const items: MenuItem[] = [];
  if (!c.archived) items.push({ label: isPinned(c) ? 'Unpin' : 'Pin to top', run: () => store.pin(c.id, !isPinned(c)) });
  if (!c.archived && isPinned(c)) {
    const pinned = store.chatList.value.filter(isPinned);
    const i = pinned.findIndex((p) => p.id === c.id);
    if (i > 0) items.push({ label: 'Move up', run: () => store.movePinned(c.id, -1) });
    if (i >= 0 && i < pinned.length - 1) items.push({ label: 'Move down', run: () => store.movePinned(c.id, 1) });
  }
  if (muted) items.push({ label: 'Unmute', run: () => store.mute(c.id, 0) });
  else {
    items.push({ label: 'Mute for 8 hours', run: () => store.mute(c.id, Date.now() + 8 * HOUR) });
    items.push({ label: 'Mute for a week', run: () => store.mute(c.id, Date.now() + 7 * 24 * HOUR) });
    items.push({ label: 'Mute always', run: () => store.mute(c.id, MUTED_FOREVER) });
  }
  items.push({ label: c.archived ? 'Unarchive' : 'Archive', run: () => store.archive(c.id, !c.archived) });
  const unread = c.unread > 0 || c.markedUnread;
  items.push({ label: unread ? 'Mark as read' : 'Mark as unread', run: () => store.markUnread(c.id, !unread) });
  return items;
}

/** A chat's menu in the list: a button (also opened with the context-menu key or Shift+F10 on
 * the chat) and a keyboard-navigable menu. */
export function ChatMenu({ store, chat, name, open, onOpen, onError }: Props & { chat: ChatRow; name: string; open: boolean; onOpen: (o: boolean) => void; onError: (m: string) => void }): JSX.Element {
  const menu = useRef<HTMLUListElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (open) menu.current?.querySelector<HTMLElement>('[role=menuitem]')?.focus();
  }, [open]);
  const close = (refocus: boolean) => {
    onOpen(false);
    if (refocus) button.current?.focus();
  };
  const onKey = (e: KeyboardEvent) => {
    const items = Array.from(menu.current?.querySelectorAll<HTMLElement>('[role=menuitem]') ?? []);
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'ArrowDown') (e.preventDefault(), items[(i + 1) % items.length]?.focus());
    else if (e.key === 'ArrowUp') (e.preventDefault(), items[(i - 1 + items.length) % items.length]?.focus());
    else if (e.key === 'Home') (e.preventDefault(), items[0]?.focus());
    else if (e.key === 'End') (e.preventDefault(), items[items.length - 1]?.focus());
    else if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      e.stopPropagation();
      close(true);
    }
  };
  return (
    <span class="chat-menu">
      <button
        type="button"
        ref={button}
        class="icon-btn menu-btn"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label={`Options for ${name}`}
        onClick={() => onOpen(!open)}
      >
        <svg class="icon" viewBox="0 0 24 24" width={18} height={18} aria-hidden="true" focusable="false">
          <path d="M12 5.5v.5M12 11.5v.5M12 17.5v.5" fill="none" stroke="currentColor" stroke-width={3} stroke-linecap="round" />
        </svg>
      </button>
      {open && (
        <>
          <div class="menu-catcher" onClick={() => close(false)} />
          <ul class="menu" role="menu" aria-label={`Options for ${name}`} ref={menu} onKeyDown={onKey}>
            {menuItems(store, chat).map((it) => (
              <li
                key={it.label}
                role="menuitem"
                tabIndex={-1}
                onClick={() => {
                  close(true);
                  it.run().catch((err) => onError(describe(err)));
                }}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    close(true);
                    it.run().catch((err) => onError(describe(err)));
                  }
                }}
              >
                {it.label}
              </li>
            ))}
          </ul>
        </>
      )}
    </span>
  );
}

// ------------------------------------------------------------------ joining

export const kindLabel = (k: ChatPreview['kind'] | ChatRow['kind']): string => (k === 'channel' ? 'Channel' : k === 'group' ? 'Group' : k === 'direct' ? 'Direct chat' : 'Chat');

/** A preview of what a link or handle joins, and the one button that joins it. */
export function JoinDialog({ store, target, onClose }: Props & { target: JoinTarget; onClose: () => void }): JSX.Element {
  const preview = useSignal<ChatPreview | null>(null);
  const error = useSignal('');
  const pending = useSignal(false);
  const busy = useSignal(false);
  useEffect(() => {
    store.previewChat(target).then(
      (p) => (preview.value = p),
      (e) => (error.value = 'handle' in target && (e as { codeName?: string }).codeName === 'chat_not_found' ? `No public group or channel is called @${target.handle}.` : describe(e)),
    );
  }, []);
  const join = async () => {
    busy.value = true;
    error.value = '';
    try {
      const r = await store.join(target);
      if ('joined' in r) {
        store.open(r.joined);
        onClose();
      } else pending.value = true;
    } catch (e) {
      error.value = describe(e);
    } finally {
      busy.value = false;
    }
  };
  const p = preview.value;
  return (
    <Modal title={p ? `Join ${p.title}` : 'Join a chat'} onClose={onClose}>
      <div class="stack join-preview" data-testid="join-preview">
        {!p && !error.value && <p role="status">Looking it up…</p>}
        {p && (
          <>
            <div class="row">
              <span class="avatar big" aria-hidden="true">
                {[...p.title][0]?.toUpperCase() ?? '?'}
              </span>
              <div>
                <p class="preview-title">{p.title}</p>
                <p class="sub">
                  {kindLabel(p.kind)} · {p.memberCount} {p.kind === 'channel' ? (p.memberCount === 1 ? 'subscriber' : 'subscribers') : p.memberCount === 1 ? 'member' : 'members'}
                  {p.handle && ` · @${p.handle}`}
                </p>
              </div>
            </div>
            {p.description && <p class="description">{p.description}</p>}
            {p.approveJoins && !p.isMember && <p class="notice">An admin approves new members: joining sends a request.</p>}
          </>
        )}
        {pending.value && (
          <p class="notice" role="status">
            Request sent. You will be let in once an admin approves it.
          </p>
        )}
        {error.value && (
          <p class="error" role="alert">
            {error.value}
          </p>
        )}
        <div class="row end">
          <button type="button" onClick={onClose}>
            {pending.value ? 'Close' : 'Cancel'}
          </button>
          {p && !pending.value && (
            <button type="button" class="primary" disabled={busy.value} onClick={() => (p.isMember ? (store.open(p.chatId.toString()), onClose()) : void join())}>
              {p.isMember ? 'Open' : p.approveJoins ? 'Ask to join' : p.kind === 'channel' ? 'Join channel' : 'Join group'}
            </button>
          )}
        </div>
      </div>
    </Modal>
  );
}

/** Find a public group or channel by its handle, then preview and join it. */
export function FindDialog({ store, onClose }: Props & { onClose: () => void }): JSX.Element {
  const handle = useSignal('');
  const found = useSignal<string | null>(null);
  if (found.value) return <JoinDialog store={store} target={{ handle: found.value }} onClose={onClose} />;
  return (
    <Modal title="Find a public group or channel" onClose={onClose}>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          found.value = handle.value.trim().replace(/^@/u, '').toLowerCase();
        }}
      >
        <label>
          Handle
          <input value={handle.value} onInput={(e) => (handle.value = (e.currentTarget as HTMLInputElement).value)} required autoComplete="off" placeholder="@handle" />
        </label>
        <div class="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Find
          </button>
        </div>
      </form>
    </Modal>
  );
}

// ------------------------------------------------------------------ broadcast lists

const names = (store: ChatStore, ids: bigint[]) => ids.map((id) => store.userName(id.toString())).join(', ');

export function BroadcastDialog({ store, onClose }: Props & { onClose: () => void }): JSX.Element {
  const error = useSignal('');
  const editing = useSignal<bigint | 'new' | null>(null);
  const sendTo = useSignal<bigint | null>(null);
  const results = useSignal<BroadcastAck | null>(null);
  const busy = useSignal(false);
  useEffect(() => {
    store.refreshBroadcastLists().catch((e) => (error.value = describe(e)));
  }, []);
  const run = async (f: () => Promise<void>) => {
    busy.value = true;
    error.value = '';
    try {
      await f();
    } catch (e) {
      error.value = describe(e);
    } finally {
      busy.value = false;
    }
  };
  const lists = store.broadcastLists.value;
  const edit = editing.value === 'new' ? null : lists.find((l) => l.listId === editing.value);
  const target = lists.find((l) => l.listId === sendTo.value);
  return (
    <Modal title="Broadcast lists" onClose={onClose}>
      <div class="stack broadcast">
        <p class="help">Send one message to several people: each gets it in your direct chat with them, and nobody sees the list.</p>
        <ul class="blists">
          {lists.map((l) => (
            <li key={l.listId.toString()}>
              <span>
                <strong>{l.name}</strong>
                <small>{names(store, l.recipientIds)}</small>
              </span>
              <span class="row">
                <button type="button" class="small primary" onClick={() => ((sendTo.value = l.listId), (results.value = null), (editing.value = null))} aria-label={`Send to ${l.name}`}>
                  Send
                </button>
                <button type="button" class="small" onClick={() => ((editing.value = l.listId), (sendTo.value = null))} aria-label={`Edit ${l.name}`}>
                  Edit
                </button>
                <button type="button" class="small danger" onClick={() => run(() => store.deleteBroadcastList(l.listId))} aria-label={`Delete ${l.name}`}>
                  Delete
                </button>
              </span>
            </li>
          ))}
          {lists.length === 0 && <li class="none">No lists yet.</li>}
        </ul>
        {editing.value !== null ? (
          <form
            key={String(editing.value)}
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              const f = new FormData(e.currentTarget as HTMLFormElement);
              void run(async () => {
                await store.saveBroadcastList(edit ? edit.listId : null, String(f.get('name') ?? ''), String(f.get('recipients') ?? '').split(/[\s,]+/u).filter(Boolean));
                editing.value = null;
              });
            }}
          >
            <label>
              List name
              <input name="name" required maxLength={128} defaultValue={edit?.name ?? ''} />
            </label>
            <label>
              Recipients (usernames, comma separated)
              <input name="recipients" required autoComplete="off" defaultValue={edit ? edit.recipientIds.map((id) => store.userName(id.toString())).join(', ') : ''} />
            </label>
            <div class="row end">
              <button type="button" onClick={() => (editing.value = null)}>
                Cancel
              </button>
              <button type="submit" class="primary" disabled={busy.value}>
                Save list
              </button>
            </div>
          </form>
        ) : (
          <button type="button" onClick={() => ((editing.value = 'new'), (sendTo.value = null))}>
            New list
          </button>
        )}
        {target && (
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              const form = e.currentTarget as HTMLFormElement;
              const text = String(new FormData(form).get('text') ?? '');
              if (!text.trim()) return;
              void run(async () => {
                results.value = await store.sendBroadcast(target.listId, text);
                form.reset();
              });
            }}
          >
            <label>
              Message to {target.name}
              <textarea name="text" rows={3} required maxLength={16000} />
            </label>
            <div class="row end">
              <button type="submit" class="primary" disabled={busy.value}>
                Send to {target.recipientIds.length} {target.recipientIds.length === 1 ? 'person' : 'people'}
              </button>
            </div>
          </form>
        )}
        {results.value && (
          <ul class="bresults" aria-label="Delivery" role="list">
            {results.value.results.map((r) => (
              <li key={r.userId.toString()} class={r.errorCode === 0 ? 'ok' : 'failed'}>
                {r.errorCode === 0 ? '✓ Sent to ' : '✗ Not sent to '}
                {store.userName(r.userId.toString())}
                {r.errorCode !== 0 && ` (${describe({ codeName: errorCodeName(r.errorCode), message: `error ${r.errorCode}` })})`}
              </li>
            ))}
          </ul>
        )}
        {error.value && (
          <p class="error" role="alert">
            {error.value}
          </p>
        )}
        <div class="row end">
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    </Modal>
  );
}
