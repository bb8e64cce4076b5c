import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { ApplicationConfig, EnvironmentProviders, Provider, provideBrowserGlobalErrorListeners } from '@angular/core';
import { provideRouter, withComponentInputBinding } from '@angular/router';

import { routes } from './app.routes';
import { SignIn } from './shared/business/models/aegis-protocol.types';
import { AEGIS_CONFIG, AegisConfig, aegisAuthInterceptor } from './shared/business/services/aegis-api';
import { tokenSupplierFor } from './shared/business/services/sign-in';
import { oidcProviders, oidcSignIn } from './sign-in/oidc-sign-in';

/** The app's providers, for the sign-in the server asked for. */
export function appConfig(signIn: SignIn): ApplicationConfig {
  const providers: (Provider | EnvironmentProviders)[] = [
    provideBrowserGlobalErrorListeners(),
    provideRouter(routes, withComponentInputBinding()),
    provideHttpClient(withInterceptors([aegisAuthInterceptor])),
    {
      provide: AEGIS_CONFIG,
      useFactory: (): AegisConfig => ({
        apiBaseUrl: '/api',
        websocketUrl: '/ws',
        token: tokenSupplierFor(signIn, '/api', oidcSignIn()),
      }),
    },
  ];
  if (signIn.oidc !== null) {
    providers.push(oidcProviders(signIn.oidc));
  }
  return { providers };
}
