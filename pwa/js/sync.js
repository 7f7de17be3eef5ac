/**
 * The sync loop: push the outbox in seq order, then send the letters opened on this tablet to the audit,
 * then pull the school's changes, then refresh the school's settings. One loop at a time across tabs (Web
 * Locks). Network errors and 5xx wait with full-jitter backoff and try again; a 401 stops and asks for a
 * login; a 401 that withdraws the tablet's access (`device_revoked`, `account_disabled`) first makes the
 * store forget what was pulled (store/access.js); the UI hears everything through events.
 *
 * Events: 'state' {online, pending, lastSync, phase, sent, total, error, retryAt}, 'sending' {sent, total},
 * 'needs-login' {code, error}, 'withdrawn' {code}, 'attention' {count}, 'session' {school, user},
 * 'synced' {lastSync}.
 * Phases: 'idle', 'sending', 'receiving', 'waiting' (backoff), 'locked', 'needs-login', 'error'.
 */
import { HttpError, NetworkError, isWithdrawal } from './api.js';
import { Locked } from './vault.js';
import { MAX_MUTATIONS_PER_PUSH } from './vocabulary.js';

export const LOCK_NAME = 'ishenim-sync';
export const BATCH_SIZE = MAX_MUTATIONS_PER_PUSH;
export const PULL_LIMIT = 200;
export const VIEWS_PER_REQUEST = 500;
export const BACKOFF_BASE_MS = 2_000;
export const BACKOFF_CAP_MS = 5 * 60_000;
const MAX_SEQ_GAPS = 3; // a gap repaired by renumbering cannot come back; more means something else is wrong

/**
 * The wait before retry number `attempt` (1, 2, …): full jitter, a uniform draw in [0, min(cap, base·2^(attempt−1))).
 * @param {number} attempt
 * @param {() => number} random in [0, 1)
 */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Whether a failure is worth retrying by itself: no answer, or the server's own trouble. */
export function isTransient(error) {
  return error instanceof NetworkError || (error instanceof HttpError && (error.status >= 500 || error.status === 429 || error.status === 408));
}

/** The indexes a 422 names under `fields.mutations` ({"1": {...}}), or [] when it names none. */
function namedIndexes(error, length) {
  const named = error.body?.fields?.mutations;
  if (typeof named !== 'object' || named === null || Array.isArray(named)) return [];
  return Object.keys(named).filter((k) => /^\d+$/.test(k)).map(Number).filter((i) => i < length).sort((a, b) => a - b);
}

class Stopped extends Error {}

/**
 * @param {{store: object, api: object, locks?: LockManager|null, now?: () => number, random?: () => number,
 *          setTimeout?: Function, clearTimeout?: Function, batchSize?: number, pullLimit?: number}} deps
 * @returns {{syncNow: () => Promise<object>, start: () => Promise<object>, stop: () => void,
 *            on: (event: string, cb: Function) => () => void, setOnline: (online: boolean) => void, state: () => object}}
 */
