// A real OAuth 2.1 authorization server for the tests: oidc-provider on loopback.
//
//   node authorization-server.mjs --port N [--kid ID] [--clock-offset SECONDS]
//
// Clients use the client-credentials grant with a resource indicator (RFC 8707); the token's audience
// is the resource asked for. Clients:
//   writer / writer-secret        may ask for mix:read and mix:write; JWT access tokens
//   reader / reader-secret        may ask for mix:read only; JWT access tokens
//   opaque / opaque-secret        mix:read and mix:write; opaque tokens (checked by introspection)
//   mix-mcp / mix-mcp-secret      the resource server itself, for introspection
// Each start makes a new RSA signing key named --kid (restart with another kid to rotate keys);
// --clock-offset moves the server's clock, so that a negative one issues tokens that have already expired.
// Prints "authorization server listening on <issuer>" on stderr once it accepts requests.
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    kid: { type: 'string', default: 'key-1' },
    'clock-offset': { type: 'string', default: '0' },
  },
});
const offsetMs = Number(values['clock-offset']) * 1000;
if (offsetMs !== 0) {
  const realNow = Date.now;
  Date.now = () => realNow() + offsetMs;
}
// Imported after the clock is set, so every timestamp the provider makes uses it.
const { default: Provider } = await import('oidc-provider');

const issuer = `http://127.0.0.1:${values.port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: values.kid, use: 'sig', alg: 'RS256' };

const client = (id, scope) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  ...(scope ? { scope } : {}),
});

const provider = new Provider(issuer, {
  clients: [
    client('writer', 'mix:read mix:write'),
    client('reader', 'mix:read'),
    client('opaque', 'mix:read mix:write'),
    client('mix-mcp', ''),
  ],
  jwks: { keys: [jwk] },
  scopes: ['mix:read', 'mix:write'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator, theClient) => ({
        scope: theClient.scope ?? '',
        audience: resourceIndicator,
        accessTokenTTL: 600,
        accessTokenFormat: theClient.clientId === 'opaque' ? 'opaque' : 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  extraTokenClaims: (_ctx, token) => ({ client_id: token.clientId }),
});

const server = provider.listen(Number(values.port), '127.0.0.1', () => {
  process.stderr.write(`authorization server listening on ${issuer}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
