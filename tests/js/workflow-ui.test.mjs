// The workflow screens' pure parts: the meeting's agenda and default date, the cadence alerts, the act's
// member lines, moments with the tablet's offset, the minutes' decisions.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { useCatalog } from '../../pwa/js/i18n.js';
import { agendaOf, decisionsOf, lastCommissionDay } from '../../pwa/js/ui/meetings.js';
import { cadenceAlerts, parseMembers } from '../../pwa/js/ui/openings.js';
import { withOffset } from '../../pwa/js/ui/event-form.js';

useCatalog('en', { 'cadence.no_collection': 'No collection for more than {days} days.', 'cadence.no_act': 'No act for a month.' });

const letter = (id, received_on, status = 'registered', extra = {}) => ({ id, received_on, status, serial_no: null, ...extra });

test('the meeting defaults to the commission day on or before today', () => {
  assert.equal(lastCommissionDay('2026-11-20'), '2026-11-20'); // a Friday
  assert.equal(lastCommissionDay('2026-11-22'), '2026-11-20'); // Sunday → Friday before
  assert.equal(lastCommissionDay('2026-11-19'), '2026-11-13'); // Thursday → last week's Friday
  assert.equal(lastCommissionDay('2026-11-19', 3), '2026-11-19'); // a school meeting on Thursdays
});

test('the agenda: letters since the last meeting and open cases, none received after the meeting', () => {
  const appeals = [
    letter('old-open', '2026-11-02', 'in_progress'),
    letter('old-answered', '2026-11-03', 'answered'),
    letter('old-closed', '2026-11-04', 'closed'),
    letter('new', '2026-11-16'),
    letter('refused', '2026-11-17', 'not_accepted'),
    letter('after', '2026-11-21'),
  ];
  const meetings = [{ held_on: '2026-11-13' }, { held_on: '2026-11-27' }];
  assert.deepEqual(agendaOf(appeals, meetings, '2026-11-20').map((v) => v.id), ['old-open', 'old-answered', 'new']);
  assert.deepEqual(agendaOf(appeals, [], '2026-11-15').map((v) => v.id), ['old-open', 'old-answered']);
});

test('cadence alerts: a week without collection, a month without an act', () => {
  const settings = { collection_every_days: 7, act_every_days: 31 };
  assert.deepEqual(cadenceAlerts([{ opened_at: '2026-11-16T08:00:00+06:00' }], settings, '2026-11-22'), []);
  assert.deepEqual(cadenceAlerts([{ opened_at: '2026-11-14T08:00:00+06:00' }], settings, '2026-11-22'),
    ['No collection for more than 7 days.']);
  assert.equal(cadenceAlerts([{ opened_at: '2026-10-20T08:00:00+06:00' }], settings, '2026-11-22').length, 2);
  assert.equal(cadenceAlerts([], settings, '2026-11-22').length, 2); // never opened
  assert.deepEqual(cadenceAlerts([{ opened_at: '2026-11-14T08:00:00+06:00' }], { ...settings, collection_every_days: 14 }, '2026-11-22'), []);
});

test('the act lists members one per line as "name, position"', () => {
  assert.deepEqual(parseMembers('Айгүл Ж., социалдык педагог\n\n  Бакыт О. — орун басар \nЧынара'), [
    { name: 'Айгүл Ж.', position: 'социалдык педагог' },
    { name: 'Бакыт О.', position: 'орун басар' },
    { name: 'Чынара', position: '' },
  ]);
});

test('a moment typed on the tablet carries the tablet\'s offset', () => {
  const bishkek = { getTimezoneOffset: () => -360 };
  assert.equal(withOffset('2026-11-20T08:05', bishkek), '2026-11-20T08:05:00+06:00');
  assert.equal(withOffset('2026-11-20T08:05', { getTimezoneOffset: () => 90 }), '2026-11-20T08:05:00-01:30');
});

test('the minutes list the decisions taken at that meeting only', () => {
  const decided = (meeting_id, decision) => ({ meeting_id, decision, official: { name: 'Б. О.', position: 'орун басар' }, measures_planned: null });
  const appeals = [
    letter('a', '2026-11-16', 'in_progress', { serial_no: 4, contents: { summary: 'Бир', case: { decisions: [decided('m1', 'Сүйлөшүү')] } } }),
    letter('b', '2026-11-10', 'in_progress', { provisional_no: 2, contents: { summary: 'Эки', case: { decisions: [decided('m0', 'Мурунку'), decided('m1', 'Жардам')] } } }),
  ];
  assert.deepEqual(decisionsOf('m1', appeals).map((row) => [row.summary, row.decision]), [['Эки', 'Жардам'], ['Бир', 'Сүйлөшүү']]);
  const sameDay = [
    letter('c', '2026-11-16', 'in_progress', { provisional_no: 2, contents: { summary: 'Үч', case: { decisions: [decided('m1', 'x')] } } }),
    letter('d', '2026-11-16', 'in_progress', { provisional_no: 1, contents: { summary: 'Төрт', case: { decisions: [decided('m1', 'y')] } } }),
  ];
  assert.deepEqual(decisionsOf('m1', sameDay).map((row) => row.summary), ['Төрт', 'Үч']);
});
