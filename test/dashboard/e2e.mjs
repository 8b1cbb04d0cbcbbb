// Browser test of the admin dashboard against a running bridge: Debian's
// Chromium driven by playwright-core (no browser download). Each step is a
// user-visible behaviour, leaves a screenshot in OUT_DIR, and counts as one
// test. Later steps need earlier ones (the agent, its credential), so after a
// failure the remaining steps still run and fail with their own reason.
//
// Environment: DASH_BASE (bridge URL, e.g. http://127.0.0.1:18450),
// ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, OUT_DIR.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { execFileSync } from 'node:child_process';

const require = createRequire(new URL('../../dashboard/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const BASE = process.env.DASH_BASE;
const ADMIN_ID = process.env.ADMIN_CLIENT_ID;
const ADMIN_SECRET = process.env.ADMIN_CLIENT_SECRET;
const OUT = process.env.OUT_DIR || 'test/output/dashboard';
if (!BASE || !ADMIN_ID || !ADMIN_SECRET) {
  console.error('e2e.mjs needs DASH_BASE, ADMIN_CLIENT_ID and ADMIN_CLIENT_SECRET');
  process.exit(2);
}
fs.mkdirSync(OUT, { recursive: true });

const results = [];
let shot = 0;
const ctx = {}; // what steps hand to later steps

function check(cond, message) {
  if (!cond) throw new Error(message);
}

// Ask the token endpoint directly: proves what the UI showed is real.
async function tokenStatus(clientId, secret) {
  const res = await fetch(`${BASE}/api/v1/token`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  const body = await res.json().catch(() => ({}));
  return { status: res.status, body };
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentidp-dash-chromium-'));
const downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'agentidp-dash-dl-'));
// A fresh profile per run: nothing from an earlier run (or a person's
// browsing) can leak in.
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  downloadsPath: downloads,
  acceptDownloads: true,
  viewport: { width: 1280, height: 860 },
});
const page = await context.newPage();
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
page.setDefaultTimeout(10000);

async function step(name, fn) {
  const n = String(++shot).padStart(2, '0');
  const file = path.join(OUT, `${n}-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`);
  let error = null;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  try {
    await page.screenshot({ path: file, fullPage: true });
  } catch (e) {
    if (!error) error = e;
  }
  results.push({ name, ok: !error });
  console.log(`${error ? 'not ok' : 'ok'} ${results.length} - ${name}${error ? `\n  # ${String(error.message || error).split('\n')[0]}` : ''}`);
}

// An extra screenshot inside a step (a dialog before it closes).
async function snap(suffix) {
  await page.screenshot({ path: path.join(OUT, `${String(shot).padStart(2, '0')}b-${suffix}.png`), fullPage: true });
}

const agentName = `e2e-agent-${Date.now().toString(36)}`;

await step('a wrong secret is refused with an explanation in words', async () => {
  await page.goto(`${BASE}/dashboard/`);
  await page.getByLabel('Client id').fill(ADMIN_ID);
  await page.getByLabel('Client secret').fill('aidp_sk_wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  const text = await alert.innerText();
  check(/client id or secret is wrong/i.test(text), `unexpected sign-in error text: ${text}`);
});

await step('sign in keeps the token out of web storage', async () => {
  await page.getByLabel('Client secret').fill(ADMIN_SECRET);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Agents', level: 1 }).waitFor();
  const stored = await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]);
  check(stored[0] === 0 && stored[1] === 0 && stored[2] === '', `something was stored: ${JSON.stringify(stored)}`);
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
});

