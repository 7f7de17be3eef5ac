/**
 * One slip, one letter: before a letter is saved with a receipt code, the letter already holding that code,
 * if any. First among the letters this tablet knows (its pulled letters with its unsent work), offline too;
 * then, online, the server's word for the whole school (`POST /api/v1/receipt-codes/check`). The server
 * refuses a second letter with the code anyway (`receipt_code_used`); this only says so before saving.
 */
import { h } from '../dom.js';
import { formatDate, formatNumber, t } from '../i18n.js';
import { receiptHolder } from '../history.js';
import { toReceiptCode } from '../validation.js';

/**
 * @param {object} app
 * @param {string} code as typed
 * @param {string|null} [exceptId] the letter being corrected or resent
 * @returns {Promise<{id: string, serial_no: number|null, provisional_no?: number|null, school_year: number|null,
 *   received_on: string|null}|null>}
 */
export async function receiptCodeHolder(app, code, exceptId = null) {
  const wanted = toReceiptCode(code ?? '');
  if (!wanted) return null;
  const local = receiptHolder(wanted, await app.store.listAppeals(), exceptId);
  if (local) return local;
  const token = app.session?.token;
  if (!token || globalThis.navigator?.onLine === false) return null;
  try {
    const { held_by: held } = await app.api.checkReceiptCode(token, wanted);
    return held && held.id !== exceptId ? held : null;
  } catch {
    return null; // offline or refused: the local check stands, and the server checks again on sending
  }
}

/**
 * "Letter No. 12 of 10.03.2025", or with the provisional mark for a letter not yet numbered.
 * @param {{serial_no?: number|null, provisional_no?: number|null, received_on?: string|null}} holder
 */
export function holderLabel(holder) {
  const date = holder.received_on ? formatDate(holder.received_on) : '—';
  return holder.serial_no
    ? t('receipt.held_by', { number: formatNumber(holder.serial_no), date })
    : t('receipt.held_by_provisional', { mark: `~${holder.provisional_no ?? ''}`, date });
}

/**
 * The form's words for a code held by another letter: which one, with a link to open it.
 * @param {object} holder
 * @returns {HTMLElement}
 */
export function holderMessage(holder) {
  return h('span', { class: 'receipt-used' },
    t('receipt.used', { letter: holderLabel(holder) }), ' ',
    holder.id && h('a', { href: `#/letter/${holder.id}`, class: 'receipt-holder-link' }, t('receipt.open_holder')));
}
