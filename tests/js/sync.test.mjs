// The sync loop over the real store (on an in-memory IndexedDB) and an in-memory server that keeps the protocol.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { FakeServer } from './fake-server.mjs';
import { dump, fakeTimers, makeStore, registration } from './helpers.mjs';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffDelay, createSync, wireTriggers } from '../../pwa/js/sync.js';
import { HttpError, NetworkError } from '../../pwa/js/api.js';

const PASSWORD = 'correct horse battery';

/** A logged-in tablet: store, server, sync, and a record of every event. */
async function tablet({ server = new FakeServer(), clockStart = '2025-03-10T09:00:00', random = () => 0.5, locks = null, ...rest } = {}) {
  const env = await makeStore();
  env.clock.set(clockStart);
  const login = await server.login({ username: 'pedagogue', password: PASSWORD, device_name: 'Tablet' });
  await env.store.saveSession({ token: login.token, device_id: login.device_id, user: login.user, school: null });
  const timers = fakeTimers();
  const sync = createSync({
    store: env.store, api: server, locks, now: env.clock.now, random, setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, ...rest,
  });
  const events = [];
  for (const name of ['state', 'sending', 'needs-login', 'attention', 'synced', 'session']) sync.on(name, (detail) => events.push([name, detail]));
  return Object.assign(env, { server, sync, timers, events, login });
}

const serials = (views) => views.map((v) => v.serial_no).sort((a, b) => a - b);

test('backoff: full jitter under an exponential ceiling from 2 s, capped at 5 minutes', () => {
  assert.equal(backoffDelay(1, () => 0), 0);
  assert.equal(backoffDelay(1, () => 0.999999), BACKOFF_BASE_MS - 1);
  assert.equal(backoffDelay(2, () => 0.5), 2_000);
  assert.equal(backoffDelay(3, () => 0.5), 4_000);
  assert.equal(backoffDelay(30, () => 0.999999), BACKOFF_CAP_MS - 1);
  for (let a = 1; a < 20; a += 1) {
    const d = backoffDelay(a);
    assert.ok(d >= 0 && d < Math.min(BACKOFF_CAP_MS, 2_000 * 2 ** (a - 1)));
  }
});

test('offline letters reach the server exactly once; pulled serial numbers replace the provisional marks', async () => {
  const t = await tablet();
  for (let i = 0; i < 3; i += 1) await t.store.registerAppeal(registration());
  assert.deepEqual((await t.store.listAppeals()).map((v) => v.serial_no), [null, null, null]);
  await t.sync.start();
  assert.equal(t.server.appealList().length, 3);
  const views = await t.store.listAppeals();
  assert.deepEqual(serials(views), [1, 2, 3]);
  assert.ok(views.every((v) => v.pending === 0 && v.registered_at && v.history.every((h) => !h.pending)));
  assert.equal(await t.store.pendingCount(), 0);
  assert.equal((await dump(t)).outbox.length, 0, 'acknowledged and seen in the pull');
  const sending = t.events.filter(([n]) => n === 'sending').map(([, d]) => d);
  assert.deepEqual(sending.at(0), { sent: 0, total: 3 });
  assert.deepEqual(sending.at(-1), { sent: 3, total: 3 });
  const last = t.events.filter(([n]) => n === 'state').at(-1)[1];
  assert.equal(last.phase, 'idle');
  assert.equal(last.pending, 0);
  assert.equal(last.online, true);
  assert.equal(last.lastSync, new Date('2025-03-10T09:00:00').toISOString());
  assert.equal(await t.store.getMeta('lastSync'), last.lastSync);
  assert.ok(t.events.some(([n, d]) => n === 'state' && d.phase === 'receiving'));
  // Settings from /me are kept in the sealed session.
  assert.equal((await t.store.getSession()).school.idle_lock_minutes, 10);
  assert.ok(t.events.some(([n]) => n === 'session'));
  // The same school's journal on the server holds them once: a second run sends nothing.
  const pushes = t.server.calls.filter((c) => c === 'push').length;
  await t.sync.syncNow();
  assert.equal(t.server.calls.filter((c) => c === 'push').length, pushes);
});

