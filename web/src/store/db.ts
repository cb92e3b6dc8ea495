// The store's IndexedDB: chats, messages and a key-value table (account, cursors, user names),
// so a reload shows the last state before the network answers. No DOM, no framework.
import { touches, type Patch } from './message-rows.js';
import type { ChatRow, MessageRow } from './types.js';

const VERSION = 1;

/** Runs `fn` in one transaction; resolves with its request's result once the transaction
 * has committed (so a write is durable before anyone hears of it). */
function inTx<T>(db: IDBDatabase, stores: string[], mode: IDBTransactionMode, fn: (tx: IDBTransaction) => IDBRequest<T> | void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(stores, mode);
    const req = fn(tx);
    tx.oncomplete = () => resolve(req ? req.result : undefined);
    tx.onerror = tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
  });
}

/** What one flush writes, in one transaction: events and the cursors that cover them land
 * together, so a reload never resumes past an event it did not keep. */
export interface Batch {
  chats: ChatRow[];
  messages: MessageRow[];
  /** Applied after `messages`, in order, to the cached rows they touch. */
  patches?: RowPatch[];
  kv: Array<[string, unknown]>;
}

/** A change to one chat's cached messages (an edit, a deletion, reactions, ...). */
export interface RowPatch {
  chatId: string;
  patch: Patch;
}

/** Applies patches one after another inside `store`'s transaction: each reads what the one
 * before wrote (requests issued side by side would read the same old row and lose an update). */
function applyInTx(store: IDBObjectStore, patches: readonly RowPatch[], i = 0): void {
  const rp = patches[i];
  if (!rp) return;
  const { chatId, patch } = rp;
  const next = () => applyInTx(store, patches, i + 1);
  const keys: IDBValidKey[] | IDBKeyRange = patch.quotes ? IDBKeyRange.bound([chatId, 0], [chatId, Number.MAX_SAFE_INTEGER]) : patch.seqs.map((q) => [chatId, q]);
  if (keys instanceof IDBKeyRange) {
    // A deletion's quotes: any row of the chat may quote it.
    const req = store.openCursor(keys);
    req.onsuccess = () => {
      const c = req.result;
      if (!c) return next();
      const row = c.value as MessageRow;
      if (touches(patch, row)) c.update(patch.apply(row));
      c.continue();
    };
    return;
  }
  let left = keys.length;
  if (left === 0) return next();
  for (const key of keys) {
    const req = store.get(key);
    req.onsuccess = () => {
      const row = req.result as MessageRow | undefined;
      if (row && !row.notice) store.put(patch.apply(row));
      if (--left === 0) next();
    };
  }
}

export class Db {
  private constructor(private readonly db: IDBDatabase, readonly name: string) {}

  static async open(name: string, factory: IDBFactory = globalThis.indexedDB): Promise<Db> {
    const req = factory.open(name, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('chats')) db.createObjectStore('chats', { keyPath: 'id' });
      // Keyed [chatId, seq]: one chat's messages are a key range, in seq order.
      if (!db.objectStoreNames.contains('messages')) db.createObjectStore('messages', { keyPath: ['chatId', 'seq'] });
      if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv');
    };
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    return new Db(db, name);
  }

  static async destroy(name: string, factory: IDBFactory = globalThis.indexedDB): Promise<void> {
    await new Promise<void>((resolve) => {
      const req = factory.deleteDatabase(name);
      req.onsuccess = req.onerror = req.onblocked = () => resolve();
    });
  }

  close(): void {
    this.db.close();
  }

  async get<T>(key: string): Promise<T | undefined> {
    return (await inTx(this.db, ['kv'], 'readonly', (tx) => tx.objectStore('kv').get(key))) as T | undefined;
  }

  async chats(): Promise<ChatRow[]> {
    return ((await inTx(this.db, ['chats'], 'readonly', (tx) => tx.objectStore('chats').getAll())) ?? []) as ChatRow[];
  }

  /** A chat's cached messages with seq in [from, to], ascending. */
  async messages(chatId: string, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<MessageRow[]> {
    const range = IDBKeyRange.bound([chatId, from], [chatId, to]);
    return ((await inTx(this.db, ['messages'], 'readonly', (tx) => tx.objectStore('messages').getAll(range))) ?? []) as MessageRow[];
  }

  async write(b: Batch): Promise<void> {
    await inTx(this.db, ['chats', 'messages', 'kv'], 'readwrite', (tx) => {
      const chats = tx.objectStore('chats');
      const messages = tx.objectStore('messages');
      const kv = tx.objectStore('kv');
      for (const c of b.chats) chats.put(c);
      for (const m of b.messages) messages.put(m);
      applyInTx(messages, b.patches ?? []);
      for (const [k, v] of b.kv) kv.put(v, k);
    });
  }
}
