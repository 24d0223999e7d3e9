import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * fsyncs the directory holding path, so that a file just created or renamed
 * there survives a power cut, not only its contents.
 */
export async function syncDirectory(path: string): Promise<void> {
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Writes all of data at position: a write may take less than it was given. */
export async function writeFully(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    if (bytesWritten === 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}
