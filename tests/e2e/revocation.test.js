// revocation.test.js — the security team cutting a user off while their page is open: the
// admin API's revoke must end the session at the page's very next call (the access token is
// still within its lifetime, so only the gateway's revocation checks can refuse it), the page
// must say so in words, and nothing left in the browser may bring the session back.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  callEcho,
  logInThroughForm,
  newContext,
  openDemo,
  refreshCookie,
  shownEcho,
  statusText,
  waitForDecision,
  waitForState,
} from "./support/browser.js";
import { gatewayAndBrowser } from "./support/suite.js";

// The default 15-minute lifetime: the token the page holds stays unexpired throughout.
const suite = gatewayAndBrowser();

test("revoking the user through the admin API ends the session at the next API call and a reload does not bring it back", async () => {
  const { gateway, browser } = suite;
  const email = await gateway.register();
  const { context, network } = await newContext(browser);
  const page = await openDemo(context, gateway);
  await logInThroughForm(page, email);
  assert.equal((await callEcho(page)).response.status(), 200, "the echo failed before revocation");
  assert.equal((await shownEcho(page)).identity_headers["x-auth-email"], email);

  const revoked = await gateway.admin("POST", `/admin/users/${email}/revoke`);
  assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
  assert.equal(revoked.body.sessions_revoked, 1);

  const mark = network.mark();
  const [refresh] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/auth/refresh"),
    page.click("#call-echo"),
  ]);
  // The page sent its unexpired token, was refused, tried the cookie once, was refused again.
  assert.equal(refresh.status(), 401);
  assert.equal((await refresh.json()).error, "session_revoked");
  await waitForState(page, "revoked");
  assert.deepEqual(
    (await network.since(mark)).map((e) => `${e.method} ${e.path} ${e.status}`),
    ["GET /demo/api/echo 401", "POST /auth/refresh 401"],
  );
  assert.ok(await page.isVisible("#login-form"), "the login form is not shown");
  assert.ok(await page.isHidden("#logged-in"), "the logged-in view is still shown");
  assert.equal(await page.textContent("#echo"), "", "the old echo is still shown");
  // Said in words, once: the status line, with no error codes anywhere on the page.
  assert.match(await statusText(page), /^Your session was ended by an administrator\b/);
  assert.ok(await page.isHidden("#error"), `error shown: ${await page.textContent("#error")}`);
  assert.doesNotMatch(await page.textContent("body"), /not_logged_in|session_revoked|\b401\b/);
  assert.equal(await refreshCookie(context), undefined, "the refused cookie was not cleared");

  // The refused refresh told the library the session ended here: the reload asks nothing.
  const reloadMark = network.mark();
  await page.reload({ waitUntil: "load" });
  await waitForDecision(page);
  await waitForState(page, "logged-out");
  assert.equal(await statusText(page), "Signed out");
  assert.ok(await page.isVisible("#login-form"), "the login form is not shown after reload");
  assert.ok(await page.isHidden("#logged-in"), "the logged-in view is shown after reload");
  const calls = (await network.since(reloadMark)).filter(
    (e) => e.path.startsWith("/auth/") || e.path.startsWith("/demo/api/"),
  );
  assert.deepEqual(
    calls.map((e) => `${e.method} ${e.path}`),
    [],
    "the reloaded page called the gateway",
  );
  assert.deepEqual(page.errors, []);

  const events = await gateway.events("user_revoked", { user: email });
  assert.equal(events.length, 1);
  await context.close();
});
