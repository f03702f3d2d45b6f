/**
 * download: an artifact pinned by sha256, taken from the local artifacts folder first, else fetched by the control
 * machine (the lab host itself has no route out), checked, cached in the artifacts folder and uploaded to the host.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { sh } from '../../host.js';
import { InputError, StepError } from '../../errors.js';
import { perform, type PutCommand } from './commands.js';
import { defineKind, run, type KindContext } from './types.js';

/** The runbook could not pin the file (nothing trustworthy was published): the lab file pins it (`pins:`). */
export const UNPINNED = 'unpinned';

export interface DownloadParams {
  url: string;
  /** 64 hex digits, or `unpinned` until the lab file's `pins:` names the file. */
  sha256: string;
  /** A hash the publisher gave (md5): shown next to an unpinned file's sha256, and cross-checked against a pinned one. */
  md5?: string;
  dest: string;
  /** File name in the artifacts folder (default: the URL's last path segment). */
  file?: string;
  mode?: string;
  owner?: string;
  group?: string;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fileName = (p: DownloadParams) => p.file ?? basename(new URL(p.url).pathname);
const sumCommand = (p: DownloadParams) => `sha256sum ${sh(p.dest)} 2>/dev/null`;

async function defaultFetch(url: string, timeoutMs: number): Promise<Buffer> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
  return Buffer.from(await res.arrayBuffer());
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** What the publisher's md5 says about these bytes ('' when none was published). */
function md5Says(p: DownloadParams, data: Buffer): string {
  if (!p.md5) return '';
  const got = md5(data);
  return got === p.md5 ? `Its md5 ${got} matches the one its publisher gave.` : `Its md5 is ${got}, NOT the ${p.md5} its publisher gave: do not trust it.`;
}

/** A pinned file must match its sha256 and, where one was published, its md5 too (a cross-check of the pin itself). */
function checkPinned(p: DownloadParams, ctx: KindContext, data: Buffer, what: string, howto: string, from = ''): void {
  const got = sha(data);
  if (got !== p.sha256) {
    throw new StepError(
      ctx.stepId,
      `${what} has sha256 ${got}, expected ${p.sha256}${from}`,
      `It is not the pinned file. ${md5Says(p, data)}${p.md5 ? ' ' : ''}Replace it with the right one, or delete it so that it is downloaded again. ${howto}`,
    );
  }
  if (p.md5 && md5(data) !== p.md5) {
    throw new StepError(
      ctx.stepId,
      `${what}${from} matches its pinned sha256 but has md5 ${md5(data)}, not the ${p.md5} its publisher gave`,
      "The runbook's sha256 pin and the published md5 disagree: one of them is wrong. Check both against their sources before using this file.",
    );
  }
}

/** An unpinned file is never installed: its hash is shown, and the user pins it in the lab file after checking it. */
function refuseUnpinned(p: DownloadParams, ctx: KindContext, data: Buffer, where: string): never {
  const got = sha(data);
  const published = md5Says(p, data) || 'No hash of it was ever published: compare it with a copy you trust.';
  throw new StepError(
    ctx.stepId,
    `${fileName(p)} is not pinned: the runbook has no sha256 for it, and your lab file does not pin it`,
    `${where} has sha256 ${got}. ${published} If you trust it, pin it in your lab file:\n  pins:\n    ${fileName(p)}: ${got}\n` +
      'then run `npm run lab:up` again: it resumes at this step.',
  );
}

function readLocal(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined; // not provided locally
  }
}

