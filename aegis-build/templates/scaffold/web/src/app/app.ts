import { BreakpointObserver } from '@angular/cdk/layout';
import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { MatButtonModule } from '@angular/material/button';
import { MatListModule } from '@angular/material/list';
import { MatSidenavModule } from '@angular/material/sidenav';
import { MatToolbarModule } from '@angular/material/toolbar';
import { RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { map } from 'rxjs';

import { APP_PAGES } from './app.routes';
import { AEGIS_FEATURES } from './features/aegis.routes';
import { SIGN_OUT } from './sign-in/oidc-sign-in';

/** Below this width the navigation folds into a menu. */
const HANDSET = '(max-width: 599.98px)';

/** The shell: navigation from the generated features and the app's own pages. */
@Component({
  selector: 'app-root',
  imports: [MatButtonModule, MatListModule, MatSidenavModule, MatToolbarModule, RouterLink, RouterLinkActive, RouterOutlet],
  templateUrl: './app.html',
  styleUrl: './app.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class App {
  protected readonly pages = [...AEGIS_FEATURES, ...APP_PAGES];
  /** Present when an identity provider signed the user in. */
  protected readonly signOut = inject(SIGN_OUT, { optional: true });
  /** A narrow screen: the navigation is a menu over the page. */
  protected readonly handset = toSignal(inject(BreakpointObserver).observe(HANDSET).pipe(map((state) => state.matches)), {
    initialValue: false,
  });
  protected readonly menuOpen = signal(false);
}
