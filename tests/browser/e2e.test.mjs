// End-to-end: the eSignet login pages in headless Chromium (360 px wide), between a real host and the demo
// relying party (openid-client). Screenshots of every screen go to tests/artifacts/browser/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, demoNames, portFree, registerClient, startBrowser, startHost } from './harness.mjs';
import { startRp } from './rp/server.mjs';

let host;
let rp;
let browser;
let ids;
let names;
const problems = [];

before(async () => {
  if (!(await portFree(3000))) {
    throw new Error('port 3000 on 127.0.0.1 is busy; the demo client\'s redirect URI is fixed to '
      + 'http://127.0.0.1:3000/callback, so the demo RP must listen there: stop whatever uses it');
  }
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  host = await startHost();
  rp = await startRp({ demo: host.demo });
  browser = await startBrowser();
  ids = host.demo.identities;
  names = demoNames();
}, { timeout: 240_000 });

after(async () => {
  await browser?.close();
  await rp?.close();
  await host?.stop();
  if (host) {
    // The host's log stays with the screenshots; the data dir goes unless ESIGNET_BROWSER_KEEP is set.
    fs.copyFileSync(path.join(host.dataDir, 'host.log'), path.join(ARTIFACTS, 'host.log'));
    if (!process.env.ESIGNET_BROWSER_KEEP) fs.rmSync(host.dataDir, { recursive: true, force: true });
  }
});

// A fresh page (cookies cleared) that records CSP violations and script errors.
async function newPage() {
  await browser.context.clearCookies();
  const page = await browser.context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return page;
}

const screen = (page, id) => page.waitForSelector(`#${id}:not([hidden])`, { timeout: 20_000 });
const text = (page, selector) => page.locator(selector).innerText();

