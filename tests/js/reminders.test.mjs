// The monthly information's reminder: last month's is due by the 5th; a reminder until then, an alert after.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { dueMonth, reportState } from '../../pwa/js/ui/reminders.js';

test('the month due is the one before', () => {
  assert.equal(dueMonth('2026-11-22'), '2026-10');
  assert.equal(dueMonth('2026-01-03'), '2025-12');
});

test('a reminder from the 1st to the 5th, an alert after, nothing once presented', () => {
  assert.equal(reportState('2026-11-01', []), 'reminder');
  assert.equal(reportState('2026-11-05', ['2026-09']), 'reminder');
  assert.equal(reportState('2026-11-06', []), 'alert');
  assert.equal(reportState('2026-11-22', ['2026-10']), null);
  assert.equal(reportState('2026-01-02', ['2025-12']), null);
});
