/** The OpenAPI document is generated from the route schemas and covers the whole REST API. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from './support/app.js';
import { SESSION_FIELDS } from './support/contract.js';
import { call } from './support/http.js';

/** Every REST route of the core service, with the request parts it must document. */
const ROUTES: { method: string; path: string; body: boolean; errors: string[] }[] = [
  { method: 'post', path: '/auth/register', body: true, errors: ['400', '422'] },
  { method: 'post', path: '/auth/login', body: true, errors: ['400', '422'] },
  { method: 'get', path: '/me', body: false, errors: ['401'] },
  { method: 'post', path: '/live/sessions', body: true, errors: ['401', '403', '422'] },
  { method: 'get', path: '/live/sessions/active', body: false, errors: ['422'] },
  { method: 'get', path: '/live/sessions/{session_id}', body: false, errors: ['404'] },
  { method: 'post', path: '/live/sessions/{session_id}/end', body: false, errors: ['401', '403', '404'] },
  { method: 'get', path: '/live/sessions/{session_id}/comments', body: false, errors: ['404', '422'] },
  {
    method: 'post',
    path: '/live/sessions/{session_id}/comments',
    body: true,
    errors: ['401', '404', '409', '422'],
  },
  { method: 'get', path: '/me/sessions', body: false, errors: ['400', '401', '403', '422'] },
  { method: 'get', path: '/health', body: false, errors: [] },
  { method: 'get', path: '/me/stream-keys', body: false, errors: ['401', '403'] },
  { method: 'get', path: '/ice-servers', body: false, errors: ['401'] },
];

/** WHIP and WHEP: SDP in and out, so only their errors are JSON schemas. */
const MEDIA_ROUTES: { method: string; path: string; errors: string[] }[] = [
  {
    method: 'post',
    path: '/live/sessions/{session_id}/whip',
    errors: ['400', '401', '403', '404', '409', '415'],
  },
  { method: 'post', path: '/whip', errors: ['400', '401', '403', '415'] },
  {
    method: 'patch',
    path: '/live/sessions/{session_id}/whip/{resource_id}',
    errors: ['400', '404', '412', '415'],
  },
  { method: 'delete', path: '/live/sessions/{session_id}/whip/{resource_id}', errors: ['401', '404'] },
  { method: 'post', path: '/live/sessions/{session_id}/whep', errors: ['400', '401', '404', '409', '415'] },
  {
    method: 'patch',
    path: '/live/sessions/{session_id}/whep/{resource_id}',
    errors: ['400', '404', '412', '415'],
  },
  { method: 'delete', path: '/live/sessions/{session_id}/whep/{resource_id}', errors: ['401', '404'] },
];

describe('OpenAPI and Swagger UI', () => {
  let running: RunningApp;
  let doc: any;

  before(async () => {
    running = await startApp({ store: 'pglite' });
    const res = await call(running.baseUrl, 'GET', '/openapi.json');
    assert.equal(res.status, 200);
    doc = res.body;
  });
  after(async () => {
    await running?.close();
  });

  test('/openapi.json is an OpenAPI 3 document', () => {
    assert.match(doc.openapi, /^3\./);
    assert.equal(typeof doc.info.title, 'string');
    assert.equal(typeof doc.paths, 'object');
  });

  for (const route of ROUTES) {
    test(`${route.method.toUpperCase()} ${route.path} is documented with its request and responses`, () => {
      const operation = doc.paths[route.path]?.[route.method];
      assert.ok(operation, `${route.method} ${route.path} in ${Object.keys(doc.paths).join(', ')}`);
      const ok = operation.responses?.['200']?.content?.['application/json']?.schema;
      assert.ok(ok && (ok.type || ok.$ref || ok.properties), 'a 200 response schema');
      if (route.body) {
        const body = operation.requestBody?.content?.['application/json']?.schema;
        assert.ok(body?.properties || body?.$ref, 'a request body schema');
      }
      if (route.path.includes('{session_id}')) {
        assert.ok(
          operation.parameters?.some((p: any) => p.in === 'path' && p.name === 'session_id'),
          'the session_id path parameter',
        );
      }
      for (const status of route.errors) {
        assert.ok(operation.responses?.[status], `a ${status} response`);
      }
    });
  }

  for (const route of MEDIA_ROUTES) {
    test(`${route.method.toUpperCase()} ${route.path} is documented with its SDP body and errors`, () => {
      const operation = doc.paths[route.path]?.[route.method];
      assert.ok(operation, `${route.method} ${route.path} in ${Object.keys(doc.paths).join(', ')}`);
      assert.deepEqual(operation.tags, ['media']);
      for (const status of route.errors) assert.ok(operation.responses?.[status], `a ${status} response`);
    });
  }

  test('the 422 response is documented in FastAPI shape', () => {
    const schema = doc.paths['/auth/register'].post.responses['422'].content['application/json'].schema;
    const resolved = schema.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema;
    const item = resolved.properties.detail.items;
    assert.deepEqual(Object.keys(item.properties).sort(), ['loc', 'msg', 'type']);
  });

  test('the session object is documented with exactly its fields', () => {
    const schema =
      doc.paths['/live/sessions/{session_id}'].get.responses['200'].content['application/json'].schema;
    assert.deepEqual(Object.keys(schema.properties).sort(), SESSION_FIELDS);
  });

  test('the active list documents its limit and cursor query parameters', () => {
    const parameters = doc.paths['/live/sessions/active'].get.parameters;
    const names = parameters.filter((p: any) => p.in === 'query').map((p: any) => p.name);
    assert.ok(names.includes('limit') && names.includes('cursor'), names.join(', '));
  });

  test('routes that need a token declare bearer security', () => {
    assert.ok(doc.components.securitySchemes.bearer);
    for (const [path, method] of [
      ['/me', 'get'],
      ['/live/sessions', 'post'],
      ['/live/sessions/{session_id}/end', 'post'],
      ['/live/sessions/{session_id}/comments', 'post'],
      ['/me/sessions', 'get'],
    ] as const) {
      assert.deepEqual(doc.paths[path][method].security, [{ bearer: [] }], `${method} ${path}`);
    }
  });

  test('/docs serves Swagger UI', async () => {
    const res = await fetch(`${running.baseUrl}/docs`, { redirect: 'follow' });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(html, /swagger/i);
  });
});
