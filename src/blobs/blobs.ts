export interface Blob {
  body: Buffer;
  contentType: string;
}

/** Object storage for input copies and results. Keys are relative paths such as `artworks/<id>/result-0.png`. */
export interface BlobStore {
  /** Replaces any blob under the same key, so a re-run job writes the same result again harmlessly. */
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  get(key: string): Promise<Blob | null>;
  /** Deletes every blob whose key starts with `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
  /** Deletes what interrupted writes left behind before `before`; only stores that write in steps have it. */
  sweepOrphans?(before: Date): Promise<number>;
}
