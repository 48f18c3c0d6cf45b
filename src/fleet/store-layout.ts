/**
 * The directories fleet keeps under `fleet/` in a store besides the manifest pointers
 * (`fleet/<environment>/<host>.json`): hosts' status reports, the status history, build records and
 * the garbage collection's record. No environment may take one of these names.
 */
export const FLEET_STORE_DIRECTORIES: readonly string[] = ['status', 'status-history', 'builds', 'gc'];
