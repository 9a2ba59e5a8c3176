// Reporting of bad dataset items. Real datasets contain broken files: a missing or empty caption file, an
// unreadable or zero-sized image, a manifest line that is not JSON. Each one is printed with its path (and
// line), counted by kind, and skipped; with `strict` the first one stops the run as a UserError instead.
// Nothing already written is touched either way.
import { UserError } from '../errors.ts';

export type ProblemKind =
  | 'missing-caption'
  | 'empty-caption'
  | 'missing-image'
  | 'empty-image'
  | 'unreadable-image'
  | 'bad-manifest-line';

export interface Problem {
  kind: ProblemKind;
  /** File (and `:line` for manifests) that the problem is about. */
  where: string;
  message: string;
}

export interface ProblemLogOptions {
  strict?: boolean;
  /** Where reports are printed; defaults to process.stderr. */
  stream?: NodeJS.WritableStream;
  silent?: boolean;
  /** After this many printed reports the rest are only counted. */
  maxPrinted?: number;
}

export class ProblemLog {
  readonly problems: Problem[] = [];
  private readonly strict: boolean;
  private readonly stream: NodeJS.WritableStream;
  private readonly silent: boolean;
  private readonly maxPrinted: number;

  constructor(options: ProblemLogOptions = {}) {
    this.strict = options.strict ?? false;
    this.stream = options.stream ?? process.stderr;
    this.silent = options.silent ?? false;
    this.maxPrinted = options.maxPrinted ?? 50;
  }

  report(kind: ProblemKind, where: string, message: string): void {
    const problem = { kind, where, message };
    this.problems.push(problem);
    const text = `${where}: ${message} (${kind})`;
    if (this.strict) throw new UserError(`${text}; stopped by --strict`);
    if (this.silent) return;
    if (this.problems.length <= this.maxPrinted) this.stream.write(`skipped ${text}\n`);
    else if (this.problems.length === this.maxPrinted + 1) this.stream.write('further problems are counted but not printed\n');
  }

  get count(): number {
    return this.problems.length;
  }

  counts(): Partial<Record<ProblemKind, number>> {
    const out: Partial<Record<ProblemKind, number>> = {};
    for (const p of this.problems) out[p.kind] = (out[p.kind] ?? 0) + 1;
    return out;
  }

  /** One line such as "3 skipped: 2 missing-caption, 1 unreadable-image", or "no problems". */
  summary(): string {
    if (this.count === 0) return 'no problems';
    const parts = Object.entries(this.counts()).map(([k, n]) => `${n} ${k}`);
    return `${this.count} skipped: ${parts.join(', ')}`;
  }
}
