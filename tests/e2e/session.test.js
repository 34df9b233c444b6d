// session.test.js — one browser's session through the demo app: where the login leaves the
// refresh cookie and the access token, how a reload brings the session back, and how a logout
// ends it, so that a reload then asks the gateway nothing. One gateway for the file; each test
// has its own user and browser context.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  REFRESH_COOKIE,
  logInThroughForm,
  newContext,
  openDemo,
  recordStorageWrites,
  refreshCookie,
  reloadAndRestore,
  waitForAccount,
  waitForDecision,
  waitForState,
} from "./support/browser.js";
import { gatewayAndBrowser } from "./support/suite.js";

const suite = gatewayAndBrowser();

/** The client library's signed-out marker for a gateway on the page's own origin. */
const SIGNED_OUT_MARKER = "portcullis:same-origin:signed-out";

test("logging in through the form leaves an HttpOnly, Secure, SameSite=Strict refresh cookie on /auth that page scripts cannot read", async () => {
  const { gateway, browser } = suite;
  const email = await gateway.register();
  const { context } = await newContext(browser);
  const page = await openDemo(context, gateway);
  await waitForState(page, "logged-out");

  await logInThroughForm(page, email);

  const cookie = await refreshCookie(context);
  assert.ok(cookie, `no ${REFRESH_COOKIE} in ${JSON.stringify(await context.cookies())}`);
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, "Strict");
  assert.equal(cookie.path, "/auth");
  assert.equal(cookie.domain, "127.0.0.1");
  const readable = await page.evaluate(() => document.cookie);
  assert.ok(!readable.includes(REFRESH_COOKIE), `document.cookie shows it: ${readable}`);
  assert.ok(!readable.includes(cookie.value), "document.cookie shows its value");
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("a reload restores the session with exactly one refresh and the access token never reaches Web Storage or a readable cookie", async () => {
  const { gateway, browser } = suite;
  const email = await gateway.register();
  const { context, network } = await newContext(browser);
  const storageWrites = await recordStorageWrites(context);
  const page = await openDemo(context, gateway);
  const tokens = [await logInThroughForm(page, email)];

  const mark = network.mark();
  const restored = await reloadAndRestore(page);
  assert.equal(restored.status(), 200);
  tokens.push((await restored.json()).access_token);
  await waitForAccount(page, email);
  // The account view is complete (the demo's last fetch): nothing else of the reload is to come.
  const refreshes = await network.refreshesSince(mark);
  assert.equal(refreshes.length, 1, `refreshes: ${refreshes.map((r) => r.status)}`);

  const stored = await page.evaluate(() => ({
    local: Object.entries(localStorage),
    session: Object.entries(sessionStorage),
    cookie: document.cookie,
  }));
  // The one write: the first load's refused refresh left the library's signed-out marker (a
  // "1"), which the login removed.
  assert.deepEqual(stored.local, []);
  assert.deepEqual(stored.session, []);
  assert.deepEqual(storageWrites, [
    { storage: "localStorage", key: SIGNED_OUT_MARKER, length: 1, url: gateway.demoUrl },
  ]);
  for (const token of tokens) {
    assert.ok(typeof token === "string" && token.length > 0);
    assert.ok(!stored.cookie.includes(token), "an access token is in document.cookie");
  }
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("logging out clears the refresh cookie, and a reload then stays signed out without asking the gateway", async () => {
  const { gateway, browser } = suite;
  const email = await gateway.register();
  const { context, network } = await newContext(browser);
  const page = await openDemo(context, gateway);
  // A browser that never signed in here has no marker: its first load asks, once, and is refused.
  assert.deepEqual(
    (await network.refreshesSince(0)).map((e) => e.status),
    [401],
  );
  const token = await logInThroughForm(page, email);
  assert.ok(await refreshCookie(context), "no refresh cookie after login");

  const [logout] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/auth/logout"),
    page.click("#logout"),
  ]);
  assert.equal(logout.status(), 204);
  await waitForState(page, "logged-out");
  assert.equal(await refreshCookie(context), undefined, "the refresh cookie survived logout");
  // The server ended the session too, not only the page: the last access token is refused.
  const me = await fetch(`${gateway.origin}/auth/me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(me.status, 401);

  // The library knows the session ended here, so the signed-out load asks nothing.
  const mark = network.mark();
  await page.reload({ waitUntil: "load" });
  await waitForDecision(page);
  await waitForState(page, "logged-out");
  assert.ok(await page.isVisible("#login-form"), "the login form is not shown");
  assert.ok(await page.isHidden("#logged-in"), "the logged-in view is shown");
  const loaded = await network.since(mark);
  assert.deepEqual(
    loaded.filter((e) => e.path.startsWith("/auth/")).map((e) => `${e.method} ${e.path}`),
    [],
    "the signed-out load called the gateway's /auth/",
  );
  assert.deepEqual(page.errors, []);
  await context.close();
});
