import { describe, expect, it } from 'vitest';
import * as fb from '../../src/generated/magpie/wire/fb.js';
import { decodeEvent, decodeFrame } from '../../src/decode.js';
import * as encode from '../../src/encode.js';
import { MagpieError } from '../../src/error.js';
import { ErrorCode } from '../../src/errors.js';
import { DEFAULT_SETTINGS } from '../../src/types.js';
import * as sf from '../support/server-frames.js';

const H = { chatId: 7n, seq: 3n, senderId: 11n, senderDeviceId: 12n, timeMs: 1_700_000_000_000n };

describe('client frames', () => {
  it('encode every request with its request id and body', () => {
    const frames: Array<[Uint8Array, fb.Body]> = [
      [encode.hello(1n, 1, 1, 0n, 'ts'), fb.Body.Hello],
      [encode.ping(2n, 9n), fb.Body.Ping],
      [encode.register(3n, 'alice', 'password1', 'laptop'), fb.Body.Register],
      [encode.login(4n, 'alice', 'password1', ''), fb.Body.Login],
      [encode.authenticate(5n, 'ab'.repeat(32)), fb.Body.Authenticate],
      [encode.logout(6n), fb.Body.Logout],
      [encode.listDevices(7n), fb.Body.ListDevices],
      [encode.revokeDevice(8n, 3n), fb.Body.RevokeDevice],
      [encode.lookupUser(9n, 'bob'), fb.Body.LookupUser],
      [encode.getUsers(10n, [1n, 2n]), fb.Body.GetUsers],
      [encode.createDirect(11n, 0n, 'bob'), fb.Body.CreateDirect],
      [encode.createGroup(12n, 'g', [1n, 2n]), fb.Body.CreateGroup],
      [encode.addMembers(13n, 1n, [3n]), fb.Body.AddMembers],
      [encode.removeMember(14n, 1n, 3n), fb.Body.RemoveMember],
      [encode.leaveChat(15n, 1n), fb.Body.LeaveChat],
      [encode.getChat(16n, 1n), fb.Body.GetChat],
      [encode.listChats(17n, 0n, 0), fb.Body.ListChats],
      [encode.sendMessage(18n, 1n, 'c-1', 'hi'), fb.Body.SendMessage],
      [encode.sync(19n, [[1n, 5n]]), fb.Body.Sync],
      [encode.history(20n, 4n, 8n, 'forward', 20), fb.Body.History],
    ];
    frames.forEach(([bytes, type], i) => {
      const f = sf.readClientFrame(bytes);
      expect([f.requestId, f.type]).toEqual([BigInt(i + 1), type]);
    });
    const h = sf.readClientFrame(encode.hello(1n, 1, 1, 0n, 'ts/1')).frame.body(new fb.Hello()) as fb.Hello;
    expect([h.protocolVersion(), h.minProtocolVersion(), h.clientName()]).toEqual([1, 1, 'ts/1']);
    const s = sf.readClientFrame(encode.sync(1n, [[1n, 5n], [2n ** 64n - 1n, 2n]])).frame.body(new fb.Sync()) as fb.Sync;
    expect([s.cursorsLength(), s.cursors(1)!.chatId(), s.cursors(1)!.lastSeq()]).toEqual([2, 2n ** 64n - 1n, 2n]);
    const m = sf.readClientFrame(encode.sendMessage(1n, 9n, 'id-1', 'héllo')).frame.body(new fb.SendMessage()) as fb.SendMessage;
    expect([m.chatId(), m.clientMsgId(), m.content()]).toEqual([9n, 'id-1', 'héllo']);
    const d = sf.readClientFrame(encode.createDirect(1n, 0n, 'bob')).frame.body(new fb.CreateDirect()) as fb.CreateDirect;
    expect([d.peerUserId(), d.peerUsername()]).toEqual([0n, 'bob']);
    const hi = sf.readClientFrame(encode.history(1n, 4n, 8n, 'forward', 20)).frame.body(new fb.History()) as fb.History;
    expect([hi.chatId(), hi.fromSeq(), hi.direction(), hi.limit()]).toEqual([4n, 8n, fb.Direction.Forward, 20]);
  });
});

