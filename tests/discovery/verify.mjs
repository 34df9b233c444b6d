// Verifies one access token knowing only the issuer URL, as a Node resource server would:
// `node verify.mjs ISSUER AUDIENCE TOKEN`. Prints the verified claims as JSON on success;
// exits non-zero with the library's error otherwise.
import * as client from "openid-client";
import * as jose from "jose";

const [issuer, audience, token] = process.argv.slice(2);
if (!issuer || !audience || !token) {
  console.error("usage: node verify.mjs ISSUER AUDIENCE TOKEN");
  process.exit(2);
}

// Discovery over plain http is refused by default; the tests serve the gateway on loopback.
const execute = issuer.startsWith("http:") ? [client.allowInsecureRequests] : [];
const configuration = await client.discovery(new URL(issuer), "resource-server", undefined, undefined, {
  execute,
});
const metadata = configuration.serverMetadata();
const keys = jose.createRemoteJWKSet(new URL(metadata.jwks_uri));
const { payload, protectedHeader } = await jose.jwtVerify(token, keys, {
  issuer: metadata.issuer,
  audience,
  algorithms: metadata.id_token_signing_alg_values_supported,
});
console.log(JSON.stringify({ header: protectedHeader, claims: payload }));
