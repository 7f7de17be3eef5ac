/**
 * The JavaScript twin of sync/chain.py: canonical bytes of a record and the per-school SHA-256 hash chain,
 * so the tablet can check a chain head the same way `flask --app wsgi verify` does (PROTOCOL.md §9).
 */

export const GENESIS = '0'.repeat(64);

const encoder = new TextEncoder();

/** Compare two strings by Unicode code point (Array.prototype.sort compares UTF-16 units). */
function compareCodePoints(a, b) {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    const diff = left[i].codePointAt(0) - right[i].codePointAt(0);
    if (diff) return diff;
  }
  return left.length - right.length;
}

function canonicalText(value) {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    // Records hold integers up to 2^53 - 1 only: floats would be written differently by Python.
    if (!Number.isSafeInteger(value)) throw new TypeError('canonical records hold integers up to 2^53 - 1 only');
    return String(value);
  }
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new TypeError('canonical records hold no lone surrogates');
    return JSON.stringify(value); // escapes exactly what Python's json.dumps(ensure_ascii=False) escapes
  }
  if (Array.isArray(value)) return `[${value.map(canonicalText).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort(compareCodePoints);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalText(value[k])}`).join(',')}}`;
  }
  throw new TypeError(`not a JSON value: ${typeof value}`);
}

/**
 * The canonical UTF-8 bytes of a record: keys sorted by code point at every depth, no whitespace.
 * @param {object} record
 * @returns {Uint8Array}
 */
export function canonicalBytes(record) {
  return encoder.encode(canonicalText(record));
}

function hexToBytes(hex) {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new TypeError('a hash is 64 lower-case hex digits');
  return Uint8Array.from(hex.match(/../g), (pair) => parseInt(pair, 16));
}

/**
 * SHA-256 over the previous hash (32 raw bytes) followed by the record's canonical bytes, as lower-case hex.
 * @param {string} prevHash
 * @param {object} record
 * @returns {Promise<string>}
 */
export async function chainHash(prevHash, record) {
  const body = canonicalBytes(record);
  const input = new Uint8Array(32 + body.length);
  input.set(hexToBytes(prevHash));
  input.set(body, 32);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', input));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
