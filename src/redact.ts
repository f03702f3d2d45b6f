/** Secrets never reach the terminal, JSON output or logs: every string that leaves the engine goes through here. */
export class Redactor {
  private values: string[] = [];
  add(...secrets: (string | undefined)[]): void {
    for (const s of secrets) if (s && s.length >= 4 && !this.values.includes(s)) this.values.push(s);
    this.values.sort((a, b) => b.length - a.length);
  }
  text(s: string): string {
    let out = s;
    for (const v of this.values) out = out.split(v).join('********');
    return out;
  }
}

/** Fill {{ secret.NAME }} placeholders at run time (the plan itself never holds secret values). */
export function fillSecrets<T>(v: T, secrets: Record<string, string>): T {
  if (typeof v === 'string') {
    return v.replace(/\{\{ secret\.([a-z_][a-z0-9_]*) \}\}/gi, (m, n: string) => secrets[n] ?? m) as T;
  }
  if (Array.isArray(v)) return v.map((x) => fillSecrets(x, secrets)) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fillSecrets(x, secrets)])) as T;
  return v;
}
