// The UI: sign-in, the shell (chat list, conversation, details), dialogs and keyboard shortcuts.
// It reads the store's signals and calls its methods; nothing here speaks the protocol.
import { signal, useComputed, useSignal } from '@preact/signals';
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { isMuted, isPinned, type ChatStore } from '../store/store.js';
import type { ChatRow } from '../store/types.js';
import { Conversation } from './conversation.js';
import { Details } from './details.js';
import { BroadcastDialog, ChatMenu, FindDialog, JoinDialog, NewGroup } from './groups.js';
import { Icon } from './icons.js';
import { MentionsDialog } from './mentions.js';

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

/** `#/join/<code>`: an invite link. It waits in the store through sign-in. */
function readJoinHash(store: ChatStore): void {
  const m = /^#\/join\/([A-Za-z0-9_-]{1,64})$/u.exec(location.hash);
  if (m) store.pendingJoin.value = { inviteCode: m[1]! };
}

export function App({ store }: Props): JSX.Element {
  useEffect(() => {
    readJoinHash(store);
    const on = () => readJoinHash(store);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
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
        {store.pendingJoin.value && (
          <p class="notice" role="status">
            Sign in or create an account to join the chat you were invited to.
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
    not_a_group: 'That only works in groups and channels.',
    owner_must_transfer: 'You own this chat: choose who takes over (or make someone an admin) before you leave.',
    invite_not_found: 'This invite link does not exist.',
    invite_expired: 'This invite link has expired.',
    invite_revoked: 'This invite link was revoked.',
    invite_used_up: 'This invite link has been used up.',
    handle_taken: 'Another chat already has that handle.',
    limit_reached: 'A limit is reached (at most 10 pinned chats, 100 invite links per chat, 50 pinned messages, 20 reactions per message).',
    invalid_argument: 'Something in the form is not valid.',
    message_not_found: 'That message is not there (any more).',
    message_deleted: 'That message was deleted.',
    not_message_sender: 'Only its sender may do that.',
    forwarding_disabled: 'This chat does not allow forwarding its messages.',
    not_editable: 'This kind of message cannot be edited.',
    live_location_ended: 'That live location has ended.',
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
  const dialog = useSignal<null | NewKind>(null);
  const archivedView = useSignal(false);
  const active = store.activeChat.value;

  // Presence: the user is here (keys, clicks; the store reports it at most every 30 s).
  useEffect(() => {
    const here = () => store.activity();
    addEventListener('keydown', here);
    addEventListener('pointerdown', here);
    return () => {
      removeEventListener('keydown', here);
      removeEventListener('pointerdown', here);
    };
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        switcher.value = true;
      } else if (e.key === 'Escape') {
        if (switcher.value || dialog.value || store.pendingJoin.value) {
          switcher.value = false;
          dialog.value = null;
          store.pendingJoin.value = null;
        } else if (overlay.value) overlay.value = false;
        else if (detailsOpen.value) detailsOpen.value = false;
        else if (store.activeChat.value && window.innerWidth < 768) store.open(null);
      } else if (e.altKey && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
        e.preventDefault();
        const list = archivedView.value ? store.archivedList.value : store.chatList.value;
        const i = list.findIndex((c) => c.id === store.activeChat.value);
        const next = list[Math.min(list.length - 1, Math.max(0, i + (e.key === 'ArrowDown' ? 1 : -1)))];
        if (next) store.open(next.id);
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
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
      <ChatList store={store} archived={archivedView.value} onArchived={(a) => (archivedView.value = a)} onNew={(k) => (dialog.value = k)} onCollapse={() => (listOpen.value = false)} />
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
      {dialog.value === 'direct' && <NewChat store={store} kind="direct" onClose={() => (dialog.value = null)} />}
      {(dialog.value === 'group' || dialog.value === 'channel') && <NewGroup store={store} kind={dialog.value} onClose={() => (dialog.value = null)} />}
      {dialog.value === 'find' && <FindDialog store={store} onClose={() => (dialog.value = null)} />}
      {dialog.value === 'broadcast' && <BroadcastDialog store={store} onClose={() => (dialog.value = null)} />}
      {dialog.value === 'mentions' && <MentionsDialog store={store} onClose={() => (dialog.value = null)} />}
      {store.pendingJoin.value && (
        <JoinDialog
          key={JSON.stringify(store.pendingJoin.value)}
          store={store}
          target={store.pendingJoin.value}
          onClose={() => {
            store.pendingJoin.value = null;
            if (location.hash.startsWith('#/join/')) history.replaceState(null, '', location.pathname + location.search);
          }}
        />
      )}
    </div>
  );
}

type NewKind = 'direct' | 'group' | 'channel' | 'find' | 'broadcast' | 'mentions';

function ChatList({ store, archived, onArchived, onNew, onCollapse }: Props & { archived: boolean; onArchived: (a: boolean) => void; onNew: (k: NewKind) => void; onCollapse: () => void }): JSX.Element {
  const query = useSignal('');
  const menuFor = useSignal<string | null>(null);
  const error = useSignal('');
  // Computed in render: `archived` is a prop, not a signal.
  const q = query.value.trim().toLowerCase();
  const list = archived ? store.archivedList.value : store.chatList.value;
  store.users.value; // names can change what matches
  const shown = { value: q ? list.filter((c) => store.chatName(c).toLowerCase().includes(q)) : list };
  const account = store.account.value;
  const archivedCount = store.archivedList.value.length;
  const more = archived ? store.moreChats.value.archived : store.moreChats.value.main;
  return (
    <nav class="chat-list-pane" aria-label="Chats">
      <header class="pane-head">
        <h1 class="brand">Magpie</h1>
        <span class="me" title="Signed in as">
          {account?.username}
        </span>
        {/* One's own status where one's name is: do not disturb stays on until turned off. */}
        {store.myPresence()?.status === 'doNotDisturb' && (
          <span class="my-status dnd" data-testid="my-status" title="Do not disturb is on (turn it off in Details)">
            <span class="dot" aria-hidden="true" />
            <span aria-hidden="true">DND</span>
            <span class="sr-only">Do not disturb</span>
          </span>
        )}
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
          <button type="button" onClick={() => onNew('channel')}>
            New channel
          </button>
        </div>
        <div class="row">
          <button type="button" onClick={() => onNew('find')}>
            Find by handle
          </button>
          <button type="button" onClick={() => onNew('broadcast')}>
            Broadcast
          </button>
          <button type="button" onClick={() => onNew('mentions')}>
            Mentions
          </button>
        </div>
      </div>
      {archived ? (
        <div class="view-head">
          <button type="button" class="link" onClick={() => onArchived(false)}>
            ← Back to chats
          </button>
          <h2>Archived</h2>
        </div>
      ) : (
        archivedCount > 0 && (
          <button type="button" class="archived-link" onClick={() => onArchived(true)}>
            <Icon name="archive" /> Archived <span class="count">{archivedCount}</span>
          </button>
        )
      )}
      {error.value && (
        <p class="error list-error" role="alert">
          {error.value}
        </p>
      )}
      <ul class="chats" role="list" aria-label={archived ? 'Archived chats' : 'Chat list'}>
        {shown.value.map((c) => (
          <ChatItem
            key={c.id}
            store={store}
            chat={c}
            menuOpen={menuFor.value === c.id}
            onMenu={(o) => ((menuFor.value = o ? c.id : null), (error.value = ''))}
            onError={(m) => (error.value = m)}
          />
        ))}
        {shown.value.length === 0 && <li class="none">{query.value ? 'No chat matches.' : archived ? 'No archived chats.' : 'No chats yet.'}</li>}
        {more && !query.value && (
          <li class="more">
            <button type="button" onClick={() => void store.loadMoreChats(archived)}>
              Load more chats
            </button>
          </li>
        )}
      </ul>
    </nav>
  );
}

function ChatItem({ store, chat, menuOpen, onMenu, onError }: Props & { chat: ChatRow; menuOpen: boolean; onMenu: (o: boolean) => void; onError: (m: string) => void }): JSX.Element {
  const active = store.activeChat.value === chat.id;
  const name = store.chatName(chat);
  const me = store.account.value?.userId;
  const who = chat.lastSenderId && chat.kind === 'group' ? (chat.lastSenderId === me ? 'You: ' : `${store.userName(chat.lastSenderId)}: `) : chat.lastSenderId === me ? 'You: ' : '';
  const muted = isMuted(chat, Date.now());
  const pinned = isPinned(chat) && !chat.archived;
  const badge = chat.unread > 0 ? String(chat.unread) : chat.markedUnread ? '' : null;
  const status = [pinned ? 'pinned' : '', muted ? 'muted' : '', badge !== null ? (chat.unread > 0 ? `${chat.unread} unread` : 'marked unread') : ''].filter(Boolean).join(', ');
  return (
    <li class={`chat-row${menuOpen ? ' menu-open' : ''}`} data-chat-id={chat.id}>
      <button
        type="button"
        class={`chat-item${active ? ' active' : ''}`}
        aria-current={active ? 'true' : undefined}
        onClick={() => store.open(chat.id)}
        onContextMenu={(e) => (e.preventDefault(), onMenu(true))}
        onKeyDown={(e) => {
          if (e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10')) (e.preventDefault(), onMenu(true));
        }}
        data-chat-id={chat.id}
      >
        {status && <span class="sr-only">{status}: </span>}
        <span class="avatar" aria-hidden="true">
          {initials(name)}
        </span>
        <span class="chat-text">
          <span class="chat-name">
            {chat.kind === 'channel' && (
              <span class="kind-icon" title="Channel">
                <Icon name="megaphone" />
              </span>
            )}
            {name}
          </span>
          <span class="preview">{chat.lastPreview ? who + chat.lastPreview : chat.left ? 'You left this chat' : ' '}</span>
        </span>
        <span class="chat-meta" aria-hidden="true">
          {chat.lastActivity > 0 && <time dateTime={new Date(chat.lastActivity).toISOString()}>{shortTime(chat.lastActivity)}</time>}
          <span class="indicators">
            {muted && (
              <span class="ind muted" title="Muted" data-testid="muted">
                <Icon name="muted" />
              </span>
            )}
            {pinned && (
              <span class="ind pinned" title="Pinned" data-testid="pinned">
                <Icon name="pin" />
              </span>
            )}
            {badge !== null && (
              <span class={`unread${muted ? ' quiet' : ''}${badge === '' ? ' dot' : ''}`} data-testid="unread">
                {badge}
              </span>
            )}
          </span>
        </span>
      </button>
      <ChatMenu store={store} chat={chat} name={name} open={menuOpen} onOpen={onMenu} onError={onError} />
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

export function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: JSX.Element | JSX.Element[] }): JSX.Element {
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

function NewChat({ store, kind, onClose }: Props & { kind: 'direct'; onClose: () => void }): JSX.Element {
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


