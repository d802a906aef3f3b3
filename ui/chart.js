// SPDX-License-Identifier: LGPL-2.1-or-later
// A sensor's hourly activity (GET /api/v1/sensors/{device}/activity) as a bar chart drawn
// with uPlot (ui/node_modules, copied into the gateway at build time), with the same
// figures as text and as a table for those who do not see the chart.
import uPlot from './uplot.esm.js';
import { api } from './api.js';
import { h, clear } from './dom.js';
import { _, format, formatDay, formatNumber, getLanguage, getTimeZone } from './i18n.js';

const HOUR = 3600;

function dailyTotals(from, hours) {
  const days = [];
  for (let i = 0; i < hours.length; i += 24) {
    const slice = hours.slice(i, i + 24);
    days.push({ start: from + i * HOUR, total: slice.reduce((a, b) => a + b, 0) });
  }
  return days;
}

// Draws the chart of @device over @days (7 or 30) into @container; returns the uPlot.
export async function renderActivity(container, device, days) {
  const activity = await api('GET', '/api/v1/sensors/' + encodeURIComponent(device) + '/activity?days=' + days);
  const from = Math.floor(new Date(activity.from).getTime() / 1000);
  const xs = activity.hours.map((_count, i) => from + i * HOUR);
  const busiest = activity.hours.reduce((best, count, i) => (count > activity.hours[best] ? i : best), 0);
  const timeZone = getTimeZone();

  clear(container);
  const plotHost = h('div', { class: 'chart', role: 'img', 'aria-labelledby': 'chart-summary' });
  const summary = h('p', { id: 'chart-summary' },
    format(_('Readings from {device} in the last {days} days: {total}.'), { device, total: formatNumber(activity.total), days }),
    ' ',
    activity.total > 0
      ? format(_('The busiest hour began {time}.'), {
        time: new Intl.DateTimeFormat(getLanguage(), { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(new Date(xs[busiest] * 1000)),
      })
      : '');
  const table = h('table', {},
    h('caption', {}, _('Readings per day')),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, _('Day')), h('th', { scope: 'col' }, _('Readings')))),
    h('tbody', {}, dailyTotals(from, activity.hours).map((day) =>
      h('tr', {}, h('th', { scope: 'row' }, formatDay(day.start * 1000)), h('td', {}, formatNumber(day.total))))));
  container.append(summary, plotHost, h('details', {}, h('summary', {}, _('Show as a table')), table));

  const width = Math.max(280, container.clientWidth - 8);
  // the axes follow the text size setting and the page's language, as the rest of the page
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const font = Math.round(rem * 0.8) + 'px system-ui, sans-serif';
  const dayFormat = new Intl.DateTimeFormat(getLanguage(), { day: 'numeric', month: 'short', timeZone });
  const hourFormat = new Intl.DateTimeFormat(getLanguage(), { hour: 'numeric', minute: '2-digit', timeZone });
  const timeValues = (_u, splits, _axis, _space, increment) =>
    splits.map((ts) => (increment >= 86400 ? dayFormat : hourFormat).format(new Date(ts * 1000)));
  const options = {
    width,
    height: Math.round(rem * 14),
    tzDate: (ts) => (timeZone ? uPlot.tzDate(new Date(ts * 1000), timeZone) : new Date(ts * 1000)),
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    axes: [
      { stroke: '#1a1a1a', grid: { stroke: '#d0d0d0' }, font, size: rem * 3, space: rem * 5, values: timeValues },
      { stroke: '#1a1a1a', grid: { stroke: '#d0d0d0' }, font, size: rem * 3.5, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
        values: (_u, splits) => splits.map((n) => formatNumber(n)) },
    ],
    series: [
      {},
      {
        label: _('Readings per hour'),
        stroke: '#0b5394',
        fill: '#0b5394',
        width: 0,
        paths: uPlot.paths.bars({ size: [0.9, 40] }),
        points: { show: false },
      },
    ],
  };
  return new uPlot(options, [xs, activity.hours], plotHost);
}
