// What the browser test needs around the browser: one host (the real spin.toml, embedded defaults, demo on) on
// free loopback ports in 18600-18699 with a temporary data dir, its demo.json, operator calls (a second client
// registered through client-mgmt), and headless Chromium with a fresh profile.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = path.join(ROOT, 'tests/artifacts/browser');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const BIN = process.env.ESIGNET_BIN
  || path.join(process.env.ESIGNET_HOST_TARGET_DIR || '/var/tmp/esignet-target', 'release/esignet');
const CACHE = process.env.ESIGNET_BROWSER_COMPILE_CACHE || '/var/tmp/esignet-browser-compile-cache';
// Variables of the caller's environment that would change the host under test.
const HOST_ENV_DROPPED = /^(ESIGNET_VAR_|SPIN_VARIABLE_)|^ESIGNET_(ISSUER|RUNTIME_CONFIG|DEMO|LISTEN|ADMIN_LISTEN|DATA_DIR|SQL_URL|CACHE_URL)$/;

export function portFree(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

async function freePorts(count) {
  const candidates = Array.from({ length: 100 }, (_, i) => 18600 + i).sort(() => Math.random() - 0.5);
  const found = [];
  for (const p of candidates) {
    if (found.length === count) break;
    if (await portFree(p)) found.push(p);
  }
  if (found.length < count) throw new Error('no free ports in 18600-18699');
  return found;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts the host; resolves to { base, issuer, demo, dataDir, adminToken(), stop() }.
export async function startHost() {
  if (!fs.existsSync(BIN)) throw new Error(`host binary missing: ${BIN}`);
  const [port, adminPort] = await freePorts(2);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-run-'));
  fs.mkdirSync(CACHE, { recursive: true });
  fs.symlinkSync(CACHE, path.join(dataDir, 'compile-cache'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !HOST_ENV_DROPPED.test(k)));
  const log = fs.openSync(path.join(dataDir, 'host.log'), 'a');
  const child = spawn(BIN, ['up', '--manifest', path.join(ROOT, 'spin.toml'), '--data-dir', dataDir,
    '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`],
  { cwd: ROOT, env, stdio: ['ignore', log, log] });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    for (let i = 0; i < 120 && !exited; i += 1) await sleep(250);
    if (!exited) child.kill('SIGKILL');
  };
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (exited) throw new Error(`the host exited; see ${dataDir}/host.log`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the host did not become healthy within 180 s; see ${dataDir}/host.log`);
    }
    try {
      const r = await fetch(`${base}/v1/esignet/actuator/health`, { signal: AbortSignal.timeout(2000) });
      if (r.ok && (await r.json()).status === 'UP' && fs.existsSync(path.join(dataDir, 'demo.json'))) break;
    } catch (_) { /* not up yet */ }
    await sleep(500);
  }
  const demo = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo.json'), 'utf8'));
  const adminToken = () => new Promise((resolve, reject) => {
    execFile(BIN, ['admin-token', '--admin', `127.0.0.1:${adminPort}`, '--data-dir', dataDir], { cwd: ROOT, env },
      (err, stdout, stderr) => (err ? reject(new Error(`admin-token: ${stderr}`)) : resolve(stdout.trim().split('\n').pop().trim())));
  });
  return { base, issuer: demo.issuer, demo, dataDir, adminToken, stop };
}

// Registers a client with the demo client's claims and ACRs and the given redirect URIs (client-mgmt API).
export async function registerClient(host, redirectUris) {
  const { publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), alg: 'ES256', use: 'sig' };
  jwk.kid = await jose.calculateJwkThumbprint(jwk);
  const demoClient = JSON.parse(fs.readFileSync(path.join(ROOT, 'demo/client.json'), 'utf8'));
  const clientId = `browser-${Math.random().toString(36).slice(2, 12)}`;
  const request = {
    ...demoClient, clientId, clientName: 'Wallet app', clientNameLangMap: { eng: 'Wallet app' },
    relyingPartyId: `rp-${clientId}`, redirectUris, publicKey: jwk,
  };
  const r = await fetch(`${host.base}/v1/esignet/client-mgmt/client`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await host.adminToken()}` },
    body: JSON.stringify({ requestTime: new Date().toISOString(), request }),
  });
  const body = await r.json();
  if (!body.response || (body.errors || []).length) throw new Error(`client registration: ${JSON.stringify(body.errors)}`);
  return clientId;
}

// Headless Chromium with a fresh profile; resolves to { context, close() }.
export async function startBrowser() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 360, height: 780 },
    locale: 'en-US',
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// The names of the demo identities (demo/identities.json), by individual ID.
export function demoNames() {
  const list = JSON.parse(fs.readFileSync(path.join(ROOT, 'demo/identities.json'), 'utf8'));
  return Object.fromEntries(list.map((d) => [d.identity.individualId,
    Object.fromEntries(d.identity.fullName.map((n) => [n.language, n.value]))]));
}
