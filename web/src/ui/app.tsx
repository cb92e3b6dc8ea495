// The UI: sign-in, the shell (chat list, conversation, details), dialogs and keyboard shortcuts.
// It reads the store's signals and calls its methods; nothing here speaks the protocol.
import { signal, useComputed, useSignal } from '@preact/signals';
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { ChatStore } from '../store/store.js';
import type { ChatRow } from '../store/types.js';
import { Conversation } from './conversation.js';
import { Details } from './details.js';
import { Icon } from './icons.js';

type Props = { store: ChatStore };

const THEME_KEY = 'magpie.theme';

const darkQuery = window.matchMedia('(prefers-color-scheme: dark)');
function systemDark(): boolean {
  return darkQuery.matches;
}

/** Whether the dark theme is on (what the toggle shows). */
const darkOn = signal(false);

/** Sets data-theme on <html>: the saved choice, else what the system prefers (followed live). */
function applyTheme(theme: string | null): void {
  const t = theme === 'light' || theme === 'dark' ? theme : systemDark() ? 'dark' : 'light';
  document.documentElement.dataset.theme = t;
  darkOn.value = t === 'dark';
}
applyTheme(localStorage.getItem(THEME_KEY));
darkQuery.addEventListener('change', () => applyTheme(localStorage.getItem(THEME_KEY)));

export function ThemeToggle(): JSX.Element {
  const dark = darkOn;
  const toggle = () => {
    dark.value = !dark.value;
    const theme = dark.value === systemDark() ? null : dark.value ? 'dark' : 'light';
    if (theme) localStorage.setItem(THEME_KEY, theme);
    else localStorage.removeItem(THEME_KEY);
    applyTheme(theme);
  };
  return (
    <button type="button" class="icon-btn" onClick={toggle} aria-label={dark.value ? 'Switch to light theme' : 'Switch to dark theme'} title="Toggle theme">
      <Icon name={dark.value ? 'sun' : 'moon'} />
    </button>
  );
}

export function App({ store }: Props): JSX.Element {
  const session = store.session.value;
  if (session !== 'signedIn') return <SignIn store={store} />;
  return <Shell store={store} />;
}

