import { decodeKey } from './keys.js';
import type { ObjectRow } from './index-db.js';

/** An object as the store describes it to faces. */
export interface ObjectInfo {
  key: string;
  size: number;
  /** Hex MD5 of the content for a single put; "<md5 of part md5s>-<parts>" for multipart; the hex recipe root for a pushed object. */
  etag: string;
  modified: Date;
  contentType: string | undefined;
  /** The user's own metadata (S3 x-amz-meta-*). */
  userMetadata: Record<string, string>;
  /** Metadata a face keeps with the object (content headers, checksums, tags). */
  systemMetadata: Record<string, string>;
  chunkCount: number;
  /** Levels of the recipe tree (diagnostics). */
  recipeHeight: number;
}

export function objectInfo(row: ObjectRow): ObjectInfo {
  return {
    key: decodeKey(row.key),
    size: row.size,
    etag: row.etag,
    modified: new Date(row.mtimeMs),
    contentType: row.contentType ?? undefined,
    userMetadata: JSON.parse(row.userMetadata) as Record<string, string>,
    systemMetadata: JSON.parse(row.systemMetadata) as Record<string, string>,
    chunkCount: row.chunkCount,
    recipeHeight: row.recipeHeight,
  };
}
