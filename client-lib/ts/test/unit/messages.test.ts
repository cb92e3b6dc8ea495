// Message features on the wire (PROTOCOL.md §6.13): every new request encoded as the schema
// says, every new event, reply and push decoded, and the client's calls against a fake server
// (send options through the outbox and its store, the MessagesHidden push).
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { MagpieClient, type ClientEvent } from '../../src/client.js';
import { decodeEvent, decodeFrame, type Reply } from '../../src/decode.js';
import * as encode from '../../src/encode.js';
import { MagpieError } from '../../src/error.js';
import { ErrorCode } from '../../src/errors.js';
import * as fb from '../../src/generated/magpie/wire/fb.js';
import { IndexedDbOutboxStore } from '../../src/indexeddb-outbox-store.js';
import { decodeSendOptions, encodeSendOptions, MemoryOutboxStore } from '../../src/outbox-store.js';
import type { SendOptions } from '../../src/types.js';
import { FakeServer, type FakeConnection } from '../support/fake-transport.js';
import * as sf from '../support/server-frames.js';

const H = { chatId: 7n, seq: 9n, senderId: 11n, senderDeviceId: 12n, timeMs: 1_700_000_000_000n };
const body = <T>(bytes: Uint8Array, obj: T): T => sf.readClientFrame(bytes).frame.body(obj) as T;
const kindOf = (bytes: Uint8Array) => {
  const e = decodeEvent(bytes);
  if (e instanceof MagpieError) throw e;
  return e.kind;
};
const messageOf = (bytes: Uint8Array) => {
  const k = kindOf(bytes);
  if (k.type !== 'message') throw new Error(`not a message: ${k.type}`);
  return k;
};
const resultOf = (bytes: Uint8Array): Reply => {
  const f = decodeFrame(bytes);
  if (f instanceof MagpieError || f.kind !== 'reply' || f.result instanceof MagpieError) throw new Error('not a reply');
  return f.result;
};

