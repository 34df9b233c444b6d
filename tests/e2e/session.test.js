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
  pathOf,
  recordStorageWrites,
  refreshCookie,
  reloadAndRestore,
  statusText,
  tokenPanel,
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
  assert.equal(await statusText(page), "Signed out");

  await logInThroughForm(page, email);
  assert.equal(await statusText(page), "Signed in");

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

test("logging out clears the refresh cookie, and a reload then stays signed out without asking the gateway or logging a 401", async () => {
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
  assert.equal(await statusText(page), "Signed out");
  assert.equal(await refreshCookie(context), undefined, "the refresh cookie survived logout");
  // The server ended the session too, not only the page: the last access token is refused.
  const me = await fetch(`${gateway.origin}/auth/me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(me.status, 401);

  // The signed-out load: the library knows the session ended here, so it asks nothing, and
  // the console stays clean (a refused refresh would show there as a 401).
  const mark = network.mark();
  page.console.length = 0;
  await page.reload({ waitUntil: "load" });
  await waitForDecision(page);
  await waitForState(page, "logged-out");
  assert.equal(await statusText(page), "Signed out");
  assert.ok(await page.isVisible("#login-form"), "the login form is not shown");
  assert.ok(await page.isHidden("#logged-in"), "the logged-in view is shown");
  const loaded = await network.since(mark);
  assert.deepEqual(
    loaded.filter((e) => e.path.startsWith("/auth/")).map((e) => `${e.method} ${e.path}`),
    [],
    "the signed-out load called the gateway's /auth/",
  );
  assert.deepEqual(
    loaded.filter((e) => e.status >= 400).map((e) => `${e.method} ${e.path} ${e.status}`),
    [],
  );
  assert.deepEqual(page.console, []);
  // The tab's icon is the demo's own (headless Chromium does not fetch tab icons itself, so
  // the test follows the page's link).
  const icon = await page.evaluate(() => document.querySelector('link[rel~="icon"]')?.href);
  assert.equal(icon, `${gateway.origin}/demo/favicon.svg`);
  const served = await page.request.get(icon);
  assert.equal(served.status(), 200);
  assert.equal(served.headers()["content-type"], "image/svg+xml");
  assert.match(await served.text(), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("the session list shows each device's address and last use, and signing out another device ends that session while this one stays signed in", async () => {
  const { gateway, browser } = suite;
  const email = await gateway.register();
  const here = await newContext(browser);
  const there = await newContext(browser);
  const page = await openDemo(here.context, gateway);
  const other = await openDemo(there.context, gateway);
  await logInThroughForm(other, email);
  await logInThroughForm(page, email);
  const otherSession = (await tokenPanel(other)).sessionId;
  const thisSession = (await tokenPanel(page)).sessionId;
  assert.notEqual(otherSession, thisSession);

  const rows = await page.$$eval("#sessions li", (items) =>
    items.map((li) => ({
      id: li.dataset.sessionId,
      current: li.dataset.current === "true",
      text: li.textContent,
      buttons: [...li.querySelectorAll("button")].map((b) => b.textContent),
    })),
  );
  assert.deepEqual(
    rows.map((row) => [row.id, row.current]).sort(),
    [
      [otherSession, false],
      [thisSession, true],
    ].sort(),
  );
  for (const row of rows) {
    assert.match(row.text, /Address 127\.0\.0\.1 · last used (just now|\d+ seconds ago)/);
    assert.deepEqual(row.buttons, ["Sign out this device"]);
  }
  assert.match(rows.find((row) => row.current).text, /this device/);

  const [deleted] = await Promise.all([
    page.waitForResponse(
      (r) => r.request().method() === "DELETE" && pathOf(r) === `/auth/sessions/${otherSession}`,
    ),
    page.click(`#sessions li[data-session-id="${otherSession}"] button`),
  ]);
  assert.equal(deleted.status(), 204);
  await page.waitForFunction(() => document.querySelectorAll("#sessions li").length === 1);
  assert.equal(await page.getAttribute("#sessions li", "data-session-id"), thisSession);
  assert.equal(await statusText(page), "Signed in");
  assert.ok(await page.isHidden("#error"), `error shown: ${await page.textContent("#error")}`);

  // The other device learns it at its next call: refused, and back to the sign-in form.
  const [refresh] = await Promise.all([
    other.waitForResponse((r) => pathOf(r) === "/auth/refresh"),
    other.click("#call-echo"),
  ]);
  assert.equal(refresh.status(), 401);
  await other.locator("#login-form").waitFor();
  assert.ok(await other.isHidden("#logged-in"), "the other device still shows the account");
  assert.match(
    await statusText(other),
    /^Your session was ended by an administrator or from another device\b/,
  );
  assert.equal(await refreshCookie(there.context), undefined);

  // This device carries on with the same session.
  const [echo] = await Promise.all([
    page.waitForResponse((r) => pathOf(r) === "/demo/api/echo"),
    page.click("#call-echo"),
  ]);
  assert.equal(echo.status(), 200);
  const sessions = await gateway.admin("GET", `/admin/users/${email}/sessions`);
  assert.deepEqual(
    sessions.body.map((session) => [session.id, session.live]).sort(),
    [
      [otherSession, false],
      [thisSession, true],
    ].sort(),
  );
  assert.deepEqual(page.errors, []);
  assert.deepEqual(other.errors, []);
  await here.context.close();
  await there.context.close();
});
