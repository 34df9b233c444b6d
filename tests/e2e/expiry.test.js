// expiry.test.js — the access token running out under a page that stays open: the next call to
// a protected API must refresh silently and go through, with no error and no sign-in, and the
// demo's token panel must show it happen: the countdown running out, one more refresh, and the
// same session id. A short access lifetime and no leeway make the expiry real within the test.
// This file also saves the screenshot of the demo logged in.

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import {
  callEcho,
  logInThroughForm,
  newContext,
  openDemo,
  outputDir,
  shownEcho,
  statusText,
  tokenPanel,
} from "./support/browser.js";
import { gatewayAndBrowser } from "./support/suite.js";
import { eventually, sleep } from "./support/wait.js";

const ACCESS_TTL_SECONDS = 4;

const suite = gatewayAndBrowser({ accessTtl: `${ACCESS_TTL_SECONDS}s`, leeway: "0s" });

test("once the access token has expired, calling the protected API refreshes silently and shows the identity", async () => {
  const { gateway, browser } = suite;
  const email = await gateway.register();
  const { context, network } = await newContext(browser);
  const page = await openDemo(context, gateway);
  const loginToken = await logInThroughForm(page, email);
  const loggedInAt = Date.now();
  const me = await (
    await fetch(`${gateway.origin}/auth/me`, { headers: { authorization: `Bearer ${loginToken}` } })
  ).json();

  // The panel: a countdown from the token's lifetime, no refresh yet, the token's session.
  const fresh = await tokenPanel(page);
  assert.ok(
    fresh.secondsLeft > 0 && fresh.secondsLeft <= ACCESS_TTL_SECONDS,
    `countdown: ${fresh.countdown}`,
  );
  assert.equal(fresh.refreshes, 0);
  assert.equal(fresh.refreshedAt, "none yet");
  assert.equal(fresh.sessionId, me.session_id);
  assert.equal(fresh.history.length, 1, fresh.history.join("\n"));
  // It counts down while the page sits there, and says when the token has run out.
  await page.waitForFunction(
    (before) => Number(document.getElementById("token-countdown").dataset.secondsLeft) < before,
    fresh.secondsLeft,
  );

  // Waiting out the lifetime is the scenario. `exp` has whole seconds, so once the lifetime has
  // passed by our clock, poll until the gateway really refuses the token.
  await sleep(Math.max(0, loggedInAt + ACCESS_TTL_SECONDS * 1000 - Date.now()));
  await eventually(
    async () =>
      (
        await fetch(`${gateway.origin}/auth/me`, {
          headers: { authorization: `Bearer ${loginToken}` },
        })
      ).status === 401,
    { timeoutMs: 2_000, what: "the login's access token to expire" },
  );

  await page.locator("#token-countdown", { hasText: "expired" }).waitFor();

  const mark = network.mark();
  const { response, bearer } = await callEcho(page);
  assert.equal(response.status(), 200);
  assert.notEqual(bearer, loginToken, "the echo was sent with the expired token");
  const sent = await network.since(mark);
  assert.deepEqual(
    sent.filter((e) => e.path === "/auth/refresh").map((e) => [e.method, e.status]),
    [["POST", 200]],
    "expected exactly one silent refresh",
  );
  // The library refreshed before sending (the token was due), so the API never saw a 401.
  assert.deepEqual(
    sent.filter((e) => e.path === "/demo/api/echo").map((e) => e.status),
    [200],
  );

  const echo = await shownEcho(page);
  assert.equal(echo.path, "/demo/api/echo");
  assert.equal(echo.identity_headers["x-auth-email"], email);
  assert.equal(echo.identity_headers["x-auth-user-id"], me.user_id);
  assert.equal(echo.identity_headers["x-auth-session-id"], me.session_id);
  assert.equal(await page.getAttribute("#state", "data-state"), "logged-in");
  assert.equal(await statusText(page), "Signed in");
  assert.ok(await page.isHidden("#error"), `error shown: ${await page.textContent("#error")}`);
  assert.deepEqual(page.errors, []);

  // One silent refresh: counted, when, a new countdown, and the session id has not changed
  // although the refresh cookie was replaced.
  await page.locator("#refresh-count", { hasText: "1" }).waitFor();
  const refreshed = await tokenPanel(page);
  assert.equal(refreshed.refreshes, 1);
  assert.equal(refreshed.sessionId, me.session_id);
  assert.notEqual(refreshed.refreshedAt, "none yet");
  assert.ok(refreshed.secondsLeft > 0, `countdown after the refresh: ${refreshed.countdown}`);
  assert.equal(refreshed.history.length, 2, refreshed.history.join("\n"));
  assert.match(refreshed.history[1], /Refresh 1 · valid until .+ · session /);
  assert.ok(refreshed.history[1].endsWith(me.session_id.slice(0, 8)), refreshed.history[1]);

  await page.screenshot({
    path: path.join(await outputDir(), "demo-logged-in.png"),
    fullPage: true,
  });
  await context.close();
});
