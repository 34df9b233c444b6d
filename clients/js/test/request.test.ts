import { describe, expect, it } from "vitest";
import { isReplayable, withBearer } from "../src/request.js";
import { SingleFlight } from "../src/singleFlight.js";

const URL_ = "http://api.test/things";

function headersOf(args: [RequestInfo | URL, RequestInit]): Record<string, string> {
  return Object.fromEntries(new Headers(args[1].headers).entries());
}

describe("header merging", () => {
  it("keeps an object's headers and adds Authorization", () => {
    const args = withBearer(
      URL_,
      { headers: { Accept: "application/json", "X-Trace": "1" } },
      "tok",
    );
    expect(headersOf(args)).toEqual({
      accept: "application/json",
      "x-trace": "1",
      authorization: "Bearer tok",
    });
    expect(args[0]).toBe(URL_);
  });

  it("accepts the array form, including repeated names", () => {
    const args = withBearer(
      URL_,
      {
        headers: [
          ["X-A", "1"],
          ["X-A", "2"],
          ["X-B", "3"],
        ],
      },
      "tok",
    );
    expect(headersOf(args)).toEqual({ "x-a": "1, 2", "x-b": "3", authorization: "Bearer tok" });
  });

  it("accepts a Headers object and does not mutate it", () => {
    const given = new Headers({ "Content-Type": "text/plain" });
    const args = withBearer(URL_, { headers: given, method: "PUT", body: "x" }, "tok");
    expect(headersOf(args)).toEqual({ "content-type": "text/plain", authorization: "Bearer tok" });
    expect(given.has("authorization")).toBe(false);
    expect(args[1].method).toBe("PUT");
    expect(args[1].body).toBe("x");
  });

  it("keeps a Request's own headers, with init headers over them", () => {
    const request = new Request(URL_, { headers: { "X-From-Request": "r", "X-Both": "request" } });
    const args = withBearer(request, { headers: { "X-Both": "init" } }, "tok");
    expect(headersOf(args)).toEqual({
      "x-from-request": "r",
      "x-both": "init",
      authorization: "Bearer tok",
    });
    expect(args[0]).toBe(request);
  });

  it("replaces an Authorization the caller gave", () => {
    const args = withBearer(URL_, { headers: { authorization: "Basic Zm9v" } }, "tok");
    expect(headersOf(args).authorization).toBe("Bearer tok");
  });

  it("works without init", () => {
    expect(headersOf(withBearer(new URL(URL_), undefined, "tok"))).toEqual({
      authorization: "Bearer tok",
    });
  });
});

describe("replayable bodies", () => {
  it("accepts bodies fetch can send twice", () => {
    const replayable: Array<BodyInit | null | undefined> = [
      undefined,
      null,
      "text",
      new Blob(["x"]),
      new FormData(),
      new URLSearchParams("a=1"),
      new ArrayBuffer(4),
      new Uint8Array(4),
    ];
    for (const body of replayable) {
      expect(isReplayable(URL_, body === undefined ? {} : { method: "POST", body })).toBe(true);
    }
    expect(isReplayable(URL_, undefined)).toBe(true);
  });

  it("refuses streams and the body of a Request object", () => {
    const stream = new ReadableStream({ start: (c) => c.close() });
    expect(isReplayable(URL_, { method: "POST", body: stream })).toBe(false);
    const withBody = new Request(URL_, { method: "POST", body: "x" });
    expect(isReplayable(withBody, undefined)).toBe(false);
    expect(isReplayable(withBody, { body: "replacement" })).toBe(true);
    expect(isReplayable(new Request(URL_), undefined)).toBe(true);
  });
});

describe("SingleFlight", () => {
  it("shares one promise between concurrent callers and starts anew afterwards", async () => {
    const flight = new SingleFlight<number>();
    let runs = 0;
    let release!: (n: number) => void;
    const task = () => {
      runs += 1;
      return new Promise<number>((resolve) => (release = resolve));
    };
    const callers = Array.from({ length: 5 }, () => flight.run(task));
    expect(flight.current).not.toBeNull();
    await Promise.resolve();
    release(42);
    expect(await Promise.all(callers)).toEqual([42, 42, 42, 42, 42]);
    expect(runs).toBe(1);
    expect(flight.current).toBeNull();
    const again = flight.run(async () => {
      runs += 1;
      return 7;
    });
    expect(await again).toBe(7);
    expect(runs).toBe(2);
  });

  it("shares failures too, and forgets them", async () => {
    const flight = new SingleFlight<number>();
    const boom = () => Promise.reject(new Error("boom"));
    await expect(Promise.all([flight.run(boom), flight.run(boom)])).rejects.toThrow("boom");
    expect(flight.current).toBeNull();
  });
});
