// The catalogs: the same keys in Kyrgyz, Russian and English, no empty message, and every key the code
// uses present in all three — including the vocabularies and error codes that the server defines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { LANGUAGES, formatDate, t, term, useCatalog } from '../../pwa/js/i18n.js';
import { CLIENT_ERROR_CODES, SERVER_ERROR_CODES } from '../../pwa/js/ui/errors.js';
import { deadlineState, dueDate } from '../../pwa/js/ui/format.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LANGS = ['ky', 'ru', 'en'];
const catalogs = Object.fromEntries(
  LANGS.map((lang) => [lang, JSON.parse(readFileSync(join(ROOT, 'pwa', 'locales', `${lang}.json`), 'utf8'))]),
);
const read = (path) => readFileSync(join(ROOT, path), 'utf8');
const SPEC = JSON.parse(read('sync/spec.json'));

// i18n.js names the languages itself (see there); they must be the spec's.
test("the app's languages are the spec's, each with its catalog", () => {
  assert.deepEqual(LANGUAGES, SPEC.vocabularies.languages);
  assert.deepEqual(LANGS, SPEC.vocabularies.languages);
});

function jsFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsFiles(path);
    return name.endsWith('.js') ? [path] : [];
  });
}

const sources = jsFiles(join(ROOT, 'pwa', 'js')).map((path) => ({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }));

function assertKeysEverywhere(keys, where) {
  for (const lang of LANGS) {
    const missing = [...keys].filter((key) => !Object.hasOwn(catalogs[lang], key));
    assert.deepEqual(missing, [], `${lang}.json lacks keys ${where}`);
  }
}

test('the three catalogs have the same keys', () => {
  for (const a of LANGS) {
    for (const b of LANGS) {
      const missing = Object.keys(catalogs[a]).filter((key) => !Object.hasOwn(catalogs[b], key));
      assert.deepEqual(missing, [], `keys of ${a}.json missing from ${b}.json`);
    }
  }
});

test('no message is empty or not a string', () => {
  for (const lang of LANGS) {
    for (const [key, message] of Object.entries(catalogs[lang])) {
      assert.equal(typeof message, 'string', `${lang}: ${key}`);
      assert.notEqual(message.trim(), '', `${lang}: ${key} is empty`);
    }
  }
});

