// history.js (a conflict's base / server / mine, the steps since a version, superseded corrections, the
// letter holding a receipt code) and the store's ways out of "needs attention": a conflict resent as a new
// mutation on the current version, a withdrawn duplicate letter, an id_reused registration saved anew.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  conflictFields, receiptHolder, resolvedChanges, stepsSince, supersededCorrections,
} from '../../pwa/js/history.js';
import { makeStore, registration } from './helpers.mjs';

const MINE = { id: 'dev-mine', name: 'Tablet A' };
const OTHER = { id: 'dev-other', name: 'Tablet B' };
const REG = registration({ summary: 'Биринчи', applicant: { anonymous: false, full_name: 'Асель', age: 13, role: 'student', grade: '7Б', address: null, phone: '0555' } });

function entry(version, type, device, extra = {}) {
  return { id: `e${version}`, type, recorded_at: `2025-03-1${version}T08:00:00Z`, by: device === MINE ? 'Айгүл' : 'Бакыт',
    by_role: 'pedagogue', device, base_version: version === 1 ? null : version - 1, version, fields: [], facts: {}, ...extra };
}

/** A pulled change: registered at 1, then corrected on the other tablet at 2 (summary) and 3 (phone). */
function pulled() {
  return {
    id: 'a1', version: 3, status: 'registered', received_on: REG.received_on, opening_id: null, category: REG.category,
    urgent: false, anonymous: false, applicant_role: 'student',
    contents: { applicant: { ...REG.applicant, phone: '0777' }, summary: 'Сервердики', text: null, receipt_code: null, case: null },
    history: [
      entry(1, 'appeal.registered', MINE),
      entry(2, 'appeal.amended', OTHER, { fields: ['summary'], changes: [{ field: 'summary', before: 'Биринчи', after: 'Сервердики' }] }),
      entry(3, 'appeal.amended', OTHER, { fields: ['applicant.phone'], changes: [{ field: 'applicant.phone', before: '0555', after: '0777' }] }),
      entry(4, 'appeal.referred', OTHER, { version: 4, facts: { referred_on: '2025-03-12', authority: 'police' } }),
    ].map((e, i) => ({ ...e, version: i + 1 })),
  };
}

test('a conflicting correction field by field: base from the later changes undone, server now with who, mine', () => {
  const mutation = { base_version: 1, data: { changes: { summary: 'Меники', applicant: { grade: '8А' } }, reason: 'r' } };
  const rows = conflictFields(pulled(), mutation);
  assert.deepEqual(rows.map((r) => [r.path, r.base, r.server, r.mine, r.changedOnServer]), [
    ['applicant.grade', '7Б', '7Б', '8А', false],
    ['summary', 'Биринчи', 'Сервердики', 'Меники', true],
  ]);
  assert.deepEqual(rows[1].by, [{ by: 'Бакыт', at: '2025-03-12T08:00:00Z', device: OTHER }]);
  // Made after the summary's correction: only later changes count.
  const later = conflictFields(pulled(), { base_version: 2, data: { changes: { summary: 'Меники' } } });
  assert.deepEqual([later[0].base, later[0].changedOnServer], ['Сервердики', false]);
});

test('the correction sent instead: kept, taken and merged fields; nothing the server holds already', () => {
  const mutation = { base_version: 1, data: { changes: { summary: 'Меники', applicant: { grade: '8А', phone: '0777' } } } };
  const rows = conflictFields(pulled(), mutation);
  assert.deepEqual(resolvedChanges(rows, {}), { summary: 'Меники', applicant: { grade: '8А' } });
  assert.deepEqual(resolvedChanges(rows, { summary: { take: 'server' } }), { applicant: { grade: '8А' } });
  assert.deepEqual(resolvedChanges(rows, { summary: { take: 'merge', value: 'Экөө тең' }, 'applicant.grade': { take: 'server' } }),
    { summary: 'Экөө тең' });
  assert.deepEqual(resolvedChanges(rows, { summary: { take: 'server' }, 'applicant.grade': { take: 'server' } }), {});
});

