/**
 * A WHIP client that is not a browser publishes with a stream key, and a browser viewer plays it:
 * GStreamer's webrtcbin (libnice ICE, x264enc H.264 or vp8enc VP8, Opus), run in the media
 * namespace through PyGObject. Only the WHIP exchange (POST the offer with every candidate,
 * apply the 201 answer, DELETE the Location on SIGTERM) is the script below; SDP, ICE, DTLS and
 * RTP are GStreamer's.
 *
 * Why not a ready-made client: GStreamer's `whipsink`/`whipclientsink` are in gst-plugins-rs,
 * which Debian 12 does not ship; Debian 12's `simple-whip-client` (Meetecho) is linked with
 * libsoup 2 while libnice pulls libsoup 3 (through gupnp-igd), so it aborts at start ("libsoup2
 * symbols detected. Using libsoup2 and libsoup3 in the same process is not supported").
 */
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { RunningApp } from './support/app.js';
import { call, register, replayReady } from './support/http.js';
import { JanusProbe, playFromPage } from './support/media-clients.js';
import { needsGstreamer, PYTHON } from './support/gstreamer.js';
import { needsMedia, type JanusProcess } from './support/media-net.js';
import { startMediaStack, type MediaStack } from './support/media-stack.js';
import { eventually } from './support/ws.js';

/** argv: WHIP endpoint, bearer token, video branch, audio branch. */
const WHIP_CLIENT = String.raw`
import signal, sys, time, urllib.request, urllib.parse
import gi
gi.require_version('Gst', '1.0'); gi.require_version('GstWebRTC', '1.0'); gi.require_version('GstSdp', '1.0')
from gi.repository import GLib, Gst, GstSdp, GstWebRTC

endpoint, token, video, audio = sys.argv[1:5]
Gst.init(None)
loop = GLib.MainLoop()
state = {'resource': None}
log = lambda *a: print('[whip]', *a, flush=True)

pipe = Gst.parse_launch('webrtcbin name=webrtc bundle-policy=max-bundle ' + video + ' ! webrtc. ' + audio + ' ! webrtc.')
webrtc = pipe.get_by_name('webrtc')

def request(method, url, body=None, kind=None):
    headers = {'Authorization': 'Bearer ' + token}
    if kind: headers['Content-Type'] = kind
    req = urllib.request.Request(url, data=body.encode() if body else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.headers, res.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()

def publish():
    if webrtc.get_property('ice-gathering-state') != GstWebRTC.WebRTCICEGatheringState.COMPLETE and time.time() < state['deadline']:
        return True
    offer = webrtc.get_property('local-description').sdp.as_text().replace('a=sendrecv', 'a=sendonly')
    log('POST', endpoint)
    status, headers, body = request('POST', endpoint, offer, 'application/sdp')
    log('status', status, headers.get('Location'), headers.get('ETag'))
    if status != 201:
        log('refused', body); loop.quit(); return False
    state['resource'] = urllib.parse.urljoin(endpoint, headers['Location'])
    ok, sdp = GstSdp.SDPMessage.new_from_text(body)
    answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
    webrtc.emit('set-remote-description', answer, Gst.Promise.new())
    return False

def on_offer(promise):
    promise.wait()
    reply = promise.get_reply()  # kept in a variable: chaining get_value on it crashes PyGObject
    offer = reply.get_value('offer')
    webrtc.emit('set-local-description', offer, Gst.Promise.new())
    state['deadline'] = time.time() + 3
    GLib.timeout_add(50, publish)

def on_negotiation_needed(element):
    for index in range(2):
        transceiver = webrtc.emit('get-transceiver', index)
        if transceiver: transceiver.set_property('direction', GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
    webrtc.emit('create-offer', None, Gst.Promise.new_with_change_func(on_offer))

webrtc.connect('on-negotiation-needed', on_negotiation_needed)
webrtc.connect('notify::connection-state', lambda *a: log('connection', webrtc.get_property('connection-state').value_nick))

def stop(*args):
    if state['resource']:
        status, headers, body = request('DELETE', state['resource'])
        log('DELETE', status)
    loop.quit()
    return False

GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, stop)
pipe.set_state(Gst.State.PLAYING)
loop.run()
pipe.set_state(Gst.State.NULL)
log('bye')
`;

const skip = needsMedia() ?? needsGstreamer();

const VIDEO = {
  h264:
    'videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=480,framerate=30/1 ! videoconvert ! ' +
    'x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=1000 ! ' +
    'video/x-h264,profile=constrained-baseline ! h264parse ! ' +
    'rtph264pay config-interval=-1 aggregate-mode=zero-latency pt=96 ! ' +
    'application/x-rtp,media=video,encoding-name=H264,payload=96',
  vp8:
    'videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=480,framerate=30/1 ! videoconvert ! ' +
    'vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay pt=96 ! ' +
    'application/x-rtp,media=video,encoding-name=VP8,payload=96',
};
const AUDIO =
  'audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 ! ' +
  'application/x-rtp,media=audio,encoding-name=OPUS,payload=111';

