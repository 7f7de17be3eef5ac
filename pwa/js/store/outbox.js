/**
 * The outbox: every local change is a row under the next seq, written in ONE strict transaction with its
 * subject's recomputed record (`enqueue`: a letter and its outbox row are written together, or neither);
 * the server's answers settle the rows (acknowledged rows are marked `acked` and stay until a pull shows
 * their effect, PROTOCOL.md §5.6; refused ones move to "needs attention"; work on an erased case is dropped);
 * renumbering after a seq gap or a new enrolment keeps the rows' ids. One id, one mutation: a mutation is
 * never written over another held under its id (`MutationIdTaken`), only the very same one is taken as held
 * (protocol.js `sameMutation`, the server's rule for `duplicate`).
 */
import { read, write } from '../idb.js';
import { sealRecord } from '../crypto.js';
import { sameMutation } from '../protocol.js';
import { MutationIdTaken } from './errors.js';
import { loadParts, openRow, readSession, sealedSubject } from './parts.js';
import { subjectOf } from './views.js';

/** The wire form of an outbox row's mutation. */
export function wire(row) {
  const { id, type, appeal_id, base_version, data } = row.mutation;
  return { seq: row.seq, id, type, appeal_id, base_version, data };
}

async function sealRow(k, row) {
  return {
    seq: row.seq,
    appeal_id: subjectOf(row.mutation),
    ...(row.acked ? { acked: row.acked } : {}),
    ...(await sealRecord(k, 'outbox', row.mutation.id, { mutation: row.mutation, made_at: row.made_at, by: row.by })),
  };
}

/**
 * Give the rows at seq ≥ fromSeq the consecutive seqs fromSeq, fromSeq + 1, … (ids kept), as pending.
 * Runs inside a read-write transaction over `outbox` and `meta`.
 */
export async function renumberIn(s, fromSeq) {
  const moving = (await s.outbox.getAll()).filter((row) => row.seq >= fromSeq);
  for (const row of moving) await s.outbox.delete(row.seq);
  let seq = fromSeq;
  for (const row of moving) {
    const moved = { ...row, seq }; // the seal binds the mutation id, not the seq: no re-sealing
    delete moved.acked; // sent again, so pending again
    await s.outbox.put(moved);
    seq += 1;
  }
  await s.meta.put(seq, 'nextSeq');
  return moving.length;
}

/** A mutation as the journal compares it (`sameMutation`); every one held here is this tablet's, so one device. */
function journalForm(mutation) {
  return { device: 'this', type: mutation.type, record: subjectOf(mutation), base_version: mutation.base_version ?? null, data: mutation.data };
}

/**
 * Whether this tablet holds `mutation` already: false when its id is free, true when the very same mutation
 * is held under it.
 * @param {object|undefined} held the mutation held under the id, opened, if any
 * @throws {MutationIdTaken} when another mutation is held under the id
 */
function heldAlready(held, mutation) {
  if (!held) return false;
  if (!sameMutation(journalForm(held), journalForm(mutation))) throw new MutationIdTaken();
  return true;
}

/**
 * Write a new outbox row for `mutation` and its subject's recomputed view, in one transaction. A mutation
 * held already (the very same, in the outbox or "needs attention") is not written twice: its view is returned.
 * Another mutation held under its id is never replaced: `MutationIdTaken`.
 * @param {object} base the store's (base.js)
 * @param {CryptoKey} k
 * @param {object} mutation
 * @param {{parts: object, server: object|null, provisionalNo?: number|null, removeAttention?: string|null,
 *   forget?: string|null}} options
 *   parts: loadParts() of the subject; provisionalNo: the mark a new letter takes; removeAttention: the
 *   mutation id of the "needs attention" item this row sends again; forget: a letter this row moves to a
 *   new id, deleted in the same transaction
 * @returns {Promise<object>} the subject's view
 */
export async function enqueue(base, k, mutation, { parts, server, provisionalNo = null, removeAttention = null, forget = null }) {
  // The item this row sends again leaves "needs attention" with it; any other holder of the id stays.
  const rawHeld = parts.allRows.find((raw) => raw.id === mutation.id);
  const inOutbox = rawHeld && (await openRow(k, rawHeld)).mutation;
  const inAttention = mutation.id === removeAttention ? undefined
    : parts.attention.find((item) => item.mutation.id === mutation.id)?.mutation;
  if (heldAlready(inOutbox, mutation) || heldAlready(inAttention, mutation)) {
    return (await sealedSubject(k, subjectOf(mutation), parts, server, Boolean(mutation.appeal_id)))?.view ?? null;
  }
  const by = (await readSession(base, k))?.user?.full_name ?? null;
  const row = { seq: parts.nextSeq, acked: null, mutation, made_at: base.stamp(), by };
  parts.rows.push(row);
  if (removeAttention) parts.attention = parts.attention.filter((item) => item.mutation.id !== removeAttention);
  const subject = await sealedSubject(k, subjectOf(mutation), parts, server, Boolean(mutation.appeal_id), { provisionalNo });
  const sealedRow = await sealRow(k, row);
  await write(await base.db(), ['meta', 'outbox', 'appeals', 'records', 'attention'], async (s) => {
    // A seq is used once: were it taken meanwhile, writing would break that promise.
    if (((await s.meta.get('nextSeq')) ?? 1) !== row.seq) throw new Error('The outbox changed meanwhile; try again.');
    // Nor may the id have been taken meanwhile: the unique index would refuse the row, "needs attention" not.
    if ((await s.outbox.index('by_id').count(mutation.id)) > 0) throw new MutationIdTaken();
    if (mutation.id !== removeAttention && (await s.attention.count(mutation.id)) > 0) throw new MutationIdTaken();
    await s.outbox.put(sealedRow);
    await s[subject.store].put(subject.sealed);
    await s.meta.put(row.seq + 1, 'nextSeq');
    if (provisionalNo !== null) await s.meta.put(provisionalNo + 1, 'provisionalNo');
    if (removeAttention) await s.attention.delete(removeAttention);
    if (forget) await s.appeals.delete(forget);
  });
  return subject.view;
}

