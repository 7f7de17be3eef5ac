// vault.js: the waits after wrong passphrases (pure), and the vault itself over an in-memory IndexedDB
// (fake-indexeddb).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { IDBFactory } from 'fake-indexeddb';
import { fakeTimers, manualClock } from './helpers.mjs';
import { openDatabase, read, write } from '../../pwa/js/idb.js';
import { PBKDF2_ITERATIONS, openRecord, sealRecord } from '../../pwa/js/crypto.js';
import {
  Locked, MAX_WAIT_MS, PassphraseTooShort, UnlockWaiting, VaultExists, WrongPassphrase, makeVault, remainingWait, waitAfter,
} from '../../pwa/js/vault.js';

const PASS = 'correct horse battery';

function makeEnv({ iterations = 1_000 } = {}) {
  const factory = new IDBFactory();
  const clock = manualClock();
  const timers = fakeTimers();
  let connection = null;
  const db = () => (connection ??= openDatabase({ factory }));
  const vault = makeVault({ db, now: clock.now, setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, iterations });
  return { factory, clock, timers, db, vault };
}

test('waitAfter: no wait for the first three failures, then doubling from 10 s, capped at 15 minutes', () => {
  assert.deepEqual([0, 1, 2, 3].map(waitAfter), [0, 0, 0, 0]);
  assert.equal(waitAfter(4), 10_000);
  assert.equal(waitAfter(5), 20_000);
  assert.equal(waitAfter(6), 40_000);
  assert.equal(waitAfter(10), 640_000);
  assert.equal(waitAfter(11), MAX_WAIT_MS);
  assert.equal(waitAfter(1000), 15 * 60_000);
  for (let n = 4; n < 40; n += 1) assert.ok(waitAfter(n + 1) >= waitAfter(n));
});

test('remainingWait: a clock moved back cannot stretch the wait', () => {
  assert.equal(remainingWait({ count: 4, until: 1_010_000 }, 1_000_000), 10_000);
  assert.equal(remainingWait({ count: 4, until: 1_010_000 }, 2_000_000), 0);
  assert.equal(remainingWait({ count: 4, until: 1_010_000 }, 0), 10_000); // clock set back a long way
  assert.equal(remainingWait({ count: 0, until: 0 }, 5), 0);
});

test('a new vault is unlocked, its key is not extractable, and a short passphrase is refused', async () => {
  const { vault } = makeEnv();
  assert.equal(await vault.vaultExists(), false);
  await assert.rejects(vault.createVault('short'), PassphraseTooShort);
  await assert.rejects(vault.createVault('😀😀😀😀'), PassphraseTooShort); // 8 UTF-16 units, 4 characters
  assert.equal(await vault.vaultExists(), false);
  await vault.createVault(PASS);
  assert.equal(await vault.vaultExists(), true);
  assert.equal(vault.isUnlocked(), true);
  assert.equal(vault.key().extractable, false);
  await assert.rejects(vault.createVault('another passphrase'), VaultExists);
});

test('the vault stores only the salt, the iterations and the wrapped key; a real vault uses 600,000 iterations', async () => {
  const { vault, db } = makeEnv({ iterations: PBKDF2_ITERATIONS });
  await vault.createVault(PASS);
  const stored = await read(await db(), ['meta'], (s) => s.meta.get('vault'));
  assert.deepEqual(Object.keys(stored).sort(), ['iterations', 'iv', 'salt', 'wrapped']);
  assert.equal(stored.iterations, 600_000);
  assert.equal(stored.salt.length, 16);
  assert.equal(stored.wrapped.length, 32 + 16); // a 256-bit key and the GCM tag
});

test('lock drops the key; unlock with the right passphrase brings the same key back', async () => {
  const { vault } = makeEnv();
  const changes = [];
  vault.onLockChange((locked) => changes.push(locked));
  await vault.createVault(PASS);
  const sealed = await sealRecord(vault.key(), 'appeals', 'x', { letter: 'secret' });
  vault.lock();
  assert.equal(vault.isUnlocked(), false);
  assert.throws(() => vault.key(), Locked);
  await vault.unlock(PASS);
  assert.deepEqual(await openRecord(vault.key(), 'appeals', sealed), { letter: 'secret' });
  assert.deepEqual(changes, [false, true, false]);
});

