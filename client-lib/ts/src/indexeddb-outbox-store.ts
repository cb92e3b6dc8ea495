// The outbox in IndexedDB, for browsers (and for Node with a polyfill such as fake-indexeddb).
import type { OutboxRecord, OutboxStore } from './outbox-store.js';

const STORE = 'outbox';

function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export class IndexedDbOutboxStore implements OutboxStore {
  private constructor(private readonly db: IDBDatabase) {}

  /**
   * Opens (creating if needed) the database `name`. Use one database per signed-in device: the
   * server deduplicates by (device, client message id).
   */
  static async open(name = 'magpie-outbox', factory: IDBFactory = globalThis.indexedDB): Promise<IndexedDbOutboxStore> {
    if (!factory) throw new Error('IndexedDB is not available here: pass an IDBFactory');
    const req = factory.open(name, 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE, { keyPath: 'clientMsgId' });
    };
    return new IndexedDbOutboxStore(await done(req));
  }

  async load(): Promise<OutboxRecord[]> {
    const tx = this.db.transaction(STORE, 'readonly');
    const all = (await done(tx.objectStore(STORE).getAll())) as OutboxRecord[];
    return all.map(({ clientMsgId, chatId, content, order, options }) => ({ clientMsgId, chatId, content, order, ...(options ? { options } : {}) }));
  }

  async put(record: OutboxRecord): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put({ ...record });
    await committed(tx);
  }

  async delete(clientMsgId: string): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).delete(clientMsgId);
    await committed(tx);
  }

  close(): void {
    this.db.close();
  }
}
