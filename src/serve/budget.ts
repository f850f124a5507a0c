/**
 * The server-wide budget of request bytes held at once (--max-inflight-mb), shared by the HTTP
 * and gRPC sides: each request takes its body's bytes as they arrive (an HTTP body's declared
 * Content-Length before it is read) and gives them back when it is answered, whatever the
 * outcome. A request that would go over the budget is refused with busy() rather than queued:
 * many large bodies at once would otherwise hold many times the per-body limit in memory.
 */
import { ProtocolError } from "./protocol.js";

/** Seconds a refused client is told to wait (Retry-After). */
export const RETRY_AFTER_S = 1;

/** The request would take the server over its budget: 503 with Retry-After, RESOURCE_EXHAUSTED over gRPC. */
export class BusyError extends ProtocolError {
  constructor(bytes: number, budget: ByteBudget) {
    super(
      `the server is holding ${mib(budget.used)} of request bodies and this request's ${mib(bytes)} would take it over its ${mib(budget.limit)} (--max-inflight-mb); try again in a moment`,
      503,
    );
    this.name = "BusyError";
  }
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 1)} MiB`;

export class ByteBudget {
  private held = 0;

  constructor(readonly limit: number) {}

  /** Bytes taken and not yet given back. */
  get used(): number {
    return this.held;
  }

  /** A holder for one request's bytes, given back at once by release(). */
  lease(): Lease {
    return new Lease(this);
  }

  /** @internal Takes `bytes` if they fit; Lease.take is the way in. */
  tryTake(bytes: number): boolean {
    if (bytes > 0 && this.held + bytes > this.limit) return false;
    this.held += bytes;
    return true;
  }

  /** @internal */
  giveBack(bytes: number): void {
    this.held -= bytes;
  }
}

export class Lease {
  private held = 0;
  private released = false;

  constructor(private readonly budget: ByteBudget) {}

  /** Takes `bytes` more for this request; BusyError when they do not fit. */
  take(bytes: number): void {
    if (this.released) throw new Error("a released lease cannot take bytes");
    if (!this.budget.tryTake(bytes)) throw new BusyError(this.held + bytes, this.budget);
    this.held += bytes;
  }

  /** Gives back everything taken; safe to call more than once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.giveBack(this.held);
    this.held = 0;
  }
}
