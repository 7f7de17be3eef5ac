/**
 * Words for the server's stable error codes (sync/PROTOCOL.md §3–§6) and for the client's own failures.
 * The server's English `message` is for developers and never shown; the code is.
 */
import { t, has } from '../i18n.js';

/**
 * Every code the server may answer with, worded in the catalogs as `error.<code>`.
 * tests/js/i18n.test.mjs checks this list against sync/PROTOCOL.md and the catalogs.
 */
export const SERVER_ERROR_CODES = [
  // any endpoint
  'bad_request', 'invalid_json', 'not_found', 'method_not_allowed', 'payload_too_large', 'unsupported_media_type',
  'validation_error', 'too_many_requests', 'internal_error',
  // logging in and bearer tokens
  'invalid_credentials', 'account_disabled', 'device_revoked', 'missing_token', 'invalid_token', 'token_expired',
  'too_many_attempts', 'wrong_password', 'password_too_short',
  'unauthorized', 'forbidden', 'conflict',
  // push: whole request
  'device_mismatch', 'role_not_allowed', 'seq_gap', 'too_many_mutations',
  // push: one mutation
  'appeal_exists', 'appeal_not_found', 'received_in_future', 'received_too_early', 'invalid_amendment',
  'school_year_changed', 'stale_version', 'seq_reused', 'id_conflict', 'unknown_event',
  // push: the case work, openings and meetings (sync/rules.py)
  'date_before_received', 'date_in_future', 'appeal_not_accepted', 'appeal_closed', 'case_work_started',
  'meeting_not_found', 'referral_not_found', 'feedback_recorded_already', 'date_before_referral',
  'anonymous_in_person', 'signed_on_stand', 'answer_not_found', 'not_on_stand', 'notice_posted_already',
  'notice_removed_already', 'notice_not_posted', 'date_before_answer', 'date_before_posting', 'not_answered',
  'record_exists', 'opening_not_found', 'acknowledged_already', 'member_listed_twice', 'member_not_confirmed',
  'no_quorum', 'anonymity_after_answer', 'received_after_case_work', 'received_before_opening',
  'presented_already', 'appeal_erased', 'receipt_code_used', 'id_reused',
  // pull
  'cursor_ahead',
  // the admin's screens
  'user_not_found', 'username_taken', 'own_account', 'device_not_found', 'director_protected',
];

/** Codes of the PWA's own errors (vault.js, crypto.js, store.js, rules.js), worded as `error.<code>`. */
export const CLIENT_ERROR_CODES = [
  'network', 'locked', 'wrong_passphrase', 'unlock_waiting', 'passphrase_too_short', 'vault_exists', 'no_vault',
  'decryption_failed', 'validation_failed', 'registration_needs_attention', 'item_not_found', 'id_held_here',
];

/**
 * The localised message for a server error code.
 * @param {string|null|undefined} code
 * @returns {string}
 */
export function codeMessage(code) {
  if (code && has(`error.${code}`)) return t(`error.${code}`);
  return t('error.unknown', { code: code || '?' });
}

/**
 * The localised message for anything a call to the server or the vault threw.
 * Network failures, HTTP errors with a code (api.js's HttpError) and anything else.
 * @param {*} error
 * @returns {string}
 */
export function describeError(error) {
  if (!error) return t('error.unknown', { code: '?' });
  if (error.name === 'NetworkError') return t('error.network');
  // store.js's NotFound shares the server's 'not_found' code but means a local row, not a URL.
  if (error.name === 'NotFound' && error.status === undefined) return t('error.item_not_found');
  if (typeof error.code === 'string' && has(`error.${error.code}`)) return t(`error.${error.code}`);
  if (typeof error.status === 'number') {
    if (error.status >= 500) return t('error.internal_error');
    return t('error.unknown', { code: error.code || error.status });
  }
  return t('error.unexpected');
}
