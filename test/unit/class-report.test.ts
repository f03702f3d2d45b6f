import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellOf, classReport, markChanges, type Row } from '../../src/class/report.js';
import { type Roster, writeRoster } from '../../src/class/roster.js';
import { watchSeconds } from '../../src/cli/class-report.js';
import { HostKeyChanged, LabError } from '../../src/errors.js';
import { classCsv, classHtml, formatClassTable } from '../../src/output/class-report.js';
import type { VerifyOptions, VerifyReport } from '../../src/verify/index.js';
import type { CheckResult } from '../../src/verify/runner.js';
import { cleanError, labCli } from '../helpers/lab-cli.js';

const check = (section: string, status: CheckResult['status'], id = `${section}/x`): CheckResult => ({
  id,
  section,
  title: id,
  status,
  durationMs: 1,
  message: status === 'pass' ? 'ok' : 'no',
  hint: '',
});

describe('a cell of the class report', () => {
  it('is passed when every check of the course section passes, counting its memo subsections', () => {
    expect(cellOf('4.2', [check('4.2.1', 'pass'), check('4.3', 'pass'), check('4.4', 'fail')], undefined, '1')).toEqual({
      section: '4.2',
      state: 'passed',
      pass: 2,
      total: 2,
    });
  });

  it('is failing with its counts in the section the learner works on, has started or has gone past, and not started otherwise', () => {
    const rs = [check('3', 'pass'), check('3', 'fail'), check('3', 'inconclusive')];
    expect(cellOf('3', rs, undefined, '3')).toMatchObject({ state: 'failing', pass: 1, total: 3 });
    expect(cellOf('3', rs, { section: '3', title: '', state: 'failing', checks: 1 }, '4.1')).toMatchObject({ state: 'failing' });
    expect(cellOf('3', rs, { section: '3', title: '', state: 'not started', checks: 0 }, '1')).toMatchObject({ state: 'not started', pass: 1 });
    // a section before the current one that fails has regressed
    expect(cellOf('3', rs, { section: '3', title: '', state: 'not started', checks: 0 }, '4.1')).toMatchObject({ state: 'failing' });
  });
});

describe('when a cell last changed', () => {
  const row = (state: 'passed' | 'failing' | 'unknown', pass = 1): Row => ({ learner: '01', lab: 'c-01', cells: [{ section: '1', state, pass, total: 2 }] });

  it('keeps the time of the report that first saw the state, and moves when the state or its counts change', () => {
    const a = row('failing');
    const seen = markChanges([a], {}, '2026-12-02T10:00:00Z', () => undefined);
    expect(a.cells[0]!.since).toBe('2026-12-02T10:00:00Z');
    const b = row('failing');
    const seen2 = markChanges([b], seen, '2026-12-02T10:05:00Z', () => undefined);
    expect(b.cells[0]!.since).toBe('2026-12-02T10:00:00Z');
    const c = row('failing', 0);
    markChanges([c], seen2, '2026-12-02T10:10:00Z', () => undefined);
    expect(c.cells[0]!.since).toBe('2026-12-02T10:10:00Z');
  });

  it("keeps the last known time while a lab cannot be checked, and takes the learner's own later check", () => {
    const seen = markChanges([row('passed')], {}, '2026-12-02T10:00:00Z', () => undefined);
    const down = row('unknown');
    expect(markChanges([down], seen, '2026-12-02T11:00:00Z', () => undefined)['c-01']!['1']!.since).toBe('2026-12-02T10:00:00Z');
    const again = row('passed');
    markChanges([again], seen, '2026-12-02T11:00:00Z', () => '2026-12-02T10:30:00Z');
    expect(again.cells[0]!.since).toBe('2026-12-02T10:30:00Z');
  });
});