test('wrong passphrases: free tries, then growing waits; a try during the wait is refused untried; nothing is wiped', async () => {
  const { vault, clock, db } = makeEnv();
  await vault.createVault(PASS);
  // Unsynced work that must survive every failure.
  await write(await db(), ['outbox'], (s) => s.outbox.put({ seq: 1, id: 'm1', appeal_id: 'a1', iv: new Uint8Array(12), ct: new Uint8Array(4) }));
  vault.lock();
  for (let n = 1; n <= 3; n += 1) {
    const error = await vault.unlock('wrong passphrase').catch((e) => e);
    assert.ok(error instanceof WrongPassphrase);
    assert.equal(error.failures, n);
    assert.equal(error.waitMs, 0);
  }
  const fourth = await vault.unlock('wrong passphrase').catch((e) => e);
  assert.ok(fourth instanceof WrongPassphrase);
  assert.equal(fourth.waitMs, 10_000);
  // During the wait even the right passphrase is not tried.
  clock.advance(4_000);
  const waiting = await vault.unlock(PASS).catch((e) => e);
  assert.ok(waiting instanceof UnlockWaiting);
  assert.equal(waiting.waitMs, 6_000);
  assert.equal(vault.isUnlocked(), false);
  assert.deepEqual(await vault.unlockWait(), { failures: 4, waitMs: 6_000 });
  clock.advance(6_000);
  const fifth = await vault.unlock('wrong again!').catch((e) => e);
  assert.equal(fifth.waitMs, 20_000);
  clock.advance(20_000);
  await vault.unlock(PASS);
  assert.equal(vault.isUnlocked(), true);
  assert.deepEqual(await vault.unlockWait(), { failures: 0, waitMs: 0 });
  const rows = await read(await db(), ['outbox'], (s) => s.outbox.getAll());
  assert.equal(rows.length, 1, 'unsynced work is never wiped');
});

test('the failure count survives a reload', async () => {
  const env = makeEnv();
  await env.vault.createVault(PASS);
  env.vault.lock();
  for (let n = 0; n < 4; n += 1) await env.vault.unlock('wrong passphrase').catch(() => {});
  const reloaded = makeVault({ db: env.db, now: env.clock.now, setTimeout: env.timers.setTimeout, clearTimeout: env.timers.clearTimeout });
  await assert.rejects(reloaded.unlock(PASS), UnlockWaiting);
});

test('changePassphrase re-wraps the same local key', async () => {
  const { vault } = makeEnv();
  await vault.createVault(PASS);
  const sealed = await sealRecord(vault.key(), 'appeals', 'x', { letter: 1 });
  await assert.rejects(vault.changePassphrase('not the passphrase', 'new passphrase 2'), WrongPassphrase);
  await assert.rejects(vault.changePassphrase(PASS, 'short'), PassphraseTooShort);
  await vault.changePassphrase(PASS, 'new passphrase 2');
  vault.lock();
  await assert.rejects(vault.unlock(PASS), WrongPassphrase);
  await vault.unlock('new passphrase 2');
  assert.deepEqual(await openRecord(vault.key(), 'appeals', sealed), { letter: 1 });
  assert.equal(vault.key().extractable, false);
});

test('the idle lock: activity postpones it; idle time locks; a tablet that slept locks on the next touch', async () => {
  const { vault, clock, timers } = makeEnv();
  const changes = [];
  vault.onLockChange((locked) => changes.push(locked));
  await vault.createVault(PASS);
  vault.armIdleLock(10);
  clock.advance(9 * 60_000);
  vault.touch();
  clock.advance(9 * 60_000);
  await timers.fire(); // a timer armed earlier fires early: the clock says not yet
  assert.equal(vault.isUnlocked(), true);
  clock.advance(60_000);
  await timers.fire();
  assert.equal(vault.isUnlocked(), false);
  assert.deepEqual(changes, [false, true]);

  await vault.unlock(PASS);
  clock.advance(11 * 60_000); // asleep: no timer ran
  vault.touch();
  assert.equal(vault.isUnlocked(), false);
});

test('a try is counted before the passphrase is derived, so a reload in the middle cannot skip it', async () => {
  // The real iteration count makes the derivation slow enough to look at the store while it runs.
  const { vault, db } = makeEnv({ iterations: PBKDF2_ITERATIONS });
  await vault.createVault(PASS);
  vault.lock();
  let settled = false;
  const attempt = vault.unlock('wrong passphrase').catch((e) => e).finally(() => { settled = true; });
  // Abandon the page mid-try: what is stored already counts the try.
  let during;
  while (!settled && !(during = await read(await db(), ['meta'], (s) => s.meta.get('failures')))?.count) {
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.equal(settled, false, 'counted while the passphrase was still being derived');
  assert.equal(during.count, 1);
  assert.ok((await attempt) instanceof WrongPassphrase);
  await vault.unlock(PASS);
  assert.deepEqual(await read(await db(), ['meta'], (s) => s.meta.get('failures')), { count: 0, until: 0 });
});
