// Driven by tests/test_node_sdk.py: the official Node SDK against a trusted_auth server.
// Environment: TA_BASE_URL, TA_PROJECT_ID, TA_SECRET, TA_EMAIL; the test CA comes through
// NODE_EXTRA_CA_CERTS (certificate verification stays on). Prints one JSON document.
const stytch = require("stytch");

async function main() {
  const client = new stytch.Client({
    project_id: process.env.TA_PROJECT_ID,
    secret: process.env.TA_SECRET,
    custom_base_url: process.env.TA_BASE_URL,
  });
  const jwks = await client.sessions.getJWKS({ project_id: process.env.TA_PROJECT_ID });
  const created = await client.users.create({
    email: process.env.TA_EMAIL,
    name: { first_name: "Node" },
    external_id: "node-user",
    trusted_metadata: { via: "node" },
  });
  let duplicate = null;
  try {
    await client.users.create({ email: process.env.TA_EMAIL });
  } catch (error) {
    duplicate = { status_code: error.status_code, error_type: error.error_type };
  }
  process.stdout.write(
    JSON.stringify({
      jwks: { status_code: jwks.status_code, keys: jwks.keys },
      created: {
        status_code: created.status_code,
        user_id: created.user_id,
        email_id: created.email_id,
        status: created.status,
        user: created.user,
      },
      duplicate,
    }),
  );
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
