// store.js over an in-memory IndexedDB (fake-indexeddb): one transaction per local change, the outbox order,
// sealed records, views folded from server state and pending mutations, "needs attention", renumbering, the session.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { IDBFactory } from 'fake-indexeddb';
import { anonymousRegistration, dump, makeStore, registration } from './helpers.mjs';
import { read, write } from '../../pwa/js/idb.js';
import { openRecord } from '../../pwa/js/crypto.js';
import { Locked } from '../../pwa/js/vault.js';
import { NotFound, Refusal, ValidationFailed } from '../../pwa/js/store.js';

const SESSION = { token: 'tok-secret-123', device_id: 'd0000000-0000-4000-8000-000000000001', user: { full_name: 'Айгүл Педагог' }, school: null };

async function withSession(options) {
  const env = await makeStore(options);
  await env.store.saveSession(SESSION);
  return env;
}

test('idb: the upgrade ladder creates the stores of docs/PWA.md', async () => {
  const env = await makeStore();
  const db = await env.db();
  assert.equal(db.version, 3);
  assert.deepEqual([...db.objectStoreNames].sort(), ['appeals', 'attention', 'meta', 'outbox', 'records', 'session', 'viewlog']);
  const outbox = db.transaction(['outbox']).objectStore('outbox');
  assert.equal(outbox.keyPath, 'seq');
  assert.deepEqual([...outbox.indexNames].sort(), ['by_appeal', 'by_id']);
  assert.equal(outbox.index('by_id').unique, true);
});

test('idb: awaiting anything but IndexedDB inside a transaction fails, and a failed write leaves nothing', async () => {
  const env = await makeStore();
  const db = await env.db();
  await assert.rejects(write(db, ['meta'], async (s) => {
    await s.meta.put(1, 'a');
    // Work outside IndexedDB (WebCrypto, fetch) resolves in a later task; a timer stands for it
    // deterministically. The transaction has committed by then, as in a browser.
    await new Promise((resolve) => setTimeout(resolve, 10));
    await s.meta.put(2, 'b');
  }), { name: 'TransactionInactiveError' });
  await assert.rejects(write(db, ['meta'], async (s) => {
    await s.meta.put(3, 'c');
    throw new Error('changed my mind');
  }), /changed my mind/);
  assert.equal(await read(db, ['meta'], (s) => s.meta.get('c')), undefined, 'rolled back');
});

test('registering writes the outbox row, the appeal and the counters in one strict transaction', async () => {
  const env = await withSession();
  const logBefore = env.transactions.length;
  const view = await env.store.registerAppeal(registration());
  const writes = env.transactions.slice(logBefore).filter((t) => t.mode === 'readwrite');
  assert.equal(writes.length, 1);
  assert.deepEqual([...writes[0].names].sort(), ['appeals', 'attention', 'meta', 'outbox', 'records']);
  assert.equal(writes[0].durability, 'strict');
  assert.ok(env.transactions.filter((t) => t.mode === 'readwrite').every((t) => t.durability === 'strict'));
  assert.equal(view.serial_no, null);
  assert.equal(view.provisional_no, 1);
  assert.equal(view.version, 1);
  assert.equal(view.pending, 1);
  assert.equal(view.school_year, 2024);
  assert.equal(view.history.length, 1);
  assert.equal(view.history[0].pending, true);
  assert.equal(view.history[0].by, 'Айгүл Педагог');
  assert.deepEqual(await env.store.getAppeal(view.id), view);
});

