import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** Everything the server is told at start: flags first, then CAIRN_* variables, then defaults. */
export interface ServerConfig {
  dataDir: string;
  host: string;
  port: number;
  /** Reported by GetBucketLocation; requests signed for any region are accepted. */
  region: string;
  /** How far a signed request's time may be from ours. */
  maxSkewSeconds: number;
  /** Lets Prometheus scrape /metrics with "Authorization: Bearer <token>" instead of a signed request. */
  metricsToken: string | undefined;
  logLevel: string;
  /** Serve buckets as <bucket>.<domain> too (virtual-hosted style). */
  domain: string | undefined;
  /** PEM files: HTTPS when both are given. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** Seconds a connection may sit idle (mid-request too) before it is closed. */
  idleTimeoutSeconds: number;
  /** Seconds an ingest session may go without a request before it is aborted. */
  ingestSessionIdleSeconds: number;
  /** Seconds a multipart upload may stay incomplete before it is aborted (its parts become garbage). */
  multipartMaxAgeSeconds: number;
  /** How often units' collection schedules are looked at. */
  gcCheckSeconds: number;
  /** Seconds a multipart completion works before its 200 goes out, kept alive with spaces (0: at once). */
  completePatienceSeconds: number;
}

interface Option {
  flag: string;
  env: string;
  default: string | undefined;
  help: string;
}

export const OPTIONS: Record<keyof ServerConfig, Option> = {
  dataDir: { flag: 'data-dir', env: 'CAIRN_DATA_DIR', default: './storage-units', help: 'where the system database and storage units live' },
  host: { flag: 'host', env: 'CAIRN_HOST', default: '127.0.0.1', help: 'address to listen on' },
  port: { flag: 'port', env: 'CAIRN_PORT', default: '9000', help: 'port to listen on' },
  region: { flag: 'region', env: 'CAIRN_REGION', default: 'us-east-1', help: 'region reported to S3 clients' },
  maxSkewSeconds: { flag: 'max-skew', env: 'CAIRN_MAX_SKEW_SECONDS', default: '900', help: 'allowed clock difference of signed requests' },
  metricsToken: { flag: 'metrics-token', env: 'CAIRN_METRICS_TOKEN', default: undefined, help: 'bearer token for /metrics' },
  logLevel: { flag: 'log-level', env: 'CAIRN_LOG_LEVEL', default: 'info', help: 'fatal, error, warn, info, debug or trace' },
  domain: { flag: 'domain', env: 'CAIRN_DOMAIN', default: undefined, help: 'serve <bucket>.<domain> hosts (virtual-hosted style)' },
  tlsCert: { flag: 'tls-cert', env: 'CAIRN_TLS_CERT', default: undefined, help: 'PEM certificate: serve HTTPS' },
  tlsKey: { flag: 'tls-key', env: 'CAIRN_TLS_KEY', default: undefined, help: 'PEM private key of the certificate' },
  idleTimeoutSeconds: { flag: 'idle-timeout', env: 'CAIRN_IDLE_TIMEOUT_SECONDS', default: '120', help: 'close connections idle this long' },
  ingestSessionIdleSeconds: {
    flag: 'ingest-session-idle',
    env: 'CAIRN_INGEST_SESSION_IDLE_SECONDS',
    default: '900',
    help: 'abort source-side ingest sessions idle this long',
  },
  multipartMaxAgeSeconds: {
    flag: 'multipart-max-age',
    env: 'CAIRN_MULTIPART_MAX_AGE_SECONDS',
    default: '604800',
    help: 'abort multipart uploads left incomplete this long',
  },
  gcCheckSeconds: {
    flag: 'gc-check-every',
    env: 'CAIRN_GC_CHECK_SECONDS',
    default: '30',
    help: 'look at units\' garbage collection schedules this often (seconds)',
  },
  completePatienceSeconds: {
    flag: 'complete-patience',
    env: 'CAIRN_COMPLETE_PATIENCE_SECONDS',
    default: '5',
    help: 'a multipart completion still working after this long answers 200 at once and sends spaces until done (0: always)',
  },
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): ServerConfig {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.values(OPTIONS).map((o) => [o.flag, { type: 'string' as const }])),
      strict: true,
    }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const pick = (k: keyof ServerConfig): string | undefined => {
    const o = OPTIONS[k];
    const v = values[o.flag] ?? env[o.env];
    return v === undefined || v === '' ? o.default : v;
  };
  const int = (k: keyof ServerConfig, min: number, max: number): number => {
    const v = Number(pick(k));
    if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError(`--${OPTIONS[k].flag} must be a whole number in [${min}, ${max}]`);
    return v;
  };
  if ((pick('tlsCert') === undefined) !== (pick('tlsKey') === undefined)) throw new ConfigError('--tls-cert and --tls-key go together');
  return {
    dataDir: resolve(pick('dataDir')!),
    host: pick('host')!,
    port: int('port', 0, 65535),
    region: pick('region')!,
    maxSkewSeconds: int('maxSkewSeconds', 1, 7 * 24 * 3600),
    metricsToken: pick('metricsToken'),
    logLevel: pick('logLevel')!,
    domain: pick('domain')?.toLowerCase(),
    tlsCert: pick('tlsCert'),
    tlsKey: pick('tlsKey'),
    idleTimeoutSeconds: int('idleTimeoutSeconds', 1, 24 * 3600),
    ingestSessionIdleSeconds: int('ingestSessionIdleSeconds', 1, 7 * 24 * 3600),
    multipartMaxAgeSeconds: int('multipartMaxAgeSeconds', 1, 3650 * 24 * 3600),
    gcCheckSeconds: int('gcCheckSeconds', 1, 24 * 3600),
    completePatienceSeconds: int('completePatienceSeconds', 0, 3600),
  };
}
