import { readFileSync } from 'node:fs';
import { Command, Help } from 'commander';

type Register = (program: Command) => void;

/*
 * Each command's module is imported only when that command runs: `kiln lint` should not pay for
 * loading BullMQ, fastify and the signing libraries.
 */
const modules: Record<string, () => Promise<Register>> = {
  lint: () => import('./lint.ts').then((m) => m.registerLint),
  plan: () => import('./plan.ts').then((m) => m.registerPlan),
  build: () => import('./build.ts').then((m) => m.registerBuild),
  catalog: () => import('./catalog.ts').then((m) => m.registerCatalog),
  run: () => import('./run.ts').then((m) => m.registerRun),
  verify: () => import('./verify.ts').then((m) => m.registerVerify),
  keygen: () => import('./keygen.ts').then((m) => m.registerKeygen),
  status: () => import('./status.ts').then((m) => m.registerStatus),
  scan: () => import('./scan.ts').then((m) => m.registerScan),
  diff: () => import('./diff.ts').then((m) => m.registerDiff),
};
const moduleOf: Record<string, string> = { up: 'run', watch: 'run', worker: 'run', serve: 'run' };

/** How the top-level help lists one command: what commander's Help prints for it. */
export interface CommandSummary {
  name: string;
  aliases: string[];
  /** `lint [options] [paths...]` */
  term: string;
  description: string;
}

/**
 * Registers the commands `argv` needs and returns true, or returns false when it names none of
 * them (help, `--version`, an unknown command): then every command, or their summaries, is needed.
 */
export async function registerCommandFor(program: Command, argv: string[]): Promise<boolean> {
  const [first = '', second = ''] = argv.slice(2);
  const name = first === 'help' ? second : first;
  const load = modules[moduleOf[name] ?? name];
  if (!load) return false;
  (await load())(program);
  return true;
}

/** Registers every command: the sources' way to answer help, and how a build records it. */
export async function registerAllCommands(program: Command): Promise<void> {
  for (const load of Object.values(modules)) (await load())(program);
}

/** The commands as the top-level help shows them. A build writes this table beside cli.js. */
export async function describeCommands(): Promise<CommandSummary[]> {
  const program = new Command('kiln');
  await registerAllCommands(program);
  const help = new Help();
  return help.visibleCommands(program).map((cmd) => ({
    name: cmd.name(),
    aliases: cmd.aliases(),
    term: help.subcommandTerm(cmd),
    description: help.subcommandDescription(cmd),
  }));
}

/** The table a build wrote beside the running code, or undefined when running the sources. */
export function readCommandTable(file: URL): CommandSummary[] | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const table: unknown = JSON.parse(text);
  if (!Array.isArray(table) || !table.every(isSummary))
    throw new Error(`${file.pathname}: not a command table`);
  return table;
}

function isSummary(value: unknown): value is CommandSummary {
  return (
    typeof value === 'object' &&
    value !== null &&
    'name' in value &&
    typeof value.name === 'string' &&
    'term' in value &&
    typeof value.term === 'string' &&
    'description' in value &&
    typeof value.description === 'string' &&
    'aliases' in value &&
    Array.isArray(value.aliases) &&
    value.aliases.every((a) => typeof a === 'string')
  );
}

/**
 * Registers each command as its summary alone, so help, `--version` and "unknown command" work
 * without importing any command's module; a summary is never run (a named command loads its own).
 */
export function registerSummaries(program: Command, table: CommandSummary[]): void {
  const terms = new Map<string, string>();
  for (const entry of table) {
    if (entry.name === 'help') continue;
    program.command(entry.name).aliases(entry.aliases).description(entry.description);
    terms.set(entry.name, entry.term);
  }
  const help = new Help();
  program.configureHelp({
    subcommandTerm: (cmd) => terms.get(cmd.name()) ?? help.subcommandTerm(cmd),
  });
}
