// The demo app: everything a single-page app does with Portcullis, through the client library,
// shown so that a person can follow it. It keeps no token itself; the library holds the access
// token in memory and the browser keeps the HttpOnly refresh cookie.
import { PortcullisClient } from "./portcullis.js";

const client = new PortcullisClient();
const $ = (id) => document.getElementById(id);

// --- What the page says -------------------------------------------------------------------------
// Every text about the session state and every error message, in one place: the library's state
// names and the gateway's error codes never reach the screen as they are.

const STATUS = {
  loading: "Checking for a session…",
  "logged-in": "Signed in",
  "logged-out": "Signed out",
  // The gateway answers `session_revoked` whoever ended the session, an administrator or the
  // user from another device (`DELETE /auth/sessions/{id}`, "sign out everywhere"): the page
  // cannot tell which, so it names both.
  revoked:
    "Your session was ended by an administrator or from another device. Sign in again to continue.",
  // restore() could not reach the gateway: the session may well be alive.
  unknown: "Could not check for a session",
};

const ERRORS = {
  invalid_credentials: () => "Wrong email or password.",
  account_locked: () => "This account is locked. An administrator can unlock it.",
  rate_limited: (error) => `Too many attempts. Try again in ${error.retryAfter ?? 60} seconds.`,
  email_taken: () => "There is already an account with this email. Sign in instead.",
  weak_password: () => "The password must be 8 to 128 characters long.",
  invalid_email: () => "That does not look like an email address.",
  registration_disabled: () => "New accounts are made by administrators here.",
  // The session ended: the status line says so, and the sign-in form is back.
  not_logged_in: (error) =>
    error.cause?.code === "refresh_token_reused"
      ? "The gateway ended your session because an old refresh cookie was presented again, " +
        "which is what a stolen cookie looks like."
      : null,
  not_found: () => "That session had already ended.",
  network_error: () => "The gateway cannot be reached. Check your connection and try again.",
  unavailable: () => "The gateway is unavailable for a moment. Try again shortly.",
};

/** The sentence to show for `error`, or null when the status line already says it all. */
function describeError(error) {
  if (Object.hasOwn(ERRORS, error?.code)) return ERRORS[error.code](error);
  console.error("demo:", error); // for developers; people get a plain sentence
  return "Something went wrong. Try again.";
}

function showError(error) {
  const text = error ? describeError(error) : null;
  $("error").textContent = text ?? "";
  $("error").hidden = text === null;
}

// --- Formatting ---------------------------------------------------------------------------------

const clock = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

const timeOf = (ms) => clock.format(new Date(ms));

function ago(ms) {
  const seconds = Math.round((Date.now() - ms) / 1000);
  if (seconds < 10) return "just now";
  if (seconds < 60) return relative.format(-seconds, "second");
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return relative.format(-minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (hours < 24) return relative.format(-hours, "hour");
  return new Date(ms).toLocaleString();
}

function duration(ms) {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}

const shortId = (id) => id.slice(0, 8);

/** "Chrome on Linux" from a User-Agent; the full string goes in a tooltip. */
function deviceName(agent) {
  if (!agent) return "Unknown device";
  const find = (pairs) => pairs.find(([mark]) => agent.includes(mark))?.[1];
  const browser =
    find([
      ["Edg/", "Edge"],
      ["OPR/", "Opera"],
      ["Firefox/", "Firefox"],
      ["HeadlessChrome/", "Headless Chrome"],
      ["Chrome/", "Chrome"],
      ["Safari/", "Safari"],
    ]) ?? agent.split(/[/ ]/)[0];
  // Android and iOS say "Linux" and "Mac OS X" too, so they are looked for first.
  const system = find([
    ["Android", "Android"],
    ["iPhone", "iOS"],
    ["iPad", "iPadOS"],
    ["Windows", "Windows"],
    ["CrOS", "ChromeOS"],
    ["Mac OS X", "macOS"],
    ["Linux", "Linux"],
  ]);
  return system ? `${browser} on ${system}` : browser;
}

function element(tag, { text, className, attributes = {} } = {}, children = []) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

// --- The account, the API, the sessions -----------------------------------------------------------

async function json(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw Object.assign(new Error(body.message ?? response.statusText), { code: body.error });
  }
  return body;
}

