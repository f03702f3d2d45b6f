/** What a running lab's next checkpoint layer holds, from its last save's scan of the upper and this one's (pure). */
import { describe, expect, it } from 'vitest';
import { type Entry, increment, isEmpty, type Scan } from '../../src/drivers/container/increment.js';

const f = (sig: string): Entry => ({ sig, dir: false });
const d = (sig: string): Entry => ({ sig, dir: true });
const scanOf = (o: Record<string, Entry>): Scan => new Map(Object.entries(o));

const before = scanOf({
  etc: d('1:10'),
  'etc/postfix': d('2:10'),
  'etc/postfix/main.cf': f('3:10'),
  'etc/postfix/old.cf': f('4:10'),
  'etc/gone': d('5:10'),
  'etc/gone/a': f('6:10'),
  'etc/gone/b': f('7:10'),
  srv: d('8:10'),
  'srv/x': d('9:10'),
  'srv/x/keep': f('10:10'),
  'srv/x/drop': f('11:10'),
  usr: d('12:10'),
  'usr/sbin': d('13:10'),
  'usr/sbin/postfix': f('14'),
  var: d('15:10'),
  'var/spool': d('16:10'),
});

describe('the increment of a running lab since its last save', () => {
  it('is empty when nothing in the upper changed', () => {
    expect(isEmpty(increment(before, new Map(before)))).toBe(true);
  });

  it('holds new and changed files, and only the folders above them that changed themselves', () => {
    const now = new Map(before);
    now.set('etc/postfix', d('2:20')); // main.cf replaced by rename: a new entry in the folder
    now.set('etc/postfix/main.cf', f('30:20'));
    now.set('var/spool/new', f('31:20'));
    now.set('var/spool', d('16:20'));
    const inc = increment(before, now);
    expect(inc).toEqual({ dirs: ['etc/postfix', 'var/spool'], whole: [], files: ['etc/postfix/main.cf', 'var/spool/new'], whiteouts: [] });
  });

  it('writes one whiteout for a file gone and one for a folder gone with everything in it', () => {
    const now = new Map([...before].filter(([p]) => p !== 'etc/postfix/old.cf' && !p.startsWith('etc/gone')));
    now.set('etc/postfix', d('2:20'));
    now.set('etc', d('1:20'));
    const inc = increment(before, now);
    expect(inc.whiteouts).toEqual(['etc/postfix/old.cf', 'etc/gone']);
    expect(inc.dirs).toEqual(['etc', 'etc/postfix']);
    expect(inc.files).toEqual([]);
  });

  it('copies a new folder whole, and a folder made anew whole with whiteouts for what it no longer has', () => {
    const now = new Map(before);
    now.set('srv', d('8:20'));
    now.set('srv/x', d('40:20')); // removed and made again: another inode
    now.set('srv/x/keep', f('41:20'));
    now.delete('srv/x/drop');
    now.set('srv/y', d('42:20'));
    now.set('srv/y/z', f('43:20'));
    const inc = increment(before, now);
    expect(inc.whole).toEqual(['srv/x', 'srv/y']);
    expect(inc.files).toEqual([]); // srv/x/keep and srv/y/z come with their folders
    expect(inc.whiteouts).toEqual(['srv/x/drop']);
    expect(inc.dirs).toEqual(['srv']);
  });

  it('takes a file that became a folder, and hides nothing below a folder that became a file', () => {
    const now = new Map([...before].filter(([p]) => !p.startsWith('srv/x')));
    now.set('srv/x', f('50:20'));
    now.set('etc/postfix/old.cf', d('51:20'));
    now.set('srv', d('8:20'));
    const inc = increment(before, now);
    expect(inc.files).toEqual(['srv/x']);
    expect(inc.whole).toEqual(['etc/postfix/old.cf']);
    expect(inc.whiteouts).toEqual([]); // srv/x/keep and srv/x/drop are hidden by the file srv/x
  });

  it('never copies a folder above the shared ones whole, even when it is new', () => {
    const now = scanOf({ var: d('60:1'), 'var/lib': d('61:1'), 'var/lib/dpkg': d('62:1'), 'var/lib/dpkg/status': f('63') });
    const inc = increment(new Map(), now);
    expect(inc.dirs).toEqual(['var', 'var/lib']);
    expect(inc.whole).toEqual(['var/lib/dpkg']);
  });
});
