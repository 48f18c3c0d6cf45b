import { UserError } from '../util/errors.js';

/** An AWS region name (`eu-west-1`, `us-gov-west-1`). */
export const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

export const MIN_DURATION_SECONDS = 900;
export const MAX_DURATION_SECONDS = 43_200;

const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]|aws-eusc):iam::(\d{12}):role\/((?:[\x21-\x7e]+\/)?)([\w+=,.@-]{1,64})$/;

export interface RoleArnParts {
  partition: string;
  accountId: string;
  /** `/` or `/path/`. */
  path: string;
  roleName: string;
}

/** Checks an IAM role ARN (`arn:aws:iam::123456789012:role/NAME`), naming the problem if it is not one. */
export function parseRoleArn(value: string, inputName = 'role-to-assume'): RoleArnParts {
  const arn = value.trim();
  const match = ROLE_ARN.exec(arn);
  if (match) {
    const [, partition, accountId, path, roleName] = match as unknown as [string, string, string, string, string];
    return { partition, accountId, path: `/${path}`, roleName };
  }
  const example = 'arn:aws:iam::123456789012:role/fleet-cache-writer';
  let problem = 'is not an IAM role ARN';
  if (arn === '') problem = 'is empty';
  else if (/^arn:[^:]+:sts::\d+:assumed-role\//.test(arn)) problem = 'is an assumed-role session ARN (arn:…:sts::…:assumed-role/…), not the role itself';
  else if (/^arn:[^:]+:iam::\d+:user\//.test(arn)) problem = 'names an IAM user; OIDC federation assumes a role';
  else if (/^arn:[^:]+:iam::(?!\d{12}:)/.test(arn)) problem = 'does not carry a 12-digit account ID';
  else if (/^[\w+=,.@-]+$/.test(arn)) problem = 'is a bare role name; give the full ARN';
  throw new UserError(`Input ${inputName}: "${value}" ${problem}. Example: ${example}`);
}

/** Checks the session length STS accepts (15 minutes to 12 hours). */
export function validateDurationSeconds(value: number, inputName = 'role-duration-seconds'): number {
  if (!Number.isInteger(value) || value < MIN_DURATION_SECONDS || value > MAX_DURATION_SECONDS) {
    throw new UserError(
      `Input ${inputName}: ${value} is not a whole number of seconds from ${MIN_DURATION_SECONDS} (15 minutes) to ${MAX_DURATION_SECONDS} (12 hours). ` +
        `Example: 3600. Durations above 3600 also need the role's MaxSessionDuration raised.`,
    );
  }
  return value;
}

const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** Checks a role session name as STS does: 2 to 64 of `A-Za-z0-9_+=,.@-`. */
export function validateSessionName(value: string, inputName = 'role-session-name'): string {
  if (!SESSION_NAME.test(value)) {
    throw new UserError(`Input ${inputName}: "${value}" must be 2 to 64 characters of letters, digits and _+=,.@- (example: fleet-deploy-1234).`);
  }
  return value;
}

/** A session name that shows in CloudTrail which run held the credentials. */
export function defaultSessionName(env: NodeJS.ProcessEnv = process.env): string {
  const run = [env.GITHUB_RUN_ID, env.GITHUB_RUN_ATTEMPT].filter(Boolean).join('-');
  const name = `fleet-${run || `local-${process.pid}`}`.replace(/[^\w+=,.@-]/g, '-');
  return name.slice(0, 64);
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export function validateRegion(value: string, inputName = 'aws-region'): string {
  if (!REGION.test(value)) {
    throw new UserError(`Input ${inputName}: "${value}" is not an AWS region. Example: eu-central-1`);
  }
  return value;
}
