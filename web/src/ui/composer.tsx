// The composer: text with @mention autocomplete, the reply or edit it is doing (Escape cancels;
// Up in an empty composer edits one's last message), and places and contact cards to attach.
import { useSignal } from '@preact/signals';
import type { JSX } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';
import { previewOf } from '../store/message-rows.js';
import type { ChatStore } from '../store/store.js';
import type { ChatRow, MessageRow } from '../store/types.js';
import { describe, Modal } from './app.js';
import { watchLive } from './live.js';
import { canEdit, type ConvUi } from './message-menu.js';
import { mentionsIn } from './mention-text.js';

const TOKEN = /(?:^|[^\w@])@([\w.-]*)$/u;
/** The chat's other members by name, for autocomplete (names the store knows). */
function memberNames(store: ChatStore, c: ChatRow): Array<[string, string]> {
  const me = store.account.value?.userId;
  return c.members.filter((id) => id !== me && store.users.value.has(id)).map((id) => [id, store.userName(id)]);
}

export function Composer({ store, chat, rows, ui }: { store: ChatStore; chat: ChatRow; rows: MessageRow[]; ui: ConvUi }): JSX.Element {
  const text = useSignal('');
  const caret = useSignal(0);
  const sel = useSignal(0);
  const dismissed = useSignal(false);
  const attachOpen = useSignal(false);
  const attach = useSignal<'place' | 'contact' | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  const draft = ui.draft.value;
  const me = store.account.value?.userId;
  const members = memberNames(store, chat);
  const group = chat.kind === 'group';

  // A new draft: editing fills in the text (before anything can read the box); replying
  // focuses it.
  useLayoutEffect(() => {
    if (draft?.mode === 'edit') text.value = draft.row.content;
    if (draft) ref.current?.focus();
  }, [draft]);

  const token = TOKEN.exec(text.value.slice(0, caret.value));
  const q = token ? token[1]!.toLowerCase() : null;
  const options = q === null ? [] : [...members.map(([, n]) => n), ...(group ? ['all'] : [])].filter((n) => n.toLowerCase().startsWith(q)).slice(0, 8);
  const suggesting = options.length > 0 && !dismissed.value;

  const pick = (name: string) => {
    const before = text.value.slice(0, caret.value).replace(/@[\w.-]*$/u, `@${name} `);
    text.value = before + text.value.slice(caret.value);
    caret.value = before.length;
    requestAnimationFrame(() => ref.current?.setSelectionRange(before.length, before.length));
    ref.current?.focus();
  };

  const cancel = () => {
    if (ui.draft.value?.mode === 'edit') text.value = '';
    ui.draft.value = null;
  };

  const send = () => {
    const body = text.value;
    const d = ui.draft.value;
    const m = mentionsIn(body, members, group);
    ui.error.value = '';
    if (d?.mode === 'edit') {
      if (!body.trim() && !d.row.place) return;
      store.edit(chat.id, d.row.seq, body, m.mentions).catch((e) => (ui.error.value = describe(e)));
    } else {
      if (!body.trim()) return;
      store.send(chat.id, body, { ...m, ...(d?.mode === 'reply' ? { replyTo: d.row.seq } : {}) });
    }
    ui.draft.value = null;
    text.value = '';
    if (ref.current) ref.current.value = '';
    ref.current?.focus();
  };

  const editLast = (): boolean => {
    for (let i = rows.length - 1; i >= 0; i--) {
      const r = rows[i]!;
      if (canEdit(r, me) && !r.hidden) {
        ui.draft.value = { mode: 'edit', row: r };
        return true;
      }
    }
    return false;
  };

  const onKey = (e: KeyboardEvent) => {
    if (suggesting) {
      if (e.key === 'ArrowDown') return (e.preventDefault(), (sel.value = (sel.value + 1) % options.length));
      if (e.key === 'ArrowUp') return (e.preventDefault(), (sel.value = (sel.value - 1 + options.length) % options.length));
      if (e.key === 'Enter' || e.key === 'Tab') return (e.preventDefault(), pick(options[Math.min(sel.value, options.length - 1)]!));
      if (e.key === 'Escape') return (e.preventDefault(), (dismissed.value = true));
    }
    if (e.key === 'Escape' && ui.draft.value) return (e.preventDefault(), cancel());
    if (e.key === 'ArrowUp' && !text.value && !ui.draft.value && editLast()) return e.preventDefault();
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) (e.preventDefault(), send());
  };

  const lines = Math.min(6, text.value.split('\n').length);
  return (
    <div class="composer-wrap">
      {draft && (
        <div class="draft" data-testid="draft">
          <span class="draft-text">
            <strong>{draft.mode === 'edit' ? 'Editing' : `Replying to ${draft.row.senderId === me ? 'yourself' : store.userName(draft.row.senderId)}`}</strong>
            <span class="sub"> {previewOf(draft.row)}</span>
          </span>
          <button type="button" class="icon-btn" aria-label={draft.mode === 'edit' ? 'Cancel editing' : 'Cancel reply'} onClick={cancel}>
            ✕
          </button>
        </div>
      )}
      {ui.error.value && (
        <p class="error composer-error" role="alert">
          {ui.error.value}
        </p>
      )}
      {suggesting && (
        <ul class="suggest" role="listbox" id="mention-list" aria-label="Mention someone">
          {options.map((n, i) => (
            <li key={n} id={`mention-${i}`} role="option" aria-selected={i === sel.value} class={i === sel.value ? 'selected' : ''} onMouseDown={(e) => (e.preventDefault(), pick(n))}>
              @{n}
              {n === 'all' ? <span class="sub"> everyone here</span> : null}
            </li>
          ))}
        </ul>
      )}
      <form class="composer" onSubmit={(e) => (e.preventDefault(), send())}>
        <span class="attach">
          <button type="button" class="icon-btn" aria-label="Attach" aria-haspopup="menu" aria-expanded={attachOpen.value} onClick={() => (attachOpen.value = !attachOpen.value)} disabled={draft?.mode === 'edit'}>
            <svg class="icon" viewBox="0 0 24 24" width={20} height={20} aria-hidden="true" focusable="false">
              <path d="M12 5v14M5 12h14" fill="none" stroke="currentColor" stroke-width={2} stroke-linecap="round" />
            </svg>
          </button>
          {attachOpen.value && (
            <>
              <div class="menu-catcher" onClick={() => (attachOpen.value = false)} />
              <ul class="menu up" role="menu" aria-label="Attach">
                {(['place', 'contact'] as const).map((k) => (
                  <li key={k} role="menuitem" tabIndex={0} onClick={() => ((attachOpen.value = false), (attach.value = k))} onKeyDown={(e) => e.key === 'Enter' && ((attachOpen.value = false), (attach.value = k))}>
                    {k === 'place' ? 'Location' : 'Contact'}
                  </li>
                ))}
              </ul>
            </>
          )}
        </span>
        <textarea
          ref={ref}
          rows={lines}
          aria-label="Message"
          placeholder={draft?.mode === 'edit' ? 'Edit message' : 'Message'}
          value={text.value}
          maxLength={16000}
          aria-autocomplete="list"
          aria-controls={suggesting ? 'mention-list' : undefined}
          aria-activedescendant={suggesting ? `mention-${sel.value}` : undefined}
          onInput={(e) => {
            const t = e.currentTarget as HTMLTextAreaElement;
            text.value = t.value;
            if (ui.draft.value?.mode !== 'edit') store.composing(chat.id, t.value.trim() !== '');
            caret.value = t.selectionStart;
            sel.value = 0;
            dismissed.value = false;
          }}
          onKeyUp={(e) => {
            if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End') caret.value = (e.currentTarget as HTMLTextAreaElement).selectionStart;
          }}
          onClick={(e) => (caret.value = (e.currentTarget as HTMLTextAreaElement).selectionStart)}
          onKeyDown={onKey}
        />
        <button type="submit" class="primary send" aria-label={draft?.mode === 'edit' ? 'Save' : 'Send'} disabled={!text.value.trim()}>
          {draft?.mode === 'edit' ? 'Save' : 'Send'}
        </button>
      </form>
      {attach.value === 'place' && <PlaceDialog store={store} chatId={chat.id} onClose={() => (attach.value = null)} />}
      {attach.value === 'contact' && <ContactDialog store={store} chatId={chat.id} onClose={() => (attach.value = null)} />}
    </div>
  );
}

