import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CLI, ROOT } from './paths.js';

export const ADMIN_KEY = 'fr_test_admin_key_0123456789abcdef';

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function tempDataDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `face-refiner-${label}-`));
}

/**
 * The real service as a child process (`face-refiner serve`), with its own SQLite file and blob directory,
 * listening on a free loopback port.
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  output = '';
  url = '';
  exitCode: number | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly dataDir: string,
    private readonly env: Record<string, string> = {},
    /** `serve` (API and workers), `serve --no-worker`, or `worker` (no API: ready when its log says so). */
    private readonly args: string[] = ['serve'],
  ) {}

  private get listens(): boolean {
    return this.args[0] === 'serve';
  }

  async start(): Promise<string> {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.output = '';
    const child = spawn(process.execPath, [CLI, ...this.args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: this.dataDir,
        PUBLIC_URL: this.url,
        BOOTSTRAP_API_KEY: ADMIN_KEY,
        ALLOW_PRIVATE_NETWORKS: 'true',
        WORKER_CONCURRENCY: '2',
        LOG_LEVEL: 'info',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.exitCode !== null || child.exitCode !== null) {
        throw new Error(`service exited during start:\n${this.output}`);
      }
      if (!this.listens && this.output.includes('"msg":"face-refiner started"')) return this.url;
      if (this.listens) {
        try {
          const response = await fetch(`${this.url}/healthz`);
          if (response.ok) return this.url;
        } catch {
          // not listening yet
        }
      }
      if (Date.now() > deadline) throw new Error(`service did not start in 60 s:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Resolves once the service's output matches `pattern` (a log line it writes); fails after `timeoutMs`. */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (Date.now() > deadline) throw new Error(`no output matching ${pattern} in ${timeoutMs} ms:\n${this.output.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Sends a signal and waits for the process to exit; returns its exit code. */
  async kill(signal: NodeJS.Signals): Promise<number | null> {
    this.child?.kill(signal);
    return this.exited;
  }

  async stop(): Promise<void> {
    if (this.child && this.exitCode === null && this.child.exitCode === null) await this.kill('SIGTERM');
  }
}

/** Runs the CLI to completion with DATA_DIR set; returns stdout (throws with stderr on failure). */
export function runCli(args: string[], env: Record<string, string>): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
  });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}
