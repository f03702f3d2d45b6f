/** Progress for the whole class: one line per lab, redrawn in place on a terminal, plain lines otherwise. */
export class Board {
  private readonly lines = new Map<string, string>();
  private drawn = 0;
  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly tty = !!out.isTTY && !process.env.NO_COLOR,
  ) {}

  set(key: string, text: string): void {
    if (this.lines.get(key) === text) return;
    this.lines.set(key, text);
    if (!this.tty) {
      this.out.write(`${key}: ${text}\n`);
      return;
    }
    const width = Math.max(...[...this.lines.keys()].map((k) => k.length));
    const cols = (this.out as { columns?: number }).columns ?? 120;
    let s = this.drawn ? `\x1b[${this.drawn}A` : '';
    for (const [k, t] of this.lines) s += `\x1b[2K${`${k.padEnd(width)}  ${t}`.slice(0, cols - 1)}\n`;
    this.drawn = this.lines.size;
    this.out.write(s);
  }
}
