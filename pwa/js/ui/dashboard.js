/**
 * The director's dashboard (#/dashboard): the box's figures for this month and this school year, the letters
 * overdue now (by their numbers only), the last opening and meeting with the cadence alerts, the acts waiting
 * for the director, and twelve months drawn as a chart; for the director (and the admin) the notices of new
 * accounts with access to letters, each until the director acknowledges it. Read-only but for that, and
 * online only: the server counts it all from metadata, and nothing of it is kept on the tablet.
 */
import { append, h } from '../dom.js';
import { t, term, formatDate, formatDateTime, formatNumber } from '../i18n.js';
import { describeError } from './errors.js';
import { formMessage, markBusy } from './fields.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const DEFAULT_COLLECTION_EVERY_DAYS = 7;

// The chart's drawing box (viewBox units); the SVG scales to the card's width.
const CHART = { width: 720, height: 250, top: 14, right: 8, bottom: 46, left: 40 };

/**
 * An SVG element, as `h()` builds HTML ones (dom.js creates HTML elements only); text only as text nodes.
 * @param {string} tag
 * @param {Object<string, string|number>|null} attrs
 * @param {...*} children
 */
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined && value !== false) el.setAttribute(name, String(value));
  }
  return append(el, children);
}

/**
 * The top of the chart's scale and its gridlines: whole letters, at most about five steps.
 * @param {number} max the largest monthly count
 * @returns {{top: number, ticks: number[]}}
 */
export function trendScale(max) {
  const raw = Math.max(1, Math.ceil(max / 5));
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const ticks = [];
  for (let tick = 0; tick <= top; tick += step) ticks.push(tick);
  return { top, ticks };
}

/** "March 2025" for 'YYYY-MM'. */
export function monthName(month) {
  const [year, n] = month.split('-').map(Number);
  return `${t(`report.month_${n}`)} ${year}`;
}

/** A share (0..1) as a percentage, e.g. "67 %". */
function percent(share) {
  return formatNumber(share, { style: 'percent', maximumFractionDigits: 0 });
}

/** The twelve months as bars (received) and a line with dots (answered), with the same numbers in a table. */
function trendChart(trend) {
  const { width, height, top, right, bottom, left } = CHART;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const scale = trendScale(Math.max(0, ...trend.map((m) => Math.max(m.received, m.answered))));
  const slot = plotWidth / Math.max(1, trend.length);
  const barWidth = Math.round(slot * 0.56);
  const y = (value) => top + plotHeight - (value / scale.top) * plotHeight;
  const centre = (i) => left + slot * i + slot / 2;
  const round = (n) => Math.round(n * 10) / 10;
  const label = t('dashboard.trend_label', {
    from: trend.length ? monthName(trend[0].month) : '', to: trend.length ? monthName(trend.at(-1).month) : '',
  });

  const grid = scale.ticks.map((tick) => svg('g', { class: 'trend-tick' },
    svg('line', { x1: left, x2: width - right, y1: round(y(tick)), y2: round(y(tick)), class: tick === 0 ? 'trend-axis' : 'trend-grid' }),
    svg('text', { x: left - 8, y: round(y(tick)) + 5, 'text-anchor': 'end', class: 'trend-tick-label' }, formatNumber(tick))));
  const bars = trend.map((m, i) => svg('rect', {
    class: 'trend-bar',
    x: round(centre(i) - barWidth / 2),
    y: round(y(m.received)),
    width: barWidth,
    height: round(top + plotHeight - y(m.received)),
    rx: 3,
    'data-month': m.month,
  }, svg('title', null, t('dashboard.trend_bar', { month: monthName(m.month), received: m.received, answered: m.answered }))));
  const months = trend.map((m, i) => {
    const [year, n] = m.month.split('-').map(Number);
    const base = top + plotHeight;
    return svg('g', { class: 'trend-month' },
      svg('text', { x: round(centre(i)), y: base + 18, 'text-anchor': 'middle', class: 'trend-month-label' }, t(`date.month_short_${n}`)),
      (i === 0 || n === 1) && svg('text', { x: round(centre(i)), y: base + 36, 'text-anchor': 'middle', class: 'trend-year-label' }, String(year)));
  });
  const points = trend.map((m, i) => `${round(centre(i))},${round(y(m.answered))}`).join(' ');
  const line = svg('polyline', { class: 'trend-line', points });
  const dots = trend.map((m, i) => svg('circle', { class: 'trend-dot', cx: round(centre(i)), cy: round(y(m.answered)), r: 4.5 }));

  const chart = svg('svg', {
    class: 'trend-chart', role: 'img', 'aria-label': label, viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: 'xMidYMid meet',
  }, grid, bars, line, dots, months);
  const legend = h('p', { class: 'trend-legend', 'aria-hidden': 'true' },
    h('span', { class: 'trend-key trend-key-received' }, t('dashboard.trend_received')),
    h('span', { class: 'trend-key trend-key-answered' }, t('dashboard.trend_answered')));
  // The wrapper hides it: a table would grow to its content whatever width the class gives it.
  const table = h('div', { class: 'visually-hidden' }, h('table', { class: 'trend-table' },
    h('caption', null, label),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('dashboard.trend_month')),
      h('th', { scope: 'col' }, t('dashboard.trend_received')),
      h('th', { scope: 'col' }, t('dashboard.trend_answered')))),
    h('tbody', null, trend.map((m) => h('tr', null,
      h('th', { scope: 'row' }, monthName(m.month)),
      h('td', null, formatNumber(m.received)),
      h('td', null, formatNumber(m.answered)))))));
  return h('section', { class: 'card dash-card dash-trend', 'aria-labelledby': 'dash-trend-title' },
    h('h2', { id: 'dash-trend-title' }, t('dashboard.trend')),
    h('div', { class: 'trend-frame' }, chart),
    legend,
    table,
    h('p', { class: 'muted small' }, t('dashboard.trend_note')));
}

