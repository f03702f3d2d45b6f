/** A recording fake host for unit tests of engine logic: in-memory files, scripted command replies. Never for acceptance. */
import type { ExecOptions, ExecResult, Host, PutOptions } from '../../src/host.js';

export type Reply = Partial<ExecResult> | ((cmd: string, opts: ExecOptions) => Partial<ExecResult> | Promise<Partial<ExecResult>>);

export class FakeHost implements Host {
  readonly name = 'fake';
  files = new Map<string, { content: Buffer; mode?: number; owner?: string }>();
  calls: { op: 'exec' | 'put' | 'get'; arg: string; opts?: unknown }[] = [];
  rules: { match: RegExp; reply: Reply }[] = [];
  reconnects = 0;

  on(match: RegExp, reply: Reply): this {
    this.rules.unshift({ match, reply });
    return this;
  }

  execs(): string[] {
    return this.calls.filter((c) => c.op === 'exec').map((c) => c.arg);
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.calls.push({ op: 'exec', arg: command, opts });
    const rule = this.rules.find((r) => r.match.test(command));
    const r = rule ? (typeof rule.reply === 'function' ? await rule.reply(command, opts) : rule.reply) : {};
    const res = { code: r.code ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    opts.onOutput?.(res.stdout, 'stdout');
    return res;
  }

  async put(path: string, content: string | Buffer, opts: PutOptions = {}): Promise<void> {
    this.calls.push({ op: 'put', arg: path, opts });
    this.files.set(path, { content: Buffer.from(content), mode: opts.mode, owner: opts.owner });
  }

  async get(path: string): Promise<Buffer | null> {
    this.calls.push({ op: 'get', arg: path });
    return this.files.get(path)?.content ?? null;
  }

  text(path: string): string | undefined {
    return this.files.get(path)?.content.toString('utf8');
  }

  async reconnect(): Promise<void> {
    this.reconnects += 1;
  }

  async close(): Promise<void> {}
}
