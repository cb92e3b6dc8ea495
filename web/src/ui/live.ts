// Sharing a live location from this tab: the browser's position is watched and sent with
// UpdateLiveLocation (at most every 15 s) until its time is up or the user stops it. Only the tab
// that started it moves it; any of the sender's tabs can end it.
import type { ChatStore } from '../store/store.js';
import type { MessageRow } from '../store/types.js';

const MIN_INTERVAL_MS = 15_000;
const watches = new Map<string, { watchId: number; chatId: string }>();

/** Whether this tab is moving the live location of this message. */
export function sharingLive(m: MessageRow): boolean {
  return watches.has(m.clientMsgId);
}

function stopWatching(clientMsgId: string): void {
  const w = watches.get(clientMsgId);
  if (!w) return;
  navigator.geolocation.clearWatch(w.watchId);
  watches.delete(clientMsgId);
}

/** Starts moving the live location sent as `clientMsgId` with the browser's position: at most
 * one update every 15 s, the latest position last (a newer one replaces a waiting one). */
export function watchLive(store: ChatStore, chatId: string, clientMsgId: string, liveUntilMs: number): void {
  if (!('geolocation' in navigator) || !clientMsgId) return;
  let last = 0;
  let waiting: GeolocationCoordinates | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    const at = waiting;
    if (!at || !watches.has(clientMsgId)) return;
    if (Date.now() >= liveUntilMs) return stopWatching(clientMsgId);
    // The seq comes with the ack: until then there is nothing to move (try again shortly).
    const row = store.messages(chatId).value.find((r) => r.clientMsgId === clientMsgId && r.state === 'sent');
    if (!row) return void (timer = setTimeout(flush, 1000));
    waiting = null;
    last = Date.now();
    store.moveLive(chatId, row.seq, { latitude: at.latitude, longitude: at.longitude, accuracyM: at.accuracy }).catch(() => stopWatching(clientMsgId));
  };
  const watchId = navigator.geolocation.watchPosition(
    (pos) => {
      waiting = pos.coords;
      if (!timer) timer = setTimeout(flush, Math.max(0, last + MIN_INTERVAL_MS - Date.now()));
    },
    // Losing the position for a while (a tunnel, a timeout) is no reason to stop; being denied is.
    (e) => e.code === e.PERMISSION_DENIED && stopWatching(clientMsgId),
    { enableHighAccuracy: true, maximumAge: 10_000 },
  );
  watches.set(clientMsgId, { watchId, chatId });
}

/** Ends one's live location now (at its last position). */
export async function stopLive(store: ChatStore, m: MessageRow): Promise<void> {
  stopWatching(m.clientMsgId);
  const p = m.place;
  if (!p) return;
  await store.moveLive(m.chatId, m.seq, { latitude: p.latitude, longitude: p.longitude, accuracyM: p.accuracyM }, true);
}