async function showAccount() {
  const me = await json(await client.authFetch("/auth/me"));
  const facts = [
    ["Email", me.email],
    ["Roles", me.roles.length > 0 ? me.roles.join(", ") : "none"],
    ["User id", me.user_id],
  ];
  $("me").replaceChildren(
    ...facts.flatMap(([term, value]) => [
      element("dt", { text: term }),
      element("dd", { text: value }),
    ]),
  );
  await showSessions();
}

/** The sessions as last fetched; tick() keeps their "last used" current. */
let sessions = [];

async function showSessions() {
  sessions = await json(await client.authFetch("/auth/sessions"));
  drawSessions();
}

function drawSessions() {
  $("sessions").replaceChildren(
    ...sessions.map((session) => {
      const device = element("span", {
        text: deviceName(session.user_agent),
        className: "device",
        attributes: { id: `device-${session.id}`, title: session.user_agent ?? "" },
      });
      const heading = element("p", { className: "session-name" }, [device]);
      if (session.current) {
        heading.append(" ", element("span", { text: "this device", className: "badge" }));
      }
      const lastUsed = element("time", {
        text: ago(Date.parse(session.last_used_at)),
        attributes: {
          datetime: session.last_used_at,
          title: new Date(session.last_used_at).toLocaleString(),
        },
      });
      const details = element("p", { className: "session-details" }, [
        `Address ${session.ip ?? "unknown"} · last used `,
        lastUsed,
        ` · signed in ${new Date(session.created_at).toLocaleString()}`,
      ]);
      const signOut = element("button", {
        text: "Sign out this device",
        className: "secondary",
        attributes: { type: "button", "aria-describedby": `device-${session.id}` },
      });
      signOut.addEventListener(
        "click",
        action(() => endSession(session)),
      );
      return element(
        "li",
        { attributes: { "data-session-id": session.id, "data-current": String(session.current) } },
        [element("div", {}, [heading, details]), signOut],
      );
    }),
  );
}

async function endSession(session) {
  // This device: a real logout, so the cookie is deleted and every tab hears of it.
  if (session.current) return client.logout();
  const response = await client.authFetch(`/auth/sessions/${encodeURIComponent(session.id)}`, {
    method: "DELETE",
  });
  if (response.status !== 204) await json(response);
  await showSessions();
}

function showEcho(echo) {
  const who = echo.identity_headers["x-auth-email"] ?? "nobody";
  $("echo-summary").textContent =
    `The API was called as ${who}. These are the headers the gateway added for it:`;
  $("echo-summary").hidden = false;
  $("echo").textContent = JSON.stringify(echo, null, 2);
}

// --- The token panel ----------------------------------------------------------------------------

/** The latest sessionInfo, and the tokens this page received in the current session. */
let info = client.sessionInfo;
let history = [];
const HISTORY_LENGTH = 6;

function onInfo(next) {
  const renewed = next.state === "logged-in" && next.refreshes > info.refreshes;
  const started =
    next.state === "logged-in" && (info.state !== "logged-in" || next.sessionId !== info.sessionId);
  info = next;
  if (started) {
    history = [{ what: "First token", ...tokenOf(next) }];
  } else if (renewed) {
    history.push({ what: `Refresh ${next.refreshes}`, ...tokenOf(next) });
    history = [history[0], ...history.slice(1).slice(-(HISTORY_LENGTH - 1))];
    // "Last used" of this session moved with the refresh.
    showSessions().catch(showError);
  } else if (next.state !== "logged-in") {
    history = [];
  }
  drawPanel();
}

/** What the history keeps of each token: when it came, until when it works, its session. */
const tokenOf = (snapshot) => ({
  at: snapshot.receivedAt,
  expiresAt: snapshot.expiresAt,
  sessionId: snapshot.sessionId,
});

