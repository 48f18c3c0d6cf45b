import type { Inventory } from '../fleet/types.js';
import type { HoldInfo } from './types.js';

/** The inventory's `holds:` entries. */
export function inventoryHolds(inventory: Inventory): HoldInfo[] {
  return inventory.holds.map((hold) => ({
    source: 'inventory',
    reason: hold.reason,
    ...(hold.waves && hold.waves.length > 0 ? { waves: hold.waves } : {}),
  }));
}

/**
 * The holds that block a step. A promotion changes what every wave runs, so every hold blocks it;
 * moving a wave is blocked by holds without waves and by holds naming that wave.
 */
export function blockingHolds(holds: readonly HoldInfo[], scope: { kind: 'promote' } | { kind: 'advance'; wave: string } | { kind: 'status' }): HoldInfo[] {
  if (scope.kind !== 'advance') return [...holds];
  return holds.filter((hold) => !hold.waves || hold.waves.includes(scope.wave));
}

export function describeHold(hold: HoldInfo): string {
  const where = hold.source === 'label' ? `#${hold.number ?? '?'}` : 'inventory hold';
  const waves = hold.waves ? ` (waves: ${hold.waves.join(', ')})` : '';
  return `${where}: ${hold.reason}${waves}`;
}
