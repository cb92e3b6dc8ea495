// Entry point: wires the real client and browser storage into the store, renders the UI and
// registers the service worker. The only module that knows about all three layers.
import { IndexedDbOutboxStore, MagpieClient, newClientMsgId } from '@magpie/client';
import { render } from 'preact';
import { ChatStore } from './store/store.js';
import { App } from './ui/app.js';
import './ui/styles.css';

/** `/ws` on the host the page came from, `wss:` when the page is `https:`. */
function wsUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

const store = new ChatStore({
  createClient: (spec) => new MagpieClient({ url: wsUrl, clientName: 'magpie-web', ...spec }),
  openOutbox: (name) => IndexedDbOutboxStore.open(name),
  storage: localStorage,
  indexedDB,
  newId: newClientMsgId,
  now: () => Date.now(),
});

render(<App store={store} />, document.getElementById('app')!);
void store.restore().catch(() => {});

if ('serviceWorker' in navigator && location.protocol !== 'file:') {
  void navigator.serviceWorker.register('/sw.js').catch(() => {});
}