/** The artifact from the local folder, else fetched (and kept there); pinned files checked, unpinned ones refused. */
async function obtain(p: DownloadParams, ctx: KindContext): Promise<Buffer> {
  const local = join(ctx.artifactsDir, fileName(p));
  const unpinned = p.sha256 === UNPINNED;
  const howto = unpinned
    ? `Get a copy you trust and save it as ${local}; lab:up then shows its sha256 for you to pin in the lab file (pins:).`
    : `Download it yourself and save it as ${local} (its sha256 must be ${p.sha256}), then run \`npm run lab:up\` again: it resumes at this step.`;
  const mine = readLocal(local);
  if (mine) {
    if (unpinned) refuseUnpinned(p, ctx, mine, `Your copy ${local}`);
    checkPinned(p, ctx, mine, `artifact ${local}`, howto, ` (from ${p.url})`);
    ctx.log(`using local artifact ${local}`);
    return mine;
  }
  let data: Buffer;
  try {
    ctx.log(`fetching ${p.url}`);
    data = await (ctx.fetchUrl ?? defaultFetch)(p.url, Math.min(ctx.timeoutMs, 120_000));
  } catch (e) {
    throw new StepError(ctx.stepId, `cannot download ${fileName(p)} from ${p.url}: ${(e as Error).message}`, howto);
  }
  if (!unpinned) checkPinned(p, ctx, data, `downloaded ${fileName(p)} from ${p.url}`, `The file at that URL changed or is not the pinned one. ${howto}`);
  try {
    mkdirSync(ctx.artifactsDir, { recursive: true });
    writeFileSync(local, data); // an unpinned one is kept for inspection, and still refused until pinned
  } catch {
    /* the cache is a convenience */
  }
  if (unpinned) refuseUnpinned(p, ctx, data, `The copy downloaded from ${p.url} (saved as ${local})`);
  return data;
}

const upload = (p: DownloadParams): PutCommand => ({
  put: p.dest,
  mode: p.mode ?? '0644',
  owner: p.owner,
  group: p.group,
  shown: `take artifacts/${fileName(p)} or fetch ${p.url}, verify sha256 (${p.sha256 === UNPINNED ? 'unpinned: lab:up shows the hash to pin in the lab file' : p.sha256}), upload to ${p.dest}`,
  learner: `sudo curl -fL -o ${sh(p.dest)} ${sh(p.url)} && sudo chmod ${p.mode ?? '0644'} ${sh(p.dest)}`,
});

export const download = defineKind<DownloadParams>({
  name: 'download',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['url', 'sha256', 'dest'],
    properties: {
      url: { type: 'string', pattern: '^(https?|ftp)://' },
      sha256: {
        type: 'string',
        pattern: '^([0-9a-f]{64}|unpinned)$',
        description: 'The sha256 of the file (64 lower-case hex digits), or "unpinned" when no trustworthy hash exists: the lab file then pins it (pins:).',
      },
      md5: {
        type: 'string',
        pattern: '^[0-9a-f]{32}$',
        description: 'The md5 its publisher gave, if any: shown when the file is unpinned, and must match a pinned one too.',
      },
      dest: { type: 'string', pattern: '^/' },
      file: { type: 'string', pattern: '^[^/]+$' },
      mode: { type: 'string', pattern: '^0?[0-7]{3,4}$' },
      owner: { type: 'string' },
      group: { type: 'string' },
    },
  },
  prepare(p, c) {
    // A lab file's `pins:` fills in the sha256 of a download the runbook leaves unpinned; it never overrides a real pin.
    const pin = c.pins[fileName(p)];
    if (!pin) return p;
    if (p.sha256 === UNPINNED) return { ...p, sha256: pin.sha256 };
    if (p.sha256 !== pin.sha256) {
      throw new InputError(
        `${pin.at}: pins.${fileName(p)} is ${pin.sha256}, but ${c.at} pins ${fileName(p)} to ${p.sha256}`,
        `The runbook's own pin wins: remove ${fileName(p)} from pins in ${c.labFile}, and check where your copy came from.`,
      );
    }
    return p;
  },
  commands: (p) => ({
    check: [
      {
        run: sumCommand(p),
        learner:
          p.sha256 === UNPINNED
            ? `sha256sum ${sh(p.dest)}  # unpinned: lab:up shows the hash to pin in the lab file`
            : `echo ${sh(`${p.sha256}  ${p.dest}`)} | sha256sum -c -`,
      },
    ],
    apply: [upload(p)],
  }),
  async check(p, ctx) {
    const res = await run(ctx, sumCommand(p), { allowFail: true });
    const got = res.stdout.split(/\s/)[0];
    if (res.code !== 0) return { ok: false, detail: `${p.dest} does not exist` };
    return got === p.sha256 ? { ok: true } : { ok: false, detail: `${p.dest} has sha256 ${got}` };
  },
  async apply(p, ctx) {
    const data = await obtain(p, ctx);
    await perform(ctx, upload(p), { content: data });
  },
});
