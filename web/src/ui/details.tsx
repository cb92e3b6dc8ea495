// The details panel: the open chat's info and settings (editable by those allowed), invite
// links, join requests, members paged with their roles and the actions one's role allows,
// leaving (with a successor for an owner); and this account's devices, plus sign-out.
import { useSignal } from '@preact/signals';
import type { Invite, LastSeenVisibility } from '@magpie/client';
import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import { allowed, isAdmin, type ChatStore } from '../store/store.js';
import type { ChatRow, RoleName, SettingsRow } from '../store/types.js';
import { describe, initials } from './app.js';
import { kindLabel, SettingsFields } from './groups.js';
import { Icon } from './icons.js';

type Run = (f: () => Promise<void>) => Promise<void>;

export function Details({ store, chatId, onClose }: { store: ChatStore; chatId: string | null; onClose: () => void }): JSX.Element {
  const chat = chatId ? store.chats.value.get(chatId) : undefined;
  const error = useSignal('');
  const run: Run = async (f) => {
    error.value = '';
    try {
      await f();
    } catch (e) {
      error.value = describe(e);
    }
  };
  const live = store.connection.value === 'live';
  useEffect(() => {
    void store.refreshDevices().catch(() => {});
  }, [live]);
  // Fresh counts, roles, settings and pending requests whenever a chat is shown.
  useEffect(() => {
    error.value = '';
    if (chatId && live && chat && chat.kind !== 'direct' && !chat.left) void store.refreshChat(chatId).catch(() => {});
  }, [chatId, live]);
  // Join requests are not pushed: an admin of a chat that approves joins asks again now and then
  // (and when the window comes back into focus).
  const watching = !!(chatId && live && chat && isAdmin(chat) && chat.settings.approveJoins && !chat.left);
  useEffect(() => {
    if (!watching || !chatId) return;
    const poll = () => void store.refreshChat(chatId).catch(() => {});
    const t = setInterval(poll, 20_000);
    addEventListener('focus', poll);
    return () => {
      clearInterval(t);
      removeEventListener('focus', poll);
    };
  }, [watching, chatId]);
  const group = chat && (chat.kind === 'group' || chat.kind === 'channel') && !chat.left;
  return (
    <div class="details">
      <header class="pane-head">
        <h2>Details</h2>
        <button type="button" class="icon-btn close-details" onClick={onClose} aria-label="Close details">
          <Icon name="close" />
        </button>
      </header>
      {error.value && (
        <p class="error" role="alert" data-testid="details-error">
          {error.value}
        </p>
      )}
      {chat && group && (
        <>
          <InfoSection key={`i${chat.id}`} store={store} chat={chat} run={run} />
          {isAdmin(chat) && <SettingsSection key={`s${chat.id}`} store={store} chat={chat} run={run} />}
          {allowed(chat, chat.kind === 'channel' ? 'admins' : chat.settings.addMembers) && <InviteSection key={`v${chat.id}`} store={store} chat={chat} run={run} />}
          {isAdmin(chat) && (chat.settings.approveJoins || chat.pendingRequests > 0) && <RequestsSection key={`r${chat.id}`} store={store} chat={chat} run={run} />}
          <MembersSection key={`m${chat.id}`} store={store} chat={chat} run={run} />
        </>
      )}
      {chat && chat.kind === 'direct' && (
        <section>
          <h3>Direct chat</h3>
          <p>With {store.chatName(chat)}</p>
        </section>
      )}
      <StatusSection store={store} run={run} />
      <PrivacySection store={store} run={run} />
      <section aria-labelledby="devices-h">
        <h3 id="devices-h">Your devices</h3>
        <ul class="devices">
          {store.devices.value.map((d) => (
            <li key={d.deviceId.toString()}>
              <span>
                {d.name || 'device'} {d.current && <em>(this browser)</em>}
                <small>since {new Date(d.createdMs).toLocaleDateString()}</small>
              </span>
              <button type="button" class="small danger" onClick={() => run(() => store.revokeDevice(d.deviceId))} aria-label={`Revoke ${d.name}${d.current ? ' (this browser)' : ''}`}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
        <button type="button" onClick={() => run(() => store.signOut())}>
          Sign out
        </button>
      </section>
    </div>
  );
}

type SectionProps = { store: ChatStore; chat: ChatRow; run: Run };

/** This user's status (§6.15): do not disturb, kept by the server across devices and connections
 * and shown to everyone who watches them, until turned off. */
function StatusSection({ store, run }: { store: ChatStore; run: Run }): JSX.Element {
  const mine = store.myPresence();
  const dnd = mine?.status === 'doNotDisturb';
  return (
    <section aria-labelledby="status-h" data-testid="status">
      <h3 id="status-h">Status</h3>
      <label class="check">
        <input type="checkbox" checked={dnd} disabled={!mine || store.connection.value !== 'live'} onChange={(e) => run(() => store.setDnd((e.currentTarget as HTMLInputElement).checked))} />
        Do not disturb (others see it instead of online)
      </label>
    </section>
  );
}

/** This account's privacy (§6.15): read receipts, who sees last seen. The same on all devices. */
function PrivacySection({ store, run }: { store: ChatStore; run: Run }): JSX.Element {
  const p = store.privacy.value;
  return (
    <section aria-labelledby="privacy-h" data-testid="privacy">
      <h3 id="privacy-h">Privacy</h3>
      <label class="check">
        <input type="checkbox" checked={p?.readReceipts ?? true} disabled={!p} onChange={(e) => run(() => store.setPrivacy({ readReceipts: (e.currentTarget as HTMLInputElement).checked }))} />
        Read receipts (off: others don't see when you read, and you don't see theirs)
      </label>
      <label>
        Last seen
        <select value={p?.lastSeen ?? 'everyone'} disabled={!p} onChange={(e) => run(() => store.setPrivacy({ lastSeen: (e.currentTarget as HTMLSelectElement).value as LastSeenVisibility }))}>
          <option value="everyone">Everyone</option>
          <option value="sharedChats">People I chat with</option>
          <option value="nobody">Nobody</option>
        </select>
      </label>
    </section>
  );
}

function InfoSection({ store, chat, run }: SectionProps): JSX.Element {
  const editing = useSignal(false);
  const canEdit = allowed(chat, chat.settings.changeInfo);
  const admin = isAdmin(chat);
  const name = store.chatName(chat);
  const count = Math.max(chat.memberCount, chat.kind === 'channel' ? 0 : chat.members.length);
  return (
    <section aria-labelledby="info-h" class="info">
      <div class="row">
        <span class="avatar big" aria-hidden="true">
          {initials(name)}
        </span>
        <div class="info-text">
          <h3 id="info-h">{name}</h3>
          <p class="sub">
            {kindLabel(chat.kind)} · {count} {chat.kind === 'channel' ? (count === 1 ? 'subscriber' : 'subscribers') : count === 1 ? 'member' : 'members'}
            {chat.myRole !== 'member' && ` · you are ${chat.myRole === 'owner' ? 'the owner' : 'an admin'}`}
          </p>
        </div>
      </div>
      {chat.handle && <p class="handle">@{chat.handle}</p>}
      {chat.description && <p class="description">{chat.description}</p>}
      {chat.avatarRef && <p class="sub">Picture: {chat.avatarRef}</p>}
      {(canEdit || admin) && !editing.value && (
        <button type="button" onClick={() => (editing.value = true)}>
          Edit info
        </button>
      )}
      {editing.value && (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget as HTMLFormElement);
            const get = (k: string) => (f.has(k) ? String(f.get(k) ?? '') : undefined);
            void run(async () => {
              await store.updateInfo(chat.id, { title: get('title'), description: get('description'), avatarRef: get('avatarRef'), handle: get('handle') });
              editing.value = false;
            });
          }}
        >
          {canEdit && (
            <>
              <label>
                Name
                <input name="title" required maxLength={128} defaultValue={chat.title} />
              </label>
              <label>
                Description
                <textarea name="description" rows={3} maxLength={1024} defaultValue={chat.description} />
              </label>
              <label>
                Picture reference
                <input name="avatarRef" maxLength={256} defaultValue={chat.avatarRef} />
              </label>
            </>
          )}
          {admin && (
            <label>
              Public handle (empty: private)
              <input name="handle" pattern="[a-z0-9_]{5,32}" maxLength={32} defaultValue={chat.handle} autoComplete="off" />
            </label>
          )}
          <div class="row end">
            <button type="button" onClick={() => (editing.value = false)}>
              Cancel
            </button>
            <button type="submit" class="primary">
              Save
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

function SettingsSection({ store, chat, run }: SectionProps): JSX.Element {
  const draft = useSignal<SettingsRow>(chat.settings);
  const dirty = (Object.keys(draft.value) as Array<keyof SettingsRow>).some((k) => draft.value[k] !== chat.settings[k]);
  // Someone else's change arrives: start from it.
  useEffect(() => {
    draft.value = chat.settings;
  }, [JSON.stringify(chat.settings)]);
  return (
    <section aria-label="Chat settings" class="settings-section">
      <details class="more-settings">
        <summary>Settings</summary>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void run(() => store.updateInfo(chat.id, { settings: chat.kind === 'channel' ? { ...draft.value, post: 'admins' } : draft.value }));
        }}
      >
        <SettingsFields value={draft.value} channel={chat.kind === 'channel'} onChange={(s) => (draft.value = s)} />
        {dirty && (
          <div class="row end">
            <button type="button" onClick={() => (draft.value = chat.settings)}>
              Reset
            </button>
            <button type="submit" class="primary">
              Save settings
            </button>
          </div>
        )}
      </form>
      </details>
    </section>
  );
}

const EXPIRY: Array<[string, number]> = [
  ['Never', 0],
  ['1 hour', 3_600_000],
  ['1 day', 86_400_000],
  ['7 days', 7 * 86_400_000],
  ['30 days', 30 * 86_400_000],
];

export function inviteLink(code: string): string {
  return `${location.origin}/#/join/${code}`;
}

function inviteStatus(i: Invite, now: number): string {
  if (i.revoked) return 'revoked';
  if (i.expiresMs > 0 && i.expiresMs <= now) return 'expired';
  if (i.maxUses > 0 && i.uses >= i.maxUses) return 'used up';
  return 'active';
}

function InviteSection({ store, chat, run }: SectionProps): JSX.Element {
  const invites = useSignal<Invite[]>([]);
  const copied = useSignal('');
  const admin = isAdmin(chat);
  const load = () => (admin ? run(async () => void (invites.value = await store.listInvites(chat.id))) : Promise.resolve());
  // Uses change as people join: reload then too.
  useEffect(() => {
    void load();
  }, [chat.id, admin, chat.members.length, chat.memberCount]);
  const copy = async (code: string) => {
    const link = inviteLink(code);
    try {
      await navigator.clipboard.writeText(link);
      copied.value = code;
    } catch {
      copied.value = '';
      // No clipboard permission: the link is shown selected for copying by hand.
      (document.getElementById(`invite-${code}`) as HTMLInputElement | null)?.select();
    }
  };
  const now = Date.now();
  return (
    <section aria-labelledby="invites-h" class="invites">
      <h3 id="invites-h">Invite links</h3>
      <form
        class="invite-form"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget as HTMLFormElement);
          const ttl = Number(f.get('expiry') ?? 0);
          const uses = Math.max(0, Math.floor(Number(f.get('uses') ?? 0) || 0));
          void run(async () => {
            const inv = await store.createInvite(chat.id, ttl > 0 ? Date.now() + ttl : 0, uses);
            invites.value = [inv, ...invites.value.filter((i) => i.code !== inv.code)];
          });
        }}
      >
        <label class="inline">
          <span>Expires</span>
          <select name="expiry">
            {EXPIRY.map(([label, ms]) => (
              <option key={label} value={ms}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label class="inline">
          <span>Uses (0 = unlimited)</span>
          <input name="uses" type="number" min={0} max={100000} defaultValue="0" inputMode="numeric" />
        </label>
        <button type="submit">Create link</button>
      </form>
      <ul class="invite-list" aria-label="Invite links">
        {invites.value.map((i) => {
          const status = inviteStatus(i, now);
          return (
            <li key={i.code} class={`invite ${status.replace(' ', '-')}`} data-testid="invite">
              <input id={`invite-${i.code}`} class="invite-url" readOnly value={inviteLink(i.code)} aria-label="Invite link" onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
              <small>
                {status} · {i.uses}
                {i.maxUses > 0 ? ` of ${i.maxUses}` : ''} used · {i.expiresMs > 0 ? `expires ${new Date(i.expiresMs).toLocaleString()}` : 'never expires'}
              </small>
              {status === 'active' && (
                <span class="row">
                  <button type="button" class="small" onClick={() => void copy(i.code)}>
                    {copied.value === i.code ? 'Copied' : 'Copy link'}
                  </button>
                  {'share' in navigator && (
                    <button type="button" class="small" onClick={() => void navigator.share({ title: store.chatName(chat), url: inviteLink(i.code) }).catch(() => {})}>
                      Share
                    </button>
                  )}
                  <button
                    type="button"
                    class="small danger"
                    onClick={() =>
                      run(async () => {
                        await store.revokeInvite(chat.id, i.code);
                        invites.value = invites.value.map((x) => (x.code === i.code ? { ...x, revoked: true } : x));
                      })
                    }
                  >
                    Revoke
                  </button>
                </span>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function RequestsSection({ store, chat, run }: SectionProps): JSX.Element {
  const requests = useSignal<Array<{ userId: string; timeMs: number }>>([]);
  useEffect(() => {
    void run(async () => void (requests.value = await store.listJoinRequests(chat.id)));
  }, [chat.id, chat.pendingRequests]);
  const resolve = (userId: string, approve: boolean) =>
    run(async () => {
      await store.resolveJoinRequest(chat.id, userId, approve);
      requests.value = requests.value.filter((r) => r.userId !== userId);
    });
  return (
    <section aria-labelledby="requests-h">
      <h3 id="requests-h">
        Join requests <span class="count">{requests.value.length}</span>
      </h3>
      {requests.value.length === 0 && <p class="sub">No one is waiting.</p>}
      <ul class="members">
        {requests.value.map((r) => (
          <li key={r.userId}>
            <span>
              {store.userName(r.userId)}
              <small class="sub"> {new Date(r.timeMs).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' })}</small>
            </span>
            <span class="row">
              <button type="button" class="small primary" onClick={() => resolve(r.userId, true)} aria-label={`Approve ${store.userName(r.userId)}`}>
                Approve
              </button>
              <button type="button" class="small" onClick={() => resolve(r.userId, false)} aria-label={`Decline ${store.userName(r.userId)}`}>
                Decline
              </button>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

type M = { userId: string; role: RoleName };

const ROLE_LABEL: Record<RoleName, string> = { owner: 'Owner', admin: 'Admin', member: '' };

function MembersSection({ store, chat, run }: SectionProps): JSX.Element {
  const me = store.account.value?.userId ?? '';
  const list = useSignal<M[]>([]);
  const more = useSignal(false);
  const confirm = useSignal<string | null>(null);
  const successor = useSignal('');
  const admin = isAdmin(chat);
  const owner = chat.myRole === 'owner';
  // Non-admins of a channel see only its owner and admins (from ChatInfo).
  const paged = chat.kind !== 'channel' || admin;
  const fromRow = (): M[] => [
    ...(chat.owner ? [{ userId: chat.owner, role: 'owner' as const }] : []),
    ...chat.admins.filter((a) => a !== chat.owner).map((userId) => ({ userId, role: 'admin' as const })),
  ];
  const loadFirst = () =>
    paged
      ? run(async () => {
          const p = await store.listMembers(chat.id, '0');
          list.value = p.members;
          more.value = p.hasMore;
        })
      : Promise.resolve(void (list.value = fromRow()));
  const loadMore = () =>
    run(async () => {
      const last = list.value[list.value.length - 1];
      const p = await store.listMembers(chat.id, last?.userId ?? '0');
      const seen = new Set(list.value.map((m) => m.userId));
      list.value = [...list.value, ...p.members.filter((m) => !seen.has(m.userId))];
      more.value = p.hasMore;
    });
  // Membership or roles changed: reload the first page.
  const key = `${chat.members.length}|${chat.admins.join(',')}|${chat.owner}|${chat.memberCount}|${chat.myRole}`;
  useEffect(() => {
    void loadFirst();
  }, [key]);
  const canAdd = allowed(chat, chat.kind === 'channel' ? 'admins' : chat.settings.addMembers);
  const others = list.value.filter((m) => m.userId !== me);
  return (
    <section aria-labelledby="members-h">
      <h3 id="members-h">{chat.kind === 'channel' ? (paged ? 'Subscribers and admins' : 'Admins') : 'Members'}</h3>
      <ul class="members" data-testid="members">
        {list.value.map((m) => {
          const name = store.userName(m.userId);
          const self = m.userId === me;
          const actions: JSX.Element[] = [];
          if (!self && admin && m.role === 'member')
            actions.push(
              <button key="p" type="button" class="small" onClick={() => run(() => store.setRole(chat.id, m.userId, 'admin'))} aria-label={`Make admin: ${name}`}>
                Make admin
              </button>,
            );
          if (m.role === 'admin' && (owner || self))
            actions.push(
              <button key="d" type="button" class="small" onClick={() => run(() => store.setRole(chat.id, m.userId, 'member'))} aria-label={self ? 'Step down as admin' : `Dismiss admin: ${name}`}>
                {self ? 'Step down' : 'Dismiss admin'}
              </button>,
            );
          if (!self && owner)
            actions.push(
              <button key="t" type="button" class="small" onClick={() => (confirm.value = m.userId)} aria-label={`Make owner: ${name}`}>
                Make owner
              </button>,
            );
          if (!self && m.role !== 'owner' && (m.role === 'member' ? admin : owner))
            actions.push(
              <button key="r" type="button" class="small danger" onClick={() => run(() => store.removeMember(chat.id, m.userId))} aria-label={`Remove ${name}`}>
                Remove
              </button>,
            );
          return (
            <li key={m.userId} class="member">
              <span class="member-name">
                {self ? `${name} (you)` : name}
                {ROLE_LABEL[m.role] && <span class={`role role-${m.role}`}>{ROLE_LABEL[m.role]}</span>}
              </span>
              {actions.length > 0 && <span class="member-actions">{actions}</span>}
              {confirm.value === m.userId && (
                <span class="confirm" role="group" aria-label="Confirm transfer">
                  <span>Make {name} the owner? You stay an admin.</span>
                  <button
                    type="button"
                    class="small primary"
                    onClick={() =>
                      run(async () => {
                        confirm.value = null;
                        await store.transferOwnership(chat.id, m.userId);
                      })
                    }
                  >
                    Transfer ownership
                  </button>
                  <button type="button" class="small" onClick={() => (confirm.value = null)}>
                    Cancel
                  </button>
                </span>
              )}
            </li>
          );
        })}
      </ul>
      {more.value && (
        <button type="button" onClick={() => void loadMore()}>
          Load more members
        </button>
      )}
      {canAdd && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget as HTMLFormElement;
            const name = String(new FormData(form).get('member') ?? '');
            void run(async () => {
              await store.addMember(chat.id, name);
              form.reset();
            });
          }}
        >
          <input name="member" aria-label="Username to add" placeholder="Add by username" required autoComplete="off" />
          <button type="submit">Add</button>
        </form>
      )}
      {owner && others.length > 0 && (
        <label class="inline successor">
          <span>When you leave, the new owner is</span>
          <select value={successor.value} onChange={(e) => (successor.value = (e.currentTarget as HTMLSelectElement).value)}>
            <option value="">the longest-serving admin</option>
            {others.map((m) => (
              <option key={m.userId} value={m.userId}>
                {store.userName(m.userId)}
              </option>
            ))}
          </select>
        </label>
      )}
      <button type="button" class="danger" onClick={() => run(() => store.leave(chat.id, successor.value || undefined))}>
        {chat.kind === 'channel' ? 'Leave channel' : 'Leave group'}
      </button>
    </section>
  );
}
