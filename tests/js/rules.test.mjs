// The rules twin replays the same golden vectors as tests/test_vectors.py (sync/vectors/*.json), and the
// vocabulary and the validation are checked against sync/spec.json, read here on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';

import * as protocol from '../../pwa/js/protocol.js';
import * as rules from '../../pwa/js/rules.js';
import * as validation from '../../pwa/js/validation.js';
import * as vocabulary from '../../pwa/js/vocabulary.js';
import { GENESIS, canonicalBytes, chainHash } from '../../pwa/js/chain.js';
import { WorkCalendar } from '../../pwa/js/calendar.js';

const VECTORS = new URL('../../sync/vectors/', import.meta.url);
const load = (name) => JSON.parse(readFileSync(new URL(name, VECTORS), 'utf8'));
const SPEC = JSON.parse(readFileSync(new URL('../../sync/spec.json', import.meta.url), 'utf8'));
const REPLAYED = ['batch.json', 'calendar.json', 'chain.json', 'evolve.json', 'journal.json', 'mutations.json', 'school_year.json'];

test('every vector file is replayed here', () => {
  assert.deepEqual(readdirSync(VECTORS).filter((f) => f.endsWith('.json')).sort(), REPLAYED);
});

for (const c of load('batch.json').cases) {
  test(`batch: ${c.name}`, () => {
    let outcome;
    try {
      outcome = { first_new: protocol.planBatch(c.last_seq, c.seqs).firstNew };
    } catch (error) {
      assert.ok(error instanceof protocol.SeqGap);
      outcome = { error: 'seq_gap', last_seq: error.lastSeq };
    }
    assert.deepEqual(outcome, c.expected);
  });
}

