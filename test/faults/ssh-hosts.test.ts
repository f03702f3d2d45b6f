/**
 * The ssh driver with several `hosts`: every host is provisioned, in the lab file's order, each with its own journal
 * and logs (two real sshd on 127.0.0.1, the same machine behind both). No host is silently skipped.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emitter, type EngineEvent } from '../../src/output/events.js';
import { Journal } from '../../src/runbook/journal.js';
import { labUp } from '../../src/lab/ops.js';
import { removeInside } from '../../src/lab/names.js';
import { repo } from '../helpers/lab-cli.js';
import { removeScratch } from '../helpers/scratch.js';
import { startSshd, type SshdFixture } from '../helpers/sshd.js';

const home = mkdtempSync(join(tmpdir(), 'plab-nm-hosts-'));
const rolesDir = join(repo, 'test/fixtures/faults-roles');
const name = `nmhosts${process.pid % 1000}`;
const marker = `/var/tmp/plab-faults-${name}`;
let one: SshdFixture;
let two: SshdFixture;
let labFile: string;

beforeAll(async () => {
  process.env.POSTFIX_LAB_HOME = home;
  [one, two] = [await startSshd(), await startSshd()];
  labFile = join(home, 'lab.yaml');
  const host = (n: string, s: SshdFixture) => `  - { name: ${n}, address: 127.0.0.1, port: ${s.port}, user: ${s.user}, identityFile: ${s.identityFile} }`;
  writeFileSync(
    labFile,
    [`name: ${name}`, 'driver: ssh', 'platform: debian12', 'hosts:', host('mail', one), host('relay', two), 'sections: [1]', ''].join('\n'),
  );
});

afterAll(async () => {
  await one?.stop();
  await two?.stop();
  removeInside('/var/tmp', marker);
  removeScratch(home);
  delete process.env.POSTFIX_LAB_HOME;
});

async function up() {
  const events: EngineEvent[] = [];
  const recap = await labUp({ labFile, rolesDir, events: new Emitter().on((e) => events.push(e)) });
  return { recap, events };
}

describe('the ssh driver with several hosts', () => {
  it('provisions every host in order, each with its own journal, and a second run changes nothing on any', async () => {
    const first = await up();
    expect(first.recap).toMatchObject({ failed: 0, changed: 1, ok: 1 }); // the marker is made on the first host; the second finds it
    const infos = first.events.flatMap((e) => (e.event === 'info' ? [e.message] : []));
    expect(infos.filter((m) => / of 2$/.test(m))).toEqual([`host mail (127.0.0.1:${one.port}): 1 of 2`, `host relay (127.0.0.1:${two.port}): 2 of 2`]);
    expect(first.events.filter((e) => e.event === 'step').map((e) => (e as { status: string }).status)).toEqual(['changed', 'ok']);
    const journals = [join(home, name, 'journal.jsonl'), join(home, name, 'journal-relay.jsonl')];
    for (const j of journals)
      expect(
        new Journal(j)
          .records()
          .filter((r) => r.type === 'step')
          .map((r) => (r as { id: string }).id),
      ).toEqual(['marker']);
    expect(readFileSync(journals[1]!, 'utf8')).toMatch(/"type":"end".*"result":"ok"/);
    const second = await up();
    expect(second.recap).toMatchObject({ failed: 0, changed: 0, ok: 2 });
  }, 120_000);

  it('checks that every host answers before provisioning any, and names the one that does not', async () => {
    const journal = join(home, name, 'journal.jsonl');
    const before = readFileSync(journal, 'utf8');
    writeFileSync(labFile, readFileSync(labFile, 'utf8').replace(`port: ${two.port}`, 'port: 1'));
    const e = await up().then(
      () => undefined,
      (x: Error) => x,
    );
    expect(e?.message).toBe('host relay (127.0.0.1:1) does not answer SSH');
    expect(readFileSync(journal, 'utf8')).toBe(before);
  }, 60_000);
});
