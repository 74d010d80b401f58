// An independent wallet run against the issuer by tests/blackbox/test_vci.py: @openid4vc/openid4vci does
// metadata → authorization (PKCE) → token (private_key_jwt) → nonce → credential → notification, and the
// credential is verified with @sd-jwt/sd-jwt-vc (dc+sd-jwt) or jose (jwt_vc_json), never with the project's code.
//
// Input: WALLET_CONFIG (JSON: issuer, clientId, clientJwk (private), redirectUri, configurationId), or for the demo
// `node wallet.mjs <.esignet/demo.json> [configurationId]` (the demo client acts as the wallet's backend).
// Protocol on stdio, one JSON object per line: the wallet prints {"step":"authorize","url":...}; the test (or a
// person, in a browser) logs in and writes the redirect URL (with the code) on stdin; the wallet prints
// {"step":"done", ...} with what it verified and the credential, or {"step":"error","message":...} and exits 1.

import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { CompactSign, SignJWT, calculateJwkThumbprint, compactVerify, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import { Openid4vciClient } from '@openid4vc/openid4vci';
import { setGlobalConfig } from '@openid4vc/utils';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest } from '@sd-jwt/crypto-nodejs';

function demoConfig(path, configurationId) {
  const demo = JSON.parse(readFileSync(path, 'utf8'));
  return {
    issuer: demo.issuer,
    clientId: demo.client_id,
    clientJwk: demo.client_private_jwk,
    redirectUri: demo.redirect_uri,
    configurationId: configurationId ?? 'MosipIdentitySdJwt',
  };
}

const interactive = Boolean(process.argv[2]);
const config = interactive ? demoConfig(process.argv[2], process.argv[3]) : JSON.parse(process.env.WALLET_CONFIG ?? '{}');
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
// The demo and the tests serve plain http on loopback.
setGlobalConfig({ allowInsecureUrls: true });

const stdin = createInterface({ input: process.stdin });
const lines = stdin[Symbol.asyncIterator]();
const readLine = async () => (await lines.next()).value;

const holder = await generateKeyPair('ES256', { extractable: true });
const holderJwk = await exportJWK(holder.publicKey);
const clientKey = await importJWK(config.clientJwk, config.clientJwk.alg ?? 'ES256');

const callbacks = {
  hash: (data, alg) => createHash(alg.replace('-', '')).update(data).digest(),
  generateRandom: (n) => randomBytes(n),
  signJwt: async (signer, { header, payload }) => {
    if (signer.method !== 'jwk') throw new Error(`unexpected signer ${signer.method}`);
    const jwt = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader(header)
      .sign(holder.privateKey);
    return { jwt, signerJwk: signer.publicJwk };
  },
  // private_key_jwt (RFC 7523) at the token endpoint, as the eSignet client is registered.
  clientAuthentication: async ({ url, body }) => {
    const now = Math.floor(Date.now() / 1000);
    body.client_id = config.clientId;
    body.client_assertion_type = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
    body.client_assertion = await new SignJWT({ jti: randomBytes(16).toString('hex') })
      .setProtectedHeader({ alg: config.clientJwk.alg ?? 'ES256', kid: config.clientJwk.kid, typ: 'JWT' })
      .setIssuer(config.clientId).setSubject(config.clientId).setAudience(url)
      .setIssuedAt(now).setExpirationTime(now + 60)
      .sign(clientKey);
  },
};

async function getJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return r.json();
}

async function verifySdJwt(credential, issuer) {
  const meta = await getJson(new URL('/.well-known/jwt-vc-issuer' + new URL(issuer).pathname, issuer).href);
  if (meta.issuer !== issuer) throw new Error('jwt-vc-issuer metadata names another issuer');
  const kid = JSON.parse(Buffer.from(credential.split('.')[0], 'base64url')).kid;
  const jwk = meta.jwks.keys.find((k) => k.kid === kid);
  if (!jwk) throw new Error(`no published issuer key ${kid}`);
  const key = await importJWK(jwk, 'ES256');
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    verifier: async (data, signature) => {
      const [h, p] = data.split('.');
      try {
        await compactVerify(`${h}.${p}.${signature}`, key);
        return true;
      } catch {
        return false;
      }
    },
  });
  const { payload, header } = await sdjwt.verify(credential, { requiredClaimKeys: ['iss', 'vct', 'cnf', 'iat'] });
  return { header, payload, claims: await sdjwt.getClaims(credential) };
}

