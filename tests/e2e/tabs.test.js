// tabs.test.js — several tabs of one browser sharing one session: when all of them find the
// access token expired at the same moment, the client library must rotate the refresh cookie
// once and share the result, not race N rotations (which the gateway's reuse detection would
// punish). A short access lifetime makes the expiry happen within the test.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  bearerOf,
  logInThroughForm,
  newContext,
  openDemo,
  pathOf,
  shownEcho,
  waitForAccount,
} from "./support/browser.js";
import { gatewayAndBrowser } from "./support/suite.js";
import { eventually, sleep } from "./support/wait.js";

const ACCESS_TTL_SECONDS = 6;
const TABS = 5;

const suite = gatewayAndBrowser({ accessTtl: `${ACCESS_TTL_SECONDS}s`, leeway: "0s" });

// Web Locks are the library's first choice; without them (browsers hide them outside secure
// contexts, e.g. plain http on a LAN address) it coordinates with claims over BroadcastChannel.
for (const { coordination, name } of [
  {
    coordination: "web-locks",
    name: "five tabs refreshing an expired token at the same instant rotate the cookie once and all stay logged in",
  },
  {
    coordination: "broadcast",
    name: "without Web Locks, five tabs refreshing at the same instant still rotate the cookie once over BroadcastChannel",
  },
]) {
  test(name, async (t) => {
    const { gateway, browser } = suite;
    const email = await gateway.register();
    const { context, network } = await newContext(browser);
    if (coordination === "broadcast") {
      await context.addInitScript(() => {
        delete Navigator.prototype.locks;
      });
    }
    const first = await openDemo(context, gateway);
    await logInThroughForm(first, email);
    const tabs = [first];
    // Opened one after another: each new tab restores the session with its own refresh.
    while (tabs.length < TABS) {
      const tab = await openDemo(context, gateway);
      await waitForAccount(tab, email);
      tabs.push(tab);
    }
    // A second client of the library in every tab, used after the burst to check that each tab
    // can still make authenticated calls. It shares the tab's lock and channel, so it also shows
    // whether the burst's one new token reached every tab.
    for (const tab of tabs) {
      await tab.evaluate(async () => {
        const { PortcullisClient } = await import("/demo/portcullis.js");
        globalThis.e2eProbe = new PortcullisClient();
      });
      assert.equal(await tab.evaluate(() => globalThis.e2eProbe.coordination), coordination);
    }

    // Every tab now holds the token of the last refresh (tabs adopt each other's tokens). Let it
    // expire for the server too, so that a tab skipping the refresh would be refused: its `exp`
    // has whole seconds, hence the polling once its lifetime has passed by our clock.
    const lastIssue = network.entries.findLast(
      (e) => e.path === "/auth/refresh" || e.path === "/auth/login",
    );
    await lastIssue.settled;
    assert.equal(lastIssue.status, 200);
    const oldToken = (await (await lastIssue.request.response()).json()).access_token;
    await sleep(Math.max(0, lastIssue.answeredAt + ACCESS_TTL_SECONDS * 1000 - Date.now()));
    await eventually(
      async () =>
        (
          await fetch(`${gateway.origin}/auth/me`, {
            headers: { authorization: `Bearer ${oldToken}` },
          })
        ).status === 401,
      { timeoutMs: 2_000, what: "the tabs' access token to expire" },
    );

    // All tabs click "Call it" at one wall-clock instant, scheduled inside each page so that
    // Playwright's per-page round trips do not spread the clicks apart.
    const mark = network.mark();
    const at = Date.now() + 500;
    const echoes = tabs.map((tab) => tab.waitForResponse((r) => pathOf(r) === "/demo/api/echo"));
    const clickedAt = await Promise.all(
      tabs.map((tab) =>
        tab.evaluate(
          (when) =>
            new Promise((resolve) => {
              setTimeout(() => {
                document.getElementById("call-echo").click();
                resolve(Date.now());
              }, when - Date.now());
            }),
          at,
        ),
      ),
    );
    const answers = await Promise.all(echoes);
    t.diagnostic(`clicks spread over ${Math.max(...clickedAt) - Math.min(...clickedAt)} ms`);

    const bearers = [];
    for (const [index, answer] of answers.entries()) {
      assert.equal(answer.status(), 200, `tab ${index}: echo answered ${answer.status()}`);
      bearers.push(bearerOf(await answer.request().allHeaders()));
    }
    const rotations = await network.refreshesSince(mark);
    t.diagnostic(`POST /auth/refresh during the burst: ${rotations.length}`);
    assert.equal(rotations.length, 1, `statuses: ${rotations.map((r) => r.status)}`);
    assert.equal(new Set(bearers).size, 1, "the tabs did not all use the one new token");
    assert.notEqual(bearers[0], oldToken);

    for (const [index, tab] of tabs.entries()) {
      assert.equal(await tab.getAttribute("#state", "data-state"), "logged-in", `tab ${index}`);
      const echo = await shownEcho(tab);
      assert.equal(echo.identity_headers["x-auth-email"], email, `tab ${index}`);
      const me = await tab.evaluate(async () => {
        const response = await globalThis.e2eProbe.authFetch("/auth/me");
        return { status: response.status, body: await response.json() };
      });
      assert.equal(me.status, 200, `tab ${index}: ${JSON.stringify(me.body)}`);
      assert.equal(me.body.email, email, `tab ${index}`);
      assert.deepEqual(tab.errors, [], `tab ${index}`);
    }
    // The checks above were served by the token the burst shared, not by more refreshes.
    assert.equal((await network.refreshesSince(mark)).length, 1);

    assert.deepEqual(await gateway.events("refresh_token_reused", { user: email }), []);
    assert.deepEqual(await gateway.events("refresh_token_reused"), []);
    // The filter works (the empty answer above means something): the login is there.
    assert.equal((await gateway.events("login_succeeded", { user: email })).length, 1);
    const sessions = await gateway.admin("GET", `/admin/users/${email}/sessions`);
    assert.equal(sessions.status, 200);
    // One login, one family, still alive: no tab's refresh was taken for a stolen cookie.
    assert.deepEqual(
      sessions.body.map((session) => session.live),
      [true],
      JSON.stringify(sessions.body),
    );
    await context.close();
  });
}
