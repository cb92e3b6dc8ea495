// "Mentions": the messages that mention this user (by name or @all) across their chats, newest
// first (ListMentions); a click opens the chat at the message.
import { useSignal } from '@preact/signals';
import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import { previewOf } from '../store/message-rows.js';
import type { ChatStore } from '../store/store.js';
import { describe, Modal } from './app.js';

export function MentionsDialog({ store, onClose }: { store: ChatStore; onClose: () => void }): JSX.Element {
  const error = useSignal('');
  const loading = useSignal(true);
  const load = (more: boolean) => {
    loading.value = true;
    store
      .loadMentions(more)
      .catch((e) => (error.value = describe(e)))
      .finally(() => (loading.value = false));
  };
  useEffect(() => load(false), []);
  const { rows, hasMore } = store.mentions.value;
  return (
    <Modal title="Mentions" onClose={onClose}>
      <ul class="mentions" data-testid="mentions">
        {rows.map((r) => {
          const c = store.chats.value.get(r.chatId);
          return (
            <li key={`${r.chatId}:${r.seq}`}>
              <button
                type="button"
                class="mention-item"
                onClick={() => {
                  onClose();
                  void store.reveal(r.chatId, r.seq);
                }}
              >
                <span class="sub">
                  {c ? store.chatName(c) : `chat ${r.chatId}`} · {store.userName(r.senderId)} · {new Date(r.timeMs).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' })}
                </span>
                <span class="mention-text">{previewOf(r)}</span>
              </button>
            </li>
          );
        })}
        {!loading.value && rows.length === 0 && <li class="none">Nobody has mentioned you yet.</li>}
      </ul>
      {error.value ? (
        <p class="error" role="alert">
          {error.value}
        </p>
      ) : (
        <></>
      )}
      <div class="row end">
        {hasMore && (
          <button type="button" onClick={() => load(true)} disabled={loading.value}>
            Older mentions
          </button>
        )}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}
