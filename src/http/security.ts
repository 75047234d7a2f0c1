import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

/**
 * The Content-Security-Policy of every response, and the only one: written for the pages this
 * server serves from dist/web (the app at /, and /examples/web/, the Agora demo) and for Swagger
 * UI at /docs. docs/hardening.md shows it verbatim (test/csp.test.ts compares the two).
 *
 * - scripts only from this origin, no inline script, no eval: a comment or name that slipped
 *   into the page as HTML still cannot run;
 * - connections to this origin (fetch and WebSockets), and to any https:/wss: address: the app
 *   lets the user point it at another API address, and the Agora SDK talks to Agora's servers on
 *   many hosts (*.agora.io, *.sd-rtn.com, …). CSP_CONNECT_SRC adds more (an http:// API in a LAN);
 * - camera and microphone video plays from MediaStreams and blob: URLs; images may be data: URLs
 *   (Swagger UI's icons);
 * - inline styles stay allowed: the SDK and Swagger UI set them, and they cannot run code;
 * - no plugins, no framing by other sites, forms post only here.
 *
 * No upgrade-insecure-requests: an instance reached over plain http (a LAN, the tests) would
 * otherwise have its own pages' requests rewritten to https and fail.
 */
export function contentSecurityPolicy(extraConnectSrc: readonly string[]): Record<string, string[]> {
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:', 'blob:'],
    'media-src': ["'self'", 'blob:', 'mediastream:'],
    'connect-src': ["'self'", 'https:', 'wss:', ...extraConnectSrc],
    'worker-src': ["'self'", 'blob:'],
    'font-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  };
}

/**
 * Security headers on every response (helmet's defaults: nosniff, no referrer, HSTS, same-origin
 * opener and resource policies, …) with the policy above, and a Permissions-Policy that lets
 * only this origin's pages ask for the camera and microphone. Register before the routes.
 *
 * helmet itself, built once: @fastify/helmet builds helmet's middleware (parsing every CSP
 * directive) on every request, 5 % of the server's CPU under `POST …/comments`.
 */
export function registerSecurityHeaders(
  app: FastifyInstance,
  options: { cspConnectSrc: readonly string[] },
): void {
  const securityHeaders = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy(options.cspConnectSrc) },
    // Cross-origin isolation would stop the Agora SDK's and any CDN's resources from loading.
    crossOriginEmbedderPolicy: false,
  });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('permissions-policy', 'camera=(self), microphone=(self), geolocation=(), payment=()');
    securityHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
  });
}
