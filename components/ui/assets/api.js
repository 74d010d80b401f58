// eSignet's UI API as the login pages call it: every POST in the request wrapper with `requestTime`, the CSRF
// double submit (X-XSRF-TOKEN = the XSRF-TOKEN cookie), and the transaction headers oauth-details-key and
// oauth-details-hash (base64url SHA-256 of JSON.stringify of the oauth-details `response`). A failure is an
// Error whose `code` is the first `errorCode` of the answer (or network_error / unknown_error).
export const API = '/v1/esignet';

// Query parameters of /authorize and the oauth-details members they become.
const PARAMS = {
  client_id: 'clientId', scope: 'scope', response_type: 'responseType', redirect_uri: 'redirectUri',
  display: 'display', prompt: 'prompt', acr_values: 'acrValues', claims: 'claims', claims_locales: 'claimsLocales',
  ui_locales: 'uiLocales', nonce: 'nonce', state: 'state', max_age: 'maxAge', code_challenge: 'codeChallenge',
  code_challenge_method: 'codeChallengeMethod', id_token_hint: 'idTokenHint',
};

const session = { csrf: '', transactionId: '', hash: '' };

export function failure(code) {
  const e = new Error(code);
  e.code = code;
  return e;
}

export function b64url(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function sha256(text) {
  return b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
}

async function call(path, request, bound) {
  const headers = { 'X-XSRF-TOKEN': session.csrf, 'Content-Type': 'application/json' };
  if (bound) {
    headers['oauth-details-key'] = session.transactionId;
    headers['oauth-details-hash'] = session.hash;
  }
  const body = JSON.stringify({ requestTime: new Date().toISOString(), request });
  let r, answer;
  try {
    r = await fetch(API + path, { method: 'POST', headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch (_) {
    throw failure('network_error');
  }
  try {
    answer = await r.json();
  } catch (_) {
    throw failure('unknown_error');
  }
  const errors = answer && Array.isArray(answer.errors) ? answer.errors : [];
  if (errors.length) throw failure(String(errors[0].errorCode || 'unknown_error'));
  if (!r.ok || !answer || !answer.response) throw failure('unknown_error');
  return answer.response;
}

// GET /csrf/token: the token the cookie now holds.
export async function fetchCsrf() {
  try {
    const r = await fetch(API + '/csrf/token', { credentials: 'same-origin', cache: 'no-store' });
    session.csrf = (await r.json()).token || '';
  } catch (_) {
    throw failure('network_error');
  }
}

// POST v3/oauth-details with the page's query; binds the following calls to the transaction.
export async function oauthDetails(query) {
  const request = {};
  for (const [name, member] of Object.entries(PARAMS)) {
    const v = query.get(name);
    if (v === null || v === '') continue;
    request[member] = v;
    if (name === 'claims') {
      try { request[member] = JSON.parse(v); } catch (_) { /* the server names the problem */ }
    } else if (name === 'max_age' && /^\d{1,9}$/.test(v)) {
      request[member] = Number(v);
    }
  }
  const details = await call('/authorization/v3/oauth-details', request, false);
  session.hash = await sha256(JSON.stringify(details));
  session.transactionId = details.transactionId;
  return details;
}

export function sendOtp(individualId, otpChannels) {
  return call('/authorization/send-otp', { transactionId: session.transactionId, individualId, otpChannels }, true);
}

export function authenticate(individualId, challengeList) {
  return call('/authorization/v3/authenticate', { transactionId: session.transactionId, individualId, challengeList }, true);
}

export function authCode(acceptedClaims, permittedAuthorizeScopes) {
  return call('/authorization/auth-code',
    { transactionId: session.transactionId, acceptedClaims, permittedAuthorizeScopes }, true);
}