test('pushes go in seq order, in batches of at most 200', async () => {
  const server = new FakeServer();
  const sizes = [];
  const push = server.push.bind(server);
  server.push = (token, body) => {
    sizes.push(body.mutations.map((m) => m.seq));
    return push(token, body);
  };
  const t = await tablet({ server });
  for (let i = 0; i < 203; i += 1) await t.store.registerAppeal(registration());
  await t.sync.start();
  assert.deepEqual(sizes.map((s) => s.length), [200, 3]);
  assert.deepEqual(sizes.flat(), Array.from({ length: 203 }, (_, i) => i + 1));
  assert.equal(t.server.appealList().length, 203);
  const progress = t.events.filter(([n]) => n === 'sending').map(([, d]) => `${d.sent}/${d.total}`);
  assert.deepEqual(progress, ['0/203', '200/203', '200/203', '203/203']);
});

test('a lost response, then the retry: no duplicate', async () => {
  const t = await tablet();
  for (let i = 0; i < 3; i += 1) await t.store.registerAppeal(registration());
  t.server.failNext('push', 'lost');
  const first = await t.sync.start();
  assert.equal(first.reason, 'retry');
  assert.equal(t.server.appealList().length, 3, 'the server committed');
  assert.equal(await t.store.pendingCount(), 3, 'the tablet did not hear it');
  assert.equal(t.sync.state().online, false);
  assert.equal(t.timers.count(), 1);
  await t.store.registerAppeal(registration()); // a new letter meanwhile
  await t.timers.fire();
  assert.equal(t.server.appealList().length, 4);
  assert.deepEqual(serials(await t.store.listAppeals()), [1, 2, 3, 4]);
  assert.equal(await t.store.pendingCount(), 0);
  assert.equal(t.sync.state().phase, 'idle');
});

test('a lost response to a pull, then the retry: acknowledged rows stay until a pull shows them', async () => {
  const t = await tablet();
  await t.store.registerAppeal(registration());
  t.server.failNext('pull', 'offline');
  await t.sync.start();
  assert.equal(await t.store.pendingCount(), 0);
  assert.equal((await t.store.listAppeals())[0].serial_no, 1, 'the number from the push answer');
  assert.equal((await dump(t)).outbox.length, 1);
  await t.timers.fire();
  assert.equal((await dump(t)).outbox.length, 0);
});

test('seq_gap after the server was restored: what the tablet still holds is sent again, renumbered, nothing doubled', async () => {
  const t = await tablet();
  await t.store.registerAppeal(registration()); // seq 1
  await t.sync.start();
  const backup = t.server.snapshot(); // last_seq 1
  await t.store.registerAppeal(registration()); // seq 2: acknowledged, but the pull never comes
  t.server.failNext('pull', 'offline');
  await t.sync.syncNow();
  assert.equal(t.server.appealList().length, 2);
  t.server.restore(backup); // seq 2's letter is lost on the server
  await t.store.registerAppeal(registration()); // seq 3
  const result = await t.sync.syncNow();
  assert.equal(result.ok, true);
  const serverSeqs = Object.values(t.server.data.devices)[0];
  assert.equal(serverSeqs.last_seq, 3);
  assert.equal(t.server.appealList().length, 3, 'the lost letter came back, nothing doubled');
  assert.deepEqual(serials(await t.store.listAppeals()), [1, 2, 3]);
});

