// Playwright configuration of the "Usage quota overview" suite (runbook section 4).
//
// The suite drives the QA server's cockpit pages in Debian's Chromium (never a browser
// downloaded by Playwright: `npx playwright install` is not used). `global-setup.ts` starts
// `quota serve --dev-clock` on a free loopback port and mints an admin token; nothing leaves
// the loopback interface.
import { defineConfig, devices } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  // One server and one dev clock are shared by every test: run them one at a time, in file
  // order (the month-end rehearsal moves the server's time and comes last).
  fullyParallel: false,
  workers: 1,
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
