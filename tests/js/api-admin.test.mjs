// api.js's administration and audit wrappers over a fake fetch: paths, methods, bodies, the bearer token,
// the audit's filters, the CSV as a Blob, and the server's refusals as HttpErrors.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { HttpError, NetworkError, createApi } from '../../pwa/js/api.js';

function fakeFetch(answer) {
  const requests = [];
  const fetch = async (url, init) => {
    requests.push({ url, ...init, body: init.body === undefined ? undefined : JSON.parse(init.body) });
    return typeof answer === 'function' ? answer(url, init) : answer;
  };
  return { fetch, requests };
}

const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const USER = '3f0c8a52-6a0e-4f43-9d2c-2b0b8e3f1a11';
const DEVICE = '9b1d6e7a-0c2f-4d8e-a6b5-1f2e3d4c5b6a';

test('the accounts: list, create, disable, enable and a new password, each with the bearer token', async () => {
  const { fetch, requests } = fakeFetch((url, init) => (init.method === 'POST' && url.endsWith('/admin/users')
    ? json(201, { id: USER, username: 'aigul', full_name: 'Айгүл Ж.', role: 'pedagogue', disabled_at: null })
    : json(200, { users: [] })));
  const api = createApi({ fetch });
  await api.adminUsers('tok');
  const created = await api.createUser('tok', { username: 'aigul', full_name: 'Айгүл Ж.', role: 'pedagogue', password: 'a long password' });
  assert.equal(created.id, USER);
  await api.disableUser('tok', USER);
  await api.enableUser('tok', USER);
  await api.resetPassword('tok', USER, 'a new long password');
  assert.deepEqual(requests.map((r) => [r.method, r.url]), [
    ['GET', '/api/v1/admin/users'],
    ['POST', '/api/v1/admin/users'],
    ['POST', `/api/v1/admin/users/${USER}/disable`],
    ['POST', `/api/v1/admin/users/${USER}/enable`],
    ['POST', `/api/v1/admin/users/${USER}/password`],
  ]);
  assert.ok(requests.every((r) => r.headers.Authorization === 'Bearer tok' && r.credentials === 'omit'));
  assert.deepEqual(requests[1].body, { username: 'aigul', full_name: 'Айгүл Ж.', role: 'pedagogue', password: 'a long password' });
  assert.deepEqual(requests[4].body, { password: 'a new long password' });
  assert.equal(requests[2].body, undefined);
});

test('devices are listed and revoked; settings are read and patched with only what changed', async () => {
  const { fetch, requests } = fakeFetch(() => json(200, { settings: { quorum: 2 } }));
  const api = createApi({ fetch });
  await api.adminDevices('tok');
  await api.revokeDevice('tok', DEVICE);
  await api.adminSettings('tok');
  assert.equal((await api.patchSettings('tok', { quorum: 2, days_off: ['2026-03-23'] })).settings.quorum, 2);
  assert.deepEqual(requests.map((r) => [r.method, r.url]), [
    ['GET', '/api/v1/admin/devices'],
    ['POST', `/api/v1/admin/devices/${DEVICE}/revoke`],
    ['GET', '/api/v1/admin/settings'],
    ['PATCH', '/api/v1/admin/settings'],
  ]);
  assert.deepEqual(requests[3].body, { quorum: 2, days_off: ['2026-03-23'] });
  assert.equal(requests[3].headers['Content-Type'], 'application/json');
});

test("a refused setting is an HttpError whose body names the fields; a taken username is the server's code", async () => {
  const fields = { quorum: ['Must be greater than or equal to 1 and less than or equal to 10.'], trust_phones: { 0: { phone: ['x'] } } };
  const api = createApi({ fetch: fakeFetch((url, init) => (init.method === 'PATCH'
    ? json(422, { error: 'validation_error', message: 'Some settings are not valid.', fields })
    : json(409, { error: 'username_taken', message: 'This username is taken.', fields: {} }))).fetch });
  const refused = await api.patchSettings('tok', { quorum: 11 }).catch((e) => e);
  assert.ok(refused instanceof HttpError);
  assert.deepEqual([refused.status, refused.code], [422, 'validation_error']);
  assert.deepEqual(refused.body.fields, JSON.parse(JSON.stringify(fields)));
  const taken = await api.createUser('tok', { username: 'a', full_name: 'A', role: 'admin', password: 'a long password' }).catch((e) => e);
  assert.deepEqual([taken.status, taken.code], [409, 'username_taken']);
});