describe('server frames and events', () => {
  it('decode every event kind', () => {
    expect(decodeEvent(sf.messageEvent(H, 'héllo', 'c-1', 99n))).toEqual({
      chatId: 7n, seq: 3n, senderId: 11n, senderDeviceId: 12n, timeMs: 1_700_000_000_000,
      kind: { type: 'message', messageId: 99n, clientMsgId: 'c-1', content: 'héllo', replyTo: null, forwarded: null, mentions: [], mentionAll: false, attachment: null, deleted: false },
    });
    const created = decodeEvent(sf.chatCreatedEvent(H, fb.ChatKind.Group, 'team', [[11n, fb.Role.Admin], [12n, fb.Role.Member]]));
    expect((created as { kind: unknown }).kind).toEqual({
      type: 'chatCreated', chatKind: 'group', title: 'team', members: [{ userId: 11n, role: 'admin', sinceSeq: 1n }, { userId: 12n, role: 'member', sinceSeq: 1n }],
      description: '', handle: '', settings: DEFAULT_SETTINGS,
    });
    expect((decodeEvent(sf.chatCreatedEvent(H, fb.ChatKind.Direct, '', [])) as { kind: unknown }).kind).toEqual({
      type: 'chatCreated', chatKind: 'direct', title: '', members: [], description: '', handle: '', settings: DEFAULT_SETTINGS,
    });
    expect((decodeEvent(sf.membersAddedEvent(H, [4n, 5n])) as { kind: unknown }).kind).toEqual({ type: 'membersAdded', userIds: [4n, 5n], via: 'added' });
    expect((decodeEvent(sf.memberRemovedEvent(H, 4n, true)) as { kind: unknown }).kind).toEqual({ type: 'memberRemoved', userId: 4n, left: true });
  });

  it('refuse an event with seq 0', () => {
    const e = decodeEvent(sf.membersAddedEvent({ ...H, seq: 0n }, [1n]));
    expect(e).toBeInstanceOf(MagpieError);
    expect((e as MagpieError).code).toBe(ErrorCode.MalformedFrame);
  });

  it('decode replies by request id, errors typed by code, pushes and closes', () => {
    expect(decodeFrame(sf.welcome(1n, 42n))).toMatchObject({ kind: 'reply', requestId: 1n, result: { type: 'welcome', welcome: { protocolVersion: 1, serverName: 'magpie/0.1.0', maxFrameBytes: 81_920, nodeId: 42n } } });
    expect(decodeFrame(sf.authenticated(2n, 5n, 6n, 'alice', 'tok'))).toMatchObject({ result: { type: 'authenticated', account: { userId: 5n, deviceId: 6n, username: 'alice' }, token: 'tok' } });
    const err = decodeFrame(sf.error(3n, ErrorCode.RateLimited, 'slow', 250));
    expect(err).toMatchObject({ kind: 'reply', requestId: 3n });
    const e = (err as { result: MagpieError }).result;
    expect([e.kind, e.code, e.codeName, e.retryable, e.retryAfterMs]).toEqual(['server', 400, 'rate_limited', true, 250]);
    expect(decodeFrame(sf.close(ErrorCode.Revoked, 'bye'))).toEqual({ kind: 'close', code: 9, reason: 'bye' });
    const d = decodeFrame(sf.deliver(sf.messageEvent(H, 'x')));
    expect(d).toMatchObject({ kind: 'deliver', event: { chatId: 7n, seq: 3n, kind: { type: 'message', content: 'x' } } });
    const page = decodeFrame(sf.historyPage(4n, 7n, [sf.messageEvent({ chatId: 7n, seq: 1n }, 'a'), sf.messageEvent({ chatId: 7n, seq: 2n }, 'b')], true));
    expect(page).toMatchObject({ result: { type: 'page', page: { chatId: 7n, hasMore: true, events: [{ seq: 1n }, { seq: 2n }] } } });
    expect(decodeFrame(sf.sendAck(5n, 7n, 'c', 9n))).toMatchObject({ result: { type: 'ack', ack: { chatId: 7n, clientMsgId: 'c', seq: 9n } } });
    expect(decodeFrame(sf.syncDone(6n, 2, 3n))).toMatchObject({ result: { type: 'syncDone', chats: 2, events: 3n } });
  });

  it('never throw on garbage, truncation or flipped bytes', () => {
    const good = sf.historyPage(4n, 7n, [sf.messageEvent(H, 'hello there'), sf.memberRemovedEvent(H, 1n, false)]);
    expect(decodeFrame(new Uint8Array())).toBeInstanceOf(MagpieError);
    expect(decodeFrame(new Uint8Array([0xff, 0xff, 0xff]))).toBeInstanceOf(MagpieError);
    let errors = 0;
    for (let cut = 0; cut < good.length; cut++) {
      const r = decodeFrame(good.subarray(0, cut));
      if (r instanceof MagpieError || (r.kind === 'reply' && r.result instanceof MagpieError)) errors++;
    }
    expect(errors).toBeGreaterThan(good.length / 2);
    const flipped = good.slice();
    for (let i = 0; i < flipped.length; i++) {
      flipped[i]! ^= 0x5a;
      expect(() => decodeFrame(flipped)).not.toThrow();
      flipped[i]! ^= 0x5a;
    }
    // A frame whose root offset points far outside the buffer.
    expect(decodeFrame(new Uint8Array([0xf0, 0xff, 0xff, 0x7f, 0, 0, 0, 0]))).toBeInstanceOf(MagpieError);
  });

  it('refuse strings that are not UTF-8', () => {
    const bytes = sf.close(ErrorCode.Revoked, 'abc');
    const at = bytes.indexOf(0x61); // 'a'
    const bad = bytes.slice();
    bad[at] = 0xff;
    const r = decodeFrame(bad);
    expect(r).toBeInstanceOf(MagpieError);
    expect((r as MagpieError).code).toBe(ErrorCode.InvalidUtf8);
  });

  it('refuse replies without a request id and frames over 4 MiB', () => {
    expect(decodeFrame(sf.ok(0n))).toBeInstanceOf(MagpieError);
    const big = new Uint8Array(4 * 1024 * 1024 + 1);
    expect((decodeFrame(big) as MagpieError).code).toBe(ErrorCode.FrameTooLarge);
  });
});
