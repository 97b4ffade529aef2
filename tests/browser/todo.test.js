// The web page in a real headless Chromium, against the real todo-server.
//
// Run by tests/browser.rs (`cargo test -p e2e --test browser`), which starts
// the server and passes:
//   TODO_API_URL     the API, http://localhost:PORT (the server's own origin)
//   FRONTEND_PORT    where to serve the page: http://localhost:FRONTEND_PORT
//                    is the server's FRONTEND_ORIGIN
//   ACCESS_TTL_SECS  the server's access token lifetime (a few seconds)
//   WEB_DIR          the page's files (web/)
//   CHROMIUM_BIN     the browser (Debian's /usr/bin/chromium)
//   SCREENSHOT       optional: where to save a screenshot of the page
//
// The page and the API are on two ports of `localhost`: two origins of one
// site, so the SameSite=Lax cookies go along with the page's requests while
// CORS and the cross-site guard decide what the page may do. A third port
// plays a page from an origin that is not allowed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { serveStatic } from './static-server.js';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through tests/browser.rs`);
  return value;
}

const API = required('TODO_API_URL');
const FRONTEND_PORT = Number(required('FRONTEND_PORT'));
const ACCESS_TTL_MS = Number(required('ACCESS_TTL_SECS')) * 1000;
const WEB_DIR = required('WEB_DIR');
const CHROMIUM = required('CHROMIUM_BIN');
const SCREENSHOT = process.env.SCREENSHOT;
const PASSWORD = 'correct horse battery';
const TIMEOUT = 60_000;

let browser;
let allowed; // the page on FRONTEND_ORIGIN
let foreign; // the page on an origin CORS does not allow

before(async () => {
  allowed = await serveStatic({ webDir: WEB_DIR, apiUrl: API, port: FRONTEND_PORT });
  foreign = await serveStatic({ webDir: WEB_DIR, apiUrl: API });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container: no sandbox. No network but loopback is used.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  await allowed?.close();
  await foreign?.close();
});

// ---- helpers ---------------------------------------------------------------

let users = 0;
const newUsername = () => `tester${process.pid}x${++users}`;

/** A fresh browser profile (its own cookie jar and storage): one device. */
async function device(options = {}) {
  const context = await browser.newContext({ viewport: { width: 900, height: 760 }, ...options });
  const calls = [];
  context.on('response', (response) => {
    const url = new URL(response.url());
    if (url.origin === API && response.request().method() !== 'OPTIONS') {
      calls.push({ method: response.request().method(), path: url.pathname, status: response.status() });
    }
  });
  return { context, calls };
}

/** Opens `origin` in a new tab of `context`; collects the page's errors. */
async function open(context, origin = allowed.origin) {
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) {
      page.problems.push(message.text());
    }
  });
  await page.goto(origin + '/');
  return page;
}

async function loginFormShown(page) {
  await page.locator('#auth').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#app').isVisible(), false, 'the todos are hidden');
}

async function todosShown(page) {
  await page.locator('#app').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#auth').isVisible(), false, 'the login form is hidden');
}

