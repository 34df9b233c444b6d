// support/wait.js — owns waiting on the Node side: polling a condition until it holds (the
// `expect.poll` of this suite), so no test sleeps in place of a condition it could check.

/**
 * Resolves once `check()` resolves truthy, checking every `intervalMs`; rejects after
 * `timeoutMs`, saying `what` it waited for (a string, or a function called then, so the message
 * can show the state at the deadline) and the last error `check` threw, if any.
 */
export async function eventually(
  check,
  { timeoutMs = 5_000, intervalMs = 50, what = "a condition" } = {},
) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? "" : ` (last error: ${lastError.message})`;
      const described = typeof what === "function" ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${described}${cause}`);
    }
    await sleep(intervalMs);
  }
}

/** Waits `ms` of wall-clock time: only for letting time itself pass (a token's lifetime). */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
