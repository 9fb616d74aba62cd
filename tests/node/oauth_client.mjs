// Driven by tests/test_node_oauth.py: openid-client discovers our issuer, runs an RFC 8693 token
// exchange and introspects the result; jose verifies the session JWT with the keys at the
// discovered jwks_uri. Environment: TA_ISSUER, TA_PROJECT_ID, TA_SECRET, TA_SUBJECT_TOKEN; the
// test CA comes through NODE_EXTRA_CA_CERTS (certificate verification stays on). Prints one
// JSON document.
import * as client from "openid-client";
import * as jose from "jose";

const projectId = process.env.TA_PROJECT_ID;
const config = await client.discovery(
  new URL(process.env.TA_ISSUER),
  projectId,
  undefined,
  client.ClientSecretBasic(process.env.TA_SECRET),
);
const metadata = config.serverMetadata();
const tokens = await client.genericGrantRequest(
  config,
  "urn:ietf:params:oauth:grant-type:token-exchange",
  {
    subject_token: process.env.TA_SUBJECT_TOKEN,
    subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
  },
);
const introspection = await client.tokenIntrospection(config, tokens.access_token);
const keys = jose.createRemoteJWKSet(new URL(metadata.jwks_uri));
const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, keys, {
  issuer: metadata.issuer,
  audience: projectId,
  algorithms: ["RS256"],
});
await client.tokenRevocation(config, tokens.refresh_token);
const afterRevocation = await client.tokenIntrospection(config, tokens.refresh_token);
process.stdout.write(
  JSON.stringify({
    issuer: metadata.issuer,
    token: {
      token_type: tokens.token_type,
      issued_token_type: tokens.issued_token_type,
      expires_in: tokens.expires_in,
      has_refresh_token: Boolean(tokens.refresh_token),
    },
    introspection,
    verified: { sub: payload.sub, kid: protectedHeader.kid, session: payload["https://stytch.com/session"].id },
    after_revocation: afterRevocation,
  }),
);
