import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pseudoRandomBytes, textBytes } from './data.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a real client; bounded in time, never through a shell. */
export function run(command: string, args: string[], env: Record<string, string>, timeoutMs = 180_000, cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: timeoutMs, maxBuffer: 64 << 20, cwd }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0, stdout, stderr });
    });
  });
}

/** The first of the given paths that exists: Debian's packages install to /usr/bin. */
export function binary(name: string): string {
  for (const p of [`/usr/bin/${name}`, `/usr/local/bin/${name}`]) if (existsSync(p)) return p;
  throw new Error(`${name} is not installed: .ci/run installs it from Debian (apt-get install ${name === 'aws' ? 'awscli' : name})`);
}

/**
 * The environment of an AWS CLI run against a test server: path-style
 * addressing, this key, and nothing from the machine's own AWS settings.
 */
export function awsCliEnv(dir: string, key: { accessKeyId: string; secretAccessKey: string }): Record<string, string> {
  const config = join(dir, 'aws-config');
  writeFileSync(config, '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n');
  return {
    AWS_ACCESS_KEY_ID: key.accessKeyId,
    AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}

/** A small tree of files like a namespace's volume: text, binary, empty, nested, a large one. */
export function makeTree(dir: string, seed: string, bigBytes = 12 * 1024 * 1024): Record<string, Buffer> {
  const files: Record<string, Buffer> = {
    'config/app.yaml': textBytes(`${seed}-yaml`, 3_000),
    'config/secret.json': Buffer.from(JSON.stringify({ seed })),
    'data/db/pages.bin': pseudoRandomBytes(`${seed}-db`, 2_500_000),
    'data/db/wal/0001': pseudoRandomBytes(`${seed}-wal`, 300_000),
    'data/logs/app.log': textBytes(`${seed}-log`, 1_200_000),
    'data/empty': Buffer.alloc(0),
    'data/name with spaces & symbols+.txt': Buffer.from('spaces'),
    'data/ünïcode/файл.txt': Buffer.from('unicode'),
    'big/image.raw': pseudoRandomBytes(`${seed}-big`, bigBytes),
  };
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return files;
}
