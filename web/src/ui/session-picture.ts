import { h } from './dom.js';

/**
 * A session's picture over its card's gradient (the stream's thumbnail, refreshed by the server
 * every few seconds while live; the last one once it ended), or null when it has none yet. A
 * picture that fails to load is removed, and the gradient and avatar show again.
 */
export function sessionPicture(url: string | null): HTMLImageElement | null {
  if (!url) return null;
  const image = h('img', {
    class: 'thumb-image',
    src: url,
    alt: '',
    loading: 'lazy',
    testid: 'session-thumbnail',
  });
  image.addEventListener('error', () => image.remove());
  return image;
}
