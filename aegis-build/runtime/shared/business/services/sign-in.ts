import { DevToken, OidcClient, SignIn } from '../models/aegis-protocol.types';

/** Hands out a current bearer token; called again whenever a fresh one is needed. */
export type TokenSupplier = () => Promise<string>;

/**
 * Signs in with an identity provider: the app's own code around its OIDC
 * library, given the client the server names. Returns the token supplier
 * of the signed-in user (it may first send the browser to the provider).
 */
export type OidcSignIn = (client: OidcClient) => TokenSupplier;

/** Seconds before expiry at which a cached dev token is fetched again. */
const REFRESH_MARGIN_S = 60;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDevToken(value: unknown): value is DevToken {
  return (
    isRecord(value) && typeof value['token'] === 'string' && typeof value['expiresAt'] === 'number'
  );
}

function isOidcClient(value: unknown): value is OidcClient {
  return (
    isRecord(value) &&
    typeof value['issuer'] === 'string' &&
    typeof value['clientId'] === 'string' &&
    typeof value['scope'] === 'string'
  );
}

/** Whether a JSON body is the server's sign-in settings. */
export function isSignIn(value: unknown): value is SignIn {
  return (
    isRecord(value) &&
    typeof value['devToken'] === 'boolean' &&
    (value['oidc'] === null || isOidcClient(value['oidc']))
  );
}

/** The server's sign-in settings: `GET <apiBaseUrl>/auth/config`, read without a token. */
export async function readSignIn(apiBaseUrl: string): Promise<SignIn> {
  const response = await fetch(`${apiBaseUrl}/auth/config`);
  if (!response.ok) {
    throw new Error(
      `the sign-in settings could not be read: the server answered ${response.status}`,
    );
  }
  const body: unknown = await response.json();
  if (!isSignIn(body)) {
    throw new Error('the server answered something else than its sign-in settings');
  }
  return body;
}

/**
 * Dev mode's tokens: the server hands out a token for every feature at
 * `url` without a sign-in. Cached until shortly before it expires.
 */
export function devTokenSupplier(url: string): TokenSupplier {
  let cached: DevToken | null = null;
  return async () => {
    if (cached !== null && cached.expiresAt - REFRESH_MARGIN_S > Date.now() / 1000) {
      return cached.token;
    }
    const response = await fetch(url);
    if (!response.ok) {
      throw new Error(
        `the dev token endpoint answered ${response.status}; is the server in dev mode?`,
      );
    }
    const body: unknown = await response.json();
    if (!isDevToken(body)) {
      throw new Error('the dev token endpoint answered something else than a token');
    }
    cached = body;
    return body.token;
  };
}

/**
 * The token supplier the server's settings call for: its identity
 * provider through `oidc` when it names one, else dev mode's token.
 * Fails with a message saying what to configure when neither is there.
 */
export function tokenSupplierFor(
  signIn: SignIn,
  apiBaseUrl: string,
  oidc?: OidcSignIn,
): TokenSupplier {
  if (signIn.oidc !== null) {
    if (oidc === undefined) {
      return () =>
        Promise.reject(
          new Error(
            'the server asks for a sign-in with an identity provider, which this app has not set up',
          ),
        );
    }
    return oidc(signIn.oidc);
  }
  if (signIn.devToken) {
    return devTokenSupplier(`${apiBaseUrl}/dev/token`);
  }
  return () =>
    Promise.reject(
      new Error(
        'the server offers no sign-in: start it in dev mode (--dev) or name an identity provider (--oidc-issuer)',
      ),
    );
}

/**
 * A supplier that reads the server's sign-in settings at its first call
 * (again after a failed read) and then behaves as {@link tokenSupplierFor}.
 */
export function signInTokenSupplier(apiBaseUrl: string, oidc?: OidcSignIn): TokenSupplier {
  let chosen: Promise<TokenSupplier> | null = null;
  return async () => {
    if (chosen === null) {
      const reading = readSignIn(apiBaseUrl).then((signIn) =>
        tokenSupplierFor(signIn, apiBaseUrl, oidc),
      );
      chosen = reading;
      // A failed read is tried again at the next call.
      reading.catch(() => {
        if (chosen === reading) {
          chosen = null;
        }
      });
    }
    const supplier = await chosen;
    return supplier();
  };
}
