import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Nix } from '../../src/nix/nix.js';
import { offlineNix } from './nix.js';

/** The example fleet flake in this repository. */
export const EXAMPLE_FLEET_DIR = fileURLToPath(new URL('../../examples/offline-fleet', import.meta.url));

export const EXAMPLE_FLEET_HOSTS = ['gateway', 'web1', 'web2', 'db1', 'monitor', 'clinic-kin', 'clinic-bamako'] as const;

export interface ExampleFleetBuild {
  /** A private copy of examples/offline-fleet with this variant written to variant.txt. */
  flakeDir: string;
  /** `path:${flakeDir}`, the flake reference to give Nix. */
  flakeRef: string;
  variant: string;
  /** Host → its built `config.system.build.toplevel` store path. */
  toplevels: Record<string, string>;
  /** Host → the toplevel's derivation. */
  drvPaths: Record<string, string>;
}

/** `path:DIR#nixosConfigurations.HOST.config.system.build.toplevel`. */
export function toplevelInstallable(flakeRef: string, host: string): string {
  return `${flakeRef}#nixosConfigurations."${host}".config.system.build.toplevel`;
}

interface VariantState {
  flakeDir: Promise<string>;
  toplevels: Map<string, { out: string; drv: string }>;
  /** Builds of one variant run one after another. */
  queue: Promise<unknown>;
}

const variants = new Map<string, VariantState>();
const tempDirs = new Set<string>();
let nix: Nix | undefined;

process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Copies examples/offline-fleet to a temp dir with `variant` in variant.txt, without building anything. */
export async function copyExampleFleet(variant = '1'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `fleet-example-${variant.replace(/[^\w.-]/g, '_')}-`));
  tempDirs.add(dir);
  await cp(EXAMPLE_FLEET_DIR, dir, { recursive: true, filter: (src) => !basename(src).startsWith('result') });
  await writeFile(join(dir, 'variant.txt'), `${variant}\n`);
  return dir;
}

/**
 * Builds the example fleet's toplevels for `hosts` (default: all seven) at `variant` (default "1")
 * in one `nix build`. Results are cached per variant for the rest of the test process, so
 * calling it again is free; each variant lives in its own copy of the flake.
 */
export async function buildExampleFleet(options: { variant?: string; hosts?: readonly string[] } = {}): Promise<ExampleFleetBuild> {
  const variant = options.variant ?? '1';
  const hosts = [...(options.hosts ?? EXAMPLE_FLEET_HOSTS)];
  let state = variants.get(variant);
  if (!state) {
    state = { flakeDir: copyExampleFleet(variant), toplevels: new Map(), queue: Promise.resolve() };
    variants.set(variant, state);
  }
  const current = state;
  const flakeDir = await current.flakeDir;
  const flakeRef = `path:${flakeDir}`;
  const run = current.queue.then(async () => {
    const missing = hosts.filter((h) => !current.toplevels.has(h));
    if (missing.length === 0) return;
    nix ??= offlineNix();
    const outcomes = await nix.build(missing.map((h) => toplevelInstallable(flakeRef, h)));
    const failures = outcomes.filter((o) => !o.ok);
    if (failures.length > 0) {
      throw new Error(`example fleet (variant ${variant}) did not build:\n${failures.map((f) => (f.ok ? '' : `${f.installable}: ${f.error}`)).join('\n')}`);
    }
    outcomes.forEach((o, i) => {
      if (o.ok) current.toplevels.set(missing[i] as string, { out: o.outputs.out as string, drv: o.drvPath ?? '' });
    });
  });
  current.queue = run.catch(() => undefined);
  await run;
  const toplevels: Record<string, string> = {};
  const drvPaths: Record<string, string> = {};
  for (const host of hosts) {
    const built = current.toplevels.get(host);
    if (!built) throw new Error(`example fleet has no host "${host}" (hosts: ${EXAMPLE_FLEET_HOSTS.join(', ')})`);
    toplevels[host] = built.out;
    drvPaths[host] = built.drv;
  }
  return { flakeDir, flakeRef, variant, toplevels, drvPaths };
}

/** Removes the flake copies made so far (they are also removed when the process exits). */
export async function cleanupExampleFleets(): Promise<void> {
  await Promise.all([...tempDirs].map((dir) => rm(dir, { recursive: true, force: true })));
  tempDirs.clear();
  variants.clear();
}