test('seq_gap when the tablet holds nothing at last_seq + 1: pending mutations are renumbered, ids kept', async () => {
  const t = await tablet();
  await t.store.registerAppeal(registration());
  await t.sync.start();
  const backup = t.server.snapshot();
  await t.store.registerAppeal(registration());
  await t.sync.syncNow(); // acknowledged and pulled: the tablet no longer holds seq 2
  t.server.restore(backup);
  const pending = await t.store.registerAppeal(registration()); // seq 3
  const { id } = (await t.store.pendingMutations())[0];
  const result = await t.sync.syncNow();
  assert.equal(result.ok, true);
  assert.equal(Object.values(t.server.data.devices)[0].last_seq, 2);
  assert.ok(t.server.data.events[id], 'sent as seq 2 under its own id');
  assert.equal((await t.store.getAppeal(pending.id)).serial_no, 2);
  await t.store.registerAppeal(registration());
  assert.deepEqual((await t.store.pendingMutations()).map((m) => m.seq), [3], 'the numbering goes on from the server');
});

test('a rejected mutation goes to "needs attention" and the rest proceed', async () => {
  // The tablet's clock is two days ahead of the school's: its "today" is in the server's future.
  const t = await tablet({ clockStart: '2025-03-12T09:00:00' });
  await t.store.registerAppeal(registration({ received_on: '2025-03-10' }));
  const bad = await t.store.registerAppeal(registration({ received_on: '2025-03-12' }));
  await t.store.registerAppeal(registration({ received_on: '2025-03-11' }));
  await t.sync.start();
  assert.equal(t.server.appealList().length, 2);
  const items = await t.store.attentionItems();
  assert.deepEqual(items.map((i) => [i.mutation.appeal_id, i.result.status, i.result.error]), [[bad.id, 'rejected', 'received_in_future']]);
  assert.ok(t.events.some(([n, d]) => n === 'attention' && d.count === 1));
  assert.equal((await t.store.getAppeal(bad.id)).attention, true);
  assert.equal(await t.store.pendingCount(), 0);
  // The pedagogue corrects the date and sends it again.
  await t.store.resendFromAttention(items[0].id, { ...items[0].mutation.data, received_on: '2025-03-10' });
  await t.sync.syncNow();
  assert.equal(t.server.appealList().length, 3);
  assert.deepEqual(serials(await t.store.listAppeals()), [1, 2, 3]);
  assert.deepEqual(await t.store.attentionItems(), []);
});

test('a 422 naming one mutation sets it aside; the others go through without a gap', async () => {
  const t = await tablet();
  t.server.hooks.malformed = (m) => m.data.summary?.includes('SERVER-REFUSES');
  await t.store.registerAppeal(registration());
  const bad = await t.store.registerAppeal(registration({ summary: 'SERVER-REFUSES this' }));
  await t.store.registerAppeal(registration());
  const result = await t.sync.start();
  assert.equal(result.ok, true);
  assert.equal(t.server.appealList().length, 2);
  const [item] = await t.store.attentionItems();
  assert.equal(item.mutation.appeal_id, bad.id);
  assert.deepEqual(item.result, { status: 'rejected', error: 'validation_error', fields: { data: { summary: ['server_says_no'] } } });
  assert.equal(Object.values(t.server.data.devices)[0].last_seq, 2);
});

test('a conflict goes to attention; resent against the pulled version it applies', async () => {
  const server = new FakeServer();
  const a = await tablet({ server });
  const view = await a.store.registerAppeal(registration());
  await a.sync.start();
  // Tablet B (same school) corrects it first.
  const b = await tablet({ server });
  await b.sync.start();
  await b.store.amendAppeal(view.id, { category: 'other' }, 'B: category');
  await b.sync.syncNow();
  // A corrects from version 1, unaware.
  await a.store.amendAppeal(view.id, { urgent: true }, 'A: urgent');
  await a.sync.syncNow();
  const [item] = await a.store.attentionItems();
  assert.equal(item.result.status, 'conflict');
  assert.equal(item.result.version, 2);
  const shown = await a.store.getAppeal(view.id);
  assert.equal(shown.category, 'other', 'the pull brought version 2');
  assert.equal(shown.urgent, false);
  await a.store.resendFromAttention(item.id);
  await a.sync.syncNow();
  const final = await a.store.getAppeal(view.id);
  assert.equal(final.version, 3);
  assert.equal(final.urgent, true);
  assert.equal(final.category, 'other');
  assert.deepEqual(final.history.map((h) => h.reason), [null, 'B: category', 'A: urgent']);
});

