/**
 * Postscreen probes. Postscreen greets a new client with "220-", waits postscreen_greet_wait, then sends "220 ".
 * A client in mynetworks (postscreen_access_list = permit_mynetworks) or one cached as PASS OLD gets a plain "220 "
 * at once, so probe from an address outside mynetworks. Every timeout must exceed postscreen_greet_wait
 * (Postfix default 6 s; pass greetWaitMs to have that checked).
 */
import { InputError } from '../../errors.js';
import { ProbeError } from './common.js';
import { parseReplyLine } from './lines.js';
import { type Reply, SmtpSession } from './smtp.js';

export interface PostscreenProbe {
  host: string;
  port: number;
  /** Deadline of each wait; the whole greeting must arrive within it, so it must exceed postscreen_greet_wait. */
  timeoutMs: number;
  /** postscreen_greet_wait in ms, when known: the probe refuses a timeoutMs that is not at least 1 s longer. */
  greetWaitMs?: number;
}

export interface PostscreenGreeting {
  /** The first banner line was "220-" (postscreen is screening this client). */
  multiline: boolean;
  /** Time between the first and the final banner line. */
  pauseMs: number;
  /** The banner lines as received, joined with "\n" ("220-mx ESMTP\n220 mx ESMTP"). */
  banner: string;
  code: number;
  /** ms from connect to the first / final banner line. */
  firstLineMs: number;
  finalLineMs: number;
  /** Reply code to our QUIT, when the server answered one. */
  quitCode?: number;
}

export interface PregreetProbe extends PostscreenProbe {
  /** EHLO name sent too early; default 'pregreet.invalid'. */
  ehloName?: string;
  /** When set: after the EHLO reply, MAIL FROM:<> and RCPT TO:<rcptTo> (greet_action enforce answers 550 5.5.1). */
  rcptTo?: string;
}

export interface ReplySeen {
  code: number;
  text: string;
}

export interface PregreetOutcome {
  /** The greeting began with "220-" and our EHLO left before its final line arrived. */
  pregreeted: boolean;
  multiline: boolean;
  firstLine: string;
  /** ms after connect when the early EHLO was sent. */
  sentAtMs?: number;
  /** The rest of the greeting: normally "220 ...", or e.g. a 521 when postscreen drops pregreeters. */
  bannerRest?: ReplySeen;
  ehloReply?: ReplySeen;
  mailReply?: ReplySeen;
  rcptReply?: ReplySeen;
  closedByServer: boolean;
  timedOut: boolean;
  /** Everything said, in order: "S: 220-mx ..." / "C: EHLO pregreet.invalid". */
  transcript: string[];
  detail: string;
}

function checkTimeout(p: PostscreenProbe): void {
  if (!(p.timeoutMs > 0)) throw new InputError(`postscreen probe: timeoutMs must be > 0 (got ${p.timeoutMs})`);
  if (p.greetWaitMs !== undefined && p.timeoutMs < p.greetWaitMs + 1000) {
    throw new InputError(
      `postscreen probe: timeoutMs ${p.timeoutMs} must exceed postscreen_greet_wait (${p.greetWaitMs} ms) by at least 1 s`,
      'Raise the check\'s timeout: postscreen holds the final "220 " back for postscreen_greet_wait.',
    );
  }
}

/** Connects, reads the whole greeting with its timing, says QUIT. */
export async function probePostscreenGreeting(p: PostscreenProbe): Promise<PostscreenGreeting> {
  checkTimeout(p);
  const s = await SmtpSession.connect({ host: p.host, port: p.port, timeoutMs: p.timeoutMs });
  try {
    const b = s.banner;
    if (!b) throw new ProbeError('protocol', s.endpoint, `no banner read from ${s.endpoint}`);
    const q = await s.quit();
    return {
      multiline: b.multiline,
      pauseMs: Math.round(b.pauseMs),
      banner: b.raw.join('\n'),
      code: b.code,
      firstLineMs: Math.round(b.firstLineMs),
      finalLineMs: Math.round(b.finalLineMs),
      ...(q ? { quitCode: q.code } : {}),
    };
  } finally {
    s.close();
  }
}

