/**
 * Receipt codes for the tear-off slips: six symbols of Crockford base32, drawn from the WebCrypto random
 * source. The alphabet has exactly 32 symbols, so `byte & 31` maps the 256 byte values onto it evenly
 * (8 each): no modulo bias, no rejection loop.
 */
import { RECEIPT_ALPHABET, RECEIPT_CODE_LENGTH } from '../vocabulary.js';

/** More than a school prints in a year (24 slips a sheet); keeps one call within getRandomValues' limit. */
export const MAX_CODES = 10000;

/**
 * `count` distinct receipt codes, in the order drawn.
 * @param {number} count how many, 0 to MAX_CODES
 * @param {(bytes: Uint8Array) => Uint8Array} [random] fills the array with random bytes (tests pass a fake)
 * @returns {string[]}
 */
export function generateReceiptCodes(count, random = crypto.getRandomValues.bind(crypto)) {
  if (!Number.isSafeInteger(count) || count < 0 || count > MAX_CODES) {
    throw new RangeError(`count must be an integer from 0 to ${MAX_CODES}`);
  }
  const codes = new Set();
  let fruitless = 0; // rounds in a row that added no new code
  while (codes.size < count) {
    const missing = count - codes.size;
    const bytes = new Uint8Array(missing * RECEIPT_CODE_LENGTH);
    random(bytes);
    const before = codes.size;
    for (let i = 0; i < missing; i += 1) {
      let code = '';
      for (let j = 0; j < RECEIPT_CODE_LENGTH; j += 1) code += RECEIPT_ALPHABET[bytes[i * RECEIPT_CODE_LENGTH + j] & 31];
      codes.add(code);
    }
    // Two equal codes would show one writer's answer to another, so a repeat is drawn again. A real source
    // repeats a code about once in a billion draws: three rounds in a row of nothing but repeats mean it is
    // broken, and looping on would hang the page.
    fruitless = codes.size === before ? fruitless + 1 : 0;
    if (fruitless === 3) throw new Error('the random source keeps repeating itself');
  }
  return [...codes];
}
