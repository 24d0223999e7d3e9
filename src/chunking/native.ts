import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The C inner loops built by `npm install` (native/). */
export interface NativeBinding {
  findCuts(data: Uint8Array, final: boolean, gear: Uint32Array, params: Uint32Array, cuts: Uint32Array): number;
  xxh64(data: Uint8Array, seed?: bigint): bigint;
  /** memcpy(dst + offset, src): for shared buffers, which V8 copies into slowly. */
  copy(dst: Uint8Array, offset: number, src: Uint8Array): void;
  /** An exclusive flock on path (created 0600): the fd, or -1 if another open file holds it. Close the fd to release. */
  lockFile(path: string): number;
}

const require = createRequire(import.meta.url);

function load(): NativeBinding {
  // Compiled files sit at dist/src/chunking/, three levels below the package root.
  const path = fileURLToPath(new URL('../../../native/build/Release/cairn_native.node', import.meta.url));
  try {
    return require(path) as NativeBinding;
  } catch (err) {
    throw new Error(`cairn native addon not built at ${path}: run npm install (${(err as Error).message})`);
  }
}

export const native: NativeBinding = load();
