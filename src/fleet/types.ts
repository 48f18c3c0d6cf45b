/** The inventory every action reads: which hosts exist, how they are reached, how they roll out. */
export interface Inventory {
  environments: Record<string, Environment>;
  waves: Record<string, Wave>;
  hosts: Record<string, Host>;
  /** Holds block every promotion until removed. */
  holds: Hold[];
  /** Store paths the cache's garbage collection always keeps. */
  pinned: string[];
  /** Where it was read from (a file path, or `flake#attr`), for messages and minimal edits. */
  source: string;
}

export interface Environment {
  name: string;
  /** Git refs (globs, e.g. `refs/heads/main`, `refs/tags/v*`) allowed to deploy here. */
  allowedRefs: string[];
  /** A protected environment needs an explicit host selection: `all` must be written out. */
  protected: boolean;
}

export interface Wave {
  name: string;
  order: number;
  /** How long each host must run the new system before the wave passes. */
  soakMs: number;
  quorum: Quorum;
  /** What the wave builds with, e.g. the nixpkgs input name `nixpkgs-24-11`. */
  channel?: string;
}

/** At least `count` hosts, or `percent` of the wave's hosts (rounded up). */
export type Quorum = { count: number } | { percent: number };

export interface Hold {
  reason: string;
  /** Waves it holds; all when absent. */
  waves?: string[];
}

export interface Host {
  name: string;
  /** The `nixosConfigurations` attribute; defaults to the host's name. */
  attribute: string;
  /** The Nix system it runs (`x86_64-linux`, `aarch64-linux`): which build leg builds it. */
  system: string;
  environment: string;
  wave?: string;
  tags: string[];
  deploy: DeployTarget;
}

export type DeployTarget = SshTarget | PullTarget | AsgTarget | SsmTarget;

export interface SshTarget {
  method: 'ssh';
  /** Host name or address to connect to. */
  host: string;
  port: number;
  user: string;
  /** Relay for hosts behind NAT: `user@host:port` given to ssh's ProxyJump. */
  jump?: string;
}

export interface PullTarget {
  method: 'pull';
  /** Where the host answers ssh, if anywhere (through a relay, say): action-deploy's `nudge` starts its agent there. */
  ssh?: SshTarget;
}

export interface AsgTarget {
  method: 'aws-asg';
  autoScalingGroup: string;
  launchTemplate: string;
  region?: string;
}

export interface SsmTarget {
  method: 'aws-ssm';
  instanceIds?: string[];
  /** `Key=Value` tag targets. */
  tags?: Record<string, string>;
  region?: string;
}
