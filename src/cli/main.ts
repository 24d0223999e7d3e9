#!/usr/bin/env node
/*
 * cairn: the admin CLI. Talks to a running server's admin API with an admin key.
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