describe('a GStreamer (webrtcbin) WHIP client publishing with a stream key', { skip }, () => {
  let stack: MediaStack;
  let server: RunningApp;
  let page: Page;
  let probe: JanusProbe;

  before(async () => {
    stack = await startMediaStack();
    server = stack.server;
    page = await stack.browser.newPage();
    await page.goto(`${server.baseUrl}/app-config.json`);
    probe = await JanusProbe.open(stack.janus[0] as JanusProcess);
  });

  after(async () => {
    await probe?.close();
    await stack?.close();
  });

  /** The WHIP client in the namespace, logging to `logFile`. */
  function startWhipClient(key: string, video: string, logFile: string): ChildProcess {
    return stack.net.exec(
      PYTHON,
      ['-u', '-c', WHIP_CLIENT, `${server.baseUrl}/whip`, key, video, AUDIO],
      logFile,
    );
  }

  /** Sends SIGTERM (the client then DELETEs its resource) and waits for it to exit. */
  async function stopWhipClient(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  for (const codec of ['h264', 'vp8'] as const) {
    it(`publishes ${codec.toUpperCase()} + Opus to a new session titled by the key; a browser plays it, then its replay`, async () => {
      const vendor = await register(server.baseUrl, 'vendor');
      const title = `GStreamer ${codec}`;
      const created = await call(server.baseUrl, 'POST', '/me/stream-keys', {
        token: vendor.token,
        body: { name: 'GStreamer', title },
      });
      assert.equal(created.status, 201);
      const handlesBefore = await probe.handles();
      const logFile = `${stack.net.dir}/whip-client-${codec}.log`;
      const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '(no log)');
      const child = startWhipClient(created.body.key, VIDEO[codec], logFile);
      let sessionId = '';
      try {
        await eventually(
          async () => {
            if (child.exitCode !== null) throw new Error(`the WHIP client exited early:\n${log()}`);
            const active = await call(server.baseUrl, 'GET', '/live/sessions/active?limit=200');
            const sessions: { session_id: string; vendor: { id: unknown } }[] = active.body.items;
            const mine = sessions.find((s) => String(s.vendor.id) === String(vendor.user.id));
            sessionId = mine?.session_id ?? '';
            if (!sessionId) return false;
            const room = await server.app.media.sfu().rooms.get(sessionId);
            return room?.state === 'live';
          },
          'the stream key owner has a live session with live media',
          15_000,
        ).catch((error: Error) => {
          throw new Error(`${error.message}\n--- WHIP client log\n${log()}`);
        });
        const session = await call(server.baseUrl, 'GET', `/live/sessions/${sessionId}`);
        assert.equal(session.body.title, title);
        assert.equal(session.body.is_live, true);
        assert.equal(String(session.body.vendor.id), String(vendor.user.id));
        assert.ok((await probe.handles()) > handlesBefore, "the client's handle is in Janus");

        const viewer = await register(server.baseUrl);
        const played = await playFromPage(page, sessionId, viewer.token);
        assert.equal(played.post, 406);
        assert.equal(played.patch, 204);
        assert.ok(played.width > 0, `the viewer decodes ${codec} video\n${log()}`);
        assert.ok(played.advancing, 'playback advances');
        const mimeType = await page.evaluate(async () => {
          const pcs = (window as unknown as { whep?: RTCPeerConnection[] }).whep ?? [];
          const pc = pcs[pcs.length - 1];
          if (!pc) return '';
          const stats = await pc.getStats();
          let codecId = '';
          stats.forEach((report: { type: string; kind?: string; codecId?: string }) => {
            if (report.type === 'inbound-rtp' && report.kind === 'video') codecId = report.codecId ?? '';
          });
          return (stats.get(codecId) as { mimeType?: string } | undefined)?.mimeType ?? '';
        });
        assert.equal(mimeType.toLowerCase(), `video/${codec}`, 'the viewer receives what GStreamer encoded');
        await page.evaluate(() => {
          const state = window as unknown as { whep?: RTCPeerConnection[] };
          for (const pc of state.whep ?? []) pc.close();
          state.whep = [];
          for (const video of document.querySelectorAll('video')) video.remove();
        });
      } finally {
        await stopWhipClient(child);
      }
      // Its DELETE (sent on SIGTERM) leaves the session live with its media stopped, and its
      // handle goes from Janus (the viewer's went with the page's connection).
      assert.match(readFileSync(logFile, 'utf8'), /DELETE 200/);
      await eventually(
        async () => (await probe.handles()) <= handlesBefore,
        "the client's handle is gone from Janus",
        10_000,
      );

      // The recorded session becomes a replay in the container its codec plays in.
      await call(server.baseUrl, 'POST', `/live/sessions/${sessionId}/end`, { token: vendor.token });
      const replay = await replayReady(server.baseUrl, sessionId);
      assert.equal(replay.content_type, codec === 'h264' ? 'video/mp4' : 'video/webm');
      const media = await fetch(`${server.baseUrl}${replay.url}`, {
        headers: { authorization: `Bearer ${vendor.token}` },
      });
      assert.equal(media.status, 200);
      const file = `${stack.net.dir}/replay-${codec}`;
      writeFileSync(file, Buffer.from(await media.arrayBuffer()));
      const streams = execFileSync('ffprobe', [
        '-v',
        'error',
        '-show_entries',
        'stream=codec_name',
        '-of',
        'csv=p=0',
        file,
      ])
        .toString()
        .trim()
        .split('\n')
        .sort();
      assert.deepEqual(streams, codec === 'h264' ? ['aac', 'h264'] : ['opus', 'vp8']);
    });
  }
});
