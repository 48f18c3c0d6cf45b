import { startOidcIssuer, startSts } from '../../support/oidc/index.js';
import { assumeRoleWithWebIdentity, describeIdentity, createRefreshingCredentials } from '../../../src/aws/index.js';
test('smoke', async () => {
  const issuer = await startOidcIssuer({ claims: { environment: 'production' } });
  const sts = await startSts({ issuer, trustPolicy: { roleArn: 'arn:aws:iam::123456789012:role/deploy', subjectPatterns: ['repo:acme/fleet:environment:production'] } });
  const env = { ...issuer.env, AWS_ENDPOINT_URL_STS: sts.endpoint };
  try {
    const r = await assumeRoleWithWebIdentity({ roleArn: 'arn:aws:iam::123456789012:role/deploy', region: 'eu-central-1' }, { env });
    console.log(r.assumedRoleArn, r.subject, r.audience, r.provider, r.credentials.expiration);
    const p = createRefreshingCredentials({ roleArn: 'arn:aws:iam::123456789012:role/deploy', region: 'eu-central-1' }, { env, onSecret: () => {} });
    console.log(await describeIdentity(p, { region: 'eu-central-1', env }));
    console.log(sts.calls);
  } finally { await sts.stop(); await issuer.stop(); }
});
