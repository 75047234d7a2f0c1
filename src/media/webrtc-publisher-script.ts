/**
 * The WebRTC side of an RTMP ingest, run as `python3 -c WEBRTC_PUBLISHER <audio|noaudio>`:
 * GStreamer's webrtcbin (libnice ICE, DTLS-SRTP) sends the H.264 and Opus that FFmpeg writes as
 * MPEG-TS on its stdin. Node does the signaling, in JSON lines: the script writes `{"offer": sdp}`
 * (every candidate gathered, sendonly) on stdout once both streams have caps, reads `{"answer":
 * sdp}` on fd 3, then reports `{"state": …}` as the connection changes and exits at the end of the
 * input (0) or when the connection fails or GStreamer errs (1, with `{"error": …}`).
 *
 * Why Python and GStreamer rather than a WHIP client: Debian 12 ships neither GStreamer's
 * `whipsink` (gst-plugins-rs) nor a usable `simple-whip-client` (see test/media-whip-client.test.ts),
 * and FFmpeg 5.1 has no WebRTC output; webrtcbin is Debian's maintained WebRTC stack.
 */
export const WEBRTC_PUBLISHER = String.raw`
import json, os, sys, time
import gi
gi.require_version('Gst', '1.0'); gi.require_version('GstWebRTC', '1.0'); gi.require_version('GstSdp', '1.0')
from gi.repository import GLib, Gst, GstSdp, GstWebRTC

audio = sys.argv[1] == 'audio'
Gst.init(None)
loop = GLib.MainLoop()
state = {'offered': False, 'caps': set(), 'code': 0, 'deadline': 0}

def say(**message):
    sys.stdout.write(json.dumps(message) + '\n'); sys.stdout.flush()

branches = ['video'] + (['audio'] if audio else [])
launch = ('webrtcbin name=webrtc bundle-policy=max-bundle fdsrc fd=0 blocksize=65536 ! tsdemux name=demux '
    'demux. ! queue ! h264parse config-interval=-1 ! rtph264pay config-interval=-1 aggregate-mode=zero-latency pt=96 ! '
    'application/x-rtp,media=video,encoding-name=H264,payload=96 ! identity name=video ! webrtc. ')
if audio:
    launch += ('demux. ! queue ! opusparse ! rtpopuspay pt=111 ! '
        'application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! identity name=audio ! webrtc. ')
pipe = Gst.parse_launch(launch)
webrtc = pipe.get_by_name('webrtc')

def send_offer():
    gathered = webrtc.get_property('ice-gathering-state') == GstWebRTC.WebRTCICEGatheringState.COMPLETE
    if not gathered and time.time() < state['deadline']:
        return True
    sdp = webrtc.get_property('local-description').sdp.as_text().replace('a=sendrecv', 'a=sendonly')
    say(offer=sdp)
    return False

def on_offer(promise):
    promise.wait()
    reply = promise.get_reply()  # kept in a variable: chaining get_value on it crashes PyGObject
    offer = reply.get_value('offer')
    webrtc.emit('set-local-description', offer, Gst.Promise.new())
    state['deadline'] = time.time() + 3
    GLib.timeout_add(50, send_offer)

def make_offer():
    index = 0
    while True:
        transceiver = webrtc.emit('get-transceiver', index)
        if not transceiver: break
        transceiver.set_property('direction', GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        index += 1
    webrtc.emit('create-offer', None, Gst.Promise.new_with_change_func(on_offer))
    return False

# The offer waits for real caps (H.264 profile, parameter sets) on every branch.
def on_caps(pad, info, name):
    event = info.get_event()
    if event.type == Gst.EventType.CAPS and name not in state['caps']:
        state['caps'].add(name)
        if len(state['caps']) == len(branches) and not state['offered']:
            state['offered'] = True
            GLib.idle_add(make_offer)
    return Gst.PadProbeReturn.OK

for name in branches:
    pipe.get_by_name(name).get_static_pad('src').add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_caps, name)

def on_answer(fd, condition):
    line = os.read(fd, 1 << 20)
    if not line:
        return False
    message = json.loads(line.decode())
    ok, sdp = GstSdp.SDPMessage.new_from_text(message['answer'])
    answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
    webrtc.emit('set-remote-description', answer, Gst.Promise.new())
    return False

GLib.io_add_watch(3, GLib.IO_IN | GLib.IO_HUP, on_answer)
webrtc.connect('on-negotiation-needed', lambda element: None)

def on_state(*args):
    value = webrtc.get_property('connection-state').value_nick
    say(state=value)
    if value == 'failed':
        state['code'] = 1; loop.quit()

webrtc.connect('notify::connection-state', on_state)

def on_message(bus, message):
    if message.type == Gst.MessageType.EOS:
        loop.quit()
    elif message.type == Gst.MessageType.ERROR:
        error, debug = message.parse_error()
        say(error=error.message); state['code'] = 1; loop.quit()

bus = pipe.get_bus(); bus.add_signal_watch(); bus.connect('message', on_message)
pipe.set_state(Gst.State.PLAYING)
loop.run()
pipe.set_state(Gst.State.NULL)
sys.exit(state['code'])
`;