export function createSync({
  store, api, locks = globalThis.navigator?.locks ?? null, now = () => Date.now(), random = Math.random,
  setTimeout = globalThis.setTimeout, clearTimeout = globalThis.clearTimeout, batchSize = BATCH_SIZE, pullLimit = PULL_LIMIT,
  viewsPerRequest = VIEWS_PER_REQUEST,
}) {
  const listeners = new Map();
  const state = {
    online: globalThis.navigator?.onLine ?? true, pending: 0, lastSync: null, phase: 'idle', sent: 0, total: 0, error: null,
    retryAt: null,
  };
  let started = false;
  let current = null; // this page's running loop
  let again = false; // a trigger came while it ran: run once more
  let attempt = 0; // consecutive transient failures
  let retryTimer = null;
  let rejectedToken = null; // the token a 401 refused

  function emit(event, detail) {
    for (const cb of listeners.get(event) ?? []) {
      try { cb(detail); } catch { /* a listener's bug must not break the loop */ }
    }
  }

  function setState(changes) {
    Object.assign(state, changes);
    emit('state', { ...state });
  }

  function checkRunning() {
    if (!started) throw new Stopped();
  }

  async function pushAll(session) {
    let sent = 0;
    let total = await store.pendingCount();
    let size = batchSize;
    let gaps = 0;
    for (;;) {
      checkRunning();
      const batch = await store.pendingMutations(size);
      if (!batch.length) return;
      total = Math.max(total, sent + (await store.pendingCount()));
      setState({ phase: 'sending', sent, total, pending: total - sent });
      emit('sending', { sent, total });
      let answer;
      try {
        answer = await api.push(session.token, { device_id: session.device_id, mutations: batch });
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        if (error.status === 409 && error.code === 'seq_gap' && Number.isSafeInteger(error.body?.last_seq) && gaps < MAX_SEQ_GAPS) {
          // Nothing was applied. Send what is held after last_seq again, numbered on from it (§5.6).
          gaps += 1;
          await store.renumberPending(error.body.last_seq + 1);
          continue;
        }
        const named = error.status === 422 ? namedIndexes(error, batch.length) : [];
        if (named.length) {
          // Malformed mutations can never pass: set them aside so they cannot jam the queue. The seqs they
          // leave free are closed by the seq_gap repair above.
          for (const i of named) {
            await store.moveToAttention(batch[i], { status: 'rejected', error: 'validation_error', fields: error.body.fields.mutations[String(i)] });
          }
          emit('attention', { count: named.length });
          continue;
        }
        if (error.status === 413 && batch.length > 1) {
          size = Math.max(1, Math.floor(batch.length / 2)); // under the byte limit in smaller pieces
          continue;
        }
        if (error.status === 413) {
          await store.moveToAttention(batch[0], { status: 'rejected', error: error.code ?? 'payload_too_large' });
          emit('attention', { count: 1 });
          continue;
        }
        throw error;
      }
      gaps = 0;
      if (!Array.isArray(answer?.results) || answer.results.length !== batch.length) throw new Error('The push answer does not match the batch.');
      const settled = await store.applyPushResults(batch, answer.results);
      if (Number.isSafeInteger(answer.last_seq)) await store.noteServerSeq(answer.last_seq);
      if (settled?.attention) emit('attention', { count: settled.attention });
      sent += batch.length;
      setState({ online: true, sent, total, pending: await store.pendingCount() });
      emit('sending', { sent, total });
    }
  }

  /**
   * The letters opened on this tablet, to the server's audit. What it recorded, or refused (a reused id, a
   * letter it does not know, a time ahead of its clock), leaves the log: a refusal never changes by
   * sending again, and none may jam the log. Only how many were refused is said, never which letters.
   */
  async function sendViews(session) {
    let refusedCount = 0;
    for (;;) {
      checkRunning();
      const views = await store.unsentViews(viewsPerRequest);
      if (!views.length) break;
      let answer;
      try {
        answer = await api.recordViews(session.token, views);
      } catch (error) {
        // A batch the server cannot read never will be: let it go rather than hold the journal back.
        if (!(error instanceof HttpError && error.status === 422)) throw error;
        answer = { recorded: [], refused: views.map((view) => ({ id: view.id, error: error.code })) };
      }
      const sent = new Set(views.map((view) => view.id));
      const recorded = (answer?.recorded ?? []).filter((id) => sent.has(id));
      const refused = (answer?.refused ?? []).map((item) => item?.id).filter((id) => sent.has(id));
      refusedCount += refused.length;
      await store.forgetViews([...recorded, ...refused]);
      if (recorded.length + refused.length < views.length) break; // the rest another time
    }
    if (refusedCount) console.warn(`audit: ${refusedCount} letter view(s) refused by the server and dropped`);
  }

  async function pullAll(session) {
    setState({ phase: 'receiving' });
    let cursor = await store.getCursor();
    let restarted = false;
    for (;;) {
      checkRunning();
      let page;
      try {
        page = await api.pull(session.token, cursor, pullLimit);
      } catch (error) {
        if (error instanceof HttpError && error.status === 409 && error.code === 'cursor_ahead' && !restarted) {
          // The server was restored from an older backup: pull everything again; the outbox is kept.
          restarted = true;
          await store.resetCursor();
          cursor = 0;
          continue;
        }
        throw error;
      }
      await store.applyPull(page.changes, page.cursor, { calendar: page.calendar, chain: page.chain }); // cursor with its page
      const advanced = page.cursor !== cursor;
      cursor = page.cursor;
      if (!page.has_more || !advanced) return;
    }
  }

  /** @param {Promise<object>} asked the `GET /me` started with the loop (see `loop`) */
  async function refreshSettings(session, asked) {
    checkRunning();
    const me = await asked;
    const latest = await store.getSession();
    if (!latest || latest.token !== session.token) return; // logged out or in again meanwhile
    const next = { ...latest, school: me.school, user: { ...latest.user, ...me.user } };
    if (JSON.stringify(next) === JSON.stringify(latest)) return;
    await store.saveSession(next);
    emit('session', { school: next.school, user: next.user });
  }

  function scheduleRetry(error) {
    attempt += 1;
    const delay = backoffDelay(attempt, random);
    const retryAt = now() + delay;
    if (retryTimer !== null) clearTimeout(retryTimer);
    retryTimer = started ? setTimeout(() => {
      retryTimer = null;
      return syncNow();
    }, delay) : null;
    setState({ phase: 'waiting', error, retryAt: started ? retryAt : null, online: !(error instanceof NetworkError) });
    return { ok: false, reason: 'retry', error, delay };
  }

  // Said once when it happens, not on every trigger after it; the state keeps saying it.
  function needsLogin(code, error) {
    const fresh = state.phase !== 'needs-login';
    setState({ phase: 'needs-login', error, online: error ? true : state.online });
    if (fresh) emit('needs-login', { code, error });
    return { ok: false, reason: 'needs-login', error };
  }

  async function failed(error, token) {
    if (error instanceof Stopped) {
      setState({ phase: 'idle' });
      return { ok: false, reason: 'stopped' };
    }
    const pending = await store.pendingCount().catch(() => state.pending);
    state.pending = pending;
    if (error instanceof Locked) {
      setState({ phase: 'locked' });
      return { ok: false, reason: 'locked' };
    }
    if (error instanceof HttpError && error.status === 401) {
      rejectedToken = token;
      if (isWithdrawal(error)) {
        // The admin revoked this tablet, or the account was disabled: what was pulled goes, the unsent stays.
        await store.forgetPulled(error.code);
        emit('withdrawn', { code: error.code });
      }
      return needsLogin(error.code, error);
    }
    if (isTransient(error)) return scheduleRetry(error);
    // A refusal that waiting will not fix (403, an unexpected 4xx, a bug): say so; the next trigger tries again.
    setState({ phase: 'error', error, online: error instanceof HttpError ? true : state.online });
    return { ok: false, reason: 'error', error };
  }

  async function loop() {
    if (retryTimer !== null) clearTimeout(retryTimer);
    retryTimer = null;
    let session = null;
    try {
      session = await store.getSession();
      if (!session?.token || session.token === rejectedToken) {
        // No token, or one the server refused: no request until a login brings a new one.
        state.pending = await store.pendingCount();
        return needsLogin(session?.token ? 'invalid_token' : 'missing_token', state.error);
      }
      state.error = null;
      // The settings are asked for at once, beside the push and the pull: they need only the token, and on
      // a 2 s round trip a third request in a row costs the user 2 s more of "syncing". A failure of it is
      // met when it is awaited; until then it is caught here, so a push that fails first leaves no
      // unhandled rejection.
      const me = api.me(session.token);
      me.catch(() => {});
      // The admin runs accounts and settings and keeps no journal (the server refuses its pull): for that
      // role a sync only refreshes the school's settings.
      if (session.user?.role !== 'admin') {
        await pushAll(session);
        // The letters opened go to the audit beside the pull, not before it: on a 2 s round trip one more
        // request in a row would be 2 s more before the journal's numbers come.
        const viewsSent = sendViews(session);
        viewsSent.catch(() => {});
        await pullAll(session);
        await viewsSent;
      }
      await refreshSettings(session, me);
      attempt = 0;
      const lastSync = new Date(now()).toISOString();
      await store.setMeta('lastSync', lastSync);
      setState({
        online: true, phase: 'idle', error: null, retryAt: null, sent: 0, total: 0, lastSync, pending: await store.pendingCount(),
      });
      emit('synced', { lastSync });
      return { ok: true };
    } catch (error) {
      return failed(error, session?.token);
    }
  }

  function runExclusive() {
    if (!locks) return loop();
    return locks.request(LOCK_NAME, { ifAvailable: true }, (lock) => (lock ? loop() : { ok: false, reason: 'busy' }));
  }

  /** Run the loop now (or once more after the running one). @returns {Promise<{ok: boolean, reason?: string}>} */
  function syncNow() {
    if (!started) return Promise.resolve({ ok: false, reason: 'stopped' });
    if (current) {
      again = true;
      return current;
    }
    current = runExclusive().finally(() => {
      current = null;
      if (again && started) {
        again = false;
        syncNow();
      }
    });
    return current;
  }

  return {
    syncNow,

    /** Start syncing (now, and by retry timers); the triggers come from `wireTriggers`. */
    async start() {
      started = true;
      state.lastSync = (await store.getMeta('lastSync').catch(() => null)) ?? state.lastSync;
      return syncNow();
    },

    /** Stop: no more retries; a running loop ends after its current request. */
    stop() {
      started = false;
      again = false;
      if (retryTimer !== null) clearTimeout(retryTimer);
      retryTimer = null;
    },

    /**
     * @param {string} event
     * @param {(detail: object) => void} cb
     * @returns {() => void} unsubscribe
     */
    on(event, cb) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(cb);
      return () => listeners.get(event).delete(cb);
    },

    /** The browser's word on connectivity (the 'online'/'offline' events). */
    setOnline(online) {
      if (online === state.online) return;
      if (online) attempt = 0; // back online: the next failure starts the backoff from the bottom
      setState({ online });
    },

    /** @returns {object} a copy of the current state */
    state: () => ({ ...state }),
  };
}

/**
 * Run the loop on the events that matter: back online, the page shown again, and a timer while visible.
 * @param {{syncNow: Function, setOnline?: Function}} sync
 * @param {{window: Window, document: Document, intervalMs?: number}} env
 * @returns {() => void} unwire
 */
export function wireTriggers(sync, { window, document, intervalMs = 60_000 }) {
  const onOnline = () => {
    sync.setOnline?.(true);
    sync.syncNow();
  };
  const onOffline = () => sync.setOnline?.(false);
  const onVisibility = () => {
    if (document.visibilityState === 'visible') sync.syncNow();
  };
  const timer = window.setInterval(() => {
    if (document.visibilityState !== 'hidden') sync.syncNow();
  }, intervalMs);
  window.addEventListener('online', onOnline);
  window.addEventListener('offline', onOffline);
  document.addEventListener('visibilitychange', onVisibility);
  return () => {
    window.clearInterval(timer);
    window.removeEventListener('online', onOnline);
    window.removeEventListener('offline', onOffline);
    document.removeEventListener('visibilitychange', onVisibility);
  };
}
