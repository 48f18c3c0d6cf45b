export * from './types.js';
export { InventoryError, orderedWaves, parseInventory, parseInventoryText, readInventoryFile } from './inventory.js';
export { SelectionError, isExplicitSelection, refAllowed, selectHosts } from './select.js';
