#!/usr/bin/env node
/*
 * cairn: the CLI. Administers a running server through its admin API (admin key),
 * and pushes and pulls backups through the source-side ingest protocol (unit key).
 * Exit codes: 0 done, 1 refused by the server, 2 bad command line,
 * 3 server unreachable or failing, 4 verify found damage.
 */
import { runCli } from './run-cli.js';

process.exitCode = await runCli(
  process.argv.slice(2),
  process.env,
  (s) => process.stdout.write(`${s}\n`),
  (s) => process.stderr.write(`${s}\n`),
);
