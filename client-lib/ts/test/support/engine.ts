// Starts a real engine for integration tests: the binary from MAGPIE_BIN (default
// $CARGO_TARGET_DIR/release/magpie), on port 0 with a temporary data dir, and learns its
// WebSocket address from what it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export function engineBinary(): string {
  const bin = process.env.MAGPIE_BIN ?? join(process.env.CARGO_TARGET_DIR ?? '/var/tmp/magpie-target', 'release/magpie');
  if (!existsSync(bin)) {
    throw new Error(`no engine binary at ${bin}: build it (cargo build --release --bin magpie) or set MAGPIE_BIN`);
  }
  return bin;
}

/**
 * The engine's TCP (WebSocket/HTTP) address from one line of its stdout, or null. Understands the
 * JSON readiness line (`{"event":"ready","tcp":"127.0.0.1:PORT",...}`) and the human banner
 * (`  WebSocket  ws://127.0.0.1:PORT/ws`) printed before that line existed.
 */
export function parseReadyLine(line: string): { tcp: string } | null {
  const trimmed = line.trim();
  if (trimmed.startsWith('{')) {
    try {
      const j = JSON.parse(trimmed) as { event?: string; tcp?: string };
      if (j.event === 'ready' && typeof j.tcp === 'string') return { tcp: j.tcp };
    } catch {
      /* not JSON after all */
    }
    return null;
  }
  const m = /^WebSocket\s+ws:\/\/([^/\s]+)\/ws\b/.exec(trimmed);
  return m ? { tcp: m[1]! } : null;
}

export class Engine {
  private child: ChildProcess | null = null;
  private tcpAddr = '';
  readonly output: string[] = [];

  private constructor(readonly dataDir: string, private readonly args: string[]) {}

  /** Starts an engine on fresh ephemeral ports with a new temporary data directory. */
  static async start(extraArgs: string[] = []): Promise<Engine> {
    const e = new Engine(mkdtempSync(join(tmpdir(), 'magpie-ts-')), extraArgs);
    await e.launch();
    return e;
  }

  /** `ws://127.0.0.1:PORT/ws` of the running engine (it changes across restarts). */
  get wsUrl(): string {
    return `ws://${this.tcpAddr}/ws`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  private launch(): Promise<void> {
    const child = spawn(
      engineBinary(),
      ['--data-dir', this.dataDir, '--listen', '127.0.0.1:0', '--shards', '1', '--no-pin', ...this.args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAGPIE_LOG: process.env.MAGPIE_LOG ?? 'warn' } },
    );
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => this.output.push(d.toString()));
    return new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      let ready = false;
      lines.on('line', (line) => {
        this.output.push(line);
        const r = parseReadyLine(line);
        if (r && !ready) {
          ready = true;
          this.tcpAddr = r.tcp;
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        this.child = null;
        if (!ready) reject(new Error(`engine exited before it was ready (${code ?? signal}):\n${this.output.join('\n')}`));
      });
      child.once('error', reject);
    });
  }

  /** Graceful stop (SIGTERM), waiting for the process to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
    this.child = null;
  }

  /** Starts the engine again on the same data directory (new ports). */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stops the engine and removes its data. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
