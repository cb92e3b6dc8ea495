// Against a real engine over ws://: message features (PROTOCOL.md §6.13) — replies and their
// refusals, mentions and the mentions list, edits with versions, deletions for everyone
// (tombstones, quotes erased) and for me (the hidden push, history states), coalesced reactions,
// pins, forwards (and a chat that forbids them), places, live locations and contact cards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { ChatEvent, EventKind, MessageKind } from '../../src/types.js';
import { DEFAULT_SETTINGS } from '../../src/types.js';
import { connected, login, register, type TestClient } from '../support/clients.js';
import { Engine } from '../support/engine.js';

let engine: Engine;
let alice: TestClient;
let alice2: TestClient;
let bob: TestClient;
let carol: TestClient;
const opened: TestClient[] = [];
const id = (c: TestClient) => c.client.account!.userId;

beforeAll(async () => {
  engine = await Engine.start();
  alice = await connected(engine, register('alice', 'laptop'));
  bob = await connected(engine, register('bob', 'phone'));
  carol = await connected(engine, register('carol'));
  alice2 = await connected(engine, login('alice', 'tablet'));
  opened.push(alice, alice2, bob, carol);
});

afterAll(async () => {
  for (const c of opened) await c.client.close();
  await engine?.dispose();
});

async function sees<T extends EventKind['type']>(c: TestClient, chatId: bigint, type: T, pred: (k: Extract<EventKind, { type: T }>, e: ChatEvent) => boolean = () => true): Promise<ChatEvent & { kind: Extract<EventKind, { type: T }> }> {
  const find = () => c.log.chatEvents(chatId).find((e) => e.kind.type === type && pred(e.kind as Extract<EventKind, { type: T }>, e));
  await c.log.until(() => find() !== undefined);
  return find() as ChatEvent & { kind: Extract<EventKind, { type: T }> };
}

/** The message at `seq` as a fresh history read returns it, with its state, if any. */
async function read(c: TestClient, chatId: bigint, seq: bigint) {
  const page = await c.client.history(chatId, seq - 1n, 'forward', 1);
  const event = page.events.find((e) => e.seq === seq);
  return { message: event?.kind as MessageKind | undefined, state: page.states.find((s) => s.seq === seq) };
}

async function group(title: string, members: TestClient[], settings = DEFAULT_SETTINGS) {
  return alice.client.createChat({ title, memberIds: members.map(id), settings });
}

