// The demo app: everything a single-page app does with Portcullis, through the client library.
// It keeps no token itself; the library holds the access token in memory and the browser keeps
// the HttpOnly refresh cookie.
import { PortcullisClient } from "./portcullis.js";

const client = new PortcullisClient();
const $ = (id) => document.getElementById(id);

function showError(error) {
  const box = $("error");
  box.textContent = error ? `${error.code ?? "error"}: ${error.message}` : "";
  box.hidden = !error;
}

async function json(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw Object.assign(new Error(body.message ?? response.statusText), { code: body.error });
  }
  return body;
}

async function showAccount() {
  const me = await json(await client.authFetch("/auth/me"));
  $("me").textContent = JSON.stringify(me, null, 2);
  const sessions = await json(await client.authFetch("/auth/sessions"));
  $("sessions").replaceChildren(
    ...sessions.map((session) => {
      const item = document.createElement("li");
      const where = session.user_agent ?? "unknown client";
      item.textContent = `${session.current ? "this session" : "other session"} · since ${session.created_at} · ${where}`;
      return item;
    }),
  );
}

async function render(state) {
  $("state").dataset.state = state;
  $("state").textContent = state;
  $("logged-in").hidden = state !== "logged-in";
  $("logged-out").hidden = state === "logged-in";
  if (state === "logged-in") {
    await showAccount().catch(showError);
  } else {
    $("me").textContent = "";
    $("echo").textContent = "";
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
  action(async () => {
    const echo = await json(await client.authFetch("/demo/api/echo"));
    $("echo").textContent = JSON.stringify(echo, null, 2);
  }),
);
$("logout").addEventListener("click", action(() => client.logout()));
$("logout-all").addEventListener("click", action(() => client.logoutAll()));

// Every change of session renders, including the one restore() makes when it logs in.
client.onSessionChange((state) => render(state));
try {
  if (!(await client.restore())) {
    await render(client.state);
  }
} catch (error) {
  // The gateway could not answer (503, network): the session may well be alive, so say so
  // rather than pretending to be logged out.
  showError(error);
  await render(client.state);
}
