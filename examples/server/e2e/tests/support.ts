// Shared helpers of the "Usage quota overview" suite: the fixtures that start the servers
// (server.ts), admin API calls, the `quota reset` CLI, the expected labels (runbook / contract, verbatim)
// and money formatting as the contract states it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { test as base, expect, type Page } from '@playwright/test';
import { startServer, stopServer, type QuotaServer } from '../server';

const run = promisify(execFile);

export type Lang = 'fr' | 'en';
export const LANGS: Lang[] = ['fr', 'en'];

/** Repository root (examples/server/e2e/tests -> ../../../..). */
export const REPO = path.resolve(__dirname, '..', '..', '..', '..');
export const SCREENSHOTS = path.join(REPO, 'docs', 'screenshots');

export function adminToken(): string {
  const t = process.env.QUOTA_E2E_TOKEN;
  if (!t) throw new Error('QUOTA_E2E_TOKEN is not set: global-setup.ts did not mint it');
  return t;
}

/** Labels the pages must show, copied from the runbook and the cockpit contract. */
export const L = {
  fr: {
    currentPlan: 'Plan actuel',
    overageEstimate: 'Estimation des dépassements',
    recommendedPlan: 'Plan recommandé',
    compare: 'Comparer les plans',
    expert: 'Parler à un expert',
    status: { stable: 'Stable', under_strain: 'Sous tension', immediate_action: 'Action immédiate' },
    severity: { ok: 'OK', info: 'Info', warning: 'Attention', critical: 'Critique', overage: 'Dépassement facturé', blocked: 'Bloqué' },
    invalid: 'Lien invalide',
    stable: 'Consommation stable',
    buy: 'Acheter des crédits',
    share: 'Partager',
    copied: 'Copié',
    toastSuccess: 'Paiement confirmé : crédits ajoutés',
    toastCancel: 'Paiement annulé',
    pay: 'Payer',
    cancel: 'Annuler',
    adminToken: 'Jeton administrateur',
    unlimited: 'illimité',
    percent: (n: number) => `${n} %`,
  },
  en: {
    currentPlan: 'Current plan',
    overageEstimate: 'Estimated overage',
    recommendedPlan: 'Recommended plan',
    compare: 'Compare plans',
    expert: 'Talk to an expert',
    status: { stable: 'Stable', under_strain: 'Under strain', immediate_action: 'Immediate action' },
    severity: { ok: 'OK', info: 'Info', warning: 'Warning', critical: 'Critical', overage: 'Billed overage', blocked: 'Blocked' },
    invalid: 'Invalid link',
    stable: 'Stable usage',
    buy: 'Buy credits',
    share: 'Share',
    copied: 'Copied',
    toastSuccess: 'Payment confirmed: credits added',
    toastCancel: 'Payment cancelled',
    pay: 'Pay',
    cancel: 'Cancel',
    adminToken: 'Admin token',
    unlimited: 'unlimited',
    percent: (n: number) => `${n}%`,
  },
} as const;

export interface Money {
  amountMinor: number;
  currency: string;
}

/** "49,00 €" in French, "€49.00" in English (EUR, integer minor units). */
export function money(m: Money, lang: Lang): string {
  if (m.currency !== 'EUR') throw new Error(`the demo catalog is in EUR, got ${m.currency}`);
  const abs = Math.abs(m.amountMinor);
  const whole = Math.floor(abs / 100);
  const cents = String(abs % 100).padStart(2, '0');
  const sign = m.amountMinor < 0 ? '-' : '';
  if (lang === 'en') {
    return `${sign}€${whole.toLocaleString('en-US')}.${cents}`;
  }
  const grouped = String(whole).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return `${sign}${grouped},${cents} €`;
}

/**
 * The admin API, the `quota reset` CLI and brand creation, against one server (the test's
 * `server` fixture).
 */
export class Quota {
  constructor(readonly url: string) {}