/**
 * Talks before the banner is complete: sends "EHLO <name>" right after the first "220-" line, then records what the
 * server answers (the rest of the greeting, the EHLO reply, optionally MAIL/RCPT) and closes. Postscreen logs
 * "PREGREET N after T from [addr]" for this. A single-line greeting means this client is not screened: nothing is sent.
 */
export async function probePregreet(p: PregreetProbe): Promise<PregreetOutcome> {
  checkTimeout(p);
  if (p.rcptTo !== undefined && /[\s<>]/.test(p.rcptTo)) throw new InputError(`probePregreet: bad rcptTo ${JSON.stringify(p.rcptTo)}`);
  if (p.ehloName !== undefined && !/^[\w.:[\]-]+$/.test(p.ehloName)) throw new InputError(`probePregreet: bad ehloName ${JSON.stringify(p.ehloName)}`);
  const s = await SmtpSession.connect({ host: p.host, port: p.port, timeoutMs: p.timeoutMs, readBanner: false });
  const transcript: string[] = [];
  const out: PregreetOutcome = { pregreeted: false, multiline: false, firstLine: '', closedByServer: false, timedOut: false, transcript, detail: '' };
  /** Runs one step; a hang-up or timeout ends the probe (recorded), other errors propagate. */
  const step = async (fn: () => Promise<Reply>): Promise<ReplySeen | undefined> => {
    if (out.closedByServer || out.timedOut) return undefined;
    try {
      const r = await fn();
      for (const line of r.raw) transcript.push(`S: ${line}`);
      return { code: r.code, text: r.text };
    } catch (e) {
      if (!(e instanceof ProbeError) || (e.kind !== 'closed' && e.kind !== 'timeout')) throw e;
      if (e.kind === 'closed') out.closedByServer = true;
      else out.timedOut = true;
      transcript.push(`-- ${e.message}`);
      return undefined;
    }
  };
  const send = (line: string): Promise<Reply> => {
    transcript.push(`C: ${line}`);
    s.sendRaw(`${line}\r\n`);
    return s.readReply(`reply to ${line}`);
  };
  try {
    const first = await s.readLine('banner');
    transcript.push(`S: ${first.text}`);
    out.firstLine = first.text;
    const parsed = parseReplyLine(first.text);
    if (!parsed || parsed.final) {
      out.detail = `single-line greeting ${JSON.stringify(first.text)}: this client is not screened (mynetworks, access list or cached PASS OLD)`;
      if (parsed?.code === 220) await step(() => send('QUIT'));
      return out;
    }
    out.multiline = true;
    const ehlo = `EHLO ${p.ehloName ?? 'pregreet.invalid'}`;
    transcript.push(`C: ${ehlo}`);
    s.sendRaw(`${ehlo}\r\n`);
    const sentAt = s.elapsedMs();
    out.sentAtMs = Math.round(sentAt);
    let restAt = Number.POSITIVE_INFINITY;
    const rest = await step(async () => {
      const r = await s.readReply('the rest of the greeting');
      restAt = r.finalLineMs;
      return r;
    });
    if (rest) out.bannerRest = rest;
    // Our EHLO went out before the final greeting line arrived (not when both lines came in one burst).
    out.pregreeted = restAt > sentAt || !rest;
    if (rest?.code === 220) {
      const r = await step(() => s.readReply('reply to the early EHLO'));
      if (r) out.ehloReply = r;
    }
    if (p.rcptTo && out.ehloReply?.code === 250) {
      const m = await step(() => send('MAIL FROM:<>'));
      if (m) out.mailReply = m;
      if (m?.code === 250) {
        const r = await step(() => send(`RCPT TO:<${p.rcptTo}>`));
        if (r) out.rcptReply = r;
      }
    }
    if (!out.closedByServer && !out.timedOut) await step(() => send('QUIT'));
    out.detail = out.pregreeted
      ? `sent ${JSON.stringify(ehlo)} ${out.sentAtMs} ms after connect, before the final greeting line`
      : 'the final greeting line had already arrived when EHLO was sent: no pregreet';
    return out;
  } finally {
    s.close();
  }
}
