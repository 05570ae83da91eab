#!/usr/bin/env node
// The kkcm command. Runs the compiled CLI (built by `npm install` through the prepare script).
// From source, without building: `node --import tsx cli/src/run.ts <command> …`.
import { main } from '../dist/cli/src/main.js';

process.exitCode = await main(process.argv.slice(2));
