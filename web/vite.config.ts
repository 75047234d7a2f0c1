import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = dirname(fileURLToPath(import.meta.url));

/** Every index.html under web/ is a page: web/index.html is `/`, web/examples/web/index.html is `/examples/web/`. */
function pages(dir: string, found: Record<string, string> = {}): Record<string, string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (entry === 'node_modules' || entry === 'public') continue;
    if (statSync(path).isDirectory()) pages(path, found);
    else if (entry === 'index.html') found[relative(root, dir) || 'main'] = path;
  }
  return found;
}

export default defineConfig({
  root,
  base: '/',
  build: {
    outDir: resolve(root, '../dist/web'),
    emptyOutDir: true,
    // The Agora demo lazily loads Agora's Web SDK (~1.5 MB); the app itself stays small.
    chunkSizeWarningLimit: 2_000,
    rollupOptions: { input: pages(root) },
  },
  server: {
    // `npm run dev:web` proxies the API to a server on :8000.
    proxy: {
      ...Object.fromEntries(
        ['/auth', '/me', '/live', '/app-config.json', '/ice-servers', '/rtc', '/rtm', '/rte'].map(
          (path): [string, string] => [path, 'http://127.0.0.1:8000'],
        ),
      ),
      '/ws': { target: 'ws://127.0.0.1:8000', ws: true },
    },
  },
});
