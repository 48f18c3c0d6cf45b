export { escapeHtml, jsonForScript } from './html.js';
export { statusPageInput } from './input.js';
export { renderStatusPage, shortSystem } from './render.js';
export type { StatusHost, StatusPageInput, StatusWave } from './types.js';
export { writePageInside } from './write.js';
