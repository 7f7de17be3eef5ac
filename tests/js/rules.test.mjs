// The rules twin replays the same golden vectors as tests/test_vectors.py (sync/vectors/*.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';

import * as rules from '../../pwa/js/rules.js';
import { GENESIS, canonicalBytes, chainHash } from '../../pwa/js/chain.js';

const VECTORS = new URL('../../sync/vectors/', import.meta.url);
const load = (name) => JSON.parse(readFileSync(new URL(name, VECTORS), 'utf8'));
const REPLAYED = ['batch.json', 'calendar.json', 'chain.json', 'evolve.json', 'mutations.json', 'school_year.json'];

test('every vector file is replayed here', () => {
  assert.deepEqual(readdirSync(VECTORS).filter((f) => f.endsWith('.json')).sort(), REPLAYED);
});

for (const c of load('batch.json').cases) {
  test(`batch: ${c.name}`, () => {
    let outcome;
    try {
      outcome = { first_new: rules.planBatch(c.last_seq, c.seqs).firstNew };
    } catch (error) {
      assert.ok(error instanceof rules.SeqGap);
      outcome = { error: 'seq_gap', last_seq: error.lastSeq };
    }
    assert.deepEqual(outcome, c.expected);
  });
}

for (const c of load('school_year.json').cases) {
  test(`school year: ${c.name}`, () => assert.equal(rules.schoolYear(c.date), c.school_year));
}

for (const c of load('chain.json').cases) {
  test(`chain: ${c.name}`, async () => {
    let prev = c.prev_hash;
    for (const link of c.links) {
      assert.deepEqual(canonicalBytes(link.record), new TextEncoder().encode(link.canonical));
      prev = await chainHash(prev, link.record);
      assert.equal(prev, link.hash);
    }
  });
}

test('chain: a chain of three links from GENESIS is among the vectors', () => {
  assert.ok(load('chain.json').cases.some((c) => c.prev_hash === GENESIS && c.links.length >= 3));
});

test('chain: floats and lone surrogates are refused', () => {
  assert.throws(() => canonicalBytes({ a: 1.5 }), TypeError);
  assert.throws(() => canonicalBytes({ a: 2 ** 53 }), TypeError);
  assert.throws(() => canonicalBytes({ a: '\ud800' }), TypeError);
});

const DATA_CHECK = {
  'appeal.registered': rules.validateRegistration,
  'appeal.amended': rules.validateAmendment,
};

for (const c of load('evolve.json').cases) {
  test(`evolve: ${c.name}`, () => {
    // The vectors' data must be what validation hands the rules (a fixed point), or the case proves nothing.
    const check = DATA_CHECK[c.event_type];
    if (check) assert.deepEqual(check(c.data), { value: c.data });
    const state = structuredClone(c.state);
    let outcome;
    try {
      outcome = { state: rules.evolve(state, c.event_type, c.base_version, structuredClone(c.data), c.today) };
    } catch (error) {
      if (error instanceof rules.Refusal) outcome = { refusal: error.code };
      else if (error instanceof rules.Conflict) outcome = { conflict: error.currentVersion };
      else throw error;
    }
    assert.deepEqual(outcome, c.expected);
    assert.deepEqual(state, c.state, 'evolve does not change the state it was given');
  });
}

for (const c of load('mutations.json').cases) {
  test(`mutation: ${c.name}`, () => {
    const loaded = rules.validateMutation(structuredClone(c.mutation));
    const outcome = loaded.errors ? { errors: rules.errorPaths(loaded.errors) } : { mutation: loaded.value };
    assert.deepEqual(outcome, c.expected);
    if (loaded.value) assert.deepEqual(rules.validateMutation(loaded.value), loaded, 'normalised data is a fixed point');
  });
}

