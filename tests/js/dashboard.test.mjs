// The dashboard's and the monthly report's pure parts: the chart's scale, the report's default month, and
// how a hidden small count ("<3") is worded. (The screens need a DOM: tests/browser/test_dashboard.py.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { useCatalog } from '../../pwa/js/i18n.js';
import { monthName, trendScale } from '../../pwa/js/ui/dashboard.js';
import { defaultMonth, pickableMonths } from '../../pwa/js/ui/report.js';
import { reportCount } from '../../pwa/js/print/documents.js';

const catalog = (lang) => JSON.parse(readFileSync(new URL(`../../pwa/locales/${lang}.json`, import.meta.url), 'utf8'));

test('the chart scale: whole letters, steps of 1, 2 or 5 times a power of ten, the top at or above the most', () => {
  assert.deepEqual(trendScale(0), { top: 1, ticks: [0, 1] });
  assert.deepEqual(trendScale(3), { top: 3, ticks: [0, 1, 2, 3] });
  assert.deepEqual(trendScale(5), { top: 5, ticks: [0, 1, 2, 3, 4, 5] });
  assert.deepEqual(trendScale(7), { top: 8, ticks: [0, 2, 4, 6, 8] });
  assert.deepEqual(trendScale(23), { top: 25, ticks: [0, 5, 10, 15, 20, 25] });
  assert.deepEqual(trendScale(140), { top: 150, ticks: [0, 50, 100, 150] });
  for (let max = 0; max < 500; max += 1) {
    const { top, ticks } = trendScale(max);
    assert.ok(top >= max && ticks.at(-1) === top && ticks.length <= 7, `max ${max}`);
  }
});

test('the report opens on the previous month until the 5th, then on this month', () => {
  assert.equal(defaultMonth('2025-04-02'), '2025-03');
  assert.equal(defaultMonth('2025-04-05'), '2025-03');
  assert.equal(defaultMonth('2025-04-06'), '2025-04');
  assert.equal(defaultMonth('2026-01-01'), '2025-12');
  assert.equal(defaultMonth('2026-11-22'), '2026-11');
});

test('a hidden small count is worded "fewer than 3" in each language; months by their names', () => {
  for (const [lang, words, march] of [['ky', '3төн аз', 'март 2025'], ['ru', 'менее 3', 'март 2025'], ['en', 'fewer than 3', 'March 2025']]) {
    useCatalog(lang, catalog(lang));
    assert.equal(reportCount('<3'), words);
    assert.equal(monthName('2025-03'), march);
  }
  assert.equal(reportCount(5), '5');
  assert.equal(reportCount(0), '0');
  assert.equal(reportCount(null), '—');
});

test('the picker offers this month and the 35 before it, newest first, and an older month when shown', () => {
  const months = pickableMonths('2026-11-22', '2026-11');
  assert.equal(months.length, 36);
  assert.deepEqual(months.slice(0, 3), ['2026-11', '2026-10', '2026-09']);
  assert.equal(months.at(-1), '2023-12');
  assert.ok(months.includes('2026-01') && months.includes('2025-12'));
  assert.deepEqual(pickableMonths('2026-11-22', '2020-02').slice(-2), ['2023-12', '2020-02']);
});