// Saves a screenshot; on the provider's pages also checks the 360 px layout and that every input is labelled.
async function shot(page, name, { provider = true } = {}) {
  if (provider) {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${name}: the page scrolls sideways by ${overflow}px at 360px`);
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input')]
      .filter((i) => i.offsetParent !== null && i.labels.length === 0).map((i) => i.id || i.name));
    assert.deepEqual(unlabelled, [], `${name}: inputs without a label`);
  }
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// Presses Tab until `selector` has the focus (so it is reachable by keyboard).
async function tabTo(page, selector) {
  for (let i = 0; i < 40; i += 1) {
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
    await page.keyboard.press('Tab');
  }
  assert.fail(`${selector} cannot be reached with the Tab key`);
}

// From the RP's /login to the OTP screen of the provider.
async function toOtp(page, identity, query = '') {
  await page.goto(`${rp.url}/login${query}`);
  await screen(page, 's-method');
  await page.click('button[data-factor="OTP"]');
  await screen(page, 's-login');
  await page.fill('#individual-id', identity.individual_id);
  await page.click('#login-submit');
  await screen(page, 's-otp');
}

async function otpToConsent(page, identity, query) {
  await toOtp(page, identity, query);
  await page.fill('#otp', identity.otp);
  await page.click('#f-otp button[type="submit"]');
  await screen(page, 's-consent');
}

async function rpClaims(page) {
  await page.waitForURL(`${rp.url}/callback**`);
  await page.waitForSelector('#verified', { timeout: 20_000 });
  return Object.fromEntries(await page.locator('#claims tr').evaluateAll((rows) => rows
    .map((r) => [r.dataset.claim, r.querySelector('td').textContent])));
}

test('deny at consent: the RP receives access_denied with its own state (OP-09, http redirect)', async () => {
  const page = await newPage();
  const jane = ids[0];
  await page.goto(`${rp.url}/login`);
  await screen(page, 's-method');
  const factors = await page.locator('#methods button').evaluateAll((b) => b.map((x) => x.dataset.factor));
  assert.deepEqual(factors.sort(), ['KBI', 'OTP', 'PIN', 'PWD']);
  assert.match(await text(page, '#client-name'), /Demo Relying Party/);
  await shot(page, '01-method-choice');
  await page.click('button[data-factor="OTP"]');
  await screen(page, 's-login');
  await shot(page, '02-id-entry');
  await page.fill('#individual-id', jane.individual_id);
  await page.click('#login-submit');
  await screen(page, 's-otp');
  assert.match(await text(page, '#otp-sent'), /We sent a code/);
  assert.match(await text(page, '#resend-timer'), /new code in \d+:\d\d/);
  assert.ok(await page.locator('#resend').isDisabled(), 'resend waits for resend.otp.delay.secs');
  await shot(page, '03-otp-entry');
  await page.fill('#otp', jane.otp);
  await page.click('#f-otp button[type="submit"]');
  await screen(page, 's-consent');
  assert.match(await text(page, '#consent-intro'), /Demo Relying Party asks for/);
  await shot(page, '04-consent');
  await page.click('#deny');
  await page.waitForURL(`${rp.url}/callback**`);
  const back = new URL(page.url());
  assert.equal(back.searchParams.get('error'), 'access_denied');
  assert.equal(back.searchParams.get('iss'), host.issuer);
  assert.equal(back.searchParams.get('code'), null);
  assert.equal(await text(page, '#error'), 'access_denied');
  assert.equal(await text(page, '#state-matches'), 'yes');
  await shot(page, '09-rp-denied', { provider: false });
  await page.close();
});

test('OTP login by keyboard only, consent with one voluntary claim, verified claims at the RP', async () => {
  const page = await newPage();
  const jane = ids[0];
  await page.goto(`${rp.url}/login`);
  await screen(page, 's-method');
  await tabTo(page, 'button[data-factor="OTP"]');
  await page.keyboard.press('Enter');
  await screen(page, 's-login');
  assert.ok(await page.evaluate(() => document.activeElement.id === 'individual-id'), 'focus moves to the ID field');
  await page.keyboard.type(jane.individual_id);
  await page.keyboard.press('Enter');
  await screen(page, 's-otp');
  assert.ok(await page.evaluate(() => document.activeElement.id === 'otp'), 'focus moves to the OTP field');
  await page.keyboard.type(jane.otp);
  await page.keyboard.press('Enter');
  await screen(page, 's-consent');
  await tabTo(page, '#voluntary input[value="name"]');
  await page.keyboard.press('Space');
  assert.ok(await page.locator('#voluntary input[value="name"]').isChecked());
  await tabTo(page, '#allow');
  await page.keyboard.press('Enter');
  const claims = await rpClaims(page);
  assert.equal(claims.name, names[jane.individual_id].eng, 'the name of the demo identity, verified by the RP');
  assert.equal(claims.email, undefined, 'a voluntary claim left off is not shared');
  assert.match(await text(page, '#verified'), /signature was verified/);
  const back = new URL(page.url());
  assert.equal(back.searchParams.get('iss'), host.issuer);
  await shot(page, '08-rp-result', { provider: false });
  await page.close();
});

test('PIN login with a remembered consent goes straight back to the RP', async () => {
  const page = await newPage();
  const jane = ids[0];
  await page.goto(`${rp.url}/login`);
  await screen(page, 's-method');
  await page.click('button[data-factor="PIN"]');
  await screen(page, 's-login');
  await page.fill('#individual-id', jane.individual_id);
  await page.fill('#pin', jane.pin);
  await page.click('#login-submit');
  const claims = await rpClaims(page);
  assert.equal(claims.name, names[jane.individual_id].eng);
  await page.close();
});

test('knowledge-based login (full name and date of birth)', async () => {
  const page = await newPage();
  const ahmed = ids[1];
  await page.goto(`${rp.url}/login`);
  await screen(page, 's-method');
  await page.click('button[data-factor="KBI"]');
  await screen(page, 's-login');
  await page.fill('#individual-id', ahmed.individual_id);
  await page.fill('#kbi-fullName', names[ahmed.individual_id].eng);
  await page.fill('#kbi-dateOfBirth', '1985-07-14');
  await shot(page, '12-kbi-form');
  await page.click('#login-submit');
  await screen(page, 's-consent');
  await page.check('#voluntary input[value="name"]');
  await page.click('#allow');
  const claims = await rpClaims(page);
  assert.ok(Object.values(names[ahmed.individual_id]).includes(claims.name), `name claim ${claims.name}`);
  await page.close();
});

test('resend waits for its timer; wrong OTP: a clear message, attempts counted down, then the error page', async () => {
  const page = await newPage();
  await page.clock.install();
  const ahmed = ids[1];
  await toOtp(page, ahmed);
  assert.ok(await page.locator('#resend').isDisabled());
  await page.clock.runFor(30_000);
  assert.match(await text(page, '#resend-timer'), /new code in 0:30/);
  await page.clock.runFor(31_000);
  assert.ok(await page.locator('#resend').isEnabled(), 'resend is offered once resend.otp.delay.secs passed');
  await page.click('#resend');
  await page.waitForSelector('#status >> text=A new code is on its way');
  assert.ok(await page.locator('#resend').isDisabled(), 'and waits again');
  const left = [];
  for (let i = 0; i < 2; i += 1) {
    await page.fill('#otp', '000000');
    await page.click('#f-otp button[type="submit"]');
    await page.waitForSelector(`#alert:not([hidden]) >> text=/Attempts left: ${2 - i}/`);
    const alert = await text(page, '#alert');
    assert.match(alert, /The details you entered are not correct/);
    left.push(Number(/Attempts left: (\d+)/.exec(alert)[1]));
    if (i === 0) await shot(page, '05-wrong-otp');
  }
  assert.ok(left[1] < left[0], `attempts left go down: ${left}`);
  await page.fill('#otp', '000000');
  await page.click('#f-otp button[type="submit"]');
  await screen(page, 's-error');
  assert.equal(await text(page, '#error-code'), 'no_attempts_left');
  assert.match(await text(page, '#error-message'), /used all your attempts/);
  await shot(page, '06-error-no-attempts');
  await page.close();
});