test('the form validation names codes the UI can word', () => {
  const { errors } = rules.validateRegistration({
    received_on: '2025-02-30', applicant: { anonymous: false, role: 'student', full_name: ' ' }, summary: '', category: 'x',
  });
  assert.deepEqual(errors, {
    received_on: ['invalid'], summary: ['too_short', 'blank'], category: ['not_one_of'], applicant: { full_name: ['name_required'] },
  });
  const signed = rules.validateRegistration({
    received_on: '2025-03-10', applicant: { anonymous: false, role: 'student', full_name: '\u3000' }, summary: 'x', category: 'other',
  });
  assert.deepEqual(signed.errors, { applicant: { full_name: ['name_required'] } });
});

test('Python whitespace, not JavaScript whitespace, makes a summary blank', () => {
  const base = { received_on: '2025-03-10', applicant: { anonymous: true, role: 'unknown' }, category: 'other' };
  assert.ok(rules.validateRegistration({ ...base, summary: '\x1c\x85' }).errors, 'Python strips \\x1c and \\x85');
  assert.ok(rules.validateRegistration({ ...base, summary: '\ufeff' }).value, 'Python keeps U+FEFF');
});

test('lengths count code points', () => {
  const emoji = '😀'.repeat(2000); // 4000 UTF-16 units
  const base = { received_on: '2025-03-10', applicant: { anonymous: true, role: 'unknown' }, category: 'other' };
  assert.ok(rules.validateRegistration({ ...base, summary: emoji }).value);
  assert.ok(rules.validateRegistration({ ...base, summary: `${emoji}x` }).errors);
});

test('leap days and impossible dates', () => {
  const base = { applicant: { anonymous: true, role: 'unknown' }, summary: 's', category: 'other' };
  assert.ok(rules.validateRegistration({ ...base, received_on: '2024-02-29' }).value);
  assert.ok(rules.validateRegistration({ ...base, received_on: '2025-02-29' }).errors);
  assert.ok(rules.validateRegistration({ ...base, received_on: '2000-02-29' }).value);
  assert.ok(rules.validateRegistration({ ...base, received_on: '1900-02-29' }).errors);
  assert.ok(rules.validateRegistration({ ...base, received_on: '0000-01-01' }).errors);
  assert.ok(rules.validateRegistration({ ...base, received_on: '2025-04-31' }).errors);
});

test('split and join are inverses', () => {
  const registration = load('evolve.json').cases[0].data;
  const [meta, contents] = rules.splitRegistration(registration);
  assert.deepEqual(rules.joinRegistration(meta, contents), registration);
  assert.equal(meta.applicant_role, registration.applicant.role);
  assert.ok(!('full_name' in meta));
});

test('changed fields are the sorted dotted paths the server records', () => {
  assert.deepEqual(rules.changedFields({ urgent: true, applicant: { phone: null, age: 3 }, category: 'other' }),
    ['applicant.age', 'applicant.phone', 'category', 'urgent']);
});

test('receipt codes as typed become Crockford base32', () => {
  assert.equal(rules.toReceiptCode(' 7k3-m9o '), '7K3M90');
  assert.equal(rules.toReceiptCode('il0'), '110');
});

test('addDays and localToday', () => {
  assert.equal(rules.addDays('2024-02-28', 1), '2024-02-29');
  assert.equal(rules.addDays('2025-12-31', 1), '2026-01-01');
  assert.equal(rules.localToday(new Date(2025, 0, 5, 23, 59)), '2025-01-05');
});

test('seq goes as far as JavaScript counts exactly, and no further', () => {
  // Computed, not written in the vectors: its digits would look like a phone number to a privacy scan.
  const base = structuredClone(load('mutations.json').cases[0].mutation);
  assert.ok(rules.validateMutation({ ...base, seq: Number.MAX_SAFE_INTEGER }).value);
  assert.ok(rules.validateMutation({ ...base, seq: Number.MAX_SAFE_INTEGER + 1 }).errors);
  assert.equal(rules.planBatch(Number.MAX_SAFE_INTEGER - 1, [Number.MAX_SAFE_INTEGER]).firstNew, 0);
});
