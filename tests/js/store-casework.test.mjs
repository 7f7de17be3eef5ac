// store.js for the regulations' workflow: openings and meetings as records of their own, case work folded
// into a letter's view by the same rules as the server, pulled openings and meetings settling the outbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { anonymousRegistration, dump, makeStore, registration } from './helpers.mjs';
import { Refusal } from '../../pwa/js/store.js';
import { subjectOf } from '../../pwa/js/store/views.js';
import { EVENT_TYPES } from '../../pwa/js/vocabulary.js';

const MEMBERS = [
  { name: 'Айгүл Ж.', position: 'социалдык педагог' },
  { name: 'Бакыт О.', position: 'орун басар' },
  { name: 'Чынара К.', position: 'профсоюз өкүлү' },
];
const SESSION = {
  token: 'tok', device_id: 'd0000000-0000-4000-8000-000000000001', user: { full_name: 'Айгүл Педагог' },
  school: { name: 'Мектеп', quorum: 3 },
};
const OPENING = { opened_at: '2025-03-10T08:05:00+06:00', members: MEMBERS.slice(0, 2), letters_count: 2, seal: 'intact', remarks: 'Пломба бүтүн.' };

async function desk() {
  const env = await makeStore();
  await env.store.saveSession(SESSION);
  return env;
}

test('an opening is a record of its own; letters name it; the rows carry it as their subject', async () => {
  const env = await desk();
  const { store } = env;
  const opening = await store.recordOpening(OPENING);
  assert.equal(opening.entity, 'opening');
  assert.equal(opening.letters_count, 2);
  assert.equal(opening.acknowledged_at, null);
  assert.equal(opening.pending, 1);
  const letter = await store.registerAppeal(registration({ opening_id: opening.id }));
  assert.equal(letter.opening_id, opening.id);
  assert.deepEqual((await store.listRecords('opening')).map((v) => v.id), [opening.id]);
  const wire = await store.pendingMutations();
  assert.deepEqual(wire.map((m) => [m.type, m.appeal_id, m.id === opening.id]), [
    [EVENT_TYPES.OPENING_RECORDED, null, true], [EVENT_TYPES.REGISTERED, letter.id, false]]);
  assert.equal(subjectOf(wire[0]), opening.id);
  // Sealed like everything else: the remarks never reach the database in the clear.
  assert.ok(!JSON.stringify(await dump(env)).includes('Пломба'));
});

test('a meeting needs the school\'s quorum and every member present confirming, offline too', async () => {
  const { store } = await desk();
  const present = (n, confirmed = true) => MEMBERS.slice(0, n).map((m) => ({ ...m, confirmed }));
  await assert.rejects(store.recordMeeting({ held_on: '2025-03-10', members_present: present(2) }),
    (error) => error instanceof Refusal && error.code === 'no_quorum');
  await assert.rejects(store.recordMeeting({ held_on: '2025-03-10', members_present: present(3, false) }),
    (error) => error.code === 'member_not_confirmed');
  assert.equal(await store.pendingCount(), 0);
  const meeting = await store.recordMeeting({ held_on: '2025-03-10', members_present: present(3) });
  assert.equal(meeting.entity, 'meeting');
});