test('the steps since a version are the entries after it', () => {
  assert.deepEqual(stepsSince(pulled(), 2).map((e) => e.type), ['appeal.amended', 'appeal.referred']);
  assert.deepEqual(stepsSince(pulled(), 4), []);
});

test("a correction is superseded when another device later changes a field this device set last", () => {
  const history = [
    entry(1, 'appeal.registered', OTHER),
    { ...entry(2, 'appeal.amended', MINE), fields: ['summary', 'applicant.grade'] },
    { ...entry(3, 'appeal.amended', MINE), fields: ['applicant.phone'] },
    { ...entry(4, 'appeal.amended', OTHER), fields: ['applicant.grade', 'category'] },
    { ...entry(5, 'appeal.amended', OTHER), fields: ['category'] },
  ];
  const found = supersededCorrections(history, MINE.id);
  assert.deepEqual(found.map((f) => [f.id, f.fields, f.mine, f.by, f.device.name]), [['e4', ['applicant.grade'], 'e2', 'Бакыт', 'Tablet B']]);
  assert.deepEqual(supersededCorrections(history, OTHER.id), []); // B replaced nothing of its own
  // This device's own later correction replaces nothing; a field set again by me is mine again.
  const again = [...history, { ...entry(6, 'appeal.amended', MINE), fields: ['category'] }, { ...entry(7, 'appeal.amended', MINE), fields: ['summary'] }];
  assert.equal(supersededCorrections(again, MINE.id).length, 1);
  assert.deepEqual(supersededCorrections(history, null), []);
});

test('the letter holding a receipt code: normalised as the server does, not the letter itself, not erased', () => {
  const views = [
    { id: 'a', contents: { receipt_code: 'K7M2QX' } },
    { id: 'b', contents: { receipt_code: null } },
    { id: 'c', erased: true, contents: null },
  ];
  assert.equal(receiptHolder('k7m2qx', views)?.id, 'a');
  assert.equal(receiptHolder(' K7M-2QX ', views)?.id, 'a');
  assert.equal(receiptHolder('K7M2QX', views, 'a'), null);
  assert.equal(receiptHolder('', views), null);
  assert.equal(receiptHolder('ZZZZZZ', views), null);
});

test('the letter holding a receipt code is the journal\'s first holder, as the server names it', () => {
  // Newest first, as the store lists them: the holder is still the earliest letter of the journal.
  const views = [
    { id: 'unsent', serial_no: null, provisional_no: 2, school_year: 2025, contents: { receipt_code: 'K7M2QX' } },
    { id: 'later', serial_no: 9, school_year: 2025, contents: { receipt_code: 'K7M2QX' } },
    { id: 'erased', serial_no: 1, school_year: 2025, erased: true, contents: { receipt_code: 'K7M2QX' } },
    { id: 'earlier', serial_no: 4, school_year: 2025, contents: { receipt_code: 'K7M2QX' } },
    { id: 'last-year', serial_no: 30, school_year: 2024, contents: { receipt_code: 'K7M2QX' } },
  ];
  assert.equal(receiptHolder('K7M2QX', views)?.id, 'last-year');
  assert.equal(receiptHolder('K7M2QX', views, 'last-year')?.id, 'earlier');
  assert.equal(receiptHolder('K7M2QX', views.filter((v) => v.serial_no !== 4 && v.serial_no !== 30 && v.serial_no !== 9))?.id, 'unsent');
  assert.equal(receiptHolder('K7M2QX', [views[0]], 'unsent'), null);
});

