import { open } from 'node:fs/promises';
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
