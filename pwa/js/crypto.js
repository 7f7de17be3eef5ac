/**
 * WebCrypto for the local journal: a key derived from the passphrase (PBKDF2-SHA256) wraps a random local
 * AES-GCM key; the local key seals every record. All cryptography of the PWA is here, with its own errors.
 */

/** PBKDF2-SHA256 iterations for a new vault (OWASP 2023 guidance for PBKDF2-HMAC-SHA256). */
export const PBKDF2_ITERATIONS = 600_000;
export const SALT_BYTES = 16;
export const IV_BYTES = 12; // 96-bit AES-GCM nonces, random per encryption
// Binds the wrapped key to its purpose, so no other ciphertext of ours can pass for it.
const LOCAL_KEY_AAD = 'ishenim/local-key/v1';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Base class of this module's errors. */
export class CryptoError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CryptoError';
  }
}

/** The passphrase does not open the wrapped local key. */
export class WrongPassphrase extends CryptoError {
  constructor() {
    super('The passphrase does not open this vault.');
    this.name = 'WrongPassphrase';
    this.code = 'wrong_passphrase';
  }
}

/** A sealed record does not open: another key, another store or id, or altered bytes. */
export class DecryptionFailed extends CryptoError {
  constructor(where) {
    super(`A sealed record does not open (${where}).`);
    this.name = 'DecryptionFailed';
    this.code = 'decryption_failed';
  }
}

/**
 * Random bytes.
 * @param {number} n
 * @returns {Uint8Array}
 */
export function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * The key that wraps the local key, derived from the passphrase. It can only wrap and unwrap keys.
 * @param {string} passphrase normalised to NFC, so the same words typed on another keyboard match
 * @param {Uint8Array} salt 16 random bytes, kept with the vault
 * @param {number} [iterations]
 * @returns {Promise<CryptoKey>}
 */
export async function deriveWrappingKey(passphrase, salt, iterations = PBKDF2_ITERATIONS) {
  const material = await crypto.subtle.importKey('raw', encoder.encode(passphrase.normalize('NFC')), 'PBKDF2', false,
    ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, material,
    { name: 'AES-GCM', length: 256 }, false, ['wrapKey', 'unwrapKey']);
}

/**
 * A new random AES-GCM 256 local key. Extractable only so that it can be wrapped once; the app then works
 * with the non-extractable copy that `unwrapLocalKey` gives.
 * @returns {Promise<CryptoKey>}
 */
export function createLocalKey() {
  return crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
}

/**
 * Wrap the local key for storage: AES-GCM under the wrapping key, with a random IV.
 * @param {CryptoKey} localKey
 * @param {CryptoKey} wrappingKey
 * @returns {Promise<{iv: Uint8Array, wrapped: Uint8Array}>}
 */
export async function wrapLocalKey(localKey, wrappingKey) {
  const iv = randomBytes(IV_BYTES);
  const wrapped = await crypto.subtle.wrapKey('raw', localKey, wrappingKey,
    { name: 'AES-GCM', iv, additionalData: encoder.encode(LOCAL_KEY_AAD) });
  return { iv, wrapped: new Uint8Array(wrapped) };
}

/**
 * Unwrap the stored local key. Non-extractable unless a passphrase change needs to wrap it again.
 * @param {{iv: Uint8Array, wrapped: Uint8Array}} stored
 * @param {CryptoKey} wrappingKey
 * @param {{extractable?: boolean}} [options]
 * @returns {Promise<CryptoKey>}
 * @throws {WrongPassphrase}
 */
export async function unwrapLocalKey({ iv, wrapped }, wrappingKey, { extractable = false } = {}) {
  try {
    return await crypto.subtle.unwrapKey('raw', wrapped, wrappingKey,
      { name: 'AES-GCM', iv, additionalData: encoder.encode(LOCAL_KEY_AAD) },
      { name: 'AES-GCM', length: 256 }, extractable, ['encrypt', 'decrypt']);
  } catch {
    // GCM's tag check is the only thing that tells a wrong passphrase; nothing else is said about it.
    throw new WrongPassphrase();
  }
}

/** The associated data of a record: the store and the id it belongs to. */
function recordAad(store, id) {
  return encoder.encode(`${store}/${id}`);
}

/**
 * Seal a JSON value for a store: AES-GCM under the local key, a random 96-bit IV, `${store}/${id}` as
 * associated data, so the record opens only where it was written.
 * @param {CryptoKey} key
 * @param {string} store
 * @param {string} id
 * @param {*} value anything JSON can carry
 * @returns {Promise<{id: string, iv: Uint8Array, ct: Uint8Array}>}
 */
export async function sealRecord(key, store, id, value) {
  const iv = randomBytes(IV_BYTES);
  const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: recordAad(store, id) }, key,
    encoder.encode(JSON.stringify(value)));
  return { id, iv, ct: new Uint8Array(ct) };
}

/**
 * Open a sealed record of a store.
 * @param {CryptoKey} key
 * @param {string} store
 * @param {{id: string, iv: Uint8Array, ct: Uint8Array}} record
 * @returns {Promise<*>}
 * @throws {DecryptionFailed}
 */
export async function openRecord(key, store, record) {
  let plain;
  try {
    plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: record.iv, additionalData: recordAad(store, record.id) },
      key, record.ct);
  } catch {
    throw new DecryptionFailed(store);
  }
  return JSON.parse(decoder.decode(plain));
}
