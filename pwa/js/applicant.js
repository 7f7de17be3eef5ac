/**
 * How a letter's applicant is named to a reader, the same on the screens (`ui/`) and on paper (`print/`),
 * which draw from here rather than from each other.
 */
import { t } from './i18n.js';

/**
 * The applicant as the journal column shows it: the name, or «анонимдүү».
 * @param {object} view
 * @returns {string}
 */
export function applicantLabel(view) {
  if (view.anonymous) return t('letter.anonymous_mark');
  if (view.erased) return t('letter.erased_chip'); // the name went with the contents (retention)
  if (view.contents_hidden) return t('letter.hidden'); // a reader the server sends no contents to
  const name = view.contents?.applicant?.full_name;
  return name && name.trim() ? name : t('letter.no_name');
}
