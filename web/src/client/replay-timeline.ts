import type { ReplaySegment } from './types.js';

/**
 * Where in a replay's file a moment of the live falls, in seconds. The file holds the live's
 * stretches back to back (a publisher that reconnected leaves gaps between them), and `timeline`
 * says where each began, in the live and in the file:
 *
 * - inside a stretch `[at, at + duration)`: `offset_seconds + (ts − at)`;
 * - before the first stretch: 0 (the file starts there);
 * - in a gap between stretches: where the next stretch starts in the file, so what was said while
 *   the picture was away shows when it comes back;
 * - after the last: where the last one ends (the end of the file).
 *
 * `timeline` is in the live's order (the server lists it so). Without one (an older server, say),
 * the live's start is taken as the file's start.
 */
export function fileTimeOf(ts: string, timeline: readonly ReplaySegment[], startedAt: string): number {
  const at = Date.parse(ts);
  if (timeline.length === 0) return Math.max(0, (at - Date.parse(startedAt)) / 1000);
  let lastEnd = 0;
  for (const [index, segment] of timeline.entries()) {
    const begins = Date.parse(segment.at);
    if (at < begins) return index === 0 ? 0 : segment.offset_seconds; // before the file, or a gap
    const into = (at - begins) / 1000;
    if (into < segment.duration_seconds) return segment.offset_seconds + into;
    lastEnd = segment.offset_seconds + segment.duration_seconds;
  }
  return lastEnd;
}

/**
 * How many of `times` (sorted ascending) are at or before `seconds`: the comments a player at
 * that position has reached. Binary search, since it runs on every animation frame.
 */
export function countUpTo(times: readonly number[], seconds: number): number {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (times[middle]! <= seconds) low = middle + 1;
    else high = middle;
  }
  return low;
}
