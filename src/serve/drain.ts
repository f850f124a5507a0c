/**
 * The graceful shutdown both servers share: each request is counted while it runs, and drain()
 * refuses new ones, stops taking connections, waits for the last request in flight to be
 * answered, and only then closes, so SIGTERM loses no answer.
 */
import { ProtocolError } from "./protocol.js";

/** What a request that arrives while the server drains gets: 503, UNAVAILABLE over gRPC. */
export const shuttingDown = (): ProtocolError => new ProtocolError("the server is shutting down", 503);

export class InFlight {
  private count = 0;
  private idle: (() => void) | undefined;
  private refusing = false;

  /** True once drain() has begun: new requests are refused with shuttingDown(). */
  get draining(): boolean {
    return this.refusing;
  }

  /** Runs one request, counted in flight until it settles. */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await work();
    } finally {
      if (--this.count === 0) this.idle?.();
    }
  }

  /**
   * Refuses new requests, runs `stopTaking` (close the listener, end open streams), waits until
   * no request is in flight, then runs `close`.
   */
  async drain(stopTaking: () => void, close: () => Promise<void>): Promise<void> {
    this.refusing = true;
    stopTaking();
    if (this.count > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await close();
  }
}
