import { sliceSource, type InMemorySource } from './source.js';

/** How the bench cuts a multipart upload, for the S3 clients and the paired store-path baseline alike. */
export const MULTIPART_PART = 8 * 1024 * 1024;
export const MULTIPART_IN_FLIGHT = 4;

/**
 * Uploads a source's parts, `inFlight` at a time, each as soon as a lane is
 * free (as clients do); resolves to the parts' ETags in part order.
 */
export async function uploadParts(
  source: InMemorySource,
  partSize: number,
  inFlight: number,
  upload: (partNumber: number, part: InMemorySource) => Promise<string>,
): Promise<string[]> {
  const parts = Math.ceil(source.bytes / partSize);
  const etags: string[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < parts) {
      const n = next++;
      etags[n] = await upload(n + 1, sliceSource(source, n * partSize, (n + 1) * partSize));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return etags;
}