test('outbox: seqs are consecutive, pending mutations come in seq order with their wire fields', async () => {
  const env = await withSession();
  const views = [];
  for (let i = 0; i < 5; i += 1) views.push(await env.store.registerAppeal(registration()));
  const amended = await env.store.amendAppeal(views[1].id, { urgent: true }, 'Бала коркуп жатат');
  const pending = await env.store.pendingMutations();
  assert.deepEqual(pending.map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Object.keys(pending[0]).sort(), ['appeal_id', 'base_version', 'data', 'id', 'seq', 'type']);
  assert.deepEqual(pending.slice(0, 5).map((m) => m.appeal_id), views.map((v) => v.id));
  assert.deepEqual(pending[5], {
    seq: 6, id: pending[5].id, type: 'appeal.amended', appeal_id: views[1].id, base_version: 1,
    data: { changes: { urgent: true }, reason: 'Бала коркуп жатат' },
  });
  assert.equal(new Set(pending.map((m) => m.id)).size, 6);
  assert.deepEqual((await env.store.pendingMutations(2)).map((m) => m.seq), [1, 2]);
  assert.equal(await env.store.pendingCount(), 6);
  assert.deepEqual([...new Set(views.map((v) => v.provisional_no))], [1, 2, 3, 4, 5]);
  assert.equal(amended.version, 2);
  assert.equal(amended.urgent, true);
  assert.equal(amended.pending, 2);
  assert.deepEqual(amended.history.map((h) => [h.type, h.pending, h.fields, h.reason]), [
    ['appeal.registered', true, [], null], ['appeal.amended', true, ['urgent'], 'Бала коркуп жатат'],
  ]);
});