await step('register an agent', async () => {
  await page.getByRole('button', { name: 'Register agent' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill(agentName);
  await dialog.getByLabel('Owner').fill('e2e-team');
  await dialog.getByLabel('Description').fill('registered by the dashboard browser test');
  await dialog.getByLabel(/agents:read/).check();
  await snap('register-dialog');
  await dialog.getByRole('button', { name: 'Register' }).click();
  await page.getByRole('heading', { name: new RegExp(agentName), level: 1 }).waitFor();
  ctx.agentId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  check(/^[0-9a-f-]{36}$/.test(ctx.agentId), `no agent id in the URL: ${page.url()}`);
  await page.getByText('Agent registered').waitFor();
});

await step('create a credential and read its secret once', async () => {
  check(ctx.agentId, 'no agent from the previous step');
  await page.getByRole('button', { name: 'Create credential' }).click();
  const panel = page.getByTestId('secret-panel');
  await panel.waitFor();
  await panel.getByText('shown only this once').waitFor();
  ctx.clientId = (await panel.getByTestId('client-id').innerText()).trim();
  ctx.secret1 = (await panel.getByTestId('client-secret').innerText()).trim();
  check(/^aidp_ci_/.test(ctx.clientId) && /^aidp_sk_/.test(ctx.secret1), `unexpected id/secret ${ctx.clientId}`);
  await panel.getByRole('button', { name: 'Copy secret' }).click();
  await panel.getByText(/Copied|Copying failed/).waitFor();
  const t = await tokenStatus(ctx.clientId, ctx.secret1);
  check(t.status === 200 && t.body.access_token, `the shown secret does not get a token: HTTP ${t.status} ${JSON.stringify(t.body)}`);
  await snap('secret-shown');
  await panel.getByRole('button', { name: 'I have stored the secret' }).click();
  await page.getByText('cannot be shown again').waitFor();
  const html = await page.content();
  check(!html.includes(ctx.secret1), 'the secret is still in the page after dismissing it');
  await page.locator(`tr[data-client-id="${ctx.clientId}"]`).waitFor();
});

await step('rotate the credential: new secret once, old one dead', async () => {
  check(ctx.secret1, 'no credential from the previous step');
  await page.getByRole('button', { name: `Rotate credential ${ctx.clientId}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('stops working immediately').waitFor();
  await dialog.getByRole('button', { name: 'Rotate secret' }).click();
  const panel = page.getByTestId('secret-panel');
  await panel.waitFor();
  ctx.secret2 = (await panel.getByTestId('client-secret').innerText()).trim();
  check(/^aidp_sk_/.test(ctx.secret2) && ctx.secret2 !== ctx.secret1, 'rotation did not show a new secret');
  const oldT = await tokenStatus(ctx.clientId, ctx.secret1);
  const newT = await tokenStatus(ctx.clientId, ctx.secret2);
  check(oldT.status === 401, `the old secret still works or fails oddly: HTTP ${oldT.status}`);
  check(newT.status === 200, `the new secret does not work: HTTP ${newT.status} ${JSON.stringify(newT.body)}`);
  await snap('rotated-secret');
  await panel.getByRole('button', { name: 'I have stored the secret' }).click();
  check(!(await page.content()).includes(ctx.secret2), 'the rotated secret is still in the page');
});

await step('suspend the agent: its credential stops getting tokens', async () => {
  check(ctx.agentId, 'no agent');
  await page.getByRole('button', { name: 'Suspend' }).click();
  await page.getByText(/is suspended/).waitFor();
  await page.getByRole('heading', { level: 1 }).getByText('suspended').waitFor();
  await page.getByRole('button', { name: 'Reactivate' }).waitFor();
  if (ctx.secret2) {
    const t = await tokenStatus(ctx.clientId, ctx.secret2);
    check(t.status === 400 && t.body.error === 'unauthorized_client', `a suspended agent got HTTP ${t.status} ${JSON.stringify(t.body)}`);
  }
  await page.getByRole('listitem').filter({ hasText: 'agent.suspended' }).first().waitFor();
});

await step('the audit log shows these events, filtered by agent and action', async () => {
  check(ctx.agentId, 'no agent');
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
  await page.getByLabel('Agent id').fill(ctx.agentId);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  const table = page.locator('table.audit');
  for (const a of ['agent.registered', 'credential.created', 'credential.rotated', 'agent.suspended']) {
    await table.getByText(a, { exact: true }).first().waitFor();
  }
  check(new URL(page.url()).searchParams.get('agentId') === ctx.agentId, 'the filter is not in the URL');
  await page.getByLabel('Action').selectOption('agent.suspended');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll('table.audit tbody tr');
    return rows.length === 1 && rows[0].innerText.includes('agent.suspended');
  });
  await page.getByRole('button', { name: /^Details of event/ }).click();
  const detail = page.locator('aside.detail');
  await detail.getByText(ctx.agentId).first().waitFor();
  await detail.getByText('agent.suspended').first().waitFor();
});

await step('export the filtered audit rows as CSV', async () => {
  check(ctx.agentId, 'no agent');
  await page.getByLabel('Action').selectOption('');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('table.audit').getByText('credential.rotated').waitFor();
  const shown = await page.locator('table.audit tbody tr').count();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export CSV' }).click(),
  ]);
  const file = path.join(OUT, 'audit-export.csv');
  await download.saveAs(file);
  check(/^agentidp-audit-.*\.csv$/.test(download.suggestedFilename()), `odd file name ${download.suggestedFilename()}`);
  const csv = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  const lines = csv.split('\r\n').filter(Boolean);
  check(lines[0] === 'id,occurredAt,action,outcome,agentId,actorAgentId,dbUser,ipAddress,userAgent,metadata', `bad header ${lines[0]}`);
  check(lines.length - 1 === shown, `CSV has ${lines.length - 1} rows, the page shows ${shown}`);
  for (const a of ['agent.registered', 'credential.created', 'credential.rotated', 'agent.suspended']) {
    check(lines.some((l) => l.includes(`,${a},`) && l.includes(ctx.agentId)), `CSV lacks ${a}`);
  }
  await page.getByText(/Exported \d+ event/).waitFor();
});

await step('search by name and page through the agent list', async () => {
  // 21 agents sharing a prefix, registered through the API, so that the
  // search finds exactly them and they fill one page of 20 and one of 1.
  const t = await tokenStatus(ADMIN_ID, ADMIN_SECRET);
  check(t.status === 200, `admin token: HTTP ${t.status}`);
  const prefix = `${agentName}-page`;
  for (let i = 0; i < 21; i++) {
    const res = await fetch(`${BASE}/api/v1/agents`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${t.body.access_token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: `${prefix}-${String(i).padStart(2, '0')}`, owner: 'e2e-paging' }),
    });
    check(res.status === 201, `registering ${prefix}-${i}: HTTP ${res.status} ${await res.text()}`);
  }
  await page.getByRole('link', { name: 'Agents' }).click();
  await page.getByRole('heading', { name: 'Agents', level: 1 }).waitFor();
  await page.getByLabel('Search by name').fill(prefix.toUpperCase());
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: `${prefix}-20` }).waitFor();
  const rows = page.locator('table tbody tr');
  check(await rows.count() === 20, `page 1 has ${await rows.count()} rows`);
  await page.getByRole('button', { name: 'Next →' }).click();
  await page.getByText('Page 2').waitFor();
  await page.getByRole('link', { name: `${prefix}-00` }).waitFor();
  check(await rows.count() === 1, `page 2 has ${await rows.count()} rows`);
  check(await page.getByRole('button', { name: 'Next →' }).isDisabled(), 'Next is enabled on the last page');
  await page.getByRole('button', { name: '← Previous' }).click();
  await page.getByRole('link', { name: `${prefix}-20` }).waitFor();
  await page.getByLabel('Status').selectOption('suspended');
  await page.getByText('No agent matches these filters.').waitFor();
});

await step('a duplicate name is refused with the reason in words', async () => {
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.getByRole('button', { name: 'Register agent' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill(agentName);
  await dialog.getByLabel('Owner').fill('e2e-team');
  await dialog.getByRole('button', { name: 'Register' }).click();
  const alert = dialog.getByRole('alert');
  await alert.waitFor();
  const text = await alert.innerText();
  check(/not registered/i.test(text) && /conflict/i.test(text), `unexpected error text: ${text}`);
  await snap('duplicate-error');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
});

await step('edit the agent and reactivate it', async () => {
  check(ctx.agentId, 'no agent');
  await page.goto(`${BASE}/dashboard/agents/${ctx.agentId}`);
  // A reload ends the in-memory session: sign in again, and land on the
  // same page (deep links are served index.html by the bridge).
  await page.getByLabel('Client id').fill(ADMIN_ID);
  await page.getByLabel('Client secret').fill(ADMIN_SECRET);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: new RegExp(agentName), level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Edit' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Description').fill('edited by the browser test');
  await dialog.getByLabel(/audit:read/).check();
  await dialog.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Changes saved.').waitFor();
  await page.getByText('edited by the browser test').waitFor();
  await page.locator('dd code.tag', { hasText: 'audit:read' }).waitFor();
  await page.getByRole('button', { name: 'Reactivate' }).click();
  await page.getByText(/is active again/).waitFor();
  await page.getByRole('button', { name: 'Suspend' }).waitFor();
  const t = await tokenStatus(ctx.clientId, ctx.secret2);
  check(t.status === 200, `the reactivated agent's credential gets HTTP ${t.status}`);
});

await step('revoke the credential', async () => {
  check(ctx.clientId, 'no credential');
  await page.getByRole('button', { name: `Revoke credential ${ctx.clientId}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('Revoking is permanent.').waitFor();
  await dialog.getByRole('button', { name: 'Revoke credential' }).click();
  await page.getByText(`Credential ${ctx.clientId} revoked.`).waitFor();
  await page.locator(`tr[data-client-id="${ctx.clientId}"]`).getByText('revoked', { exact: true }).waitFor();
  const t = await tokenStatus(ctx.clientId, ctx.secret2);
  check(t.status === 400 || t.status === 401, `a revoked credential gets HTTP ${t.status}`);
});

await step('decommission says what it destroys before doing it', async () => {
  check(ctx.agentId, 'no agent');
  await page.getByRole('button', { name: 'Create credential' }).click();
  await page.getByTestId('secret-panel').getByRole('button', { name: 'I have stored the secret' }).click();
  await page.getByRole('button', { name: 'Decommission' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('This cannot be undone.').waitFor();
  await dialog.getByText('revokes its 1 active credential').waitFor();
  await dialog.getByText('revokes every token it holds now').waitFor();
  const confirm = dialog.getByRole('button', { name: 'Decommission for good' });
  check(await confirm.isDisabled(), 'decommission is possible without typing the name');
  await dialog.getByLabel(/Type the agent's name/).fill(agentName);
  await snap('decommission-dialog');
  await confirm.click();
  await page.getByText(`${agentName} is decommissioned.`).waitFor();
  await page.getByRole('heading', { level: 1 }).getByText('decommissioned').waitFor();
  check(await page.getByRole('button', { name: 'Create credential' }).count() === 0, 'a decommissioned agent still offers new credentials');
});

await step('the health page shows PostgreSQL, Redis and live charts', async () => {
  await page.getByRole('link', { name: 'Health' }).click();
  await page.getByRole('heading', { name: 'Health', level: 1 }).waitFor();
  await page.getByRole('heading', { name: 'PostgreSQL' }).waitFor();
  await page.getByRole('heading', { name: 'Redis' }).waitFor();
  const deps = await page.locator('.dep').allInnerTexts();
  check(deps.some((t) => /PostgreSQL/.test(t) && /\bup\b|\bok\b/i.test(t)), `PostgreSQL not up: ${deps.join(' | ')}`);
  check(deps.some((t) => /Redis/.test(t) && /\bup\b|\bok\b/i.test(t)), `Redis not up: ${deps.join(' | ')}`);
  // Rates need two scrapes, 5 s apart.
  await page.waitForFunction(() => document.querySelectorAll('.chart polyline, .chart circle').length >= 3, null, { timeout: 15000 });
  // Real traffic must show up: issue tokens and fail one sign-in, then wait
  // for a scrape that counts them.
  for (let i = 0; i < 4; i++) {
    const t = await tokenStatus(ADMIN_ID, ADMIN_SECRET);
    check(t.status === 200, `admin token request failed: HTTP ${t.status}`);
  }
  check((await tokenStatus(ADMIN_ID, 'aidp_sk_wrong')).status === 401, 'a wrong secret was not refused');
  await page.waitForFunction(() => {
    const txt = document.querySelector('.chart .legend')?.innerText || '';
    const num = (label) => Number((new RegExp(`${label}:\\s*([0-9.]+)`).exec(txt) || [])[1] || 0);
    return num('issued') > 0 && num('refused') > 0;
  }, null, { timeout: 15000 });
});

await step('signing keys show their state and age', async () => {
  await page.getByRole('link', { name: 'Signing keys' }).click();
  await page.getByRole('heading', { name: 'Signing keys', level: 1 }).waitFor();
  await page.locator('table tbody tr').first().waitFor();
  const rows = await page.locator('table tbody tr').allInnerTexts();
  const active = rows.find((r) => /\bactive\b/.test(r));
  check(active, `no active key among: ${rows.join(' | ')}`);
  check(/signed your current session token/.test(active), `the active key did not sign the session token: ${active}`);
  check(/just now|\d+ \w+ ago/.test(active), `no age on the active key: ${active}`);
  check(/2048 bits|3072 bits|4096 bits/.test(active), `no key size from the JWKS: ${active}`);
});

await step('the health page says so when Redis stops', async () => {
  check(process.env.DASH_REDIS_PORT, 'DASH_REDIS_PORT is not set');
  execFileSync('redis-cli', ['-p', process.env.DASH_REDIS_PORT, 'shutdown', 'nosave'], { stdio: 'pipe' });
  await page.getByRole('link', { name: 'Health' }).click();
  const redis = page.locator('.dep').filter({ hasText: 'Redis' });
  await redis.locator('.badge', { hasText: 'down' }).waitFor({ timeout: 20000 });
  await page.locator('.overall .badge', { hasText: 'degraded' }).waitFor({ timeout: 20000 });
  await page.locator('.dep').filter({ hasText: 'PostgreSQL' }).locator('.badge', { hasText: 'up' }).waitFor();
});

await step('at 390 px wide nothing overflows the screen', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const pages = [['agent', `/dashboard/agents/${ctx.agentId}`], ['audit', '/dashboard/audit'], ['health', '/dashboard/health'], ['agents', '/dashboard/agents']];
  for (const [label, to] of pages) {
    await page.evaluate((u) => { history.pushState(null, '', u); dispatchEvent(new PopStateEvent('popstate')); }, to);
    await page.locator('h1').first().waitFor();
    await page.waitForLoadState('networkidle');
    const [over, culprits] = await page.evaluate(() => {
      const wide = [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
        .filter((el) => !el.closest('.table-wrap')) // tables scroll inside their own box
        .slice(0, 3)
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
      return [document.documentElement.scrollWidth - window.innerWidth, wide];
    });
    check(over <= 0, `${to} is ${over}px wider than the screen (${culprits.join(', ')})`);
    await snap(`narrow-${label}`);
  }
  await page.setViewportSize({ width: 1280, height: 860 });
});

await step('keyboard: Tab reaches Sign out with a visible focus ring, Enter signs out', async () => {
  // Clicking the (unfocusable) brand text puts the Tab start point at the top.
  await page.locator('header .brand').click();
  let reached = false;
  for (let i = 0; i < 15 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.textContent === 'Sign out');
  }
  check(reached, 'Tab never reached the Sign out button');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check(outline !== 'none', 'the focused button has no outline');
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.getByText('You have signed out').waitFor();
});

// Short-lived tokens, to watch the session renew itself and end at expiry.
// The run script points PGHOST/PGPORT/PGDATABASE at the test cluster.
function setTokenTtl(seconds) {
  const sql = seconds === null
    ? 'ALTER SYSTEM RESET agentidp.token_ttl'
    : `ALTER SYSTEM SET agentidp.token_ttl = ${Number(seconds)}`;
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql, '-c', 'SELECT pg_reload_conf()'], { stdio: 'pipe' });
}

async function signIn(autoRenew) {
  await page.getByLabel('Client id').fill(ADMIN_ID);
  await page.getByLabel('Client secret').fill(ADMIN_SECRET);
  const box = page.getByLabel(/Renew the token automatically/);
  if (autoRenew) await box.check();
  else await box.uncheck();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

await step('a short-lived token is renewed before it expires', async () => {
  setTokenTtl(6);
  await new Promise((r) => setTimeout(r, 500)); // reload reaches the pool's backends
  await page.goto(`${BASE}/dashboard/agents`);
  await signIn(true);
  const t = await tokenStatus(ADMIN_ID, ADMIN_SECRET);
  check(t.body.expires_in <= 6, `the TTL did not take effect: expires_in ${t.body.expires_in}`);
  // Three lifetimes later the session is alive and the API still answers.
  await page.waitForTimeout(18000);
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 1000 });
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.locator('table.audit tbody tr').first().waitFor();
  check(await page.getByRole('alert').count() === 0, 'an error is shown after renewals');
});

await step('without renewal the session ends at expiry with a message', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(false);
  await page.getByText('Your session expired. Sign in again to continue.').waitFor({ timeout: 12000 });
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  setTokenTtl(null);
});

await step('no JavaScript errors in the console', async () => {
  // Chromium also logs every 4xx/5xx answer as "Failed to load resource":
  // those are the API's answers (the deliberate 401 and 409 above, /health
  // while Redis is down), which the steps check as the user sees them.
  const real = consoleErrors.filter((e) => !/^Failed to load resource: the server responded with a status of \d{3}\b/.test(e));
  check(real.length === 0, `console errors: ${real.join(' | ')}`);
});

await context.close();
fs.rmSync(userDataDir, { recursive: true, force: true });
fs.rmSync(downloads, { recursive: true, force: true });
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
fs.writeFileSync(path.join(OUT, 'e2e-counts.json'), JSON.stringify({ passed, failed }));
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
