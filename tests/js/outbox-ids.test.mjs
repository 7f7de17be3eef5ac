// One id, one mutation on the tablet: the outbox and "needs attention" never let a second mutation under an
// id they hold replace the first unseen (store/outbox.js); only the very same mutation counts as held already
// (protocol.js sameMutation, the server's rule for `duplicate`).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { anonymousRegistration, dump, makeStore } from './helpers.mjs';
import { write } from '../../pwa/js/idb.js';
import { sealRecord } from '../../pwa/js/crypto.js';
import { MutationIdTaken } from '../../pwa/js/store.js';
import { createBase } from '../../pwa/js/store/base.js';
import { enqueue } from '../../pwa/js/store/outbox.js';
import { loadParts } from '../../pwa/js/store/parts.js';

const SESSION = { token: 'tok-secret-123', device_id: 'd0000000-0000-4000-8000-000000000001', user: { full_name: 'Айгүл Педагог' }, school: null };
const LETTER_A = 'a0000000-0000-4000-8000-00000000000a';
const LETTER_B = 'b0000000-0000-4000-8000-00000000000b';
const SHARED = 'c0000000-0000-4000-8000-00000000000c';

/** The store's ids, in the order it asks for them (a registration: the letter's, then the mutation's). */
function ids(...fixed) {
  const queue = [...fixed];
  return () => queue.shift() ?? crypto.randomUUID();
}

async function tablet(...fixed) {
  const env = await makeStore({ randomUUID: ids(...fixed) });
  await env.store.saveSession(SESSION);
  return env;
}

test('a second change under an id the outbox holds for another is refused, and the first stays', async () => {
  const env = await tablet(LETTER_A, SHARED, LETTER_B, SHARED);
  await env.store.registerAppeal(anonymousRegistration({ summary: 'Биринчи кат.' }));
  await assert.rejects(env.store.registerAppeal(anonymousRegistration({ summary: 'Экинчи кат.' })), MutationIdTaken);
  const pending = await env.store.pendingMutations();
  assert.deepEqual(pending.map((m) => [m.id, m.appeal_id, m.data.summary]), [[SHARED, LETTER_A, 'Биринчи кат.']]);
  assert.deepEqual((await env.store.listAppeals()).map((view) => view.id), [LETTER_A], 'nothing of the second letter is kept');
  assert.equal((await dump(env)).outbox.length, 1);
  assert.equal(await env.store.getMeta('nextSeq'), 2, 'the seq was not used');
  assert.equal(await env.store.getMeta('provisionalNo'), 2, 'nor the provisional mark');
});

test('a second change under the id of one in "needs attention" is refused, and the refused one stays', async () => {
  const env = await tablet(LETTER_A, SHARED, LETTER_B, SHARED);
  await env.store.registerAppeal(anonymousRegistration({ summary: 'Биринчи кат.', receipt_code: 'K7M2QX' }));
  const [first] = await env.store.pendingMutations();
  await env.store.applyPushResults([first], [{ seq: 1, id: SHARED, status: 'rejected', error: 'receipt_code_used', held_by: null }]);
  // Were the second one queued, its own refusal would be written over the first one's item, keyed by the id.
  await assert.rejects(env.store.registerAppeal(anonymousRegistration({ summary: 'Экинчи кат.' })), MutationIdTaken);
  assert.deepEqual(await env.store.pendingMutations(), []);
  const items = await env.store.attentionItems();
  assert.deepEqual(items.map((item) => [item.id, item.mutation.appeal_id, item.mutation.data.summary, item.result.error]),
    [[SHARED, LETTER_A, 'Биринчи кат.', 'receipt_code_used']]);
});

test('the very same mutation again is held already: no second row; another one under its id is refused', async () => {
  const env = await tablet(LETTER_A, SHARED);
  await env.store.registerAppeal(anonymousRegistration({ summary: 'Биринчи кат.' }));
  const base = createBase({ db: env.db, key: () => env.key, now: env.clock.date, locks: null });
  const [{ seq, ...mutation }] = await env.store.pendingMutations();
  assert.equal(seq, 1);
  const parts = () => loadParts(base, env.key, [LETTER_A]);
  // The same mutation, its data's keys in another order (canonical JSON compares them alike).
  const reordered = { ...mutation, data: Object.fromEntries(Object.entries(mutation.data).reverse()) };
  const view = await enqueue(base, env.key, reordered, { parts: await parts(), server: null });
  assert.equal(view.id, LETTER_A);
  assert.equal((await dump(env)).outbox.length, 1);
  assert.equal((await env.store.pendingMutations()).length, 1);
  const other = { ...mutation, data: { ...mutation.data, summary: 'Башка кат.' } };
  await assert.rejects(enqueue(base, env.key, other, { parts: await parts(), server: null }), MutationIdTaken);
  const moved = { ...mutation, appeal_id: LETTER_B };
  await assert.rejects(enqueue(base, env.key, moved, { parts: await loadParts(base, env.key, [LETTER_B]), server: null }), MutationIdTaken);
  assert.deepEqual((await env.store.pendingMutations()).map((m) => m.data.summary), ['Биринчи кат.']);
});

test('a refusal is never written over another mutation that "needs attention" under the same id', async () => {
  const env = await tablet(LETTER_A, SHARED);
  await env.store.registerAppeal(anonymousRegistration({ summary: 'Биринчи кат.' }));
  const [pending] = await env.store.pendingMutations();
  // Another mutation under the id in "needs attention" already (written by an older version of the app, say).
  const other = { id: SHARED, type: pending.type, appeal_id: LETTER_B, base_version: null, data: { ...pending.data, summary: 'Башка кат.' } };
  const sealed = await sealRecord(env.key, 'attention', SHARED, { mutation: other, result: { status: 'rejected', error: 'id_reused' }, at: '2025-03-10T08:00:00.000Z' });
  await write(await env.db(), ['attention'], (s) => s.attention.put(sealed));
  await assert.rejects(env.store.applyPushResults([pending], [{ seq: 1, id: SHARED, status: 'rejected', error: 'receipt_code_used', held_by: null }]),
    MutationIdTaken);
  const items = await env.store.attentionItems();
  assert.deepEqual(items.map((item) => [item.mutation.appeal_id, item.mutation.data.summary]), [[LETTER_B, 'Башка кат.']]);
  assert.deepEqual((await env.store.pendingMutations()).map((m) => m.appeal_id), [LETTER_A], 'the row waits, unsettled');
});