async function register(page, username) {
  await loginFormShown(page);
  await page.locator('#register summary').click();
  await page.locator('#register-username').fill(username);
  await page.locator('#register-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await todosShown(page);
}

async function logIn(page, username, password = PASSWORD) {
  await loginFormShown(page);
  await page.locator('#login-username').fill(username);
  await page.locator('#login-password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await todosShown(page);
}

async function addTodo(page, title) {
  const input = page.getByLabel('New todo', { exact: true });
  await input.fill(title);
  await input.press('Enter');
  await page.locator('#todos li', { hasText: title }).waitFor();
}

const titles = (page) => page.locator('#todos li label').allTextContents();

function count(calls, method, path, status) {
  return calls.filter((c) => c.method === method && c.path === path && (status === undefined || c.status === status)).length;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the access token (and its cookie) has expired. */
const accessTokenExpiry = () => sleep(ACCESS_TTL_MS + 1500);

function noProblems(...pages) {
  for (const page of pages) assert.deepEqual(page.problems, [], 'no script error or CSP violation');
}

// ---- tests -----------------------------------------------------------------

test('the API server serves the page itself, with a strict policy, and it works same-origin', { timeout: TIMEOUT }, async () => {
  const { context, calls } = await device();
  const page = await open(context, API);
  const response = await page.request.get(API + '/');
  const policy = response.headers()['content-security-policy'];
  assert.match(policy, /script-src 'self'/);
  assert.match(policy, /connect-src 'self'/);
  assert.doesNotMatch(policy, /unsafe-inline/);
  assert.equal(response.headers()['x-content-type-options'], 'nosniff');

  await logIn(page, 'user', 'pass');
  const title = `same origin ${Date.now()}`;
  await addTodo(page, title);
  assert.ok((await titles(page)).includes(title));
  assert.equal(count(calls, 'POST', '/todo', 201), 1);
  noProblems(page);
  await context.close();
});

test('login sets cookies the page cannot read, and registration works', { timeout: TIMEOUT }, async () => {
  const { context, calls } = await device();
  const page = await open(context);
  await register(page, newUsername());
  assert.equal(count(calls, 'POST', '/register', 201), 1);
  assert.equal(count(calls, 'POST', '/login', 200), 1);

  const visible = await page.evaluate(() => document.cookie);
  assert.doesNotMatch(visible, /access_token|refresh_token/, 'document.cookie shows neither token');
  const jar = await context.cookies(API);
  for (const name of ['access_token', 'refresh_token']) {
    const cookie = jar.find((c) => c.name === name);
    assert.ok(cookie, `${name} is set`);
    assert.equal(cookie.httpOnly, true, `${name} is HttpOnly`);
    assert.equal(cookie.secure, true, `${name} is Secure`);
    assert.equal(cookie.sameSite, 'Lax', `${name} is SameSite=Lax`);
  }
  noProblems(page);
  await context.close();
});

test('todos round-trip: add, tick, delete, and they survive a reload', { timeout: TIMEOUT }, async () => {
  const { context } = await device();
  const page = await open(context);
  await register(page, newUsername());
  assert.equal(await page.locator('#no-todos').isVisible(), true);

  const hostile = '<img src=x onerror="window.pwned=1">';
  for (const title of ['buy milk', 'write the report', hostile]) await addTodo(page, title);
  assert.deepEqual(await titles(page), [hostile, 'write the report', 'buy milk'], 'newest first, shown as text');
  assert.equal(await page.evaluate(() => window.pwned), undefined, 'no markup from a title runs');

  await page.getByLabel('write the report', { exact: true }).check();
  await page.locator('#todos li.done', { hasText: 'write the report' }).waitFor();
  await page.getByRole('button', { name: 'Delete “buy milk”' }).click();
  await page.locator('#todos li', { hasText: 'buy milk' }).waitFor({ state: 'detached' });

  await page.reload();
  await todosShown(page);
  assert.deepEqual(await titles(page), [hostile, 'write the report']);
  assert.equal(await page.getByLabel('write the report', { exact: true }).isChecked(), true, 'the tick is stored');
  assert.equal(await page.getByLabel(hostile, { exact: true }).isChecked(), false);
  noProblems(page);
  await context.close();
});

test('an expired access token is refreshed silently', { timeout: TIMEOUT }, async () => {
  const { context, calls } = await device();
  const page = await open(context);
  await register(page, newUsername());
  await accessTokenExpiry();

  calls.length = 0;
  await addTodo(page, 'after expiry');
  await todosShown(page);
  assert.deepEqual(
    calls.slice(0, 3).map((c) => `${c.method} ${c.path} ${c.status}`),
    ['POST /todo 401', 'POST /token/refresh 201', 'POST /todo 201'],
    'one 401, one refresh, one retry',
  );
  assert.equal(count(calls, 'POST', '/token/refresh'), 1);
  assert.equal(await page.locator('#status').textContent(), 'Todo added.');
  assert.doesNotMatch(await page.evaluate(() => document.cookie), /access_token|refresh_token/);
  noProblems(page);
  await context.close();
});

test('two tabs refreshing at the same moment both keep working (one refresh, Web Locks)', { timeout: TIMEOUT }, async () => {
  const { context, calls } = await device();
  const first = await open(context);
  await register(first, newUsername());
  const second = await open(context);
  await todosShown(second);
  await accessTokenExpiry();

  // Hold the first tab's refresh until the other tab waits for the lock, so
  // that they race for it however the machine schedules the two tabs.
  calls.length = 0;
  const waiting = async () => (await first.evaluate(() => navigator.locks.query())).pending.length;
  await context.route(`${API}/token/refresh`, async (route) => {
    const deadline = Date.now() + 10_000;
    while ((await waiting()) < 1 && Date.now() < deadline) await sleep(20);
    await route.continue();
  });
  await Promise.all([addTodo(first, 'from tab one'), addTodo(second, 'from tab two')]);
  await Promise.all([todosShown(first), todosShown(second)]);
  await context.unroute(`${API}/token/refresh`);
  assert.equal(count(calls, 'POST', '/todo', 401), 2, 'both tabs found their token expired');
  assert.equal(count(calls, 'POST', '/token/refresh'), 1, 'one tab refreshed, the other waited for it');
  assert.equal(count(calls, 'POST', '/todo'), 4, 'each tab retried once');
  assert.equal(count(calls, 'POST', '/token/refresh', 201), 1);
  assert.equal(count(calls, 'POST', '/todo', 201), 2);

  // Both stay logged in afterwards.
  await addTodo(second, 'tab two again');
  await first.reload();
  await todosShown(first);
  assert.deepEqual((await titles(first)).sort(), ['from tab one', 'from tab two', 'tab two again']);
  noProblems(first, second);
  await context.close();
});

test('two tabs refreshing at once without Web Locks get the same pair from the server', { timeout: TIMEOUT }, async () => {
  const { context, calls } = await device();
  // A browser without Web Locks: each tab refreshes on its own.
  await context.addInitScript(() => {
    delete Navigator.prototype.locks;
  });
  const first = await open(context);
  await register(first, newUsername());
  const second = await open(context);
  await todosShown(second);
  assert.equal(await second.evaluate(() => 'locks' in navigator), false);
  await accessTokenExpiry();

  // Hold each refresh until both tabs have sent theirs, so that both present
  // the same refresh token to the server at the same moment.
  const held = [];
  let releaseBoth;
  const bothArrived = new Promise((resolve) => {
    releaseBoth = resolve;
  });
  await context.route(`${API}/token/refresh`, async (route) => {
    held.push(route);
    if (held.length === 2) releaseBoth();
    await Promise.race([bothArrived, sleep(10_000)]);
    await route.continue();
  });
  const refreshes = [];
  context.on('response', async (response) => {
    if (response.url() === `${API}/token/refresh`) {
      const cookies = (await response.headersArray())
        .filter((h) => h.name.toLowerCase() === 'set-cookie')
        .map((h) => h.value.split(';')[0]);
      refreshes.push({ status: response.status(), cookies: cookies.sort().join(' ') });
    }
  });

  calls.length = 0;
  await Promise.all([addTodo(first, 'racing one'), addTodo(second, 'racing two')]);
  await Promise.all([todosShown(first), todosShown(second)]);
  assert.equal(held.length, 2, 'both tabs refreshed');
  assert.deepEqual(refreshes.map((r) => r.status), [201, 201]);
  assert.ok(refreshes[0].cookies.includes('access_token='), 'the new pair is in cookies');
  assert.equal(refreshes[0].cookies, refreshes[1].cookies, 'both got the same successor pair');
  assert.equal(count(calls, 'POST', '/todo', 201), 2);

  await context.unroute(`${API}/token/refresh`);
  await addTodo(first, 'still one');
  await addTodo(second, 'still two');
  noProblems(first, second);
  await context.close();
});

test("logout in one tab sends the other tab's next request to the login form", { timeout: TIMEOUT }, async () => {
  const { context, calls } = await device();
  const first = await open(context);
  const username = newUsername();
  await register(first, username);
  const second = await open(context);
  await todosShown(second);

  await first.getByRole('button', { name: 'Log out', exact: true }).click();
  await loginFormShown(first);
  assert.equal(count(calls, 'POST', '/logout', 200), 1);

  calls.length = 0;
  await second.getByLabel('New todo', { exact: true }).fill('written after logout');
  await second.getByLabel('New todo', { exact: true }).press('Enter');
  await loginFormShown(second);
  assert.match(await second.locator('#status').textContent(), /session has ended/);
  assert.deepEqual(
    calls.map((c) => `${c.method} ${c.path} ${c.status}`),
    ['POST /todo 401', 'POST /token/refresh 401'],
  );
  assert.equal(await second.locator('#todos li').count(), 0, 'nothing of the account stays on the page');

  await logIn(second, username);
  assert.deepEqual(await titles(second), [], 'the todo was not written');
  noProblems(first, second);
  await context.close();
});

test('my sessions: end one device, then log out the other devices', { timeout: TIMEOUT }, async () => {
  const username = newUsername();
  const devices = [];
  for (let i = 0; i < 3; i++) {
    const { context } = await device();
    const page = await open(context);
    if (i === 0) await register(page, username);
    else await logIn(page, username);
    devices.push({ context, page });
  }
  const [mine, second, third] = devices.map((d) => d.page);
  await mine.reload();
  await todosShown(mine);
  const rows = mine.locator('#sessions tbody tr');
  await rows.nth(2).waitFor();
  assert.equal(await rows.count(), 3);
  assert.equal(await mine.locator('#sessions .badge', { hasText: 'this device' }).count(), 1);

  await mine.getByRole('button', { name: /^End the session/ }).first().click();
  await mine.locator('#status', { hasText: 'That device is logged out.' }).waitFor();
  assert.equal(await rows.count(), 2);

  await mine.getByRole('button', { name: 'Log out other devices' }).click();
  await mine.locator('#status', { hasText: 'Logged out 1 other device.' }).waitFor();
  assert.equal(await rows.count(), 1);

  for (const page of [second, third]) {
    await page.reload();
    await loginFormShown(page);
  }
  await addTodo(mine, 'only mine is left');
  noProblems(mine, second, third);
  for (const { context } of devices) await context.close();
});

test('a page from an origin that is not allowed gets no access', { timeout: TIMEOUT }, async () => {
  const { context, calls } = await device();
  const page = await open(context);
  await register(page, newUsername());
  await addTodo(page, 'private');

  // Same browser, same cookies (same site), another origin.
  const evil = await open(context, foreign.origin);
  await evil.locator('#error', { hasText: 'Cannot reach the todo API' }).waitFor();
  await loginFormShown(evil);
  assert.equal(await evil.locator('#todos li').count(), 0);
  assert.equal(await evil.locator('body').textContent().then((t) => t.includes('private')), false);

  const outcomes = await evil.evaluate(async (api) => {
    const attempt = (init) =>
      fetch(api + '/todos', { credentials: 'include', ...init }).then(
        (r) => `read ${r.status}`,
        (e) => `refused ${e.name}`,
      );
    return {
      read: await attempt({}),
      write: await attempt({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"title":"x"}' }),
    };
  }, API);
  assert.deepEqual(outcomes, { read: 'refused TypeError', write: 'refused TypeError' });

  // A simple (non-preflighted) POST reaches the server with the cookies but
  // the cross-site guard refuses it, and logging in from there fails too.
  const simple = await evil.evaluate(
    (api) =>
      fetch(api + '/todo', { method: 'POST', credentials: 'include', mode: 'no-cors', body: '{"title":"forged"}' }).then(() => 'sent'),
    API,
  );
  assert.equal(simple, 'sent');
  await evil.locator('#login-username').fill('user');
  await evil.locator('#login-password').fill('pass');
  await evil.getByRole('button', { name: 'Log in' }).click();
  await evil.locator('#error', { hasText: 'Cannot reach the todo API' }).waitFor();
  assert.equal(await evil.locator('#app').isVisible(), false);
  assert.equal(count(calls, 'POST', '/todo', 403), 1, 'the forged write was refused');

  await page.reload();
  await todosShown(page);
  assert.deepEqual(await titles(page), ['private'], 'nothing was written from the other origin');
  noProblems(page);
  await context.close();
});

if (SCREENSHOT) {
  test('screenshot of the page for the README', { timeout: TIMEOUT }, async () => {
    const username = 'alice';
    const laptop = await device({
      userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0',
    });
    await register(await open(laptop.context), username);
    const { context } = await device({
      viewport: { width: 900, height: 660 },
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
    });
    const page = await open(context);
    await logIn(page, username);
    for (const title of ['Renew the TLS certificate', 'Review the refresh-token PR', 'Book the team lunch']) {
      await addTodo(page, title);
    }
    await page.getByLabel('Renew the TLS certificate', { exact: true }).check();
    await page.locator('#todos li.done').waitFor();
    await page.locator('#sessions tbody tr').nth(1).waitFor();
    await page.locator('#new-title').blur();
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    noProblems(page);
    await laptop.context.close();
    await context.close();
  });
}
