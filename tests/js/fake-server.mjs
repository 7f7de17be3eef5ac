// An in-memory server that keeps sync/PROTOCOL.md (§4–§6) closely enough to drive the sync loop: devices
// with last_seq and receipts, replays answered as the first time, seq gaps, ids known across devices,
// serial numbers per school year, change numbers, pull pages, and faults to inject. It exposes the same
// calls as pwa/js/api.js (login, me, push, pull, recordViews) and throws the same errors.
import { HttpError, NetworkError } from '../../pwa/js/api.js';
import {
  Conflict, Refusal, SeqGap, changedFields, planBatch, schoolYear, splitRegistration,
} from '../../pwa/js/protocol.js';
import { evolve } from '../../pwa/js/rules.js';
import { validateMutation } from '../../pwa/js/validation.js';

const uuid = () => crypto.randomUUID();
const fail = (status, error, extra = {}) => new HttpError(status, { error, message: error, fields: {}, ...extra });

export class FakeServer {
  constructor({ today = '2025-03-10', users = { pedagogue: 'correct horse battery' } } = {}) {
    this.today = today;
    this.users = users;
    this.schoolSettings = { id: uuid(), name: 'School No. 1', idle_lock_minutes: 10, trust_phones: [{ label: 'Line', phone: '111' }] };
    this.data = { devices: {}, tokens: {}, events: {}, appeals: {}, serials: {}, changeNo: 0, clock: 0, views: {}, disabled: {} };
    this.faults = []; // consumed one per call: {call, kind}
    this.calls = [];
    this.hooks = { malformed: () => false, tooLarge: () => false };
  }

  // -- test controls --

  /** The next `call` ('push', 'pull', 'me', 'login') fails: 'offline' (nothing done), 'lost' (done, answer lost), or a status. */
  failNext(call, kind) {
    this.faults.push({ call, kind });
  }

  snapshot() {
    return structuredClone(this.data);
  }

  /** The server comes back from an older backup. */
  restore(snapshot) {
    this.data = structuredClone(snapshot);
  }

  revoke(deviceId) {
    this.data.devices[deviceId].revoked = true;
  }

  /** The admin re-admits a revoked device: its next login with its id is let in (its old tokens stay dead). */
  readmit(deviceId) {
    this.data.devices[deviceId].revoked = false;
    for (const [token, owner] of Object.entries(this.data.tokens)) if (owner === deviceId) delete this.data.tokens[token];
  }

  /** Disable (or enable again) a user: every call with its tokens answers 401 account_disabled. */
  disable(username, disabled = true) {
    this.data.disabled[username] = disabled;
  }

  expireTokens() {
    this.data.tokens = {};
  }

  appealList() {
    return Object.values(this.data.appeals);
  }

  // -- the API --

  async login({ username, password, device_name, device_id = null }) {
    return this.run('login', () => {
      if (this.users[username] !== password) throw fail(401, 'invalid_credentials');
      if (this.data.disabled[username]) throw fail(401, 'account_disabled');
      let id = device_id;
      if (id) {
        const device = this.data.devices[id];
        if (!device || device.revoked || device.user !== username) throw fail(401, 'device_revoked');
        for (const [token, owner] of Object.entries(this.data.tokens)) if (owner === id) delete this.data.tokens[token];
      } else {
        id = uuid();
        this.data.devices[id] = { user: username, name: device_name, last_seq: 0, receipts: {}, revoked: false };
      }
      const token = `t-${uuid()}`;
      this.data.tokens[token] = id;
      return { token, device_id: id, expires_at: '2025-04-09T06:00:00+00:00', user: this.userOf(username) };
    });
  }

  async me(token) {
    return this.run('me', () => {
      const device = this.auth(token);
      return { user: this.userOf(device.user), device_id: this.data.tokens[token], school: structuredClone(this.schoolSettings) };
    });
  }

  async push(token, body) {
    return this.run('push', () => this.doPush(token, body));
  }

  async pull(token, cursor, limit = 100) {
    return this.run('pull', () => {
      this.auth(token);
      if (cursor > this.data.changeNo) throw fail(409, 'cursor_ahead', { cursor: this.data.changeNo });
      const rows = Object.values(this.data.appeals).filter((a) => a.change_no > cursor).sort((a, b) => a.change_no - b.change_no);
      const page = rows.slice(0, limit);
      return {
        changes: structuredClone(page.map((a) => this.change(a))),
        cursor: page.length ? page.at(-1).change_no : cursor,
        has_more: rows.length > limit,
      };
    });
  }

  /** POST /audit/views: each view recorded once by id; a known id with other values, or an unknown letter, refused. */
  async recordViews(token, views) {
    return this.run('views', () => {
      const deviceId = this.data.tokens[token];
      this.auth(token);
      const recorded = [];
      const refused = [];
      for (const view of views) {
        const known = this.data.views[view.id];
        if (known && (known.appeal_id !== view.appeal_id || known.viewed_at !== view.viewed_at)) refused.push({ id: view.id, error: 'id_reused' });
        else if (!this.data.appeals[view.appeal_id]) refused.push({ id: view.id, error: 'appeal_not_found' });
        else {
          this.data.views[view.id] ??= { ...view, device_id: deviceId };
          recorded.push(view.id);
        }
      }
      return { recorded, refused };
    });
  }

  // -- inside --

