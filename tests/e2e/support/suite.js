// support/suite.js — the setup every test file shares: one gateway and one browser for the
// file, started before its tests and stopped after them (each test still takes its own user
// and browser context).

import { after, before } from "node:test";
import { launchBrowser } from "./browser.js";
import { startGateway } from "./gateway.js";

/**
 * Registers the file's before/after hooks. The returned object's `gateway` and `browser` are
 * set once the `before` hook has run, so tests read them from it.
 */
export function gatewayAndBrowser(gatewayOptions) {
  const suite = { gateway: undefined, browser: undefined };
  before(async () => {
    suite.gateway = await startGateway(gatewayOptions);
    suite.browser = await launchBrowser();
  });
  after(async () => {
    await suite.browser?.close();
    await suite.gateway?.stop();
  });
  return suite;
}
