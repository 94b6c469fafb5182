// The usage chart of a metric card, in French and in English: axes with their ticks and
// captions, the labelled allowance line, the median projection inside its shaded 80 % band,
// today's marker, the legend, the text alternative, and the capped vertical axis when the
// projection runs far above the allowance (the real usage stays readable).
//
// Each test gets a server of its own (`ownServer`): it moves the dev clock to the start of a
// later period and records ten days of usage, one call a day, so the curve, the projection and
// the band are the same on every run (up to the length of that month).
import fs from 'node:fs';
import path from 'node:path';
import type { Locator, TestInfo } from '@playwright/test';
import { LANGS, SCREENSHOTS, chartPoints, cockpitPath, expect, test, type Lang, type Quota } from './support';

const LOCALE: Record<Lang, string> = { fr: 'fr-FR', en: 'en-US' };

const T = {
  fr: {
    days: 'jours de la période',
    units: 'unités',
    legend: ['Consommation réelle', 'Projection (médiane)', 'Intervalle à 80 %', 'Allocation', "Aujourd'hui"],
    allowance: 'Allocation 500',
    capped: 'Axe vertical plafonné à',
    band: 'Intervalle à 80 % : ',
  },
  en: {
    days: 'days of the period',
    units: 'units',
    legend: ['Actual usage', 'Projection (median)', '80% band', 'Allowance', 'Today'],
    allowance: 'Allowance 500',
    capped: 'Vertical axis capped at',
    band: '80% band: ',
  },
} as const;

/** Days recorded before the page is read. */
const DAYS = 10;

/**
 * Moves the server's clock to noon of the first day of the period after the current one, then
 * records `perDay[brand]` units of ai_generations for each brand once a day for DAYS days.
 */
async function tenDays(quota: Quota, perDay: Record<string, number>): Promise<void> {
  const first = Object.keys(perDay)[0];
  const now = await quota.summary(first, 'en');
  const noon = Date.parse(now.period.end) + 12 * 3_600_000;
  const moved = await quota.api('POST', '/admin/clock/advance', { to: new Date(noon).toISOString() });
  expect(moved.status, JSON.stringify(moved.json)).toBe(200);
  for (let d = 0; d < DAYS; d++) {
    for (const [brand, units] of Object.entries(perDay)) await quota.record(brand, 'ai_generations', units);
    const step = await quota.api('POST', '/admin/clock/advance', { days: 1 });
    expect(step.status, JSON.stringify(step.json)).toBe(200);
  }
}

/** A card's chart as numbers: the plot's top and bottom, the curve, the band's right edge. */
async function geometry(card: Locator) {
  const svg = card.getByTestId('usage-chart');
  const num = async (l: Locator, a: string) => Number(await l.getAttribute(a));
  const limit = svg.getByTestId('chart-limit');
  return {
    limitY: (await limit.count()) ? await num(limit, 'y1') : null,
    todayX: await num(svg.getByTestId('chart-today'), 'x1'),
    todayTop: await num(svg.getByTestId('chart-today'), 'y1'),
    todayBottom: await num(svg.getByTestId('chart-today'), 'y2'),
    band: ((await svg.getByTestId('chart-band').getAttribute('points')) ?? '')
      .trim()
      .split(/\s+/)
      .map((p) => p.split(',').map(Number) as [number, number]),
    median: [await num(svg.getByTestId('chart-projection'), 'x2'), await num(svg.getByTestId('chart-projection'), 'y2')],
  };
}

/** An element capture, attached to the report; written under docs/ with UPDATE_SCREENSHOTS=1. */
async function capture(el: Locator, name: string, testInfo: TestInfo): Promise<void> {
  const png = await el.screenshot();
  expect(png.length).toBeGreaterThan(1000);
  await testInfo.attach(name, { body: png, contentType: 'image/png' });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    fs.writeFileSync(path.join(SCREENSHOTS, name), png);
  }
}

