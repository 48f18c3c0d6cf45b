import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { openStore } from '../../src/cache/open-store.js';
import { parsePublicKey } from '../../src/cache/signing.js';
import { exportPullHosts } from '../../src/deploy/pull/export.js';
import { loadInventory } from '../../src/fleet/load.js';
import { selectHosts } from '../../src/fleet/select.js';
import { Nix } from '../../src/nix/index.js';
import { parseCacheInput } from '../../src/runner/cache-input.js';
import { splitList } from '../../src/runner/inputs.js';
import { consoleLog } from '../../src/util/log.js';

const FLAGS = {
  cache: 'the store action-deploy publishes manifests to, as for its manifest-store (required)',
  hosts: 'host selectors, as everywhere: clinic-*, @clinic, wave:final (required)',
  to: 'the directory of the media: a mounted disk (required)',
  inventory: 'the inventory [fleet.yaml]',
  'manifest-public-keys': 'public manifest keys: refuse to export a manifest none of them signed',
} as const;
type Flag = keyof typeof FLAGS;

export const EXPORT_ABOUT = 'copy pull hosts\u2019 manifests and closures to removable media';

export function exportHelp(): string {
  const lines = Object.entries(FLAGS).map(([name, about]) => `  --${name}\n      ${about}`);
  return [
    `fleet export: ${EXPORT_ABOUT}`,
    '',
    'The media is a binary cache (file://) holding each chosen host\u2019s published manifest and the closure',
    'it names, with the store\u2019s signatures. On the host, list it in services.fleet-agent.mirrors and',
    'substituters (file:///media/fleet): the agent checks it exactly as it checks the network.',
    '',
    ...lines,
  ].join('\n');
}

function parseExportFlags(args: readonly string[]): Partial<Record<Flag, string>> {
  const flags: Partial<Record<Flag, string>> = {};
  for (let i = 0; i < args.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(args[i] as string);
    const name = match?.[1] as Flag | undefined;
    if (!match || !name || !(name in FLAGS)) throw new Error(`unexpected argument "${args[i]}"; see fleet export --help`);
    const value = match[2] ?? args[++i];
    if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
    flags[name] = value;
  }
  for (const name of ['cache', 'hosts', 'to'] as const) if (!flags[name]) throw new Error(`--${name} is required: ${FLAGS[name]}`);
  return flags;
}

/** `fleet export`: exit 0 when every chosen host was exported, 1 when some had nothing to export. */
export async function exportCommand(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(exportHelp());
    return 0;
  }
  const flags = parseExportFlags(args);
  const cacheUrl = parseCacheInput('cache', flags.cache as string);
  const nix = new Nix({ log: consoleLog });
  const inventory = await loadInventory(flags.inventory ?? 'fleet.yaml', (installable) => nix.eval(installable));
  const hosts = selectHosts(inventory, splitList(flags.hosts as string));
  const to = resolve(flags.to as string);
  await mkdir(to, { recursive: true });
  const store = openStore(cacheUrl, { log: consoleLog });
  try {
    const exported = await exportPullHosts({
      store,
      closureStore: flags.cache as string,
      hosts,
      to,
      ...(flags['manifest-public-keys'] ? { manifestKeys: splitList(flags['manifest-public-keys']).map(parsePublicKey) } : {}),
      nix,
      log: consoleLog,
    });
    for (const host of exported) {
      console.error(host.skipped ? `${host.host}: not exported: ${host.skipped}` : `${host.host}: manifest ${host.sequence} (${host.system}) exported to file://${to}`);
    }
    process.stdout.write(`${JSON.stringify(exported, null, 2)}\n`);
    return exported.some((h) => h.skipped) ? 1 : 0;
  } finally {
    await store.close();
  }
}