function SignIn({ store }: Props): JSX.Element {
  const mode = useSignal<'login' | 'register'>('login');
  const error = useSignal('');
  const busy = store.session.value === 'signingIn';
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    error.value = '';
    try {
      await store.signIn(mode.value, String(f.get('username') ?? ''), String(f.get('password') ?? ''));
    } catch (err) {
      error.value = describe(err);
    }
  };
  return (
    <main class="auth">
      <form class="auth-card" onSubmit={submit} aria-labelledby="auth-title">
        <div class="auth-head">
          <img src="/icon.svg" alt="" width={40} height={40} />
          <h1 id="auth-title">{mode.value === 'login' ? 'Sign in to Magpie' : 'Create a Magpie account'}</h1>
          <ThemeToggle />
        </div>
        {store.notice.value && (
          <p class="notice" role="status">
            {store.notice.value}
          </p>
        )}
        <label>
          Username
          <input name="username" autoComplete="username" required minLength={1} maxLength={64} autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete={mode.value === 'login' ? 'current-password' : 'new-password'} required minLength={8} />
        </label>
        {error.value && (
          <p class="error" role="alert">
            {error.value}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Please wait…' : mode.value === 'login' ? 'Sign in' : 'Sign up'}
        </button>
        <button type="button" class="link" onClick={() => ((mode.value = mode.value === 'login' ? 'register' : 'login'), (error.value = ''))}>
          {mode.value === 'login' ? 'New here? Create an account' : 'Have an account? Sign in'}
        </button>
      </form>
    </main>
  );
}

export function describe(err: unknown): string {
  const e = err as { codeName?: string; message?: string };
  const names: Record<string, string> = {
    invalid_credentials: 'Wrong username or password.',
    username_taken: 'That username is taken.',
    user_not_found: 'No user with that name.',
    chat_not_found: 'That chat does not exist.',
    forbidden: 'You are not allowed to do that.',
  };
  return (e.codeName && names[e.codeName]) || e.message || String(err);
}

function Banner({ store }: Props): JSX.Element | null {
  const online = useSignal(navigator.onLine);
  useEffect(() => {
    const on = () => (online.value = navigator.onLine);
    addEventListener('online', on);
    addEventListener('offline', on);
    return () => {
      removeEventListener('online', on);
      removeEventListener('offline', on);
    };
  }, []);
  const c = store.connection.value;
  if (c === 'live') return null;
  const text = !online.value || c === 'offline' ? (online.value ? 'Offline — reconnecting…' : 'Offline — messages will be sent when you are back') : c === 'syncing' ? 'Syncing…' : 'Connecting…';
  return (
    <div class={`banner banner-${c}`} role="status" aria-live="polite" data-testid="banner">
      {text}
    </div>
  );
}

function Shell({ store }: Props): JSX.Element {
  const listOpen = useSignal(true);
  /** Phone only: the chat list over the open conversation. */
  const overlay = useSignal(false);
  const detailsOpen = useSignal(false);
  const switcher = useSignal(false);
  const dialog = useSignal<null | 'direct' | 'group'>(null);
  const active = store.activeChat.value;

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        switcher.value = true;
      } else if (e.key === 'Escape') {
        if (switcher.value || dialog.value) {
          switcher.value = false;
          dialog.value = null;
        } else if (overlay.value) overlay.value = false;
        else if (detailsOpen.value) detailsOpen.value = false;
        else if (store.activeChat.value && window.innerWidth < 768) store.open(null);
      } else if (e.altKey && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
        e.preventDefault();
        const list = store.chatList.value;
        const i = list.findIndex((c) => c.id === store.activeChat.value);
        const next = list[Math.min(list.length - 1, Math.max(0, i + (e.key === 'ArrowDown' ? 1 : -1)))];
        if (next) store.open(next.id);
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  // Unread counts clear when the reader comes back to the open chat.
  useEffect(() => {
    const onVis = () => document.visibilityState === 'visible' && store.activeChat.value && store.markRead(store.activeChat.value);
    document.addEventListener('visibilitychange', onVis);
    return () => document.removeEventListener('visibilitychange', onVis);
  }, []);

  // Picking a chat closes the phone overlay.
  useEffect(() => {
    overlay.value = false;
  }, [active]);
  const phone = () => window.innerWidth < 768;
  const cls = ['shell', active ? 'has-chat' : 'no-chat', listOpen.value ? '' : 'list-collapsed', detailsOpen.value ? 'details-open' : '', overlay.value ? 'list-overlay' : ''].join(' ');
  return (
    <div class={cls}>
      <Banner store={store} />
      <ChatList store={store} onNew={(k) => (dialog.value = k)} onCollapse={() => (listOpen.value = false)} />
      <main class="conversation-pane" aria-label="Conversation">
        {active ? (
          <Conversation
            key={active}
            store={store}
            chatId={active}
            onBack={() => store.open(null)}
            onToggleList={() => (phone() ? (overlay.value = !overlay.value) : (listOpen.value = !listOpen.value))}
            listOpen={phone() ? overlay.value : listOpen.value}
            onDetails={() => (detailsOpen.value = !detailsOpen.value)}
          />
        ) : (
          <div class="empty">
            {!listOpen.value && (
              <button type="button" class="icon-btn show-list" onClick={() => (listOpen.value = true)} aria-label="Show chat list">
                <Icon name="menu" />
              </button>
            )}
            <p>Pick a chat, or start one with “New chat”.</p>
            <p class="hint">
              <kbd>Ctrl</kbd>+<kbd>K</kbd> switches chats
            </p>
          </div>
        )}
      </main>
      <aside class="details-pane" aria-label="Details">
        <Details store={store} chatId={active} onClose={() => (detailsOpen.value = false)} />
      </aside>
      {switcher.value && <QuickSwitcher store={store} onClose={() => (switcher.value = false)} />}
      {dialog.value && <NewChat store={store} kind={dialog.value} onClose={() => (dialog.value = null)} />}
    </div>
  );
}

function ChatList({ store, onNew, onCollapse }: Props & { onNew: (k: 'direct' | 'group') => void; onCollapse: () => void }): JSX.Element {
  const query = useSignal('');
  const shown = useComputed(() => {
    const q = query.value.trim().toLowerCase();
    const list = store.chatList.value;
    store.users.value; // names can change what matches
    return q ? list.filter((c) => store.chatName(c).toLowerCase().includes(q)) : list;
  });
  const account = store.account.value;
  return (
    <nav class="chat-list-pane" aria-label="Chats">
      <header class="pane-head">
        <h1 class="brand">Magpie</h1>
        <span class="me" title="Signed in as">
          {account?.username}
        </span>
        <ThemeToggle />
        <button type="button" class="icon-btn collapse" onClick={onCollapse} aria-label="Hide chat list">
          <Icon name="back" />
        </button>
      </header>
      <div class="list-tools">
        <input type="search" placeholder="Search chats" aria-label="Search chats" value={query.value} onInput={(e) => (query.value = (e.currentTarget as HTMLInputElement).value)} />
        <div class="row">
          <button type="button" onClick={() => onNew('direct')}>
            New chat
          </button>
          <button type="button" onClick={() => onNew('group')}>
            New group
          </button>
        </div>
      </div>
      <ul class="chats" role="list">
        {shown.value.map((c) => (
          <ChatItem key={c.id} store={store} chat={c} />
        ))}
        {shown.value.length === 0 && <li class="none">{query.value ? 'No chat matches.' : 'No chats yet.'}</li>}
      </ul>
    </nav>
  );
}

function ChatItem({ store, chat }: Props & { chat: ChatRow }): JSX.Element {
  const active = store.activeChat.value === chat.id;
  const name = store.chatName(chat);
  const me = store.account.value?.userId;
  const who = chat.lastSenderId && chat.kind === 'group' ? (chat.lastSenderId === me ? 'You: ' : `${store.userName(chat.lastSenderId)}: `) : chat.lastSenderId === me ? 'You: ' : '';
  return (
    <li>
      <button type="button" class={`chat-item${active ? ' active' : ''}`} aria-current={active ? 'true' : undefined} onClick={() => store.open(chat.id)} data-chat-id={chat.id}>
        <span class="avatar" aria-hidden="true">
          {initials(name)}
        </span>
        <span class="chat-text">
          <span class="chat-name">{name}</span>
          <span class="preview">{chat.lastPreview ? who + chat.lastPreview : chat.left ? 'You left this chat' : ' '}</span>
        </span>
        <span class="chat-meta">
          {chat.lastActivity > 0 && <time dateTime={new Date(chat.lastActivity).toISOString()}>{shortTime(chat.lastActivity)}</time>}
          {chat.unread > 0 && (
            <span class="unread" aria-label={`${chat.unread} unread`}>
              {chat.unread}
            </span>
          )}
        </span>
      </button>
    </li>
  );
}

export function initials(name: string): string {
  return [...name.trim()].slice(0, 1).join('').toUpperCase() || '?';
}

function shortTime(ms: number): string {
  const d = new Date(ms);
  const now = new Date();
  return d.toDateString() === now.toDateString() ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: JSX.Element | JSX.Element[] }): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    ref.current?.querySelector<HTMLElement>('input, button')?.focus();
    return () => prev?.focus();
  }, []);
  return (
    <div class="modal-backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="modal" role="dialog" aria-modal="true" aria-label={title} ref={ref}>
        <h2>{title}</h2>
        {children}
      </div>
    </div>
  );
}

