// Clients for integration tests: the `ws` package as the WebSocket (Node 20 has no global one),
// and an event log that tests wait on.
import WebSocket from 'ws';
import { MagpieClient, type ClientEvent, type ClientOptions, type Credentials } from '../../src/client.js';
import type { WebSocketConstructor } from '../../src/transport.js';
import type { ChatEvent } from '../../src/types.js';
import type { Engine } from './engine.js';

export class EventLog {
  readonly all: ClientEvent[] = [];
  private waiters: Array<() => void> = [];

  push = (e: ClientEvent): void => {
    this.all.push(e);
    for (const w of this.waiters.splice(0)) w();
  };

  chatEvents(chatId?: bigint): ChatEvent[] {
    return this.all.flatMap((e) => (e.type === 'event' && (chatId === undefined || e.event.chatId === chatId) ? [e.event] : []));
  }

  messages(chatId?: bigint): string[] {
    return this.chatEvents(chatId).flatMap((e) => (e.kind.type === 'message' ? [e.kind.content] : []));
  }

  count(type: ClientEvent['type']): number {
    return this.all.filter((e) => e.type === type).length;
  }

  /** Resolves once `cond` holds (the test's timeout bounds the wait). */
  async until(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise<void>((r) => this.waiters.push(r));
  }
}

export interface TestClient {
  client: MagpieClient;
  log: EventLog;
}

export function newClient(engine: Engine, credentials: Credentials, extra: Partial<ClientOptions> = {}): TestClient {
  const log = new EventLog();
  const client = new MagpieClient({
    url: () => engine.wsUrl,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    credentials,
    clientName: 'magpie-client-ts-tests',
    reconnect: { initialMs: 20, maxMs: 200, jitter: 0.5 },
    onEvent: log.push,
    ...extra,
  });
  return { client, log };
}

/** A client connected and live (synced). */
export async function connected(engine: Engine, credentials: Credentials, extra: Partial<ClientOptions> = {}): Promise<TestClient> {
  const c = newClient(engine, credentials, extra);
  await c.client.connect();
  await c.log.until(() => c.client.state.phase === 'live');
  return c;
}

export const register = (username: string, deviceName = 'test'): Credentials => ({ kind: 'register', username, password: `${username}-password`, deviceName });
export const login = (username: string, deviceName = 'test'): Credentials => ({ kind: 'login', username, password: `${username}-password`, deviceName });
