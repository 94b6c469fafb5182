// Shared helpers of the "Usage quota overview" suite: the server started by global-setup.ts,
// admin API calls, the `quota reset` CLI, the expected labels (runbook / contract, verbatim)
// and money formatting as the contract states it.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { test as base, expect, type Page } from '@playwright/test';

const run = promisify(execFile);

export type Lang = 'fr' | 'en';
export const LANGS: Lang[] = ['fr', 'en'];

/** Repository root (examples/server/e2e/tests -> ../../../..). */
export const REPO = path.resolve(__dirname, '..', '..', '..', '..');
export const SCREENSHOTS = path.join(REPO, 'docs', 'screenshots');

export function serverUrl(): string {
  const u = process.env.QUOTA_E2E_URL;
  if (!u) throw new Error('QUOTA_E2E_URL is not set: global-setup.ts did not start the server');
  return u;
}

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
    severity: { ok: 'OK', info: 'Info', warning: 'Attention', critical: 'Critique', blocked: 'Bloqué' },
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
    severity: { ok: 'OK', info: 'Info', warning: 'Warning', critical: 'Critical', blocked: 'Blocked' },
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

export async function api<T = any>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${serverUrl()}/api/v1${path}`, {
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

let seq = 0;

/** A new brand on `plan`, so that tests never see each other's usage. */
export async function newBrand(tag: string, plan = 'starter'): Promise<string> {
  seq += 1;
  const brandId = `e2e_${tag}_${Date.now().toString(36)}_${seq}`;
  const r = await api('POST', '/brands', { brandId, planId: plan });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return brandId;
}

export async function record(brandId: string, metric: string, quantity: number): Promise<any> {
  const r = await api('POST', '/usage-billing/record', { brandId, metric, quantity });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json;
}

export async function summary(brandId: string, lang: Lang): Promise<any> {
  const r = await api('GET', `/usage-billing/summary?brandId=${encodeURIComponent(brandId)}&lang=${lang}`);
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json;
}

/** The runbook's `quota:reset`, as this project ships it: the `quota reset` CLI against the server. */
export async function quotaReset(
  brandId: string,
  metric: string,
  target: number,
  topup?: number,
): Promise<string> {
  const bin = process.env.QUOTA_BIN;
  if (!bin) throw new Error('QUOTA_BIN is not set');
  const args = ['reset', '--api', serverUrl(), '--brand', brandId, '--metric', metric, '--target', String(target)];
  if (topup !== undefined) args.push('--topup', String(topup));
  const { stdout } = await run(bin, args, {
    env: { ...process.env, QUOTA_ADMIN_TOKEN: adminToken() },
    timeout: 15_000,
  });
  return stdout;
}

export function cockpitPath(brandId: string, lang: Lang, extra = ''): string {
  return `/analytics?brandId=${encodeURIComponent(brandId)}&lang=${lang}${extra}`;
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

/**
 * The suite's `test`: `baseURL` is the server of global-setup.ts, the locale follows the
 * language, and `adminPage` is a page whose context carries the admin cookie.
 */
export const test = base.extend<{ adminPage: Page }>({
  baseURL: async ({}, use) => use(serverUrl()),
  adminPage: async ({ page, context }, use) => {
    await context.addCookies([
      { name: 'quota_admin', value: adminToken(), url: serverUrl(), httpOnly: true, sameSite: 'Strict' },
    ]);
    await use(page);
  },
});

export { expect };
