import { EnvironmentProviders, InjectionToken, inject, makeEnvironmentProviders } from '@angular/core';
import { OidcSecurityService, provideAuth, withAppInitializerAuthCheck } from 'angular-auth-oidc-client';
import { firstValueFrom } from 'rxjs';

import { OidcClient } from '../shared/business/models/aegis-protocol.types';
import { OidcSignIn, TokenSupplier } from '../shared/business/services/sign-in';

/** Signs the user out; provided only when an identity provider signs users in. */
export const SIGN_OUT = new InjectionToken<() => Promise<void>>('SIGN_OUT');

/**
 * The identity provider's sign-in (authorization code with PKCE, by
 * angular-auth-oidc-client): the callback is read before the app starts,
 * tokens are renewed with the refresh token before they expire.
 */
export function oidcProviders(client: OidcClient): EnvironmentProviders {
  const auth = provideAuth(
    {
      config: {
        authority: client.issuer,
        clientId: client.clientId,
        scope: client.scope,
        responseType: 'code',
        redirectUrl: window.location.origin,
        postLogoutRedirectUri: window.location.origin,
        silentRenew: true,
        useRefreshToken: true,
        renewTimeBeforeTokenExpiresInSeconds: 30,
        // The access token says who the user is; no user-info request.
        autoUserInfo: false,
      },
    },
    withAppInitializerAuthCheck(),
  );
  return makeEnvironmentProviders([
    auth,
    {
      provide: SIGN_OUT,
      useFactory: () => {
        const oidc = inject(OidcSecurityService);
        // The provider sends the browser back to the app, signed out.
        return async (): Promise<void> => {
          await firstValueFrom(oidc.logoff());
        };
      },
    },
  ]);
}

/**
 * Tokens of the signed-in user; a user not signed in yet is sent to the
 * identity provider. Call in an injection context.
 */
export function oidcSignIn(): OidcSignIn {
  return (): TokenSupplier => {
    const oidc = inject(OidcSecurityService);
    // The REST API and the WebSocket ask at once: one sign-in, not two
    // (a second would replace the first one's PKCE verifier).
    let leaving = false;
    return async () => {
      const { isAuthenticated } = await firstValueFrom(oidc.isAuthenticated$);
      if (!isAuthenticated) {
        if (!leaving) {
          leaving = true;
          oidc.authorize();
        }
        // The page is leaving for the identity provider.
        return new Promise<string>(() => undefined);
      }
      return firstValueFrom(oidc.getAccessToken());
    };
  };
}
