// How the web app gets its token: the server's sign-in settings choose
// an identity provider or dev mode's token.

import { afterEach, describe, expect, it, vi } from 'vitest';

import { OidcClient } from '../models/aegis-protocol.types';
import { devTokenSupplier, isSignIn, signInTokenSupplier, tokenSupplierFor } from './sign-in';

/** A fake `fetch` answering by path; records what was asked. */
function serve(answers: Record<string, () => Response>): string[] {
  const asked: string[] = [];
  vi.stubGlobal('fetch', (url: string) => {
    asked.push(url);
    const answer = answers[url];
    return Promise.resolve(answer === undefined ? new Response('{}', { status: 404 }) : answer());
  });
  return asked;
}

const json =
  (body: unknown): (() => Response) =>
  () =>
    Response.json(body);

describe('sign-in', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('recognises the settings', () => {
    expect(isSignIn({ devToken: true, oidc: null })).toBe(true);
    expect(
      isSignIn({
        devToken: false,
        oidc: { issuer: 'https://idp', clientId: 'web', scope: 'openid' },
      }),
    ).toBe(true);
    expect(isSignIn({ devToken: false, oidc: { issuer: 'https://idp' } })).toBe(false);
    expect(isSignIn({ oidc: null })).toBe(false);
    expect(isSignIn([])).toBe(false);
  });

  it('uses dev mode when the server offers it, reading the settings once', async () => {
    const later = Math.floor(Date.now() / 1000) + 3600;
    const asked = serve({
      '/api/auth/config': json({ devToken: true, oidc: null }),
      '/api/dev/token': json({ token: 'dev-1', expiresAt: later }),
    });
    const token = signInTokenSupplier('/api');
    expect(await token()).toBe('dev-1');
    expect(await token()).toBe('dev-1');
    expect(asked).toEqual(['/api/auth/config', '/api/dev/token']);
  });

  it('hands the identity provider to the app when the server names one', async () => {
    const client: OidcClient = {
      issuer: 'https://idp/realms/shop',
      clientId: 'shop-web',
      scope: 'openid profile',
    };
    serve({ '/api/auth/config': json({ devToken: true, oidc: client }) });
    const given: OidcClient[] = [];
    const token = signInTokenSupplier('/api', (oidc) => {
      given.push(oidc);
      return () => Promise.resolve('from-the-provider');
    });
    expect(await token()).toBe('from-the-provider');
    expect(await token()).toBe('from-the-provider');
    expect(given).toEqual([client]);
    // An app without an OIDC sign-in says so.
    await expect(tokenSupplierFor({ devToken: false, oidc: client }, '/api')()).rejects.toThrow(
      'the server asks for a sign-in with an identity provider, which this app has not set up',
    );
  });

  it('says what to configure when the server offers no sign-in', async () => {
    serve({ '/api/auth/config': json({ devToken: false, oidc: null }) });
    await expect(signInTokenSupplier('/api')()).rejects.toThrow(
      'start it in dev mode (--dev) or name an identity provider',
    );
  });

  it('reads the settings again after a failed read', async () => {
    let calls = 0;
    const asked = serve({
      '/api/auth/config': () =>
        ++calls === 1
          ? new Response('down', { status: 503 })
          : Response.json({ devToken: true, oidc: null }),
      '/api/dev/token': json({ token: 'dev-2', expiresAt: Math.floor(Date.now() / 1000) + 3600 }),
    });
    const token = signInTokenSupplier('/api');
    await expect(token()).rejects.toThrow(
      'the sign-in settings could not be read: the server answered 503',
    );
    expect(await token()).toBe('dev-2');
    expect(asked.filter((url) => url === '/api/auth/config')).toHaveLength(2);
  });

  it('fetches a dev token again shortly before it expires', async () => {
    let issued = 0;
    serve({
      '/api/dev/token': () => {
        issued += 1;
        return Response.json({
          token: `t${issued}`,
          expiresAt: Math.floor(Date.now() / 1000) + 30,
        });
      },
    });
    const token = devTokenSupplier('/api/dev/token');
    expect(await token()).toBe('t1');
    expect(await token()).toBe('t2');
  });
});
