import type { Clock, Sleep } from '../util/async.js';
import type { Log } from '../util/log.js';

/** What the aws-asg and aws-ssm transports share: where, for which commit, and how they wait. */
export interface AwsTransportOptions {
  log: Log;
  /** The `aws-region` input; an inventory host's own region wins. */
  region?: string;
  /** The commit deployed (tagged on new instances, named in command comments). */
  commit?: string;
  /** How long to wait for each refresh or command before cancelling it. */
  timeoutMs?: number;
  pollIntervalMs?: number;
  clock?: Clock;
  sleep?: Sleep;
}
