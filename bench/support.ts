// Shared by the benchmark scripts: figures printed as `name: value unit` and, where PyTorch ran in the same
// session, `name vs pytorch: ratio x` (higher is better for dalle-ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** PyTorch's figure for the same work, in the same unit. */
  pytorch?: number;
  /** For units where lower is better (ms), the ratio is inverted. */
  lowerIsBetter?: boolean;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function printFigures(figures: readonly Figure[]): void {
  for (const f of figures) {
    console.log(`${f.name}: ${fmt(f.value)} ${f.unit}`);
    if (f.pytorch !== undefined) {
      console.log(`${f.name} pytorch: ${fmt(f.pytorch)} ${f.unit}`);
      const ratio = f.lowerIsBetter ? f.pytorch / f.value : f.value / f.pytorch;
      console.log(`${f.name} vs pytorch: ${ratio.toFixed(2)} x`);
    }
  }
}

/** OpenBLAS's SkylakeX kernels where the processor has AVX-512 (DESIGN.md's reference machine); elsewhere
 *  (this AMD EPYC, for one) forcing them dies with an illegal instruction, so OpenBLAS picks its own. */
function openblasEnv(): NodeJS.ProcessEnv {
  const avx512 = existsSync('/proc/cpuinfo') && /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  return avx512 ? { ...process.env, OPENBLAS_CORETYPE: 'SkylakeX' } : process.env;
}

/** Run a PyTorch script with Debian's python3-torch, or null if unavailable. The script prints one JSON line. */
export function runPython(script: string, args: string[] = []): Record<string, unknown> | null {
  const env = openblasEnv();
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { env });
  if (probe.status !== 0) {
    console.log(`# PyTorch not installed (apt-get install python3-torch libopenblas0-pthread): no ratios for ${script}`);
    return null;
  }
  const run = spawnSync('/usr/bin/python3', [script, ...args], { env, encoding: 'utf8' });
  if (run.status !== 0) {
    console.log(`# ${script} failed (exit ${run.status ?? run.signal}): ${run.stderr.trim().split('\n').at(-1) ?? ''}`);
    return null;
  }
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}