test('concurrent registrations still get distinct consecutive seqs', async () => {
  const env = await withSession();
  await Promise.all(Array.from({ length: 8 }, () => env.store.registerAppeal(registration())));
  assert.deepEqual((await env.store.pendingMutations()).map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual((await env.store.listAppeals()).map((v) => v.provisional_no).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('nothing confidential is stored in the clear: every record is sealed, the token too', async () => {
  const env = await withSession();
  const canary = 'CANARY-7f3a';
  await env.store.registerAppeal(registration({
    summary: `${canary} summary`, text: `${canary} text`,
    applicant: { anonymous: false, full_name: `${canary} name`, age: 12, role: 'student', grade: '6A', address: `${canary} addr`, phone: '0555' },
  }));
  const list = await env.store.listAppeals();
  await env.store.amendAppeal(list[0].id, { summary: `${canary} corrected` }, `${canary} reason`);
  const [mutation] = await env.store.pendingMutations(1);
  await env.store.applyPushResults([mutation], [{ seq: 1, id: mutation.id, status: 'rejected', error: 'received_in_future', serial_no: null, version: null }]);
  const all = await dump(env);
  const text = JSON.stringify(all, (k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
  assert.ok(!text.includes(canary), 'no canary anywhere in the database');
  assert.ok(!text.includes('tok-secret-123'), 'the token is sealed');
  for (const store of ['appeals', 'attention', 'session']) {
    for (const row of all[store]) assert.deepEqual(Object.keys(row).sort(), ['ct', 'id', 'iv'], store);
  }
  for (const row of all.outbox) {
    assert.deepEqual(Object.keys(row).filter((k) => !['seq', 'id', 'appeal_id', 'iv', 'ct', 'acked'].includes(k)), []);
  }
  // Sealed under their store and id: moving a record elsewhere makes it unreadable.
  const appeal = all.appeals[0];
  await assert.rejects(openRecord(env.key, 'appeals', { ...appeal, id: 'another' }), { name: 'DecryptionFailed' });
});

test('validation and the rules refuse locally, and then nothing is written', async () => {
  const env = await withSession();
  const error = await env.store.registerAppeal(registration({ summary: '  ', category: 'nope' })).catch((e) => e);
  assert.ok(error instanceof ValidationFailed);
  assert.deepEqual(error.paths, ['category', 'summary']);
  await assert.rejects(env.store.registerAppeal(registration({ received_on: '2025-03-12' })), (e) => e instanceof Refusal && e.code === 'received_in_future');
  await env.store.registerAppeal(registration({ received_on: '2025-03-11' })); // one day of tolerance
  const [view] = await env.store.listAppeals();
  await assert.rejects(env.store.amendAppeal(view.id, {}, 'why'), ValidationFailed);
  await assert.rejects(env.store.amendAppeal(view.id, { received_on: '2025-09-01' }, 'why'), (e) => e.code === 'received_in_future');
  await assert.rejects(env.store.amendAppeal(view.id, { applicant: { full_name: null } }, 'why'), (e) => e.code === 'invalid_amendment');
  await assert.rejects(env.store.amendAppeal('00000000-0000-4000-8000-000000000000', { urgent: true }, 'why'), NotFound);
  assert.equal(await env.store.pendingCount(), 1);
  assert.equal(await env.store.getMeta('nextSeq'), 2);
});

test('marking a letter anonymous clears the identity in the view', async () => {
  const env = await withSession();
  const view = await env.store.registerAppeal(registration());
  const after = await env.store.amendAppeal(view.id, { applicant: { anonymous: true } }, 'Кат ээси атын жашырууну суранды');
  assert.equal(after.anonymous, true);
  assert.deepEqual(after.contents.applicant, { full_name: null, age: 13, grade: '7Б', address: null, phone: null });
});

test('while locked nothing sealed can be read or written, but the pending count shows', async () => {
  const env = await withSession();
  await env.store.registerAppeal(anonymousRegistration());
  env.locked = true;
  await assert.rejects(env.store.listAppeals(), Locked);
  await assert.rejects(env.store.getSession(), Locked);
  await assert.rejects(env.store.registerAppeal(registration()), Locked);
  await assert.rejects(env.store.pendingMutations(), Locked);
  assert.equal(await env.store.pendingCount(), 1);
});

test('push results: acknowledged rows stay until a pull shows them; the pull replaces the provisional mark', async () => {
  const env = await withSession();
  const view = await env.store.registerAppeal(registration());
  const [m] = await env.store.pendingMutations();
  await env.store.applyPushResults([m], [{ seq: 1, id: m.id, status: 'applied', error: null, serial_no: 41, version: 1 }]);
  assert.equal(await env.store.pendingCount(), 0);
  let shown = await env.store.getAppeal(view.id);
  assert.equal(shown.serial_no, 41, 'the acknowledged number shows at once');
  assert.equal(shown.provisional_no, 1);
  assert.equal(shown.pending, 0);
  assert.equal(shown.history[0].pending, false);
  assert.equal((await dump(env)).outbox.length, 1, 'kept (acked) until a pull shows its effect');

  const change = {
    entity: 'appeal', change_no: 7, id: view.id, serial_no: 41, school_year: 2024, version: 1, status: 'registered',
    received_on: view.received_on, opening_id: null, category: view.category, urgent: false, anonymous: false,
    applicant_role: 'student', registered_at: '2025-03-10T06:00:00+00:00', updated_at: '2025-03-10T06:00:00+00:00',
    contents: view.contents, history: [{ id: m.id, type: 'appeal.registered', recorded_at: '2025-03-10T06:00:00+00:00', by: 'Айгүл', fields: [] }],
  };
  await env.store.applyPull([change], 7);
  assert.equal(await env.store.getCursor(), 7);
  assert.equal((await dump(env)).outbox.length, 0);
  shown = await env.store.getAppeal(view.id);
  assert.equal(shown.serial_no, 41);
  assert.equal(shown.registered_at, '2025-03-10T06:00:00+00:00');
  assert.deepEqual(shown.history, [{
    id: m.id, type: 'appeal.registered', at: '2025-03-10T06:00:00+00:00', by: 'Айгүл', by_role: null, device: null,
    base_version: null, version: null, fields: [], facts: null, changes: null, data: null, reason: null, pending: false,
  }]);

  // A seq is never reused, although its row is gone.
  await env.store.registerAppeal(registration());
  assert.deepEqual((await env.store.pendingMutations()).map((x) => x.seq), [2]);
});

test('the server wins: a pulled newer version drops a stale pending correction from the view, not from the outbox', async () => {
  const env = await withSession();
  const view = await env.store.registerAppeal(registration());
  const [reg] = await env.store.pendingMutations();
  await env.store.applyPushResults([reg], [{ seq: 1, id: reg.id, status: 'applied', error: null, serial_no: 3, version: 1 }]);
  await env.store.amendAppeal(view.id, { summary: 'my correction' }, 'typo');
  // Meanwhile another tablet corrected it to version 2.
  const [meta, contents] = [{ ...view }, { ...view.contents, summary: 'their correction' }];
  await env.store.applyPull([{
    ...meta, entity: 'appeal', change_no: 2, serial_no: 3, version: 2, contents, registered_at: 'r', updated_at: 'u',
    history: [{ id: reg.id, type: 'appeal.registered', recorded_at: 'r', by: 'A', fields: [] },
      { id: 'e2', type: 'appeal.amended', recorded_at: 'u', by: 'B', fields: ['summary'], reason: 'theirs' }],
  }], 2);
  const shown = await env.store.getAppeal(view.id);
  assert.equal(shown.contents.summary, 'their correction');
  assert.equal(shown.version, 2);
  assert.equal(shown.pending, 1);
  assert.equal(shown.history.at(-1).pending, true);
  assert.equal(await env.store.pendingCount(), 1);
});

test('refused mutations go to "needs attention" with the server answer, and come back only when the user resends', async () => {
  const env = await withSession();
  const a = await env.store.registerAppeal(registration());
  const b = await env.store.registerAppeal(registration());
  const batch = await env.store.pendingMutations();
  await env.store.applyPushResults(batch, [
    { seq: 1, id: batch[0].id, status: 'applied', error: null, serial_no: 1, version: 1 },
    { seq: 2, id: batch[1].id, status: 'rejected', error: 'received_in_future', serial_no: null, version: null },
  ]);
  assert.equal(await env.store.pendingCount(), 0);
  const items = await env.store.attentionItems();
  assert.equal(items.length, 1);
  assert.equal(items[0].id, batch[1].id);
  assert.equal(items[0].result.error, 'received_in_future');
  assert.deepEqual(items[0].mutation, batch[1]);
  const refused = await env.store.getAppeal(b.id);
  assert.equal(refused.attention, true, 'the letter stays visible, marked');
  assert.equal(refused.contents.summary, b.contents.summary);
  assert.equal((await env.store.getAppeal(a.id)).attention, false);
  await assert.rejects(env.store.amendAppeal(b.id, { urgent: true }, 'x'), (e) => e.code === 'registration_needs_attention');

  await assert.rejects(env.store.resendFromAttention(batch[1].id, { ...batch[1].data, received_on: '2099-01-01' }), (e) => e.code === 'received_in_future');
  const again = await env.store.resendFromAttention(batch[1].id, { ...batch[1].data, received_on: '2025-03-09' });
  assert.equal(again.attention, false);
  assert.equal(again.received_on, '2025-03-09');
  const [resent] = await env.store.pendingMutations();
  assert.equal(resent.seq, 3, 'a new seq');
  assert.notEqual(resent.id, batch[1].id, 'changed data is a new mutation');
  assert.equal(resent.appeal_id, b.id);
  assert.deepEqual(await env.store.attentionItems(), []);
  await assert.rejects(env.store.resendFromAttention(batch[1].id), NotFound);
});

test('a conflict is resent against the version the appeal has now; seq_reused keeps the mutation id', async () => {
  const env = await withSession();
  const view = await env.store.registerAppeal(registration());
  await env.store.amendAppeal(view.id, { urgent: true }, 'r');
  const batch = await env.store.pendingMutations();
  await env.store.applyPushResults(batch, [
    { seq: 1, id: batch[0].id, status: 'applied', error: null, serial_no: 1, version: 1 },
    { seq: 2, id: batch[1].id, status: 'conflict', error: 'stale_version', serial_no: 1, version: 2 },
  ]);
  await env.store.applyPull([{
    entity: 'appeal', change_no: 2, id: view.id, serial_no: 1, school_year: 2024, version: 2, status: 'registered',
    received_on: view.received_on, opening_id: null, category: 'other', urgent: false, anonymous: false, applicant_role: 'student',
    registered_at: 'r', updated_at: 'u', contents: view.contents,
    history: [{ id: batch[0].id, type: 'appeal.registered', recorded_at: 'r', by: 'A', fields: [] }, { id: 'x', type: 'appeal.amended', recorded_at: 'u', by: 'B', fields: ['category'] }],
  }], 2);
  await env.store.resendFromAttention(batch[1].id);
  const [resent] = await env.store.pendingMutations();
  assert.equal(resent.base_version, 2);
  assert.notEqual(resent.id, batch[1].id);
  assert.deepEqual(resent.data, batch[1].data, 'kept as the user decided');

  await env.store.applyPushResults([resent], [{ seq: resent.seq, id: resent.id, status: 'rejected', error: 'seq_reused', serial_no: null, version: null }]);
  await env.store.resendFromAttention(resent.id);
  const [kept] = await env.store.pendingMutations();
  assert.equal(kept.id, resent.id);
  assert.equal(kept.seq, resent.seq + 1);
});

test('moveToAttention sets one mutation aside; renumberPending closes the gap it leaves, keeping ids', async () => {
  const env = await withSession();
  for (let i = 0; i < 4; i += 1) await env.store.registerAppeal(registration());
  const before = await env.store.pendingMutations();
  await env.store.moveToAttention(before[1], { error: 'validation_error', fields: { data: { summary: ['x'] } } });
  assert.deepEqual((await env.store.pendingMutations()).map((m) => m.seq), [1, 3, 4]);
  assert.equal((await env.store.attentionItems())[0].result.status, 'rejected');
  assert.equal(await env.store.renumberPending(2), 2);
  const after = await env.store.pendingMutations();
  assert.deepEqual(after.map((m) => m.seq), [1, 2, 3]);
  assert.deepEqual(after.map((m) => m.id), [before[0].id, before[2].id, before[3].id]);
  await env.store.registerAppeal(registration());
  assert.deepEqual((await env.store.pendingMutations()).map((m) => m.seq), [1, 2, 3, 4]);
});

test('renumbering sends acknowledged rows again (the server may have lost them)', async () => {
  const env = await withSession();
  await env.store.registerAppeal(registration());
  await env.store.registerAppeal(registration());
  const batch = await env.store.pendingMutations();
  await env.store.applyPushResults(batch, batch.map((m, i) => ({ seq: m.seq, id: m.id, status: 'applied', error: null, serial_no: i + 1, version: 1 })));
  assert.equal(await env.store.pendingCount(), 0);
  await env.store.renumberPending(1);
  assert.deepEqual((await env.store.pendingMutations()).map((m) => [m.seq, m.id]), batch.map((m) => [m.seq, m.id]));
});

test('the session is sealed; logout forgets only the token; a new device id renumbers the outbox from 1', async () => {
  const env = await withSession();
  assert.deepEqual(await env.store.getSession(), SESSION);
  for (let i = 0; i < 3; i += 1) await env.store.registerAppeal(registration());
  const [first] = await env.store.pendingMutations();
  await env.store.applyPushResults([first], [{ seq: 1, id: first.id, status: 'applied', error: null, serial_no: 1, version: 1 }]);
  await env.store.forgetToken();
  const out = await env.store.getSession();
  assert.equal(out.token, null);
  assert.equal(out.device_id, SESSION.device_id);
  assert.equal((await env.store.listAppeals()).length, 3);
  // Same device again: numbering kept.
  await env.store.saveSession({ ...SESSION, token: 'tok-2' });
  assert.deepEqual((await env.store.pendingMutations()).map((m) => m.seq), [2, 3]);
  // A new enrolment: everything held is sent again from 1, ids kept.
  await env.store.saveSession({ ...SESSION, token: 'tok-3', device_id: 'd0000000-0000-4000-8000-000000000002' });
  const renumbered = await env.store.pendingMutations();
  assert.deepEqual(renumbered.map((m) => m.seq), [1, 2, 3]);
  assert.equal(renumbered[0].id, first.id);
  await env.store.registerAppeal(registration());
  assert.equal((await env.store.pendingMutations()).at(-1).seq, 4);
});

test('data survives a reload (a new connection and store over the same database)', async () => {
  const env = await withSession();
  const view = await env.store.registerAppeal(registration());
  const reloaded = await makeStore({ factory: env.factory, key: env.key });
  assert.deepEqual(await reloaded.store.getAppeal(view.id), view);
  assert.equal(await reloaded.store.pendingCount(), 1);
});

test('persistence is requested once, after the first save; storage use is reported', async () => {
  const calls = [];
  const storage = {
    persisted: async () => false,
    persist: async () => { calls.push('persist'); return true; },
    estimate: async () => ({ usage: 1234, quota: 10_000, usageDetails: {} }),
  };
  const env = await withSession({ storage });
  assert.deepEqual(calls, []);
  await env.store.registerAppeal(registration());
  await env.store.registerAppeal(registration());
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(calls, ['persist']);
  assert.deepEqual(await env.store.storageEstimate(), { usage: 1234, quota: 10_000 });
  const bare = await makeStore({ factory: new IDBFactory() });
  assert.equal(await bare.store.storageEstimate(), null);
  assert.equal(await bare.store.requestPersistence(), false);
});