  async run(call, fn) {
    this.calls.push(call);
    await Promise.resolve(); // answers come later, as over a network
    const index = this.faults.findIndex((f) => f.call === call);
    const fault = index >= 0 ? this.faults.splice(index, 1)[0] : null;
    if (fault?.kind === 'offline') throw new NetworkError('network');
    if (typeof fault?.kind === 'number') throw fail(fault.kind, 'internal_error');
    const before = structuredClone(this.data);
    try {
      const answer = fn();
      if (fault?.kind === 'lost') throw new NetworkError('network'); // committed, but the answer never arrives
      return answer;
    } catch (error) {
      if (error instanceof HttpError) this.data = before; // an answer >= 400 changes nothing (M7)
      throw error;
    }
  }

  userOf(username) {
    return { id: `user-${username}`, role: 'pedagogue', school_id: this.schoolSettings.id, full_name: `Full ${username}` };
  }

  auth(token) {
    const id = this.data.tokens[token];
    if (!id) throw fail(401, token ? 'invalid_token' : 'missing_token');
    const device = this.data.devices[id];
    if (device.revoked) throw fail(401, 'device_revoked');
    if (this.data.disabled[device.user]) throw fail(401, 'account_disabled');
    return device;
  }

  doPush(token, body) {
    const device = this.auth(token);
    if (body.mutations.length > 200) throw fail(413, 'too_many_mutations');
    if (this.hooks.tooLarge(body)) throw fail(413, 'payload_too_large');
    const fieldErrors = {};
    const loaded = body.mutations.map((m, i) => {
      const result = validateMutation(m);
      if (result.errors) fieldErrors[String(i)] = result.errors;
      else if (this.hooks.malformed(m)) fieldErrors[String(i)] = { data: { summary: ['server_says_no'] } };
      return result.value;
    });
    if (Object.keys(fieldErrors).length) throw new HttpError(422, { error: 'validation_error', message: 'x', fields: { mutations: fieldErrors } });
    if (this.data.tokens[token] !== body.device_id) throw fail(403, 'device_mismatch');
    let plan;
    try {
      plan = planBatch(device.last_seq, loaded.map((m) => m.seq));
    } catch (error) {
      if (error instanceof SeqGap) throw fail(409, 'seq_gap', { last_seq: error.lastSeq });
      throw error;
    }
    const results = loaded.map((m, i) => (i < plan.firstNew ? this.replay(device, m) : this.apply(device, m)));
    return { last_seq: device.last_seq, results };
  }

  replay(device, m) {
    const receipt = device.receipts[m.seq];
    if (!receipt || receipt.id !== m.id) return { seq: m.seq, id: m.id, status: 'rejected', error: 'seq_reused', serial_no: null, version: null };
    const status = receipt.status === 'applied' ? 'duplicate' : receipt.status;
    return { ...receipt, seq: m.seq, status };
  }

  apply(device, m) {
    let result;
    if (this.data.events[m.id]) {
      const appeal = this.data.appeals[this.data.events[m.id]];
      result = { status: 'duplicate', error: null, serial_no: appeal.serial_no, version: appeal.state.version };
    } else {
      const appeal = this.data.appeals[m.appeal_id] ?? null;
      try {
        const state = evolve(appeal?.state ?? null, m.type, m.base_version, m.data, this.today);
        this.record(device, m, appeal, state);
        const after = this.data.appeals[m.appeal_id];
        result = { status: 'applied', error: null, serial_no: after.serial_no, version: after.state.version };
      } catch (error) {
        if (error instanceof Conflict) result = { status: 'conflict', error: 'stale_version', serial_no: appeal.serial_no, version: error.currentVersion };
        else if (error instanceof Refusal) result = { status: 'rejected', error: error.code, serial_no: null, version: null };
        else throw error;
      }
    }
    const receipt = { seq: m.seq, id: m.id, ...result };
    device.receipts[m.seq] = receipt;
    device.last_seq = m.seq;
    return receipt;
  }

  record(device, m, appeal, state) {
    const at = `2025-03-10T06:00:${String(this.data.clock++).padStart(2, '0')}.000000+00:00`;
    const entry = {
      id: m.id, type: m.type, recorded_at: at, by: `Full ${device.user}`,
      fields: m.type === 'appeal.amended' ? changedFields(m.data.changes) : [], ...(m.data.reason ? { reason: m.data.reason } : {}),
    };
    this.data.changeNo += 1;
    if (!appeal) {
      const year = schoolYear(state.registration.received_on);
      this.data.serials[year] = (this.data.serials[year] ?? 0) + 1;
      this.data.appeals[m.appeal_id] = {
        id: m.appeal_id, state, serial_no: this.data.serials[year], school_year: year, change_no: this.data.changeNo,
        registered_at: at, updated_at: at, history: [entry],
      };
    } else {
      Object.assign(appeal, { state, change_no: this.data.changeNo, updated_at: at });
      appeal.history.push(entry);
    }
    this.data.events[m.id] = m.appeal_id;
  }

  change(a) {
    const [meta, contents] = splitRegistration(a.state.registration);
    return {
      entity: 'appeal', change_no: a.change_no, id: a.id, serial_no: a.serial_no, school_year: a.school_year, version: a.state.version,
      status: a.state.status, ...meta, registered_at: a.registered_at, updated_at: a.updated_at, contents, history: a.history,
    };
  }
}
