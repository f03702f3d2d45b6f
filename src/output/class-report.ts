/** The class report's outputs: a terminal table, CSV, and one self-contained HTML page (no script, no external file). */
import type { Cell, ClassReport } from '../class/report.js';

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** "02:31" today, "12-01 02:31" on another day (UTC, as the timestamps are). */
export function shortTime(iso: string | undefined, now: string): string {
  if (!iso) return '';
  return iso.slice(0, 10) === now.slice(0, 10) ? iso.slice(11, 16) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

/** A cell in words: "passed", "3 failing" (checks of the section that fail), "not started", "?". */
export function cellText(c: Cell): string {
  if (c.state === 'passed') return 'passed';
  if (c.state === 'failing') return `${c.total - c.pass} failing`;
  if (c.state === 'not started') return 'not started';
  return '?';
}

export function formatClassTable(r: ClassReport, color = false): string {
  const paint = (s: string, code: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const tone = { passed: '32', failing: '31', 'not started': '2', unknown: '33' } as const;
  const W = 17;
  const out = [
    `class ${r.class}: ${r.rows.length} learner${r.rows.length === 1 ? '' : 's'}, checked at ${r.at.slice(0, 16).replace('T', ' ')} UTC (${(r.durationMs / 1000).toFixed(1)} s)`,
    '',
    [pad('learner', 8), pad('lab', 14), pad('at', 5), ...r.sections.map((s) => pad(s.id, W))].join(' ').trimEnd(),
  ];
  for (const row of r.rows) {
    const head = [pad(row.learner, 8), pad(row.lab, 14), pad(row.current ?? '-', 5)].join(' ');
    if (row.error) {
      out.push(`${head} ${paint(`cannot check: ${row.error}`, '33')}`);
      continue;
    }
    const cells = row.cells.map((c) => {
      const text = c.state === 'not started' ? cellText(c) : `${cellText(c)} ${shortTime(c.since, r.at)}`;
      return paint(pad(text, W), tone[c.state]);
    });
    out.push(`${head} ${cells.join(' ')}`.trimEnd());
  }
  const passed = r.sections.map((s) => r.rows.filter((row) => row.cells.find((c) => c.section === s.id)?.state === 'passed').length);
  out.push('', [pad('passed', 8 + 1 + 14 + 1 + 5), ...passed.map((n) => pad(`${n} of ${r.rows.length}`, W))].join(' ').trimEnd());
  const errors = r.rows.filter((row) => row.error).length;
  if (errors) out.push(`${errors} lab${errors === 1 ? '' : 's'} could not be checked: \`npm run class:status\` shows which are running.`);
  return `${out.join('\n')}\n`;
}

const csvField = (v: string | number) => {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** One line per learner and section: learner, lab, section, state, pass, total, since, error. */
export function classCsv(r: ClassReport): string {
  const lines = [['learner', 'lab', 'section', 'state', 'checks_passing', 'checks', 'since', 'error'].join(',')];
  for (const row of r.rows)
    for (const c of row.cells) lines.push([row.learner, row.lab, c.section, c.state, c.pass, c.total, c.since ?? '', row.error ?? ''].map(csvField).join(','));
  return `${lines.join('\n')}\n`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const CSS = `
body{font-family:"IPAGothic",sans-serif;margin:0;color:#1d2330;background:#fff}
header{background:#1d2330;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c9d1e0}
main{padding:20px 24px}
table{border-collapse:collapse;font-size:14px}
th,td{border:1px solid #cfd6e4;padding:6px 10px;text-align:left;vertical-align:top}
td.lab{white-space:nowrap}
thead th{background:#eef1f7}
td.passed{background:#d9f2df;color:#0d5a22}
td.failing{background:#fbe0e0;color:#8a1414}
td.not-started{background:#f6f7f9;color:#6b7384}
td.unknown,td.error{background:#fff3cd;color:#6b5200}
small{display:block;color:#555e70;font-size:12px}
tfoot td{font-weight:bold;background:#eef1f7}
`;

export function classHtml(r: ClassReport, opts: { refreshSeconds?: number } = {}): string {
  const head = r.sections.map((s) => `<th scope="col" title="${esc(s.title)}">${esc(s.id)}<small>${esc(s.title)}</small></th>`).join('');
  const body = r.rows
    .map((row) => {
      const lead = `<th scope="row">${esc(row.learner)}</th><td class="lab">${esc(row.lab)}</td><td>${esc(row.current ?? '-')}</td>`;
      if (row.error) return `<tr>${lead}<td class="error" colspan="${r.sections.length}">cannot check: ${esc(row.error)}</td></tr>`;
      const cells = row.cells
        .map((c) => {
          const detail = c.total && c.state !== 'not started' ? `${c.pass} of ${c.total} checks pass` : '';
          const since = c.state === 'not started' ? '' : shortTime(c.since, r.at);
          return `<td class="${c.state.replace(' ', '-')}">${esc(cellText(c))}<small>${esc([detail, since && `since ${since}`].filter(Boolean).join(', '))}</small></td>`;
        })
        .join('');
      return `<tr>${lead}${cells}</tr>`;
    })
    .join('\n');
  const passed = r.sections
    .map((s) => `<td>${r.rows.filter((row) => row.cells.find((c) => c.section === s.id)?.state === 'passed').length} of ${r.rows.length}</td>`)
    .join('');
  const refresh = opts.refreshSeconds ? `<meta http-equiv="refresh" content="${Math.max(1, Math.round(opts.refreshSeconds))}">` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">${refresh}<title>Class ${esc(r.class)}: report</title><style>${CSS}</style></head>
<body><header><h1 id="class">Class ${esc(r.class)}</h1><p>${r.rows.length} learners, checked at ${esc(r.at.slice(0, 16).replace('T', ' '))} UTC in ${(r.durationMs / 1000).toFixed(1)} s</p></header>
<main><table id="report"><thead><tr><th scope="col">learner</th><th scope="col">lab</th><th scope="col">working on</th>${head}</tr></thead>
<tbody>
${body}
</tbody>
<tfoot><tr><td colspan="3">passed</td>${passed}</tr></tfoot></table></main></body></html>
`;
}
