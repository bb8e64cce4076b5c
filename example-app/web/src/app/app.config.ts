import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { ApplicationConfig, provideBrowserGlobalErrorListeners } from '@angular/core';
import { provideRouter, withComponentInputBinding } from '@angular/router';

import { routes } from './app.routes';
import { AEGIS_CONFIG, aegisAuthInterceptor } from './shared/business/services/aegis-api';
import { signInTokenSupplier } from './shared/business/services/sign-in';

export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    provideRouter(routes, withComponentInputBinding()),
    provideHttpClient(withInterceptors([aegisAuthInterceptor])),
    {
      provide: AEGIS_CONFIG,
      useValue: {
        apiBaseUrl: '/api',
        websocketUrl: '/ws',
        // Dev mode's token (the server's `--dev`); the example has no
        // identity provider of its own.
        token: signInTokenSupplier('/api'),
      },
    },
  ],
};
