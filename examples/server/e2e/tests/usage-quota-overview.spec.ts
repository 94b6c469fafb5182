// Runbook section 4, "E2E Playwright ciblés": `--grep "Usage quota overview"`.
//
// Covered, in French and in English:
// - the cockpit (plan card + overage estimate, timeline with severity badges, recommendation
//   card and its two CTAs, metric cards with their charts);
// - projections and badges ("Sous tension" / "Action immédiate") after `quota reset --target 92`,
//   checked against what the summary API computes;
// - the blocked gauge of runbook section 6 ("Upgrade bloqué": red badge + upgrade CTA);
// - the public page `/share/quota/<token>` (same snapshot, read-only) and a bad token;
// - the simulated Stripe checkout with its toasts and the top-up history;
// - the admin sign-in (`/login`), the 375 px layout, the monitoring page;
// - the screenshots of docs/screenshots (checked on every run, written only with
//   UPDATE_SCREENSHOTS=1);
// - the month-end reset rehearsed with the dev clock.
//
// Every test is independent of the others and of their order: each works on brands of its own
// (`quota.newBrand`) on its worker's server, and the two that would change what others see (the
// month-end test moves the server's clock, the screenshot test resets the demo brand
// `brand_dashboard`) get a server of their own (`ownServer`). QUOTA_E2E_ORDER=reverse or
// QUOTA_E2E_ORDER=shuffle:<seed> registers the tests in another order, to check exactly that;
// `--workers=2` spreads them over two workers.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import {
  L,
  LANGS,
  SCREENSHOTS,
  adminToken,
  chartPoints,
  cockpitPath,
  expect,
  expectNewestFirst,
  money,
  rfc3339Nanos,
  test,
  type Lang,
  type Stamp,
} from './support';

const LOCALE: Record<Lang, string> = { fr: 'fr-FR', en: 'en-US' };
const VIEWPORT = { width: 1280, height: 900 };

/** The first screen of a snapshot page: title, plan, recommendation and the quota cards. */
async function expectFirstScreen(page: Page, currentPlan: string, recommendedPlan: string): Promise<void> {
  await expect(page.getByRole('heading', { level: 1 })).toBeInViewport({ ratio: 1 });
  const plan = page.getByTestId('plan-card');
  await expect(plan.getByRole('heading', { name: currentPlan })).toBeVisible();
  await expect(plan).toBeInViewport({ ratio: 1 });
  const reco = page.getByTestId('recommendation-card');
  await expect(reco.getByRole('heading', { name: recommendedPlan })).toBeVisible();
  await expect(reco).toBeInViewport({ ratio: 1 });
  const cards = page.getByTestId('metric-card');
  for (let i = 0; i < (await cards.count()); i++) {
    await expect(cards.nth(i)).toBeInViewport();
    await expect(cards.nth(i).getByTestId('metric-badge')).toBeInViewport({ ratio: 1 });
  }
}

/** The integers from `a` to `b`, both included, in either order. */
function between(a: number, b: number): number[] {
  const [lo, hi] = a <= b ? [a, b] : [b, a];
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/**
 * A full-page capture: checked to be the whole page at the viewport's width, attached to the
 * test's report, and written to docs/screenshots/<name> only when UPDATE_SCREENSHOTS=1 (a
 * normal run never touches the tracked images).
 */
async function capture(page: Page, name: string, testInfo: TestInfo): Promise<void> {
  const png = await page.screenshot({ fullPage: true });
  const size = pngSize(png);
  const doc = await page.evaluate(() => ({
    width: document.documentElement.clientWidth,
    height: document.documentElement.scrollHeight,
  }));
  expect(size.width).toBe(VIEWPORT.width);
  expect(doc.width).toBeLessThanOrEqual(VIEWPORT.width);
  expect(size.height).toBe(doc.height);
  expect(size.height).toBeGreaterThan(VIEWPORT.height); // the full page, below the fold too
  await testInfo.attach(name, { body: png, contentType: 'image/png' });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    fs.writeFileSync(path.join(SCREENSHOTS, name), png);
  }
}

type Body = Parameters<typeof test>[2];

interface Scenario {
  lang: Lang;
  title: string;
  ownServer: boolean;
  body: Body;
}

const scenarios: Scenario[] = [];

/** Declares a test; they are registered at the end, in the order QUOTA_E2E_ORDER asks. */
function scenario(lang: Lang, title: string, body: Body, opts: { ownServer?: boolean } = {}): void {
  scenarios.push({ lang, title, body, ownServer: opts.ownServer ?? false });
}