describe('message feature requests', () => {
  it('SendMessage carries a reply, mentions, @all and a place', () => {
    const m = body(
      encode.sendMessage(1n, 9n, 'id-1', 'look', { replyToSeq: 4n, mentions: [2n, 3n], mentionAll: true, attachment: { type: 'location', location: { latitude: 52.5, longitude: -13.25, accuracyM: 8, label: 'Gate', liveUntilMs: 1_700_000_360_000 } } }),
      new fb.SendMessage(),
    );
    expect([m.chatId(), m.clientMsgId(), m.content(), m.replyToSeq(), m.mentionsLength(), m.mentions(1), m.mentionAll()]).toEqual([9n, 'id-1', 'look', 4n, 2, 3n, true]);
    expect(m.attachmentType()).toBe(fb.Attachment.Location);
    const l = m.attachment(new fb.Location()) as fb.Location;
    expect([l.latitude(), l.longitude(), l.accuracyM(), l.label(), l.liveUntilMs()]).toEqual([52.5, -13.25, 8, 'Gate', 1_700_000_360_000n]);
  });

  it('SendMessage carries a contact card, and nothing extra without options', () => {
    const m = body(encode.sendMessage(1n, 9n, 'id-2', '', { attachment: { type: 'contact', contact: { name: 'Ana', phones: ['+1 555'], emails: ['a@x.org', 'b@x.org'], userId: 42n } } }), new fb.SendMessage());
    expect([m.content(), m.attachmentType()]).toEqual([null, fb.Attachment.Contact]);
    const c = m.attachment(new fb.Contact()) as fb.Contact;
    expect([c.name(), c.phonesLength(), c.phones(0), c.emailsLength(), c.emails(1), c.userId()]).toEqual(['Ana', 1, '+1 555', 2, 'b@x.org', 42n]);
    const plain = body(encode.sendMessage(1n, 9n, 'id-3', 'hi'), new fb.SendMessage());
    expect([plain.replyToSeq(), plain.mentionsLength(), plain.mentionAll(), plain.attachmentType()]).toEqual([0n, 0, false, fb.Attachment.NONE]);
  });

  it('encode every other request with its fields', () => {
    const e = body(encode.editMessage(1n, 7n, 3n, 'fixed', [5n]), new fb.EditMessage());
    expect([e.chatId(), e.seq(), e.content(), e.mentionsLength(), e.mentions(0)]).toEqual([7n, 3n, 'fixed', 1, 5n]);
    const d = body(encode.deleteMessages(2n, 7n, [3n, 4n], true), new fb.DeleteMessages());
    expect([d.chatId(), d.seqsLength(), d.seqs(1), d.forEveryone()]).toEqual([7n, 2, 4n, true]);
    const r = body(encode.react(3n, 7n, 3n, '👍🏽', false), new fb.React());
    expect([r.chatId(), r.seq(), r.emoji(), r.add()]).toEqual([7n, 3n, '👍🏽', false]);
    const lr = body(encode.listReactions(4n, 7n, 3n, '🎉', 10n, 20), new fb.ListReactions());
    expect([lr.chatId(), lr.seq(), lr.emoji(), lr.afterUserId(), lr.limit()]).toEqual([7n, 3n, '🎉', 10n, 20]);
    const p = body(encode.pinMessage(5n, 7n, 3n, true), new fb.PinMessage());
    expect([p.chatId(), p.seq(), p.pinned()]).toEqual([7n, 3n, true]);
    expect(body(encode.listPins(6n, 7n), new fb.ListPins()).chatId()).toBe(7n);
    const u = body(encode.updateLiveLocation(7n, 7n, 3n, 1.5, 2.5, 30, true), new fb.UpdateLiveLocation());
    expect([u.chatId(), u.seq(), u.latitude(), u.longitude(), u.accuracyM(), u.stop()]).toEqual([7n, 3n, 1.5, 2.5, 30, true]);
    const f = body(encode.forwardMessage(8n, 7n, 3n, [8n, 9n], 'fw-1'), new fb.ForwardMessage());
    expect([f.fromChatId(), f.seq(), f.toChatIdsLength(), f.toChatIds(1), f.clientMsgId()]).toEqual([7n, 3n, 2, 9n, 'fw-1']);
    const v = body(encode.getMessageVersions(9n, 7n, 3n), new fb.GetMessageVersions());
    expect([v.chatId(), v.seq()]).toEqual([7n, 3n]);
    const lm = body(encode.listMentions(10n, 99n, 25), new fb.ListMentions());
    expect([lm.beforeMessageId(), lm.limit()]).toEqual([99n, 25]);
  });

  it('send options survive the outbox store as they were', () => {
    const o: SendOptions = { replyToSeq: 2n ** 63n, mentions: [1n, 2n], mentionAll: true, attachment: { type: 'contact', contact: { name: 'Bo', phones: [], emails: ['b@o'], userId: 2n ** 64n - 1n } } };
    expect(decodeSendOptions(encodeSendOptions(o))).toEqual(o);
    const place: SendOptions = { attachment: { type: 'location', location: { latitude: -90, longitude: 180, accuracyM: 0, label: '', liveUntilMs: 0 } } };
    expect(decodeSendOptions(encodeSendOptions(place))).toEqual(place);
    expect(encodeSendOptions({})).toBe('');
    expect(encodeSendOptions({ mentions: [] })).toBe('');
    expect(decodeSendOptions(undefined)).toEqual({});
  });
});

