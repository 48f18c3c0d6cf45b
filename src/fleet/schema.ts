import { z } from 'zod';
import { parseDuration } from '../util/duration.js';
import type { Quorum } from './types.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" or "-"');
/** A Nix system double, as `nixpkgs.hostPlatform` names it. */
export const NIX_SYSTEM = /^[a-z0-9_]+-[a-z0-9_]+$/;
export const DEFAULT_SYSTEM = 'x86_64-linux';
const system = z.string().regex(NIX_SYSTEM, 'is not a Nix system such as x86_64-linux or aarch64-linux');
const list = z.array(z.string().min(1));

/** The longest soak (a wave's, or the upgrade-wave action's `soak` input): beyond it dates overflow and no wave ever passes. */
export const SOAK_MAX = '90d';

const soak = z.union([z.string(), z.number()]).transform((value, ctx) => {
  let ms: number;
  try {
    ms = typeof value === 'number' ? value * 1000 : parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
  if (!(ms >= 0 && ms <= parseDuration(SOAK_MAX))) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not between 0 and the maximum ${SOAK_MAX} (example: 24h)` });
    return z.NEVER;
  }
  return ms;
});

const quorum = z.union([z.number().int().positive(), z.string()]).transform((value, ctx): Quorum => {
  if (typeof value === 'number') return { count: value };
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(value.trim());
  if (percent && Number(percent[1]) > 0 && Number(percent[1]) <= 100) return { percent: Number(percent[1]) };
  if (/^\d+$/.test(value.trim()) && Number(value) > 0) return { count: Number(value) };
  ctx.addIssue({ code: 'custom', message: `"${value}" is not a quorum (examples: 3, 80%)` });
  return z.NEVER;
});

const sshDeploy = z.strictObject({
  method: z.literal('ssh'),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().min(1).optional(),
  jump: z.string().min(1).optional(),
});
/** How a pull host can be reached over ssh, when it can: only for action-deploy's `nudge`. */
const pullReach = z.strictObject({
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().min(1).optional(),
  jump: z.string().min(1).optional(),
});
const pullDeploy = z.strictObject({ method: z.literal('pull'), ssh: pullReach.optional() });
const asgDeploy = z.strictObject({
  method: z.literal('aws-asg'),
  'auto-scaling-group': z.string().min(1),
  'launch-template': z.string().min(1),
  region: z.string().optional(),
});
const ssmDeploy = z.strictObject({
  method: z.literal('aws-ssm'),
  'instance-ids': list.optional(),
  tags: z.record(z.string(), z.string()).optional(),
  region: z.string().optional(),
});
export const deploySchema = z.discriminatedUnion('method', [sshDeploy, pullDeploy, asgDeploy, ssmDeploy]);

export const inventorySchema = z.strictObject({
  environments: z.record(
    name,
    z.strictObject({
      'allowed-refs': list.default([]),
      protected: z.boolean().default(false),
    }),
  ),
  waves: z
    .record(
      name,
      z.strictObject({
        order: z.number().int(),
        soak: soak.default(0),
        quorum: quorum.default({ percent: 100 }),
        channel: z.string().min(1).optional(),
      }),
    )
    .default({}),
  holds: z.array(z.strictObject({ reason: z.string().min(1), waves: list.optional() })).default([]),
  /** Store paths the cache's garbage collection keeps with their closures (a golden image, a known-good system). */
  pinned: z.array(z.string().regex(/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]+$/, 'must be a store path such as /nix/store/<32-char hash>-<name>')).default([]),
  defaults: z
    .strictObject({
      deploy: z.record(z.string(), z.unknown()).optional(),
      environment: name.optional(),
      wave: name.optional(),
      system: system.optional(),
    })
    .default({}),
  hosts: z.record(
    name,
    z.strictObject({
      attribute: z.string().min(1).optional(),
      environment: name.optional(),
      wave: name.optional(),
      system: system.optional(),
      tags: list.default([]),
      deploy: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});

export type InventoryDocument = z.output<typeof inventorySchema>;
