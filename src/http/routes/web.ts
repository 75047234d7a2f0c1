import { existsSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { MediaMode } from '../../contract/media.js';
import { AppConfigSchema } from '../../contract/rest.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';

export interface WebOptions {
  /** RTCPeerConnection iceServers handed to the pages. */
  iceServers: unknown[];
  /** Whether video goes through Janus (`sfu`) or browser to browser (`mesh`). */
  media: MediaMode;
  /** Whether TURN credentials are minted (GET /ice-servers). */
  turn: boolean;
  /** The built pages; defaults to dist/web beside the compiled server. */
  root?: string;
}

/** The built web app (Vite output) at `/`, and the settings it reads at start-up. */
export const webRoutes: FastifyPluginAsync<WebOptions> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/app-config.json',
    {
      schema: {
        tags: ['web'],
        summary: 'Settings for the web app (ICE servers, media mode)',
        response: { 200: AppConfigSchema },
      },
    },
    async () => ({ ice_servers: options.iceServers, media: options.media, turn: options.turn }),
  );

  const here = dirname(fileURLToPath(import.meta.url));
  // src/http/routes → ../../../dist/web when run by tsx; dist/http/routes → ../../web when compiled.
  const root =
    options.root ??
    [resolve(here, '../../web'), resolve(here, '../../../dist/web')].find((p) => existsSync(p));
  if (!root || !existsSync(resolve(root, 'index.html'))) {
    app.log.warn('web app not built (npm run build); serving the API only');
    return;
  }
  const assets = resolve(root, 'assets') + sep;
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    // Ours below; the plugin's own Cache-Control would be written over them.
    cacheControl: false,
    setHeaders(res, path) {
      res.setHeader('cache-control', cacheControl(path, assets));
    },
  });
};

/**
 * Vite puts a content hash in every asset name (a changed file is a new URL), so assets are
 * cached for good; pages name the current assets, so they are always revalidated. (The pages'
 * Content-Security-Policy is the one of every response: src/http/security.ts.)
 */
function cacheControl(path: string, assets: string): string {
  if (path.startsWith(assets)) return 'public, max-age=31536000, immutable';
  if (path.endsWith('.html')) return 'no-cache';
  return 'public, max-age=0';
}
