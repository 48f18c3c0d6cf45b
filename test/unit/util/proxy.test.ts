import { afterEach, describe, expect, it } from '@jest/globals';
import { awsEndpointOf, AWS_SERVICES } from '../../../src/aws/request-handler.js';
import { childEnvironment } from '../../../src/util/exec.js';
import { childProxyEnvironment, proxyFor, proxySecrets, redactProxyUrl } from '../../../src/util/proxy.js';

const NAMES = ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'];
const saved = Object.fromEntries(NAMES.map((name) => [name, process.env[name]]));

function setProxyEnv(values: Record<string, string>): void {
  for (const name of NAMES) delete process.env[name];
  Object.assign(process.env, values);
}

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('which requests take the proxy (as @actions/http-client decides)', () => {
  it('https takes HTTPS_PROXY, http takes HTTP_PROXY, never the one for the other', () => {
    setProxyEnv({ HTTPS_PROXY: 'http://secure.proxy:3128' });
    expect(proxyFor('https://api.github.com/repos')?.host).toBe('secure.proxy:3128');
    expect(proxyFor('http://cache.example.org/nix-cache-info')).toBeUndefined();
    setProxyEnv({ http_proxy: 'http://plain.proxy:8080' });
    expect(proxyFor('http://cache.example.org/x')?.host).toBe('plain.proxy:8080');
  });

  it('NO_PROXY hosts, suffixes and host:port go direct, and loopback always does', () => {
    setProxyEnv({ HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://proxy:3128', NO_PROXY: 'cache.lan, .internal.example, s3.example.org:9000' });
    expect(proxyFor('http://cache.lan/x')).toBeUndefined();
    expect(proxyFor('https://ghe.internal.example/api/v3')).toBeUndefined();
    expect(proxyFor('http://s3.example.org:9000/bucket')).toBeUndefined();
    expect(proxyFor('http://s3.example.org:9001/bucket')?.host).toBe('proxy:3128');
    expect(proxyFor('http://127.0.0.1:8080/x')).toBeUndefined();
    expect(proxyFor('http://localhost:8080/x')).toBeUndefined();
    expect(proxyFor('https://sts.eu-central-1.amazonaws.com')?.host).toBe('proxy:3128');
  });
});

describe('proxy credentials', () => {
  it('are offered for masking, as written and decoded', () => {
    const secrets = proxySecrets({ HTTPS_PROXY: 'http://runner:p%40ss%3Aword@proxy:3128', http_proxy: 'proxy-without-scheme:80' });
    expect(secrets).toEqual(expect.arrayContaining(['p%40ss%3Aword', 'p@ss:word']));
    expect(proxySecrets({ HTTP_PROXY: 'http://proxy:3128' })).toEqual([]);
  });

  it('never show in a proxy URL we print', () => {
    expect(redactProxyUrl(new URL('http://runner:s3cret@proxy:3128'))).toBe('http://runner:***@proxy:3128/');
    expect(redactProxyUrl(new URL('http://proxy:3128'))).toBe('http://proxy:3128/');
  });
});

describe('the proxy settings children get', () => {
  it('copies the uppercase forms down for libcurl (Nix), keeping loopback direct', () => {
    expect(childProxyEnvironment({ HTTP_PROXY: 'http://proxy:3128', HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'cache.lan' })).toEqual({
      http_proxy: 'http://proxy:3128',
      https_proxy: 'http://proxy:3128',
      no_proxy: 'cache.lan,localhost,127.0.0.0/8,::1',
    });
    expect(childProxyEnvironment({ PATH: '/bin' })).toEqual({});
    expect(childEnvironment({ HTTPS_PROXY: 'http://proxy:3128', INPUT_GITHUB_TOKEN: 'x' })).toEqual({ HTTPS_PROXY: 'http://proxy:3128', https_proxy: 'http://proxy:3128', no_proxy: 'localhost,127.0.0.0/8,::1' });
  });
});

describe('AWS endpoints the proxy is decided for', () => {
  it('follows the SDK: explicit, AWS_ENDPOINT_URL_<ID>, AWS_ENDPOINT_URL, regional', () => {
    expect(awsEndpointOf(AWS_SERVICES.sts, 'eu-central-1', 'http://sts.local:4566', {})).toBe('http://sts.local:4566');
    expect(awsEndpointOf(AWS_SERVICES.autoScaling, 'eu-central-1', undefined, { AWS_ENDPOINT_URL_AUTO_SCALING: 'http://asg.local' })).toBe('http://asg.local');
    expect(awsEndpointOf(AWS_SERVICES.ssm, 'eu-central-1', undefined, { AWS_ENDPOINT_URL: 'http://aws.local' })).toBe('http://aws.local');
    expect(awsEndpointOf(AWS_SERVICES.ec2, 'us-west-2', undefined, {})).toBe('https://ec2.us-west-2.amazonaws.com');
  });
});
