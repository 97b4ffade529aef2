// The todo page: plain JavaScript, no build step, no dependency.
//
// The tokens live in HttpOnly cookies that this script never sees; every call
// is a fetch with `credentials: 'include'`. On a 401 the page refreshes the
// pair once (POST /token/refresh) and retries once; if that fails it shows the
// login form. Tabs coordinate their refreshes with the Web Locks API, so only
// one tab refreshes while the others wait and then retry with the new
// cookies. Everything a user typed is put on the page with textContent only.
'use strict';

(() => {
  /** The API's origin; empty when todo-server serves this page itself. */
  const API = (document.querySelector('meta[name="todo-api"]')?.content ?? '').trim().replace(/\/+$/, '');
  /** Counts the refreshes any tab of this origin completed (see refresh()). */
  const GENERATION_KEY = 'todo.refresh-generation';
  const USER_KEY = 'todo.username';
  const LOCK_NAME = 'todo.token-refresh';
  /** The longest wait for a Web Lock before refreshing without one. */
  const LOCK_WAIT_MS = 5000;
  const LOCK_TIMEOUT = Symbol('lock wait over');

  /** The session is gone: the page shows the login form. */
  class LoggedOut extends Error {}
  /** The server answered with a status the page cannot act on. */
  class ApiFailure extends Error {}

  const $ = (selector) => document.querySelector(selector);
  const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' });
  const time = (unixSeconds) => (unixSeconds ? when.format(new Date(unixSeconds * 1000)) : '');

  /** "Firefox on macOS" for a User-Agent, or the User-Agent itself. */
  function deviceName(userAgent) {
    if (!userAgent) return 'unknown device';
    const browsers = [[/Edg\//, 'Edge'], [/Firefox\//, 'Firefox'], [/Chrom(e|ium)\//, 'Chrome'], [/Safari\//, 'Safari'], [/^curl\//, 'curl']];
    const systems = [[/Windows/, 'Windows'], [/iPhone|iPad/, 'iOS'], [/Mac OS X|Macintosh/, 'macOS'], [/Android/, 'Android'], [/CrOS/, 'ChromeOS'], [/Linux/, 'Linux']];
    const browser = browsers.find(([pattern]) => pattern.test(userAgent))?.[1];
    const system = systems.find(([pattern]) => pattern.test(userAgent))?.[1];
    if (browser && system) return `${browser} on ${system}`;
    return browser ?? system ?? userAgent;
  }

  // ---- talking to the API ------------------------------------------------

  /** One request, no retry: `{status, data}` (data is the JSON body or null). */
  async function send(method, path, body) {
    const init = { method, credentials: 'include', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(API + path, init);
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    return { status: response.status, data };
  }

  const generation = () => Number(localStorage.getItem(GENERATION_KEY) || 0);

  let ownRefresh = null;

  /**
   * After a 401 seen while `seen` was the refresh generation: 'refreshed'
   * (this call got a new pair), 'elsewhere' (another tab or request of this
   * origin was refreshing, or has just refreshed: retry with its cookies) or
   * 'failed' (the session cannot be refreshed).
   *
   * With Web Locks (every current browser), one tab at a time refreshes. A
   * tab that finds the lock taken waits until it is free and answers
   * 'elsewhere' without refreshing. Without them, the requests of this tab
   * still share one refresh, and the server gives racing tabs the same
   * successor pair within its grace window.
   */
  async function refresh(seen, { force = false } = {}) {
    const unlocked = () => {
      ownRefresh ??= refreshNow().finally(() => {
        ownRefresh = null;
      });
      return ownRefresh;
    };
    if (!navigator.locks?.request) return unlocked();
    // Some embedded or headless modes expose Web Locks that never answer:
    // past LOCK_WAIT_MS the page goes on as if it had none.
    const outcome = await withinLockWait(
      navigator.locks.request(LOCK_NAME, { ifAvailable: true }, (lock) => {
        if (!lock) return null;
        return !force && generation() !== seen ? 'elsewhere' : refreshNow();
      }),
    );
    if (outcome === LOCK_TIMEOUT) return unlocked();
    if (outcome !== null) return outcome;
    await withinLockWait(navigator.locks.request(LOCK_NAME, () => undefined));
    return 'elsewhere';
  }

  /** `promise`, or LOCK_TIMEOUT if it has not settled within LOCK_WAIT_MS. */
  function withinLockWait(promise) {
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(LOCK_TIMEOUT), LOCK_WAIT_MS);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  async function refreshNow() {
    const { status, data } = await send('POST', '/token/refresh');
    if (status === 201) {
      localStorage.setItem(GENERATION_KEY, String(generation() + 1));
      return 'refreshed';
    }
    if (status === 401 || status === 403) return 'failed';
    throw new ApiFailure(failure({ status, data }));
  }

  /**
   * A request that, on a 401, refreshes at most once and retries: at once
   * with cookies another tab just refreshed, else after its own refresh.
   */
  async function api(method, path, body) {
    const seen = generation();
    let answer = await send(method, path, body);
    if (answer.status !== 401) return answer;
    let outcome = await refresh(seen);
    if (outcome === 'elsewhere') {
      answer = await send(method, path, body);
      if (answer.status !== 401) return answer;
      outcome = await refresh(seen, { force: true });
    }
    if (outcome !== 'refreshed') throw new LoggedOut();
    answer = await send(method, path, body);
    if (answer.status === 401) throw new LoggedOut();
    return answer;
  }

  /** A sentence for a failed answer. */
  function failure({ status, data }) {
    const error = data && typeof data.error === 'string' ? data.error : `HTTP ${status}`;
    if (status === 429) return 'Too many attempts: wait a while, then try again.';
    if (status === 503) return `The server cannot answer right now (${error}); try again shortly.`;
    return error.charAt(0).toUpperCase() + error.slice(1) + '.';
  }

  // ---- what the page shows -----------------------------------------------

  function say(message) {
    $('#status').textContent = message;
  }

  function showError(message) {
    const box = $('#error');
    box.textContent = message;
    box.hidden = !message;
  }

  function showLogin(message = '') {
    localStorage.removeItem(USER_KEY);
    $('#app').hidden = true;
    $('#account').hidden = true;
    $('#todos').replaceChildren();
    $('#sessions tbody').replaceChildren();
    $('#auth').hidden = false;
    say(message);
    $('#login-username').focus();
  }

  function showApp() {
    $('#auth').hidden = true;
    $('#app').hidden = false;
    $('#account').hidden = false;
    const user = localStorage.getItem(USER_KEY);
    $('#who').textContent = user ? `Signed in as ${user}` : 'Signed in';
  }

  /** Runs a user action, turning its failures into what the page shows. */
  async function guarded(action, { quietLogout = false, loginOnFailure = false } = {}) {
    showError('');
    try {
      await action();
    } catch (error) {
      if (error instanceof LoggedOut) {
        showLogin(quietLogout ? '' : 'Your session has ended: please log in again.');
        return;
      }
      // Nothing is known about the session: offer the login form.
      if (loginOnFailure) showLogin();
      if (error instanceof ApiFailure) {
        showError(error.message);
      } else if (error instanceof TypeError) {
        // fetch rejects with a TypeError when the network or CORS refuses.
        showError(`Cannot reach the todo API at ${API || window.location.origin}.`);
      } else {
        showError(String(error?.message ?? error));
      }
    }
  }

  /** An answer the action needs to be `expected`, else an ApiFailure. */
  function expect(answer, expected) {
    if (answer.status !== expected) throw new ApiFailure(failure(answer));
    return answer.data;
  }

  function button(text, label, onClick) {
    const element = document.createElement('button');
    element.type = 'button';
    element.className = 'quiet';
    element.textContent = text;
    element.setAttribute('aria-label', label);
    element.addEventListener('click', () => guarded(onClick));
    return element;
  }

  function renderTodos({ todos, total }) {
    const list = $('#todos');
    list.replaceChildren(
      ...todos.map((todo) => {
        const item = document.createElement('li');
        item.dataset.id = todo.id;
        item.classList.toggle('done', Boolean(todo.done));
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.id = `todo-${todo.id}`;
        box.checked = Boolean(todo.done);
        box.addEventListener('change', () => guarded(() => setDone(todo.id, box.checked)));
        const label = document.createElement('label');
        label.htmlFor = box.id;
        label.textContent = todo.title;
        const remove = button('Delete', `Delete “${todo.title}”`, () => deleteTodo(todo.id));
        item.append(box, label, remove);
        return item;
      }),
    );
    $('#no-todos').hidden = todos.length > 0;
    if (total > todos.length) say(`Showing the newest ${todos.length} of ${total} todos.`);
  }

  function renderSessions({ sessions }) {
    $('#sessions tbody').replaceChildren(
      ...sessions.map((session) => {
        const row = document.createElement('tr');
        row.dataset.id = session.id;
        const device = document.createElement('td');
        device.className = 'device';
        device.textContent = deviceName(session.device);
        device.title = session.device || '';
        const cells = [session.ip, time(session.created_at), time(session.last_used_at)].map((text) => {
          const cell = document.createElement('td');
          cell.textContent = text;
          return cell;
        });
        const action = document.createElement('td');
        if (session.current) {
          const badge = document.createElement('span');
          badge.className = 'badge';
          badge.textContent = 'this device';
          action.append(badge);
        } else {
          const label = `End the session on ${deviceName(session.device)} from ${session.ip}`;
          action.append(button('End', label, () => endSession(session.id)));
        }
        row.append(device, ...cells, action);
        return row;
      }),
    );
    $('#logout-others').disabled = sessions.length < 2;
  }

  // ---- actions -----------------------------------------------------------

  async function loadTodos() {
    renderTodos(expect(await api('GET', '/todos?limit=100'), 200));
  }

  async function loadSessions() {
    renderSessions(expect(await api('GET', '/sessions'), 200));
  }

  async function enter() {
    await loadTodos();
    showApp();
    await loadSessions();
  }

  async function setDone(id, done) {
    const answer = await api('PATCH', `/todos/${encodeURIComponent(id)}`, { done });
    if (answer.status === 404) say('That todo was deleted elsewhere.');
    else expect(answer, 200);
    await loadTodos();
  }

  async function deleteTodo(id) {
    const answer = await api('DELETE', `/todos/${encodeURIComponent(id)}`);
    if (answer.status !== 404) expect(answer, 200);
    await loadTodos();
    say('Todo deleted.');
    $('#new-title').focus();
  }

  async function endSession(id) {
    const answer = await api('DELETE', `/sessions/${encodeURIComponent(id)}`);
    if (answer.status !== 404) expect(answer, 200);
    await loadSessions();
    say('That device is logged out.');
  }

  async function logIn(username, password) {
    const answer = await send('POST', '/login', { username, password });
    if (answer.status === 401) throw new ApiFailure('Wrong username or password.');
    expect(answer, 200);
    localStorage.setItem(USER_KEY, username.trim());
    $('#login-password').value = '';
    $('#register-password').value = '';
    await enter();
    say('Logged in.');
    $('#new-title').focus();
  }

  $('#login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(() => logIn($('#login-username').value, $('#login-password').value));
  });

  $('#register-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const username = $('#register-username').value;
    const password = $('#register-password').value;
    guarded(async () => {
      expect(await send('POST', '/register', { username, password }), 201);
      await logIn(username, password);
    });
  });

  $('#add-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('#new-title');
    guarded(async () => {
      expect(await api('POST', '/todo', { title: input.value }), 201);
      input.value = '';
      await loadTodos();
      say('Todo added.');
    });
  });

  $('#logout-others').addEventListener('click', () =>
    guarded(async () => {
      const { ended } = expect(await api('POST', '/logout/others'), 200);
      await loadSessions();
      say(ended === 1 ? 'Logged out 1 other device.' : `Logged out ${ended} other devices.`);
    }),
  );

  $('#logout').addEventListener('click', () =>
    guarded(
      async () => {
        expect(await api('POST', '/logout'), 200);
        showLogin('Logged out.');
      },
      { quietLogout: true },
    ),
  );

  // On load: show the todos if the cookies (or a refresh) allow it.
  guarded(enter, { quietLogout: true, loginOnFailure: true });
})();
