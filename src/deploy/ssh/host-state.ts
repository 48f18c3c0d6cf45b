/** A host as the helper's `state` command sees it. */
export interface HostState {
  /** `/run/current-system`, resolved. */
  current?: string;
  /** `/run/booted-system`, resolved. */
  booted?: string;
  /** The system profile's store path. */
  profile?: string;
  /** The system profile's generation (`system-42-link` → 42). */
  generation?: number;
  bootId?: string;
  /** Free space on the filesystem of /nix/store. */
  freeBytes?: number;
  /** systemd is the init system (`/run/systemd/system` exists). */
  systemd: boolean;
  /** The system asked about is valid in the host's store. */
  present?: boolean;
  /** Another deployment's activation is running there. */
  busy?: string;
}

/** Parses the helper's `state` output (key=value lines; empty values mean "none"). */
export function parseHostState(text: string): HostState {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const get = (key: string) => values.get(key) || undefined;
  const state: HostState = { systemd: get('systemd') === '1' };
  const storePath = (key: string) => {
    const value = get(key);
    return value && value.startsWith('/') ? value : undefined;
  };
  const current = storePath('current');
  if (current) state.current = current;
  const booted = storePath('booted');
  if (booted) state.booted = booted;
  const profile = storePath('profile');
  if (profile) state.profile = profile;
  const generation = /^system-(\d+)-link$/.exec(get('profile-link') ?? '');
  if (generation) state.generation = Number(generation[1]);
  const bootId = get('boot-id');
  if (bootId) state.bootId = bootId;
  const freeKib = get('free-kib');
  if (freeKib && /^\d+$/.test(freeKib)) state.freeBytes = Number(freeKib) * 1024;
  const present = get('present');
  if (present !== undefined) state.present = present === '1';
  const busy = get('busy');
  if (busy) state.busy = busy;
  return state;
}