function QuickSwitcher({ store, onClose }: Props & { onClose: () => void }): JSX.Element {
  const q = useSignal('');
  const sel = useSignal(0);
  const matches = useComputed(() => store.chatList.value.filter((c) => store.chatName(c).toLowerCase().includes(q.value.trim().toLowerCase())).slice(0, 12));
  const pick = (c: ChatRow | undefined) => {
    if (c) store.open(c.id);
    onClose();
  };
  return (
    <Modal title="Switch to chat" onClose={onClose}>
      <input
        type="search"
        aria-label="Chat name"
        placeholder="Type a chat name"
        value={q.value}
        onInput={(e) => ((q.value = (e.currentTarget as HTMLInputElement).value), (sel.value = 0))}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') (e.preventDefault(), (sel.value = Math.min(matches.value.length - 1, sel.value + 1)));
          else if (e.key === 'ArrowUp') (e.preventDefault(), (sel.value = Math.max(0, sel.value - 1)));
          else if (e.key === 'Enter') (e.preventDefault(), pick(matches.value[sel.value]));
        }}
      />
      <ul class="switcher" role="listbox" aria-label="Matching chats">
        {matches.value.map((c, i) => (
          <li key={c.id} role="option" aria-selected={i === sel.value} class={i === sel.value ? 'selected' : ''} onClick={() => pick(c)}>
            {store.chatName(c)}
          </li>
        ))}
      </ul>
    </Modal>
  );
}

function NewChat({ store, kind, onClose }: Props & { kind: 'direct' | 'group'; onClose: () => void }): JSX.Element {
  const error = useSignal('');
  const busy = useSignal(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    busy.value = true;
    error.value = '';
    try {
      const id =
        kind === 'direct'
          ? await store.startDirect(String(f.get('username') ?? ''))
          : await store.createGroup(
              String(f.get('title') ?? ''),
              String(f.get('members') ?? '')
                .split(/[\s,]+/u)
                .filter(Boolean),
            );
      store.open(id);
      onClose();
    } catch (err) {
      error.value = describe(err);
    } finally {
      busy.value = false;
    }
  };
  return (
    <Modal title={kind === 'direct' ? 'New chat' : 'New group'} onClose={onClose}>
      <form onSubmit={submit} class="stack">
        {kind === 'direct' ? (
          <label>
            Username
            <input name="username" required autoComplete="off" />
          </label>
        ) : (
          <>
            <label>
              Group name
              <input name="title" required maxLength={128} />
            </label>
            <label>
              Members (usernames, comma separated)
              <input name="members" autoComplete="off" />
            </label>
          </>
        )}
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
            {kind === 'direct' ? 'Start chat' : 'Create group'}
          </button>
        </div>
      </form>
    </Modal>
  );
}


