// The letters opened on a tablet, for the server's audit: noted offline too, sealed at rest (no letter's word
// in the database), sent after the push and forgotten once the server recorded or refused them; and a
// withdrawn access: the pulled journal forgotten, the unsent work (outbox, views) kept sealed, a login
// pulling everything again from 0 and sending the outbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { FakeServer } from './fake-server.mjs';
import { dump, fakeTimers, makeStore, registration } from './helpers.mjs';
import { createSync } from '../../pwa/js/sync.js';

const PASSWORD = 'correct horse battery';
const UUID = /^[0-9a-f-]{36}$/;

async function tablet({ server = new FakeServer(), ...rest } = {}) {
  const env = await makeStore();
  const login = await server.login({ username: 'pedagogue', password: PASSWORD, device_name: 'Tablet' });
  await env.store.saveSession({ token: login.token, device_id: login.device_id, user: login.user, school: null });
  const timers = fakeTimers();
  const sync = createSync({ store: env.store, api: server, locks: null, now: env.clock.now, setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, ...rest });
  const events = [];
  for (const name of ['needs-login', 'withdrawn', 'synced']) sync.on(name, (detail) => events.push([name, detail]));
  return Object.assign(env, { server, sync, timers, events, login });
}

/** Every byte the database holds, as text: a word of a letter would show here. */
async function plaintext(env) {
  const stores = await dump(env);
  const decoder = new TextDecoder();
  return JSON.stringify(stores, (key, value) => (value instanceof Uint8Array || value instanceof ArrayBuffer ? decoder.decode(value) : value));
}

test('a letter opened offline is noted sealed, sent after the push, and forgotten once recorded', async () => {
  const t = await tablet();
  const letter = await t.store.registerAppeal(registration({ summary: 'Canary-summary-7Q' }));
  await t.sync.start();
  t.server.failNext('views', 'offline');
  const noted = await t.store.recordView(letter.id);
  await t.store.recordView(letter.id);
  assert.match(noted.id, UUID);
  assert.deepEqual(Object.keys(noted).sort(), ['appeal_id', 'id', 'viewed_at']);
  assert.equal(noted.viewed_at, new Date('2025-03-10T09:00:00').toISOString());
  assert.equal((await t.sync.syncNow()).reason, 'retry');
  assert.equal(await t.store.viewCount(), 2, 'kept while offline');

  // Sealed at rest: the database holds the view's id in the clear, never the letter, its id or its words.
  const stored = await dump(t);
  assert.equal(stored.viewlog.length, 2);
  assert.deepEqual(Object.keys(stored.viewlog[0]).sort(), ['ct', 'id', 'iv']);
  const text = await plaintext(t);
  assert.ok(!JSON.stringify(stored.viewlog).includes(letter.id), 'no appeal id in the clear in the view log');
  assert.ok(!text.includes('Canary-summary-7Q'), 'no letter word in the clear');

  // Back online: pushed, then the views beside the pull; the server has them once, from this device.
  const calls = t.server.calls.length;
  assert.equal((await t.sync.syncNow()).ok, true);
  assert.deepEqual(t.server.calls.slice(calls).filter((c) => c !== 'me').sort(), ['pull', 'views']);
  assert.equal(await t.store.viewCount(), 0);
  const recorded = Object.values(t.server.data.views);
  assert.equal(recorded.length, 2);
  assert.ok(recorded.every((view) => view.appeal_id === letter.id && view.device_id === t.login.device_id));
  assert.ok(recorded.every((view) => Object.keys(view).sort().join() === 'appeal_id,device_id,id,viewed_at'), 'nothing of the letter');
});

test('views the server refuses (a reused id, an unknown letter) leave the log; an answer lost sends them again', async () => {
  const t = await tablet();
  const letter = await t.store.registerAppeal(registration());
  await t.sync.start();
  const good = await t.store.recordView(letter.id);
  await t.store.recordView(crypto.randomUUID()); // a letter the server does not know
  const reused = await t.store.recordView(letter.id);
  t.server.data.views[reused.id] = { ...reused, viewed_at: '2025-01-01T00:00:00.000Z' };
  t.server.failNext('views', 'lost');
  assert.equal((await t.sync.syncNow()).reason, 'retry');
  assert.equal(await t.store.viewCount(), 3, 'no answer: nothing forgotten');
  const warnings = [];
  const warn = console.warn;
  console.warn = (text) => warnings.push(text);
  try {
    assert.equal((await t.sync.syncNow()).ok, true);
  } finally {
    console.warn = warn;
  }
  assert.equal(await t.store.viewCount(), 0, 'no poison entry stays');
  assert.ok(t.server.data.views[good.id], 'recorded once, idempotent by id');
  assert.deepEqual(warnings, ['audit: 2 letter view(s) refused by the server and dropped']);
});

test('more views than one request carries go in several', async () => {
  const t = await tablet({ viewsPerRequest: 3 });
  const letter = await t.store.registerAppeal(registration());
  await t.sync.start();
  for (let i = 0; i < 7; i += 1) await t.store.recordView(letter.id);
  const sizes = [];
  const record = t.server.recordViews.bind(t.server);
  t.server.recordViews = (token, views) => {
    sizes.push(views.length);
    return record(token, views);
  };
  assert.equal((await t.sync.syncNow()).ok, true);
  assert.deepEqual(sizes, [3, 3, 1]);
  assert.equal(Object.keys(t.server.data.views).length, 7);
});