async function verifyJwtVc(credential, issuer) {
  const did = await getJson(new URL('/.well-known/did.json', issuer).href);
  const kid = JSON.parse(Buffer.from(credential.split('.')[0], 'base64url')).kid;
  const method = did.verificationMethod.find((m) => m.id === `${did.id}#${kid}`);
  if (!method) throw new Error(`no verification method for ${kid}`);
  const { payload, protectedHeader } = await jwtVerify(credential, await importJWK(method.publicKeyJwk, 'ES256'), {
    issuer: did.id,
  });
  return { header: protectedHeader, payload, claims: payload.vc.credentialSubject };
}

try {
  const client = new Openid4vciClient({ callbacks });
  const issuerMetadata = await client.resolveIssuerMetadata(config.issuer);
  const configuration = issuerMetadata.credentialIssuer.credential_configurations_supported[config.configurationId];
  const credentialOffer = {
    credential_issuer: config.issuer,
    credential_configuration_ids: [config.configurationId],
    grants: { authorization_code: {} },
  };
  const auth = await client.initiateAuthorization({
    clientId: config.clientId,
    redirectUri: config.redirectUri,
    scope: configuration.scope,
    credentialOffer,
    issuerMetadata,
  });
  say({ step: 'authorize', url: auth.authorizationRequestUrl, version: issuerMetadata.originalDraftVersion });
  if (interactive) {
    process.stderr.write('\nOpen the URL above in a browser and sign in with a demo identity. The browser then goes to '
      + `${config.redirectUri}?code=… (the page may not load): paste that whole address here and press Enter.\n> `);
  }
  const redirect = await readLine();
  const authorizationServerMetadata = issuerMetadata.authorizationServers[0];
  const response = client.parseAndVerifyAuthorizationResponseRedirectUrl({ url: redirect, authorizationServerMetadata });
  const { accessTokenResponse } = await client.retrieveAuthorizationCodeAccessTokenFromOffer({
    issuerMetadata,
    credentialOffer,
    authorizationCode: response.code,
    pkceCodeVerifier: auth.pkce?.codeVerifier,
    redirectUri: config.redirectUri,
  });
  const { c_nonce } = await client.requestNonce({ issuerMetadata });
  const { jwt } = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: config.configurationId,
    signer: { method: 'jwk', alg: 'ES256', publicJwk: holderJwk },
    nonce: c_nonce,
    clientId: config.clientId,
  });
  const result = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId: config.configurationId,
    proofs: { jwt: [jwt] },
  });
  const body = result.credentialResponse;
  const credential = body.credentials[0].credential;
  const verified = configuration.format === 'dc+sd-jwt'
    ? await verifySdJwt(credential, config.issuer)
    : await verifyJwtVc(credential, config.issuer);
  const holderThumbprint = await calculateJwkThumbprint(holderJwk);
  const boundThumbprint = configuration.format === 'dc+sd-jwt'
    ? await calculateJwkThumbprint(verified.payload.cnf.jwk)
    : await calculateJwkThumbprint(
      JSON.parse(Buffer.from(verified.payload.sub.slice('did:jwk:'.length), 'base64url')),
    );
  await client.sendNotification({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    notification: { notificationId: body.notification_id, event: 'credential_accepted' },
  });
  say({
    step: 'done',
    version: issuerMetadata.originalDraftVersion,
    tokenType: accessTokenResponse.token_type,
    expiresIn: accessTokenResponse.expires_in,
    header: verified.header,
    claims: verified.claims,
    boundToProofKey: holderThumbprint === boundThumbprint,
    ...(interactive ? { credential } : {}),
  });
  process.exit(0);
} catch (e) {
  const detail = e?.response ? ` (HTTP ${e.response.status})` : '';
  say({ step: 'error', message: `${e?.name ?? 'Error'}: ${e?.message ?? e}${detail}`, body: e?.responseText });
  process.exit(1);
}