describe('message features against a real engine', () => {
  it('replies quote the original; a reply to what one cannot see is refused', async () => {
    const g = await group('Replies', [bob]);
    const orig = await alice.client.send(g.chatId, 'lunch at noon?');
    const reply = await bob.client.send(g.chatId, 'yes!', { replyToSeq: orig.seq });
    const ev = await sees(alice, g.chatId, 'message', (k) => k.clientMsgId === reply.clientMsgId);
    expect(ev.kind.replyTo).toEqual({ seq: orig.seq, messageId: orig.messageId, senderId: id(alice), preview: 'lunch at noon?', deleted: false });
    // Not a message, not there, in a chat one is not in.
    await expect(bob.client.send(g.chatId, 'to the creation?', { replyToSeq: 1n })).rejects.toMatchObject({ code: ErrorCode.MessageNotFound });
    await expect(bob.client.send(g.chatId, 'to the future?', { replyToSeq: 999n })).rejects.toMatchObject({ code: ErrorCode.MessageNotFound });
    const other = await group('Not for Carol', [bob]);
    const secret = await alice.client.send(other.chatId, 'secret');
    await expect(carol.client.send(other.chatId, 'hm', { replyToSeq: secret.seq })).rejects.toMatchObject({ code: ErrorCode.ChatNotFound });
  });

  it('mentions keep members only, @all only in groups, and the mentioned find them listed', async () => {
    const g = await group('Mentions', [bob]);
    const ack = await alice.client.send(g.chatId, '@bob @carol look', { mentions: [id(bob), id(carol)] });
    const ev = await sees(bob, g.chatId, 'message', (k) => k.clientMsgId === ack.clientMsgId);
    expect(ev.kind.mentions).toEqual([id(bob)]);
    const all = await alice.client.send(g.chatId, '@all meeting', { mentionAll: true });
    const direct = await alice.client.createDirect(id(bob));
    await expect(alice.client.send(direct.chatId, '@all?', { mentionAll: true })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    const page = await bob.client.listMentions();
    const mine = page.events.filter((e) => e.chatId === g.chatId).map((e) => e.seq);
    expect(mine).toEqual([all.seq, ack.seq]); // newest first
    // One's own messages never mention oneself; carol was never a member.
    expect((await alice.client.listMentions()).events.filter((e) => e.chatId === g.chatId)).toEqual([]);
    expect((await carol.client.listMentions()).events.filter((e) => e.chatId === g.chatId)).toEqual([]);
    // Paging by message id.
    const first = await bob.client.listMentions({ limit: 1 });
    expect(first.events).toHaveLength(1);
    expect(first.hasMore).toBe(true);
    const k = first.events[0]!.kind as MessageKind;
    const next = await bob.client.listMentions({ beforeMessageId: k.messageId, limit: 1 });
    expect(next.events[0]!.seq).toBe(ack.seq);
  });

  it('edits: the sender only, versions kept, a no-op edit appends nothing, deleted ones refused', async () => {
    const g = await group('Edits', [bob]);
    const ack = await alice.client.send(g.chatId, 'teh plan');
    await alice.client.editMessage(g.chatId, ack.seq, 'the plan');
    const ed = await sees(bob, g.chatId, 'messageEdited', (k) => k.targetSeq === ack.seq);
    expect(ed.kind).toEqual({ type: 'messageEdited', targetSeq: ack.seq, content: 'the plan', mentions: [] });
    expect(ed.senderId).toBe(id(alice));
    await expect(bob.client.editMessage(g.chatId, ack.seq, 'my plan')).rejects.toMatchObject({ code: ErrorCode.NotMessageSender });
    // The same text again changes nothing: the next event follows the edit directly.
    await alice.client.editMessage(g.chatId, ack.seq, 'the plan');
    const after = await alice.client.send(g.chatId, 'next');
    expect(after.seq).toBe(ed.seq + 1n);
    const versions = await bob.client.getMessageVersions(g.chatId, ack.seq);
    expect(versions.map((v) => [v.seq, v.content])).toEqual([[ack.seq, 'teh plan'], [ed.seq, 'the plan']]);
    const { state } = await read(bob, g.chatId, ack.seq);
    expect(state).toMatchObject({ editCount: 1, content: 'the plan', deleted: false });
    expect(state!.editedMs).toBe(ed.timeMs);
    await alice.client.deleteMessages(g.chatId, [ack.seq], true);
    await expect(alice.client.editMessage(g.chatId, ack.seq, 'again')).rejects.toMatchObject({ code: ErrorCode.MessageDeleted });
    await expect(alice.client.editMessage(g.chatId, 1n, 'not a message')).rejects.toMatchObject({ code: ErrorCode.MessageNotFound });
  });

  it('delete for everyone leaves a tombstone, erases the quote in replies; admins may, members may not', async () => {
    const g = await group('Deletions', [bob, carol]);
    const orig = await bob.client.send(g.chatId, 'oops, my password is hunter2');
    const reply = await carol.client.send(g.chatId, 'delete that', { replyToSeq: orig.seq });
    await expect(carol.client.deleteMessages(g.chatId, [orig.seq], true)).rejects.toMatchObject({ code: ErrorCode.NotMessageSender });
    // One refused seq refuses the whole request.
    await expect(carol.client.deleteMessages(g.chatId, [reply.seq, orig.seq], true)).rejects.toMatchObject({ code: ErrorCode.NotMessageSender });
    expect((await read(carol, g.chatId, reply.seq)).message!.deleted).toBe(false);
    // An admin (the owner) deletes bob's.
    await alice.client.deleteMessages(g.chatId, [orig.seq], true);
    const del = await sees(carol, g.chatId, 'messagesDeleted');
    expect(del.kind.seqs).toEqual([orig.seq]);
    const t = await read(carol, g.chatId, orig.seq);
    expect(t.message).toEqual({ type: 'message', messageId: orig.messageId, clientMsgId: orig.clientMsgId, content: '', replyTo: null, forwarded: null, mentions: [], mentionAll: false, attachment: null, deleted: true });
    const r = await read(carol, g.chatId, reply.seq);
    expect(r.message!.replyTo).toEqual({ seq: orig.seq, messageId: orig.messageId, senderId: id(bob), preview: '', deleted: true });
    expect(r.message!.content).toBe('delete that');
    // Deleting it again appends nothing; replying to, reacting to or pinning it is refused.
    await bob.client.deleteMessages(g.chatId, [orig.seq], true);
    await expect(carol.client.send(g.chatId, 'hm', { replyToSeq: orig.seq })).rejects.toMatchObject({ code: ErrorCode.MessageDeleted });
    await expect(carol.client.react(g.chatId, orig.seq, '👍', true)).rejects.toMatchObject({ code: ErrorCode.MessageDeleted });
    await expect(alice.client.pinMessage(g.chatId, orig.seq, true)).rejects.toMatchObject({ code: ErrorCode.MessageDeleted });
    const next = await carol.client.send(g.chatId, 'thanks');
    expect(next.seq).toBe(del.seq + 1n);
  });

  it('delete for me hides on all my devices only, and history marks it hidden for me', async () => {
    const g = await group('Hide', [bob]);
    const ack = await bob.client.send(g.chatId, 'spoiler');
    await sees(alice, g.chatId, 'message', (k) => k.clientMsgId === ack.clientMsgId);
    await alice.client.deleteMessages(g.chatId, [ack.seq], false);
    for (const c of [alice, alice2]) await c.log.until(() => c.log.all.some((e) => e.type === 'messagesHidden' && e.chatId === g.chatId && e.seqs.includes(ack.seq)));
    expect((await read(alice, g.chatId, ack.seq)).state).toMatchObject({ hidden: true });
    const forBob = await read(bob, g.chatId, ack.seq);
    expect(forBob.message!.content).toBe('spoiler');
    expect(forBob.state?.hidden ?? false).toBe(false);
    expect(bob.log.all.some((e) => e.type === 'messagesHidden')).toBe(false);
  });

  it('reactions are coalesced events with totals and toggles; who reacted is listed', async () => {
    const g = await group('Reactions', [bob, carol]);
    const ack = await alice.client.send(g.chatId, 'ship it?');
    await bob.client.react(g.chatId, ack.seq, '👍', true);
    await carol.client.react(g.chatId, ack.seq, '👍', true);
    await carol.client.react(g.chatId, ack.seq, '🎉', true);
    // Reacting twice changes nothing.
    await carol.client.react(g.chatId, ack.seq, '🎉', true);
    const counted = (k: Extract<EventKind, { type: 'reactionsChanged' }>) =>
      k.messages.some((m) => m.seq === ack.seq && m.counts.find((c) => c.emoji === '👍')?.count === 2 && m.counts.some((c) => c.emoji === '🎉'));
    const ev = await sees(alice, g.chatId, 'reactionsChanged', counted);
    expect(ev.kind.messages.find((m) => m.seq === ack.seq)!.counts).toEqual([{ emoji: '👍', count: 2 }, { emoji: '🎉', count: 1 }]);
    // Every toggle is in some event, each once.
    const toggles = alice.log.chatEvents(g.chatId).flatMap((e) => (e.kind.type === 'reactionsChanged' ? e.kind.messages.flatMap((m) => m.toggles) : []));
    expect(toggles.map((t) => [t.userId, t.emoji, t.added])).toEqual([[id(bob), '👍', true], [id(carol), '👍', true], [id(carol), '🎉', true]]);
    const who = await alice.client.listReactions(g.chatId, ack.seq);
    expect(who.users.map((u) => [u.userId, [...u.emojis].sort()])).toEqual([[id(bob), ['👍']], [id(carol), ['👍', '🎉'].sort()]].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
    expect((await alice.client.listReactions(g.chatId, ack.seq, { emoji: '🎉' })).users.map((u) => u.userId)).toEqual([id(carol)]);
    expect((await read(carol, g.chatId, ack.seq)).state).toMatchObject({ reactions: [{ emoji: '👍', count: 2 }, { emoji: '🎉', count: 1 }] });
    expect([...(await read(carol, g.chatId, ack.seq)).state!.myReactions].sort()).toEqual(['👍', '🎉'].sort());
    await bob.client.react(g.chatId, ack.seq, '👍', false);
    await sees(alice, g.chatId, 'reactionsChanged', (k) => k.messages.some((m) => m.seq === ack.seq && m.counts.find((c) => c.emoji === '👍')?.count === 1));
    await expect(bob.client.react(g.chatId, 1n, '👍', true)).rejects.toMatchObject({ code: ErrorCode.MessageNotFound });
  });

  it('pins follow the pin setting (admins by default, both in a direct chat) and are listed', async () => {
    const g = await group('Pins', [bob]);
    const a = await alice.client.send(g.chatId, 'rules: be kind');
    const b = await bob.client.send(g.chatId, 'wifi: magpie123');
    await expect(bob.client.pinMessage(g.chatId, a.seq, true)).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    await alice.client.pinMessage(g.chatId, a.seq, true);
    await alice.client.pinMessage(g.chatId, b.seq, true);
    await sees(bob, g.chatId, 'messagePinned', (k) => k.targetSeq === b.seq && k.pinned);
    const pins = await bob.client.listPins(g.chatId);
    expect(pins.map((p) => [p.seq, p.pinned, (p.event?.kind as MessageKind | undefined)?.content])).toEqual([[b.seq, true, 'wifi: magpie123'], [a.seq, true, 'rules: be kind']]);
    await alice.client.pinMessage(g.chatId, a.seq, false);
    await sees(bob, g.chatId, 'messagePinned', (k) => k.targetSeq === a.seq && !k.pinned);
    expect((await bob.client.listPins(g.chatId)).map((p) => p.seq)).toEqual([b.seq]);
    expect((await read(bob, g.chatId, b.seq)).state).toMatchObject({ pinned: true });
    const direct = await alice.client.createDirect(id(carol));
    const d = await carol.client.send(direct.chatId, 'address: 1 Main St');
    await carol.client.pinMessage(direct.chatId, d.seq, true);
    expect((await alice.client.listPins(direct.chatId)).map((p) => p.seq)).toEqual([d.seq]);
  });

  it('forwards copy a message marked with its first author; a chat that forbids it refuses', async () => {
    const g = await group('Source', [bob]);
    const ack = await bob.client.send(g.chatId, 'worth sharing');
    const direct = await alice.client.createDirect(id(carol));
    const fw = await alice.client.forwardMessage(g.chatId, ack.seq, [direct.chatId], 'fw-1');
    expect(fw.clientMsgId).toBe('fw-1');
    expect(fw.results).toHaveLength(1);
    expect(fw.results[0]).toMatchObject({ chatId: direct.chatId, errorCode: 0 });
    const copy = await sees(carol, direct.chatId, 'message', (k) => k.forwarded !== null);
    expect(copy.seq).toBe(fw.results[0]!.seq);
    expect(copy.kind.content).toBe('worth sharing');
    expect(copy.kind.clientMsgId).toBe(`fw-1@${direct.chatId}`);
    expect(copy.kind.forwarded).toMatchObject({ originalSenderId: id(bob), fromChatId: 0n });
    expect(copy.senderId).toBe(id(alice));
    // A retry gets the same results and sends nothing new.
    expect(await alice.client.forwardMessage(g.chatId, ack.seq, [direct.chatId], 'fw-1')).toEqual(fw);
    // A copy of the copy keeps the first author; a forwarded copy is not editable.
    const g2 = await group('Again', [carol]);
    const fw2 = await carol.client.forwardMessage(direct.chatId, copy.seq, [g2.chatId]);
    const copy2 = await sees(alice, g2.chatId, 'message', (k) => k.forwarded !== null);
    expect(copy2.kind.forwarded!.originalSenderId).toBe(id(bob));
    expect(copy2.kind.forwarded!.originalTimeMs).toBe(copy.kind.forwarded!.originalTimeMs);
    await expect(carol.client.editMessage(g2.chatId, fw2.results[0]!.seq, 'mine now')).rejects.toMatchObject({ code: ErrorCode.NotEditable });
    // A target one may not post in fails alone.
    const mixed = await alice.client.forwardMessage(g.chatId, ack.seq, [g2.chatId, 999_999n]);
    expect(mixed.results.map((r) => r.errorCode)).toEqual([0, ErrorCode.ChatNotFound]);
    const closed = await group('No forwarding', [bob], { ...DEFAULT_SETTINGS, forwarding: false });
    const kept = await bob.client.send(closed.chatId, 'stays here');
    await expect(bob.client.forwardMessage(closed.chatId, kept.seq, [g.chatId])).rejects.toMatchObject({ code: ErrorCode.ForwardingDisabled, codeName: 'forwarding_disabled' });
  });

  it('places, live locations moved and stopped by their sender only, contact cards', async () => {
    const g = await group('Places', [bob]);
    const place = await alice.client.send(g.chatId, 'meet here', { attachment: { type: 'location', location: { latitude: 52.52, longitude: 13.405, accuracyM: 12, label: 'Alexanderplatz', liveUntilMs: 0 } } });
    const ev = await sees(bob, g.chatId, 'message', (k) => k.clientMsgId === place.clientMsgId);
    expect(ev.kind.attachment).toEqual({ type: 'location', location: { latitude: 52.52, longitude: 13.405, accuracyM: 12, label: 'Alexanderplatz', liveUntilMs: 0 } });
    await expect(alice.client.send(g.chatId, '', { attachment: { type: 'location', location: { latitude: 91, longitude: 0, accuracyM: 0, label: '', liveUntilMs: 0 } } })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    // A fixed place is no live location: the engine says invalid_argument (PROTOCOL.md §6.13
    // names only live_location_ended, for live locations after their time or a stop).
    await expect(alice.client.updateLiveLocation(g.chatId, place.seq, { latitude: 1, longitude: 1 })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });

    const live = await alice.client.send(g.chatId, '', { attachment: { type: 'location', location: { latitude: 48.85, longitude: 2.35, accuracyM: 20, label: '', liveUntilMs: Date.now() + 15 * 60_000 } } });
    await alice.client.updateLiveLocation(g.chatId, live.seq, { latitude: 48.86, longitude: 2.36, accuracyM: 10 });
    const moved = await sees(bob, g.chatId, 'liveLocationUpdated', (k) => k.targetSeq === live.seq);
    expect(moved.kind).toEqual({ type: 'liveLocationUpdated', targetSeq: live.seq, latitude: 48.86, longitude: 2.36, accuracyM: 10, stopped: false });
    expect((await read(bob, g.chatId, live.seq)).state!.location).toMatchObject({ latitude: 48.86, longitude: 2.36 });
    await expect(bob.client.updateLiveLocation(g.chatId, live.seq, { latitude: 0, longitude: 0 })).rejects.toMatchObject({ code: ErrorCode.NotMessageSender });
    await alice.client.updateLiveLocation(g.chatId, live.seq, { latitude: 48.87, longitude: 2.37, stop: true });
    await sees(bob, g.chatId, 'liveLocationUpdated', (k) => k.targetSeq === live.seq && k.stopped);
    await expect(alice.client.updateLiveLocation(g.chatId, live.seq, { latitude: 1, longitude: 1 })).rejects.toMatchObject({ code: ErrorCode.LiveLocationEnded });
    await expect(alice.client.send(g.chatId, '', { attachment: { type: 'location', location: { latitude: 0, longitude: 0, accuracyM: 0, label: '', liveUntilMs: Date.now() + 9 * 3_600_000 } } })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });

    const card = await alice.client.send(g.chatId, '', { attachment: { type: 'contact', contact: { name: 'Carol', phones: ['+49 30 1234'], emails: ['carol@example.org'], userId: id(carol) } } });
    const c = await sees(bob, g.chatId, 'message', (k) => k.clientMsgId === card.clientMsgId);
    expect(c.kind.attachment).toEqual({ type: 'contact', contact: { name: 'Carol', phones: ['+49 30 1234'], emails: ['carol@example.org'], userId: id(carol) } });
    await expect(alice.client.editMessage(g.chatId, card.seq, 'a caption')).rejects.toMatchObject({ code: ErrorCode.NotEditable });
    await expect(alice.client.send(g.chatId, '', { attachment: { type: 'contact', contact: { name: '', phones: [], emails: [], userId: 0n } } })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    // A reply quotes the caption, or without one a contact's name (a place's label).
    const r = await bob.client.send(g.chatId, 'on my way', { replyToSeq: place.seq });
    expect((await sees(alice, g.chatId, 'message', (k) => k.clientMsgId === r.clientMsgId)).kind.replyTo!.preview).toBe('meet here');
    const r2 = await bob.client.send(g.chatId, 'will call', { replyToSeq: card.seq });
    expect((await sees(alice, g.chatId, 'message', (k) => k.clientMsgId === r2.clientMsgId)).kind.replyTo!.preview).toBe('Carol');
  });
});
