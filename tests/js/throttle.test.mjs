// The PWA's side of login throttling and of changing one's password: Retry-After read off a 429, and the
// password change request.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { HttpError, createApi, retryAfterSeconds } from '../../pwa/js/api.js';

const json = (status, body, headers = {}) => new Response(body === null ? null : JSON.stringify(body),
  { status, headers: { 'Content-Type': 'application/json', ...headers } });

test('retryAfterSeconds reads delta-seconds and HTTP dates, at least one second', () => {
  assert.equal(retryAfterSeconds('50'), 50);
  assert.equal(retryAfterSeconds(' 7 '), 7);
  assert.equal(retryAfterSeconds('0'), 1);
  const now = Date.parse('2025-03-10T08:00:00Z');
  assert.equal(retryAfterSeconds('Mon, 10 Mar 2025 08:00:42 GMT', now), 42);
  assert.equal(retryAfterSeconds('Mon, 10 Mar 2025 07:59:00 GMT', now), 1);
  for (const nothing of [null, undefined, '', 'soon', '-5', '1.5']) assert.equal(retryAfterSeconds(nothing), null);
});

test('a 429 becomes an HttpError carrying the seconds to wait', async () => {
  const api = createApi({
    fetch: async () => json(429, { error: 'too_many_attempts', message: 'm', fields: {} }, { 'Retry-After': '37' }),
  });
  const error = await api.login({ username: 'u', password: 'p', device_name: 'd' }).catch((e) => e);
  assert.ok(error instanceof HttpError);
  assert.equal(error.status, 429);
  assert.equal(error.code, 'too_many_attempts');
  assert.equal(error.retryAfter, 37);
});

test('an error without Retry-After has retryAfter null', async () => {
  const api = createApi({ fetch: async () => json(401, { error: 'invalid_credentials', message: 'm', fields: {} }) });
  const error = await api.login({ username: 'u', password: 'p', device_name: 'd' }).catch((e) => e);
  assert.equal(error.retryAfter, null);
});

test('changePassword posts both passwords with the token and expects 204', async () => {
  const requests = [];
  const api = createApi({
    fetch: async (url, init) => {
      requests.push({ url, ...init, body: JSON.parse(init.body) });
      return new Response(null, { status: 204 });
    },
  });
  assert.equal(await api.changePassword('tok', { current_password: 'old one', new_password: 'new one!' }), null);
  assert.equal(requests[0].url, '/api/v1/me/password');
  assert.equal(requests[0].method, 'POST');
  assert.equal(requests[0].headers.Authorization, 'Bearer tok');
  assert.deepEqual(requests[0].body, { current_password: 'old one', new_password: 'new one!' });
});

test('a wrong current password is an HttpError wrong_password', async () => {
  const api = createApi({ fetch: async () => json(403, { error: 'wrong_password', message: 'm', fields: {} }) });
  const error = await api.changePassword('tok', { current_password: 'x', new_password: 'yyyyyyyy' }).catch((e) => e);
  assert.equal(error.status, 403);
  assert.equal(error.code, 'wrong_password');
});
