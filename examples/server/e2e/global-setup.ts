// Starts the QA server for the suite and returns its teardown.
//
//   quota serve --port <free port> --dev-clock --frontend-url http://127.0.0.1:<port>
//
// with a fixed QUOTA_ADMIN_JWT_SECRET, waits for /healthz, mints an admin token with
// `quota token admin`, and hands base URL, token and binary to the tests through the
// environment (QUOTA_E2E_URL, QUOTA_E2E_TOKEN, QUOTA_BIN).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');
export const ADMIN_SECRET = 'e2e-only-admin-secret-0f3a9c1d2b7e4a5f8c6d';

function quotaBin(): string {
  const target = process.env.CARGO_TARGET_DIR ?? path.join(REPO, 'target');
  const bin = process.env.QUOTA_BIN ?? path.join(target, 'debug', 'quota');
  if (!fs.existsSync(bin)) {
    throw new Error(
      `quota binary not found at ${bin}: build it (cargo build -p quota-server --bin quota) or set QUOTA_BIN`,
    );
  }
  return path.resolve(bin);
}

/** The server's environment: ours, less anything that would point it elsewhere. */
export function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const drop = /^(QUOTA_|STRIPE_|SLACK_|SMTP_|ALERT_|FRONTEND_URL$|PORT$|ADMIN_JWT$)/;
  for (const [k, v] of Object.entries(process.env)) {
    if (!drop.test(k)) env[k] = v;
  }
  env.QUOTA_ADMIN_JWT_SECRET = ADMIN_SECRET;
  env.RUST_LOG = process.env.QUOTA_E2E_RUST_LOG ?? 'warn';
  return env;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

async function waitHealthy(base: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`quota serve exited with ${child.exitCode}:\n${fs.readFileSync(log, 'utf8')}`);
    }
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) {
        const body = (await res.json()) as { status?: string };
        if (body.status === 'ok') return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`quota serve did not answer ${base}/healthz within 20 s:\n${fs.readFileSync(log, 'utf8')}`);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const hard = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    child.kill('SIGINT'); // the server shuts down gracefully on Ctrl-C
  });
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = quotaBin();
  const env = serverEnv();
  const outDir = path.join(__dirname, 'test-results');
  fs.mkdirSync(outDir, { recursive: true });
  const log = path.join(outDir, 'server.log');

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const out = fs.openSync(log, 'w');
    const child = spawn(
      bin,
      ['serve', '--host', '127.0.0.1', '--port', String(port), '--dev-clock', '--frontend-url', base],
      { env, stdio: ['ignore', out, out] },
    );
    fs.closeSync(out);
    try {
      await waitHealthy(base, child, log);
    } catch (e) {
      lastError = e;
      await stop(child);
      continue; // the port may have been taken in between: try another
    }
    // A year-long token: the month-end rehearsal moves the server's clock forward.
    const token = execFileSync(bin, ['token', 'admin', '--ttl-hours', '8760'], { env })
      .toString()
      .trim();
    if (token.split('.').length !== 3) throw new Error(`quota token admin printed ${token}`);
    process.env.QUOTA_E2E_URL = base;
    process.env.QUOTA_E2E_TOKEN = token;
    process.env.QUOTA_BIN = bin;
    return async () => stop(child);
  }
  throw lastError;
}
