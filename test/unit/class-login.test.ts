/** How learners log in to a class's labs (--learner-login): the flag, sshd's drop-in, the ssh line, roster and handout. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLearnerLogin, learnerSshCommand, loginNote, sshdDropIn } from '../../src/class/login.js';
import { readRoster, type Roster, writeRoster } from '../../src/class/roster.js';
import { renderHandout } from '../../src/course/handout/index.js';
import { InputError } from '../../src/errors.js';
import { loadLab } from '../../src/lab/lab-file.js';

const root = join(import.meta.dirname, '../..');

describe('--learner-login', () => {
  it.each([
    [undefined, 'key'],
    ['key', 'key'],
    ['password', 'password'],
    ['both', 'both'],
  ])('takes %s as %s', (given, login) => expect(checkLearnerLogin(given)).toBe(login));
  it.each(['', 'passwords', 'Password', 'key,password', true])('refuses %j with a hint naming the three ways', (bad) => {
    expect(() => checkLearnerLogin(bad)).toThrow(InputError);
    try {
      checkLearnerLogin(bad);
    } catch (e) {
      expect((e as InputError).exitCode).toBe(2);
      expect((e as InputError).hint).toMatch(/key .*password .*both/);
    }
  });
});

describe("sshd's drop-in", () => {
  const settings = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));
  it('refuses password login to everyone when learners log in with keys', () => {
    expect(settings(sshdDropIn('key'))).toEqual(['PasswordAuthentication no', 'KbdInteractiveAuthentication no']);
  });
  it.each(['password', 'both'] as const)('with %s, allows it for the lab user only (a Match block, last)', (login) => {
    expect(settings(sshdDropIn(login))).toEqual([
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'Match User vagrant',
      '  PasswordAuthentication yes',
    ]);
  });
});

describe("a learner's ssh line and login note", () => {
  const line = { lab: 'clt-01', port: 44000, at: '127.0.0.1', knownHosts: '/c/01/known_hosts', keyFile: '/c/01/id_ed25519' };
  it('uses the key, pinned to the lab host keys, with a key', () => {
    for (const login of ['key', 'both'] as const)
      expect(learnerSshCommand({ ...line, login })).toBe(
        'ssh -i /c/01/id_ed25519 -o IdentitiesOnly=yes -p 44000 -o HostKeyAlias=clt-01 -o UserKnownHostsFile=/c/01/known_hosts -o StrictHostKeyChecking=yes vagrant@127.0.0.1',
      );
  });
  it('asks for the password, pinned the same way, without one', () => {
    const ssh = learnerSshCommand({ ...line, login: 'password' });
    expect(ssh).toMatch(/^ssh -o PreferredAuthentications=password -o PubkeyAuthentication=no -p 44000 .*StrictHostKeyChecking=yes vagrant@127\.0\.0\.1$/);
    expect(ssh).not.toMatch(/id_ed25519/);
  });
  it('says where the password is, never what it is', () => {
    expect(loginNote('key', '/k', '/p')).not.toMatch(/password/);
    expect(loginNote('password', '/k', '/p')).toMatch(/^with the password in \/p/);
    expect(loginNote('both', '/k', '/p')).toMatch(/your own key \/k .*or with the password in \/p/);
  });
});

describe('the roster of a class with passwords', () => {
  it('names each password file in JSON and CSV, not the password', () => {
    const home = mkdtempSync(join(tmpdir(), 'plab-class-login-'));
    process.env.POSTFIX_LAB_HOME = home;
    try {
      mkdirSync(join(home, 'class-cltp'), { recursive: true });
      const r: Roster = {
        class: 'cltp',
        created: '2026-12-02T00:00:00.000Z',
        platform: 'debian12',
        section: '1',
        listen: '127.0.0.1',
        learnerLogin: 'password',
        learners: [
          {
            learner: '01',
            lab: 'cltp-01',
            labFile: '/x/l.yaml',
            ssh: 'ssh',
            ports: { ssh: 44000 },
            credentials: '/x/c.json',
            passwordFile: '/x/01/ssh-password',
            handout: '/x/h',
          },
        ],
      };
      writeRoster(r);
      expect(readRoster('cltp')).toEqual(r);
      const csv = readFileSync(join(home, 'class-cltp', 'roster.csv'), 'utf8').split('\n');
      expect(csv[0]).toBe('learner,lab,ssh,port_ssh,lab_file,credentials,password_file,handout');
      expect(csv[1]).toBe('01,cltp-01,ssh,44000,/x/l.yaml,/x/c.json,/x/01/ssh-password,/x/h');
    } finally {
      delete process.env.POSTFIX_LAB_HOME;
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("a learner's handout", () => {
  it('shows their own ssh line and how to log in with it', () => {
    const lab = loadLab(join(root, 'labs/debian12-container.yaml'));
    const ssh = 'ssh -o PreferredAuthentications=password -p 44000 vagrant@127.0.0.1';
    const pages = renderHandout({
      lab,
      platform: 'debian12',
      roles: [],
      checks: [],
      facts: '',
      learner: { name: '01', values: { ssh, login: loginNote('password', '/k', '/c/01/ssh-password') } },
    });
    const index = pages.get('index.html')!;
    expect(index).toMatch(/<dt>Shell on the lab host<\/dt><dd><code>ssh -o PreferredAuthentications=password -p 44000 vagrant@127\.0\.0\.1<\/code>/);
    expect(index).toMatch(/<dt>Log in<\/dt><dd>with the password in \/c\/01\/ssh-password/);
  });
});
