import { Routes } from '@angular/router';

import { AEGIS_FEATURES, AEGIS_ROUTES } from './features/aegis.routes';
import { AboutPage } from './pages/about.page';

/**
 * The app's own pages, beside the generated features: hand-written files
 * under `pages/`, which the generator never touches.
 */
export const APP_PAGES = [{ path: 'about', title: 'About' }] as const;

export const routes: Routes = [
  ...AEGIS_ROUTES,
  { path: 'about', component: AboutPage, title: 'About' },
  { path: '', pathMatch: 'full', redirectTo: AEGIS_FEATURES[0]?.path ?? 'about' },
];
