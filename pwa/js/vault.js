/**
 * The lock. A passphrase (at least 8 characters) derives the key that wraps the random local key; the
 * unwrapped local key lives only in this module's memory. Wrong passphrases make the next try wait longer;
 * nothing here ever deletes data, so unsynced work survives any number of wrong tries.
 */
import { database, read, write } from './idb.js';
import {
  PBKDF2_ITERATIONS, SALT_BYTES, WrongPassphrase, createLocalKey, deriveWrappingKey, randomBytes, unwrapLocalKey,
  wrapLocalKey,
} from './crypto.js';

export { WrongPassphrase } from './crypto.js';

export const MIN_PASSPHRASE_LENGTH = 8;
/** Failures that cost no wait (typos happen). */
export const FREE_FAILURES = 3;
export const FIRST_WAIT_MS = 5_000;
export const MAX_WAIT_MS = 15 * 60_000;

/** The vault is locked: nothing sealed can be read or written until the passphrase is entered. */
export class Locked extends Error {
  constructor() {
    super('The app is locked.');
    this.name = 'Locked';
    this.code = 'locked';
  }
}

/** A new passphrase is too short. */
export class PassphraseTooShort extends Error {
  constructor() {
    super(`A passphrase has at least ${MIN_PASSPHRASE_LENGTH} characters.`);
    this.name = 'PassphraseTooShort';
    this.code = 'passphrase_too_short';
    this.minLength = MIN_PASSPHRASE_LENGTH;
  }
}

/** An unlock tried during the wait after wrong passphrases; it was not even tried. */
export class UnlockWaiting extends Error {
  constructor(waitMs) {
    super('Wait before trying the passphrase again.');
    this.name = 'UnlockWaiting';
    this.code = 'unlock_waiting';
    this.waitMs = waitMs;
  }
}

/** `createVault` on a device that has a vault already: it is never replaced (it holds unsynced work). */
export class VaultExists extends Error {
  constructor() {
    super('This device has a vault already.');
    this.name = 'VaultExists';
    this.code = 'vault_exists';
  }
}

/** No vault on this device yet. */
export class NoVault extends Error {
  constructor() {
    super('This device has no vault yet.');
    this.name = 'NoVault';
    this.code = 'no_vault';
  }
}

/**
 * How long the next try must wait after `failures` wrong passphrases in a row: nothing for the first 3,
 * then 2^(n-3) × 5 s (10 s, 20 s, 40 s, …), at most 15 minutes.
 * @param {number} failures
 * @returns {number} milliseconds
 */
export function waitAfter(failures) {
  if (failures <= FREE_FAILURES) return 0;
  return Math.min(MAX_WAIT_MS, 2 ** (failures - FREE_FAILURES) * FIRST_WAIT_MS);
}

/**
 * What is left of the wait, given the stored failures and the clock. A clock moved back cannot stretch the
 * wait beyond what the failures earned.
 * @param {{count: number, until: number}} failures
 * @param {number} now ms since the epoch
 */
export function remainingWait({ count, until }, now) {
  return Math.max(0, Math.min(until - now, waitAfter(count)));
}

const codePoints = (text) => [...text].length;

/**
 * A vault over a database (tests pass their own; the app uses the module-level functions below, which are
 * this factory's methods over the page's database).
 * @param {{db?: () => Promise<IDBDatabase>, now?: () => number, setTimeout?: Function, clearTimeout?: Function,
 *          iterations?: number}} [deps]
 */
