// A project made by `cargo aegis new` (AEGIS_E2E_BIN and AEGIS_E2E_WEB name
// its binary and web build): its sample list loads over REST and goes live
// over the WebSocket in dev mode; then it signs in with an identity
// provider (authorization code with PKCE) and uses the provider's tokens.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Server, Tab, launch, listReads, scenario, settled } from './harness.mjs';
import { MockOidc } from './mock-oidc.mjs';

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

const product = (name) => ({ name, price: 24.5, in_stock: true, released_on: null });

/** Waits (at most 20 s) until `done()` holds. */
async function until(done) {
  for (let i = 0; i < 200 && !done(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(done(), `gave up waiting for ${done}`);
}


test('the sample list loads and goes live, beside a hand-written page', async () => {
  const server = new Server();
  await server.start();
  const tab = await Tab.open(browser, 'dev', `${server.base}/`);
  try {
    await scenario('scaffold-dev', [tab], server, async () => {
      await tab.page.waitForURL('**/products');
      await tab.page.getByText('No products to show.').waitFor();
      await tab.live('products');
      await settled(tab, 'products');
      const reads = listReads(tab, 'products');

      const created = await server.api('POST', '/api/products', product('Kettle'));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      // Over the WebSocket: the row comes without another read of the list.
      await tab.row('Kettle').waitFor();
      assert.equal(listReads(tab, 'products'), reads, 'the list was not read again');
      const listed = await server.api('GET', '/api/products');
      assert.equal(listed.body.total, 1);
      const invalid = await server.api('POST', '/api/products', product(''));
      assert.equal(invalid.status, 422);
      // The project serves its own API's description.
      const openapi = await (await fetch(`${server.base}/api/openapi.json`)).json();
      assert.equal(openapi.openapi, '3.1.0');
      assert.equal(openapi.info.title, 'shop API');
      assert.ok(openapi.paths['/api/products/{id}'].put, Object.keys(openapi.paths).join(', '));

      await tab.page.getByRole('link', { name: 'About' }).click();
      await tab.page.getByRole('heading', { name: 'Shop' }).waitFor();
      assert.equal(await tab.page.getByRole('button', { name: 'Sign out' }).count(), 0, 'dev mode has no sign-out');
    });
  } finally {
    await tab.context.close();
    await server.dispose();
  }
});

test('with an identity provider, the app signs in there and the API takes its tokens', async () => {
  const idp = new MockOidc({ clientId: 'shop-web', user: 'alice', roles: ['shop-admin'] });
  await idp.start();
  const server = new Server({
    dev: false,
    env: {
      AEGIS_OIDC_ISSUER: idp.issuer,
      AEGIS_OIDC_CLIENT_ID: 'shop-web',
      AEGIS_JWT_AUDIENCE: 'shop-web',
      AEGIS_JWT_USER_CLAIM: 'preferred_username',
      AEGIS_JWT_GRANTS: 'realm_access.roles:shop-admin=write:*',
    },
  });
  await server.start();
  const tab = await Tab.open(browser, 'alice', `${server.base}/`);
  try {
    await scenario('scaffold-oidc', [tab], server, async () => {
      // Sent to the provider, signed in, back on the app's first page.
      await until(() => idp.asked.includes('token'));
      assert.deepEqual(idp.asked.slice(0, 2), ['authorize', 'token']);
      await tab.page.getByRole('button', { name: 'Sign out' }).waitFor();
      await tab.page.waitForURL(`${server.base}/products`);
      await tab.page.getByText('No products to show.').waitFor();
      await tab.live('products');

      const created = await server.api('POST', '/api/products', product('Teapot'), idp.accessToken());
      assert.equal(created.status, 201, JSON.stringify(created.body));
      // Live, and named by the provider's username.
      await tab.row('Teapot').filter({ hasText: 'Added by alice' }).waitFor();

      idp.roles = [];
      const roleless = await server.api('GET', '/api/products', undefined, idp.accessToken());
      assert.equal(roleless.status, 403);
      const devToken = await fetch(`${server.base}/api/dev/token`);
      assert.equal(devToken.status, 404, 'no dev token outside dev mode');

      // Signed out at the provider, back in the app, which asks for a sign-in again.
      const asked = idp.asked.length;
      await tab.page.getByRole('button', { name: 'Sign out' }).click();
      await until(() => idp.asked.slice(asked).includes('authorize'));
      assert.deepEqual(idp.asked.slice(asked, asked + 2), ['logout', 'authorize']);
    });
  } finally {
    await tab.context.close();
    await server.dispose();
    await idp.stop();
  }
});
