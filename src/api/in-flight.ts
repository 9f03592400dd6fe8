/**
 * At most `max` of something at once in this process, refused rather than queued: a refused client retries,
 * while a queue would hold its connection (and, for a body, its bytes) all the same.
 */
export class InFlightLimit {
  private current = 0;

  constructor(readonly max: number) {}

  /** A release function when there is room (call it once, when done), or null when `max` are in flight. */
  tryEnter(): (() => void) | null {
    if (this.current >= this.max) return null;
    this.current++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.current--;
    };
  }
}
