import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { verifySigV4 } from '../oidc/sigv4.js';
import type { AutoScalingAccount } from './auto-scaling.js';
import type { SsmAccount } from './ssm.js';
import { AwsFault, parseQueryBody, readBody, toXml } from './wire.js';

export type AwsService = 'autoscaling' | 'ec2' | 'ssm';

/** A set of credentials the mock accepts, and who it stands for (an assumed role, say). */
export interface KnownCredentials {
  secretAccessKey: string;
  sessionToken?: string;
  principal: string;
}

export interface AwsCall {
  service: AwsService;
  action: string;
  principal?: string;
  /** What IAM would authorize: the group, launch template or instances. */
  resource?: string;
  status: number;
  code?: string;
}

export interface AwsMockOptions {
  credentials: (accessKeyId: string) => KnownCredentials | undefined;
  autoScaling: AutoScalingAccount;
  ssm: SsmAccount;
  /** IAM: may `principal` call `action` on `resource`? (default: yes) */
  allows?: (call: { principal: string; service: AwsService; action: string; resource: string }) => boolean;
}

export interface AwsMock {
  /** Give to AWS_ENDPOINT_URL_AUTO_SCALING, AWS_ENDPOINT_URL_EC2 and AWS_ENDPOINT_URL_SSM. */
  endpoint: string;
  /** Those variables, set to this mock. */
  env: Record<string, string>;
  readonly calls: AwsCall[];
  stop(): Promise<void>;
}

const NAMESPACES = { autoscaling: 'http://autoscaling.amazonaws.com/doc/2011-01-01/', ec2: 'http://ec2.amazonaws.com/doc/2016-11-15/' } as const;
const VERSIONS = { autoscaling: '2011-01-01', ec2: '2016-11-15' } as const;
const DENIED = { autoscaling: [403, 'AccessDenied'], ec2: [403, 'UnauthorizedOperation'], ssm: [400, 'AccessDeniedException'] } as const;

/**
 * Amazon EC2 Auto Scaling, EC2 (launch templates) and Systems Manager on one local port, on the
 * wire as the SDK speaks to them (query, EC2 query and JSON 1.1 protocols), each request's
 * Signature Version 4 checked against the credentials STS issued. Only the actions fleet calls
 * are served; test/unit/aws-mock/wire.test.ts checks the answers against the SDK's own models.
 */
export async function startAwsMock(options: AwsMockOptions): Promise<AwsMock> {
  const calls: AwsCall[] = [];

  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const requestId = randomUUID();
    const signed = verifySigV4({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body }, (id) => options.credentials(id)?.secretAccessKey);
    const service = (signed.ok ? signed.service : /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1]) as AwsService | undefined;
    const kind: AwsService = service === 'ec2' || service === 'ssm' ? service : 'autoscaling';
    const call: AwsCall = { service: kind, action: '', status: 200 };
    calls.push(call);
    try {
      if (!signed.ok) throw new AwsFault(403, signed.code === 'InvalidClientTokenId' && kind === 'ec2' ? 'AuthFailure' : signed.code === 'InvalidClientTokenId' && kind === 'ssm' ? 'UnrecognizedClientException' : signed.code, `The request signature could not be verified (${signed.code}).`);
      const known = options.credentials(signed.accessKeyId) as KnownCredentials;
      if (known.sessionToken !== undefined && req.headers['x-amz-security-token'] !== known.sessionToken) throw new AwsFault(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
      call.principal = known.principal;
      const handled = route(kind, req, body, call);
      const action = call.action;
      call.resource = handled.resource;
      if (options.allows && !options.allows({ principal: known.principal, service: kind, action, resource: handled.resource })) {
        const [status, code] = DENIED[kind];
        throw new AwsFault(status, code, `User: ${known.principal} is not authorized to perform: ${kind}:${action} on resource: ${handled.resource}`);
      }
      const result = handled.result();
      if (kind === 'ssm') {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId }).end(JSON.stringify(result));
      } else if (kind === 'ec2') {
        res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' }).end(`<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NAMESPACES.ec2}"><requestId>${requestId}</requestId>${toXml(result as never, 'item')}</${action}Response>`);
      } else {
        res
          .writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId })
          .end(`<${action}Response xmlns="${NAMESPACES.autoscaling}"><${action}Result>${toXml(result as never, 'member')}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`);
      }
    } catch (error) {
      const fault = error instanceof AwsFault ? error : new AwsFault(500, 'InternalFailure', (error as Error).message);
      call.status = fault.status;
      call.code = fault.code;
      if (kind === 'ssm') {
        res.writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId }).end(JSON.stringify({ __type: fault.code, message: fault.message }));
      } else if (kind === 'ec2') {
        res.writeHead(fault.status, { 'content-type': 'text/xml;charset=UTF-8' }).end(`<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${fault.code}</Code><Message>${toXml(fault.message, 'item')}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`);
      } else {
        res
          .writeHead(fault.status, { 'content-type': 'text/xml' })
          .end(`<ErrorResponse xmlns="${NAMESPACES.autoscaling}"><Error><Type>${fault.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${fault.code}</Code><Message>${toXml(fault.message, 'member')}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);
      }
    }
  };

  const route = (kind: AwsService, req: IncomingMessage, body: Buffer, call: AwsCall): { resource: string; result: () => unknown } => {
    if (kind === 'ssm') {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (!target.startsWith('AmazonSSM.')) throw new AwsFault(400, 'UnknownOperationException', `X-Amz-Target ${target} is not AmazonSSM's`);
      call.action = target.slice('AmazonSSM.'.length);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        throw new AwsFault(400, 'SerializationException', 'The request body is not JSON');
      }
      return options.ssm.handle(call.action, parsed);
    }
    const { action, version, params } = parseQueryBody(body.toString('utf8'));
    call.action = action;
    if (version !== VERSIONS[kind]) throw new AwsFault(400, 'InvalidParameterValue', `Version ${version} is not ${VERSIONS[kind]}`);
    return kind === 'ec2' ? options.autoScaling.ec2(action, params) : options.autoScaling.autoScaling(action, params);
  };

  const server = createServer((req, res) => {
    answer(req, res).catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    env: { AWS_ENDPOINT_URL_AUTO_SCALING: endpoint, AWS_ENDPOINT_URL_EC2: endpoint, AWS_ENDPOINT_URL_SSM: endpoint },
    calls,
    stop: async () => {
      await options.ssm.settle();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
