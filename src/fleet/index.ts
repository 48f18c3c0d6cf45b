export * from './types.js';
export { InventoryError, orderedWaves, parseInventory, parseInventoryText, readInventoryFile } from './inventory.js';
export { loadInventory } from './load.js';
export { SelectionError, reachedWaves, refAllowed, selectHosts } from './select.js';
