// End to end: the OpenAPI document. Every committed document (the
// example's and the generator's fixtures') is valid OpenAPI 3.1 by the
// specification's own schema; the example app serves the one it was built
// with; and a tour of every route of every module, answers that succeed
// and answers that fail, gets only statuses the document declares for the
// operation, with bodies that fit the declared schemas (Ajv, JSON Schema
// 2020-12, OpenAPI 3.1's dialect). The filters are checked both ways: each
// declared one is accepted, and each operator the document leaves out of a
// field is refused.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

import { Server } from './harness.mjs';

const WEB = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(WEB, '../../aegis-build/tests/fixtures');
const DOCUMENT = join(WEB, 'src/app/shared/openapi.json');
const OPERATORS = ['eq', 'in', 'gt', 'gte', 'lt', 'lte', 'contains', 'empty'];

const text = readFileSync(DOCUMENT, 'utf8');
const doc = JSON.parse(text);

// The component schemas as one JSON Schema document, `api`, for Ajv.
const ajv = new Ajv2020({ allErrors: true, strictTypes: false });
addFormats(ajv);
// Annotations OpenAPI adds to JSON Schema, and Aegis's own extension.
ajv.addVocabulary(['example', 'x-aegis-references', 'x-aegis-many']);
const toApi = (schema) => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"api#/$defs/'));
ajv.addSchema({ $id: 'api', $defs: toApi(doc.components.schemas) });
const compiled = new Map();
function validator(schema) {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) {
    compiled.set(key, ajv.compile(toApi(schema)));
  }
  return compiled.get(key);
}

/** A component or inline schema, its `$ref` followed. */
function deref(schema) {
  return schema.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema;
}

/** A value of `schema`, for a filter or a path. */
function sample(raw) {
  const schema = deref(raw);
  if (schema.enum) return schema.enum.find((v) => v !== null);
  if (schema.allOf) return sample(schema.allOf[0]);
  if (schema.oneOf) return sample(schema.oneOf.find((s) => deref(s).type !== 'null'));
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'integer':
      return 1;
    case 'number':
      return 1.5;
    case 'boolean':
      return true;
    case 'array':
      return [sample(schema.items)];
    default:
      return { date: '2026-01-01', 'date-time': '2026-01-01T00:00:00Z', uuid: '00000000-0000-0000-0000-000000000001' }[
        schema.format
      ] ?? 'x';
  }
}

const queryValue = (value) => (Array.isArray(value) ? value.join(',') : String(value));

let server;
/** `METHOD /template STATUS` of every answer the tour got. */
const seen = new Set();

before(async () => {
  server = new Server();
  await server.start();
});

after(async () => {
  await server?.dispose();
});

/**
 * A request to the path `template` names, checked against the document:
 * the status is declared for the operation (a 5xx may fall to `default`),
 * the content type is one it declares, and a JSON body fits its schema.
 */
async function call(method, template, { params = {}, query = '', body, raw, type, token = server.token } = {}) {
  const path = template.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(params[name]));
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  let payload;
  if (raw !== undefined) {
    payload = raw;
    headers['content-type'] = type;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${server.base}${path}${query ? `?${query}` : ''}`, { method, headers, body: payload });
  const answer = await response.text();
  const what = `${method} ${path}${query ? `?${query}` : ''} → ${response.status} ${answer.slice(0, 300)}`;
  const operation = doc.paths[template]?.[method.toLowerCase()];
  assert.ok(operation, `${method} ${template} is in the document`);
  const declared = operation.responses[response.status] ?? (response.status >= 500 ? operation.responses.default : undefined);
  assert.ok(declared, `undeclared status: ${what}`);
  const declaration = declared.$ref ? doc.components.responses[declared.$ref.split('/').pop()] : declared;
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0].trim();
  let json;
  if (declaration.content) {
    // A download declares any type (`*/*`): the file's own.
    const media = declaration.content[contentType] ?? declaration.content['*/*'];
    assert.ok(media, `answers ${contentType}, declared ${Object.keys(declaration.content)}: ${what}`);
    if (contentType === 'application/json') {
      json = JSON.parse(answer);
      const validate = validator(media.schema);
      assert.ok(validate(json), `the body does not fit its schema: ${ajv.errorsText(validate.errors)}\n${what}`);
    }
  } else {
    assert.equal(answer, '', `no body is declared: ${what}`);
  }
  seen.add(`${method} ${template} ${response.status}`);
  return { status: response.status, text: answer, json };
}