test.describe('Usage quota overview: charts', () => {
  for (const lang of LANGS) {
    const t = T[lang];
    test.describe(lang, () => {
      test.use({ locale: LOCALE[lang], ownServer: true, viewport: { width: 1280, height: 900 } });

      test(`the chart has axes, allowance, band, median, today and a legend [${lang}]`, async ({
        adminPage: page,
        quota,
      }, testInfo) => {
        const brand = await quota.newBrand(`chart_${lang}`);
        await tenDays(quota, { [brand]: 15 });
        const api = (await quota.summary(brand, lang)).metrics.find((m: any) => m.metric === 'ai_generations');
        expect(api.used).toBe(15 * DAYS);
        const p = api.projection;
        expect(p.projectedLow).toBeLessThanOrEqual(p.projectedUsed);
        expect(p.projectedUsed).toBeLessThanOrEqual(p.projectedHigh);

        await page.goto(cockpitPath(brand, lang));
        const card = page.locator('[data-testid="metric-card"][data-metric="ai_generations"]');
        const svg = card.getByTestId('usage-chart');
        await expect(svg).toBeVisible();

        // Axes: units on the left from 0, days below from 0 by weeks, each with its caption.
        const y = svg.getByTestId('chart-y-axis');
        const yTicks = (await y.locator('text').allTextContents()).map((s) => s.trim());
        expect(yTicks[0]).toBe('0');
        expect(yTicks).toContain(t.units);
        const yNums = yTicks.filter((s) => /^\d+$/.test(s)).map(Number);
        expect(yNums.length).toBeGreaterThanOrEqual(3);
        // Not capped: the band's top is inside the plot, above the highest tick but one step.
        const step = yNums[1] - yNums[0];
        expect(Math.max(...yNums) + step).toBeGreaterThan(p.projectedHigh);
        const x = svg.getByTestId('chart-x-axis');
        const xTicks = (await x.locator('text').allTextContents()).map((s) => s.trim());
        expect(xTicks.slice(0, 5)).toEqual(['0', '7', '14', '21', '28']);
        expect(xTicks).toContain(t.days);

        // The allowance line, labelled; not capped: no note.
        await expect(svg.getByTestId('chart-limit-label')).toHaveText(t.allowance);
        await expect(card.getByTestId('chart-capped')).toHaveCount(0);

        // The band starts where the curve ends (today) and opens to the period end, the median
        // inside it; higher units are drawn higher (smaller y).
        const g = await geometry(card);
        const pts = await chartPoints(page, '[data-metric="ai_generations"] [data-testid="chart-actual"]');
        // One point per day of the curve the API returns (day 0 to today).
        expect(pts.length).toBe(api.curve.length);
        const last = pts[pts.length - 1];
        expect(g.todayX).toBeCloseTo(last[0], 1);
        expect(g.band).toHaveLength(3);
        expect(g.band[0][0]).toBeCloseTo(last[0], 1);
        expect(g.band[0][1]).toBeCloseTo(last[1], 1);
        const [, high, low] = g.band;
        expect(high[0]).toBe(low[0]);
        expect(g.median[0]).toBe(high[0]);
        expect(high[1]).toBeLessThanOrEqual(g.median[1]);
        expect(g.median[1]).toBeLessThanOrEqual(low[1]);
        // Today's marker spans the plot; the band's area is shaded, the median dashed.
        expect(g.todayTop).toBeLessThan(g.todayBottom);
        await expect(svg.getByTestId('chart-projection')).toHaveAttribute('stroke-dasharray', /\d/);
        const fill = await svg.getByTestId('chart-band').evaluate((e) => getComputedStyle(e).fillOpacity);
        expect(Number(fill)).toBeGreaterThan(0);
        expect(Number(fill)).toBeLessThan(1);

        // The legend names each line and area in the page's language.
        await expect(card.getByTestId('chart-legend').locator('li')).toHaveText([...t.legend]);

        // Text for screen readers and the projection's figures, band included.
        const label = (await svg.getAttribute('aria-label')) ?? '';
        for (const n of [api.used, p.projectedUsed, p.projectedLow, p.projectedHigh]) expect(label).toContain(String(n));
        await expect(card.getByTestId('projection-band')).toHaveText(`${t.band}${p.projectedLow} – ${p.projectedHigh}`);
        // One value per day on hover.
        const hover = await svg.locator('circle title').allTextContents();
        expect(hover).toHaveLength(api.curve.length);
        expect(hover[hover.length - 1]).toContain(String(api.used));

        await capture(card, `chart-${lang}.png`, testInfo);
      });

      test(`a projection far above the allowance caps the axis and says so [${lang}]`, async ({
        adminPage: page,
        quota,
      }) => {
        const brand = await quota.newBrand(`chart_cap_${lang}`);
        await tenDays(quota, { [brand]: 100 });
        const api = (await quota.summary(brand, lang)).metrics.find((m: any) => m.metric === 'ai_generations');
        expect(api.used).toBe(100 * DAYS);
        // 100 a day for a month: the band's top is well past twice the highest real value.
        expect(api.projection.projectedHigh).toBeGreaterThan(2 * Math.max(api.used, api.limit));

        await page.goto(cockpitPath(brand, lang));
        const card = page.locator('[data-testid="metric-card"][data-metric="ai_generations"]');
        const svg = card.getByTestId('usage-chart');
        const note = card.getByTestId('chart-capped');
        await expect(note).toContainText(t.capped);
        await expect(note).toContainText(String(api.projection.projectedHigh));
        // It stops at twice the highest of the allowance and the real usage, and says so.
        const cap = 2 * Math.max(api.used, api.limit);
        await expect(note).toContainText(` ${cap} `);
        const yNums = (await svg.getByTestId('chart-y-axis').locator('text').allTextContents())
          .map((s) => s.trim())
          .filter((s) => /^\d+$/.test(s))
          .map(Number);
        expect(Math.max(...yNums)).toBeLessThanOrEqual(cap);
        expect(Math.max(...yNums)).toBeGreaterThan(api.used);
        // The real curve fills a good part of the plot height: readable, not flattened.
        const g = await geometry(card);
        const pts = await chartPoints(page, '[data-metric="ai_generations"] [data-testid="chart-actual"]');
        const rise = pts[0][1] - pts[pts.length - 1][1];
        expect(rise / (g.todayBottom - g.todayTop)).toBeGreaterThan(0.35);
        for (const [, py] of pts) expect(py).toBeGreaterThanOrEqual(g.todayTop);
      });
    });
  }
});