test('the audit: views, deliveries and admin actions, filters with a value only, in the query', async () => {
  const { fetch, requests } = fakeFetch(() => json(200, { views: [] }));
  const api = createApi({ fetch });
  await api.audit('tok', 'views');
  await api.audit('tok', 'deliveries', { user: USER, from: '2025-03-01', to: '' });
  await api.audit('tok', 'admin-actions', { from: '2025-03-01', to: '2025-03-31' });
  assert.throws(() => api.audit('tok', 'reads'), /Unknown audit kind/);
  assert.deepEqual(requests.map((r) => r.url), [
    '/api/v1/audit/views',
    `/api/v1/audit/deliveries?user=${USER}&from=2025-03-01`,
    '/api/v1/audit/admin-actions?from=2025-03-01&to=2025-03-31',
  ]);
  assert.ok(requests.every((r) => r.method === 'GET' && r.headers.Authorization === 'Bearer tok'));
});

test('views are posted; notices listed and acknowledged; a revoked device re-admitted', async () => {
  const { fetch, requests } = fakeFetch(() => json(200, { recorded: [], refused: [], notices: [] }));
  const api = createApi({ fetch });
  const view = { id: DEVICE, appeal_id: USER, viewed_at: '2025-03-10T09:00:00.000Z' };
  await api.recordViews('tok', [view]);
  await api.auditNotices('tok');
  await api.acknowledgeNotice('tok', USER);
  await api.readmitDevice('tok', DEVICE);
  assert.deepEqual(requests.map((r) => [r.method, r.url]), [
    ['POST', '/api/v1/audit/views'],
    ['GET', '/api/v1/audit/notices'],
    ['POST', `/api/v1/audit/notices/${USER}/acknowledge`],
    ['POST', `/api/v1/admin/devices/${DEVICE}/readmit`],
  ]);
  assert.deepEqual(requests[0].body, { views: [view] });
});

test('a 401 withdrawing the access is told to the listener from any call with a token, never from the login', async () => {
  let status = 401;
  let code = 'device_revoked';
  const api = createApi({ fetch: fakeFetch(() => json(status, { error: code, message: 'm', fields: {} })).fetch });
  const heard = [];
  api.onWithdrawn((c) => heard.push(c));
  await assert.rejects(api.audit('tok', 'views'), HttpError);
  code = 'account_disabled';
  await assert.rejects(api.dashboard('tok'), HttpError);
  await assert.rejects(api.login({ username: 'a', password: 'b', device_name: 'T', device_id: DEVICE }), HttpError);
  code = 'invalid_token';
  await assert.rejects(api.me('tok'), HttpError);
  status = 403;
  code = 'device_revoked';
  await assert.rejects(api.me('tok'), HttpError);
  assert.deepEqual(heard, ['device_revoked', 'account_disabled']);
});

test('the CSV comes back as a Blob of the bytes sent, asked for with the token and the filters', async () => {
  const csv = 'viewed_at,user_full_name,user_role,school_year,serial_no\r\n2025-03-10T09:00:00+00:00,Test A,pedagogue,2024,1\r\n';
  const { fetch, requests } = fakeFetch(() => new Response(csv, { status: 200, headers: { 'Content-Type': 'text/csv' } }));
  const api = createApi({ fetch });
  const blob = await api.auditCsv('tok', 'views', { user: USER, to: '2025-03-31' });
  assert.ok(blob instanceof Blob);
  assert.equal(await blob.text(), csv);
  assert.equal(requests[0].url, `/api/v1/audit/views?user=${USER}&to=2025-03-31&format=csv`);
  assert.equal(requests[0].headers.Authorization, 'Bearer tok');
  assert.match(requests[0].headers.Accept, /text\/csv/);
});

test('a refused CSV is an HttpError with its code, and no answer is a NetworkError', async () => {
  const forbidden = createApi({ fetch: fakeFetch(() => json(403, { error: 'role_not_allowed', message: 'no', fields: {} })).fetch });
  const error = await forbidden.auditCsv('tok', 'deliveries').catch((e) => e);
  assert.ok(error instanceof HttpError);
  assert.deepEqual([error.status, error.code], [403, 'role_not_allowed']);
  const period = createApi({ fetch: fakeFetch(() => json(422, { error: 'validation_error', message: 'm', fields: { to: ['x'] } })).fetch });
  assert.deepEqual((await period.audit('tok', 'views', { from: '2025-04-01', to: '2025-03-01' }).catch((e) => e)).body.fields, { to: ['x'] });
  const offline = createApi({ fetch: async () => { throw new TypeError('Failed to fetch'); } });
  await assert.rejects(offline.auditCsv('tok', 'admin-actions'), NetworkError);
  await assert.rejects(offline.adminUsers('tok'), NetworkError);
});
