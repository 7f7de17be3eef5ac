// crypto.js: the passphrase-derived wrapping key, the local key, and record sealing with associated data.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  DecryptionFailed, IV_BYTES, PBKDF2_ITERATIONS, SALT_BYTES, WrongPassphrase, createLocalKey, deriveWrappingKey, openRecord,
  randomBytes, sealRecord, unwrapLocalKey, wrapLocalKey,
} from '../../pwa/js/crypto.js';

const FAST = 1_000; // iterations for tests that are not about the iteration count

test('PBKDF2 runs at least 600,000 iterations by default', () => {
  assert.ok(PBKDF2_ITERATIONS >= 600_000);
  assert.equal(SALT_BYTES, 16);
  assert.equal(IV_BYTES, 12);
});

test('the default derivation uses the full iteration count and matches a reference derivation', async () => {
  const salt = new Uint8Array(16).fill(7);
  const wrapping = await deriveWrappingKey('correct horse battery', salt);
  const local = await createLocalKey();
  const stored = await wrapLocalKey(local, wrapping);
  // An independent derivation with the same parameters opens it: PBKDF2-SHA256, 600,000 iterations.
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode('correct horse battery'), 'PBKDF2', false, ['deriveKey']);
  const reference = await crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations: 600_000 }, base,
    { name: 'AES-GCM', length: 256 }, false, ['unwrapKey']);
  await unwrapLocalKey(stored, reference);
});

test('key wrapping round trip: the unwrapped key decrypts what the original encrypted', async () => {
  const salt = randomBytes(SALT_BYTES);
  const local = await createLocalKey();
  const stored = await wrapLocalKey(local, await deriveWrappingKey('correct horse battery', salt, FAST));
  assert.equal(stored.iv.length, 12);
  const sealed = await sealRecord(local, 'appeals', 'a1', { secret: 'Нурай' });
  const unwrapped = await unwrapLocalKey(stored, await deriveWrappingKey('correct horse battery', salt, FAST));
  assert.deepEqual(await openRecord(unwrapped, 'appeals', sealed), { secret: 'Нурай' });
});

test('a passphrase typed in another Unicode normal form opens the same vault', async () => {
  const salt = randomBytes(SALT_BYTES);
  const stored = await wrapLocalKey(await createLocalKey(), await deriveWrappingKey('йод ёлка 2025', salt, FAST));
  await unwrapLocalKey(stored, await deriveWrappingKey('йод ёлка 2025'.normalize('NFD'), salt, FAST));
});

test('a wrong passphrase raises WrongPassphrase', async () => {
  const salt = randomBytes(SALT_BYTES);
  const stored = await wrapLocalKey(await createLocalKey(), await deriveWrappingKey('correct horse battery', salt, FAST));
  await assert.rejects(unwrapLocalKey(stored, await deriveWrappingKey('correct horse batterY', salt, FAST)), WrongPassphrase);
  // The same passphrase with another salt is another key, too.
  await assert.rejects(unwrapLocalKey(stored, await deriveWrappingKey('correct horse battery', randomBytes(16), FAST)), WrongPassphrase);
});

test('the unwrapped local key is not extractable, and is only for encrypting and decrypting', async () => {
  const salt = randomBytes(SALT_BYTES);
  const wrapping = await deriveWrappingKey('correct horse battery', salt, FAST);
  const key = await unwrapLocalKey(await wrapLocalKey(await createLocalKey(), wrapping), wrapping);
  assert.equal(key.extractable, false);
  assert.deepEqual([...key.usages].sort(), ['decrypt', 'encrypt']);
  await assert.rejects(crypto.subtle.exportKey('raw', key));
  assert.equal(wrapping.extractable, false);
  assert.deepEqual([...wrapping.usages].sort(), ['unwrapKey', 'wrapKey']);
});

test('sealed records hide their contents and open only under their store and id', async () => {
  const key = await (async () => {
    const w = await deriveWrappingKey('pass phrase 1', randomBytes(16), FAST);
    return unwrapLocalKey(await wrapLocalKey(await createLocalKey(), w), w);
  })();
  const value = { contents: { summary: 'CANARY-текст' } };
  const sealed = await sealRecord(key, 'appeals', 'id-1', value);
  assert.deepEqual(Object.keys(sealed).sort(), ['ct', 'id', 'iv']);
  assert.equal(sealed.id, 'id-1');
  assert.ok(!new TextDecoder().decode(sealed.ct).includes('CANARY'));
  assert.deepEqual(await openRecord(key, 'appeals', sealed), value);
  // Moved to another id, another store, or altered: it does not open.
  await assert.rejects(openRecord(key, 'appeals', { ...sealed, id: 'id-2' }), DecryptionFailed);
  await assert.rejects(openRecord(key, 'outbox', sealed), DecryptionFailed);
  const altered = new Uint8Array(sealed.ct);
  altered[0] ^= 1;
  await assert.rejects(openRecord(key, 'appeals', { ...sealed, ct: altered }), DecryptionFailed);
  // And under another key neither.
  const other = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  await assert.rejects(openRecord(other, 'appeals', sealed), DecryptionFailed);
});

test('every seal uses a fresh 96-bit IV', async () => {
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const seals = await Promise.all(Array.from({ length: 50 }, () => sealRecord(key, 'appeals', 'same', { same: 1 })));
  const ivs = new Set(seals.map((s) => Buffer.from(s.iv).toString('hex')));
  assert.equal(ivs.size, 50);
  for (const s of seals) assert.equal(s.iv.length, 12);
  assert.equal(new Set(seals.map((s) => Buffer.from(s.ct).toString('hex'))).size, 50);
});

test('wrapping twice gives different IVs and ciphertexts', async () => {
  const local = await createLocalKey();
  const wrapping = await deriveWrappingKey('pass phrase 1', randomBytes(16), FAST);
  const a = await wrapLocalKey(local, wrapping);
  const b = await wrapLocalKey(local, wrapping);
  assert.notDeepEqual(a.iv, b.iv);
  assert.notDeepEqual(a.wrapped, b.wrapped);
});
