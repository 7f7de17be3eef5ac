// Receipt codes for the slips: length, alphabet, distinct, and an even use of the random bytes. (The
// renderers need a DOM; tests/browser/test_print.py prints them in Chromium.)
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { MAX_CODES, generateReceiptCodes } from '../../pwa/js/print/codes.js';
import { toReceiptCode } from '../../pwa/js/validation.js';
import { RECEIPT_ALPHABET, RECEIPT_CODE_LENGTH } from '../../pwa/js/vocabulary.js';

const CODE = new RegExp(`^[${RECEIPT_ALPHABET}]{${RECEIPT_CODE_LENGTH}}$`);

/** A fake random source that hands out a fixed byte stream, and counts what it gave. */
function streamOf(bytes) {
  const source = (array) => {
    for (let i = 0; i < array.length; i += 1) {
      assert.ok(source.used < bytes.length, 'the stream ran out');
      array[i] = bytes[source.used];
      source.used += 1;
    }
    return array;
  };
  source.used = 0;
  return source;
}

const rotl8 = (byte, bits) => ((byte << bits) | (byte >> (8 - bits))) & 0xff;

test('the alphabet has 32 symbols, so byte & 31 is unbiased', () => {
  assert.equal(RECEIPT_ALPHABET.length, 32);
  assert.equal(new Set(RECEIPT_ALPHABET).size, 32);
  assert.equal(RECEIPT_CODE_LENGTH, 6);
});

test('codes from the real source: six symbols of the alphabet, all distinct, each one a valid typed code', () => {
  const codes = generateReceiptCodes(500);
  assert.equal(codes.length, 500);
  assert.equal(new Set(codes).size, 500);
  for (const code of codes) {
    assert.match(code, CODE);
    assert.equal(toReceiptCode(code.toLowerCase()), code); // as the pedagogue types it from the letter
  }
  assert.deepEqual(generateReceiptCodes(0), []);
});

test('every byte value is used, and every symbol comes out equally often', () => {
  // 256 codes from 1536 bytes: for the j-th symbol of code i the byte is i rotated left by 3j bits, so every
  // byte value 0–255 is given six times, and the codes differ (symbols 0 and 1 together carry all of i).
  const bytes = [];
  for (let i = 0; i < 256; i += 1) {
    for (let j = 0; j < RECEIPT_CODE_LENGTH; j += 1) bytes.push(rotl8(i, (3 * j) % 8));
  }
  const source = streamOf(bytes);
  const codes = generateReceiptCodes(256, source);
  assert.equal(source.used, bytes.length, 'one byte per symbol, none wasted or drawn twice');
  assert.equal(new Set(codes).size, 256);
  const counts = new Map();
  for (const symbol of codes.join('')) counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort(), [...RECEIPT_ALPHABET].sort());
  assert.deepEqual(new Set(counts.values()), new Set([48]), 'each of 32 symbols from exactly 8 of the 256 byte values');
});

test('a byte maps to the symbol of its low five bits: the high bits never shift the choice', () => {
  const low = [0, 1, 2, 3, 30, 31];
  assert.deepEqual(generateReceiptCodes(1, streamOf(low)), ['0123YZ']);
  assert.deepEqual(generateReceiptCodes(1, streamOf(low.map((b) => b | 0xe0))), ['0123YZ']);
  assert.deepEqual(generateReceiptCodes(1, streamOf(low.map((b) => b | 0x40))), ['0123YZ']);
});

test('a repeated code is drawn again, never printed twice', () => {
  const same = [1, 2, 3, 4, 5, 6];
  const other = [7, 8, 9, 10, 11, 12];
  const source = streamOf([...same, ...same, ...same, ...other]);
  assert.deepEqual(generateReceiptCodes(2, source), ['123456', '789ABC']);
  assert.equal(source.used, 24);
});

test('a broken source that repeats itself fails instead of looping for ever', () => {
  const zeros = (array) => array.fill(0);
  assert.throws(() => generateReceiptCodes(2, zeros), /repeating/);
  assert.deepEqual(generateReceiptCodes(1, zeros), ['000000']);
});

test('the count is checked', () => {
  for (const bad of [-1, 1.5, Number.NaN, '3', MAX_CODES + 1]) {
    assert.throws(() => generateReceiptCodes(bad), RangeError, String(bad));
  }
  assert.equal(generateReceiptCodes(MAX_CODES).length, MAX_CODES); // within getRandomValues' 65,536 bytes
});
