// The eSignet login pages. One page, several screens (method choice, ID entry, OTP, consent, error), driven by
// eSignet's UI API as eSignet's own UI drives it (see api.js). The browser only ever leaves for the redirectUri
// the server answered, never for a URI of the query. No secret or ID is logged or stored.
import * as api from './api.js';
import { clearT, iso3, loadLanguage, onLanguageChange, setT } from './texts.js';

const FORMATS = { OTP: 'alpha-numeric', PIN: 'number', PWD: 'alpha-numeric', KBI: 'base64url-encoded-json' };
// Codes after which this transaction cannot go on: the error screen instead of a message on the form.
const FATAL = ['invalid_transaction', 'invalid_transaction_id', 'invalid_request', 'invalid_csrf_token',
  'no_attempts_left', 'unknown_error', 'network_error', 'not_found', 'method_not_allowed', 'auth_factor_mismatch'];
const DEFAULT_KBI = [{ id: 'fullName', type: 'text' }, { id: 'dateOfBirth', type: 'date' }];
const SCREENS = ['s-loading', 's-method', 's-login', 's-otp', 's-consent', 's-error', 's-redirect'];

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const version = $('main').dataset.version || '';
const st = { details: null, factor: '', id: '', calls: 0, sends: 0, timer: 0, busy: false, screen: 's-loading' };

// ---- screens ----
function show(id) {
  clearAlert();
  for (const s of SCREENS) $(s).hidden = s !== id;
  st.screen = id;
  $('client').hidden = !st.details || id === 's-redirect';
  const s = $(id);
  const target = s.querySelector('form input') || s.querySelector('h1');
  if (target) target.focus();
}
function clearAlert() {
  const a = $('alert');
  a.hidden = true;
  a.replaceChildren();
  clearT($('status'));
}
function alertMsg(parts) {
  const a = $('alert');
  a.replaceChildren();
  for (const [key, args, fallbackKey] of parts) {
    const span = document.createElement('span');
    setT(span, key, args, fallbackKey);
    a.append(span, ' ');
  }
  a.hidden = false;
}
function busy(on) {
  st.busy = on;
  const s = $(st.screen);
  s.setAttribute('aria-busy', on ? 'true' : 'false');
  for (const b of s.querySelectorAll('button.primary')) b.disabled = on;
}
function fatal(code) {
  clearInterval(st.timer);
  setT($('error-message'), 'error.' + code, null, 'error.unknown');
  $('error-code').textContent = code;
  $('leave').hidden = !(st.details && st.details.redirectUri);
  show('s-error');
}
function failed(code, attemptsLeft) {
  if (FATAL.includes(code)) return fatal(code);
  const parts = [['error.' + code, null, 'error.unknown']];
  if (attemptsLeft !== undefined) parts.push(['attempts.left', { n: attemptsLeft }]);
  alertMsg(parts);
}
function cfg(key, fallback) {
  const c = st.details && st.details.configs;
  return c && c[key] !== undefined && c[key] !== null && c[key] !== '' ? c[key] : fallback;
}

