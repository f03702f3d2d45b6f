import { describe, expect, it } from 'vitest';
import { snapshotNames } from '../../src/drivers/vagrant/vagrant.js';

describe('vagrant snapshot names', () => {
  it('are sorted whatever order libvirt lists them in', () => {
    const out = ['1764756000,default,ui,detail,start-1', '1764756000,default,ui,detail,provisioned', '1764756000,default,ui,detail,start-10'].join('\n');
    expect(snapshotNames(out)).toEqual(['provisioned', 'start-1', 'start-10']);
  });

  it('are empty when vagrant says there are none', () => {
    expect(snapshotNames('1764756000,default,ui,output,==> default: No snapshots have been taken yet!\n')).toEqual([]);
  });
});
