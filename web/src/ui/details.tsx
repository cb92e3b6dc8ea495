// The details panel: the open chat's members (add, remove, leave) and this account's devices
// (revoke one; revoking this browser signs it out), plus sign-out.
import { useSignal } from '@preact/signals';
import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import type { ChatStore } from '../store/store.js';
import { describe } from './app.js';
import { Icon } from './icons.js';

export function Details({ store, chatId, onClose }: { store: ChatStore; chatId: string | null; onClose: () => void }): JSX.Element {
  const chat = chatId ? store.chats.value.get(chatId) : undefined;
  const error = useSignal('');
  const me = store.account.value?.userId;
  const run = async (f: () => Promise<void>) => {
    error.value = '';
    try {
      await f();
    } catch (e) {
      error.value = describe(e);
    }
  };
  useEffect(() => {
    void store.refreshDevices().catch(() => {});
  }, [store.connection.value === 'live']);
  return (
    <div class="details">
      <header class="pane-head">
        <h2>Details</h2>
        <button type="button" class="icon-btn close-details" onClick={onClose} aria-label="Close details">
          <Icon name="close" />
        </button>
      </header>
      {error.value && (
        <p class="error" role="alert">
          {error.value}
        </p>
      )}
      {chat && chat.kind === 'group' && !chat.left && (
        <section aria-labelledby="members-h">
          <h3 id="members-h">Members</h3>
          <ul class="members">
            {chat.members.map((id) => (
              <li key={id}>
                <span>{id === me ? `${store.userName(id)} (you)` : store.userName(id)}</span>
                {id !== me && (
                  <button type="button" class="small" onClick={() => run(() => store.removeMember(chat.id, id))} aria-label={`Remove ${store.userName(id)}`}>
                    Remove
                  </button>
                )}
              </li>
            ))}
          </ul>
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
          <button type="button" class="danger" onClick={() => run(() => store.leave(chat.id))}>
            Leave group
          </button>
        </section>
      )}
      {chat && chat.kind === 'direct' && (
        <section>
          <h3>Direct chat</h3>
          <p>With {store.chatName(chat)}</p>
        </section>
      )}
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
