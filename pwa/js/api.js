/**
 * `fetch` wrappers for /api/v1/… (same origin only). Failures become two typed errors: `NetworkError` when
 * no answer came (offline, timeout, connection dropped) and `HttpError` for an answer ≥ 400 with the
 * server's stable code. Bodies are never logged: they may carry letters or tokens.
 *
 * A 401 that withdraws this tablet's access (`device_revoked`, `account_disabled`) at any call made with a
 * token is also told to the `onWithdrawn` listener, so the session forgets what was pulled whichever
 * screen asked (docs/PWA.md, "Access withdrawn").
 */

export const DEFAULT_TIMEOUT_MS = 30_000;
// The receipt-code check runs while a letter is being saved: on a poor network the save goes on without it
// (the server checks again when the letter is sent), so it waits a few seconds, not the usual half minute.
export const RECEIPT_CHECK_TIMEOUT_MS = 4_000;

/** The 401 codes that withdraw this tablet's access: it forgets what it pulled. */
export const WITHDRAWN_CODES = new Set(['device_revoked', 'account_disabled']);

/** Whether an error is a 401 withdrawing this tablet's access. */
export function isWithdrawal(error) {
  return error instanceof HttpError && error.status === 401 && WITHDRAWN_CODES.has(error.code);
}

/** No answer from the server: offline, a timeout or a dropped connection. Retrying is always safe. */
export class NetworkError extends Error {
  constructor(reason = 'network') {
    super(`No answer from the server (${reason}).`);
    this.name = 'NetworkError';
    this.code = 'network';
    this.reason = reason;
  }
}

/**
 * The server answered with a status ≥ 400; `code` is its stable `error` (PROTOCOL.md §3), or null.
 * `retryAfter` is the whole seconds of a `Retry-After` header (a 429 `too_many_attempts`), or null.
 */
