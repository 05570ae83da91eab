// `npm run fuzz`: the codec and live fuzzers (reliability/src/fuzz-cli.ts). See --help.
import { fuzzMain } from './src/fuzz-cli.js';

process.exitCode = await fuzzMain(process.argv.slice(2));
