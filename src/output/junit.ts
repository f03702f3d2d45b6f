/** JUnit XML for both pipelines: one testsuite per group (a role, a memo section), one testcase per Result. */
import { writeFileSync } from 'node:fs';
import type { EngineEvent } from './events.js';
import { stepOutcome, type Result } from './results.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function testcase(r: Result, classname: string): string {
  const inner =
    r.outcome === 'failed'
      ? `<failure message="${esc(r.message ?? 'failed')}">${esc([r.message, r.hint && `hint: ${r.hint}`].filter(Boolean).join('\n'))}</failure>`
      : r.outcome === 'skipped' || r.outcome === 'inconclusive'
        ? `<skipped message="${esc(r.message ?? r.outcome)}"/>`
        : r.outcome === 'changed'
          ? '<system-out>changed</system-out>'
          : '';
  return `    <testcase classname="${esc(classname)}" name="${esc(r.name)}" time="${(r.durationMs / 1000).toFixed(3)}">${inner}</testcase>`;
}

export function junitXml(suiteName: string, results: Result[]): string {
  const groups = new Map<string, Result[]>();
  for (const r of results) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  const suites = [...groups].map(([group, rs]) => {
    const classname = `${suiteName}.${group}`;
    const failures = rs.filter((r) => r.outcome === 'failed').length;
    const skipped = rs.filter((r) => r.outcome === 'skipped' || r.outcome === 'inconclusive').length;
    const time = rs.reduce((t, r) => t + r.durationMs, 0) / 1000;
    return (
      `  <testsuite name="${esc(classname)}" tests="${rs.length}" failures="${failures}" skipped="${skipped}" time="${time.toFixed(3)}">\n` +
      `${rs.map((r) => testcase(r, classname)).join('\n')}\n  </testsuite>`
    );
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${esc(suiteName)}">\n${suites.join('\n')}\n</testsuites>\n`;
}

/** lab:up --junit FILE: written when the run's recap arrives. */
export function junitReporter(file: string, suiteName: string) {
  const results: Result[] = [];
  return (e: EngineEvent): void => {
    if (e.event === 'step') {
      results.push({
        group: e.role,
        name: `${e.section} ${e.title}${e.handler ? ' (handler)' : ''}`,
        outcome: stepOutcome(e.status),
        durationMs: e.durationMs,
        message: e.detail,
        hint: e.hint,
      });
    }
    if (e.event === 'recap') writeFileSync(file, junitXml(suiteName, results));
  };
}
