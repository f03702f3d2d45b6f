import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Emitter } from '../../src/output/events.js';
import { junitReporter, junitXml } from '../../src/output/junit.js';
import { checkOutcome, stepOutcome } from '../../src/output/results.js';

const step = { role: 'install', section: '1.2', kind: 'package', durationMs: 1500 } as const;

describe('JUnit output for both pipelines', () => {
  it('counts a failed step and a failed check as failures, a skipped step and an inconclusive check as skipped', () => {
    const xml = junitXml('x', [
      { group: 'a', name: 'step', outcome: stepOutcome('failed'), durationMs: 10, message: 'did not converge', hint: 'see the log' },
      { group: 'a', name: 'check', outcome: checkOutcome('fail'), durationMs: 10 },
      { group: 'a', name: 'resumed', outcome: stepOutcome('skipped'), durationMs: 0 },
      { group: 'a', name: 'sslv3', outcome: checkOutcome('inconclusive'), durationMs: 0 },
      { group: 'a', name: 'fine', outcome: checkOutcome('pass'), durationMs: 0 },
    ]);
    expect(xml).toMatch(/<testsuite name="x\.a" tests="5" failures="2" skipped="2" time="0\.020">/);
    expect(xml).toContain('<failure message="did not converge">did not converge\nhint: see the log</failure>');
  });

  it('writes one testsuite per role from lab:up events when the recap arrives, marking changed steps', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'plab-junit-')), 'up.xml');
    const events = new Emitter().on(junitReporter(file, 'lab:up'));
    events.emit({ event: 'step', ...step, id: 'pkgs', title: 'Ensure <postfix> is installed', status: 'changed' });
    events.emit({ event: 'step', ...step, id: 'conf', title: 'Ensure main.cf', status: 'ok', role: 'conf' });
    events.emit({ event: 'recap', ok: 1, changed: 1, skipped: 0, failed: 0, durationMs: 3000 });
    const xml = readFileSync(file, 'utf8');
    expect(xml).toContain(
      '<testcase classname="lab:up.install" name="1.2 Ensure &lt;postfix&gt; is installed" time="1.500"><system-out>changed</system-out></testcase>',
    );
    expect(xml).toMatch(/<testsuite name="lab:up.conf" tests="1" failures="0" skipped="0"/);
  });
});
