import type { Readable } from 'node:stream';

export interface Blob {
  body: Buffer;
  contentType: string;
}

/** A blob as a stream of its bytes, for answers that pass it on without holding it whole in memory. */
export interface BlobStream {
  body: Readable;
  contentType: string;
  /** Its length in bytes (the answer's Content-Length), when the backend says. */
  bytes?: number;
}

/** Object storage for input copies and results. Keys are relative paths such as `artworks/<id>/result-0.png`. */
export interface BlobStore {
  /** Replaces any blob under the same key, so a re-run job writes the same result again harmlessly. */
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  /** The whole blob in memory: for the pipeline, which needs every byte at once. */
  get(key: string): Promise<Blob | null>;
  /**
   * The blob as a stream, read as it is consumed: for downloads, where one client that reads slowly would
   * otherwise hold a whole copy (60 stalled readers of a 29.8 MB upload took a `serve --no-worker` process from 0.18 to 1.87 GB).
   * The caller must consume or destroy `body`.
   */
  open(key: string): Promise<BlobStream | null>;
  /** Deletes every blob whose key starts with `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
  /** Deletes what interrupted writes left behind before `before`; only stores that write in steps have it. */
  sweepOrphans?(before: Date): Promise<number>;
}
