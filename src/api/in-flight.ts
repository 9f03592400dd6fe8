/** Why `tryEnter` refused: this process has `max` in flight, or this key (an organization) its share of them. */
export type InFlightRefusal = 'process' | 'key';

/**
 * At most `max` of something at once in this process, and at most `maxPerKey` of them for any one key, refused
 * rather than queued: a refused client retries, while a queue would hold its connection (and, for a body, its
 * bytes) all the same. The per-key share keeps one organization's stalled bodies from refusing everyone else.
 */
export class InFlightLimit {
  private current = 0;
  private readonly perKey = new Map<string, number>();

  constructor(
    readonly max: number,
    readonly maxPerKey: number = max,
  ) {}

  /** A release function when there is room (call it once, when done), or why there is none. */
  tryEnter(key: string): (() => void) | InFlightRefusal {
    if (this.current >= this.max) return 'process';
    const held = this.perKey.get(key) ?? 0;
    if (held >= this.maxPerKey) return 'key';
    this.current++;
    this.perKey.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.current--;
      const left = (this.perKey.get(key) ?? 1) - 1;
      if (left > 0) this.perKey.set(key, left);
      else this.perKey.delete(key);
    };
  }
}