function drawPanel() {
  $("refresh-count").textContent = String(info.refreshes);
  $("refreshed-at").textContent =
    info.lastRefreshAt === null
      ? "none yet"
      : `${timeOf(info.lastRefreshAt)} (${ago(info.lastRefreshAt)})`;
  $("session-id").textContent = info.sessionId ?? "";
  $("session-id").title = info.sessionId ?? "";
  $("session-same").textContent =
    info.refreshes > 0
      ? `unchanged after ${info.refreshes} refresh${info.refreshes === 1 ? "" : "es"}`
      : "";
  $("token-history").replaceChildren(
    ...history.map((entry) =>
      element("li", {
        text:
          `${timeOf(entry.at)} · ${entry.what} · valid until ` +
          `${entry.expiresAt === null ? "unknown" : timeOf(entry.expiresAt)} · ` +
          `session ${entry.sessionId === null ? "unknown" : shortId(entry.sessionId)}`,
      }),
    ),
  );
  tick();
}

/** Once a second: the countdown, and the relative times. */
function tick() {
  if (info.state !== "logged-in") return;
  const now = Date.now();
  const countdown = $("token-countdown");
  if (info.expiresAt === null) {
    countdown.textContent = "unknown";
    $("token-life").value = 0;
    $("token-due").textContent = "";
  } else {
    const left = info.expiresAt - now;
    countdown.textContent = left > 0 ? duration(left) : "expired";
    countdown.dataset.secondsLeft = String(Math.max(0, Math.ceil(left / 1000)));
    $("token-life").value = Math.max(0, left / (info.expiresAt - info.receivedAt));
    $("token-due").textContent =
      info.refreshDueAt !== null && now >= info.refreshDueAt
        ? "due: the next call gets a new token first"
        : "";
  }
  if (info.lastRefreshAt !== null) {
    $("refreshed-at").textContent = `${timeOf(info.lastRefreshAt)} (${ago(info.lastRefreshAt)})`;
  }
  for (const time of $("sessions").querySelectorAll("time")) {
    time.textContent = ago(Date.parse(time.dateTime));
  }
}

// --- State ----------------------------------------------------------------------------------------

function render(state) {
  $("state").dataset.state = state;
  $("state").textContent = STATUS[state];
  const signedIn = state === "logged-in";
  $("logged-in").hidden = !signedIn;
  $("logged-out").hidden = signedIn;
  if (signedIn) {
    showAccount().catch(showError);
  } else {
    $("me").replaceChildren();
    $("echo").textContent = "";
    $("echo-summary").hidden = true;
    sessions = [];
    $("sessions").replaceChildren();
  }
}

function action(handler) {
  return async (event) => {
    event.preventDefault();
    showError(null);
    try {
      await handler();
    } catch (error) {
      showError(error);
    }
  };
}

$("login-form").addEventListener(
  "submit",
  action(() => client.login($("email").value, $("password").value)),
);
$("register").addEventListener(
  "click",
  action(async () => {
    if (!$("login-form").reportValidity()) return;
    await json(
      await fetch("/auth/register", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: $("email").value, password: $("password").value }),
      }),
    );
    await client.login($("email").value, $("password").value);
  }),
);
$("call-echo").addEventListener(
  "click",
  action(async () => showEcho(await json(await client.authFetch("/demo/api/echo")))),
);
$("logout").addEventListener(
  "click",
  action(() => client.logout()),
);
$("logout-all").addEventListener(
  "click",
  action(() => client.logoutAll()),
);

// Every change of session renders, including the one restore() makes when it logs in.
client.onSessionChange((state) => render(state));
client.onSessionInfo(onInfo);
setInterval(tick, 1000);
try {
  if (!(await client.restore())) render(client.state);
} catch (error) {
  // The gateway could not answer (503, network): the session may well be alive, so say so
  // rather than pretending to be signed out.
  showError(error);
  render(client.state);
  $("state").dataset.state = "unknown";
  $("state").textContent = STATUS.unknown;
}