test('401 stops the loop and asks for a login; the outbox waits; after a login with device_id it goes on', async () => {
  const t = await tablet();
  await t.store.registerAppeal(registration());
  t.server.expireTokens();
  const result = await t.sync.start();
  assert.equal(result.reason, 'needs-login');
  assert.equal(t.timers.count(), 0, 'no retry of its own');
  const [, detail] = t.events.find(([n]) => n === 'needs-login');
  assert.equal(detail.code, 'invalid_token');
  assert.equal(t.sync.state().phase, 'needs-login');
  assert.equal(await t.store.pendingCount(), 1);
  // Triggers after it neither knock with the refused token again nor ask again.
  const calls = t.server.calls.length;
  assert.equal((await t.sync.syncNow()).reason, 'needs-login');
  assert.equal(t.server.calls.length, calls);
  assert.equal(t.events.filter(([n]) => n === 'needs-login').length, 1);
  const session = await t.store.getSession();
  const again = await t.server.login({ username: 'pedagogue', password: PASSWORD, device_name: 'Tablet', device_id: session.device_id });
  assert.equal(again.device_id, session.device_id);
  await t.store.saveSession({ ...session, token: again.token });
  assert.equal((await t.sync.syncNow()).ok, true);
  assert.equal(t.server.appealList().length, 1);
});

test('a logged-out tablet does not sync and says a login is needed', async () => {
  const t = await tablet();
  await t.store.forgetToken();
  const result = await t.sync.start();
  assert.equal(result.reason, 'needs-login');
  assert.deepEqual(t.server.calls, ['login']);
});

test('device_revoked: acknowledged rows go with the pulled journal; enrolled anew, the unsent is renumbered from 1', async () => {
  const t = await tablet();
  await t.store.registerAppeal(registration());
  t.server.failNext('pull', 'offline');
  await t.sync.start(); // pushed (acknowledged), not yet pulled
  await t.store.registerAppeal(registration());
  t.server.revoke(t.login.device_id);
  assert.equal((await t.sync.syncNow()).reason, 'needs-login');
  const session = await t.store.getSession();
  const refused = await t.server.login({ username: 'pedagogue', password: PASSWORD, device_name: 'Tablet', device_id: session.device_id }).catch((e) => e);
  assert.equal(refused.code, 'device_revoked');
  const fresh = await t.server.login({ username: 'pedagogue', password: PASSWORD, device_name: 'Tablet' });
  await t.store.saveSession({ ...session, token: fresh.token, device_id: fresh.device_id });
  assert.deepEqual((await t.store.pendingMutations()).map((m) => m.seq), [1]);
  assert.equal((await t.sync.syncNow()).ok, true);
  assert.equal(t.server.appealList().length, 2);
  assert.equal((await t.store.listAppeals()).length, 2, 'pulled again from 0');
  assert.equal(t.server.data.devices[fresh.device_id].last_seq, 1);
  assert.equal(t.server.data.devices[fresh.device_id].receipts[1].status, 'applied');
});

test('network errors and 5xx wait with jittered, growing backoff, then recover', async () => {
  const t = await tablet({ random: () => 0.999 });
  await t.store.registerAppeal(registration());
  t.server.failNext('push', 503);
  t.server.failNext('push', 500);
  t.server.failNext('push', 'offline');
  let result = await t.sync.start();
  assert.equal(result.reason, 'retry');
  assert.deepEqual(t.timers.delays(), [1998]);
  let state = t.sync.state();
  assert.equal(state.phase, 'waiting');
  assert.equal(state.online, true, 'a 5xx is an answer: the server is reachable');
  assert.ok(state.error instanceof HttpError);
  await t.timers.fire();
  assert.deepEqual(t.timers.delays(), [3996]);
  await t.timers.fire();
  assert.deepEqual(t.timers.delays(), [7992]);
  state = t.sync.state();
  assert.equal(state.online, false);
  assert.ok(state.error instanceof NetworkError);
  await t.timers.fire();
  assert.equal(t.timers.count(), 0);
  assert.equal(t.server.appealList().length, 1);
  assert.equal(t.sync.state().phase, 'idle');
  assert.equal(t.sync.state().error, null);
  // Recovered: the next failure starts from the bottom again.
  await t.store.registerAppeal(registration());
  t.server.failNext('push', 'offline');
  result = await t.sync.syncNow();
  assert.deepEqual(t.timers.delays(), [1998]);
  t.sync.stop();
  assert.equal(t.timers.count(), 0, 'stop cancels the retry');
});

