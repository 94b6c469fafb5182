// Prepares what every worker shares, before any test:
//   - the `quota` binary (QUOTA_BIN);
//   - an admin token minted with `quota token admin` from the suite's fixed secret: every server
//     the suite starts uses that secret, so the one token is valid on all of them
//     (QUOTA_E2E_TOKEN);
//   - how servers get their port (QUOTA_E2E_PORT_MODE, see server.ts).
// The servers themselves are started by the fixtures of tests/support.ts: one per worker for
// the tests that only touch their own brands, one per test for the tests that need a server of
// their own (dev clock, the demo brand).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { detectPortMode, quotaBin, serverEnv } from './server';

export default async function globalSetup(): Promise<void> {
  const bin = quotaBin();
  // The longest admin token (24 h): tokens are checked against the system clock, so a test's
  // own server whose dev clock moved a month forward still accepts it.
  const token = execFileSync(bin, ['token', 'admin', '--ttl-hours', '24'], { env: serverEnv() })
    .toString()
    .trim();
  if (token.split('.').length !== 3) throw new Error(`quota token admin printed ${token}`);
  const mode = await detectPortMode(path.join(__dirname, 'test-results', 'server-probe.log'));
  process.env.QUOTA_BIN = bin;
  process.env.QUOTA_E2E_TOKEN = token;
  process.env.QUOTA_E2E_PORT_MODE = mode;
  if (mode !== 'port0') {
    console.log(
      'e2e: `quota serve --port 0` does not report a frontend URL equal to its address: ' +
        'servers start on a checked free port instead (see server.ts)',
    );
  }
}
