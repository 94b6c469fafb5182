// Playwright configuration of the "Usage quota overview" suite (runbook section 4).
//
// The suite drives the QA server's cockpit pages in Debian's Chromium (never a browser
// downloaded by Playwright: `npx playwright install` is not used). `global-setup.ts` mints an
// admin token; the fixtures of tests/support.ts start `quota serve` on loopback (one per worker,
// and one per test for the tests that move the server's clock or change the demo brand);
// nothing leaves the loopback interface.
import { defineConfig, devices } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  // The tests do not depend on each other nor on their order (each has its own brands, or its
  // own server): any test may run in any worker. One worker by default (the machines that run
  // this also build); `--workers=2` or QUOTA_E2E_WORKERS spreads them.
  fullyParallel: true,
  workers: Number(process.env.QUOTA_E2E_WORKERS ?? 1),
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  timeout: 30_000,
  expect: { timeout: 5_000 },
  outputDir: './test-results',
  use: {
    ...devices['Desktop Chrome'],
    locale: 'fr-FR',
    screenshot: 'only-on-failure',
    trace: 'off',
    video: 'off',
    serviceWorkers: 'block',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          // Playwright already passes --no-sandbox (its `chromiumSandbox` option is off by
          // default), which running as root requires.
          args: [
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--no-first-run',
          ],
        },
      },
    },
  ],
});
