// Progress reporting for long runs (dataset builds, cache preparation, training): one small, dependency-free
// reporter used across the project. On a TTY it redraws a single bar line on stderr; elsewhere (CI, logs,
// pipes) it prints a plain line at most every `intervalMs`. Each report shows count/total, throughput in
// items per second with the caller's unit name, the ETA when the total is known, and free-form metrics that
// the caller updates (e.g. `progress.set({ loss: 0.123 })`).

export interface ProgressOptions {
  /** What is being counted, e.g. "images" or "steps". */
  unit?: string;
  /** Where reports go; defaults to process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Minimum time between reports: ~10 per second on a TTY, one every 5 s otherwise. */
  intervalMs?: number;
  /** Suppress all output (tests, --quiet). */
  silent?: boolean;
  /** Items already done before this reporter started (a resumed run): counted, but not in the rate. */
  start?: number;
  /** Clock in milliseconds, injectable for tests. */
  now?: () => number;
}

type MetricValue = number | string;

export class Progress {
  readonly label: string;
  readonly total: number | undefined;
  private readonly unit: string;
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly silent: boolean;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly startCount: number;
  private lastReportAt = -Infinity;
  private metrics = new Map<string, MetricValue>();
  count = 0;

  constructor(label: string, total?: number, options: ProgressOptions = {}) {
    this.label = label;
    this.total = total;
    this.unit = options.unit ?? 'items';
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.intervalMs = options.intervalMs ?? (this.tty ? 100 : 5000);
    this.silent = options.silent ?? false;
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
    this.startCount = options.start ?? 0;
    this.count = this.startCount;
  }

  /** Count `n` more items done and report if the interval has passed. */
  tick(n = 1): void {
    this.count += n;
    this.maybeReport();
  }

  /** Set or update free-form metrics shown after the counters. */
  set(metrics: Record<string, MetricValue>): void {
    for (const [k, v] of Object.entries(metrics)) this.metrics.set(k, v);
  }

  /** Seconds since the reporter was created. */
  elapsedSeconds(): number {
    return (this.now() - this.startedAt) / 1000;
  }

  /** Items per second since the reporter started. */
  rate(): number {
    const s = this.elapsedSeconds();
    return s > 0 ? (this.count - this.startCount) / s : 0;
  }

  /** The current report as one line of text (no bar, no control codes). */
  line(): string {
    const parts = [this.label, this.total === undefined ? `${this.count}` : `${this.count}/${this.total}`];
    const rate = this.rate();
    parts.push(`${formatRate(rate)} ${this.unit}/s`);
    if (this.total !== undefined && rate > 0 && this.count < this.total) {
      parts.push(`eta ${formatDuration((this.total - this.count) / rate)}`);
    } else {
      parts.push(`elapsed ${formatDuration(this.elapsedSeconds())}`);
    }
    for (const [k, v] of this.metrics) parts.push(`${k}=${typeof v === 'number' ? formatNumber(v) : v}`);
    return parts.join('  ');
  }

  /** Final report on its own line. */
  done(): void {
    if (this.silent) return;
    if (this.tty) this.stream.write(`\r\x1b[2K${this.barLine()}\n`);
    else this.stream.write(`${this.line()}\n`);
  }

  private maybeReport(): void {
    if (this.silent) return;
    const t = this.now();
    if (t - this.lastReportAt < this.intervalMs) return;
    this.lastReportAt = t;
    if (this.tty) this.stream.write(`\r\x1b[2K${this.barLine()}`);
    else this.stream.write(`${this.line()}\n`);
  }

  private barLine(): string {
    const text = this.line();
    if (this.total === undefined || this.total <= 0) return text;
    const columns = this.stream.columns ?? 80;
    const width = Math.max(10, Math.min(30, columns - text.length - 4));
    const filled = Math.round((Math.min(this.count, this.total) / this.total) * width);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
  }
}

function formatRate(r: number): string {
  return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toPrecision(4);
}

/** Seconds as "42s", "3m07s" or "2h05m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
