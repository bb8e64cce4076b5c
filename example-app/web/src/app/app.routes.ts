import { Routes } from '@angular/router';

import { AEGIS_FEATURES, AEGIS_ROUTES } from './features/aegis.routes';

export const routes: Routes = [
  ...AEGIS_ROUTES,
  { path: '', pathMatch: 'full', redirectTo: AEGIS_FEATURES[0]?.path ?? '' },
];
