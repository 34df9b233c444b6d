/**
 * The arguments for `fetch` carrying `Authorization: Bearer <token>`. The caller's other headers
 * are kept: those of a Request input first, then those of `init.headers` over them (as `fetch`
 * itself would apply them). An `Authorization` the caller gave is replaced.
 */
export declare function withBearer(input: RequestInfo | URL, init: RequestInit | undefined, token: string): [RequestInfo | URL, RequestInit];
/**
 * Whether the request can be replayed: its body is absent or one `fetch` can send twice (string,
 * Blob, FormData, URLSearchParams, ArrayBuffer or a view of one). A ReadableStream can be read
 * only once, and so can the body of a Request object, unless `init.body` replaces it.
 */
export declare function isReplayable(input: RequestInfo | URL, init: RequestInit | undefined): boolean;
export declare function isReplayableBody(body: BodyInit | null): boolean;
/** Releases a response we are not going to hand back (its body is never read). */
export declare function discard(response: Response): void;
