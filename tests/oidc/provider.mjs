// A real OpenID Provider for the sign-in tests: panva's oidc-provider (certified by the OpenID
// Foundation), on 127.0.0.1 at the port given as the first argument.
//
//   node provider.mjs PORT
//
// Accounts: the development login form takes any login and password. The login is the account's
// e-mail address, which the provider says is verified; "unverified:ada@example.org" signs in
// ada@example.org with email_verified false. The subject is the login.
//
// Clients (secret: "secret-" + the client id; any redirect URI of the form
// http://HOST[:PORT]/signin/oidc/NAME/callback on testserver or 127.0.0.1):
//   wmi              an honest client
//   wmi-tampered     the ID token's payload is changed after signing (the signature no longer fits)
//   wmi-untrusted    the ID token is signed with a key the provider never published (same kid)
//   wmi-wrong-aud    the ID token is re-signed with the provider's own key for another audience
//   wmi-wrong-nonce  the ID token is re-signed with the provider's own key and another nonce
//   wmi-wrong-iss    the ID token is re-signed with the provider's own key, naming another issuer
//   wmi-expired      the ID token is re-signed with the provider's own key, expired half an hour ago
// Consent is taken as given for every client, so a sign-in is one form.
import { createServer } from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const KID = 'test-key-1';

async function signingKey() {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  return privateKey;
}

const providerKey = await signingKey();
const strangerKey = await signingKey(); // never published in the JWKS
const jwk = { ...(await jose.exportJWK(providerKey)), kid: KID, alg: 'RS256', use: 'sig' };

const CLIENTS = [
  'wmi', 'wmi-tampered', 'wmi-untrusted', 'wmi-wrong-aud', 'wmi-wrong-nonce', 'wmi-wrong-iss',
  'wmi-expired',
];
const REDIRECT = /^http:\/\/(testserver|127\.0\.0\.1:\d+)\/signin\/oidc\/[a-z0-9-]+\/callback$/;

function account(login) {
  const unverified = login.startsWith('unverified:');
  const email = unverified ? login.slice('unverified:'.length) : login;
  const local = email.split('@')[0];
  return {
    sub: login,
    email,
    email_verified: !unverified,
    name: local.charAt(0).toUpperCase() + local.slice(1) + ' Tester',
  };
}

const provider = new Provider(issuer, {
  clients: CLIENTS.map((id) => ({
    client_id: id,
    client_secret: `secret-${id}`,
    redirect_uris: [`http://testserver/signin/oidc/${id}/callback`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [jwk] },
  cookies: { keys: ['a test provider cookie key, not a secret'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return { accountId: id, claims: async () => account(id) };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

// Redirect URIs: the test server's name or any loopback port (the browser tests' servers).
provider.Client.prototype.redirectUriAllowed = (value) => REDIRECT.test(value);

async function misbehave(clientId, idToken) {
  const [header, payload, signature] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  const resign = (key, changes) =>
    new jose.SignJWT({ ...claims, ...changes })
      .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' })
      .sign(key);
  switch (clientId) {
    case 'wmi-tampered': {
      const forged = { ...claims, sub: 'sub-someone-else' };
      return `${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`;
    }
    case 'wmi-untrusted':
      return resign(strangerKey, {});
    case 'wmi-wrong-aud':
      return resign(providerKey, { aud: 'another-relying-party' });
    case 'wmi-wrong-nonce':
      return resign(providerKey, { nonce: 'a-nonce-this-client-never-sent' });
    case 'wmi-wrong-iss':
      return resign(providerKey, { iss: 'https://another-provider.example' });
    case 'wmi-expired': {
      const now = Math.floor(Date.now() / 1000);
      return resign(providerKey, { iat: now - 3600, exp: now - 1800 });
    }
    default:
      return idToken;
  }
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.body && ctx.body.id_token) {
    const claims = jose.decodeJwt(ctx.body.id_token);
    ctx.body = { ...ctx.body, id_token: await misbehave(claims.aud, ctx.body.id_token) };
  }
});

const server = createServer(provider.callback());
server.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
