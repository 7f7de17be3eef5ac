// The administration's and the audit's pure parts: what a settings form sends (only what changed), where the
// server's 422 fields are marked and in whose words, the settings' bounds and the roles taken from
// sync/spec.json rather than written again, the audit's filters, letter numbers, people, file name and rows'
// words, and a dashboard notice's words.
// (The screens need a DOM: tests/browser/test_admin.py.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { useCatalog } from '../../pwa/js/i18n.js';
import { SCHOOL_ROLES, WEEKS } from '../../pwa/js/vocabulary.js';
import {
  COMMISSION_DAYS, LIST_SETTINGS, NUMBER_SETTINGS, dateList, problemPlaces, problemText, settingsChanges, wholeNumber,
} from '../../pwa/js/ui/admin-values.js';
import {
  columns, csvName, filtersHash, letterNumber, parseFilters, readersOf, rowCells, serverQuery, settingValue,
} from '../../pwa/js/ui/audit.js';
import { noticeWords } from '../../pwa/js/ui/dashboard.js';

const read = (path) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const catalog = (lang) => JSON.parse(read(`pwa/locales/${lang}.json`));

const LOADED = {
  name: 'Мектеп № 7',
  director_reads_contents: false,
  week: 5,
  due_in_days: 5,
  commission_day: 4,
  quorum: 3,
  collection_every_days: 7,
  act_every_days: 31,
  idle_lock_minutes: 10,
  trust_phones: [{ label: 'Балдар үчүн ишеним телефону', phone: '111' }],
  commission_members: [],
  working_group: [],
  days_off: ['2026-03-23', '2026-01-02'],
  working_days: [],
};

test('a settings form sends only what changed; dates compare as sets, objects whatever their key order', () => {
  const same = { ...LOADED, trust_phones: [{ phone: '111', label: 'Балдар үчүн ишеним телефону' }], days_off: ['2026-01-02', '2026-03-23'] };
  assert.deepEqual(settingsChanges(LOADED, same), {});
  const edited = { ...same, quorum: 2, days_off: dateList(['2026-03-23', '2026-01-02', '2026-05-04', '2026-05-04']) };
  assert.deepEqual(settingsChanges(LOADED, edited), { quorum: 2, days_off: ['2026-01-02', '2026-03-23', '2026-05-04'] });
  assert.deepEqual(settingsChanges(LOADED, { ...LOADED, commission_members: [{ name: 'А. Ж.', position: 'соцпедагог' }] }),
    { commission_members: [{ name: 'А. Ж.', position: 'соцпедагог' }] });
  assert.deepEqual(settingsChanges(LOADED, { ...LOADED, trust_phones: [] }), { trust_phones: [] });
  assert.deepEqual(settingsChanges(LOADED, { ...LOADED, director_reads_contents: true }), { director_reads_contents: true });
});

test('a typed whole number: the number, null when empty, the text itself when it is not one', () => {
  assert.equal(wholeNumber('3'), 3);
  assert.equal(wholeNumber(' 12 '), 12);
  assert.equal(wholeNumber(''), null);
  assert.equal(wholeNumber('2.5'), '2.5');
  assert.equal(wholeNumber('three'), 'three');
});

test("the server's 422 fields become places on the form: a field, a list, a row, a cell", () => {
  const places = problemPlaces({
    quorum: ['Must be greater than or equal to 1 and less than or equal to 10.'],
    trust_phones: { 0: { phone: ['Missing data for required field.'] }, 2: { _schema: ['Invalid input type.'] } },
    days_off: { 1: ['Not a valid date.'] },
    commission_members: ['Longer than maximum length 10.'],
    colour: ['Unknown field.'],
    name: ['1 to 200 characters.'],
  });
  assert.deepEqual([...places].sort(), [
    '_form', 'commission_members', 'days_off.1', 'name', 'quorum', 'trust_phones.0.phone', 'trust_phones.2',
  ]);
  assert.deepEqual([...problemPlaces({ _schema: ['An object of settings.'] })], ['_form']);
  assert.deepEqual([...problemPlaces(undefined)], []);
});

test('the marks are worded from the catalog, ranges with their limits, never with the server\'s English', () => {
  useCatalog('en', catalog('en'));
  assert.equal(problemText('quorum', 11), 'A whole number from 1 to 10.');
  assert.equal(problemText('idle_lock_minutes', null), 'A whole number from 1 to 120.');
  assert.equal(problemText('phone', ''), 'This field is required.');
  assert.equal(problemText('name', 'x'.repeat(201)), 'This value is not valid.');
  useCatalog('ky', catalog('ky'));
  assert.match(problemText('quorum', 0), /1.*10/);
});

