// Where the outbox is persisted, so that a message queued before a reload, a crash or while
// offline is sent after it, with the same client message id (never lost, never doubled).
// The client writes a record before the message is first sent and deletes it once acked.
import type { Contact, Location, SendOptions } from './types.js';

/** One unacknowledged message. `chatId` is a decimal string (IndexedDB cannot key bigints). */
export interface OutboxRecord {
  clientMsgId: string;
  chatId: string;
  content: string;
  /** Submission order: records are resent in ascending order. */
  order: number;
  /** The message's reply, mentions and attachment (`encodeSendOptions`); absent = none. */
  options?: string;
}

/** Send options as JSON with ids as decimal strings ('' = none): what a record keeps, and how two
 * sends under one client message id are told apart. */
export function encodeSendOptions(o: SendOptions | undefined): string {
  if (!o) return '';
  const a = o.attachment;
  const plain = {
    ...(o.replyToSeq ? { replyToSeq: o.replyToSeq.toString() } : {}),
    ...(o.mentions && o.mentions.length > 0 ? { mentions: o.mentions.map(String) } : {}),
    ...(o.mentionAll ? { mentionAll: true } : {}),
    ...(a ? { attachment: a.type === 'contact' ? { type: 'contact', contact: { ...a.contact, userId: a.contact.userId.toString() } } : a } : {}),
  };
  return Object.keys(plain).length > 0 ? JSON.stringify(plain) : '';
}

export function decodeSendOptions(s: string | undefined): SendOptions {
  if (!s) return {};
  type StoredContact = Omit<Contact, 'userId'> & { userId: string };
  const j = JSON.parse(s) as { replyToSeq?: string; mentions?: string[]; mentionAll?: boolean; attachment?: { type: 'location'; location: Location } | { type: 'contact'; contact: StoredContact } };
  const o: SendOptions = {};
  if (j.replyToSeq) o.replyToSeq = BigInt(j.replyToSeq);
  if (j.mentions) o.mentions = j.mentions.map((m) => BigInt(m));
  if (j.mentionAll) o.mentionAll = true;
  const a = j.attachment;
  if (a?.type === 'location') o.attachment = a;
  else if (a?.type === 'contact') o.attachment = { type: 'contact', contact: { ...a.contact, userId: BigInt(a.contact.userId) } };
  return o;
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