describe('the class report over a roster', () => {
  const home = mkdtempSync(join(tmpdir(), 'plab-class-report-'));
  const saved = process.env.POSTFIX_LAB_HOME;
  beforeAll(() => {
    process.env.POSTFIX_LAB_HOME = home;
    const learners = ['01', '02', '03'].map((n) => ({
      learner: n,
      lab: `crt-${n}`,
      labFile: join(home, 'class-crt', 'labs', `crt-${n}.yaml`),
      ssh: `ssh -p 441${n} learner@127.0.0.1`,
      ports: { ssh: 44100 + Number(n) },
      credentials: join(home, `crt-${n}`, 'credentials.json'),
      handout: join(home, 'class-crt', 'handouts', n, 'index.html'),
    }));
    const roster: Roster = { class: 'crt', created: '2026-12-02T09:00:00Z', platform: 'debian12', section: '3', listen: '127.0.0.1', learners };
    mkdirSync(join(home, 'class-crt'), { recursive: true });
    writeRoster(roster);
    // Learner 02 started 4.1 with the course.
    mkdirSync(join(home, 'crt-02'), { recursive: true });
    appendFileSync(
      join(home, 'crt-02', 'course.jsonl'),
      `${JSON.stringify({ type: 'start', section: '4.1', at: '2026-12-02T09:30:00Z', from: 'checkpoint' })}\n`,
    );
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.POSTFIX_LAB_HOME;
    else process.env.POSTFIX_LAB_HOME = saved;
  });

  /** Learner 01 passed 1-3, 02 passed 1-3 and fails 4.1, 03's lab answers with another key. */
  const calls: VerifyOptions[] = [];
  let active = 0;
  let most = 0;
  const verify = async (o: VerifyOptions): Promise<VerifyReport> => {
    calls.push(o);
    active += 1;
    most = Math.max(most, active);
    await new Promise((r) => setTimeout(r, 20));
    active -= 1;
    if (o.name === 'crt-03') throw new HostKeyChanged('crt-03 (127.0.0.1:44103)', 'SHA256:old', 'SHA256:new', 'known_hosts.json');
    const results = [check('1', 'pass'), check('2', 'pass'), check('3', 'pass'), check('4.1', o.name === 'crt-01' ? 'pass' : 'fail'), check('4.4', 'fail')];
    return { files: [], results, notRun: [], summary: { pass: 0, fail: 0, inconclusive: 0 }, durationMs: 1 };
  };

  it("checks each learner's lab through that learner's own lab file, a bounded number at once", async () => {
    const r = await classReport({ class: 'crt', verify, parallel: 2 });
    expect(calls.map((c) => [c.name, c.labFile]).sort()).toEqual(['01', '02', '03'].map((n) => [`crt-${n}`, join(home, 'class-crt', 'labs', `crt-${n}.yaml`)]));
    expect(most).toBe(2);
    const states = Object.fromEntries(r.rows.map((row) => [row.learner, row.cells.map((c) => c.state)]));
    expect(states['01']!.slice(0, 5)).toEqual(['passed', 'passed', 'passed', 'passed', 'not started']);
    expect(states['02']!.slice(0, 5)).toEqual(['passed', 'passed', 'passed', 'failing', 'not started']);
    expect(r.rows.find((x) => x.learner === '02')!.current).toBe('4.1');
    expect(r.rows.find((x) => x.learner === '01')!.current).toBe('3');
    const refused = r.rows.find((x) => x.learner === '03')!;
    expect(refused.error).toMatch(/host key/i);
    expect(refused.cells.every((c) => c.state === 'unknown')).toBe(true);
  });

  it('prints a table with a row per learner and a column per section, and the CSV and HTML say the same', async () => {
    const r = await classReport({ class: 'crt', verify });
    const table = formatClassTable(r);
    expect(table).toMatch(/^learner\s+lab\s+at\s+1\s+2\s+3\s+4\.1\s+4\.2\s+4\.4\s+4\.5\s+4\.6$/m);
    expect(table).toMatch(/^02\s+crt-02\s+4\.1\s+passed \d\d:\d\d\s+passed \d\d:\d\d\s+passed \d\d:\d\d\s+1 failing \d\d:\d\d\s+not started/m);
    expect(table).toMatch(/^03\s+crt-03\s+3\s+cannot check: .*host key/im);
    expect(table).toMatch(/^passed\s+2 of 3\s+2 of 3\s+2 of 3\s+1 of 3\s+0 of 3/m);
    const csv = classCsv(r).trim().split('\n');
    expect(csv[0]).toBe('learner,lab,section,state,checks_passing,checks,since,error');
    expect(csv).toHaveLength(1 + 3 * r.sections.length);
    expect(csv).toContain(`02,crt-02,4.1,failing,0,1,${r.rows[1]!.cells[3]!.since},`);
    expect(csv.find((l) => l.startsWith('03,crt-03,1,unknown'))).toMatch(/,"?[^,]*host key/i);
    const html = classHtml(r, { refreshSeconds: 30 });
    expect(html).not.toMatch(/<script|https?:\/\/|<link/i);
    expect(html).toMatch(/<meta http-equiv="refresh" content="30">/);
    expect(html.match(/<td class="passed">/g)).toHaveLength(7);
    expect(html).toMatch(/<td class="error" colspan="8">cannot check:/);
  });

  it('says there is no such class, with the command that makes one', async () => {
    await expect(classReport({ class: 'nope', verify })).rejects.toThrow(LabError);
    const r = await labCli({ POSTFIX_LAB_HOME: home }, 'class:report', '--class', 'nope');
    expect(r.code).toBe(1);
    expect(cleanError(r.err)).toBe(true);
    expect(r.err).toMatch(/no class named nope[\s\S]*hint: Run `npm run class:up -- --learners N --class nope`/);
  });
});

describe('class:report --watch', () => {
  it('takes a period of 5 to 3600 seconds and refuses anything else', () => {
    expect(watchSeconds(undefined)).toBeUndefined();
    expect(watchSeconds('30')).toBe(30);
    for (const bad of ['0', '2', 'soon', '99999']) expect(() => watchSeconds(bad)).toThrow(/not a period in seconds/);
  });
});