for (const lang of LANGS) {
  const t = L[lang];

  scenario(lang, `invalid share token shows "${t.invalid}" [${lang}]`, async ({ page }) => {
    const res = await page.goto(`/share/quota/not-a-real-token.garbage?lang=${lang}`);
    expect(res?.status()).toBe(404);
    await expect(page.locator('html')).toHaveAttribute('lang', lang);
    // The invalid-link element is the heading, or holds it.
    await expect(
      page.locator('[data-testid="invalid-link"]:is(h1, h2), [data-testid="invalid-link"] :is(h1, h2)'),
    ).toHaveText(t.invalid);
    await expect(page.getByTestId('plan-card')).toHaveCount(0);
    await expect(page.getByTestId('metric-card')).toHaveCount(0);
  });

  scenario(lang, `admin sign-in guards the cockpit [${lang}]`, async ({ page, quota, server }) => {
    const brand = await quota.newBrand(`signin_${lang}`);
    const target = cockpitPath(brand, lang);
    await page.goto(target);
    // No credentials: redirected to the form, `next` carrying the page asked for.
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe(target);
    await page.getByLabel(t.adminToken).fill('not.a.jwt');
    const bad = page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST');
    await page.getByTestId('login-button').click();
    expect((await bad).status()).toBe(401);
    await expect(page.getByTestId('login-error')).toBeVisible();
    await page.getByLabel(t.adminToken).fill(adminToken());
    await page.getByTestId('login-button').click();
    await expect(page).toHaveURL(server.url + target);
    await expect(page.getByTestId('plan-card')).toBeVisible();
    const cookies = await page.context().cookies();
    const c = cookies.find((k) => k.name === 'quota_admin');
    expect(c?.httpOnly).toBe(true);
    expect(c?.sameSite).toBe('Strict');
    expect(c?.value).not.toBe(adminToken());
    // Signing out ends the session: the cockpit asks for the token again.
    await page.getByTestId('logout-button').click();
    await expect(page).toHaveURL(/\/login\?lang=/);
    await page.goto(target);
    expect(new URL(page.url()).pathname).toBe('/login');
  });

  scenario(lang, `unknown brand: 404 page, bad brand id: 400 page [${lang}]`, async ({ adminPage: page }) => {
    const unknown = await page.goto(cockpitPath('e2e_no_such_brand', lang));
    expect(unknown?.status()).toBe(404);
    expect(unknown?.headers()['content-type']).toContain('text/html');
    await expect(page.locator('html')).toHaveAttribute('lang', lang);
    await expect(page.getByTestId('plan-card')).toHaveCount(0);
    const bad = await page.goto(`/analytics?brandId=${encodeURIComponent('<bad id>')}&lang=${lang}`);
    expect(bad?.status()).toBe(400);
    expect(bad?.headers()['content-type']).toContain('text/html');
    // Escaped, never markup.
    await expect(page.locator('bad')).toHaveCount(0);
  });

  scenario(lang, `cockpit renders plan, alerts, CTAs and charts [${lang}]`, async ({ adminPage: page, quota }) => {
    const brand = await quota.newBrand(`cockpit_${lang}`);
    // One alert on renders_2d (0 -> 80 % crosses 50 and 75 %: one alert, for 75 %, warning),
    // then the runbook's reset with a top-up.
    await quota.record(brand, 'renders_2d', 80);
    await quota.reset(brand, 'ai_generations', 92, 25);
    const before = await quota.summary(brand, lang);
    await page.goto(cockpitPath(brand, lang));
    const after = await quota.summary(brand, lang);
    expect(after.timeline.length).toBe(before.timeline.length);

    await expect(page.locator('html')).toHaveAttribute('lang', lang);
    // Plan card.
    const plan = page.getByTestId('plan-card');
    await expect(plan.getByRole('heading', { name: t.currentPlan })).toBeVisible();
    await expect(plan.getByTestId('plan-name')).toHaveText(before.plan.name);
    await expect(plan.getByTestId('plan-price')).toHaveText(money(before.plan.price, lang));
    await expect(plan).toContainText(t.overageEstimate);
    // Right after the reset, with nothing used since, the projection is the reset's level (460
    // of the 525 the top-up brought): no overage is projected.
    expect(before.plan.estimatedOverage.amountMinor).toBe(0);
    // The estimate moves with time: the page was computed between the two API calls, so it
    // shows one of the amounts from the one to the other (both included).
    const shownOverage = (await plan.getByTestId('overage-estimate').textContent())?.trim();
    const [o0, o1] = [before, after].map((s) => s.plan.estimatedOverage.amountMinor as number);
    const currency = before.plan.estimatedOverage.currency;
    expect(between(o0, o1).map((amountMinor) => money({ amountMinor, currency }, lang))).toContain(shownOverage);

    // Timeline: every event of the period, newest first, each with its severity badge.
    const items = page.getByTestId('timeline').getByTestId('timeline-item');
    const events: any[] = before.timeline;
    expect(events.map((e) => e.type)).toEqual(['period_reset', 'top_up_completed', 'threshold_crossed']);
    await expect(items).toHaveCount(events.length);
    // Same events in the same order.
    expect(await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-type')))).toEqual(
      events.map((e) => e.type),
    );
    // Newest first at full precision: the `datetime` of each <time> (RFC 3339, every fraction
    // digit the store keeps) is the API's `at` of the same event, and neither list ever puts an
    // older event before a newer one. Events of one request (the reset and its top-up) may
    // share a time; then the store's sequence (`data-seq` / `seq`, once exposed) decides.
    const shown: Stamp[] = await items.evaluateAll((els) =>
      els.map((e) => ({
        at: e.querySelector('time[datetime]')?.getAttribute('datetime') ?? '',
        seq: e.getAttribute('data-seq'),
      })),
    );
    expect(shown.map((s) => rfc3339Nanos(s.at).toString())).toEqual(
      events.map((e) => rfc3339Nanos(e.at).toString()),
    );
    expectNewestFirst('API timeline', events.map((e) => ({ at: e.at, seq: e.seq })));
    expectNewestFirst('cockpit timeline', shown);
    const badges = items.getByTestId('severity-badge');
    expect(await badges.evaluateAll((els) => els.map((e) => e.getAttribute('data-severity')))).toEqual(
      events.map((e) => e.severity),
    );
    await expect(badges).toHaveText(events.map((e) => (t.severity as any)[e.severity]));
    await expect(page.getByTestId('timeline-stable')).toHaveCount(0);

    // Recommendation and the two CTAs.
    const reco = page.getByTestId('recommendation-card');
    await expect(reco.getByRole('heading', { name: t.recommendedPlan })).toBeVisible();
    await expect(reco.getByTestId('recommended-plan')).toHaveText(before.recommendation.recommended.name);
    // Its price and the projected totals behind the advice.
    await expect(reco.getByTestId('recommended-price')).toContainText(lang === 'fr' ? '/ mois' : '/ month');
    await expect(reco.getByTestId('recommendation-current-total')).toContainText(
      before.recommendation.current.name,
    );
    const compare = reco.getByTestId('cta-compare');
    await expect(compare).toHaveText(t.compare);
    const expert = reco.getByTestId('cta-expert');
    await expect(expert).toHaveText(t.expert);
    expect(await expert.getAttribute('href')).toMatch(/^mailto:experts@example\.com\?subject=/);

    // Metric cards: what the snapshot says, one card per metric, in catalog order.
    const cards = page.getByTestId('metric-card');
    await expect(cards).toHaveCount(before.metrics.length);
    expect(await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-metric')))).toEqual(
      before.metrics.map((m: any) => m.metric),
    );
    for (const m of before.metrics) {
      const card = page.locator(`[data-testid="metric-card"][data-metric="${m.metric}"]`);
      await expect(card.getByTestId('metric-used')).toHaveText(String(m.used));
      await expect(card.getByTestId('metric-limit')).toHaveText(m.limit === null ? t.unlimited : String(m.limit));
      await expect(card.getByTestId('metric-percent')).toHaveText(t.percent(m.percent));
      await expect(card.getByTestId('metric-topups')).toHaveText(String(m.topupUnits));
      await expect(card.getByTestId('metric-badge')).toHaveAttribute('data-severity', m.badge ?? 'ok');
      await expect(card.getByTestId('metric-badge')).toHaveText((t.severity as any)[m.badge ?? 'ok']);
      if (m.kind === 'counter') {
        const chart = card.getByTestId('usage-chart');
        await expect(chart).toHaveAttribute('role', 'img');
        expect(await chart.evaluate((e) => e.tagName.toLowerCase())).toBe('svg');
        expect((await chart.getAttribute('aria-label'))?.length).toBeGreaterThan(0);
        await expect(chart.getByTestId('chart-actual')).toHaveCount(1);
        await expect(chart.getByTestId('chart-limit')).toHaveCount(1);
        await expect(chart.getByTestId('chart-projection')).toHaveCount(1);
        const pts = await chartPoints(page, `[data-metric="${m.metric}"] [data-testid="chart-actual"]`);
        // One point per elapsed day (the API's curve just before or after: midnight may pass).
        const lengths = [before, after].map((s) => s.metrics.find((x: any) => x.metric === m.metric).curve.length);
        expect(lengths).toContain(pts.length);
      }
    }
    // The runbook reset: 460 of 500 + 25 top-up units.
    const ai = page.locator('[data-testid="metric-card"][data-metric="ai_generations"]');
    await expect(ai.getByTestId('metric-used')).toHaveText('460');
    await expect(ai.getByTestId('metric-limit')).toHaveText('525');
    await expect(ai.getByTestId('metric-topups')).toHaveText('25');
    // The flat-then-jump curve: the last point is above (smaller y than) the first.
    const aiPts = await chartPoints(page, '[data-metric="ai_generations"] [data-testid="chart-actual"]');
    expect(aiPts[aiPts.length - 1][1]).toBeLessThan(aiPts[0][1]);

    // Forms, links.
    await expect(page.getByTestId('topup-button')).toHaveText(t.buy);
    await expect(page.getByTestId('share-button')).toHaveText(t.share);
    await expect(page.locator('a[href="/metrics"]').first()).toBeVisible();
    await expect(page.locator('a[href^="/monitoring"]').first()).toBeVisible();

    // The language switch keeps the other query parameters.
    const other: Lang = lang === 'fr' ? 'en' : 'fr';
    await page.getByTestId(`lang-${other}`).click();
    await expect(page.locator('html')).toHaveAttribute('lang', other);
    expect(new URL(page.url()).searchParams.get('brandId')).toBe(brand);
    await expect(page.getByTestId('plan-card').getByRole('heading', { name: L[other].currentPlan })).toBeVisible();
    await page.getByTestId(`lang-${lang}`).click();
    await expect(page.locator('html')).toHaveAttribute('lang', lang);

    // The CTA "compare" leads to the plan catalog with prices.
    await compare.click();
    await expect(page).toHaveURL(/\/plans(\?|#|$)/);
    await expect(page.locator('body')).toContainText(money({ amountMinor: 9900, currency: 'EUR' }, lang));
  });

  scenario(lang, `projections and badges after quota reset --target 92 [${lang}]`, async ({ adminPage: page, quota }) => {
    const brand = await quota.newBrand(`proj_${lang}`);
    const out = await quota.reset(brand, 'ai_generations', 92);
    expect(out).toContain('460 used of 500 (92 %)');
    await quota.reset(brand, 'renders_2d', 92);
    const before = await quota.summary(brand, lang);
    await page.goto(cockpitPath(brand, lang));
    const after = await quota.summary(brand, lang);

    for (const metric of ['ai_generations', 'renders_2d']) {
      const api0 = before.metrics.find((m: any) => m.metric === metric);
      const api1 = after.metrics.find((m: any) => m.metric === metric);
      expect(api0.percent).toBe(92);
      // 92 % used already projects above 90 % of the allowance.
      expect(['under_strain', 'immediate_action']).toContain(api0.status);
      const card = page.locator(`[data-testid="metric-card"][data-metric="${metric}"]`);
      await expect(card.getByTestId('metric-percent')).toHaveText(t.percent(92));
      await expect(card.getByTestId('metric-remaining')).toHaveText(String(api0.remaining));
      await expect(card.getByTestId('metric-badge')).toHaveAttribute('data-severity', api0.badge);
      await expect(card.getByTestId('metric-badge')).toHaveText((t.severity as any)[api0.badge]);
      const status = card.getByTestId('projection-status');
      // The page equals what the API computes (before or after the page load: time moves).
      const shown = await status.getAttribute('data-status');
      expect([api0.status, api1.status]).toContain(shown);
      await expect(status).toHaveText((t.status as any)[shown!]);
      const apiLabel = shown === api0.status ? api0.statusLabel : api1.statusLabel;
      await expect(status).toHaveText(apiLabel);
      // The projection moves with time too: the page shows a figure from the API's before to
      // its after (both included), never one taken from outside that window.
      const end = card.getByTestId('projection-end');
      await expect(end).toHaveText(/\d+\D+\d+\s*%/);
      const [shownUsed, shownPercent] = ((await end.textContent()) ?? '').match(/\d+/g)!.map(Number);
      const used = [api0, api1].map((m) => m.projection.projectedUsed as number);
      expect(between(used[0], used[1])).toContain(shownUsed);
      const pct = [api0, api1].map((m) => Math.round(m.projection.projectedRatio * 100));
      expect(between(pct[0], pct[1])).toContain(shownPercent);
      await expect(end).toContainText(t.percent(shownPercent));
      const proj = shown === api0.status ? api0.projection : api1.projection;
      if (proj.daysUntilExhaustion !== null) {
        await expect(card.getByTestId('projection-days')).toBeVisible();
      }
    }
    // The untouched gauge stays stable, without a projection.
    const team = page.locator('[data-testid="metric-card"][data-metric="team_members"]');
    await expect(team.getByTestId('metric-used')).toHaveText('0');
    await expect(team.getByTestId('metric-badge')).toHaveAttribute('data-severity', 'ok');
  });

  scenario(lang, `blocked gauge shows a red badge and an upgrade CTA [${lang}]`, async ({ adminPage: page, quota }) => {
    const brand = await quota.newBrand(`blocked_${lang}`);
    await quota.record(brand, 'team_members', 3); // starter includes 3: the hard limit is reached
    const check = await quota.api('POST', '/usage-billing/check-quota', {
      brandId: brand,
      metric: 'team_members',
      quantity: 1,
    });
    expect(check.status).toBe(200);
    expect(check.json.allowed).toBe(false);
    expect(check.json.status).toBe('blocked');
    const snap = await quota.summary(brand, lang);
    expect(snap.metrics.find((m: any) => m.metric === 'team_members').blocked).toBe(true);

    await page.goto(cockpitPath(brand, lang));
    const card = page.locator('[data-testid="metric-card"][data-metric="team_members"]');
    const badge = card.getByTestId('metric-badge');
    await expect(badge).toHaveAttribute('data-severity', 'blocked');
    await expect(badge).toHaveText(t.severity.blocked);
    // Red: the badge's background (or text) is the red of the palette.
    const colors = await badge.evaluate((e) => {
      const s = getComputedStyle(e);
      return [s.backgroundColor, s.color];
    });
    const red = (c: string) => {
      const [r, g, b] = (c.match(/\d+/g) ?? []).map(Number);
      return r > 150 && g < 60 && b < 60;
    };
    expect(colors.some(red), `badge colours ${colors}`).toBe(true);
    await expect(card.getByTestId('cta-upgrade')).toBeVisible();
    await expect(card.getByTestId('metric-percent')).toHaveText(t.percent(100));
  });

  scenario(lang, `public share page shows the same snapshot, read-only [${lang}]`, async ({ adminPage: page, context, quota, server }) => {
    const brand = await quota.newBrand(`share_${lang}`);
    await quota.record(brand, 'renders_2d', 30);
    await quota.reset(brand, 'ai_generations', 92, 25);
    await page.goto(cockpitPath(brand, lang));
    await page.getByTestId('share-button').click();
    const input = page.getByTestId('share-url');
    await expect(input).toBeVisible();
    expect(await input.getAttribute('readonly')).not.toBeNull();
    const url = await input.inputValue();
    expect(url).toMatch(new RegExp(`^${server.url.replace(/[.]/g, '\\.')}/share/quota/[^/?#]+$`));
    // Post/redirect/get: the address is the cockpit's, a reload shows the same link.
    await expect(page).toHaveURL(/\/analytics\?brandId=[^&]+&lang=(fr|en)&shared=/);
    await page.reload();
    await expect(page.getByTestId('share-url')).toHaveValue(url);

    // Copy to the clipboard.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await page.getByTestId('copy-button').click();
    await expect(page.getByTestId('copy-button')).toHaveText(t.copied);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);

    // What the cockpit shows...
    const cockpit = {
      plan: await page.getByTestId('plan-name').textContent(),
      price: await page.getByTestId('plan-price').textContent(),
      metrics: await page.getByTestId('metric-card').evaluateAll((els) =>
        els.map((e) => [
          e.getAttribute('data-metric'),
          e.querySelector('[data-testid="metric-used"]')?.textContent,
          e.querySelector('[data-testid="metric-limit"]')?.textContent,
          e.querySelector('[data-testid="metric-percent"]')?.textContent,
        ]),
      ),
    };
    // ...the share page shows too, without any session (a fresh context, no cookie).
    const anon = await page.context().browser()!.newContext({ locale: LOCALE[lang] });
    const pub = await anon.newPage();
    const res = await pub.goto(url);
    expect(res?.status()).toBe(200);
    await expect(pub.locator('html')).toHaveAttribute('lang', lang);
    await expect(pub.getByTestId('plan-card').getByRole('heading', { name: t.currentPlan })).toBeVisible();
    await expect(pub.getByTestId('plan-name')).toHaveText(cockpit.plan!);
    await expect(pub.getByTestId('plan-price')).toHaveText(cockpit.price!);
    expect(
      await pub.getByTestId('metric-card').evaluateAll((els) =>
        els.map((e) => [
          e.getAttribute('data-metric'),
          e.querySelector('[data-testid="metric-used"]')?.textContent,
          e.querySelector('[data-testid="metric-limit"]')?.textContent,
          e.querySelector('[data-testid="metric-percent"]')?.textContent,
        ]),
      ),
    ).toEqual(cockpit.metrics);
    await expect(pub.getByTestId('usage-chart').first().getByTestId('chart-actual')).toHaveCount(1);
    await expect(pub.getByTestId('projection-status').first()).toBeVisible();
    await expect(pub.getByTestId('timeline-item').first()).toBeVisible();
    await expect(pub.getByTestId('recommendation-card')).toBeVisible();
    // Read-only: no form, no button, none of the cockpit's actions.
    await expect(pub.locator('form')).toHaveCount(0);
    await expect(pub.locator('button')).toHaveCount(0);
    for (const id of ['topup-form', 'share-form', 'share-button', 'topup-button', 'copy-button']) {
      await expect(pub.getByTestId(id)).toHaveCount(0);
    }
    await anon.close();
  });

  scenario(lang, `simulated Stripe checkout: confirm and cancel toasts, history [${lang}]`, async ({ adminPage: page, quota }) => {
    const brand = await quota.newBrand(`topup_${lang}`);
    await page.goto(cockpitPath(brand, lang));
    await expect(page.getByTestId('topup-row')).toHaveCount(0);

    // Confirm.
    const form = page.getByTestId('topup-form');
    await form.locator('select[name="metric"]').selectOption('ai_generations');
    await form.locator('input[name="units"]').fill('40');
    await page.getByTestId('topup-button').click();
    await expect(page).toHaveURL(/\/checkout\/simulated\/[^/]+/);
    await expect(page.locator('body')).toContainText('40');
    await page.getByRole('button', { name: t.pay, exact: true }).click();
    await expect(page).toHaveURL(/\/analytics\?/);
    const okUrl = new URL(page.url());
    expect(okUrl.searchParams.get('topup')).toBe('success');
    expect(okUrl.searchParams.get('brandId')).toBe(brand);
    expect(okUrl.searchParams.get('lang')).toBe(lang);
    const toast = page.getByTestId('toast');
    await expect(toast).toHaveText(t.toastSuccess);
    await expect(toast).toHaveAttribute('role', 'status');
    const rows = page.getByTestId('topup-row');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toHaveAttribute('data-status', 'completed');
    await expect(rows.first()).toContainText('40');
    await expect(
      page.locator('[data-testid="metric-card"][data-metric="ai_generations"] [data-testid="metric-topups"]'),
    ).toHaveText('40');
    const hist1 = await quota.api('GET', `/usage-billing/topups?brandId=${brand}`);
    expect(hist1.json.topups.map((x: any) => [x.units, x.status])).toEqual([[40, 'completed']]);

    // A POST from another origin is refused, and starts nothing.
    const forged = await page.request.post('/analytics/topup', {
      headers: { origin: 'http://attacker.invalid' },
      form: { brandId: brand, metric: 'ai_generations', units: '5', lang },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect((await quota.api('GET', `/usage-billing/topups?brandId=${brand}`)).json.topups).toHaveLength(1);

    // Cancel.
    await page.getByTestId('topup-form').locator('input[name="units"]').fill('15');
    await page.getByTestId('topup-button').click();
    await expect(page).toHaveURL(/\/checkout\/simulated\/[^/]+/);
    await page.getByRole('button', { name: t.cancel, exact: true }).click();
    await expect(page).toHaveURL(/topup=cancel/);
    await expect(page.getByTestId('toast')).toHaveText(t.toastCancel);
    await expect(rows).toHaveCount(2);
    await expect(rows.nth(0)).toHaveAttribute('data-status', 'cancelled'); // newest first
    await expect(rows.nth(0)).toContainText('15');
    await expect(rows.nth(1)).toHaveAttribute('data-status', 'completed');
    await expect(
      page.locator('[data-testid="metric-card"][data-metric="ai_generations"] [data-testid="metric-topups"]'),
    ).toHaveText('40');
  });

  scenario(lang, `375 px viewport: no horizontal scroll [${lang}]`, async ({ adminPage: page, quota }) => {
    // A brand like the demo brand: its usage, a blocked gauge, alerts, and an id of the same
    // length as `brand_dashboard` (15 characters; this checks the layout, not long ids).
    const brand = await quota.addBrand(`e2e_${lang}_${randomBytes(4).toString('hex')}`);
    await quota.record(brand, 'renders_2d', 12);
    await quota.record(brand, 'team_members', 3);
    await quota.reset(brand, 'ai_generations', 92);
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto(cockpitPath(brand, lang));
    await expect(page.getByTestId('plan-card')).toBeVisible();
    const [sw, cw] = await page.evaluate(() => [
      document.documentElement.scrollWidth,
      document.documentElement.clientWidth,
    ]);
    expect(cw).toBeLessThanOrEqual(375);
    expect(sw, `scrollWidth ${sw} > clientWidth ${cw}`).toBeLessThanOrEqual(cw);
    // The share form's URL field too, once a link exists.
    await page.getByTestId('share-button').click();
    await expect(page.getByTestId('share-url')).toBeVisible();
    const [sw2, cw2] = await page.evaluate(() => [
      document.documentElement.scrollWidth,
      document.documentElement.clientWidth,
    ]);
    expect(sw2, `scrollWidth ${sw2} > clientWidth ${cw2}`).toBeLessThanOrEqual(cw2);
  });

  scenario(lang, `monitoring shows the store probe and the alert channels [${lang}]`, async ({ adminPage: page }) => {
    await page.goto(`/monitoring?lang=${lang}`);
    await expect(page.locator('html')).toHaveAttribute('lang', lang);
    const store = page.getByTestId('store-health');
    await expect(store).toHaveAttribute('data-ok', 'true');
    await expect(store).toContainText('memory');
    // The suite's server has no Slack / SMTP / webhook configured.
    await expect(page.getByTestId('sink-health')).toContainText(
      lang === 'fr' ? 'aucun canal configuré' : 'no channel configured',
    );
    for (const href of ['/metrics', '/healthz']) {
      await expect(page.locator(`main a[href="${href}"]`).first()).toBeVisible();
    }
    await expect(page.locator('main a[href^="/analytics"]').first()).toBeVisible();
  });

  scenario(
    lang,
    `screenshots of brand_dashboard: cockpit and share page [${lang}]`,
    async ({ adminPage: page, quota, browser }, testInfo) => {
      // The runbook's preparation (section 2), on this test's own server: its freshly seeded
      // `brand_dashboard` is the same on every run, and no other test sees it change.
      await quota.reset('brand_dashboard', 'ai_generations', 92);
      await page.setViewportSize(VIEWPORT);
      await page.goto(cockpitPath('brand_dashboard', lang));
      const aiPercent = '[data-testid="metric-card"][data-metric="ai_generations"] [data-testid="metric-percent"]';
      await expect(page.locator(aiPercent)).toHaveText(t.percent(92));
      await expect(page.getByTestId('metric-card')).toHaveCount(3);
      // What the capture shows: the page's landmarks, then the first screen of the cockpit
      // (title, plan, recommendation, the quota cards), whole and on screen.
      await expect(page.getByRole('banner')).toBeVisible();
      await expect(page.getByRole('navigation', { name: 'Navigation' })).toBeVisible();
      await expect(page.getByRole('main')).toBeVisible();
      await expect(page.getByRole('main').getByRole('heading', { level: 1 })).toHaveCount(1);
      await expect(page.getByRole('heading', { level: 1 })).toContainText('brand_dashboard');
      await expectFirstScreen(page, t.currentPlan, t.recommendedPlan);
      await expect(page.getByTestId('timeline-item').first()).toBeVisible();
      await capture(page, `cockpit-${lang}.png`, testInfo);

      // Its share page (runbook section 3.5: a link issued by the API), seen without a session.
      const link = await quota.api('POST', '/usage-billing/share', { brandId: 'brand_dashboard' });
      expect(link.status).toBe(201);
      const anon = await browser.newContext({ locale: LOCALE[lang], viewport: VIEWPORT });
      const pub = await anon.newPage();
      await pub.goto(link.json.url);
      await expect(pub.locator('html')).toHaveAttribute('lang', lang);
      await expect(pub.locator(aiPercent)).toHaveText(t.percent(92));
      await expect(pub.getByRole('banner')).toBeVisible();
      await expect(pub.getByRole('main')).toBeVisible();
      await expect(pub.getByRole('heading', { level: 1 })).toContainText('brand_dashboard');
      // The public page: none of the admin navigation, no form.
      await expect(pub.getByRole('navigation', { name: 'Navigation' })).toHaveCount(0);
      await expect(pub.locator('form')).toHaveCount(0);
      await expectFirstScreen(pub, t.currentPlan, t.recommendedPlan);
      await capture(pub, `share-${lang}.png`, testInfo);
      await anon.close();
    },
    { ownServer: true },
  );
  // The dev clock is the whole server's time: moving it needs a server of the test's own.
  scenario(
    lang,
    `month-end reset with the dev clock: curves back at 0, "${t.stable}" [${lang}]`,
    async ({ adminPage: page, quota }) => {
      const brand = await quota.newBrand(`monthend_${lang}`);
      await quota.record(brand, 'ai_generations', 120);
      await quota.record(brand, 'renders_2d', 60); // crosses 50 %: an alert in the timeline
      const before = await quota.summary(brand, lang);
      expect(before.stable).toBe(false);
      await page.goto(cockpitPath(brand, lang));
      const ai = page.locator('[data-testid="metric-card"][data-metric="ai_generations"]');
      await expect(ai.getByTestId('metric-used')).toHaveText('120');
      const pts0 = await chartPoints(page, '[data-metric="ai_generations"] [data-testid="chart-actual"]');
      expect(pts0.some(([, y]) => y !== pts0[0][1])).toBe(true);
      await expect(page.getByTestId('timeline-stable')).toHaveCount(0);

      // Past the end of the period.
      const end = Date.parse(before.period.end);
      const moved = await quota.api('POST', '/admin/clock/advance', { to: new Date(end + 3_600_000).toISOString() });
      expect(moved.status, JSON.stringify(moved.json)).toBe(200);
      const next = await quota.summary(brand, lang);
      expect(next.period.start).toBe(before.period.end);
      expect(next.stable).toBe(true);
      expect(next.stableLabel).toBe(t.stable);

      await page.goto(cockpitPath(brand, lang));
      for (const metric of ['ai_generations', 'renders_2d']) {
        const card = page.locator(`[data-testid="metric-card"][data-metric="${metric}"]`);
        await expect(card.getByTestId('metric-used')).toHaveText('0');
        await expect(card.getByTestId('metric-percent')).toHaveText(t.percent(0));
        const pts = await chartPoints(page, `[data-metric="${metric}"] [data-testid="chart-actual"]`);
        expect(pts.length).toBeGreaterThan(0);
        // Every point of the curve on the zero line.
        expect(pts.every(([, y]) => y === pts[0][1])).toBe(true);
        const curve = next.metrics.find((m: any) => m.metric === metric).curve;
        expect(curve.every((p: any) => p.units === 0)).toBe(true);
      }
      await expect(page.getByTestId('timeline-stable')).toHaveText(t.stable);
      await expect(page.getByTestId('timeline-item')).toHaveCount(0);
    },
    { ownServer: true },
  );
}

/** The declared order, reversed, or shuffled with a seeded generator (mulberry32). */
function ordered<T>(items: T[]): T[] {
  const order = process.env.QUOTA_E2E_ORDER ?? '';
  if (order === '' || order === 'declared') return items;
  if (order === 'reverse') return [...items].reverse();
  const m = /^shuffle:(\d+)$/.exec(order);
  if (!m) throw new Error(`QUOTA_E2E_ORDER=${order}: use declared, reverse or shuffle:<seed>`);
  let a = Number(m[1]) >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

test.describe('Usage quota overview', () => {
  for (const s of ordered(scenarios)) {
    test.describe(s.lang, () => {
      test.use({ locale: LOCALE[s.lang], ownServer: s.ownServer });
      test(s.title, s.body);
    });
  }
});