  async api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
    const res = await fetch(`${this.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }

  /**
   * A new brand on `plan`, named after the test and a random suffix: no two tests (nor two runs
   * of one test, in any worker) ever share a brand, so none sees another's usage.
   */
  async newBrand(tag: string, plan = 'starter'): Promise<string> {
    return this.addBrand(`e2e_${tag}_${randomBytes(6).toString('hex')}`, plan);
  }

  /** The brand `brandId` on `plan` (201 expected). */
  async addBrand(brandId: string, plan = 'starter'): Promise<string> {
    const r = await this.api('POST', '/brands', { brandId, planId: plan });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    return brandId;
  }

  async record(brandId: string, metric: string, quantity: number): Promise<any> {
    const r = await this.api('POST', '/usage-billing/record', { brandId, metric, quantity });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    return r.json;
  }

  async summary(brandId: string, lang: Lang): Promise<any> {
    const r = await this.api('GET', `/usage-billing/summary?brandId=${encodeURIComponent(brandId)}&lang=${lang}`);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    return r.json;
  }

  /** The runbook's `quota:reset`, as this project ships it: the `quota reset` CLI against the server. */
  async reset(brandId: string, metric: string, target: number, topup?: number): Promise<string> {
    const bin = process.env.QUOTA_BIN;
    if (!bin) throw new Error('QUOTA_BIN is not set');
    const args = ['reset', '--api', this.url, '--brand', brandId, '--metric', metric, '--target', String(target)];
    if (topup !== undefined) args.push('--topup', String(topup));
    const { stdout } = await run(bin, args, {
      env: { ...process.env, QUOTA_ADMIN_TOKEN: adminToken() },
      timeout: 15_000,
    });
    return stdout;
  }
}

export function cockpitPath(brandId: string, lang: Lang, extra = ''): string {
  return `/analytics?brandId=${encodeURIComponent(brandId)}&lang=${lang}${extra}`;
}

/**
 * An RFC 3339 timestamp as integer nanoseconds since the epoch, at the precision it is written
 * in (any number of fraction digits up to 9): `Date.parse` stops at the millisecond, which is
 * exactly where two events written by one request differ.
 */
export function rfc3339Nanos(s: string): bigint {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/.exec(s);
  if (!m) throw new Error(`not an RFC 3339 timestamp with at most nanoseconds: ${JSON.stringify(s)}`);
  const [, y, mo, d, h, mi, se, frac, z, sign, oh, om] = m;
  let secs = Date.UTC(+y, +mo - 1, +d, +h, +mi, +se) / 1000;
  if (!z) secs -= (sign === '-' ? -1 : 1) * (+oh * 3600 + +om * 60);
  return BigInt(secs) * 1_000_000_000n + BigInt((frac ?? '').padEnd(9, '0'));
}

/** One timeline entry's place in the order: its time as written, and the store's sequence if given. */
export interface Stamp {
  at: string;
  seq?: string | number | null;
}

/**
 * Asserts `stamps` are newest first by the timeline's total order: time at full precision,
 * then the per-brand sequence the store assigns (`seq`, compared only when every entry has
 * one). Entries of one request may share a time; an older entry may never come first, not even
 * by a microsecond. Nothing here depends on when the events were written. Soft assertions:
 * the test goes on and reports what else it finds.
 */
export function expectNewestFirst(what: string, stamps: Stamp[]): void {
  const withSeq = stamps.length > 0 && stamps.every((s) => s.seq !== undefined && s.seq !== null && s.seq !== '');
  for (let i = 0; i + 1 < stamps.length; i++) {
    const [a, b] = [stamps[i], stamps[i + 1]];
    const [ta, tb] = [rfc3339Nanos(a.at), rfc3339Nanos(b.at)];
    const where = `${what}: entry ${i} (${a.at}${withSeq ? ` #${a.seq}` : ''}) before entry ${i + 1} (${b.at}${withSeq ? ` #${b.seq}` : ''})`;
    expect.soft(ta >= tb, `${where}: older first`).toBe(true);
    if (withSeq && ta === tb) {
      expect.soft(BigInt(a.seq!) > BigInt(b.seq!), `${where}: same time, sequence not decreasing`).toBe(true);
    }
  }
}

/** Points of an SVG polyline (`points` attribute) or of a path made of M/L commands. */
export async function chartPoints(page: Page, selector: string): Promise<Array<[number, number]>> {
  const el = page.locator(selector).first();
  const tag = await el.evaluate((e) => e.tagName.toLowerCase());
  const raw =
    tag === 'polyline' ? ((await el.getAttribute('points')) ?? '') : ((await el.getAttribute('d')) ?? '');
  const nums = (raw.match(/-?\d+(\.\d+)?/g) ?? []).map(Number);
  const pts: Array<[number, number]> = [];
  for (let i = 0; i + 1 < nums.length; i += 2) pts.push([nums[i], nums[i + 1]]);
  return pts;
}

interface Fixtures {
  /**
   * `true` gives the test a `quota serve --dev-clock` of its own, for what a test must not do
   * to a server others use: move its clock, or change the seeded demo brand `brand_dashboard`.
   */
  ownServer: boolean;
  /** The server the test talks to: its own (`ownServer`), else its worker's. */
  server: QuotaServer;
  /** Admin API and CLI against `server`. */
  quota: Quota;
  /** A page whose context carries a sign-in session cookie for `server`. */
  adminPage: Page;
}

interface WorkerFixtures {
  /** One server per worker, no dev clock: its tests each work on brands of their own. */
  workerServer: QuotaServer;
}

/**
 * The suite's `test`: `baseURL` is the test's server, the locale follows the language (set by
 * the spec), `quota` talks to the same server, `adminPage` is signed in.
 */
export const test = base.extend<Fixtures, WorkerFixtures>({
  workerServer: [
    async ({}, use, workerInfo) => {
      const s = await startServer({
        log: path.join(workerInfo.project.outputDir, `server-worker-${workerInfo.workerIndex}.log`),
      });
      try {
        await use(s);
      } finally {
        await stopServer(s);
      }
    },
    { scope: 'worker' },
  ],
  ownServer: [false, { option: true }],
  server: async ({ ownServer, workerServer }, use, testInfo) => {
    if (!ownServer) return use(workerServer);
    const s = await startServer({ devClock: true, log: testInfo.outputPath('server.log') });
    try {
      await use(s);
    } finally {
      await stopServer(s);
    }
  },
  quota: async ({ server }, use) => use(new Quota(server.url)),
  baseURL: async ({ server }, use) => use(server.url),
  adminPage: async ({ page, server }, use) => {
    // Signed in as the login form does it: the cookie holds a session the server opened,
    // not the admin JWT (page.request shares the page's cookies).
    const res = await page.request.post(`${server.url}/login`, {
      form: { token: adminToken(), next: '/analytics' },
      maxRedirects: 0,
    });
    if (res.status() !== 303) throw new Error(`login answered ${res.status()}: ${await res.text()}`);
    await use(page);
  },
});

export { expect };
