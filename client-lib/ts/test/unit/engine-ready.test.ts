import { describe, expect, it } from 'vitest';
import { parseReadyLine } from '../support/engine.js';

describe('engine readiness parsing', () => {
  it('reads the JSON ready line', () => {
    expect(parseReadyLine('{"event":"ready","tcp":"127.0.0.1:4567","quic":"127.0.0.1:4568"}')).toEqual({ tcp: '127.0.0.1:4567' });
    expect(parseReadyLine('{"event":"stopping"}')).toBeNull();
    expect(parseReadyLine('{not json')).toBeNull();
  });

  it('reads the human banner', () => {
    expect(parseReadyLine('  WebSocket  ws://127.0.0.1:38273/ws')).toEqual({ tcp: '127.0.0.1:38273' });
    expect(parseReadyLine('  Secure WS  wss://127.0.0.1:38273/ws  (same certificate)')).toBeNull();
    expect(parseReadyLine('magpie 0.1.0 serving, data in /tmp/x')).toBeNull();
  });
});
