#!/usr/bin/env node
import { runCli } from './program';

// `npm run cli -- <command> [options]`; see `npm run cli -- --help`.
runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
