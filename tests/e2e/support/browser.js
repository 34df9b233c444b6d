// support/browser.js — owns the browser side of the suite: launching Debian's Chromium headless
// through playwright-core, opening and driving the demo app the way a user does (through its
// form and buttons, waiting on its visible state), and recording what a context sends
// (requests, Web Storage writes) so tests can count and inspect it. It never talks to the
// gateway except through a page.

import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { PASSWORD } from "./gateway.js";

/** The refresh cookie's name (the gateway's default `cookie_name`). */
export const REFRESH_COOKIE = "__Secure-portcullis-refresh";

const e2eDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Where screenshots go: `E2E_OUTPUT_DIR`, else `tests/e2e/output`. Created on demand. */
export async function outputDir() {
  const dir = path.resolve(e2eDir, process.env.E2E_OUTPUT_DIR ?? "output");
  await mkdir(dir, { recursive: true });
  return dir;
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    // Chromium refuses to start its sandbox as root (containers, CI); elsewhere keep it.
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
}

/**
 * A fresh browser context (its own cookie jar, storage and tabs) whose every request is
 * recorded. Failures surface in seconds rather than after Playwright's 30 s default.
 */
export async function newContext(browser) {
  const context = await browser.newContext();
  context.setDefaultTimeout(10_000);
  return { context, network: recordNetwork(context) };
}

/**
 * Records the requests of every page of `context`. Reading is async: it waits until the
 * requests read have been answered (or have failed), so a status is never missing for lack of
 * time. `since(mark)` reads those after a `mark()`, so a test counts only what its step caused.
 */
export function recordNetwork(context) {
  const entries = [];
  context.on("request", (request) => {
    const url = new URL(request.url());
    const entry = { method: request.method(), origin: url.origin, path: url.pathname, request };
    entry.settled = request.response().then(
      (response) => {
        entry.status = response?.status() ?? null; // null: it failed without an answer
        entry.answeredAt = Date.now();
      },
      () => {
        entry.status = null; // the page went away first
      },
    );
    entries.push(entry);
  });
  const since = async (mark) => {
    const chosen = entries.slice(mark);
    await Promise.all(chosen.map((entry) => entry.settled));
    return chosen;
  };
  return {
    entries,
    mark: () => entries.length,
    since,
    /** The `POST /auth/refresh` requests sent after `mark` (to any origin), once answered. */
    refreshesSince: async (mark) =>
      (await since(mark)).filter((e) => e.method === "POST" && e.path === "/auth/refresh"),
  };
}

/**
 * Records every `Storage.prototype.setItem` call (localStorage and sessionStorage) made by any
 * page of `context`, from before the page's own scripts run. Only the key and the value's
 * length are kept: the point is whether anything was written at all.
 */
export async function recordStorageWrites(context) {
  const writes = [];
  await context.exposeBinding("__e2eRecordStorageWrite", ({ page }, write) => {
    writes.push({ ...write, url: page.url() });
  });
  await context.addInitScript(() => {
    const setItem = Storage.prototype.setItem;
    Storage.prototype.setItem = function recordedSetItem(key, value) {
      let storage = "unknown";
      try {
        storage = this === globalThis.localStorage ? "localStorage" : "sessionStorage";
      } catch {
        // Storage access can throw on opaque origins; the write is still worth recording.
      }
      const write = { storage, key: String(key), length: String(value).length };
      globalThis.__e2eRecordStorageWrite?.(write);
      return setItem.call(this, key, value);
    };
  });
  return writes;
}

/**
 * Opens the demo app in a new tab of `context` and waits until it has decided whether a
 * session exists (its `restore()` on load is over). Uncaught page errors are collected in
 * `page.errors` so tests can assert the app never threw; what the page's console shows as an
 * error or warning (a refused request shows there too), in `page.console`.
 */
export async function openDemo(context, gateway) {
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(error));
  page.console = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      page.console.push(`${message.type()}: ${message.text()}`);
    }
  });
  await page.goto(gateway.demoUrl);
  await waitForDecision(page);
  return page;
}

/** Waits until the demo has decided whether a session exists (after a load or reload). */
export function waitForDecision(page) {
  return page.locator('#state:not([data-state="loading"])').waitFor();
}

/** Waits until the demo shows `state` (`logged-in`, `logged-out` or `revoked`). */
export function waitForState(page, state) {
  return page.locator(`#state[data-state="${state}"]`).waitFor();
}

/** The demo's status line as a person reads it. */
export async function statusText(page) {
  return (await page.textContent("#state")).trim();
}

/**
 * Waits until the logged-in view is fully drawn for `email`: `/auth/me` shown and the sessions
 * listed (the last thing the demo fetches after a state change).
 */
export async function waitForAccount(page, email) {
  await waitForState(page, "logged-in");
  await page.waitForFunction((expected) => {
    const me = document.getElementById("me").textContent;
    return me.includes(expected) && document.querySelectorAll("#sessions li").length > 0;
  }, email);
}

/** Logs in through the demo's form; resolves with the `/auth/login` answer's access token. */
export async function logInThroughForm(page, email) {
  await page.locator("#login-form").waitFor();
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  const [login] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && pathOf(r) === "/auth/login"),
    page.click("#login"),
  ]);
  if (login.status() !== 200) throw new Error(`login answered ${login.status()}`);
  const { access_token: token } = await login.json();
  await waitForAccount(page, email);
  return token;
}

/**
 * Clicks "Call it" (the demo's `authFetch("/demo/api/echo")`) and waits for the echo's answer;
 * resolves with that response and the bearer token the page sent with it.
 */
export async function callEcho(page) {
  const [echo] = await Promise.all([
    page.waitForResponse((r) => pathOf(r) === "/demo/api/echo"),
    page.click("#call-echo"),
  ]);
  const headers = await echo.request().allHeaders();
  return { response: echo, bearer: bearerOf(headers) };
}

/** The echo the demo shows in `#echo`, once it is drawn, parsed. */
export async function shownEcho(page) {
  await page.waitForFunction(() => document.getElementById("echo").textContent !== "");
  return JSON.parse(await page.textContent("#echo"));
}

/**
 * The demo's token panel as shown: the countdown's seconds, the refresh count, the session id,
 * the last refresh's text and the history lines.
 */
export async function tokenPanel(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent.trim();
    return {
      secondsLeft: Number(document.getElementById("token-countdown").dataset.secondsLeft),
      countdown: text("token-countdown"),
      refreshes: Number(text("refresh-count")),
      sessionId: text("session-id"),
      refreshedAt: text("refreshed-at"),
      history: [...document.querySelectorAll("#token-history li")].map((li) => li.textContent),
    };
  });
}

/** Reloads `page` and resolves with the answer to the refresh its `restore()` sends on load. */
export async function reloadAndRestore(page) {
  const [refresh] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && pathOf(r) === "/auth/refresh"),
    page.reload(),
  ]);
  return refresh;
}

/** The refresh cookie of `context` as the browser holds it, or undefined. */
export async function refreshCookie(context) {
  return (await context.cookies()).find((cookie) => cookie.name === REFRESH_COOKIE);
}

export function pathOf(response) {
  return new URL(response.url()).pathname;
}

export function bearerOf(headers) {
  const match = /^Bearer (.+)$/.exec(headers.authorization ?? "");
  return match?.[1];
}
