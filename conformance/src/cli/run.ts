/**
 * Runs the kkcm CLI from source (`node --import tsx conformance/src/cli/run.ts …`): what
 * tests spawn as a real process, and what `bin/kkcm.js` does with the compiled CLI.
 *
 * @module
 */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
