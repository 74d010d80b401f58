// A demo relying party for the eSignet login pages, built on openid-client (v6): authorization code flow with
// PKCE S256, private_key_jwt (the demo client's private JWK from the host's demo.json), state and nonce, then the
// token exchange and a signed userinfo response (application/jwt) whose signature openid-client checks against
// the issuer's JWKS (non-repudiation checks on). It shows the claims it verified, or the error it received.
//
//   node tests/browser/rp/server.mjs [path/to/demo.json]   # default .esignet/demo.json; listens on 127.0.0.1:3000
//
// /login?ui_locales=ar&acr_values=... starts a login (both passed through); /callback ends it.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as oidc from 'openid-client';
import * as jose from 'jose';

const SCOPE = 'openid profile email phone';
const PASSED_THROUGH = ['ui_locales', 'acr_values', 'claims_locales', 'prompt'];

function escape(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:1rem auto;max-width:40rem;padding:0 1rem}
th{text-align:start;padding-inline-end:1rem;vertical-align:top}td{overflow-wrap:anywhere}
.ok{color:#0a6b2b}.bad{color:#a4161a}</style></head><body>
<h1>Demo relying party</h1>${body}<p><a href="/login">Sign in with eSignet</a></p></body></html>`;
}

function claimRows(claims) {
  return Object.entries(claims).map(([name, value]) => {
    const shown = typeof value === 'string' ? value : JSON.stringify(value);
    return `<tr data-claim="${escape(name)}"><th>${escape(name)}</th><td>${escape(shown)}</td></tr>`;
  }).join('');
}

function cookie(req, name) {
  for (const part of (req.headers.cookie || '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return '';
}

// The openid-client configuration of the demo client, from discovery at the issuer.
export async function configure(demo) {
  const jwk = demo.client_private_jwk;
  const alg = jwk.alg || (jwk.kty === 'EC' ? 'ES256' : 'RS256');
  const key = await jose.importJWK(jwk, alg);
  const auth = oidc.PrivateKeyJwt(jwk.kid ? { key, kid: jwk.kid } : key);
  // ID tokens are RS256; the userinfo JWS is the identity system's own (ES256 for the mock plugin) or ours (RS256),
  // so it is checked against the provider's userinfo_signing_alg_values_supported rather than pinned.
  const metadata = { id_token_signed_response_alg: 'RS256' };
  const execute = [oidc.enableNonRepudiationChecks];
  if (new URL(demo.issuer).protocol === 'http:') execute.unshift(oidc.allowInsecureRequests);
  return oidc.discovery(new URL(demo.issuer), demo.client_id, metadata, auth, { execute });
}

// Starts the RP; resolves to { server, url, close() }.
export async function startRp({ demo, host = '127.0.0.1', port = 3000 }) {
  const config = await configure(demo);
  const sessions = new Map();
  const base = `http://${host}:${port}`;
  const redirectUri = demo.redirect_uri || `${base}/callback`;

  async function login(req, res, url) {
    const sid = crypto.randomBytes(16).toString('base64url');
    const flow = {
      verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce(), at: Date.now(),
    };
    sessions.set(sid, flow);
    const params = {
      redirect_uri: redirectUri, scope: SCOPE, state: flow.state, nonce: flow.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier), code_challenge_method: 'S256',
    };
    for (const name of PASSED_THROUGH) {
      const v = url.searchParams.get(name);
      if (v) params[name] = v;
    }
    const target = oidc.buildAuthorizationUrl(config, params);
    res.writeHead(302, {
      location: target.href, 'set-cookie': `rp_session=${sid}; Path=/; HttpOnly; SameSite=Lax`, 'cache-control': 'no-store',
    });
    res.end();
  }

  async function callback(req, res, url) {
    const sid = cookie(req, 'rp_session');
    const flow = sessions.get(sid);
    sessions.delete(sid);
    if (!flow) return send(res, 400, page('No login', '<p id="error" class="bad">No login in progress.</p>'));
    const error = url.searchParams.get('error');
    if (error) {
      const state = url.searchParams.get('state');
      const matches = state === flow.state;
      return send(res, 200, page('Login not completed', `<p class="bad">The provider answered an error.</p><table>
<tr><th>error</th><td id="error">${escape(error)}</td></tr>
<tr><th>error_description</th><td>${escape(url.searchParams.get('error_description') || '')}</td></tr>
<tr><th>state</th><td id="state">${escape(state || '')}</td></tr>
<tr><th>state matches</th><td id="state-matches">${matches ? 'yes' : 'no'}</td></tr></table>`));
    }
    try {
      const tokens = await oidc.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      const jwksUri = config.serverMetadata().jwks_uri;
      return send(res, 200, page('Signed in', `<p id="verified" class="ok">Signed in. The userinfo response was a JWT
whose signature was verified with the issuer's JWKS (${escape(jwksUri)}); iss, aud and sub were checked.</p>
<h2>Verified userinfo claims</h2><table id="claims">${claimRows(userinfo)}</table>
<h2>ID token</h2><table id="id-token">${claimRows({ sub: idClaims.sub, acr: idClaims.acr, auth_time: idClaims.auth_time })}</table>`));
    } catch (e) {
      const code = e.code || e.error || 'error';
      return send(res, 502, page('Login failed', `<p id="error" class="bad">${escape(code)}: ${escape(e.message)}</p>`));
    }
  }

  function send(res, status, html) {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, base);
    const route = { '/login': login, '/callback': callback }[url.pathname];
    if (url.pathname === '/') return send(res, 200, page('Demo relying party', `<p>Client ${escape(demo.client_id)} at ${escape(demo.issuer)}</p>`));
    if (!route) return send(res, 404, page('Not found', '<p>Not found.</p>'));
    route(req, res, url).catch((e) => send(res, 500, page('Error', `<p id="error">${escape(e.message)}</p>`)));
  });
  await new Promise((resolve, reject) => {
    server.once('error', (e) => reject(e.code === 'EADDRINUSE'
      ? new Error(`port ${port} on ${host} is busy: the demo client's redirect URI is fixed to ${redirectUri}; free the port`)
      : e));
    server.listen(port, host, resolve);
  });
  return { server, url: base, close: () => new Promise((r) => server.close(r)) };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] || path.join(process.cwd(), '.esignet', 'demo.json');
  const demo = JSON.parse(fs.readFileSync(file, 'utf8'));
  startRp({ demo }).then(({ url }) => console.log(`demo RP on ${url} (issuer ${demo.issuer})`), (e) => {
    console.error(`demo RP not started: ${e.message} (is the provider at ${demo.issuer} running?)`);
    process.exit(1);
  });
}
