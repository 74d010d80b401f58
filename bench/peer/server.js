// The benchmark's peer: oidc-provider (npm) configured like the eSignet login the bench drives: one
// private_key_jwt ES256 client, PKCE required, RS256 ID tokens and signed userinfo, the built-in in-memory
// adapter, and a headless login interaction in place of devInteractions (GET /interaction/:uid logs in a fixed
// account and grants the requested scopes, then hands back to the provider).
//
//   node server.js --port 18950 --out DIR/peer.json
//
// Writes DIR/peer.json ({issuer, client_id, client_private_jwk, redirect_uri, scope}) once it listens; the key
// pairs are made at start, in memory only. Listens on 127.0.0.1 only. Stops on SIGTERM/SIGINT.

import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair, calculateJwkThumbprint } from 'jose';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '18950' }, out: { type: 'string' } },
});
const port = Number(values.port);
const issuer = `http://127.0.0.1:${port}`;
const redirectUri = 'http://127.0.0.1:3000/callback';
const clientId = 'bench-client';
const scope = 'openid profile email phone address';

async function keyPair(alg, options) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
  const priv = await exportJWK(privateKey);
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  return { priv: { ...priv, kid, alg, use: 'sig' }, pub: { ...pub, kid, alg, use: 'sig' } };
}

const signing = await keyPair('RS256', { modulusLength: 2048 });
const client = await keyPair('ES256');

// The fixed account: the claims eSignet's mock identity returns for `openid profile`.
const account = {
  accountId: 'citizen-0001',
  async claims() {
    return {
      sub: 'citizen-0001',
      name: 'Amina Tester',
      given_name: 'Amina',
      family_name: 'Tester',
      gender: 'Female',
      birthdate: '1987-11-25',
      picture: 'iVBORw0KGgoAAAANSUhEUg',
      email: 'amina@example.com',
      phone_number: '+915886304351',
      address: {
        street_address: '1 Test Street', locality: 'Testville', region: 'North', postal_code: '12345',
        country: 'Testland',
      },
    };
  },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    redirect_uris: [redirectUri],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    id_token_signed_response_alg: 'RS256',
    userinfo_signed_response_alg: 'RS256',
    jwks: { keys: [client.pub] },
  }],
  jwks: { keys: [signing.priv] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'gender', 'birthdate', 'picture'],
    email: ['email'],
    phone: ['phone_number'],
    address: ['address'],
  },
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
    userinfo: { enabled: true },
  },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, sub) => (sub === account.accountId ? account : undefined),
  ttl: { AccessToken: 3600, AuthorizationCode: 300, IdToken: 3600, Interaction: 300, Session: 300, Grant: 3600 },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

// The headless interaction: login and consent in one step, then back to the provider (303 to /auth/:uid).
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { params } = details;
  const grant = new provider.Grant({ accountId: account.accountId, clientId: params.client_id });
  grant.addOIDCScope(String(params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, {
    login: { accountId: account.accountId },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => {
      console.error('interaction failed', err);
      if (!res.headersSent) {
        res.statusCode = 500;
      }
      res.end();
    });
    return;
  }
  callback(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  const info = { issuer, client_id: clientId, client_private_jwk: client.priv, redirect_uri: redirectUri, scope };
  if (values.out) {
    writeFileSync(values.out, JSON.stringify(info, null, 2));
  }
  console.log(JSON.stringify({ ready: true, issuer, pid: process.pid }));
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