test('a key has the same placeholders in every language', () => {
  const placeholders = (message) => [...message.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
  for (const key of Object.keys(catalogs.ky)) {
    const expected = placeholders(catalogs.ky[key]);
    for (const lang of LANGS) assert.equal(placeholders(catalogs[lang][key]), expected, `${lang}: ${key}`);
  }
});

test("every t('key') in pwa/js exists in all three catalogs", () => {
  const used = new Set();
  for (const { text } of sources) {
    for (const match of text.matchAll(/\bt\(\s*'([^']+)'/g)) used.add(match[1]);
  }
  assert.ok(used.size > 100, `only ${used.size} t('…') calls found: is the scan broken?`);
  assertKeysEverywhere(used, "used through t('…')");
});

test('keys held in variables (key-shaped literals of a catalog group) exist too', () => {
  // e.g. NAV = [{key: 'nav.journal'}], validation results like 'form.error_required'.
  const groups = new Set(Object.keys(catalogs.ky).map((key) => key.split('.')[0]));
  // Event type names ('opening.recorded') are shaped like keys but are the protocol's, not the catalog's.
  const eventTypes = new Set(Object.keys(SPEC.events));
  const used = new Set();
  for (const { text } of sources) {
    for (const match of text.matchAll(/'([a-z_]+)\.([a-z_.]+)'/g)) {
      const key = `${match[1]}.${match[2]}`;
      if (eventTypes.has(key)) continue;
      if (groups.has(match[1]) && !match[2].endsWith('.') && !match[0].includes('.js')) used.add(key);
    }
  }
  assertKeysEverywhere(used, 'named in key-shaped string literals');
});

test('every vocabulary of sync/spec.json has words: events, roles, statuses and each closed list', () => {
  // The catalog key of each value of each vocabulary (the school's week is worded on the settings screen).
  const keys = {
    authorities: 'authority.', answer_ways: 'answer_way.', answer_kinds: 'answer_kind.', measure_kinds: 'measure.',
    seal_states: 'seal.', applicant_roles: 'role.', categories: 'category.', languages: 'language.', weeks: 'admin.week_',
  };
  assert.deepEqual(Object.keys(keys).sort(), Object.keys(SPEC.vocabularies).sort(), 'a vocabulary with no catalog key');
  assertKeysEverywhere(new Set([
    ...Object.entries(SPEC.vocabularies).flatMap(([name, values]) => values.map((value) => `${keys[name]}${value}`)),
    ...SPEC.roles.map((role) => `user_role.${role}`),
    ...Object.keys(SPEC.events).flatMap((type) => [`event.${type}`, `mutation.${type}`]),
    ...SPEC.statuses.map((status) => `status.${status}`),
  ]), 'for the vocabularies of sync/spec.json');
});

test('every error code of the protocol and the server is worded', () => {
  const protocol = read('sync/PROTOCOL.md');
  const codes = new Set();
  // Tables keyed by HTTP status: "| 401 | `invalid_credentials` | …" (several codes may share a row).
  for (const match of protocol.matchAll(/^\| \d{3} \| ([^|]+) \|/gm)) {
    for (const code of match[1].matchAll(/`([a-z_]+)`/g)) codes.add(code[1]);
  }
  // Per-mutation codes: "| `appeal_exists` | rejected | …".
  for (const match of protocol.matchAll(/^\| `([a-z_]+)` \| (?:rejected|conflict) \|/gm)) codes.add(match[1]);
  // Inline lists: "403 `role_not_allowed`, 409 `cursor_ahead`".
  for (const match of protocol.matchAll(/\b\d{3} `([a-z_]+)`/g)) codes.add(match[1]);
  // Codes the server gives Flask's and Werkzeug's own errors, and the rules' refusals.
  for (const code of [...Object.values(SPEC.http_errors), ...SPEC.refusals]) codes.add(code);
  for (const code of ['invalid_token', 'token_expired', 'device_revoked', 'stale_version', 'seq_gap', 'cursor_ahead']) {
    assert.ok(codes.has(code), `the PROTOCOL.md scan missed ${code}: is the scan broken?`);
  }
  const unlisted = [...codes].filter((code) => !SERVER_ERROR_CODES.includes(code));
  assert.deepEqual(unlisted, [], 'codes missing from SERVER_ERROR_CODES in pwa/js/ui/errors.js');
  assertKeysEverywhere(new Set(SERVER_ERROR_CODES.map((code) => `error.${code}`)), 'for server error codes');
});

test("the PWA's own error codes are worded", () => {
  const thrown = new Set();
  for (const { text } of sources) {
    for (const match of text.matchAll(/this\.code = '([a-z_]+)'/g)) thrown.add(match[1]);
    for (const match of text.matchAll(/new Refusal\('([a-z_]+)'/g)) thrown.add(match[1]);
  }
  assert.ok(thrown.has('wrong_passphrase') && thrown.has('locked'), 'the scan for thrown codes is broken');
  const unworded = [...thrown].filter((code) => code !== 'not_found'
    && !CLIENT_ERROR_CODES.includes(code) && !SERVER_ERROR_CODES.includes(code));
  assert.deepEqual(unworded, [], 'codes thrown in pwa/js but missing from CLIENT_ERROR_CODES');
  assertKeysEverywhere(new Set(CLIENT_ERROR_CODES.map((code) => `error.${code}`)), 'for client error codes');
});

test('the glossary terms are used for the journal title and the anonymous mark', () => {
  assert.equal(catalogs.ky['journal.title'], '«Ишеним кутусу» аркылуу кабыл алынган кайрылуулар журналы');
  assert.equal(catalogs.ru['journal.title'], 'Журнал регистрации обращений, поступивших через «Ящик доверия»');
  assert.equal(catalogs.ky['letter.anonymous_mark'], 'анонимдүү');
  assert.equal(catalogs.ru['letter.anonymous_mark'], 'анонимно');
});

test('t fills placeholders, shows a missing key as itself, and term falls back for unknown codes', () => {
  useCatalog('en', catalogs.en);
  assert.equal(t('sync.sending', { sent: 3, total: 12 }), 'Sending 3 of 12');
  assert.equal(t('no.such.key'), 'no.such.key');
  assert.equal(term('category', 'bullying'), 'Bullying');
  assert.equal(term('category', 'from_the_future'), 'unknown (from_the_future)');
});

test('formatDate keeps a plain date on its day in every language', () => {
  for (const lang of LANGS) {
    useCatalog(lang, catalogs[lang]);
    assert.match(formatDate('2025-03-01'), /\b1\b/, lang);
    assert.match(formatDate('2025-03-01'), /2025/, lang);
  }
  useCatalog('ru', catalogs.ru);
  assert.equal(formatDate('2024-12-31', 'numeric'), '31.12.2024');
});

test("the catalog's month names date a letter where Intl has no data for the language", () => {
  const RealDateTimeFormat = Intl.DateTimeFormat;
  // As in Chromium builds without Kyrgyz data; formatting through Intl would throw here.
  Intl.DateTimeFormat = Object.assign(() => { throw new Error('Intl used'); }, { supportedLocalesOf: () => [] });
  try {
    useCatalog('ky', catalogs.ky);
    assert.equal(formatDate('2025-03-01'), '2025-ж., 1-март');
    assert.equal(formatDate('2025-11-22', 'short'), '2025-ж. 22-ноя.');
    assert.equal(formatDate('2025-11-22', 'numeric'), '22.11.2025');
    useCatalog('ru', catalogs.ru);
    assert.equal(formatDate('2025-03-01'), '1 марта 2025 г.');
  } finally {
    Intl.DateTimeFormat = RealDateTimeFormat;
    useCatalog('ru', catalogs.ru);
  }
  for (let month = 1; month <= 12; month += 1) {
    for (const lang of LANGS) {
      assert.ok(catalogs[lang][`date.month_long_${month}`] && catalogs[lang][`date.month_short_${month}`], `${lang} month ${month}`);
    }
  }
});

test('the due date: counted on the pulled calendar, the server\'s before any, none when not accepted', () => {
  const view = (extra) => ({ received_on: '2025-03-18', status: 'registered', due_on: null, ...extra });
  // Before any pull: Monday to Friday, five working days.
  assert.equal(dueDate(view(), null), '2025-03-25');
  // Nooruz 2025 (20 and 21 March) on the pulled calendar pushes it to Thursday.
  const calendar = { week: 5, holidays: ['2025-03-20', '2025-03-21'], days_off: [], working_days: [], due_in_days: 5 };
  assert.equal(dueDate(view(), calendar), '2025-03-27');
  assert.equal(dueDate(view(), { ...calendar, due_in_days: 3 }), '2025-03-25');
  // The pulled calendar is newer than a due day the server counted before the admin changed it.
  assert.equal(dueDate(view({ due_on: '2025-03-28' }), calendar), '2025-03-27');
  assert.equal(dueDate(view({ due_on: '2025-03-28' }), null), '2025-03-28');
  assert.equal(dueDate(view({ status: 'not_accepted' }), calendar), null);
  assert.equal(dueDate(view({ received_on: '' }), calendar), null);
  assert.equal(deadlineState(view(), calendar, '2025-03-26'), 'due_soon');
  assert.equal(deadlineState(view(), calendar, '2025-03-28'), 'overdue');
  assert.equal(deadlineState(view(), calendar, '2025-03-19'), 'on_time');
  assert.equal(deadlineState(view({ status: 'answered' }), calendar, '2025-03-28'), null);
});
