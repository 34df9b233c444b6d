// cross-origin.test.js — another origin's page trying to use the logged-in user's refresh
// cookie to mint itself an access token. Two neighbours: another port of 127.0.0.1 (same site,
// so SameSite=Strict still lets the cookie travel and only the gateway's CSRF, Origin and CORS
// rules stand in the way) and localhost (another site, where the cookie stays home too). The
// neighbour pages come from a tiny Node server; the gateway allows no origins.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { isDeepStrictEqual } from "node:util";
import { after, before, test } from "node:test";
import {
  REFRESH_COOKIE,
  callEcho,
  logInThroughForm,
  newContext,
  openDemo,
  refreshCookie,
  reloadAndRestore,
  waitForAccount,
} from "./support/browser.js";
import { gatewayAndBrowser } from "./support/suite.js";
import { eventually } from "./support/wait.js";

const suite = gatewayAndBrowser();
let neighbour;
let neighbourPort;

before(async () => {
  neighbour = createServer((request, response) => {
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end("<!doctype html><title>neighbour</title><p>not the gateway</p>");
  });
  // Unspecified address: `localhost` may resolve to ::1 or 127.0.0.1 in Chromium.
  await new Promise((resolve) => neighbour.listen(0, resolve));
  neighbourPort = neighbour.address().port;
});

after(() => {
  neighbour?.close();
});

/**
 * The ways a page can try: the request the client library sends, the same without the CSRF
 * header (a "simple" request, sent without a preflight), and a no-cors one (whose answer the
 * page cannot read, but whose Set-Cookie the browser would still apply).
 */
const ATTEMPTS = {
  "with X-CSRF": { method: "POST", credentials: "include", headers: { "X-CSRF": "1" } },
  "without X-CSRF": { method: "POST", credentials: "include" },
  "no-cors": { method: "POST", credentials: "include", mode: "no-cors" },
};

for (const { host, label, cookieTravels } of [
  { host: "127.0.0.1", label: "another port of the same host", cookieTravels: true },
  { host: "localhost", label: "another site", cookieTravels: false },
]) {
  test(`a page on ${label} gets no token with the user's cookie and the session keeps working`, async (t) => {
    const { gateway, browser } = suite;
    const email = await gateway.register();
    const { context, network } = await newContext(browser);
    const demo = await openDemo(context, gateway);
    await logInThroughForm(demo, email);
    const cookieBefore = await refreshCookie(context);

    const page = await context.newPage();
    const wire = await recordWire(context, page, `${gateway.origin}/auth/refresh`);
    await page.goto(`http://${host}:${neighbourPort}/`);
    const results = await page.evaluate(
      async ({ url, attempts }) => {
        const out = {};
        for (const [name, init] of Object.entries(attempts)) {
          try {
            const response = await fetch(url, init);
            const body = await response.text();
            out[name] = { type: response.type, status: response.status, body };
          } catch (error) {
            out[name] = { rejected: `${error.name}: ${error.message}` };
          }
        }
        return out;
      },
      { url: `${gateway.origin}/auth/refresh`, attempts: ATTEMPTS },
    );
    t.diagnostic(`page saw ${JSON.stringify(results)}`);

    // CORS grants no origin: the page can read no answer at all.
    assert.match(results["with X-CSRF"].rejected ?? "", /TypeError/, JSON.stringify(results));
    assert.match(results["without X-CSRF"].rejected ?? "", /TypeError/, JSON.stringify(results));
    assert.deepEqual(results["no-cors"], { type: "opaque", status: 0, body: "" });
    assert.ok(!JSON.stringify(results).includes("access_token"));

    // What went over the wire (Chromium's own account, through the DevTools protocol): the
    // preflight got no CORS grant, so the request with X-CSRF never left the browser; the two
    // simple requests did, with the cookie when same-site, and the gateway refused them
    // (no X-CSRF, foreign Origin) instead of rotating the cookie.
    const expected = {
      preflights: [{ allowOrigin: null }],
      posts: [
        { cookie: null, status: null, corsError: "PreflightMissingAllowOriginHeader" },
        { cookie: cookieTravels, status: 403, corsError: "MissingAllowOriginHeader" },
        { cookie: cookieTravels, status: 403, corsError: null },
      ],
    };
    await eventually(() => isDeepStrictEqual(wire.summary(), expected), {
      what: () =>
        `the wire to show ${JSON.stringify(expected)}, not ${JSON.stringify(wire.summary())}`,
    });
    const cookieAfter = await refreshCookie(context);
    assert.equal(cookieAfter?.value, cookieBefore.value, "the refresh cookie was rotated or lost");

    // The real origin still has its session, by cookie (a reload) and by token (an API call).
    const reloadMark = network.mark();
    assert.equal((await reloadAndRestore(demo)).status(), 200);
    await waitForAccount(demo, email);
    assert.equal((await network.refreshesSince(reloadMark)).length, 1);
    assert.equal((await callEcho(demo)).response.status(), 200);
    assert.deepEqual(await gateway.events("refresh_token_reused", { user: email }), []);
    assert.deepEqual(demo.errors, []);
    await context.close();
  });
}

/**
 * Records, through a DevTools session on `page`, every request to `url`: for CORS preflights,
 * the origin they were granted (if any); for POSTs, whether the refresh cookie went along
 * (null: the request was never sent), the status the gateway answered and the CORS error
 * Chromium reported (undefined until the request is over, null if none).
 * Playwright's own request events cannot tell these apart for requests CORS blocked.
 */
async function recordWire(context, page, url) {
  const cdp = await context.newCDPSession(page);
  const byId = new Map();
  const order = [];
  const record = (id) => {
    if (!byId.has(id)) byId.set(id, { id });
    return byId.get(id);
  };
  cdp.on("Network.requestWillBeSent", ({ requestId, request }) => {
    if (request.url !== url) return;
    const entry = record(requestId);
    entry.method = request.method;
    order.push(entry);
  });
  cdp.on("Network.requestWillBeSentExtraInfo", ({ requestId, associatedCookies }) => {
    const refresh = associatedCookies.find((c) => c.cookie.name === REFRESH_COOKIE);
    record(requestId).cookie = refresh !== undefined && refresh.blockedReasons.length === 0;
  });
  cdp.on("Network.responseReceivedExtraInfo", ({ requestId, statusCode, headers }) => {
    const entry = record(requestId);
    entry.status = statusCode;
    const allow = Object.entries(headers).find(
      ([name]) => name.toLowerCase() === "access-control-allow-origin",
    );
    entry.allowOrigin = allow?.[1] ?? null;
  });
  cdp.on("Network.loadingFailed", ({ requestId, corsErrorStatus }) => {
    record(requestId).corsError = corsErrorStatus?.corsError ?? null;
  });
  cdp.on("Network.loadingFinished", ({ requestId }) => {
    record(requestId).corsError ??= null;
  });
  await cdp.send("Network.enable");
  return {
    summary: () => ({
      preflights: order
        .filter((entry) => entry.method === "OPTIONS")
        .map((entry) => ({ allowOrigin: entry.allowOrigin })),
      posts: order
        .filter((entry) => entry.method === "POST")
        .map((entry) => ({
          cookie: entry.cookie ?? null,
          status: entry.status ?? null,
          corsError: entry.corsError,
        })),
    }),
  };
}
