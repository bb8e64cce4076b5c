import { bootstrapApplication } from '@angular/platform-browser';

import { App } from './app/app';
import { appConfig } from './app/app.config';
import { readSignIn } from './app/shared/business/services/sign-in';

// How to sign in (an identity provider, or dev mode's token) is the
// server's to say, so one build serves every environment.
readSignIn('/api')
  .then((signIn) => bootstrapApplication(App, appConfig(signIn)))
  .catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    document.body.textContent = `The app cannot start: ${message}`;
  });