for (const c of load('school_year.json').cases) {
  test(`school year: ${c.name}`, () => assert.equal(protocol.schoolYear(c.date), c.school_year));
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

for (const c of load('journal.json').cases) {
  test(`journal: ${c.name}`, () => {
    let outcome;
    if (c.decision === 'same_mutation') {
      const known = structuredClone(c.known);
      outcome = protocol.sameMutation(known, c.incoming) ? { status: 'duplicate' } : { status: 'rejected', refusal: 'id_reused' };
      assert.deepEqual(known, c.known, 'sameMutation does not change what it compares');
    } else {
      assert.equal(c.decision, 'receipt_code_holder');
      const heldBy = protocol.receiptCodeHolder(c.letters, c.appeal_id);
      outcome = heldBy === null ? { held_by: null } : { status: 'rejected', refusal: 'receipt_code_used', held_by: heldBy };
    }
    assert.deepEqual(outcome, c.expected);
  });
}

test('journal: the vectors cover every refusal only the journal gives, and a duplicate', () => {
  const { cases } = load('journal.json');
  const covered = new Set(cases.filter((c) => c.expected.refusal).map((c) => c.expected.refusal));
  assert.deepEqual([...covered].sort(), [...SPEC.journal_refusals].sort());
  assert.ok(cases.some((c) => c.expected.status === 'duplicate'));
});

for (const c of load('evolve.json').cases) {
  test(`evolve: ${c.name}`, () => {
    // The vectors' data must be what validation hands the rules (a fixed point), or the case proves nothing.
    if (Object.values(vocabulary.EVENT_TYPES).includes(c.event_type)) {
      assert.deepEqual(validation.validateEventData(c.event_type, c.data), { value: c.data });
    }
    const state = structuredClone(c.state);
    const context = structuredClone(c.context ?? {});
    let outcome;
    try {
      outcome = { state: rules.evolve(state, c.event_type, c.base_version, structuredClone(c.data), c.today, context) };
    } catch (error) {
      if (error instanceof protocol.Refusal) outcome = { refusal: error.code };
      else if (error instanceof protocol.Conflict) outcome = { conflict: error.currentVersion };
      else throw error;
    }
    assert.deepEqual(outcome, c.expected);
    assert.deepEqual(state, c.state, 'evolve does not change the state it was given');
    assert.deepEqual(context, c.context ?? {}, 'evolve does not change its context');
  });
}

test('evolve: the rules refuse with exactly the codes of sync/spec.json, and the vectors cover each', () => {
  const javascript = readFileSync(new URL('../../pwa/js/rules.js', import.meta.url), 'utf8');
  const raised = [...javascript.matchAll(/Refusal\(\s*'([a-z_]+)'/g), ...javascript.matchAll(/numbered\([^;]*?'([a-z_]+)'\)/g)]
    .map((m) => m[1]);
  assert.ok(raised.includes('referral_not_found'), 'the scan for numbered entries is broken');
  const ruled = SPEC.refusals.filter((code) => !SPEC.journal_refusals.includes(code));
  assert.deepEqual([...new Set(raised)].sort(), ruled);
  const covered = new Set(load('evolve.json').cases.filter((c) => c.expected.refusal).map((c) => c.expected.refusal));
  assert.deepEqual([...covered].sort(), ruled);
});

for (const c of load('mutations.json').cases) {
  test(`mutation: ${c.name}`, () => {
    const loaded = validation.validateMutation(structuredClone(c.mutation));
    const outcome = loaded.errors ? { errors: validation.errorPaths(loaded.errors) } : { mutation: loaded.value };
    assert.deepEqual(outcome, c.expected);
    if (loaded.value) assert.deepEqual(validation.validateMutation(loaded.value), loaded, 'normalised data is a fixed point');
  });
}

test('the form validation names codes the UI can word', () => {
  const { errors } = validation.validateRegistration({
    received_on: '2025-02-30', applicant: { anonymous: false, role: 'student', full_name: ' ' }, summary: '', category: 'x',
  });
  assert.deepEqual(errors, {
    received_on: ['invalid'], summary: ['too_short', 'blank'], category: ['not_one_of'], applicant: { full_name: ['name_required'] },
  });
  const signed = validation.validateRegistration({
    received_on: '2025-03-10', applicant: { anonymous: false, role: 'student', full_name: '\u3000' }, summary: 'x', category: 'other',
  });
  assert.deepEqual(signed.errors, { applicant: { full_name: ['name_required'] } });
});

test('Python whitespace, not JavaScript whitespace, makes a summary blank', () => {
  const base = { received_on: '2025-03-10', applicant: { anonymous: true, role: 'unknown' }, category: 'other' };
  assert.ok(validation.validateRegistration({ ...base, summary: '\x1c\x85' }).errors, 'Python strips \\x1c and \\x85');
  assert.ok(validation.validateRegistration({ ...base, summary: '\ufeff' }).value, 'Python keeps U+FEFF');
});

test('lengths count code points', () => {
  const emoji = '😀'.repeat(2000); // 4000 UTF-16 units
  const base = { received_on: '2025-03-10', applicant: { anonymous: true, role: 'unknown' }, category: 'other' };
  assert.ok(validation.validateRegistration({ ...base, summary: emoji }).value);
  assert.ok(validation.validateRegistration({ ...base, summary: `${emoji}x` }).errors);
});

test('leap days and impossible dates', () => {
  const base = { applicant: { anonymous: true, role: 'unknown' }, summary: 's', category: 'other' };
  assert.ok(validation.validateRegistration({ ...base, received_on: '2024-02-29' }).value);
  assert.ok(validation.validateRegistration({ ...base, received_on: '2025-02-29' }).errors);
  assert.ok(validation.validateRegistration({ ...base, received_on: '2000-02-29' }).value);
  assert.ok(validation.validateRegistration({ ...base, received_on: '1900-02-29' }).errors);
  assert.ok(validation.validateRegistration({ ...base, received_on: '0000-01-01' }).errors);
  assert.ok(validation.validateRegistration({ ...base, received_on: '2025-04-31' }).errors);
});

test('split and join are inverses', () => {
  const registration = load('evolve.json').cases[0].data;
  const [meta, contents] = protocol.splitRegistration(registration);
  assert.deepEqual(protocol.joinRegistration(meta, contents), registration);
  assert.equal(meta.applicant_role, registration.applicant.role);
  assert.ok(!('full_name' in meta));
});

test('changed fields are the sorted dotted paths the server records', () => {
  assert.deepEqual(protocol.changedFields({ urgent: true, applicant: { phone: null, age: 3 }, category: 'other' }),
    ['applicant.age', 'applicant.phone', 'category', 'urgent']);
});

test('receipt codes as typed become Crockford base32', () => {
  assert.equal(validation.toReceiptCode(' 7k3-m9o '), '7K3M90');
  assert.equal(validation.toReceiptCode('il0'), '110');
});

test('addDays and localToday', () => {
  assert.equal(protocol.addDays('2024-02-28', 1), '2024-02-29');
  assert.equal(protocol.addDays('2025-12-31', 1), '2026-01-01');
  assert.equal(protocol.localToday(new Date(2025, 0, 5, 23, 59)), '2025-01-05');
});

test('seq goes as far as JavaScript counts exactly, and no further', () => {
  // Computed, not written in the vectors: its digits would look like a phone number to a privacy scan.
  const base = structuredClone(load('mutations.json').cases[0].mutation);
  assert.ok(validation.validateMutation({ ...base, seq: Number.MAX_SAFE_INTEGER }).value);
  assert.ok(validation.validateMutation({ ...base, seq: Number.MAX_SAFE_INTEGER + 1 }).errors);
  assert.equal(protocol.planBatch(Number.MAX_SAFE_INTEGER - 1, [Number.MAX_SAFE_INTEGER]).firstNew, 0);
});

// ---- Case work, openings, meetings: what the vectors do not reach -----------------------------------------

const evolveCase = (name) => structuredClone(load('evolve.json').cases.find((c) => c.name === name));

test('register starts an empty case, and a correction keeps the case work', () => {
  const registered = rules.evolve(null, vocabulary.EVENT_TYPES.REGISTERED, null, evolveCase('register a signed letter').data, null);
  assert.deepEqual(registered.case, rules.emptyCase());
  const worked = rules.evolve(registered, vocabulary.EVENT_TYPES.REFERRED, 1,
    { referred_on: '2025-03-12', authority: 'police', outgoing_no: null, contact: null, note: null }, null);
  const amended = rules.evolve(worked, vocabulary.EVENT_TYPES.AMENDED, 2, { changes: { urgent: true }, reason: 'r' }, null);
  assert.equal(amended.version, 3);
  assert.deepEqual(amended.case, worked.case);
  assert.equal(amended.status, 'in_progress');
});

test('a state stored before case work existed gets an empty case', () => {
  const { state } = evolveCase('register over an existing appeal');
  delete state.case;
  const next = rules.evolve(state, vocabulary.EVENT_TYPES.MEASURE_RECORDED, state.version,
    { taken_on: '2025-03-12', kind: 'conversation', description: 'd', taken_by: 't' }, '2025-03-17');
  assert.equal(next.case.measures.length, 1);
  assert.equal(rules.answeredOn(state), null);
});

test('decide looks meetings up in an object or a Map, and only with a today', () => {
  const c = evolveCase('decide at a meeting: registered becomes in progress');
  const meetings = new Map(Object.entries(c.context.meetings));
  assert.deepEqual(rules.evolve(c.state, c.event_type, 1, c.data, c.today, { meetings }), c.expected.state);
  assert.throws(() => rules.evolve(c.state, c.event_type, 1, c.data, c.today), { code: 'meeting_not_found' });
  assert.throws(() => rules.evolve(c.state, c.event_type, 1, c.data, c.today, null), { code: 'meeting_not_found' });
  assert.throws(() => rules.evolve(c.state, c.event_type, 1, c.data, c.today, { meetings: { toString: {} } }),
    { code: 'meeting_not_found' });
  assert.deepEqual(rules.evolve(c.state, c.event_type, 1, c.data, null), c.expected.state);
});

test('a versioned event without its base_version is a programming error, not a refusal', () => {
  const c = evolveCase('close an answered case');
  assert.throws(() => rules.evolve(c.state, c.event_type, null, c.data, c.today), TypeError);
});

test('members are compared as Python compares them: spaces collapsed, case folded', () => {
  const member = (name) => ({ name, position: 'p' });
  const opening = (names) => ({ opened_at: '2025-03-10T08:05:00+06:00', members: names.map(member), letters_count: 0, seal: 'intact', remarks: null });
  for (const pair of [['Айгүл Ж.', ' айгүл\u3000ж. '], ['Straße', 'STRASSE'], ['Σοφία', 'ΣΟΦΊΑ']]) {
    assert.throws(() => rules.recordOpening(null, opening(pair), null), { code: 'member_listed_twice' }, pair.join(' / '));
  }
  for (const pair of [['Айгүл Ж.', 'Айгүл Ж'], ['\u0131', 'i'], ['Ж.\u200bА.', 'Ж. А.']]) {
    assert.ok(rules.recordOpening(null, opening(pair), null), pair.join(' / '));
  }
  assert.equal(validation.casefold('ẞ\u0130Ꭰꭰ'), 'ssi\u0307ᎠᎠ');
  assert.equal(validation.personKey('\x1c Ann\x85\u3000Lee \t'), 'ann lee');
});

test('due dates come from the school calendar; a letter not accepted has none', () => {
  const calendar = new WorkCalendar({ week: 5, holidays: ['2025-03-21'] });
  // Received on Monday 2025-03-10: five working days later is Monday 17.
  assert.equal(rules.dueOn('registered', '2025-03-10', calendar, 5), '2025-03-17');
  assert.equal(rules.dueOn('answered', '2025-03-17', calendar, 5), '2025-03-25', 'the holiday does not count');
  assert.equal(rules.dueOn('not_accepted', '2025-03-10', calendar, 5), null);
  const pulled = { week: 6, holidays: [], days_off: [], working_days: [], due_in_days: 2 };
  assert.equal(rules.dueOn('in_progress', '2025-03-14', pulled), '2025-03-17', 'Saturday counts in a six-day week');
  assert.equal(rules.dueOn('in_progress', '2025-03-14', pulled, 1), '2025-03-15');
  assert.equal(rules.dueOn('in_progress', '2025-03-14', {}), '2025-03-21', 'five working days by default');
});

test('answeredOn is the day of the first answer, an invitation included', () => {
  assert.equal(rules.answeredOn(evolveCase('invite the anonymous writer to a conversation on the stand').expected.state), '2025-03-12');
  const { state } = evolveCase('close an answered case');
  assert.equal(rules.answeredOn(state), state.case.answers[0].answered_on);
  assert.equal(rules.answeredOn(evolveCase('register a signed letter').expected.state), null);
});

test('moments are read as Python reads them and written as it writes them', () => {
  const text = (value) => validation.parseMoment(value)?.text ?? null;
  assert.equal(text('2025-03-10T08:05:00+06:00'), '2025-03-10T08:05:00+06:00');
  assert.equal(text('2025-03-10T08:05Z'), '2025-03-10T08:05:00+00:00');
  assert.equal(text('2025-03-10 08:05:07.25-05:30'), '2025-03-10T08:05:07.250000-05:30');
  assert.equal(text('2025-03-10T08:05:00.000001+06:00'), '2025-03-10T08:05:00.000001+06:00');
  assert.equal(validation.parseMoment('2025-03-10T08:05:00').offset, null, 'naive');
  for (const bad of ['2025-03-10T08:05:60Z', '2025-03-10T08:60Z', '2025-02-29T08:05Z', '2025-03-10T08:05+24:00',
    '2025-03-10T08:05+06:60', '2025-03-10T08:05z', '2025-03-10T08:05:00.1234567Z', '2025-03-10']) {
    assert.equal(validation.parseMoment(bad), null, bad);
  }
  const data = { opened_at: '2025-03-10T08:05:00', members: [{ name: 'a', position: 'b' }], letters_count: 0, seal: 'intact' };
  assert.deepEqual(validation.validateEventData(vocabulary.EVENT_TYPES.OPENING_RECORDED, data).errors, { opened_at: ['naive'] });
});

test('event data errors name codes the forms can word, keyed like the server', () => {
  const { ANSWERED, OPENING_RECORDED, MEETING_RECORDED, DECIDED } = vocabulary.EVENT_TYPES;
  assert.deepEqual(validation.validateEventData(ANSWERED, { answered_on: '2025-03-14', way: 'stand', kind: 'answer', text: ' ' }),
    { errors: { text: ['text_required'] } });
  assert.deepEqual(validation.validateEventData(ANSWERED, { answered_on: '2025-03-14', way: 'stand', kind: 'invitation' }),
    { value: { answered_on: '2025-03-14', way: 'stand', kind: 'invitation', text: null } });
  assert.deepEqual(validation.validateEventData(OPENING_RECORDED, {
    opened_at: '2025-03-10T08:05+06:00', members: [null, { name: '', position: 'p', extra: 1 }], letters_count: 10001, seal: 'x',
  }).errors, {
    members: { 0: ['null'], 1: { name: ['too_short', 'blank'], extra: ['unknown'] } },
    letters_count: ['out_of_range'],
    seal: ['not_one_of'],
  });
  assert.deepEqual(validation.validateEventData(MEETING_RECORDED, { held_on: '2025-03-14', members_present: [] }).errors,
    { members_present: ['too_few'] });
  assert.deepEqual(validation.validateEventData(DECIDED, { meeting_id: 'x', decision: 'd', official: 'o' }).errors,
    { meeting_id: ['invalid_uuid'], official: { _schema: ['invalid_type'] } });
  assert.throws(() => validation.validateEventData('appeal.archived', {}), TypeError);
});

test('mutations name their appeal exactly when the event is about one', () => {
  const { mutation } = structuredClone(load('mutations.json').cases.find((c) => c.name === 'a commission meeting of three'));
  assert.ok(validation.validateMutation(mutation).value);
  assert.deepEqual(validation.validateMutation({ ...mutation, appeal_id: mutation.id, base_version: 1 }).errors,
    { appeal_id: ['appeal_forbidden'], base_version: ['version_forbidden'] });
  assert.deepEqual(validation.validateMutation({ ...mutation, type: 'appeal.closed' }).errors,
    { appeal_id: ['appeal_required'], base_version: ['version_required'] });
});

test('the vocabulary is sync/spec.json\'s', () => {
  const types = Object.keys(SPEC.events);
  assert.deepEqual(Object.values(vocabulary.EVENT_TYPES), types);
  assert.equal(vocabulary.EVENT_TYPES.FEEDBACK_RECEIVED, 'appeal.feedback_received');
  assert.equal(vocabulary.EVENT_TYPES.OPENING_ACKNOWLEDGED, 'opening.acknowledged');
  assert.deepEqual(vocabulary.VERSIONED, types.filter((t) => t.startsWith('appeal.') && t !== 'appeal.registered'));
  for (const type of types) {
    assert.equal(vocabulary.entityOf(type), SPEC.events[type].entity, type);
    assert.equal(vocabulary.entityOf(type), type.split('.')[0], type);
    assert.deepEqual(vocabulary.ROLES_ALLOWED[type], SPEC.events[type].recorded_by, type);
  }
  assert.equal(vocabulary.entityOf('toString'), undefined);
  assert.deepEqual(Object.values(vocabulary.ROLES), SPEC.roles);
  assert.deepEqual(Object.values(vocabulary.STATUSES), SPEC.statuses);
  assert.equal(vocabulary.STATUSES.NOT_ACCEPTED, 'not_accepted');
  for (const [name, key] of [['AUTHORITIES', 'authorities'], ['ANSWER_WAYS', 'answer_ways'], ['ANSWER_KINDS', 'answer_kinds'],
    ['MEASURE_KINDS', 'measure_kinds'], ['SEAL_STATES', 'seal_states'], ['APPLICANT_ROLES', 'applicant_roles'],
    ['CATEGORIES', 'categories']]) {
    assert.deepEqual(vocabulary[name], SPEC.vocabularies[key], name);
  }
  assert.equal(vocabulary.RECEIPT_ALPHABET, SPEC.receipt_code.alphabet);
  assert.equal(vocabulary.RECEIPT_CODE_LENGTH, SPEC.receipt_code.length);
  assert.equal(vocabulary.MAX_MUTATIONS_PER_PUSH, SPEC.requests.max_mutations_per_push);
  assert.equal(vocabulary.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  assert.equal(vocabulary.EARLIEST_RECEIVED_ON, SPEC.rules.earliest_received_on);
  assert.equal(vocabulary.RECEIVED_ON_TOLERANCE_DAYS, SPEC.rules.received_on_tolerance_days);
  assert.equal(protocol.schoolYear(`2025-${String(SPEC.rules.school_year_first_month).padStart(2, '0')}-01`), 2025);
  assert.deepEqual(vocabulary.LIMITS, {
    ...Object.fromEntries(Object.entries(SPEC.limits.applicant).filter(([, limit]) => typeof limit === 'number')),
    ...SPEC.events['appeal.registered'].limits, reason: SPEC.events['appeal.amended'].limits.reason,
  });
  assert.ok(Object.isFrozen(vocabulary.AUTHORITIES) && Object.isFrozen(vocabulary.ROLES_ALLOWED['appeal.closed']));
  assert.ok(vocabulary.mayRecord('director', 'opening.acknowledged'));
  assert.ok(!vocabulary.mayRecord('director', 'appeal.answered'));
  assert.ok(vocabulary.mayRecord('commission', 'meeting.recorded'));
  assert.ok(!vocabulary.mayRecord('commission', 'appeal.registered'));
  assert.ok(!vocabulary.mayRecord('pedagogue', 'toString'));
});

// The validation twin keeps every limit of sync/spec.json: each string, number and list is accepted at its
// bound and refused one past it, on the vectors' own data.
const validData = (type) => {
  const c = load('evolve.json').cases.find((e) => e.event_type === type && e.data.applicant?.anonymous !== true
    && validation.validateEventData(type, e.data).value);
  return structuredClone(c.data);
};
const LIMITED = [
  ...Object.entries(SPEC.events).flatMap(([type, event]) => Object.entries(event.limits).map(([field, limit]) => [type, [field], limit])),
  ...Object.entries(SPEC.limits.applicant).map(([field, limit]) => ['appeal.registered', ['applicant', field], limit]),
  ...Object.entries(SPEC.limits.person).map(([field, limit]) => ['appeal.decided', ['official', field], limit]),
];

for (const [type, path, limit] of LIMITED) {
  test(`validation: ${type} ${path.join('.')} stops at ${JSON.stringify(limit)}`, () => {
    const base = validData(type);
    const holder = path.slice(0, -1).reduce((object, key) => object[key], base);
    const field = path.at(-1);
    const current = holder[field];
    const at = (value) => {
      holder[field] = value;
      return validation.validateEventData(type, structuredClone(base));
    };
    let within;
    let beyond;
    if (typeof limit === 'number') {
      [within, beyond] = [[at('ж'.repeat(limit))], [at('ж'.repeat(limit + 1))]];
    } else if (Array.isArray(current)) {
      const items = (n) => Array.from({ length: n }, (_, i) => ({ ...current[0], name: `${current[0].name} ${i}` }));
      [within, beyond] = [[at(items(limit[0])), at(items(limit[1]))], [at(items(limit[1] + 1))]];
      if (limit[0] > 0) beyond.push(at(items(limit[0] - 1)));
    } else {
      [within, beyond] = [[at(limit[0]), at(limit[1])], [at(limit[0] - 1), at(limit[1] + 1)]];
    }
    for (const loaded of within) assert.ok(loaded.value, JSON.stringify(loaded.errors));
    for (const loaded of beyond) assert.deepEqual(validation.errorPaths(loaded.errors), [path.join('.')]);
  });
}
