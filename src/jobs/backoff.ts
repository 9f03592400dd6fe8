/**
 * Exponential backoff for polling loops whose backend (database, object storage) can be unreachable for a
 * while: after each failure the loop rests twice as long, up to `maxMs`; the first success resets it.
 */
export class Backoff {
  private delayMs: number;
  private until = 0;

  constructor(
    private readonly minMs = 500,
    private readonly maxMs = 30_000,
  ) {
    this.delayMs = minMs;
  }

  get resting(): boolean {
    return Date.now() < this.until;
  }

  failed(): number {
    this.until = Date.now() + this.delayMs;
    const rested = this.delayMs;
    this.delayMs = Math.min(this.maxMs, this.delayMs * 2);
    return rested;
  }

  succeeded(): void {
    this.delayMs = this.minMs;
    this.until = 0;
  }
}