test('case work folds into the letter\'s view with the rules of the server', async () => {
  const { store } = await desk();
  const signed = await store.registerAppeal(registration());
  const hidden = await store.registerAppeal(anonymousRegistration({ receipt_code: '7K3M9Q' }));
  const meeting = await store.recordMeeting({ held_on: '2025-03-10', members_present: MEMBERS.map((m) => ({ ...m, confirmed: true })) });
  const decided = await store.recordCaseWork(signed.id, EVENT_TYPES.DECIDED,
    { meeting_id: meeting.id, decision: 'Сүйлөшүү.', official: MEMBERS[1], measures_planned: null });
  assert.equal(decided.status, 'in_progress');
  assert.equal(decided.version, 2);
  await assert.rejects(store.recordCaseWork(signed.id, EVENT_TYPES.DECIDED,
    { meeting_id: '00000000-0000-4000-8000-000000000000', decision: 'x', official: MEMBERS[1] }),
  (error) => error.code === 'meeting_not_found');
  await assert.rejects(store.recordCaseWork(hidden.id, EVENT_TYPES.ANSWERED,
    { answered_on: '2025-03-10', way: 'in_person', kind: 'answer', text: 'Жооп.' }),
  (error) => error.code === 'anonymous_in_person');
  await assert.rejects(store.recordCaseWork(signed.id, EVENT_TYPES.ANSWERED,
    { answered_on: '2025-03-09', way: 'in_person', kind: 'answer', text: 'Жооп.' }),
  (error) => error.code === 'date_before_received');
  const answered = await store.recordCaseWork(hidden.id, EVENT_TYPES.ANSWERED,
    { answered_on: '2025-03-10', way: 'stand', kind: 'answer', text: 'Жооп стендде.' });
  assert.equal(answered.status, 'answered');
  assert.equal(answered.answered_on, '2025-03-10');
  const posted = await store.recordCaseWork(hidden.id, EVENT_TYPES.NOTICE_POSTED, { answer_no: 1, posted_on: '2025-03-10' });
  assert.equal(posted.contents.case.answers[0].posted_on, '2025-03-10');
  const refused = await store.registerAppeal(registration());
  const notAccepted = await store.recordCaseWork(refused.id, EVENT_TYPES.NOT_ACCEPTED, { decided_on: '2025-03-10', reason: 'Уят сөздөр.' });
  assert.equal(notAccepted.status, 'not_accepted');
  assert.deepEqual((await store.pendingMutations()).map((m) => m.base_version),
    [null, null, null, 1, 1, 2, null, 1]);
});

test('pulled openings and meetings replace the local ones; the acknowledgement leaves once the act shows it', async () => {
  const { store } = await desk();
  const opening = await store.recordOpening(OPENING);
  const sent = await store.pendingMutations();
  await store.applyPushResults(sent, sent.map((m) => ({ seq: m.seq, id: m.id, status: 'applied', error: null, serial_no: null, version: 1 })));
  const pulled = { entity: 'opening', change_no: 1, id: opening.id, version: 1, ...OPENING, recorded_at: '2025-03-10T02:05:00+00:00',
    recorded_by: 'Айгүл Педагог', acknowledged_at: null, acknowledged_by: null };
  const calendar = { week: 5, holidays: ['2025-03-21'], days_off: [], working_days: [], due_in_days: 5 };
  await store.applyPull([pulled], 1, { calendar, chain: { head: 'ab'.repeat(32), length: 1 } });
  assert.equal(await store.pendingCount(), 0);
  assert.deepEqual((await store.pendingMutations()), []);
  assert.deepEqual(await store.getMeta('calendar'), calendar);
  assert.equal((await store.getMeta('chain')).length, 1);
  const acknowledged = await store.acknowledgeOpening(opening.id);
  assert.ok(acknowledged.acknowledged_at);
  await assert.rejects(store.acknowledgeOpening(opening.id), (error) => error.code === 'acknowledged_already');
  const [ack] = await store.pendingMutations();
  await store.applyPushResults([ack], [{ seq: ack.seq, id: ack.id, status: 'applied', error: null, serial_no: null, version: 2 }]);
  await store.applyPull([{ ...pulled, change_no: 2, version: 1 }], 2);
  assert.equal((await store.getRecord(opening.id)).acknowledged_by, 'Айгүл Педагог', 'the acknowledgement still shows until pulled');
  await store.applyPull([{ ...pulled, change_no: 3, version: 2, acknowledged_at: '2025-03-11T03:00:00+00:00', acknowledged_by: 'Директор' }], 3);
  assert.equal((await store.getRecord(opening.id)).acknowledged_by, 'Директор');
});

test('the monthly information is marked presented once per month, offline too', async () => {
  const { store } = await desk();
  const marked = await store.presentReport('2025-02');
  assert.equal(marked.entity, 'report');
  assert.equal(marked.month, '2025-02');
  await assert.rejects(store.presentReport('2025-02'), (error) => error.code === 'presented_already');
  await assert.rejects(store.presentReport('2025-04'), (error) => error.code === 'date_in_future');
  assert.deepEqual((await store.listRecords('report')).map((view) => view.month), ['2025-02']);
  const [wire] = await store.pendingMutations();
  assert.deepEqual([wire.type, wire.appeal_id, wire.data], ['report.presented', null, { month: '2025-02' }]);
});
