/**
 * Runs the kkcm CLI from source (`node --import tsx cli/src/run.ts …`): what
 * tests spawn as a real process, and what `bin/kkcm.js` does with the compiled CLI.
 *
 * @module
 */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
