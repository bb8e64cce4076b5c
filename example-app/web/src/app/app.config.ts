import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { ApplicationConfig, provideBrowserGlobalErrorListeners } from '@angular/core';
import { provideRouter, withComponentInputBinding } from '@angular/router';

import { routes } from './app.routes';
import { devTokenSupplier } from './dev-token';
import { AEGIS_CONFIG, aegisAuthInterceptor } from './shared/business/services/aegis-api';

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
        token: devTokenSupplier('/api/dev/token'),
      },
    },
  ],
};