const LIVE_CHOICES: Array<[number, string]> = [
  [0, 'A fixed place'],
  [15, 'Live for 15 minutes'],
  [60, 'Live for 1 hour'],
  [480, 'Live for 8 hours'],
];

function PlaceDialog({ store, chatId, onClose }: { store: ChatStore; chatId: string; onClose: () => void }): JSX.Element {
  const lat = useSignal('');
  const lon = useSignal('');
  const accuracy = useSignal(0);
  const error = useSignal('');
  const locating = useSignal(false);
  const geo = 'geolocation' in navigator;
  const here = () => {
    locating.value = true;
    error.value = '';
    navigator.geolocation.getCurrentPosition(
      (p) => {
        locating.value = false;
        lat.value = p.coords.latitude.toFixed(6);
        lon.value = p.coords.longitude.toFixed(6);
        accuracy.value = p.coords.accuracy;
      },
      (e) => {
        locating.value = false;
        error.value = `Could not get your position: ${e.message || 'permission denied'}.`;
      },
      { enableHighAccuracy: true, timeout: 15_000 },
    );
  };
  const submit = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const latitude = Number(lat.value);
    const longitude = Number(lon.value);
    if (!lat.value.trim() || !lon.value.trim() || !(Math.abs(latitude) <= 90) || !(Math.abs(longitude) <= 180)) {
      error.value = 'Latitude must be -90..90 and longitude -180..180.';
      return;
    }
    const minutes = Number(f.get('live') ?? 0);
    const id = store.sendPlace(chatId, { latitude, longitude, accuracyM: accuracy.value, label: String(f.get('label') ?? '').trim(), liveUntilMs: 0 }, String(f.get('caption') ?? ''), minutes);
    if (minutes > 0 && geo) watchLive(store, chatId, id, Date.now() + minutes * 60_000);
    onClose();
  };
  return (
    <Modal title="Share a location" onClose={onClose}>
      <form class="stack" onSubmit={submit}>
        <div class="row">
          <label class="grow">
            Latitude
            <input name="lat" inputMode="decimal" value={lat.value} onInput={(e) => ((lat.value = (e.currentTarget as HTMLInputElement).value), (accuracy.value = 0))} required />
          </label>
          <label class="grow">
            Longitude
            <input name="lon" inputMode="decimal" value={lon.value} onInput={(e) => ((lon.value = (e.currentTarget as HTMLInputElement).value), (accuracy.value = 0))} required />
          </label>
        </div>
        {geo && (
          <button type="button" onClick={here} disabled={locating.value}>
            {locating.value ? 'Locating…' : 'Use my current location'}
          </button>
        )}
        <label>
          Place name (optional)
          <input name="label" maxLength={256} />
        </label>
        <label>
          Caption (optional)
          <input name="caption" maxLength={1000} />
        </label>
        <label>
          Share as
          <select name="live">
            {LIVE_CHOICES.map(([m, l]) => (
              <option key={m} value={m}>
                {l}
              </option>
            ))}
          </select>
        </label>
        {error.value && (
          <p class="error" role="alert">
            {error.value}
          </p>
        )}
        <div class="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Share location
          </button>
        </div>
      </form>
    </Modal>
  );
}

