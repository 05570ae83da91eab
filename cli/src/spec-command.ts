/**
 * `kkcm spec`: the protocol at a glance, or with --json the normalised spec.
 *
 * @module
 */
import { loadSpec, SpecModel } from '../../spec/src/index.js';
import { stringArg, type Command, type CommandArgs, type OptionSpec } from './command.js';
import { ExitCode, type Io } from './io.js';

const DESCRIPTION = 'Prints the JSR IPC spec: header, messages, error codes, requirement count.';

const EPILOG = `Examples:
  kkcm spec
  kkcm spec --json | jq '.requirements[] | select(.level == "MUST") | .id'
`;

const OPTIONS = {
  json: {
    type: 'boolean',
    description:
      'print the normalised spec as JSON, with a flat messageIndex and a requirements array of {id, level, section, text}',
  },
  spec: {
    type: 'string',
    value: 'FILE',
    description: 'use this spec file instead of the bundled one (validated on load)',
  },
} as const satisfies OptionSpec;

/** Prints the spec, or with --json the normalised spec. */
function runSpec(args: CommandArgs, io: Io): number {
  const path = stringArg(args, 'spec');
  const model = new SpecModel(loadSpec(path));
  if (args.values.json === true) {
    io.out(`${JSON.stringify(model.normalised(), null, 2)}\n`);
    return ExitCode.ok;
  }
  const { spec } = model;
  const lines: string[] = [];
  lines.push(
    `${spec.name} — spec ${spec.specVersion}, protocol versions ${spec.protocolVersions.min}..${spec.protocolVersions.max}, default port ${spec.defaultPort}`,
  );
  lines.push('');
  lines.push(`Header (${spec.header.size} bytes, big-endian, magic 0x${spec.header.magic.toString(16)}):`);
  for (const f of spec.header.fields) lines.push(`  ${f.name.padEnd(8)} ${f.type.padEnd(4)} ${f.doc}`);
  lines.push('');
  lines.push('Messages (type.subtype  name  client  channels):');
  for (const m of model.messages) {
    const id = `0x${m.type.toString(16).padStart(2, '0')}.0x${m.subtype.toString(16).padStart(2, '0')}`;
    lines.push(
      `  ${id}  ${m.subtypeSpec.label.padEnd(22)} ${m.name.padEnd(22)} ${m.client.padEnd(6)} ${m.channels.join(',')}${m.typeSpec.illustrative === true ? '  (illustrative)' : ''}`,
    );
  }
  lines.push('');
  lines.push('Error codes:');
  for (const e of spec.errors) lines.push(`  ${String(e.value).padStart(3)} ${e.code}`);
  lines.push('');
  const must = spec.requirements.filter((r) => r.level === 'MUST').length;
  lines.push(`Requirements: ${spec.requirements.length} (${must} MUST); \`kkcm spec --json\` lists them.`);
  io.out(`${lines.join('\n')}\n`);
  return ExitCode.ok;
}

/** `kkcm spec [--json] [--spec FILE]`. */
export const specCommand: Command = {
  summary: 'print the protocol spec',
  usage: 'kkcm spec [--json] [--spec FILE]',
  description: DESCRIPTION,
  options: OPTIONS,
  epilog: EPILOG,
  run: runSpec,
};