describe('message feature events and replies', () => {
  it('decode a reply that quotes, a forwarded copy, mentions, a place, a contact and a tombstone', () => {
    expect(kindOf(sf.messageEvent(H, 'yes', 'c', 5n, { replyTo: { seq: 3n, messageId: 4n, senderId: 2n, preview: 'lunch?' }, mentions: [2n], mentionAll: true }))).toMatchObject({
      content: 'yes', replyTo: { seq: 3n, messageId: 4n, senderId: 2n, preview: 'lunch?', deleted: false }, mentions: [2n], mentionAll: true, forwarded: null, attachment: null,
    });
    expect(messageOf(sf.messageEvent(H, 'fw', 'c', 5n, { forwarded: { originalSenderId: 3n, originalTimeMs: 1_600_000_000_000n, fromChatId: 8n, fromTitle: 'News' } })).forwarded).toEqual({
      originalSenderId: 3n, originalTimeMs: 1_600_000_000_000, fromChatId: 8n, fromTitle: 'News',
    });
    expect(messageOf(sf.messageEvent(H, '', 'c', 5n, { location: { latitude: 1.25, longitude: 2.5, accuracyM: 3, label: 'Here', liveUntilMs: 1_700_000_100_000n } })).attachment).toEqual({
      type: 'location', location: { latitude: 1.25, longitude: 2.5, accuracyM: 3, label: 'Here', liveUntilMs: 1_700_000_100_000 },
    });
    expect(messageOf(sf.messageEvent(H, '', 'c', 5n, { contact: { name: 'Ana', phones: ['1', '2'], emails: [], userId: 4n } })).attachment).toEqual({
      type: 'contact', contact: { name: 'Ana', phones: ['1', '2'], emails: [], userId: 4n },
    });
    expect(kindOf(sf.messageEvent(H, '', 'c', 5n, { deleted: true }))).toEqual({
      type: 'message', messageId: 5n, clientMsgId: 'c', content: '', replyTo: null, forwarded: null, mentions: [], mentionAll: false, attachment: null, deleted: true,
    });
  });

  it('decode the five new event bodies', () => {
    expect(kindOf(sf.messageEditedEvent(H, 3n, 'better', [4n]))).toEqual({ type: 'messageEdited', targetSeq: 3n, content: 'better', mentions: [4n] });
    expect(kindOf(sf.messagesDeletedEvent(H, [3n, 5n]))).toEqual({ type: 'messagesDeleted', seqs: [3n, 5n] });
    expect(kindOf(sf.reactionsChangedEvent(H, [{ seq: 3n, counts: [['👍', 2], ['🎉', 1]], toggles: [[4n, '👍', true], [5n, '😮', false]] }, { seq: 4n, counts: [] }]))).toEqual({
      type: 'reactionsChanged',
      messages: [
        { seq: 3n, counts: [{ emoji: '👍', count: 2 }, { emoji: '🎉', count: 1 }], toggles: [{ userId: 4n, emoji: '👍', added: true }, { userId: 5n, emoji: '😮', added: false }] },
        { seq: 4n, counts: [], toggles: [] },
      ],
    });
    expect(kindOf(sf.messagePinnedEvent(H, 3n, true))).toEqual({ type: 'messagePinned', targetSeq: 3n, pinned: true });
    expect(kindOf(sf.liveLocationUpdatedEvent(H, 3n, 10.5, 20.25, 5, true))).toEqual({ type: 'liveLocationUpdated', targetSeq: 3n, latitude: 10.5, longitude: 20.25, accuracyM: 5, stopped: true });
  });

  it('decode history pages with states, pins, reactions, forwards, versions and mentions', () => {
    const page = resultOf(sf.historyPage(1n, 7n, [sf.messageEvent({ chatId: 7n, seq: 2n }, 'a')], false, [
      { seq: 2n, editCount: 2, content: 'a2', editedMs: 5n, reactions: [['👍', 3]], myReactions: ['👍'], pinned: true, location: { latitude: 1, longitude: 2 }, hidden: true, chatId: 7n },
    ]));
    expect(page).toMatchObject({ type: 'page', page: { events: [{ seq: 2n }] } });
    expect(page.type === 'page' && page.page.states).toEqual([
      { seq: 2n, event: null, editCount: 2, content: 'a2', editedMs: 5, deleted: false, reactions: [{ emoji: '👍', count: 3 }], myReactions: ['👍'], pinned: true, location: { latitude: 1, longitude: 2, accuracyM: 0, label: '', liveUntilMs: 0 }, hidden: true, chatId: 7n },
    ]);
    // A page without states (an older server) reads as none.
    expect(resultOf(sf.historyPage(1n, 7n, []))).toMatchObject({ page: { states: [] } });
    const pins = resultOf(sf.pinList(2n, 7n, [{ seq: 4n, event: sf.messageEvent({ chatId: 7n, seq: 4n }, 'pinned one'), pinned: true }]));
    expect(pins).toMatchObject({ type: 'pinList', chatId: 7n, messages: [{ seq: 4n, pinned: true, event: { seq: 4n, kind: { type: 'message', content: 'pinned one' } } }] });
    expect(resultOf(sf.reactionList(3n, 7n, 4n, [[2n, ['👍', '🎉']], [3n, ['👍']]], true))).toEqual({
      type: 'reactionList', chatId: 7n, seq: 4n, users: [{ userId: 2n, emojis: ['👍', '🎉'] }, { userId: 3n, emojis: ['👍'] }], hasMore: true,
    });
    expect(resultOf(sf.forwardAck(4n, 'fw', [[8n, 100n, 5n, 0], [9n, 0n, 0n, ErrorCode.Forbidden]]))).toEqual({
      type: 'forwardAck', ack: { clientMsgId: 'fw', results: [{ chatId: 8n, messageId: 100n, seq: 5n, errorCode: 0 }, { chatId: 9n, messageId: 0n, seq: 0n, errorCode: 201 }] },
    });
    expect(resultOf(sf.messageVersions(5n, 7n, 4n, [[4n, 'v1', 10n], [6n, 'v2', 20n]]))).toEqual({
      type: 'versions', chatId: 7n, seq: 4n, versions: [{ seq: 4n, content: 'v1', timeMs: 10 }, { seq: 6n, content: 'v2', timeMs: 20 }],
    });
    const mentions = resultOf(sf.mentionList(6n, [sf.messageEvent({ chatId: 8n, seq: 3n }, '@alice hi', 'x', 77n, { mentions: [1n] })], [{ seq: 3n, editCount: 1, content: '@alice hello' }], true));
    expect(mentions).toMatchObject({ type: 'mentions', page: { hasMore: true, events: [{ chatId: 8n, kind: { mentions: [1n] } }], states: [{ seq: 3n, content: '@alice hello' }] } });
  });

  it('decode the MessagesHidden push', () => {
    expect(decodeFrame(sf.messagesHidden(7n, [3n, 4n]))).toEqual({ kind: 'messagesHidden', chatId: 7n, seqs: [3n, 4n] });
  });

  it('never throw on truncated or flipped new frames', () => {
    const good = sf.historyPage(4n, 7n, [sf.messageEvent(H, 'x', 'c', 1n, { replyTo: { seq: 1n, messageId: 1n, senderId: 1n, preview: 'p' }, contact: { name: 'n', phones: ['1'] } }), sf.reactionsChangedEvent(H, [{ seq: 1n, counts: [['👍', 1]], toggles: [[1n, '👍', true]] }])], false, [{ seq: 1n, reactions: [['👍', 1]], location: { latitude: 1, longitude: 1 } }]);
    for (let cut = 0; cut < good.length; cut += 3) expect(() => decodeFrame(good.subarray(0, cut))).not.toThrow();
    const flipped = good.slice();
    for (let i = 0; i < flipped.length; i++) {
      flipped[i]! ^= 0x5a;
      expect(() => decodeFrame(flipped)).not.toThrow();
      flipped[i]! ^= 0x5a;
    }
  });
});

