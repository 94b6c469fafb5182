// Starts and stops `quota serve` instances for the suite (memory store, loopback only).
//
// The address comes from the server itself: it prints `quota server listening on <base>` once
// its socket is bound, and we wait for that line (no polling, no sleep). Two ways to get a port:
//
// - "port0": `--port 0` and no `--frontend-url`; the kernel picks the port while the server
//   binds, so nothing can take it in between. Share links are absolute URLs built from the
//   frontend URL, so this needs a server that defaults its frontend URL to its own bound address
//   and says so in the banner (`  frontend  : <base>`). `detectPortMode()` checks for that line.
// - "verified": for a server that cannot do that yet. We ask the kernel for a free port, release
//   it and start the server on it with `--frontend-url` pointing at it. If another process takes
//   the port in between, the server exits with "cannot listen" before printing its banner: we
//   see the exit and try another port (never a 20 s health-check timeout, and the banner proves
//   the listener is ours, not someone else's process on that port).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const ADMIN_SECRET = 'e2e-only-admin-secret-0f3a9c1d2b7e4a5f8c6d';
const REPO = path.resolve(__dirname, '..', '..', '..');
/** How long a server may take to print its banner before we call it broken (not a sleep). */
const START_DEADLINE_MS = 20_000;
const VERIFIED_ATTEMPTS = 8;

export type PortMode = 'port0' | 'verified';

export interface StartOptions {
  /** `--dev-clock`: the server's time can be moved forward (it is the whole server's time). */
  devClock?: boolean;
  /** Where the server's stdout and stderr go. */
  log: string;
  /** How to pick the port; `QUOTA_E2E_PORT_MODE` (set by global-setup.ts) otherwise. */
  portMode?: PortMode;
}

export interface QuotaServer {
  /** `http://127.0.0.1:<port>`, as the server printed it. */
  url: string;
  log: string;
  child: ChildProcess;
}

export function quotaBin(): string {
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
  // "Parler à un expert" is shown only with a configured address.
  env.QUOTA_EXPERT_URL = 'mailto:experts@example.com';
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

interface Banner {
  url: string;
  frontend: string | null;
}

class ExitedEarly extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

/**
 * Spawns `quota serve <args>` and resolves with its banner (the listening address and, if
 * printed, the frontend URL) once the banner is complete; rejects if the process exits first.
 */
function spawnServe(args: string[], log: string): Promise<{ child: ChildProcess; banner: Banner }> {
  fs.mkdirSync(path.dirname(log), { recursive: true });
  const out = fs.createWriteStream(log);
  // `--checkout simulated`: the suite pays on the simulated page (development only).
  const child = spawn(quotaBin(), ['serve', '--host', '127.0.0.1', '--checkout', 'simulated', ...args], {
    env: serverEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`quota serve printed no banner within ${START_DEADLINE_MS} ms:\n${seen}`));
    }, START_DEADLINE_MS);
    const done = (err: Error | null, banner?: Banner) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve({ child, banner: banner! });
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      // The banner ends with its first empty line (the block of URLs is printed at once).
      const end = seen.indexOf('\n\n');
      const m = /^quota server listening on (http:\/\/\S+)$/m.exec(seen);
      if (m && end >= 0) {
        const f = /^\s*frontend\s*:\s*(\S+)\s*$/m.exec(seen.slice(0, end));
        done(null, { url: m[1], frontend: f ? f[1] : null });
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      // Let the pipes drain into `seen` and the log before reporting.
      setImmediate(() =>
        done(new ExitedEarly(`quota serve ${args.join(' ')} exited (${code ?? signal}) before its banner:\n${seen}`, seen)),
      );
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (seen += c.toString()));
    // Both streams into one log, closed once the process and both pipes are done (piping
    // with the default `end: true` would close it when the first of the two ends).
    child.stdout!.pipe(out, { end: false });
    child.stderr!.pipe(out, { end: false });
    child.once('close', () => out.end());
    child.once('exit', onExit);
    child.once('error', (e) => done(e));
  });
}

/** Which port strategy the binary supports: see the top of this file. */
export async function detectPortMode(log: string): Promise<PortMode> {
  const { child, banner } = await spawnServe(['--port', '0', '--no-seed'], log);
  await stopServer({ url: banner.url, log, child });
  return banner.frontend !== null && banner.frontend.replace(/\/$/, '') === banner.url ? 'port0' : 'verified';
}

export async function startServer(opts: StartOptions): Promise<QuotaServer> {
  const mode = opts.portMode ?? ((process.env.QUOTA_E2E_PORT_MODE as PortMode | undefined) || 'verified');
  const extra = opts.devClock ? ['--dev-clock'] : [];
  if (mode === 'port0') {
    const { child, banner } = await spawnServe(['--port', '0', ...extra], opts.log);
    if (banner.frontend?.replace(/\/$/, '') !== banner.url) {
      await stopServer({ url: banner.url, log: opts.log, child });
      throw new Error(`quota serve --port 0: frontend URL ${banner.frontend} is not its address ${banner.url}`);
    }
    return { url: banner.url, log: opts.log, child };
  }
  let last: unknown;
  for (let attempt = 0; attempt < VERIFIED_ATTEMPTS; attempt++) {
    const port = await freePort();
    const want = `http://127.0.0.1:${port}`;
    try {
      const { child, banner } = await spawnServe(['--port', String(port), '--frontend-url', want, ...extra], opts.log);
      if (banner.url !== want) {
        await stopServer({ url: banner.url, log: opts.log, child });
        throw new Error(`asked quota serve for ${want}, it listens on ${banner.url}`);
      }
      return { url: want, log: opts.log, child };
    } catch (e) {
      last = e;
      // Only a lost race for the port is worth another try.
      if (!(e instanceof ExitedEarly && /cannot listen/.test(e.output))) throw e;
    }
  }
  throw last;
}

/** SIGINT (the server drains and exits), SIGKILL after 5 s. */
export function stopServer(s: QuotaServer): Promise<void> {
  const child = s.child;
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const hard = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    child.kill('SIGINT');
  });
}
