// api.js over a fake fetch: paths, headers, bodies, and the two typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { DEFAULT_TIMEOUT_MS, HttpError, NetworkError, RECEIPT_CHECK_TIMEOUT_MS, createApi } from '../../pwa/js/api.js';

function fakeFetch(answer) {
  const requests = [];
  const fetch = async (url, init) => {
    requests.push({ url, ...init, body: init.body === undefined ? undefined : JSON.parse(init.body) });
    return typeof answer === 'function' ? answer(url, init) : answer;
  };
  return { fetch, requests };
}

const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

test('login posts the credentials, and the device id only when there is one', async () => {
  const { fetch, requests } = fakeFetch(() => json(201, { token: 't', device_id: 'd', expires_at: 'e', user: {} }));
  const api = createApi({ fetch });
  assert.equal((await api.login({ username: 'u', password: 'p', device_name: 'Tablet' })).token, 't');
  await api.login({ username: 'u', password: 'p', device_name: 'Tablet', device_id: 'd1' });
  assert.equal(requests[0].url, '/api/v1/auth/token');
  assert.equal(requests[0].method, 'POST');
  assert.deepEqual(requests[0].body, { username: 'u', password: 'p', device_name: 'Tablet' });
  assert.deepEqual(requests[1].body, { username: 'u', password: 'p', device_name: 'Tablet', device_id: 'd1' });
  assert.equal(requests[0].headers.Authorization, undefined);
  assert.equal(requests[0].headers['Content-Type'], 'application/json');
  assert.equal(requests[0].credentials, 'omit');
  assert.equal(requests[0].cache, 'no-store');
});

test('me, push and pull carry the bearer token', async () => {
  const { fetch, requests } = fakeFetch(() => json(200, { ok: true }));
  const api = createApi({ fetch });
  await api.me('tok');
  await api.push('tok', { device_id: 'd', mutations: [] });
  await api.pull('tok', 41, 200);
  assert.deepEqual(requests.map((r) => [r.method, r.url]), [
    ['GET', '/api/v1/me'], ['POST', '/api/v1/sync/push'], ['GET', '/api/v1/sync/pull?cursor=41&limit=200'],
  ]);
  assert.ok(requests.every((r) => r.headers.Authorization === 'Bearer tok'));
  assert.deepEqual(requests[1].body, { device_id: 'd', mutations: [] });
  assert.equal(requests[0].body, undefined);
});

test('the dashboard and the monthly report are read with the bearer token', async () => {
  const { fetch, requests } = fakeFetch(() => json(200, { month: '2025-03', figures: { received: '<3' } }));
  const api = createApi({ fetch });
  await api.dashboard('tok');
  assert.equal((await api.monthlyReport('tok', '2025-03')).figures.received, '<3');
  assert.deepEqual(requests.map((r) => [r.method, r.url]), [
    ['GET', '/api/v1/dashboard'], ['GET', '/api/v1/reports/monthly?month=2025-03'],
  ]);
  assert.ok(requests.every((r) => r.headers.Authorization === 'Bearer tok' && r.body === undefined));
});

test('a role without the dashboard gets an HttpError forbidden', async () => {
  const api = createApi({ fetch: fakeFetch(() => json(403, { error: 'forbidden', message: 'no' })).fetch });
  const error = await api.dashboard('tok').catch((e) => e);
  assert.ok(error instanceof HttpError);
  assert.deepEqual([error.status, error.code], [403, 'forbidden']);
});

test('an answer >= 400 is an HttpError with the stable code; its message never carries the body', async () => {
  const body = { error: 'seq_gap', message: 'expected seq 6 (CANARY)', fields: {}, last_seq: 5 };
  const api = createApi({ fetch: fakeFetch(() => json(409, body)).fetch });
  const error = await api.push('tok', { device_id: 'd', mutations: [] }).catch((e) => e);
  assert.ok(error instanceof HttpError);
  assert.equal(error.status, 409);
  assert.equal(error.code, 'seq_gap');
  assert.equal(error.body.last_seq, 5);
  assert.equal(error.message, 'HTTP 409 seq_gap');
  assert.ok(!String(error).includes('CANARY'));
});

test('a proxy page instead of JSON is an HttpError without a code', async () => {
  const api = createApi({ fetch: fakeFetch(() => new Response('<html>Bad gateway</html>', { status: 502 })).fetch });
  const error = await api.me('tok').catch((e) => e);
  assert.ok(error instanceof HttpError);
  assert.equal(error.status, 502);
  assert.equal(error.code, null);
});

test('a failed fetch is a NetworkError; so is a timeout', async () => {
  const offline = createApi({ fetch: async () => { throw new TypeError('Failed to fetch'); } });
  const error = await offline.me('tok').catch((e) => e);
  assert.ok(error instanceof NetworkError);
  assert.equal(error.name, 'NetworkError');
  const slow = createApi({
    timeoutMs: 10,
    fetch: (url, init) => new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
  });
  const timeout = await slow.pull('tok', 0).catch((e) => e);
  assert.ok(timeout instanceof NetworkError);
  assert.equal(timeout.reason, 'timeout');
});

test('the receipt-code check posts the code in the body and gives up sooner than other calls', async () => {
  const { fetch, requests } = fakeFetch(() => json(200, { held_by: null }));
  assert.deepEqual(await createApi({ fetch }).checkReceiptCode('tok', 'K7M2QX'), { held_by: null });
  assert.equal(requests[0].url, '/api/v1/receipt-codes/check');
  assert.deepEqual(requests[0].body, { receipt_code: 'K7M2QX' });
  assert.ok(RECEIPT_CHECK_TIMEOUT_MS < DEFAULT_TIMEOUT_MS);
  // A client with the usual long timeout: the check alone is cut short (a saving letter does not wait).
  const waited = [];
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = (fn, ms) => { waited.push(ms); return realSetTimeout(fn, 0); };
  try {
    const hanging = createApi({
      fetch: (url, init) => new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
    });
    const error = await hanging.checkReceiptCode('tok', 'K7M2QX').catch((e) => e);
    assert.ok(error instanceof NetworkError);
    assert.equal(error.reason, 'timeout');
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  assert.deepEqual(waited, [RECEIPT_CHECK_TIMEOUT_MS]);
});

test('a 200 whose body cannot be read is treated as no answer (safe to retry)', async () => {
  const api = createApi({ fetch: fakeFetch(() => new Response('{"last_seq": 3, "resu', { status: 200 })).fetch });
  await assert.rejects(api.push('tok', { device_id: 'd', mutations: [] }), NetworkError);
});