describe('message features through the client (fake server)', () => {
  async function live(server: FakeServer, index: number, auth: fb.Body): Promise<FakeConnection> {
    const conn = await server.connection(index);
    const hello = await conn.expect(fb.Body.Hello);
    conn.push(sf.welcome(hello.requestId));
    const a = await conn.expect(auth);
    conn.push(sf.authenticated(a.requestId, 5n, 6n, 'alice', auth === fb.Body.Authenticate ? '' : 'ab'.repeat(32)));
    const sync = await conn.expect(fb.Body.Sync);
    conn.push(sf.syncDone(sync.requestId));
    return conn;
  }

  it('a reply with mentions waits in the outbox store with its options and is resent with them', async () => {
    const server = new FakeServer();
    const idb = new IDBFactory();
    const store = await IndexedDbOutboxStore.open('outbox-messages', idb);
    const first = new MagpieClient({ connector: server.connector, credentials: { kind: 'token', token: 't' }, outboxStore: store, reconnect: { initialMs: 1, maxMs: 4, jitter: 0 } });
    first.connect();
    const conn = await live(server, 0, fb.Body.Authenticate);
    const sent = first.send(7n, 'yes @bob', { replyToSeq: 3n, mentions: [2n] });
    const f = await conn.expect(fb.Body.SendMessage);
    const m = f.frame.body(new fb.SendMessage()) as fb.SendMessage;
    expect([m.replyToSeq(), m.mentions(0)]).toEqual([3n, 2n]);
    await first.close();
    await expect(sent).rejects.toMatchObject({ kind: 'closed' });
    // A reload: the next client sends it again, with the same id and the same options.
    const second = new MagpieClient({ connector: server.connector, credentials: { kind: 'token', token: 't' }, outboxStore: await IndexedDbOutboxStore.open('outbox-messages', idb), reconnect: { initialMs: 1, maxMs: 4, jitter: 0 } });
    second.connect();
    const conn2 = await live(server, 1, fb.Body.Authenticate);
    const again = (await conn2.expect(fb.Body.SendMessage)).frame.body(new fb.SendMessage()) as fb.SendMessage;
    expect([again.clientMsgId(), again.content(), again.replyToSeq(), again.mentionsLength(), again.mentions(0)]).toEqual([m.clientMsgId(), 'yes @bob', 3n, 1, 2n]);
    await second.close();
  });

  it('the same client message id with other options is refused, an empty caption with an attachment is not', async () => {
    const server = new FakeServer();
    const client = new MagpieClient({ connector: server.connector, credentials: { kind: 'token', token: 't' }, outboxStore: new MemoryOutboxStore() });
    client.connect();
    const conn = await live(server, 0, fb.Body.Authenticate);
    const a = client.sendWithId(7n, 'same', 'hi', { replyToSeq: 1n });
    await conn.expect(fb.Body.SendMessage);
    await expect(client.sendWithId(7n, 'same', 'hi', { replyToSeq: 2n })).rejects.toMatchObject({ kind: 'invalid_input' });
    await expect(client.send(7n, '')).rejects.toMatchObject({ kind: 'invalid_input' });
    await expect(client.send(7n, 'x', { mentions: Array.from({ length: 51 }, (_, i) => BigInt(i)) })).rejects.toMatchObject({ kind: 'invalid_input' });
    await expect(client.react(7n, 1n, 'two words', true)).rejects.toMatchObject({ kind: 'invalid_input' });
    const place = client.send(7n, '', { attachment: { type: 'location', location: { latitude: 1, longitude: 2, accuracyM: 0, label: '', liveUntilMs: 0 } } });
    const f = await conn.expect(fb.Body.SendMessage);
    expect((f.frame.body(new fb.SendMessage()) as fb.SendMessage).attachmentType()).toBe(fb.Attachment.Location);
    conn.push(sf.sendAck(f.requestId, 7n, 'p', 4n));
    expect(await place).toMatchObject({ seq: 4n });
    void a.catch(() => {});
    await client.close();
  });

  it('requests resolve with their replies, refusals reject with their codes, and the hidden push is an event', async () => {
    const server = new FakeServer();
    const events: ClientEvent[] = [];
    const client = new MagpieClient({ connector: server.connector, credentials: { kind: 'token', token: 't' }, onEvent: (e) => events.push(e) });
    client.connect();
    const conn = await live(server, 0, fb.Body.Authenticate);
    const edit = client.editMessage(7n, 3n, 'new');
    conn.push(sf.error((await conn.expect(fb.Body.EditMessage)).requestId, ErrorCode.NotMessageSender, 'not yours'));
    await expect(edit).rejects.toMatchObject({ kind: 'server', code: ErrorCode.NotMessageSender, codeName: 'not_message_sender' });
    const del = client.deleteMessages(7n, [3n], false);
    conn.push(sf.ok((await conn.expect(fb.Body.DeleteMessages)).requestId));
    await del;
    const pins = client.listPins(7n);
    conn.push(sf.pinList((await conn.expect(fb.Body.ListPins)).requestId, 7n, [{ seq: 3n, pinned: true }]));
    expect(await pins).toMatchObject([{ seq: 3n, pinned: true, event: null }]);
    const versions = client.getMessageVersions(7n, 3n);
    conn.push(sf.messageVersions((await conn.expect(fb.Body.GetMessageVersions)).requestId, 7n, 3n, [[3n, 'a', 1n]]));
    expect(await versions).toEqual([{ seq: 3n, content: 'a', timeMs: 1 }]);
    const fw = client.forwardMessage(7n, 3n, [8n], 'fw-1');
    conn.push(sf.error((await conn.expect(fb.Body.ForwardMessage)).requestId, ErrorCode.ForwardingDisabled, 'no'));
    await expect(fw).rejects.toMatchObject({ codeName: 'forwarding_disabled' });
    await expect(client.forwardMessage(7n, 3n, [])).rejects.toMatchObject({ kind: 'invalid_input' });
    await expect(client.deleteMessages(7n, [], true)).rejects.toMatchObject({ kind: 'invalid_input' });
    conn.push(sf.messagesHidden(7n, [3n]));
    expect(events.at(-1)).toEqual({ type: 'messagesHidden', chatId: 7n, seqs: [3n] });
    await client.close();
  });
});