async function expectStatus(status, method, template, options) {
  const answer = await call(method, template, options);
  assert.equal(answer.status, status, `${method} ${template} ${options?.query ?? ''}: ${answer.text.slice(0, 300)}`);
  return answer;
}

test('every committed document is valid OpenAPI 3.1', async () => {
  const documents = [
    DOCUMENT,
    ...readdirSync(FIXTURES).map((fixture) => join(FIXTURES, fixture, 'expected/web/shared/openapi.json')),
  ];
  for (const file of documents) {
    const validator = new Validator();
    const result = await validator.validate(file);
    assert.equal(validator.version, '3.1', file);
    assert.deepEqual(result, { valid: true }, file);
  }
  // The validator is no rubber stamp: a reference to nothing fails.
  const broken = structuredClone(doc);
  broken.components.schemas.ApiError.properties.code = { $ref: '#/components/schemas/Nothing' };
  assert.equal((await new Validator().validate(broken)).valid, false);
});

test('the app serves the document it was built with, without a token', async () => {
  const response = await fetch(`${server.base}/api/openapi.json`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.equal(await response.text(), text);
});

/** The modules, referenced ones before those that reference them. */
function modules() {
  const features = Object.keys(doc.paths)
    .map((path) => /^\/api\/([^/]+)$/.exec(path)?.[1])
    .filter(Boolean);
  const references = (feature) => {
    const create = deref(doc.paths[`/api/${feature}`].post.requestBody.content['application/json'].schema);
    return Object.entries(create.properties)
      .filter(([, property]) => property['x-aegis-references'])
      .map(([name, property]) => [name, property['x-aegis-references']]);
  };
  const ordered = [];
  while (ordered.length < features.length) {
    const next = features.find(
      (f) => !ordered.some((m) => m.feature === f) && references(f).every(([, t]) => t === f || ordered.some((m) => m.feature === t)),
    );
    assert.ok(next, 'the references have an order');
    ordered.push({ feature: next, references: references(next) });
  }
  return ordered;
}

test('every route answers as the document says', async () => {
  const rows = {};
  const order = modules();
  const outsider = server.mint('outsider', []);
  for (const { feature, references } of order) {
    const base = `/api/${feature}`;
    const create = doc.paths[base].post.requestBody.content['application/json'];
    const entity = deref(doc.paths[`${base}/{id}`].get.responses['200'].content['application/json'].schema);
    const body = structuredClone(create.example);
    for (const [field, target] of references) {
      body[field] = rows[target]?.id ?? body[field];
    }
    const row = (await expectStatus(201, 'POST', base, { body })).json;
    rows[feature] = row;
    const id = row.id ?? row[Object.keys(entity.properties)[0]];
    const other = (await expectStatus(201, 'POST', base, { body })).json;

    // Create: a body missing every field, one that is no JSON, no token, no grant.
    await expectStatus(422, 'POST', base, { body: {} });
    await expectStatus(422, 'POST', base, { raw: '{"oops', type: 'application/json' });
    await expectStatus(400, 'POST', base, { query: 'nope=1', body });
    await expectStatus(401, 'POST', base, { body, token: '' });
    await expectStatus(403, 'POST', base, { body, token: outsider });

    // Lists and exports: the page, every declared filter and order, and
    // every operator the document does not declare refused.
    await expectStatus(200, 'GET', base, { query: 'page=1&pageSize=5' });
    await expectStatus(400, 'GET', base, { query: 'nope=1' });
    await expectStatus(401, 'GET', base, { token: 'not-a-token' });
    for (const route of [base, `${base}/export`]) {
      const declared = doc.paths[route].get.parameters;
      for (const parameter of declared.filter((p) => p.name.includes('.') || p.name === 'sort' || p.name === 'q')) {
        const values = parameter.name === 'sort' ? parameter.schema.enum : [sample(parameter.schema)];
        for (const value of values) {
          await expectStatus(200, 'GET', route, { query: `${encodeURIComponent(parameter.name)}=${encodeURIComponent(queryValue(value))}` });
        }
      }
      for (const field of Object.keys(entity.properties)) {
        for (const op of OPERATORS) {
          const name = `${field}.${op}`;
          if (!declared.some((p) => p.name === name)) {
            // A value of the field's type, so that only the operator is wrong.
            const value = op === 'empty' ? 'true' : queryValue(sample(entity.properties[field]));
            const refused = await expectStatus(400, 'GET', route, { query: `${encodeURIComponent(name)}=${encodeURIComponent(value)}` });
            assert.match(refused.json.message, /does not take|cannot filter/, name);
          }
        }
      }
    }

    // One row: read, saved, saved again from the old version, not found.
    const idSchema = doc.paths[`${base}/{id}`].get.parameters.find((p) => p.name === 'id').schema;
    const missing = idSchema.type === 'integer' ? 987654321 : 'missing-row';
    await expectStatus(200, 'GET', `${base}/{id}`, { params: { id } });
    await expectStatus(404, 'GET', `${base}/{id}`, { params: { id: missing } });
    const update = deref(doc.paths[`${base}/{id}`].put.requestBody.content['application/json'].schema);
    const saved = Object.fromEntries(Object.keys(update.properties).map((name) => [name, row[name]]));
    await expectStatus(200, 'PUT', `${base}/{id}`, { params: { id }, body: saved });
    if (doc.paths[`${base}/{id}`].put.responses['409']) {
      const stale = await expectStatus(409, 'PUT', `${base}/{id}`, { params: { id }, body: saved });
      assert.equal(stale.json.current.id, id);
    }
    await expectStatus(422, 'PUT', `${base}/{id}`, { params: { id }, body: {} });
    await expectStatus(404, 'PUT', `${base}/{id}`, { params: { id: missing }, body: saved });

    // Files: each file field's upload (a PDF; what the field refuses) and
    // the row's download once it holds the file.
    for (const path of Object.keys(doc.paths).filter((p) => p.startsWith(`${base}/files/`))) {
      const field = path.slice(`${base}/files/`.length);
      const upload = (query, raw, token) => ({ query, raw, type: 'application/octet-stream', token });
      const pdf = '%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n';
      const file = (await expectStatus(201, 'POST', path, upload('name=contract.pdf', pdf))).json;
      await expectStatus(422, 'POST', path, upload('name=notes.pdf', 'plain words\n'));
      await expectStatus(422, 'POST', path, upload('name=empty.pdf', ''));
      await expectStatus(400, 'POST', path, upload('', pdf));
      await expectStatus(401, 'POST', path, upload('name=a.pdf', pdf, ''));
      await expectStatus(403, 'POST', path, upload('name=a.pdf', pdf, outsider));
      const current = (await expectStatus(200, 'GET', `${base}/{id}`, { params: { id } })).json;
      const holding = Object.fromEntries(Object.keys(update.properties).map((name) => [name, current[name]]));
      await expectStatus(200, 'PUT', `${base}/{id}`, { params: { id }, body: { ...holding, [field]: file } });
      const download = `${base}/{id}/files/${field}`;
      const got = await expectStatus(200, 'GET', download, { params: { id } });
      assert.equal(got.text, pdf);
      await expectStatus(404, 'GET', download, { params: { id: missing } });
    }

    // History: the row's entries, its created version restored (then a
    // restore from the version it left, an entry it does not have, a body
    // with a key the document does not declare).
    if (doc.paths[`${base}/{id}/history`]) {
      const history = `${base}/{id}/history`;
      const entries = (await expectStatus(200, 'GET', history, { params: { id }, query: 'pageSize=50' })).json;
      const created = entries.data.at(-1);
      assert.equal(created.action, 'created');
      await expectStatus(400, 'GET', history, { params: { id }, query: 'nope=1' });
      await expectStatus(404, 'GET', history, { params: { id: missing } });
      const restore = `${base}/{id}/history/{entry}/restore`;
      const { version } = (await expectStatus(200, 'GET', `${base}/{id}`, { params: { id } })).json;
      const based = version === undefined ? {} : { version };
      await expectStatus(200, 'POST', restore, { params: { id, entry: created.id }, body: based });
      if (doc.paths[restore].post.responses['409']) {
        await expectStatus(409, 'POST', restore, { params: { id, entry: created.id }, body: based });
      }
      await expectStatus(404, 'POST', restore, { params: { id, entry: 987654321 }, body: {} });
      await expectStatus(422, 'POST', restore, { params: { id, entry: created.id }, body: { nope: 1 } });
    }

    // The bulk delete: by ids (the second row), a missing id, a bad query.
    await expectStatus(200, 'POST', `${base}/bulk-delete`, { body: { ids: [other.id ?? other[Object.keys(entity.properties)[0]]] } });
    await expectStatus(404, 'POST', `${base}/bulk-delete`, { body: { ids: [missing] } });
    await expectStatus(400, 'POST', `${base}/bulk-delete`, { body: { query: 'nope=1' } });

    // Imports: the template, a dry run of the export, its job, refusals.
    if (doc.paths[`${base}/import`]) {
      await expectStatus(200, 'GET', `${base}/import/template`);
      const csv = (await expectStatus(200, 'GET', `${base}/export`)).text;
      const accepted = await expectStatus(202, 'POST', `${base}/import`, { query: 'dryRun=true', raw: csv, type: 'text/csv' });
      await expectStatus(200, 'GET', `${base}/import/{jobId}`, { params: { jobId: accepted.json.jobId } });
      await expectStatus(404, 'GET', `${base}/import/{jobId}`, { params: { jobId: `${feature}-nothing` } });
      await expectStatus(400, 'POST', `${base}/import`, { raw: '', type: 'text/csv' });
    }
  }

  // Deletes: a row still referenced is refused, then the referencing rows
  // go first.
  for (const { feature, references } of order) {
    for (const [, target] of references.filter(([, t]) => t !== feature)) {
      const answer = await call('DELETE', `/api/${target}/{id}`, { params: { id: rows[target].id } });
      assert.ok([204, 409].includes(answer.status), answer.text);
      if (answer.status === 204) delete rows[target];
    }
  }
  for (const { feature } of [...order].reverse()) {
    if (rows[feature]) {
      await expectStatus(204, 'DELETE', `/api/${feature}/{id}`, { params: { id: rows[feature].id } });
      await expectStatus(404, 'DELETE', `/api/${feature}/{id}`, { params: { id: rows[feature].id } });
    }
  }

  for (const probe of ['/healthz', '/readyz']) {
    await expectStatus(200, 'GET', probe, { token: '' });
  }

  // Every operation was seen succeeding, and every kind of failure the
  // tour can cause was seen.
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const success = Object.keys(operation.responses).filter((s) => s.startsWith('2'));
      assert.ok(
        success.some((status) => seen.has(`${method.toUpperCase()} ${path} ${status}`)),
        `${method.toUpperCase()} ${path} was never seen succeeding`,
      );
    }
  }
  for (const status of [400, 401, 403, 404, 409, 422]) {
    assert.ok([...seen].some((s) => s.endsWith(` ${status}`)), `no ${status} was seen`);
  }
});
