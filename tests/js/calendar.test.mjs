// The calendar twin replays the same vectors as tests/test_calendar.py (sync/vectors/calendar.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { WorkCalendar } from '../../pwa/js/calendar.js';

const VECTORS = new URL('../../sync/vectors/', import.meta.url);
const { cases } = JSON.parse(readFileSync(new URL('calendar.json', VECTORS), 'utf8'));

for (const c of cases) {
  test(`calendar: ${c.name}`, () => {
    const calendar = WorkCalendar.fromJSON(c.calendar);
    assert.deepEqual(calendar.toJSON(), c.calendar);
    for (const d of c.due_on) assert.equal(calendar.dueOn(d.received_on, d.n), d.expected, JSON.stringify(d));
    for (const d of c.is_working_day) assert.equal(calendar.isWorkingDay(d.date), d.expected, JSON.stringify(d));
    for (const d of c.status) assert.equal(calendar.status(d.due_on, d.today), d.expected, JSON.stringify(d));
    for (const d of c.working_days_between) {
      assert.equal(calendar.workingDaysBetween(d.start, d.end), d.expected, JSON.stringify(d));
    }
  });
}

test('calendar: the default is five working days in a Monday to Friday week', () => {
  assert.equal(new WorkCalendar().dueOn('2025-09-15'), '2025-09-22');
  assert.deepEqual(WorkCalendar.fromJSON({}).toJSON(), new WorkCalendar().toJSON());
});

test('calendar: invalid arguments are refused', () => {
  assert.throws(() => new WorkCalendar({ week: 7 }), RangeError);
  assert.throws(() => new WorkCalendar({ holidays: ['2025-02-30'] }), RangeError);
  assert.throws(() => new WorkCalendar().dueOn('2025-09-15', 0), RangeError);
  assert.throws(() => new WorkCalendar().dueOn('15.09.2025', 1), RangeError);
});

test('calendar: the result does not depend on the time zone of the device', () => {
  // Bishkek is UTC+6 and has no daylight saving; UTC arithmetic keeps days whole anywhere, DST included.
  const calendar = new WorkCalendar({ holidays: ['2025-03-30'] });
  assert.equal(calendar.dueOn('2025-03-28', 2), '2025-04-01');
  assert.equal(calendar.dueOn('2025-10-24', 5), '2025-10-31');
});

test('calendar: properties over a random calendar (due_on is the n-th working day after receipt)', () => {
  // A small seeded generator: the same cases on every run, many shapes of calendar.
  let seed = 20250901;
  const rand = (k) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % k;
  };
  const day = (i) => new Date(Date.UTC(2025, 8, 1 + i)).toISOString().slice(0, 10);
  const some = (count) => Array.from({ length: rand(count) }, () => day(rand(120)));
  for (let i = 0; i < 300; i += 1) {
    const calendar = new WorkCalendar({ week: 5 + rand(2), holidays: some(40), days_off: some(15), working_days: some(15) });
    const receivedOn = day(rand(120));
    const n = 1 + rand(15);
    const due = calendar.dueOn(receivedOn, n);
    assert.ok(calendar.isWorkingDay(due));
    assert.ok(due > receivedOn);
    assert.equal(calendar.workingDaysBetween(receivedOn, due), n);
    assert.deepEqual(WorkCalendar.fromJSON(calendar.toJSON()).toJSON(), calendar.toJSON());
  }
});