test('a 4xx that waiting will not fix is reported, not retried', async () => {
  const t = await tablet();
  await t.store.registerAppeal(registration());
  t.server.failNext('push', 403);
  const result = await t.sync.start();
  assert.equal(result.reason, 'error');
  assert.equal(t.sync.state().phase, 'error');
  assert.equal(t.timers.count(), 0);
  assert.equal(await t.store.pendingCount(), 1);
});

test('a push too large in bytes is sent in smaller batches', async () => {
  const t = await tablet();
  t.server.hooks.tooLarge = (body) => body.mutations.length > 2;
  for (let i = 0; i < 5; i += 1) await t.store.registerAppeal(registration());
  assert.equal((await t.sync.start()).ok, true);
  assert.equal(t.server.appealList().length, 5);
});

test('cursor_ahead: the cursor is dropped and everything is pulled again from 0', async () => {
  const t = await tablet();
  await t.store.registerAppeal(registration());
  await t.sync.start();
  await t.store.setMeta('cursor', 999);
  assert.equal((await t.sync.syncNow()).ok, true);
  assert.equal(await t.store.getCursor(), 1);
});

test('pulls page until has_more is false', async () => {
  const t = await tablet({ pullLimit: 2 });
  for (let i = 0; i < 5; i += 1) await t.store.registerAppeal(registration());
  await t.sync.start();
  assert.equal(t.server.calls.filter((c) => c === 'pull').length, 3);
  assert.equal(await t.store.getCursor(), 5);
  assert.deepEqual(serials(await t.store.listAppeals()), [1, 2, 3, 4, 5]);
});

test('one loop at a time: a second call joins the running loop and runs once more after it', async () => {
  const t = await tablet();
  await t.store.registerAppeal(registration());
  await t.sync.start();
  const before = t.server.calls.length;
  const [a, b, c] = [t.sync.syncNow(), t.sync.syncNow(), t.sync.syncNow()];
  assert.equal(a, b);
  assert.equal(b, c);
  await a;
  await new Promise((r) => setTimeout(r, 50));
  const pulls = t.server.calls.slice(before).filter((x) => x === 'pull').length;
  assert.equal(pulls, 2, 'the running loop and one more');
});

test('Web Locks: when another tab holds the sync lock, this tab does not run', async () => {
  let held = false;
  const requests = [];
  const locks = {
    async request(name, options, fn) {
      requests.push([name, options]);
      if (held) return fn(null);
      held = true;
      try { return await fn({ name }); } finally { held = false; }
    },
  };
  const t = await tablet({ locks });
  await t.store.registerAppeal(registration());
  held = true; // another tab
  assert.deepEqual(await t.sync.start(), { ok: false, reason: 'busy' });
  assert.equal(t.server.appealList().length, 0);
  held = false;
  assert.equal((await t.sync.syncNow()).ok, true);
  assert.deepEqual(requests[0], ['ishenim-sync', { ifAvailable: true }]);
});

test('a locked vault pauses the loop without error or retry', async () => {
  const t = await tablet();
  await t.store.registerAppeal(registration());
  t.locked = true;
  const result = await t.sync.start();
  assert.equal(result.reason, 'locked');
  assert.equal(t.sync.state().phase, 'locked');
  assert.equal(t.sync.state().pending, 1);
  assert.equal(t.timers.count(), 0);
});