const list = (v: FormDataEntryValue | null) =>
  String(v ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

function ContactDialog({ store, chatId, onClose }: { store: ChatStore; chatId: string; onClose: () => void }): JSX.Element {
  const error = useSignal('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const name = String(f.get('name') ?? '').trim();
    const username = String(f.get('username') ?? '').trim().replace(/^@/u, '');
    error.value = '';
    try {
      const userId = username ? (await store.lookup(username)).userId : '';
      store.sendContact(chatId, { name, phones: list(f.get('phones')).slice(0, 8), emails: list(f.get('emails')).slice(0, 8), userId });
      onClose();
    } catch (err) {
      error.value = describe(err);
    }
  };
  return (
    <Modal title="Share a contact" onClose={onClose}>
      <form class="stack" onSubmit={submit}>
        <label>
          Name
          <input name="name" required maxLength={128} />
        </label>
        <label>
          Phone numbers (comma separated)
          <input name="phones" inputMode="tel" />
        </label>
        <label>
          Email addresses (comma separated)
          <input name="emails" inputMode="email" />
        </label>
        <label>
          Magpie username (optional)
          <input name="username" autoComplete="off" />
        </label>
        {error.value && (
          <p class="error" role="alert">
            {error.value}
          </p>
        )}
        <div class="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Share contact
          </button>
        </div>
      </form>
    </Modal>
  );
}
