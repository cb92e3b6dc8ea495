// Where the outbox is persisted, so that a message queued before a reload, a crash or while
// offline is sent after it, with the same client message id (never lost, never doubled).
// The client writes a record before the message is first sent and deletes it once acked.

/** One unacknowledged message. `chatId` is a decimal string (IndexedDB cannot key bigints). */
export interface OutboxRecord {
  clientMsgId: string;
  chatId: string;
  content: string;
  /** Submission order: records are resent in ascending order. */
  order: number;
}

export interface OutboxStore {
  /** Every record, in any order. */
  load(): Promise<OutboxRecord[]>;
  /** Adds or replaces the record with this `clientMsgId`; resolves once it is durable. */
  put(record: OutboxRecord): Promise<void>;
  delete(clientMsgId: string): Promise<void>;
}

/** Keeps records in memory: survives reconnects and a new client given the same store, not a
 * process restart or page reload. */
export class MemoryOutboxStore implements OutboxStore {
  private readonly records = new Map<string, OutboxRecord>();

  async load(): Promise<OutboxRecord[]> {
    return [...this.records.values()].map((r) => ({ ...r }));
  }

  async put(record: OutboxRecord): Promise<void> {
    this.records.set(record.clientMsgId, { ...record });
  }

  async delete(clientMsgId: string): Promise<void> {
    this.records.delete(clientMsgId);
  }

  get size(): number {
    return this.records.size;
  }
}