test('device_revoked: the pulled journal is forgotten, the unsent registration and views kept sealed', async () => {
  const t = await tablet();
  await t.store.registerAppeal(registration({ summary: 'Pulled-canary-X1' }));
  await t.store.registerAppeal(registration({ summary: 'Pulled-canary-X2' }));
  await t.sync.start();
  const pulled = await t.store.listAppeals();
  assert.equal(pulled.length, 2);
  await t.store.amendAppeal(pulled[0].id, { summary: 'Own-correction' }, 'typo');
  const mine = await t.store.registerAppeal(registration({ summary: 'Unsent-own-Z9' }));
  await t.store.recordView(pulled[1].id);
  assert.ok((await t.store.getCursor()) > 0);

  t.server.revoke(t.login.device_id);
  const result = await t.sync.syncNow();
  assert.equal(result.reason, 'needs-login');
  assert.deepEqual(t.events.filter(([n]) => n === 'withdrawn').map(([, d]) => d), [{ code: 'device_revoked' }]);

  // Only its own unsent work is left: the registration (its provisional mark kept), the correction's row, the view.
  const left = await t.store.listAppeals();
  assert.deepEqual(left.map((view) => view.id), [mine.id]);
  assert.equal(left[0].provisional_no, mine.provisional_no);
  assert.equal(left[0].contents.summary, 'Unsent-own-Z9');
  assert.equal(await t.store.getAppeal(pulled[1].id), null);
  assert.equal(await t.store.pendingCount(), (await t.store.pendingMutations()).length);
  const types = (await t.store.pendingMutations()).map((m) => m.type);
  assert.ok(types.includes('appeal.registered') && types.includes('appeal.amended'));
  assert.equal(await t.store.viewCount(), 1);
  assert.equal(await t.store.getCursor(), 0);
  assert.equal(await t.store.getMeta('withdrawn'), 'device_revoked');
  assert.equal(await t.store.getMeta('chain'), undefined);
  const session = await t.store.getSession();
  assert.equal(session.token, null, 'the refused token is forgotten');
  assert.equal(session.device_id, t.login.device_id, 'the device is kept: the admin re-admits it');
  const text = await plaintext(t);
  assert.ok(!text.includes('Pulled-canary') && !text.includes('Unsent-own-Z9') && !text.includes('Own-correction'));
  const stored = await dump(t);
  assert.equal(stored.appeals.length, 1);
  assert.ok(stored.outbox.every((row) => !row.acked), 'acknowledged rows are the server\'s already');

  // A page asked before the revocation and answered after it is not kept.
  await t.store.applyPull([t.server.change(t.server.appealList()[0])], 5);
  assert.equal(await t.store.getCursor(), 0);
  assert.deepEqual((await t.store.listAppeals()).map((view) => view.id), [mine.id]);

  // Still revoked: the same device is refused; re-admitted, it logs in, sends its outbox and pulls from 0.
  const refused = await t.server.login({ username: 'pedagogue', password: PASSWORD, device_name: 'Tablet', device_id: session.device_id }).catch((e) => e);
  assert.equal(refused.code, 'device_revoked');
  t.server.readmit(session.device_id);
  const again = await t.server.login({ username: 'pedagogue', password: PASSWORD, device_name: 'Tablet', device_id: session.device_id });
  assert.equal(again.device_id, session.device_id);
  await t.store.saveSession({ ...session, token: again.token });
  assert.equal(await t.store.getMeta('withdrawn'), undefined, 'a login lifts the mark');
  await t.sync.start();
  assert.equal((await t.sync.syncNow()).ok, true);
  const back = await t.store.listAppeals();
  assert.equal(back.length, 3);
  assert.ok(back.every((view) => view.serial_no !== null));
  assert.equal(back.find((view) => view.id === pulled[0].id).contents.summary, 'Own-correction');
  assert.equal(await t.store.pendingCount(), 0);
  assert.equal(await t.store.viewCount(), 0);
  assert.equal(t.server.appealList().length, 3);
});

test('account_disabled forgets likewise; invalid_token (an account enabled again) forgets nothing', async () => {
  const t = await tablet();
  await t.store.registerAppeal(registration());
  await t.sync.start();
  t.server.expireTokens();
  assert.equal((await t.sync.syncNow()).reason, 'needs-login');
  assert.equal((await t.store.listAppeals()).length, 1, 'invalid_token: the journal stays');
  assert.equal(await t.store.getMeta('withdrawn'), undefined);
  assert.deepEqual(t.events.filter(([n]) => n === 'withdrawn'), []);

  const login = await t.server.login({ username: 'pedagogue', password: PASSWORD, device_name: 'Tablet', device_id: t.login.device_id });
  await t.store.saveSession({ ...(await t.store.getSession()), token: login.token });
  t.server.disable('pedagogue');
  assert.equal((await t.sync.syncNow()).reason, 'needs-login');
  assert.equal((await t.store.listAppeals()).length, 0);
  assert.equal(await t.store.getMeta('withdrawn'), 'account_disabled');
  assert.deepEqual(t.events.filter(([n]) => n === 'withdrawn').map(([, d]) => d.code), ['account_disabled']);
});