test('wireTriggers: online, visible again and the timer run the loop; offline shows in the state', () => {
  const calls = [];
  const online = [];
  const listeners = {};
  const target = () => ({
    addEventListener: (type, fn) => { listeners[type] = fn; },
    removeEventListener: (type) => { delete listeners[type]; },
  });
  let interval = null;
  const window = { ...target(), setInterval: (fn, ms) => { interval = { fn, ms }; return 7; }, clearInterval: (id) => { if (id === 7) interval = null; } };
  const document = { ...target(), visibilityState: 'visible' };
  const unwire = wireTriggers({ syncNow: () => calls.push('sync'), setOnline: (v) => online.push(v) }, { window, document, intervalMs: 30_000 });
  listeners.online();
  listeners.offline();
  document.visibilityState = 'hidden';
  listeners.visibilitychange();
  interval.fn();
  document.visibilityState = 'visible';
  listeners.visibilitychange();
  interval.fn();
  assert.deepEqual(calls, ['sync', 'sync', 'sync']);
  assert.deepEqual(online, [true, false]);
  assert.equal(interval.ms, 30_000);
  unwire();
  assert.equal(interval, null);
  assert.deepEqual(Object.keys(listeners), []);
});

test('seq_reused: the mutation waits under "needs attention", and new seqs follow the server\'s last_seq', async () => {
  const t = await tablet();
  // The server holds outcomes up to seq 5 for this device, of mutations this tablet no longer knows.
  const device = t.server.data.devices[t.login.device_id];
  for (let seq = 1; seq <= 5; seq += 1) device.receipts[seq] = { seq, id: crypto.randomUUID(), status: 'rejected', error: 'appeal_not_found', serial_no: null, version: null };
  device.last_seq = 5;
  await t.store.registerAppeal(registration()); // seq 1 here: a replay there
  await t.sync.start();
  const [item] = await t.store.attentionItems();
  assert.equal(item.result.error, 'seq_reused');
  assert.equal(await t.store.getMeta('nextSeq'), 6);
  await t.store.resendFromAttention(item.id); // the same id, at a fresh seq
  assert.deepEqual((await t.store.pendingMutations()).map((m) => [m.seq, m.id]), [[6, item.id]]);
  await t.sync.syncNow();
  assert.equal(t.server.appealList().length, 1);
  assert.equal(await t.store.pendingCount(), 0);
});

test("an admin's tablet keeps no journal: a sync only refreshes the settings, and ends well", async () => {
  const t = await tablet();
  const session = await t.store.getSession();
  await t.store.saveSession({ ...session, user: { ...session.user, role: 'admin' } });
  await t.sync.start();
  assert.deepEqual(t.server.calls.filter((c) => c === 'push' || c === 'pull'), []);
  assert.equal(t.events.filter(([n]) => n === 'state').at(-1)[1].phase, 'idle');
  assert.ok(t.events.some(([n]) => n === 'synced'));
});

test('the settings are asked for beside the push and the pull, not after them (one round trip less on Slow 3G)', async () => {
  const server = new FakeServer();
  const order = [];
  let releasePull;
  const pullHeld = new Promise((resolve) => { releasePull = resolve; });
  // The pull answers only once /me was asked: a loop that asks for the settings after the pull never ends.
  const api = {
    push: (...args) => { order.push('push'); return server.push(...args); },
    pull: async (...args) => { order.push('pull'); await pullHeld; return server.pull(...args); },
    me: (...args) => { order.push('me'); releasePull(); return server.me(...args); },
  };
  const t = await tablet({ server, api });
  await t.store.registerAppeal(registration());
  let timer;
  const outcome = await Promise.race([t.sync.start(), new Promise((resolve) => { timer = setTimeout(resolve, 2000, 'stuck'); })]);
  clearTimeout(timer);
  assert.notEqual(outcome, 'stuck');
  assert.deepEqual(order, ['me', 'push', 'pull']);
  assert.deepEqual(serials(await t.store.listAppeals()), [1]);
  assert.ok(t.events.some(([n]) => n === 'synced'));
});
