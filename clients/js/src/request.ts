// request.ts — owns how authFetch builds its requests: merging the caller's headers (object,
// array, Headers, or those of a Request) with `Authorization: Bearer`, and deciding whether a
// request can be sent a second time after a 401.

/**
 * The arguments for `fetch` carrying `Authorization: Bearer <token>`. The caller's other headers
 * are kept: those of a Request input first, then those of `init.headers` over them (as `fetch`
 * itself would apply them). An `Authorization` the caller gave is replaced.
 */
export function withBearer(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  token: string,
): [RequestInfo | URL, RequestInit] {
  const headers = new Headers(isRequest(input) ? input.headers : undefined);
  if (init?.headers !== undefined) {
    new Headers(init.headers).forEach((value, name) => headers.set(name, value));
  }
  headers.set("Authorization", `Bearer ${token}`);
  return [input, { ...init, headers }];
}

/**
 * Whether the request can be replayed: its body is absent or one `fetch` can send twice (string,
 * Blob, FormData, URLSearchParams, ArrayBuffer or a view of one). A ReadableStream can be read
 * only once, and so can the body of a Request object, unless `init.body` replaces it.
 */
export function isReplayable(input: RequestInfo | URL, init: RequestInit | undefined): boolean {
  if (init !== undefined && init.body !== undefined) return isReplayableBody(init.body);
  if (isRequest(input)) return input.body === null;
  return true;
}

export function isReplayableBody(body: BodyInit | null): boolean {
  if (body === null || typeof body === "string") return true;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (typeof Blob !== "undefined" && body instanceof Blob) return true;
  if (typeof FormData !== "undefined" && body instanceof FormData) return true;
  if (typeof URLSearchParams !== "undefined" && body instanceof URLSearchParams) return true;
  return false;
}

function isRequest(input: RequestInfo | URL): input is Request {
  return typeof Request !== "undefined" && input instanceof Request;
}

/** Releases a response we are not going to hand back (its body is never read). */
export function discard(response: Response): void {
  response.body?.cancel().catch(() => {});
}
