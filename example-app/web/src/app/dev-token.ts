/** Seconds before expiry at which a cached token is fetched again. */
const REFRESH_MARGIN_S = 60;

interface DevToken {
  readonly token: string;
  readonly expiresAt: number;
}

function isDevToken(value: unknown): value is DevToken {
  return (
    typeof value === 'object' &&
    value !== null &&
    'token' in value &&
    typeof value.token === 'string' &&
    'expiresAt' in value &&
    typeof value.expiresAt === 'number'
  );
}

/**
 * A token supplier for the example's dev mode: the server hands out a
 * token at `url` without a login screen. Cached until shortly before it
 * expires.
 */
export function devTokenSupplier(url: string): () => Promise<string> {
  let cached: DevToken | null = null;
  return async () => {
    if (cached !== null && cached.expiresAt - REFRESH_MARGIN_S > Date.now() / 1000) {
      return cached.token;
    }
    const response = await fetch(url);
    if (!response.ok) {
      throw new Error(`the dev token endpoint answered ${response.status}; is the server in dev mode?`);
    }
    const body: unknown = await response.json();
    if (!isDevToken(body)) {
      throw new Error('the dev token endpoint answered something else than a token');
    }
    cached = body;
    return body.token;
  };
}
