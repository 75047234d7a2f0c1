/**
 * Whether GStreamer's WebRTC stack and its Python bindings are here: the WHIP client of the tests
 * and the server's RTMP/SRT ingest both use them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = '/usr/bin/python3';
const GST_INSPECT = '/usr/bin/gst-inspect-1.0';
const GST_HINT =
  'apt-get install gstreamer1.0-plugins-bad gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-nice gstreamer1.0-tools python3-gst-1.0 gir1.2-gst-plugins-bad-1.0';

function hasElement(element: string): boolean {
  if (!existsSync(GST_INSPECT)) return false;
  try {
    execFileSync(GST_INSPECT, [element], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function hasPythonGst(): boolean {
  try {
    execFileSync(
      PYTHON,
      [
        '-c',
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstWebRTC', '1.0'); gi.require_version('GstSdp', '1.0')",
      ],
      { stdio: 'ignore' },
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * Skip reason when GStreamer, an element the client needs or its Python bindings are missing (as
 * needsMedia: in CI a missing piece throws).
 */
export function needsGstreamer(): string | undefined {
  const elements = [
    'webrtcbin',
    'nicesrc',
    'x264enc',
    'rtph264pay',
    'vp8enc',
    'rtpvp8pay',
    'opusenc',
    'rtpopuspay',
  ];
  const missing = [
    ...(existsSync(GST_INSPECT) ? elements.filter((element) => !hasElement(element)) : ['gst-inspect-1.0']),
    ...(hasPythonGst() ? [] : ['python3-gst-1.0 (GstWebRTC)']),
  ];
  if (missing.length === 0) return undefined;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    throw new Error(`CI needs ${missing.join(', ')}: ${GST_HINT}`);
  }
  return `${missing.join(', ')} not available (${GST_HINT})`;
}
