// @ts-check
/**
 * The port forwarder's program (started by forward.ts, one process for every container lab on this machine).
 * Plain JavaScript typed with JSDoc and checked by tsc: it runs under plain `node`, no loader, because a Node start
 * (~0.08 CPU-s) is already a fifth of a container lab's boot.
 * argv: CONTROL_SOCKET STATE_FILE PID_FILE LOG_FILE; it runs from a copy under /run (forward.ts makes it).
 * For each lab it listens on 127.0.0.1:HOST (or the address the lab's `bind` names, class:up --listen; nowhere else) and connects each client to LAB:GUEST. Labs are added
 * and removed over the control socket, one JSON request per connection; a lab whose nspawn process is gone is
 * dropped; the process exits with its last lab and then leaves nothing under /run.
 */
import fs from 'node:fs';
import net from 'node:net';

/** @typedef {{ op: 'add', key: string, addr: string, watch: number, ports: [number, number][], bind?: string } | { op: 'remove', key: string }} Request */
/** @typedef {{ ok?: boolean, error?: string, port?: number, bind?: string }} Reply */
/** @typedef {{ addr: string, watch: number, ports: [number, number][], servers: net.Server[], conns: Set<net.Socket> }} Lab */

const [sock, stateFile, pidFile, logFile] = /** @type {string[]} */ (process.argv.slice(2));
if (!sock || !stateFile || !pidFile || !logFile) throw new Error('usage: forwarder.mjs CONTROL_SOCKET STATE_FILE PID_FILE LOG_FILE');

/** @type {Map<string, Lab>} */
const labs = new Map();

const save = () => {
  const out = { pid: process.pid, labs: Object.fromEntries([...labs].map(([k, l]) => [k, { addr: l.addr, watch: l.watch, ports: l.ports }])) };
  fs.writeFileSync(stateFile + '.tmp', JSON.stringify(out) + '\n');
  fs.renameSync(stateFile + '.tmp', stateFile);
};

/** @param {string} key */
const drop = (key) => {
  const l = labs.get(key);
  if (!l) return;
  for (const s of l.servers) s.close();
  for (const c of l.conns) c.destroy();
  labs.delete(key);
};

const quit = () => {
  for (const k of [...labs.keys()]) drop(k);
  // a clean exit leaves nothing under /run (this program's copy included: it is loaded)
  for (const f of [stateFile, sock, pidFile, logFile, process.argv[1] ?? '']) {
    try {
      fs.rmSync(f, { force: true });
    } catch {
      /* gone */
    }
  }
  process.exit(0);
};

/** @param {Extract<Request, { op: 'add' }>} m @returns {Promise<Reply>} */
const add = (m) =>
  new Promise((resolve) => {
    drop(m.key);
    /** @type {Lab} */
    const l = { addr: m.addr, watch: m.watch, ports: m.ports, servers: [], conns: new Set() };
    let pending = m.ports.length;
    let failed = false;
    for (const [host, guest] of m.ports) {
      const srv = net.createServer({ noDelay: true }, (c) => {
        const u = net.connect({ host: l.addr, port: guest, noDelay: true });
        l.conns.add(c);
        l.conns.add(u);
        const end = () => {
          c.destroy();
          u.destroy();
          l.conns.delete(c);
          l.conns.delete(u);
        };
        c.on('error', end);
        u.on('error', end);
        c.on('close', end);
        u.on('close', end);
        c.pipe(u);
        u.pipe(c);
      });
      l.servers.push(srv);
      srv.on('error', (/** @type {NodeJS.ErrnoException} */ e) => {
        if (failed) return;
        failed = true;
        for (const s of l.servers) s.close();
        resolve({ error: e.code || String(e), port: host });
      });
      srv.listen({ host: m.bind ?? '127.0.0.1', port: host, exclusive: true }, () => {
        if (--pending === 0 && !failed) {
          labs.set(m.key, l);
          resolve({ ok: true, bind: m.bind ?? '127.0.0.1' });
        }
      });
    }
  });

const control = net.createServer((c) => {
  let buf = '';
  let taken = false;
  c.on('error', () => {});
  c.on('data', async (d) => {
    buf += d;
    if (taken || !buf.includes('\n')) return;
    taken = true; // one request per connection
    /** @type {Reply} */
    let reply = { ok: true };
    try {
      const m = /** @type {Request} */ (JSON.parse(buf.slice(0, buf.indexOf('\n'))));
      if (m.op === 'add') reply = await add(m);
      else if (m.op === 'remove') drop(m.key);
      else reply = { error: 'unknown request' };
      save();
    } catch (e) {
      reply = { error: String(e) };
    }
    c.end(JSON.stringify({ ...reply, pid: process.pid, empty: !labs.size }) + '\n');
    if (!labs.size) c.on('close', quit);
  });
});

process.on('SIGTERM', quit);
process.on('SIGINT', quit);
process.on('SIGHUP', () => {});
setInterval(() => {
  let changed = false;
  for (const [k, l] of labs) {
    try {
      process.kill(l.watch, 0);
    } catch {
      drop(k);
      changed = true;
    }
  }
  if (changed) save();
  if (!labs.size) quit();
}, 1000);
fs.rmSync(sock, { force: true });
control.listen(sock, () => {
  save();
  process.send?.({ ready: true });
  process.disconnect?.();
});
