/** Per-stage wall-time accounting, shared by the pipelines and reported by `emb perf`. */

export interface StageSummary {
  calls: number;
  totalMs: number;
  meanMs: number;
}

export class StageTimer {
  private readonly stages = new Map<string, { calls: number; totalMs: number }>();

  async time<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.add(stage, performance.now() - start);
    }
  }

  timeSync<T>(stage: string, fn: () => T): T {
    const start = performance.now();
    try {
      return fn();
    } finally {
      this.add(stage, performance.now() - start);
    }
  }

  /** Adds time measured elsewhere (a worker thread) to a stage. */
  add(stage: string, ms: number): void {
    const s = this.stages.get(stage) ?? { calls: 0, totalMs: 0 };
    s.calls++;
    s.totalMs += ms;
    this.stages.set(stage, s);
  }

  summary(): Record<string, StageSummary> {
    const out: Record<string, StageSummary> = {};
    for (const [stage, s] of this.stages) {
      out[stage] = { calls: s.calls, totalMs: round(s.totalMs), meanMs: round(s.totalMs / s.calls) };
    }
    return out;
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;