export class HttpError extends Error {
  constructor(status, body, retryAfter = null) {
    const code = typeof body?.error === 'string' ? body.error : null;
    super(`HTTP ${status}${code ? ` ${code}` : ''}`); // never the body's text
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

/**
 * Seconds to wait from a `Retry-After` header: delta-seconds (what the server sends) or an HTTP date.
 * @param {string|null|undefined} value
 * @param {number} [now] milliseconds since the epoch
 * @returns {number|null} whole seconds, at least 1, or null when absent or unreadable
 */
export function retryAfterSeconds(value, now = Date.now()) {
  const text = typeof value === 'string' ? value.trim() : '';
  if (!text) return null;
  if (/^\d+$/.test(text)) return Math.max(1, Number(text));
  if (!/^[A-Za-z]{3}/.test(text)) return null; // every HTTP-date begins with the day's name
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(1, Math.ceil((at - now) / 1000));
}

/**
 * An API client over a `fetch` (tests pass their own).
 * @param {{fetch?: typeof fetch, baseUrl?: string, timeoutMs?: number}} [options]
 */
export function createApi({ fetch = globalThis.fetch.bind(globalThis), baseUrl = '', timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  let withdrawnListener = null;

  async function call(method, path, options = {}) {
    try {
      return await send(method, path, options);
    } catch (error) {
      if (options.token && withdrawnListener && isWithdrawal(error)) {
        try { withdrawnListener(error.code); } catch { /* the listener's trouble is not the caller's */ }
      }
      throw error;
    }
  }

  async function send(method, path, { token = null, body = undefined, expect = 200, as = 'json', waitMs = timeoutMs } = {}) {
    const headers = { Accept: as === 'blob' ? 'text/csv, application/json' : 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), waitMs);
    let response;
    try {
      response = await fetch(`${baseUrl}/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        cache: 'no-store',
        credentials: 'omit', // bearer tokens only: no cookies, nothing for a CSRF to ride on
        redirect: 'error',
      });
    } catch {
      throw new NetworkError(controller.signal.aborted ? 'timeout' : 'network');
    } finally {
      clearTimeout(timer);
    }
    if (as === 'blob' && response.status === expect) {
      // A file (the audit's CSV): its bytes as they came, never parsed or logged.
      try {
        return await response.blob();
      } catch {
        throw new NetworkError('unreadable answer');
      }
    }
    let payload = null;
    try {
      const text = await response.text();
      payload = text ? JSON.parse(text) : null;
    } catch {
      // A proxy's HTML page, or a body cut short: there is no code to branch on.
      if (response.ok) throw new NetworkError('unreadable answer');
    }
    if (response.status !== expect) {
      throw new HttpError(response.status, payload, retryAfterSeconds(response.headers?.get?.('Retry-After')));
    }
    return payload;
  }

  return {
    /**
     * Log in from this device; with `device_id` the device (and its seq numbering) is kept.
     * @param {{username: string, password: string, device_name: string, device_id?: string|null}} credentials
     * @returns {Promise<{token: string, device_id: string, expires_at: string, user: object}>}
     */
    login({ username, password, device_name, device_id = null }) {
      const body = { username, password, device_name };
      if (device_id) body.device_id = device_id;
      return call('POST', '/auth/token', { body, expect: 201 });
    },

    /** @returns {Promise<{user: object, device_id: string, school: object}>} the caller and the school's settings */
    me(token) {
      return call('GET', '/me', { token });
    },

    /**
     * The caller's own new password (online only). Every other device of the user must log in again;
     * this one keeps its token. 403 `wrong_password`, 400 `password_too_short`, 429 `too_many_attempts`.
     * @param {string} token
     * @param {{current_password: string, new_password: string}} passwords
     * @returns {Promise<null>}
     */
    changePassword(token, { current_password, new_password }) {
      return call('POST', '/me/password', { token, body: { current_password, new_password }, expect: 204 });
    },

    /**
     * @param {string} token
     * @param {{device_id: string, mutations: object[]}} body
     * @returns {Promise<{last_seq: number, results: object[]}>}
     */
    push(token, body) {
      return call('POST', '/sync/push', { token, body });
    },

    /**
     * @param {string} token
     * @param {number} cursor
     * @param {number} [limit]
     * @returns {Promise<{changes: object[], cursor: number, has_more: boolean}>}
     */
    pull(token, cursor, limit = 100) {
      const query = new URLSearchParams({ cursor: String(cursor), limit: String(limit) });
      return call('GET', `/sync/pull?${query}`, { token });
    },

    /**
     * Which letter of the school holds a receipt code already (pedagogue only): one slip, one letter. A
     * POST, so the code never sits in an address. 422 `invalid` for a malformed code. No answer within
     * `RECEIPT_CHECK_TIMEOUT_MS` (unless the client's own timeout is shorter) is a `NetworkError('timeout')`.
     * @param {string} token
     * @param {string} code
     * @returns {Promise<{held_by: {id: string, serial_no: number, school_year: number, received_on: string}|null}>}
     */
    checkReceiptCode(token, code) {
      const waitMs = Math.min(timeoutMs, RECEIPT_CHECK_TIMEOUT_MS);
      return call('POST', '/receipt-codes/check', { token, body: { receipt_code: code }, waitMs });
    },

    /**
     * The director's dashboard (director, admin, commission; 403 otherwise): counted by the server from
     * metadata, never kept on the tablet.
     * @param {string} token
     * @returns {Promise<{today: string, month: object, school_year: object, overdue: object, last_opening: object|null,
     *   last_meeting: object|null, alerts: string[], acts_awaiting: object[], trend: object[]}>}
     */
    dashboard(token) {
      return call('GET', '/dashboard', { token });
    },

    /**
     * The monthly information on the box's work; counts of one or two come as the string "<3".
     * @param {string} token
     * @param {string} month YYYY-MM
     * @returns {Promise<{month: string, figures: object}>}
     */
    monthlyReport(token, month) {
      const query = new URLSearchParams({ month });
      return call('GET', `/reports/monthly?${query}`, { token });
    },

    // ---- The school's administration (admin only; 403 otherwise). Online only, nothing kept. ----------

    /** @returns {Promise<{users: Array<{id: string, username: string, full_name: string, role: string, disabled_at: string|null}>}>} */
    adminUsers(token) {
      return call('GET', '/admin/users', { token });
    },

    /**
     * @param {string} token
     * @param {{username: string, full_name: string, role: string, password: string}} user
     * @returns {Promise<object>} the new user (409 `username_taken`, 400 `password_too_short`, 422 with fields)
     */
    createUser(token, { username, full_name, role, password }) {
      return call('POST', '/admin/users', { token, body: { username, full_name, role, password }, expect: 201 });
    },

    /** Disable an account: its tokens stop working at the next request (409 `own_account` for oneself). */
    disableUser(token, userId) {
      return call('POST', `/admin/users/${encodeURIComponent(userId)}/disable`, { token });
    },

    enableUser(token, userId) {
      return call('POST', `/admin/users/${encodeURIComponent(userId)}/enable`, { token });
    },

    /** A new password; every device of the user must log in again. */
    resetPassword(token, userId, password) {
      return call('POST', `/admin/users/${encodeURIComponent(userId)}/password`, { token, body: { password } });
    },

    /** @returns {Promise<{devices: Array<{id: string, name: string, user: {id: string, full_name: string}, created_at: string,
     *   expires_at: string, revoked_at: string|null, last_seq: number}>}>} newest first */
    adminDevices(token) {
      return call('GET', '/admin/devices', { token });
    },

    revokeDevice(token, deviceId) {
      return call('POST', `/admin/devices/${encodeURIComponent(deviceId)}/revoke`, { token });
    },

    /** @returns {Promise<{settings: object}>} the school's name, director_reads_contents and every setting */
    adminSettings(token) {
      return call('GET', '/admin/settings', { token });
    },

    /**
     * Change some settings, all checked together: a 422 names the wrong ones in `body.fields` and changes nothing.
     * @param {string} token
     * @param {object} changes
     * @returns {Promise<{settings: object}>}
     */
    patchSettings(token, changes) {
      return call('PATCH', '/admin/settings', { token, body: changes });
    },

    /** Let a revoked tablet log in again: the same device row, a fresh token at the next login. */
    readmitDevice(token, deviceId) {
      return call('POST', `/admin/devices/${encodeURIComponent(deviceId)}/readmit`, { token });
    },

    // ---- The audit (admin and director; views are recorded by every role) ------------------------------

    /**
     * Send the letter pages this tablet showed (≤ 500 at once). Nothing of a letter but its id goes.
     * @param {string} token
     * @param {Array<{id: string, appeal_id: string, viewed_at: string}>} views
     * @returns {Promise<{recorded: string[], refused: Array<{id: string, error: string}>}>}
     */
    recordViews(token, views) {
      return call('POST', '/audit/views', { token, body: { views } });
    },

    /**
     * One kind of audit entries, newest first: `views` (letters opened on a tablet), `deliveries` (letters
     * the server sent in one pull) or `admin-actions`.
     * @param {string} token
     * @param {'views'|'deliveries'|'admin-actions'} kind
     * @param {{user?: string, from?: string, to?: string}} [query] empty values are left out
     * @returns {Promise<{views?: object[], deliveries?: object[], actions?: object[]}>}
     */
    audit(token, kind, query = {}) {
      return call('GET', `/audit/${auditKind(kind)}${auditQuery(query)}`, { token });
    },

    /**
     * The same entries as a CSV file.
     * @param {string} token
     * @param {'views'|'deliveries'|'admin-actions'} kind
     * @param {{user?: string, from?: string, to?: string}} [query]
     * @returns {Promise<Blob>}
     */
    auditCsv(token, kind, query = {}) {
      return call('GET', `/audit/${auditKind(kind)}${auditQuery({ ...query, format: 'csv' })}`, { token, as: 'blob' });
    },

    /**
     * New accounts whose role reads letters, not yet acknowledged by the director (director, admin).
     * @returns {Promise<{notices: Array<{user: object, created_by: object|null, created_at: string}>}>}
     */
    auditNotices(token) {
      return call('GET', '/audit/notices', { token });
    },

    /** The director acknowledges one notice. @returns {Promise<{notices: object[]}>} the ones remaining */
    acknowledgeNotice(token, userId) {
      return call('POST', `/audit/notices/${encodeURIComponent(userId)}/acknowledge`, { token });
    },

    /**
     * Tell `listener(code)` of every 401 withdrawing this tablet's access at a call made with a token.
     * @param {((code: string) => void)|null} listener
     */
    onWithdrawn(listener) {
      withdrawnListener = listener;
    },
  };
}

const AUDIT_KINDS = new Set(['views', 'deliveries', 'admin-actions']);

function auditKind(kind) {
  if (!AUDIT_KINDS.has(kind)) throw new Error(`Unknown audit kind: ${kind}`);
  return kind;
}

/** `?user=…&from=…&to=…` of the filters that have a value ('' when none has). */
function auditQuery(query) {
  const params = new URLSearchParams();
  for (const name of ['user', 'from', 'to', 'format']) {
    if (query[name]) params.set(name, String(query[name]));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

// The app's client, same origin.
export const {
  login, me, changePassword, push, pull, checkReceiptCode, dashboard, monthlyReport,
  adminUsers, createUser, disableUser, enableUser, resetPassword, adminDevices, revokeDevice, readmitDevice, adminSettings,
  patchSettings, recordViews, audit, auditCsv, auditNotices, acknowledgeNotice, onWithdrawn,
} = createApi({ fetch: (...args) => globalThis.fetch(...args) });
