// A case the server erased after its retention period (PROTOCOL.md §6.7): the pull replaces the tablet's
// sealed copy with the bare journal row, what was set aside about the case goes, work on it is refused
// here and dropped when the server refuses it, and no word of the letter is left in any store.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { dump, makeStore, registration } from './helpers.mjs';
import { openRecord } from '../../pwa/js/crypto.js';
import { EVENT_TYPES } from '../../pwa/js/vocabulary.js';

const SESSION = { token: 'tok-retention', device_id: 'd0000000-0000-4000-8000-000000000009', user: { full_name: 'Айгүл Педагог' }, school: null };
const CANARY = 'Zq5e7a1c0ffee42';

/** Every sealed record of the database, opened: what the tablet holds, in the clear, as one string. */
async function everythingOpened(env) {
  const opened = [];
  for (const [store, rows] of Object.entries(await dump(env))) {
    for (const row of rows) {
      opened.push(row && typeof row === 'object' && 'ct' in row ? await openRecord(env.key, store, row) : row);
    }
  }
  return JSON.stringify(opened);
}

function pulled(view, history, extra = {}) {
  return {
    entity: 'appeal', change_no: 1, id: view.id, serial_no: 12, school_year: 2019, version: history.length,
    status: 'closed', received_on: view.received_on, opening_id: null, category: view.category, urgent: false,
    anonymous: false, applicant_role: 'student', registered_at: '2019-10-01T06:00:00+00:00',
    updated_at: '2019-10-20T06:00:00+00:00', due_on: '2019-10-08', answered_on: '2019-10-05', closed_on: '2019-10-20',
    erased: false, erased_at: null, history, ...extra,
  };
}

test('an erased case: the pull forgets its words, its work is refused or dropped, its row and number stay', async () => {
  const env = await makeStore();
  await env.store.saveSession(SESSION);
  const view = await env.store.registerAppeal(registration({ summary: `Кат ${CANARY}`, text: `Текст ${CANARY}` }));
  const [reg] = await env.store.pendingMutations();
  await env.store.applyPushResults([reg], [{ seq: 1, id: reg.id, status: 'applied', error: null, serial_no: 12, version: 1 }]);
  const history = [
    { id: reg.id, type: 'appeal.registered', recorded_at: '2019-10-01T06:00:00+00:00', by: 'Айгүл', fields: [] },
    { id: 'e2', type: 'appeal.amended', recorded_at: '2019-10-02T06:00:00+00:00', by: 'Айгүл', fields: ['summary'], reason: `Себеп ${CANARY}` },
  ];
  // Answered, as this tablet last heard; the server closed it later, and years later erased it.
  const answer = { answered_on: '2019-10-05', way: 'in_person', kind: 'answer', text: CANARY, posted_on: null, removed_on: null };
  const contents = { ...view.contents, case: { ...view.contents.case, answers: [answer] } };
  await env.store.applyPull([pulled(view, history, { contents, status: 'answered', closed_on: null })], 1);
  assert.equal((await env.store.getAppeal(view.id)).contents.summary, `Кат ${CANARY}`);

  // Work recorded on the tablet before it heard of the erasure: one answer refused (set aside), one pending.
  await env.store.recordCaseWork(view.id, EVENT_TYPES.MEASURE_RECORDED,
    { taken_on: '2025-03-10', kind: 'conversation', description: `Чара ${CANARY}`, taken_by: 'Айгүл' });
  const [refused] = await env.store.pendingMutations();
  await env.store.applyPushResults([refused], [{ seq: 2, id: refused.id, status: 'rejected', error: 'appeal_closed', serial_no: null, version: null }]);
  assert.equal((await env.store.attentionItems()).length, 1);
  await env.store.recordCaseWork(view.id, EVENT_TYPES.MEASURE_RECORDED,
    { taken_on: '2025-03-10', kind: 'other', description: `Дагы ${CANARY}`, taken_by: 'Айгүл' });
  assert.ok((await everythingOpened(env)).includes(CANARY), 'the search is not vacuous');

  // The server erased it: the change comes again with a new number, no contents, no reasons.
  const bare = history.map(({ reason, ...entry }) => entry);
  await env.store.applyPull([pulled(view, bare, { change_no: 5, erased: true, erased_at: '2025-03-10T03:00:00+00:00' })], 5);
  const shown = await env.store.getAppeal(view.id);
  assert.equal(shown.erased, true);
  assert.equal(shown.contents, null);
  assert.equal(shown.erased_at, '2025-03-10T03:00:00+00:00');
  assert.deepEqual([shown.serial_no, shown.school_year, shown.status, shown.closed_on, shown.answered_on],
    [12, 2019, 'closed', '2019-10-20', '2019-10-05']);
  assert.deepEqual(shown.history.map((entry) => [entry.id, entry.reason]), [[reg.id, null], ['e2', null]]);
  assert.equal(shown.attention, false);
  assert.deepEqual(await env.store.attentionItems(), [], 'what was set aside about the case is gone');
  assert.equal(shown.pending, 1, 'an unsent step stays until the server answers it');

  // Nothing more is recorded on it here…
  await assert.rejects(env.store.amendAppeal(view.id, { urgent: true }, 'r'), (e) => e.code === 'appeal_erased');
  await assert.rejects(env.store.recordCaseWork(view.id, EVENT_TYPES.MEASURE_RECORDED,
    { taken_on: '2025-03-10', kind: 'other', description: 'x', taken_by: 'y' }), (e) => e.code === 'appeal_erased');
  // …and the step sent before is dropped when the server refuses it, not set aside with its words.
  const [late] = await env.store.pendingMutations();
  const settled = await env.store.applyPushResults([late],
    [{ seq: late.seq, id: late.id, status: 'rejected', error: 'appeal_erased', serial_no: null, version: null }]);
  assert.deepEqual(settled, { acknowledged: 0, attention: 0, dropped: 1 });
  assert.equal(await env.store.pendingCount(), 0);
  assert.deepEqual(await env.store.attentionItems(), []);
  assert.equal((await env.store.getAppeal(view.id)).pending, 0);

  // Not a word of the letter is left on the tablet, in any store, opened with the key.
  const held = await everythingOpened(env);
  assert.ok(!held.includes(CANARY));
  assert.ok(held.includes(view.id), 'the row itself stays');
  // The next mutation takes the next seq: nothing renumbered, no gap for the server to refuse.
  await env.store.registerAppeal(registration());
  assert.deepEqual((await env.store.pendingMutations()).map((m) => m.seq), [4]);
});

test('an erased case pulled for the first time is a bare row; other letters keep their contents', async () => {
  const env = await makeStore();
  await env.store.saveSession(SESSION);
  const kept = await env.store.registerAppeal(registration({ summary: `Сакталат ${CANARY}` }));
  const view = { id: 'a0000000-0000-4000-8000-0000000000e1', received_on: '2019-10-01', category: 'bullying' };
  await env.store.applyPull([pulled(view, [], { erased: true, erased_at: '2025-03-10T03:00:00+00:00' })], 1);
  const list = await env.store.listAppeals();
  assert.deepEqual(list.map((v) => [v.id, Boolean(v.erased)]).sort(), [[kept.id, false], [view.id, true]].sort());
  assert.equal(list.find((v) => v.id === kept.id).contents.summary, `Сакталат ${CANARY}`);
});
