/**
 * Plain SVG charts, written as text: line charts (linear or log axes) and grouped bar charts.
 * No chart library: the few hundred bytes of markup a chart needs are easier to own than a
 * dependency, and the files diff and render anywhere (GitHub shows them inline).
 */

export interface Series {
  name: string;
  points: [number, number][];
  /** Drawn dashed: reference lines such as "offered". */
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  /** Fixes the top of a linear y axis (a CDF ends at 1). */
  yMax?: number;
  /** A horizontal reference line, e.g. a goal. */
  goal?: { y: number; label: string };
}

export interface BarChart {
  title: string;
  yLabel: string;
  groups: string[];
  series: { name: string; values: number[] }[];
}

const W = 720;
const H = 400;
const M = { left: 72, right: 200, top: 40, bottom: 56 };
const COLORS = ['#d62728', '#1f77b4', '#7f7f7f', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const FONT = 'font-family="system-ui, sans-serif"';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a >= 10 || a === 0) return `${+v.toPrecision(3)}`;
  return `${+v.toPrecision(2)}`;
}

interface Axis {
  map(v: number): number;
  ticks: number[];
}

function axis(min: number, max: number, log: boolean, from: number, to: number, exact = false): Axis {
  if (log) {
    const lo = Math.floor(Math.log10(Math.max(min, 1e-3)));
    const hi = Math.ceil(Math.log10(Math.max(max, 1e-3 * 10)));
    const span = hi - lo || 1;
    const ticks: number[] = [];
    for (let e = lo; e <= hi; e += 1) for (const m of span > 4 ? [1] : [1, 2, 5]) ticks.push(m * 10 ** e);
    return {
      map: (v) => from + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / span) * (to - from),
      ticks: ticks.filter((t) => t <= 10 ** hi),
    };
  }
  const top = exact ? max : max > 0 ? max * 1.05 : 1;
  const step = niceStep(top / 5);
  const ticks = [0];
  while (ticks.at(-1)! < top) ticks.push(ticks.length * step);
  const end = ticks.at(-1)!;
  return { map: (v) => from + (v / end) * (to - from), ticks };
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" ${FONT} font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="24" font-size="15" font-weight="600">${esc(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function legend(names: string[], dashed: boolean[] = []): string[] {
  return names.flatMap((name, i) => {
    const y = M.top + 10 + i * 20;
    const x = W - M.right + 16;
    const dash = dashed[i] ? ' stroke-dasharray="5 3"' : '';
    return [
      `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${COLORS[i % COLORS.length]}" stroke-width="3"${dash}/>`,
      `<text x="${x + 28}" y="${y + 4}">${esc(name)}</text>`,
    ];
  });
}

export function lineChart(chart: LineChart): string {
  const all = chart.series
    .flatMap((s) => s.points)
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).concat(chart.goal ? [chart.goal.y] : []);
  const x = axis(
    Math.min(...xs, chart.logX ? Infinity : 0),
    Math.max(...xs, 1),
    Boolean(chart.logX),
    M.left,
    W - M.right,
  );
  const y = axis(
    Math.min(...ys, chart.logY ? Infinity : 0),
    chart.yMax ?? Math.max(...ys, 1),
    Boolean(chart.logY),
    H - M.bottom,
    M.top,
    chart.yMax !== undefined,
  );
  const body: string[] = [];
  for (const t of x.ticks) {
    const px = x.map(t).toFixed(1);
    body.push(`<line x1="${px}" y1="${M.top}" x2="${px}" y2="${H - M.bottom}" stroke="#eee"/>`);
    body.push(`<text x="${px}" y="${H - M.bottom + 16}" text-anchor="middle">${formatNumber(t)}</text>`);
  }
  for (const t of y.ticks) {
    const py = y.map(t).toFixed(1);
    body.push(`<line x1="${M.left}" y1="${py}" x2="${W - M.right}" y2="${py}" stroke="#eee"/>`);
    body.push(`<text x="${M.left - 6}" y="${py}" dy="4" text-anchor="end">${formatNumber(t)}</text>`);
  }
  body.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#999"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 14}" text-anchor="middle">${esc(chart.xLabel)}</text>`,
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(chart.yLabel)}</text>`,
  );
  if (chart.goal) {
    const py = y.map(chart.goal.y).toFixed(1);
    body.push(
      `<line x1="${M.left}" y1="${py}" x2="${W - M.right}" y2="${py}" stroke="#000" stroke-dasharray="2 4"/>`,
      `<text x="${W - M.right - 4}" y="${py}" dy="-4" text-anchor="end">${esc(chart.goal.label)}</text>`,
    );
  }
  chart.series.forEach((s, i) => {
    const pts = s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
    if (!pts.length) return;
    const color = COLORS[i % COLORS.length];
    const d = pts.map(([px, py]) => `${x.map(px).toFixed(1)},${y.map(py).toFixed(1)}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
    body.push(`<polyline points="${d}" fill="none" stroke="${color}" stroke-width="2.5"${dash}/>`);
    if (pts.length < 30) {
      for (const [px, py] of pts) {
        body.push(
          `<circle cx="${x.map(px).toFixed(1)}" cy="${y.map(py).toFixed(1)}" r="3.5" fill="${color}"/>`,
        );
      }
    }
  });
  body.push(
    ...legend(
      chart.series.map((s) => s.name),
      chart.series.map((s) => Boolean(s.dashed)),
    ),
  );
  return frame(chart.title, body);
}

export function barChart(chart: BarChart): string {
  const values = chart.series.flatMap((s) => s.values).filter(Number.isFinite);
  const y = axis(0, Math.max(...values, 1), false, H - M.bottom, M.top);
  const body: string[] = [];
  for (const t of y.ticks) {
    const py = y.map(t).toFixed(1);
    body.push(`<line x1="${M.left}" y1="${py}" x2="${W - M.right}" y2="${py}" stroke="#eee"/>`);
    body.push(`<text x="${M.left - 6}" y="${py}" dy="4" text-anchor="end">${formatNumber(t)}</text>`);
  }
  const groupWidth = (W - M.left - M.right) / chart.groups.length;
  const barWidth = (groupWidth * 0.8) / chart.series.length;
  chart.groups.forEach((group, g) => {
    const gx = M.left + g * groupWidth + groupWidth * 0.1;
    body.push(
      `<text x="${gx + groupWidth * 0.4}" y="${H - M.bottom + 16}" text-anchor="middle">${esc(group)}</text>`,
    );
    chart.series.forEach((s, i) => {
      const v = s.values[g];
      if (v === undefined || !Number.isFinite(v)) return;
      const top = y.map(v);
      const bx = gx + i * barWidth;
      body.push(
        `<rect x="${bx.toFixed(1)}" y="${top.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(H - M.bottom - top).toFixed(1)}" fill="${COLORS[i % COLORS.length]}"/>`,
        `<text x="${(bx + barWidth / 2).toFixed(1)}" y="${(top - 4).toFixed(1)}" text-anchor="middle" font-size="10">${formatNumber(v)}</text>`,
      );
    });
  });
  body.push(
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#999"/>`,
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(chart.yLabel)}</text>`,
    ...legend(chart.series.map((s) => s.name)),
  );
  return frame(chart.title, body);
}