// ---- start: language, CSRF token, oauth-details ----
async function start() {
  try {
    await loadLanguage(document.documentElement.lang || 'en', version);
  } catch (_) { /* keys are shown instead of texts */ }
  if (!window.crypto || !crypto.subtle) return fatal('insecure_context');
  try {
    await api.fetchCsrf();
    st.details = await api.oauthDetails(query);
  } catch (e) {
    return fatal(e.code || 'unknown_error');
  }
  showClient();
  showLogo();
  chooseMethod();
}
function clientName() {
  const n = st.details.clientName;
  if (typeof n === 'string') return n;
  if (!n || typeof n !== 'object') return '';
  return n[iso3()] || n[document.documentElement.lang] || n['@none'] || Object.values(n)[0] || '';
}
function showClient() {
  if (!st.details) return;
  const name = clientName();
  setT($('client-name'), 'client.signin', { client: name });
  setT($('consent-intro'), 'consent.intro', { client: name });
}
function showLogo() {
  const url = st.details.logoUrl;
  if (typeof url !== 'string' || !/^https:\/\//i.test(url)) return;
  const logo = $('logo');
  logo.addEventListener('load', () => { logo.hidden = false; }, { once: true });
  logo.src = url;
}

// ---- method choice and the login form ----
function methods() {
  const out = [];
  for (const group of st.details.authFactors || []) {
    const type = Array.isArray(group) && group.length === 1 && group[0] && group[0].type;
    if (FORMATS[type] && !out.includes(type)) out.push(type);
  }
  return out;
}
function chooseMethod() {
  const list = methods();
  if (!list.length) return fatal('no_supported_method');
  if (list.length === 1) return loginWith(list[0], false);
  const ul = $('methods');
  ul.replaceChildren();
  for (const type of list) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'method';
    b.dataset.factor = type;
    setT(b, 'method.' + type);
    b.addEventListener('click', () => loginWith(type, true));
    li.append(b);
    ul.append(li);
  }
  show('s-method');
}
function field(id, key, attrs) {
  const div = document.createElement('div');
  div.className = 'field';
  const label = document.createElement('label');
  label.htmlFor = id;
  setT(label, key);
  const input = document.createElement('input');
  input.id = id;
  input.required = true;
  input.setAttribute('autocapitalize', 'off');
  input.spellcheck = false;
  for (const [k, v] of Object.entries(attrs)) input.setAttribute(k, v);
  div.append(label, input);
  return div;
}
function kbiFields() {
  let list = cfg('auth.factor.kbi.field-details', null);
  if (typeof list === 'string') {
    try { list = JSON.parse(list); } catch (_) { list = null; }
  }
  const idField = cfg('auth.factor.kbi.individual-id-field', 'individualId');
  const ok = Array.isArray(list)
    ? list.filter((f) => f && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(f.id) && f.id !== idField) : [];
  return ok.length ? ok : DEFAULT_KBI;
}
function loginWith(type, canGoBack) {
  st.factor = type;
  st.calls = 0;
  setT($('login-title'), 'login.' + type);
  setT($('login-submit'), type === 'OTP' ? 'otp.send' : 'submit');
  const box = $('factor-fields');
  box.replaceChildren();
  if (type === 'PIN') box.append(field('pin', 'field.pin', { type: 'password', inputmode: 'numeric', autocomplete: 'off' }));
  if (type === 'PWD') box.append(field('password', 'field.password', { type: 'password', autocomplete: 'current-password' }));
  if (type === 'KBI') {
    for (const f of kbiFields()) {
      const attrs = { type: f.type === 'date' ? 'date' : 'text', 'data-kbi': f.id, 'data-format': f.format || '' };
      box.append(field('kbi-' + f.id, 'kbi.' + f.id, attrs));
    }
  }
  for (const b of document.querySelectorAll('#s-login .back')) b.hidden = !canGoBack;
  show('s-login');
}
function filled(inputs) {
  for (const input of inputs) {
    const empty = !input.value.trim();
    input.setAttribute('aria-invalid', empty ? 'true' : 'false');
    if (empty) {
      alertMsg([['required']]);
      input.focus();
      return false;
    }
  }
  return true;
}
function kbiChallenge() {
  const answers = {};
  answers[cfg('auth.factor.kbi.individual-id-field', 'individualId')] = st.id;
  for (const input of $('factor-fields').querySelectorAll('input[data-kbi]')) {
    let v = input.value.trim();
    if (input.type === 'date' && input.dataset.format === 'yyyy/MM/dd') v = v.replace(/-/g, '/');
    answers[input.dataset.kbi] = v;
  }
  return api.b64url(new TextEncoder().encode(JSON.stringify(answers)));
}
function submitLogin() {
  if (st.busy) return;
  const idInput = $('individual-id');
  if (!filled([idInput, ...$('factor-fields').querySelectorAll('input')])) return;
  st.id = idInput.value.trim();
  if (st.factor === 'OTP') return sendOtp(false);
  const challenge = st.factor === 'PIN' ? $('pin').value.trim()
    : st.factor === 'PWD' ? $('password').value : kbiChallenge();
  return authenticate(challenge);
}

// ---- OTP ----
function sendsLeft() {
  const limit = Number(cfg('send-otp.attempts', 0));
  return limit > 0 ? limit - st.sends : Infinity;
}
function startTimer() {
  clearInterval(st.timer);
  let left = Math.max(0, Math.floor(Number(cfg('resend.otp.delay.secs', 60)) || 0));
  const button = $('resend');
  button.disabled = true;
  button.hidden = sendsLeft() <= 0;
  const tick = () => {
    if (left <= 0) {
      clearInterval(st.timer);
      clearT($('resend-timer'));
      button.disabled = sendsLeft() <= 0;
      return;
    }
    setT($('resend-timer'), 'otp.resendIn', { time: Math.floor(left / 60) + ':' + String(left % 60).padStart(2, '0') });
    left -= 1;
  };
  tick();
  st.timer = setInterval(tick, 1000);
}
async function sendOtp(resend) {
  busy(true);
  try {
    const channels = String(cfg('send.otp.channels', 'email,phone')).split(',').map((c) => c.trim()).filter(Boolean);
    st.sends += 1;
    const r = await api.sendOtp(st.id, channels);
    const to = [r.maskedMobile, r.maskedEmail].filter(Boolean).join(', ');
    setT($('otp-sent'), to ? 'otp.sentTo' : 'otp.sent', to ? { to } : null);
    $('otp').value = '';
    if (resend) setT($('status'), 'otp.resent'); else show('s-otp');
    startTimer();
  } catch (e) {
    failed(e.code);
  } finally {
    busy(false);
  }
}

