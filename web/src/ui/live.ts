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

/** Starts moving the live location sent as `clientMsgId` with the browser's position. */
export function watchLive(store: ChatStore, chatId: string, clientMsgId: string, liveUntilMs: number): void {
  if (!('geolocation' in navigator) || !clientMsgId) return;
  let last = 0;
  const watchId = navigator.geolocation.watchPosition(
    (pos) => {
      const now = Date.now();
      if (now >= liveUntilMs) return stopWatching(clientMsgId);
      if (now - last < MIN_INTERVAL_MS) return;
      // The seq comes with the ack: until then there is nothing to move.
      const row = store.messages(chatId).value.find((r) => r.clientMsgId === clientMsgId && r.state === 'sent');
      if (!row) return;
      last = now;
      const { latitude, longitude, accuracy } = pos.coords;
      store.moveLive(chatId, row.seq, { latitude, longitude, accuracyM: accuracy }).catch(() => stopWatching(clientMsgId));
    },
    () => stopWatching(clientMsgId),
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
