/** --junit FILE: JUnit XML, one testsuite per role, one testcase per step (named "section title"). */
import { writeFileSync } from 'node:fs';
import type { EngineEvent } from './events.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Case { name: string; classname: string; time: number; status: string; detail?: string; hint?: string }

export function junitXml(suiteName: string, cases: Case[]): string {
  const groups = new Map<string, Case[]>();
  for (const c of cases) groups.set(c.classname, [...(groups.get(c.classname) ?? []), c]);
  const suites = [...groups].map(([name, cs]) => {
    const failures = cs.filter((c) => c.status === 'failed' || c.status === 'fail').length;
    const skipped = cs.filter((c) => c.status === 'skipped' || c.status === 'inconclusive').length;
    const time = cs.reduce((t, c) => t + c.time, 0);
    const body = cs.map((c) => {
      const inner = c.status === 'failed' || c.status === 'fail'
        ? `<failure message="${esc(c.detail ?? 'failed')}">${esc([c.detail, c.hint && `hint: ${c.hint}`].filter(Boolean).join('\n'))}</failure>`
        : c.status === 'skipped' || c.status === 'inconclusive' ? `<skipped message="${esc(c.detail ?? c.status)}"/>` : c.status !== 'ok' && c.status !== 'pass' ? `<system-out>${esc(c.status)}</system-out>` : '';
      return `    <testcase classname="${esc(c.classname)}" name="${esc(c.name)}" time="${c.time.toFixed(3)}">${inner}</testcase>`;
    }).join('\n');
    return `  <testsuite name="${esc(name)}" tests="${cs.length}" failures="${failures}" skipped="${skipped}" time="${time.toFixed(3)}">\n${body}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${esc(suiteName)}">\n${suites.join('\n')}\n</testsuites>\n`;
}

export function junitReporter(file: string, suiteName: string) {
  const cases: Case[] = [];
  return (e: EngineEvent): void => {
    if (e.event === 'step') {
      cases.push({ name: `${e.section} ${e.title}${e.handler ? ' (handler)' : ''}`, classname: `${suiteName}.${e.role}`, time: e.durationMs / 1000, status: e.status, detail: e.detail, hint: e.hint });
    }
    if (e.event === 'recap') writeFileSync(file, junitXml(suiteName, cases));
  };
}