test('unknown client: the error page, and the browser never leaves for the given redirect_uri (CF-01)', async () => {
  const page = await newPage();
  const requested = [];
  page.on('request', (r) => requested.push(r.url()));
  const evil = 'https://evil.example/cb';
  const q = new URLSearchParams({ client_id: 'nobody', redirect_uri: evil, response_type: 'code', scope: 'openid', state: 's1' });
  await page.goto(`${host.base}/v1/esignet/login?${q}`);
  await screen(page, 's-error');
  assert.equal(await text(page, '#error-code'), 'invalid_client_id');
  assert.match(await text(page, '#error-message'), /not registered/);
  assert.ok(await page.locator('#leave').isHidden(), 'no way back to an unvalidated URI');
  await shot(page, '07-error-unknown-client');
  await page.waitForTimeout(300);
  assert.ok(page.url().startsWith(host.base), page.url());
  assert.deepEqual(requested.filter((u) => u.startsWith('https://evil.example')), []);
  await page.close();
});

test('Arabic pages are right to left; the switcher changes the language in place', async () => {
  const page = await newPage();
  const marie = ids[2];
  await page.goto(`${rp.url}/login?ui_locales=ar`);
  await screen(page, 's-method');
  assert.equal(await page.getAttribute('html', 'dir'), 'rtl');
  assert.equal(await page.getAttribute('html', 'lang'), 'ar');
  assert.equal(await text(page, '#s-method h1'), 'اختر طريقة تسجيل الدخول');
  assert.match(await text(page, '#client-name'), /الطرف المعتمد التجريبي/);
  await shot(page, '10-arabic-method');
  await page.click('button[data-factor="OTP"]');
  await screen(page, 's-login');
  await page.fill('#individual-id', marie.individual_id);
  await page.click('#login-submit');
  await screen(page, 's-otp');
  await page.fill('#otp', marie.otp);
  await page.click('#f-otp button[type="submit"]');
  await screen(page, 's-consent');
  assert.equal(await text(page, '#allow'), 'سماح');
  await shot(page, '11-arabic-consent');
  await page.selectOption('#lang', 'fr');
  await page.waitForFunction(() => document.documentElement.lang === 'fr');
  assert.equal(await page.getAttribute('html', 'dir'), 'ltr');
  assert.equal(await text(page, '#s-consent h1'), 'Partager vos informations');
  assert.match(await text(page, '#consent-intro'), /Partie utilisatrice de démonstration/);
  assert.equal(new URL(page.url()).searchParams.get('ui_locales'), 'fr');
  await page.check('#voluntary input[value="name"]');
  await page.click('#allow');
  assert.ok((await rpClaims(page)).name, 'the RP verified a name');
  await page.close();
});

// The URL the page tries to leave for (also for schemes the browser cannot open), after `action`.
async function leavingFor(page, action) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Page.enable');
  const target = new Promise((resolve) => {
    cdp.on('Page.frameRequestedNavigation', (e) => { if (!e.url.startsWith(host.base)) resolve(e.url); });
    page.on('request', (r) => { if (r.isNavigationRequest() && !r.url().startsWith(host.base)) resolve(r.url()); });
  });
  await action();
  return Promise.race([target, new Promise((_, reject) => setTimeout(() => reject(new Error('no navigation')), 15_000))]);
}

test('deny goes back to the client for private-use and https redirect URIs alike (OP-09)', async () => {
  const uris = ['io.rp.app:/cb', 'https://rp.test/cb'];
  const clientId = await registerClient(host, uris);
  const ahmed = ids[1];
  for (const uri of uris) {
    const page = await newPage();
    await page.route('https://rp.test/**', (route) => route.fulfill({ body: 'client callback' }));
    const state = crypto.randomBytes(12).toString('base64url');
    const q = new URLSearchParams({ client_id: clientId, redirect_uri: uri, response_type: 'code', scope: 'openid profile', state, nonce: 'n-1' });
    await page.goto(`${host.base}/v1/esignet/authorize?${q}`);
    await screen(page, 's-method');
    await page.click('button[data-factor="OTP"]');
    await page.fill('#individual-id', ahmed.individual_id);
    await page.click('#login-submit');
    await screen(page, 's-otp');
    await page.fill('#otp', ahmed.otp);
    await page.click('#f-otp button[type="submit"]');
    await screen(page, 's-consent');
    const to = new URL(await leavingFor(page, () => page.click('#deny')));
    assert.equal(`${to.protocol}${to.host ? `//${to.host}` : ''}${to.pathname}`, uri);
    assert.equal(to.searchParams.get('error'), 'access_denied');
    assert.equal(to.searchParams.get('state'), state);
    assert.equal(to.searchParams.get('code'), null);
    await page.close();
  }
});

test('no CSP violation or script error on any page', () => {
  assert.deepEqual(problems, []);
});