test('the ranges, list limits and column lengths are those of sync/spec.json; the roles are the school staff\'s', () => {
  const spec = JSON.parse(read('sync/spec.json'));
  const { settings } = spec.limits;
  for (const [key, range] of Object.entries(NUMBER_SETTINGS)) assert.deepEqual(range, settings[key], key);
  for (const [key, { max }] of Object.entries(LIST_SETTINGS)) assert.deepEqual([0, max], settings[key], key);
  // Every setting the spec bounds has its place: a number, a list or the commission's day.
  assert.deepEqual([...Object.keys(NUMBER_SETTINGS), ...Object.keys(LIST_SETTINGS), 'commission_day'].sort(),
    Object.keys(settings).sort());
  assert.deepEqual(COMMISSION_DAYS, [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(LIST_SETTINGS.trust_phones.columns, spec.limits.trust_phone);
  assert.deepEqual(LIST_SETTINGS.commission_members.columns, spec.limits.person);
  assert.deepEqual(LIST_SETTINGS.working_group.columns, spec.limits.person);
  assert.equal(LIST_SETTINGS.days_off.columns, null);
  assert.deepEqual(SCHOOL_ROLES, spec.school_roles);
  assert.ok(!SCHOOL_ROLES.includes('district'));
});

test('the admin screens write no limit or role of the spec as a literal of their own', () => {
  const sources = ['admin.js', 'admin-accounts.js', 'admin-settings.js', 'admin-values.js']
    .map((name) => read(`pwa/js/ui/${name}`)).join('\n');
  assert.doesNotMatch(sources, /'pedagogue'|'commission'|'director'/);
  assert.doesNotMatch(sources, /maxlength: \d|max: \d|\[\s*\d+,\s*\d+\s*\]/);
});

test('every key the admin screen builds from a name exists in the three catalogs', () => {
  const keys = [
    ...['users', 'devices', 'settings'].map((tab) => `admin.tab_${tab}`),
    ...WEEKS.map((n) => `admin.week_${n}`),
    ...COMMISSION_DAYS.map((d) => `admin.weekday_${d}`),
    ...Object.values(LIST_SETTINGS).flatMap(({ columns }) => Object.keys(columns ?? {})).map((c) => `admin.column_${c}`),
    ...Object.keys(LIST_SETTINGS).flatMap((key) => [`admin.add_${key}`, `admin.setting_${key}`, `admin.setting_${key}_hint`]),
    ...['name', 'week', 'commission_day', ...Object.keys(NUMBER_SETTINGS)].flatMap((key) => [`admin.setting_${key}`, `admin.setting_${key}_hint`]),
    ...['username_taken', 'password_too_short', 'own_account', 'user_not_found', 'device_not_found'].map((code) => `error.${code}`),
  ];
  for (const lang of ['ky', 'ru', 'en']) {
    const words = catalog(lang);
    assert.deepEqual(keys.filter((key) => !words[key]), [], lang);
  }
});

test('the audit filters: checked from the route, and back into a route with the ones that have a value', () => {
  const user = '3f0c8a52-6a0e-4f43-9d2c-2b0b8e3f1a11';
  assert.deepEqual(parseFilters(undefined), { kind: 'views', user: '', from: '', to: '' });
  assert.deepEqual(parseFilters(`user=${user}&from=2025-03-01&to=2025-03-31`), { kind: 'views', user, from: '2025-03-01', to: '2025-03-31' });
  assert.deepEqual(parseFilters('kind=reads&user=x&from=01.03.2025&to=2025-03-31'), { kind: 'views', user: '', from: '', to: '2025-03-31' });
  assert.deepEqual(parseFilters(`kind=actions&user=${user}`), { kind: 'actions', user: '', from: '', to: '' }, 'admin actions by period only');
  assert.equal(filtersHash({}), '#/audit');
  assert.equal(filtersHash({ user, from: '', to: '2025-03-31' }), `#/audit?user=${user}&to=2025-03-31`);
  assert.equal(filtersHash({ kind: 'deliveries', user }), `#/audit?kind=deliveries&user=${user}`);
  assert.equal(filtersHash({ kind: 'actions', user, from: '2025-03-01' }), '#/audit?kind=actions&from=2025-03-01');
  assert.deepEqual(parseFilters(filtersHash({ user, from: '2025-03-01' }).split('?')[1]), { kind: 'views', user, from: '2025-03-01', to: '' });
  assert.deepEqual(serverQuery({ kind: 'views', user, from: '', to: '2025-03-31' }), { user, to: '2025-03-31' });
  assert.deepEqual(serverQuery({ kind: 'actions', user, from: '2025-03-01', to: '' }), { from: '2025-03-01' });
});

test('an entry names its letter by number and school year; people are listed once, by name; the file is named and dated', () => {
  assert.equal(letterNumber({ serial_no: 12, school_year: 2024 }), '№ 12 (2024–2025)');
  const a = { id: 'a', full_name: 'Айгүл', role: 'pedagogue' };
  const b = { id: 'b', full_name: 'Бакыт', role: 'commission' };
  assert.deepEqual(readersOf([{ user: b }, { by: a }, { user: b }, { by: null }]), [a, b]);
  assert.deepEqual(readersOf(undefined), []);
  assert.equal(csvName({}, '2026-11-22'), 'ishenim-audit-views-2026-11-22.csv');
  assert.equal(csvName({ kind: 'deliveries', from: '2025-03-01', to: '2025-03-31' }, '2026-11-22'), 'ishenim-audit-deliveries-2025-03-01-2025-03-31.csv');
  assert.equal(csvName({ kind: 'actions', from: '2025-03-01' }, '2026-11-22'), 'ishenim-audit-actions-2025-03-01-2026-11-22.csv');
});

test("the audit's rows: openings, deliveries and admin actions with who, role, device, and settings before → after", () => {
  useCatalog('en', catalog('en'));
  const user = { id: 'u1', full_name: 'Aigul T.', role: 'commission' };
  const device = { id: 'd1', name: 'Commission tablet' };
  const view = { viewed_at: '2025-03-10T06:05:00Z', recorded_at: '2025-03-10T06:06:00Z', user, device, school_year: 2024, serial_no: 7 };
  const cells = rowCells('views', view);
  assert.equal(cells.length, columns('views').length);
  assert.deepEqual(cells.slice(1), ['Aigul T.', catalog('en')['user_role.commission'] ?? cells[2], 'Commission tablet', '№ 7 (2024–2025)']);
  assert.match(cells[0], /2025/);

  const delivery = { delivered_at: '2025-03-10T06:00:00Z', user, device, letters: [{ school_year: 2024, serial_no: 1 }, { school_year: 2024, serial_no: 2 }] };
  const delivered = rowCells('deliveries', delivery);
  assert.equal(delivered.length, columns('deliveries').length);
  assert.equal(delivered[4], '2 letter(s): № 1 (2024–2025), № 2 (2024–2025)');

  const admin = { id: 'a1', full_name: 'Admin A.', role: 'admin' };
  const settings = {
    at: '2025-03-10T07:00:00Z', by: admin, device: { id: 'd2', name: 'Office' }, action: 'settings_changed', target: { user: null, device: null },
    changes: [{ setting: 'director_reads_contents', before: false, after: true }, { setting: 'retention_years', before: 5, after: 3 }],
  };
  const changed = rowCells('actions', settings);
  assert.equal(changed.length, columns('actions').length);
  assert.deepEqual(changed.slice(1, 5), ['Admin A.', changed[2], 'Office', 'Settings changed']);
  assert.equal(changed[5], `${catalog('en')['admin.setting_director_reads_contents']}: no → yes; ${catalog('en')['admin.setting_retention_years']}: 5 → 3`);
  const created = rowCells('actions', {
    at: '2025-03-10T07:01:00Z', by: admin, device: { id: 'd2', name: 'Office' }, action: 'user_created',
    target: { user: { id: 'u2', full_name: 'Bakyt K.', role: 'pedagogue', username: 'bakyt' }, device: null }, changes: [],
  });
  assert.match(created[4], /^Account created: Bakyt K\. \(/);
  assert.equal(created[5], '');
  const cli = rowCells('actions', { at: '2025-03-10T07:02:00Z', by: null, operator: 'cli:root', device: null, action: 'password_reset', target: { user, device: null }, changes: [] });
  assert.deepEqual(cli.slice(1, 4), ["the server's command line (root)", '—', '—']);
  assert.equal(rowCells('actions', { ...settings, action: 'something_new', changes: [] })[4], 'something_new');
  assert.equal(settingValue(['2026-01-02', '2026-03-23']), '2026-01-02; 2026-03-23');
  assert.equal(settingValue(null), '—');
  assert.equal(settingValue([{ label: 'Line', phone: '111' }]), 'Line, 111');
});

test("a notice of a new account names it, its role, who created it and when", () => {
  useCatalog('en', catalog('en'));
  const words = noticeWords({ user: { id: 'u', full_name: 'Bakyt K.', role: 'pedagogue', username: 'b' }, created_by: { full_name: 'Admin A.', role: 'admin' }, created_at: '2025-03-10T07:01:00Z' });
  assert.equal(words.name, 'Bakyt K.');
  assert.match(words.by, /^Admin A\. \(/);
  assert.match(words.at, /2025/);
  assert.equal(noticeWords({ user: { full_name: 'X', role: 'commission' }, created_by: null, created_at: '2025-03-10T07:01:00Z' }).by, "the server's command line");
});
