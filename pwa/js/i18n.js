/**
 * Languages: the JSON catalogs in `locales/`, `t(key, vars)`, and dates through Intl.
 * Kyrgyz is the default. The chosen language is kept in localStorage: it is not confidential and must be
 * known before the vault is unlocked, to word the unlock screen.
 */

// The spec's languages (sync/spec.json): this module is on the login form's path, which carries no JSON module.
export const LANGUAGES = ['ky', 'ru', 'en'];
export const DEFAULT_LANGUAGE = 'ky';

const INTL_LOCALES = { ky: 'ky-KG', ru: 'ru-RU', en: 'en-GB' };
const STORAGE_KEY = 'ishenim.lang';

let current = DEFAULT_LANGUAGE;
let catalog = {};
const listeners = new Set();
const supported = new Map(); // locale → whether Intl has data for it

/** @returns {string} the language in use: 'ky', 'ru' or 'en' */
export function language() {
  return current;
}

/** @returns {string} the BCP 47 locale Intl formats with, e.g. 'ky-KG' */
export function intlLocale() {
  return INTL_LOCALES[current];
}

/** @returns {string} the language chosen on this device before, or Kyrgyz */
export function savedLanguage() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    return LANGUAGES.includes(saved) ? saved : DEFAULT_LANGUAGE;
  } catch {
    return DEFAULT_LANGUAGE;
  }
}

/**
 * Load a catalog and make it current; tells the listeners (screens re-render in the new language).
 * @param {string} lang one of LANGUAGES
 * @param {{fetch?: typeof fetch, persist?: boolean}} [options] `fetch` for tests
 */
export async function setLanguage(lang, { fetch: fetchFn = globalThis.fetch, persist = true } = {}) {
  if (!LANGUAGES.includes(lang)) lang = DEFAULT_LANGUAGE;
  let messages = inlineCatalog(lang);
  if (!messages) {
    const response = await fetchFn(new URL(`../locales/${lang}.json`, import.meta.url));
    if (!response.ok) throw new Error(`catalog ${lang}: HTTP ${response.status}`);
    messages = await response.json();
  }
  useCatalog(lang, messages);
  if (persist) {
    try {
      localStorage.setItem(STORAGE_KEY, lang);
    } catch {
      // Private mode or storage disabled: the language falls back to Kyrgyz on the next start.
    }
  }
  if (globalThis.document) document.documentElement.lang = lang;
  for (const listener of listeners) listener(lang);
}

/**
 * The catalog the page carries inline, once: server/pwa.py writes the Kyrgyz one (a fresh device's language)
 * into index.html as `<script type="application/json" id="catalog-ky">`. Its bytes come with the page, while
 * the app's files are still a round trip away, so the first screen needs no request of its own for it. Null
 * when absent or unreadable (node tests, a page served otherwise): then the catalog is fetched.
 * @param {string} lang
 * @returns {Object<string, string>|null}
 */
function inlineCatalog(lang) {
  const block = globalThis.document?.getElementById(`catalog-${lang}`);
  if (!block) return null;
  block.remove(); // a later switch back to this language fetches it (from the service worker's cache)
  try {
    return JSON.parse(block.textContent);
  } catch {
    return null;
  }
}

/**
 * Use an already parsed catalog (tests, and setLanguage).
 * @param {string} lang
 * @param {Object<string, string>} messages
 */
export function useCatalog(lang, messages) {
  current = lang;
  catalog = messages;
  supported.clear();
}

/**
 * Be told when the language changes.
 * @param {(lang: string) => void} listener
 * @returns {() => void} unsubscribe
 */
export function onLanguageChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * The message for a key, with `{name}` placeholders filled from `vars`. A missing key shows the key itself
 * (the catalog test keeps that from shipping).
 * @param {string} key
 * @param {Object<string, string|number>} [vars]
 * @returns {string}
 */