// ---- authenticate, consent, auth-code ----
async function authenticate(challenge) {
  busy(true);
  st.calls += 1;
  try {
    const r = await api.authenticate(st.id, [{ authFactorType: st.factor, challenge, format: FORMATS[st.factor] }]);
    clearInterval(st.timer);
    if (r.consentAction === 'NOCAPTURE') return await authCode([], []);
    showConsent();
  } catch (e) {
    const limit = Number(cfg('authenticate.attempts', 0));
    const left = limit > 0 ? Math.max(0, limit - st.calls) : undefined;
    if (left === 0 && !FATAL.includes(e.code)) return fatal('no_attempts_left');
    failed(e.code, left);
    for (const input of document.querySelectorAll('#otp, #pin, #password')) input.value = '';
    const again = $(st.screen).querySelector('#otp, #pin, #password, #individual-id');
    if (again && !FATAL.includes(e.code)) again.focus();
  } finally {
    busy(false);
  }
}
function claimList(ul, names, prefix, toggles) {
  ul.replaceChildren();
  for (const name of names) {
    const li = document.createElement('li');
    const label = document.createElement('label');
    const text = document.createElement('span');
    setT(text, prefix + name);
    if (toggles) {
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = name;
      box.setAttribute('role', 'switch');
      label.append(box, ' ');
    }
    label.append(text);
    li.append(label);
    ul.append(li);
  }
}
function showConsent() {
  const d = st.details;
  const essential = d.essentialClaims || [];
  const voluntary = d.voluntaryClaims || [];
  const scopes = d.authorizeScopes || [];
  claimList($('essential'), essential, 'claim.', false);
  claimList($('voluntary'), voluntary, 'claim.', true);
  claimList($('scopes'), scopes, 'scope.', true);
  $('essential-box').hidden = !essential.length;
  $('voluntary-box').hidden = !voluntary.length;
  $('scopes-box').hidden = !scopes.length;
  show('s-consent');
}
function checked(id) {
  return [...$(id).querySelectorAll('input:checked')].map((i) => i.value);
}
function issuer() {
  const iss = cfg('issuer', '');
  return typeof iss === 'string' && iss ? [['iss', iss]] : [];
}
async function authCode(claims, scopes) {
  busy(true);
  try {
    const r = await api.authCode(claims, scopes);
    const params = [['code', r.code]];
    if (r.state) params.push(['state', r.state]);
    leave(r.redirectUri, params.concat(issuer()));
  } catch (e) {
    fatal(e.code || 'unknown_error');
  } finally {
    busy(false);
  }
}
// Navigates to a redirect URI the server answered: https, http on loopback or a private-use scheme alike.
function leave(uri, params) {
  const scheme = typeof uri === 'string' && /^([a-z][a-z0-9+.-]*):/i.exec(uri);
  if (!scheme || /^(javascript|data|vbscript|blob|file|about)$/i.test(scheme[1])) return fatal('invalid_redirect_uri');
  const base = uri.split('#')[0];
  const qs = params.map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
  show('s-redirect');
  location.replace(base + (base.includes('?') ? '&' : '?') + qs);
}
function deny() {
  const params = [['error', 'access_denied']];
  const state = query.get('state');
  if (state) params.push(['state', state]);
  clearInterval(st.timer);
  leave(st.details.redirectUri, params.concat(issuer()));
}

// ---- wiring ----
$('f-login').addEventListener('submit', (e) => { e.preventDefault(); submitLogin(); });
$('f-otp').addEventListener('submit', (e) => {
  e.preventDefault();
  if (!st.busy && filled([$('otp')])) authenticate($('otp').value.trim());
});
$('resend').addEventListener('click', () => { if (!st.busy && sendsLeft() > 0) sendOtp(true); });
for (const b of document.querySelectorAll('#s-login .back')) b.addEventListener('click', () => show('s-method'));
for (const b of document.querySelectorAll('#s-otp .back')) {
  b.addEventListener('click', () => { clearInterval(st.timer); show('s-login'); });
}
$('allow').addEventListener('click', () => {
  if (!st.busy) authCode((st.details.essentialClaims || []).concat(checked('voluntary')), checked('scopes'));
});
$('deny').addEventListener('click', () => { if (!st.busy) deny(); });
$('retry').addEventListener('click', () => location.reload());
$('leave').addEventListener('click', deny);
$('lang').addEventListener('change', async (e) => {
  const code = e.target.value;
  try {
    await loadLanguage(code, version);
  } catch (_) {
    return;
  }
  const q = new URLSearchParams(location.search);
  q.set('ui_locales', code);
  history.replaceState(null, '', location.pathname + '?' + q.toString());
});
onLanguageChange(showClient);
start();