/** Settle mutations the server answered: acknowledged rows are marked, refused ones go to attention. */
async function settle(base, items) {
  const k = base.key();
  const parts = await loadParts(base, k, items.map((item) => subjectOf(item.mutation)));
  const byId = new Map(parts.allRows.map((row) => [row.id, row]));
  const at = base.stamp();
  const acks = [];
  const moves = [];
  const drops = [];
  for (const { mutation, result } of items) {
    const raw = byId.get(mutation.id);
    if (!raw) continue; // settled already (another tab, or an earlier answer)
    if (result.error === 'appeal_erased') {
      // Work on a case the retention period erased: nothing to attend to, and keeping its words here would
      // undo the erasure on this tablet.
      drops.push(raw.seq);
      parts.rows = parts.rows.filter((r) => r.mutation.id !== mutation.id);
    } else if (result.status === 'applied' || result.status === 'duplicate') {
      const acked = { status: result.status, serial_no: result.serial_no ?? null, version: result.version ?? null, at };
      acks.push({ ...raw, acked });
      const row = parts.rows.find((r) => r.mutation.id === mutation.id);
      if (row) row.acked = acked;
    } else {
      const opened = parts.rows.find((r) => r.mutation.id === mutation.id);
      const item = { mutation: wire(opened), result, at };
      // "Needs attention" is keyed by the mutation id: only the very same mutation's item may be replaced.
      const before = parts.attention.find((held) => held.mutation.id === mutation.id);
      heldAlready(before?.mutation, item.mutation);
      moves.push({ seq: raw.seq, sealed: await sealRecord(k, 'attention', mutation.id, item) });
      parts.rows = parts.rows.filter((r) => r !== opened);
      parts.attention = [...parts.attention.filter((held) => held !== before), item];
    }
  }
  const subjects = [];
  for (const { mutation } of items) {
    const id = subjectOf(mutation);
    if (subjects.some((subject) => subject.id === id)) continue;
    const server = parts.records.get(id)?.server ?? null;
    const subject = await sealedSubject(k, id, parts, server, Boolean(mutation.appeal_id));
    if (subject) subjects.push({ id, ...subject });
  }
  await write(await base.db(), ['outbox', 'attention', 'appeals', 'records'], async (s) => {
    for (const row of acks) await s.outbox.put(row);
    for (const seq of drops) await s.outbox.delete(seq);
    for (const move of moves) {
      await s.outbox.delete(move.seq);
      await s.attention.put(move.sealed);
    }
    for (const subject of subjects) await s[subject.store].put(subject.sealed);
  });
  return { acknowledged: acks.length, attention: moves.length, dropped: drops.length };
}

/** The store's outbox methods, for the sync loop. */
export function outboxMethods(base) {
  const { db, exclusive } = base;
  return {
    /** @returns {Promise<number>} mutations not yet answered by the server (readable while locked) */
    async pendingCount() {
      const rows = await read(await db(), ['outbox'], (s) => s.outbox.getAll());
      return rows.filter((row) => !row.acked).length;
    },

    /**
     * The oldest pending mutations, in seq order, as the wire carries them.
     * @param {number} [limit]
     * @returns {Promise<object[]>}
     */
    async pendingMutations(limit = Infinity) {
      const k = base.key();
      const raws = await read(await db(), ['outbox'], (s) => s.outbox.getAll());
      const pending = raws.filter((row) => !row.acked).slice(0, limit);
      return Promise.all(pending.map(async (raw) => wire(await openRow(k, raw))));
    },

    /**
     * Settle a pushed batch with the server's results (one per mutation, in request order).
     * @param {object[]} batch the mutations sent
     * @param {object[]} results
     */
    applyPushResults: (batch, results) => exclusive(async () => {
      if (batch.length !== results.length) throw new Error('One result per mutation was expected.');
      results.forEach((result, i) => {
        if (result.id !== batch[i].id) throw new Error('The results do not match the batch.');
      });
      return settle(base, batch.map((mutation, i) => ({ mutation, result: results[i] })));
    }),

    /**
     * Move one mutation to "needs attention" with the server's answer (e.g. a 422 naming its index).
     * @param {object} mutation
     * @param {object} result `{status, error, …}`
     */
    moveToAttention: (mutation, result) => exclusive(
      () => settle(base, [{ mutation, result: { status: 'rejected', ...result } }]),
    ),

    /**
     * Give every row held at seq ≥ fromSeq new consecutive seqs from fromSeq, keeping their ids, and send
     * them again (also rows acknowledged before): after 409 seq_gap (fromSeq = last_seq + 1) or a new
     * enrolment (fromSeq = 1). The next new mutation follows them.
     * @param {number} fromSeq
     * @returns {Promise<number>} how many rows were renumbered
     */
    renumberPending: (fromSeq) => exclusive(async () => write(await db(), ['outbox', 'meta'], (s) => renumberIn(s, fromSeq))),

    /**
     * The server stored outcomes up to `lastSeq` for this device: the next new mutation must come after it,
     * or it would be taken for a replay (`seq_reused`). Only ever moves nextSeq forward.
     * @param {number} lastSeq the `last_seq` of a push answer
     */
    noteServerSeq: (lastSeq) => exclusive(async () => write(await db(), ['meta'], async (s) => {
      if (((await s.meta.get('nextSeq')) ?? 1) <= lastSeq) await s.meta.put(lastSeq + 1, 'nextSeq');
    })),
  };
}