export function t(key, vars) {
  const message = Object.hasOwn(catalog, key) ? catalog[key] : key;
  if (!vars) return message;
  return message.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(vars, name) ? String(vars[name]) : whole));
}

/**
 * Whether the catalog has a key (for vocabularies whose keys are built from codes).
 * @param {string} key
 */
export function has(key) {
  return Object.hasOwn(catalog, key);
}

/**
 * The message for a value of a closed vocabulary, e.g. `term('category', 'bullying')`; unknown values
 * (a newer server) fall back to `<group>.unknown_value` with the raw code.
 * @param {string} group 'category', 'role', 'status', 'error', 'event'
 * @param {string} code
 */
export function term(group, code) {
  const key = `${group}.${code}`;
  return has(key) ? t(key) : t('common.unknown_value', { code });
}

const DATE_STYLES = {
  long: { day: 'numeric', month: 'long', year: 'numeric' },
  short: { day: 'numeric', month: 'short', year: 'numeric' },
  numeric: { day: '2-digit', month: '2-digit', year: 'numeric' },
};

/** Whether this browser's Intl has data for a locale (Chromium builds often lack Kyrgyz). */
function intlHas(locale) {
  if (!supported.has(locale)) {
    let has = false;
    try {
      has = Intl.DateTimeFormat.supportedLocalesOf([locale]).length > 0;
    } catch {
      // A very old engine: use the catalogs' own words.
    }
    supported.set(locale, has);
  }
  return supported.get(locale);
}

const pad2 = (n) => String(n).padStart(2, '0');

/** A date from the catalog's month names and pattern, for a language Intl does not know. */
function catalogDate(year, month, day, style) {
  if (style === 'numeric') return `${pad2(day)}.${pad2(month)}.${year}`;
  return t(`date.${style}`, { day, month: t(`date.month_${style}_${month}`), year });
}

/**
 * A calendar date as the user reads it. `YYYY-MM-DD` strings are dates without a time zone, so they are
 * formatted as such, never shifted by the device's zone. Where the browser's Intl lacks the language (Kyrgyz
 * in many Chromium builds) the catalog's month names are used, so no English month ever shows.
 * @param {string|Date} value `YYYY-MM-DD`, an ISO moment, or a Date
 * @param {'long'|'short'|'numeric'} [style]
 * @returns {string}
 */
export function formatDate(value, style = 'long') {
  if (value === null || value === undefined || value === '') return '';
  const isPlainDate = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);
  const date = isPlainDate ? new Date(`${value}T00:00:00Z`) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  if (intlHas(intlLocale())) {
    return new Intl.DateTimeFormat(intlLocale(), { ...DATE_STYLES[style], ...(isPlainDate ? { timeZone: 'UTC' } : {}) }).format(date);
  }
  return isPlainDate
    ? catalogDate(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), style)
    : catalogDate(date.getFullYear(), date.getMonth() + 1, date.getDate(), style);
}

/**
 * A moment as a short date and the time of day, in the device's time zone.
 * @param {string|Date|number} value
 * @returns {string}
 */
export function formatDateTime(value) {
  if (value === null || value === undefined || value === '') return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  if (intlHas(intlLocale())) {
    return new Intl.DateTimeFormat(intlLocale(), {
      day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).format(date);
  }
  const day = catalogDate(date.getFullYear(), date.getMonth() + 1, date.getDate(), 'short');
  return `${day}, ${pad2(date.getHours())}:${pad2(date.getMinutes())}`;
}

/**
 * A number with the locale's grouping. Kyrgyz writes numbers as Russian does (space groups, decimal
 * comma), so Russian data stands in where the browser has no Kyrgyz.
 * @param {number} value
 * @param {Intl.NumberFormatOptions} [options]
 */
export function formatNumber(value, options) {
  const locale = intlHas(intlLocale()) ? intlLocale() : 'ru-RU';
  return new Intl.NumberFormat(locale, options).format(value);
}