test('a conflict resent as a new mutation on the current version; the refused one leaves', async () => {
  const { store } = await makeStore();
  const letter = await store.registerAppeal(registration());
  const [reg] = await store.pendingMutations();
  await store.applyPushResults([reg], [{ id: reg.id, status: 'applied', serial_no: 1, version: 1 }]);
  await store.amendAppeal(letter.id, { summary: 'Меники' }, 'кате');
  const [amend] = await store.pendingMutations();
  await store.applyPushResults([amend], [{ id: amend.id, status: 'conflict', error: 'stale_version', version: 2 }]);
  const server = { ...pulled(), id: letter.id, version: 2, received_on: letter.received_on, history: pulled().history.slice(0, 2) };
  await store.applyPull([server], 1);
  const item = await store.attentionItem(amend.id);
  assert.equal(item.server.version, 2);
  assert.deepEqual(conflictFields(item.server, item.mutation).map((r) => [r.base, r.server, r.mine]), [['Биринчи', 'Сервердики', 'Меники']]);
  await store.resendFromAttention(amend.id, { changes: { summary: 'Экөө' }, reason: 'бириктирилди' });
  assert.equal(await store.attentionItem(amend.id), null);
  const [again] = await store.pendingMutations();
  assert.notEqual(again.id, amend.id);
  assert.equal(again.base_version, 2);
  assert.deepEqual(again.data.changes, { summary: 'Экөө' });
});

test('a letter registered twice is withdrawn: the entry, its unsent work and its attention item go', async () => {
  const { store } = await makeStore();
  const letter = await store.registerAppeal(registration({ receipt_code: 'K7M2QX' }));
  const [reg] = await store.pendingMutations();
  const held = { id: crypto.randomUUID(), serial_no: 7, school_year: 2024, received_on: '2025-03-03' };
  await store.applyPushResults([reg], [{ id: reg.id, status: 'rejected', error: 'receipt_code_used', held_by: held }]);
  const [item] = await store.attentionItems();
  assert.deepEqual(item.result.held_by, held);
  assert.equal((await store.getAppeal(letter.id)).attention, true);
  await store.withdrawFromAttention(reg.id);
  assert.deepEqual(await store.attentionItems(), []);
  assert.equal(await store.getAppeal(letter.id), null);
  assert.equal(await store.pendingCount(), 0);
});

test('an id_reused registration is saved as a new entry: new mutation id, new letter id, the old entry gone', async () => {
  const { store } = await makeStore();
  const letter = await store.registerAppeal(registration());
  const [reg] = await store.pendingMutations();
  await store.applyPushResults([reg], [{ id: reg.id, status: 'rejected', error: 'id_reused', held_by: null }]);
  assert.equal((await store.listAppeals()).length, 1); // still on its tablet
  const view = await store.resendFromAttention(reg.id, undefined, { asNew: true });
  assert.notEqual(view.id, letter.id);
  assert.equal(await store.getAppeal(letter.id), null);
  assert.deepEqual(await store.attentionItems(), []);
  const [again] = await store.pendingMutations();
  assert.notEqual(again.id, reg.id);
  assert.equal(again.appeal_id, view.id);
  assert.deepEqual(again.data, reg.data);
});

test("the superseded marks seen are kept in the letter's sealed view across pulls", async () => {
  const { store } = await makeStore();
  const letter = await store.registerAppeal(registration());
  const [reg] = await store.pendingMutations();
  await store.applyPushResults([reg], [{ id: reg.id, status: 'applied', serial_no: 1, version: 1 }]);
  const history = [
    { ...entry(1, 'appeal.registered', MINE), id: reg.id },
    { ...entry(2, 'appeal.amended', MINE), fields: ['summary'] },
    { ...entry(3, 'appeal.amended', OTHER), fields: ['summary'] },
  ];
  const change = { ...pulled(), id: letter.id, version: 3, received_on: letter.received_on, history };
  await store.applyPull([change], 1);
  const before = await store.getAppeal(letter.id);
  assert.deepEqual(supersededCorrections(before.history, MINE.id).map((f) => f.id), ['e3']);
  assert.deepEqual(before.superseded_seen, []);
  await store.markSupersededSeen(letter.id, ['e3']);
  await store.applyPull([{ ...change, version: 3 }], 2);
  assert.deepEqual((await store.getAppeal(letter.id)).superseded_seen, ['e3']);
});