/** Label and value rows of a period's card. */
function figureList(rows) {
  return h('dl', { class: 'dash-figures' }, rows.filter(Boolean).map(([label, value]) => h('div', { class: 'dash-figure' },
    h('dt', null, label), h('dd', null, value))));
}

/** The non-zero counts of a vocabulary, largest first; "none" when all are zero. */
function breakdown(title, group, counts) {
  const rows = Object.entries(counts ?? {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  return h('div', { class: 'dash-breakdown' },
    h('h3', null, title),
    rows.length === 0
      ? h('p', { class: 'muted' }, t('dashboard.none'))
      : h('ul', { class: 'plain-list' }, rows.map(([code, n]) => h('li', { class: 'dash-breakdown-row' },
        h('span', null, term(group, code)), h('span', { class: 'dash-count' }, formatNumber(n))))));
}

/** One period's card: this month or this school year. */
function periodCard(kind, title, f) {
  const withShare = (count, share) => (typeof share === 'number' ? `${formatNumber(count)} (${percent(share)})` : formatNumber(count));
  return h('section', { class: ['card', 'dash-card', `dash-period dash-${kind}`], 'aria-labelledby': `dash-${kind}-title` },
    h('h2', { id: `dash-${kind}-title` }, title),
    h('p', { class: 'muted small dash-period-dates' }, `${formatDate(f.from, 'long')} – ${formatDate(f.to, 'long')}`),
    h('p', { class: 'dash-big' },
      h('span', { class: 'dash-big-number' }, formatNumber(f.received)),
      h('span', { class: 'dash-big-label' }, t('dashboard.received'))),
    figureList([
      [t('dashboard.anonymous'), withShare(f.anonymous, f.anonymous_share)],
      [t('dashboard.not_accepted'), formatNumber(f.not_accepted)],
      [t('dashboard.referred'), formatNumber(f.referred)],
      [t('dashboard.answered'), formatNumber(f.answered)],
      [t('dashboard.on_time'), withShare(f.answered_on_time, f.answered_on_time_share)],
      [t('dashboard.average_days'), typeof f.average_days_to_answer === 'number'
        ? formatNumber(f.average_days_to_answer, { maximumFractionDigits: 1 }) : '—'],
      [t('dashboard.closed'), formatNumber(f.closed)],
    ]),
    breakdown(t('dashboard.by_category'), 'category', f.by_category),
    breakdown(t('dashboard.by_role'), 'role', f.by_applicant_role),
    breakdown(t('dashboard.measures'), 'measure', f.measures));
}

/** "№ 12", with the school year when it is not this one: the number and nothing else of the letter. */
function overdueMark(letter, currentYear) {
  const mark = `№ ${letter.serial_no}`;
  return letter.school_year === currentYear ? mark : `${mark} (${letter.school_year}–${letter.school_year + 1})`;
}

function overdueCard(overdue, currentYear) {
  const letters = overdue?.letters ?? [];
  return h('section', { class: ['card', 'dash-card', 'dash-overdue', letters.length > 0 && 'has-overdue'], 'aria-labelledby': 'dash-overdue-title' },
    h('h2', { id: 'dash-overdue-title' }, t('dashboard.overdue')),
    letters.length === 0
      ? h('p', { class: 'muted' }, t('dashboard.overdue_none'))
      : [h('p', { class: 'dash-overdue-count' }, t('dashboard.overdue_count', { count: formatNumber(overdue.count) })),
        h('ul', { class: 'plain-list overdue-list' }, letters.map((letter) => h('li', { class: 'chip chip-overdue' }, overdueMark(letter, currentYear)))),
        h('p', { class: 'muted small' }, t('dashboard.overdue_note'))]);
}

function actLink(act) {
  return h('li', null, h('a', { class: 'record-row', href: `#/opening/${act.id}` },
    h('span', null, t('opening.title', { date: formatDateTime(act.opened_at) })),
    h('span', { class: 'muted' }, t('opening.letters_count', { count: formatNumber(act.letters_count) }))));
}

/** Words for the server's cadence alerts, as the journal words its own (openings.js). */
function alertText(code, school) {
  if (code === 'no_collection') {
    return t('cadence.no_collection', { days: school?.collection_every_days ?? DEFAULT_COLLECTION_EVERY_DAYS });
  }
  return code === 'no_act' ? t('cadence.no_act') : t('common.unknown_value', { code });
}

function boxCard(data, school) {
  const opening = data.last_opening;
  const meeting = data.last_meeting;
  const awaiting = data.acts_awaiting ?? [];
  return h('section', { class: 'card dash-card dash-box', 'aria-labelledby': 'dash-box-title' },
    h('h2', { id: 'dash-box-title' }, t('dashboard.box')),
    (data.alerts ?? []).map((code) => h('p', { class: 'form-message form-message-warning cadence-alert', role: 'status' }, alertText(code, school))),
    figureList([
      [t('dashboard.last_opening'), opening
        ? [h('span', { class: 'dash-line' }, formatDateTime(opening.opened_at)),
          h('span', { class: 'dash-line muted' }, t('opening.letters_count', { count: formatNumber(opening.letters_count) }), ' · ',
            opening.acknowledged_at ? t('opening.acknowledged') : t('opening.awaiting_director'))]
        : h('span', { class: 'muted' }, t('dashboard.never'))],
      [t('dashboard.last_meeting'), meeting ? formatDate(meeting.held_on, 'long') : h('span', { class: 'muted' }, t('dashboard.never'))],
    ]),
    awaiting.length > 0 && h('div', { class: 'dash-acts' },
      h('h3', null, t('journal.acts_awaiting', { count: formatNumber(awaiting.length) })),
      h('ul', { class: 'record-list acts-awaiting-list' }, awaiting.map(actLink))));
}

/**
 * What an online-only screen shows when the server cannot be asked: offline in words of its own, anything
 * else (no right, an expired session) as the error it is.
 * @param {string} title the screen's heading
 * @param {*} error
 * @param {string} offlineText why the screen needs the network
 * @param {() => void} retry
 */
export function unavailableView(title, error, offlineText, retry) {
  const offline = error?.name === 'NetworkError';
  return h('section', { class: 'screen' },
    h('h1', null, title),
    h('div', { class: ['card', offline ? 'needs-network' : 'dash-error'] },
      offline && h('h2', null, t('dashboard.needs_network_title')),
      h('p', { class: ['form-message', offline ? 'form-message-warning' : 'form-message-error'], role: 'status' },
        offline ? offlineText : describeError(error)),
      h('button', { type: 'button', class: 'button button-secondary', onclick: retry }, t('dashboard.retry'))));
}

/**
 * Ask the server, or fail at once when the browser knows it is offline (rather than wait for a timeout).
 * @template T
 * @param {() => Promise<T>} call
 * @returns {Promise<T>}
 */
export async function online(call) {
  if (globalThis.navigator?.onLine === false) {
    const error = new Error('offline');
    error.name = 'NetworkError';
    throw error;
  }
  return call();
}

/**
 * One notice's words: the account, its role, who created it and when.
 * @param {{user: {full_name: string, role: string}, created_by: {full_name: string, role: string}|null, created_at: string}} notice
 * @returns {{name: string, role: string, by: string, at: string}}
 */
export function noticeWords(notice) {
  return {
    name: notice.user?.full_name ?? '',
    role: term('user_role', notice.user?.role),
    by: notice.created_by ? `${notice.created_by.full_name} (${term('user_role', notice.created_by.role)})` : t('dashboard.notice_by_cli'),
    at: formatDateTime(notice.created_at),
  };
}

/** The notices of new accounts that read letters; the director acknowledges each (the admin only sees them). */
function noticesCard(app, notices) {
  const director = app.session?.user?.role === 'director';
  const message = formMessage();
  const list = h('ul', { class: 'plain-list notice-list' });
  const card = h('section', { class: 'card dash-card dash-notices', 'aria-labelledby': 'dash-notices-title' },
    h('h2', { id: 'dash-notices-title' }, t('dashboard.notices')),
    message,
    list);
  function draw(items) {
    card.hidden = items.length === 0;
    list.replaceChildren(...items.map((notice) => {
      const words = noticeWords(notice);
      const acknowledge = director && h('button', {
        type: 'button', class: 'button button-small button-secondary', 'data-action': 'acknowledge',
        onclick: async (event) => {
          message.hide();
          const restore = markBusy(event.currentTarget, t('dashboard.notice_acknowledging'));
          try {
            const answer = await online(() => app.api.acknowledgeNotice(app.session?.token, notice.user.id));
            draw(answer?.notices ?? []);
          } catch (error) {
            restore();
            message.show(describeError(error));
          }
        },
      }, t('dashboard.notice_acknowledge'));
      return h('li', { class: 'notice-item form-message form-message-warning', dataset: { user: notice.user?.id ?? '' } },
        h('p', null, h('strong', null, t('dashboard.notice_title')), ' ',
          t('dashboard.notice_text', { name: words.name, role: words.role, by: words.by, at: words.at })),
        acknowledge);
    }));
  }
  draw(notices);
  return card;
}

/**
 * @param {object} app
 * @returns {Promise<HTMLElement>}
 */
export async function render(app) {
  let data;
  let notices = [];
  const role = app.session?.user?.role;
  try {
    // The notices are asked beside the figures; a failure of theirs leaves the figures shown.
    const asked = role === 'director' || role === 'admin'
      ? app.api.auditNotices(app.session?.token).then((answer) => answer?.notices ?? [], () => [])
      : Promise.resolve([]);
    [data, notices] = await Promise.all([online(() => app.api.dashboard(app.session?.token)), asked]);
  } catch (error) {
    return unavailableView(t('dashboard.title'), error, t('dashboard.needs_network'), () => app.navigate(location.hash));
  }
  const school = app.session?.school;
  const currentYear = Number(String(data.school_year?.from ?? '').slice(0, 4));
  return h('section', { class: 'screen screen-wide dashboard' },
    h('div', { class: 'screen-title-row' },
      h('div', null,
        h('h1', null, t('dashboard.title')),
        h('p', { class: 'muted' }, t('dashboard.intro', { date: formatDate(data.today, 'long') }))),
      h('div', { class: 'title-actions' },
        h('a', { href: '#/report', class: 'button button-secondary' }, t('report.nav')))),
    notices.length > 0 && noticesCard(app, notices),
    h('div', { class: 'dash-grid' },
      periodCard('month', t('dashboard.month'), data.month),
      periodCard('year', t('dashboard.school_year'), data.school_year),
      overdueCard(data.overdue, currentYear),
      boxCard(data, school)),
    trendChart(data.trend ?? []));
}
