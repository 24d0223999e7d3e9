import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The key that seals access-key secrets at rest. From CAIRN_MASTER_KEY (64 hex
 * digits) when set; otherwise from <data dir>/master.key, created on first
 * start with owner-only permissions. Losing it makes every stored secret
 * unreadable: keys must then be issued again.
 */
export function loadMasterKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const fromEnv = env.CAIRN_MASTER_KEY;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^[0-9a-fA-F]{64}$/.test(fromEnv)) throw new Error('CAIRN_MASTER_KEY must be 64 hex digits (32 bytes)');
    return Buffer.from(fromEnv, 'hex');
  }
  const path = join(dataDir, 'master.key');
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(text)) throw new Error(`${path} is not a master key (64 hex digits)`);
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return Buffer.from(text, 'hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = randomBytes(32);
  writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}