export function makeVault({
  db = database, now = () => Date.now(), setTimeout = globalThis.setTimeout, clearTimeout = globalThis.clearTimeout,
  iterations = PBKDF2_ITERATIONS,
} = {}) {
  let localKey = null;
  const listeners = new Set();
  let idleMs = 0;
  let idleTimer = null;
  let lastActivity = 0;
  let queue = Promise.resolve(); // one unlock or passphrase change at a time, so failures count exactly

  const getMeta = async (name) => read(await db(), ['meta'], (s) => s.meta.get(name));
  const setMeta = async (entries) => write(await db(), ['meta'], async (s) => {
    for (const [name, value] of Object.entries(entries)) await s.meta.put(value, name);
  });
  const serial = (fn) => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  };

  function emit() {
    const locked = localKey === null;
    for (const cb of listeners) {
      try { cb(locked); } catch { /* one listener must not stop the others */ }
    }
  }

  function open(key) {
    localKey = key;
    lastActivity = now();
    armTimer();
    emit();
  }

  function armTimer() {
    if (idleTimer !== null) clearTimeout(idleTimer);
    idleTimer = null;
    if (localKey && idleMs > 0) idleTimer = setTimeout(checkIdle, idleMs - (now() - lastActivity));
  }

  // Timers sleep with the tablet, so the clock decides, not the timer alone.
  function checkIdle() {
    idleTimer = null;
    if (!localKey || idleMs <= 0) return;
    if (now() - lastActivity >= idleMs) vault.lock();
    else armTimer();
  }

  /** Open the wrapped key with a passphrase, counting failures and refusing tries during the wait. */
  async function tryPassphrase(passphrase, { extractable = false } = {}) {
    const stored = await getMeta('vault');
    if (!stored) throw new NoVault();
    const failures = (await getMeta('failures')) ?? { count: 0, until: 0 };
    const wait = remainingWait(failures, now());
    if (wait > 0) throw new UnlockWaiting(wait);
    // Counted as a failure before trying: a reload or another tab during the slow derivation cannot skip it.
    const counted = { count: failures.count + 1, until: now() + waitAfter(failures.count + 1) };
    await setMeta({ failures: counted });
    const wrappingKey = await deriveWrappingKey(passphrase, stored.salt, stored.iterations);
    try {
      const key = await unwrapLocalKey(stored, wrappingKey, { extractable });
      await setMeta({ failures: { count: 0, until: 0 } });
      return key;
    } catch (error) {
      if (!(error instanceof WrongPassphrase)) throw error;
      error.failures = counted.count;
      error.waitMs = remainingWait(counted, now());
      throw error;
    }
  }

  async function wrapUnder(passphrase, key) {
    const salt = randomBytes(SALT_BYTES);
    const wrappingKey = await deriveWrappingKey(passphrase, salt, iterations);
    return { stored: { salt, iterations, ...(await wrapLocalKey(key, wrappingKey)) }, wrappingKey };
  }

  function checkLength(passphrase) {
    if (typeof passphrase !== 'string' || codePoints(passphrase) < MIN_PASSPHRASE_LENGTH) throw new PassphraseTooShort();
  }

  const vault = {
    /** @returns {Promise<boolean>} whether this device has a vault */
    async vaultExists() {
      return Boolean(await getMeta('vault'));
    },

    /**
     * Create the vault: a new random local key wrapped under the passphrase. Leaves the vault unlocked.
     * @param {string} passphrase at least 8 characters
     * @throws {PassphraseTooShort|VaultExists}
     */
    createVault: (passphrase) => serial(async () => {
      checkLength(passphrase);
      if (await getMeta('vault')) throw new VaultExists();
      const { stored, wrappingKey } = await wrapUnder(passphrase, await createLocalKey());
      // Check again inside the write: another tab may have created one meanwhile; never overwrite it.
      await write(await db(), ['meta'], async (s) => {
        if (await s.meta.get('vault')) throw new VaultExists();
        await s.meta.put(stored, 'vault');
        await s.meta.put({ count: 0, until: 0 }, 'failures');
      });
      open(await unwrapLocalKey(stored, wrappingKey)); // the non-extractable copy is the one kept
    }),

    /**
     * Unlock with the passphrase.
     * @param {string} passphrase
     * @throws {WrongPassphrase} with `failures` and `waitMs` (the wait this failure imposed, 0 for the first 3)
     * @throws {UnlockWaiting} with `waitMs` left, when called during a wait (the passphrase is not tried)
     */
    unlock: (passphrase) => serial(async () => {
      open(await tryPassphrase(passphrase));
    }),

    /**
     * Wrap the same local key under a new passphrase. The old one must be right (it counts as a try).
     * @param {string} oldPassphrase
     * @param {string} newPassphrase
     */
    changePassphrase: (oldPassphrase, newPassphrase) => serial(async () => {
      checkLength(newPassphrase);
      const extractable = await tryPassphrase(oldPassphrase, { extractable: true });
      const { stored } = await wrapUnder(newPassphrase, extractable);
      await setMeta({ vault: stored, failures: { count: 0, until: 0 } });
    }),

    /** Forget the key: everything sealed is unreadable until the next unlock. Nothing is deleted. */
    lock() {
      const wasOpen = localKey !== null;
      localKey = null;
      if (idleTimer !== null) clearTimeout(idleTimer);
      idleTimer = null;
      if (wasOpen) emit();
    },

    /** @returns {boolean} */
    isUnlocked: () => localKey !== null,

    /**
     * Be told when the vault locks or unlocks.
     * @param {(locked: boolean) => void} cb
     * @returns {() => void} unsubscribe
     */
    onLockChange(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },

    /**
     * Lock after `minutes` without activity (the school's setting); 0 turns the idle lock off.
     * @param {number} minutes
     */
    armIdleLock(minutes) {
      idleMs = Math.max(0, Number(minutes) || 0) * 60_000;
      lastActivity = now();
      armTimer();
    },

    /** The user did something: the idle time starts again (unless it ran out while the tablet slept). */
    touch() {
      if (!localKey) return;
      if (idleMs > 0 && now() - lastActivity >= idleMs) {
        vault.lock();
        return;
      }
      lastActivity = now();
      armTimer();
    },

    /**
     * Wait for the next try after wrong passphrases, for the unlock screen to count down.
     * @returns {Promise<{failures: number, waitMs: number}>}
     */
    async unlockWait() {
      const failures = (await getMeta('failures')) ?? { count: 0, until: 0 };
      return { failures: failures.count, waitMs: remainingWait(failures, now()) };
    },

    /**
     * The local key, for store.js.
     * @returns {CryptoKey}
     * @throws {Locked}
     */
    key() {
      if (!localKey) throw new Locked();
      return localKey;
    },
  };
  return vault;
}

// The app's vault, over the page's database connection.
export const {
  vaultExists, createVault, unlock, changePassphrase, lock, isUnlocked, onLockChange, armIdleLock, touch, unlockWait, key,
} = makeVault();
