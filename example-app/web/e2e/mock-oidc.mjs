// A small OpenID Connect provider for the end-to-end tests, as Keycloak
// answers a public client: discovery, JWKS, an authorization endpoint that
// signs `user` in at once (no login form), and a token endpoint that
// checks the PKCE verifier and issues RS256 tokens with realm roles.

import { createHash, createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const b64url = (data) => Buffer.from(data).toString('base64url');

export class MockOidc {
  /** `user` signs in with `roles` (Keycloak's `realm_access.roles`). */
  constructor({ clientId, user, roles }) {
    this.clientId = clientId;
    this.user = user;
    this.roles = roles;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    this.jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'mock-1', alg: 'RS256', use: 'sig' };
    this.codes = new Map();
    /** What was asked of the provider, in order: `authorize`, `token`, `logout`. */
    this.asked = [];
  }

  async start() {
    this.server = createServer((request, response) => this.handle(request, response));
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.issuer = `http://127.0.0.1:${this.server.address().port}/realms/test`;
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** A signed JWT of `claims`. */
  sign(claims) {
    const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: this.jwk.kid }));
    const body = b64url(JSON.stringify(claims));
    const signature = createSign('RSA-SHA256').update(`${head}.${body}`).sign(this.privateKey);
    return `${head}.${body}.${b64url(signature)}`;
  }

  /** An access token for this provider's user, as the app's API sees one. */
  accessToken() {
    const now = Math.floor(Date.now() / 1000);
    return this.sign({
      iss: this.issuer,
      aud: [this.clientId, 'account'],
      azp: this.clientId,
      sub: `id-${this.user}`,
      preferred_username: this.user,
      realm_access: { roles: this.roles },
      scope: 'openid profile',
      iat: now,
      exp: now + 300,
    });
  }

  tokens(nonce) {
    const now = Math.floor(Date.now() / 1000);
    const idToken = this.sign({
      iss: this.issuer,
      aud: this.clientId,
      azp: this.clientId,
      sub: `id-${this.user}`,
      preferred_username: this.user,
      nonce,
      iat: now,
      exp: now + 300,
    });
    return {
      access_token: this.accessToken(),
      id_token: idToken,
      refresh_token: randomUUID(),
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'openid profile',
    };
  }

  async handle(request, response) {
    const url = new URL(request.url, this.issuer);
    const path = url.pathname.replace('/realms/test', '');
    const send = (status, body, headers = {}) => {
      response.writeHead(status, {
        'access-control-allow-origin': '*',
        'access-control-allow-headers': '*',
        'content-type': 'application/json',
        ...headers,
      });
      response.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (request.method === 'OPTIONS') {
      send(204);
      return;
    }
    if (path === '/.well-known/openid-configuration') {
      send(200, {
        issuer: this.issuer,
        authorization_endpoint: `${this.issuer}/protocol/openid-connect/auth`,
        token_endpoint: `${this.issuer}/protocol/openid-connect/token`,
        jwks_uri: `${this.issuer}/protocol/openid-connect/certs`,
        end_session_endpoint: `${this.issuer}/protocol/openid-connect/logout`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    } else if (path === '/protocol/openid-connect/certs') {
      send(200, { keys: [this.jwk] });
    } else if (path === '/protocol/openid-connect/auth') {
      this.asked.push('authorize');
      const params = url.searchParams;
      if (params.get('client_id') !== this.clientId || params.get('code_challenge_method') !== 'S256') {
        send(400, { error: 'invalid_request' });
        return;
      }
      const code = randomUUID();
      this.codes.set(code, {
        challenge: params.get('code_challenge'),
        nonce: params.get('nonce'),
        redirect: params.get('redirect_uri'),
      });
      const back = new URL(params.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', params.get('state'));
      back.searchParams.set('session_state', randomUUID());
      send(302, undefined, { location: back.toString() });
    } else if (path === '/protocol/openid-connect/token' && request.method === 'POST') {
      this.asked.push('token');
      let text = '';
      for await (const chunk of request) {
        text += chunk;
      }
      const form = new URLSearchParams(text);
      if (form.get('grant_type') === 'refresh_token') {
        send(200, this.tokens(undefined));
        return;
      }
      const grant = this.codes.get(form.get('code'));
      this.codes.delete(form.get('code'));
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (grant === undefined || grant.challenge !== challenge || grant.redirect !== form.get('redirect_uri')) {
        send(400, { error: 'invalid_grant' });
        return;
      }
      send(200, this.tokens(grant.nonce));
    } else if (path === '/protocol/openid-connect/logout') {
      this.asked.push('logout');
      const back = url.searchParams.get('post_logout_redirect_uri');
      send(302, undefined, back ? { location: back } : {});
    } else {
      send(404, { error: 'not_found' });
    }
  }
}
