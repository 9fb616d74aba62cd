// Driven by tests/test_node_sdk.py: the Node SDK's authorization checks against trusted_auth,
// server side (sessions.authenticate) and local (sessions.authenticateJwtLocal, with the policy
// it fetches from us). Environment: TA_BASE_URL, TA_PROJECT_ID, TA_SECRET, TA_CASES (JSON list
// of {name, b2b, local, session_token, session_jwt, check}). Prints {name: outcome}.
const stytch = require("stytch");

async function outcome(call) {
  try {
    await call();
    return "allowed";
  } catch (error) {
    // A StytchError from our API carries error_type; a local check throws a ClientError.
    return error.error_type || error.code || String(error);
  }
}

async function main() {
  const options = {
    project_id: process.env.TA_PROJECT_ID,
    secret: process.env.TA_SECRET,
    custom_base_url: process.env.TA_BASE_URL,
  };
  const clients = { consumer: new stytch.Client(options), b2b: new stytch.B2BClient(options) };
  const results = {};
  for (const c of JSON.parse(process.env.TA_CASES)) {
    const sessions = clients[c.b2b ? "b2b" : "consumer"].sessions;
    results[c.name] = await outcome(() =>
      c.local
        ? sessions.authenticateJwtLocal({ session_jwt: c.session_jwt, authorization_check: c.check })
        : sessions.authenticate({ session_token: c.session_token, authorization_check: c.check }),
    );
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
