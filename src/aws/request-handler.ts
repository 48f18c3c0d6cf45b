import type { AgentOptions } from 'node:http';
import { agentProxyOptions } from '../util/proxy.js';

/** An AWS service as its SDK client names its endpoint: the host prefix and the AWS_ENDPOINT_URL_<ID> suffix. */
export interface AwsService {
  host: string;
  envId: string;
}

export const AWS_SERVICES = {
  sts: { host: 'sts', envId: 'STS' },
  s3: { host: 's3', envId: 'S3' },
  autoScaling: { host: 'autoscaling', envId: 'AUTO_SCALING' },
  ec2: { host: 'ec2', envId: 'EC2' },
  ssm: { host: 'ssm', envId: 'SSM' },
} as const satisfies Record<string, AwsService>;

/**
 * Where a client of `service` in `region` sends its requests, as the SDK picks it: an explicit
 * endpoint, AWS_ENDPOINT_URL_<ID>, AWS_ENDPOINT_URL, else AWS's regional endpoint.
 */
export function awsEndpointOf(service: AwsService, region: string, explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit || env[`AWS_ENDPOINT_URL_${service.envId}`] || env.AWS_ENDPOINT_URL || `https://${service.host}.${region}.amazonaws.com`;
}

/**
 * The SDK's request handler settings for a client whose requests go to `endpoint`: through the
 * proxy HTTPS_PROXY/HTTP_PROXY/NO_PROXY call for there (util/proxy), with `agent`'s pool settings.
 */
export function awsRequestHandler(endpoint: string, agent: AgentOptions = {}): { httpAgent: AgentOptions; httpsAgent: AgentOptions } {
  const options = { ...agent, ...agentProxyOptions(endpoint) };
  return { httpAgent: options, httpsAgent: options };
}
