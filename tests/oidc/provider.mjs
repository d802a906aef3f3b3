// SPDX-License-Identifier: LGPL-2.1-or-later
// A real OpenID Provider (the npm package oidc-provider, OpenID Certified) for hemgate's
// OpenID Connect tests, configured by the test:
//
//   node provider.mjs CONFIG.json
//
// CONFIG.json: {"port", "client_id", "client_secret", "redirect_uri", "backchannel_logout_uri",
// "post_logout_redirect_uri", "jwk" (the private signing key, a JWK with "kid"), "id_token_ttl"
// (seconds, 600 by default; each login also gets a refresh token),
// "users": {"<login>": {"name", "groups": [...]}}}. The issuer is http://127.0.0.1:<port>.
// Prints "READY <issuer>" on stdout once it listens. The login form is oidc-provider's own
// (devInteractions: any password); consent is pre-agreed for the one client. The device
// authorization grant (RFC 8628) is on, with its own pages at /device.
//
// What a test changes while it runs, on /admin/ (plain JSON, loopback only):
//   POST /admin/users/<login>          {"name", "groups", "disabled"}: replace a user
//   POST /admin/users/<login>/logout   back-channel logout of each of the user's sessions
//                                      at every client (answers once they were delivered)
//   POST /admin/next-id-token          {"id_token"}: the next token response carries this
//                                      ID token instead of the real one (bad-input cases)
//   POST /admin/jwks                   {"mode": "ok" | "down" | "slow" | "garbage"}
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

// stdout carries only the READY line, which the test reads before it closes the pipe;
// what oidc-provider says (its development warnings) goes to stderr
console.log = console.error;
console.info = console.error;

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const users = new Map(Object.entries(config.users ?? {}));
const sessionsOf = new Map(); // login -> Set of sid
let nextIdToken = null;
let jwksMode = 'ok';

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.client_id,
    client_secret: config.client_secret,
    redirect_uris: [config.redirect_uri],
    post_logout_redirect_uris: config.post_logout_redirect_uri ? [config.post_logout_redirect_uri] : [],
    backchannel_logout_uri: config.backchannel_logout_uri,
    backchannel_logout_session_required: true,
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: config.jwk.alg ?? 'RS256',
  }],
  jwks: { keys: [config.jwk] },
  cookies: { keys: ['hemgate-test-oidc-provider-cookie-key'] },
  pkce: { required: () => true, methods: ['S256'] },
  features: {
    devInteractions: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    deviceFlow: { enabled: true },
  },
  claims: { openid: ['sub'], profile: ['name'], groups: ['groups'] },
  conformIdTokenClaims: false,
  ttl: {
    IdToken: config.id_token_ttl ?? 600,
    AccessToken: config.id_token_ttl ?? 600,
    RefreshToken: 3600,
    Session: 3600,
    Interaction: 600,
    Grant: 3600,
  },
  // a refresh token for every login of the client (without asking for offline_access)
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  async findAccount(ctx, id) {
    const user = users.get(id);
    if (!user || user.disabled) return undefined;
    return {
      accountId: id,
      async claims() {
        const now = users.get(id) ?? {};
        return { sub: id, name: now.name ?? id, groups: now.groups ?? [] };
      },
    };
  },
  // the one client is first-party: its scopes are agreed without a consent page
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile groups offline_access');
    grant.addOIDCClaims(['sub', 'name', 'groups']);
    await grant.save();
    return grant;
  },
});

provider.on('authorization.success', (ctx) => {
  const { session, client } = ctx.oidc;
  if (!session?.accountId || !client) return;
  if (!sessionsOf.has(session.accountId)) sessionsOf.set(session.accountId, new Set());
  sessionsOf.get(session.accountId).add(session.sidFor(client.clientId));
});
provider.on('server_error', (ctx, err) => console.error('provider: server error:', err));
provider.on('backchannel.error', (ctx, err) => console.error('provider: back-channel:', err));

async function readJson(ctx) {
  let text = '';
  for await (const chunk of ctx.req) text += chunk;
  return text ? JSON.parse(text) : {};
}

async function admin(ctx) {
  const parts = ctx.path.split('/').filter(Boolean).map(decodeURIComponent); // admin, ...
  const body = await readJson(ctx);
  if (parts[1] === 'users' && parts.length === 3) {
    users.set(parts[2], body);
    ctx.body = { ok: true };
  } else if (parts[1] === 'users' && parts[3] === 'logout') {
    const client = await provider.Client.find(config.client_id);
    const sids = [...(sessionsOf.get(parts[2]) ?? [])];
    await Promise.all(sids.map((sid) => client.backchannelLogout(parts[2], sid)));
    sessionsOf.delete(parts[2]);
    ctx.body = { ok: true, sessions: sids.length };
  } else if (parts[1] === 'next-id-token') {
    nextIdToken = body.id_token;
    ctx.body = { ok: true };
  } else if (parts[1] === 'jwks') {
    jwksMode = body.mode;
    ctx.body = { ok: true };
  } else {
    ctx.status = 404;
    ctx.body = { error: 'no such admin call' };
  }
}

provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/admin/') && ctx.method === 'POST') {
    await admin(ctx);
    return;
  }
  if (ctx.path === '/jwks' && jwksMode !== 'ok') {
    if (jwksMode === 'down') {
      ctx.status = 503;
      ctx.body = 'down';
      return;
    }
    if (jwksMode === 'garbage') {
      ctx.type = 'application/json';
      ctx.body = '{"keys": [ {"kty": "RSA", "n": 12}, garbage';
      return;
    }
    if (jwksMode === 'slow') await new Promise((resolve) => { setTimeout(resolve, 5000); });
  }
  await next();
  if (ctx.path === '/token' && nextIdToken !== null && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: nextIdToken };
    nextIdToken = null;
  }
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`READY ${issuer}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
