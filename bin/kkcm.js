#!/usr/bin/env node
// The kkcm command. Runs the compiled CLI (built by `npm install` through the prepare script).
// From source, without building: `node --import tsx conformance/src/cli/run.ts <command> …`.
import { main } from '../dist/conformance/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
