import { CloseCode } from '../../../src/contract/close-codes.js';
import { Broadcaster } from '../client/broadcaster.js';
import { openCamera } from '../client/camera.js';
import { messageOf } from '../client/errors.js';
import { LiveChannel } from '../client/live-channel.js';
import { iceServersFor, VIDEO_PATH_TEXT } from '../client/media-mode.js';
import { ownLiveSessions } from '../client/own-live-sessions.js';
import type { SocketStatus } from '../client/reconnecting-socket.js';
import { SignalChannel } from '../client/signal-channel.js';
import type { AppConfig, LiveSession } from '../client/types.js';
import { WhipPublisher, type PublishState } from '../client/whip.js';
import { ThumbnailSender } from '../client/thumbnail-sender.js';
import type { AppContext, Page } from '../context.js';
import { chatActions } from '../ui/chat-actions.js';
import { ChatRulesCard } from '../ui/chat-rules-card.js';
import { PollCard } from '../ui/poll-card.js';
import { CommentsPanel } from '../ui/comments-panel.js';
import { h, svg } from '../ui/dom.js';
import { formatCount, formatDuration, secondsSince } from '../ui/format.js';
import { icons } from '../ui/icons.js';
import { runningSessionsCard } from '../ui/running-sessions.js';
import { followReplay, showSessionSummary } from '../ui/session-summary.js';
import { stat } from '../ui/stat.js';
import { ReactionTotalsView } from '../ui/reaction-totals.js';

const SESSION_REFRESH_MS = 5000;

/** What the video-path line adds while publishing through the media server. */
const PUBLISH_STATE_TEXT: Record<PublishState, string> = {
  connecting: 'connecting…',
  live: 'sending',
  retrying: 'reconnecting…',
  failed: 'stopped',
  stopped: '',
};

/**
 * The vendor's studio: camera preview, then go live (create the session, send the video), mic and
 * camera toggles, live chat and counts, and end. `resumeId` comes from `#/studio/<id>`, so
 * reloading the page while live picks the session up again. Without it, a stream the vendor is
 * already running (say, started on another device) is offered first.
 *
 * The video goes as `/app-config.json`'s `media` says: `mesh`, to each viewer over WebRTC
 * (signaling on `/ws/signal`); `sfu`, once to the media server over WHIP, republished whenever
 * the server or the connection loses it.
 */
export function studioPage(ctx: AppContext, resumeId?: string): Page {
  const user = ctx.auth!.user;
  const api = ctx.api();
  const config = api.appConfig();

  let camera: MediaStream | null = null;
  let session: LiveSession | null = null;
  let live: LiveChannel | null = null;
  let signal: SignalChannel | null = null;
  let broadcaster: Broadcaster | null = null;
  let publisher: WhipPublisher | null = null;
  let thumbnails: ThumbnailSender | null = null;
  let chat: CommentsPanel | null = null;
  let pollCard: PollCard | null = null;
  let viewsTotal = 0;
  let countRefresh: ReturnType<typeof setTimeout> | null = null;
  let starting = false;
  let replayWatch: { stop(): void } | null = null;
  let disposed = false;

  // --- elements -------------------------------------------------------------------------------
  const video = h('video', {
    class: 'stage-video mirrored',
    testid: 'local-video',
    autoplay: true,
    playsinline: true,
    muted: true,
  });
  video.muted = true; // the attribute alone does not mute a video created by script
  const stageMessage = h(
    'div',
    { class: 'stage-overlay' },
    h('div', { class: 'spinner' }),
    'Starting camera…',
  );
  const liveBadge = h('span', { class: 'live-badge stage-badge', hidden: true }, 'LIVE');
  const stage = h('div', { class: 'stage' }, video, stageMessage, liveBadge);

  const micButton = h('button', { class: 'btn btn-control', type: 'button', testid: 'toggle-mic' });
  const camButton = h('button', { class: 'btn btn-control', type: 'button', testid: 'toggle-camera' });
  const endButton = h(
    'button',
    { class: 'btn btn-danger', type: 'button', testid: 'end-live', hidden: true },
    svg(icons.stop, 16),
    h('span', { class: 'btn-label' }, 'End live'),
  );
  const controls = h(
    'div',
    { class: 'controls' },
    micButton,
    camButton,
    h('span', { class: 'spacer' }),
    endButton,
  );

  const title = h('input', {
    class: 'input input-lg',
    id: 'session-title',
    testid: 'session-title',
    type: 'text',
    maxlength: 200,
    placeholder: 'What are you streaming today?',
    required: true,
  });
  const goLive = h(
    'button',
    { class: 'btn btn-primary btn-lg btn-block', type: 'submit', testid: 'go-live', disabled: true },
    svg(icons.radio, 18),
    'Go live',
  );
  // Sent as `record`; checked by default, since a replay is what most vendors want afterwards.
  const record = h('input', {
    type: 'checkbox',
    id: 'record-session',
    testid: 'record-session',
    checked: true,
  });
  const setupError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const setup = h(
    'form',
    { class: 'card setup', onsubmit: (event) => void start(event) },
    h('h2', {}, 'Ready to go live?'),
    h(
      'p',
      { class: 'muted' },
      'Viewers find you in the lobby by this title. Comments and counts appear here once you are live.',
    ),
    h('label', { class: 'field', for: 'session-title' }, h('span', {}, 'Title'), title),
    h('label', { class: 'check-field', for: 'record-session' }, record, h('span', {}, 'Record this session')),
    setupError,
    goLive,
  );

  const viewers = stat(icons.users, 'watching now', 'viewer-count');
  const views = stat(icons.eye, 'unique viewers', 'views-total');
  const duration = stat(icons.clock, 'live for', 'live-duration');
  duration.value.textContent = '0:00';
  const peers = stat(icons.radio, 'receiving video', 'connected-peers');
  const reactionTotals = new ReactionTotalsView();
  const stats = h(
    'div',
    { class: 'stats stats-4', hidden: true },
    viewers.element,
    views.element,
    duration.element,
    peers.element,
    reactionTotals.element,
  );
  const connection = h('p', {
    class: 'connection-note',
    role: 'status',
    testid: 'connection-note',
    hidden: true,
  });
  // Which path the video takes (and, through the media server, how sending goes): `data-mode`
  // and `data-state` say the same for tests.
  const videoPathText = h('span');
  const videoPathState = h('span', { class: 'video-path-state' });
  const videoPath = h(
    'p',
    { class: 'muted video-path', testid: 'video-path', hidden: true },
    videoPathText,
    videoPathState,
  );
  void config.then(({ media }) => {
    videoPathText.textContent = VIDEO_PATH_TEXT[media];
    videoPath.dataset.mode = media;
    videoPath.hidden = false;
  });
  const heading = h('h1', {}, 'Studio');
  const subtitle = h('p', { class: 'muted' }, 'Check your camera, name your stream and go live.');
  const side = h('aside', { class: 'watch-side' }, setup);
  // The vendor's chat rules (blocked terms, moderators; bans once live) for all of their streams.
  const rules = new ChatRulesCard(api);
  void rules.load();
  const main = h(
    'div',
    { class: 'watch-main' },
    stage,
    controls,
    videoPath,
    connection,
    stats,
    rules.element,
  );

  // --- camera ---------------------------------------------------------------------------------
  function renderToggles(): void {
    const audio = camera?.getAudioTracks()[0];
    const cam = camera?.getVideoTracks()[0];
    const micOn = Boolean(audio?.enabled);
    const camOn = Boolean(cam?.enabled);
    const micLabel = micOn ? 'Mute' : 'Unmute';
    const camLabel = camOn ? 'Camera off' : 'Camera on';
    // Labels hide on narrow screens; aria-label keeps the buttons named.
    micButton.replaceChildren(
      svg(micOn ? icons.mic : icons.micOff, 18),
      h('span', { class: 'btn-label' }, micLabel),
    );
    micButton.setAttribute('aria-label', micLabel);
    camButton.setAttribute('aria-label', camLabel);
    camButton.replaceChildren(
      svg(camOn ? icons.camera : icons.cameraOff, 18),
      h('span', { class: 'btn-label' }, camLabel),
    );
    micButton.disabled = !audio;
    camButton.disabled = !cam;
    micButton.classList.toggle('off', !micOn);
    camButton.classList.toggle('off', !camOn);
    micButton.setAttribute('aria-pressed', String(!micOn));
    camButton.setAttribute('aria-pressed', String(!camOn));
    if (camera && !camOn) showStage('Camera is off. Viewers see a dark screen.');
    else if (camera) stageMessage.hidden = true;
  }

  // Disabling a track (rather than removing it) keeps every peer connection as it is.
  micButton.addEventListener('click', () => {
    const track = camera?.getAudioTracks()[0];
    if (track) track.enabled = !track.enabled;
    renderToggles();
  });
  camButton.addEventListener('click', () => {
    const track = camera?.getVideoTracks()[0];
    if (track) track.enabled = !track.enabled;
    renderToggles();
  });

  function showStage(message: string, spinner = false): void {
    stageMessage.replaceChildren(...(spinner ? [h('div', { class: 'spinner' })] : []), message);
    stageMessage.hidden = false;
  }

  async function startCamera(): Promise<void> {
    try {
      const stream = await openCamera();
      if (disposed) {
        stream.getTracks().forEach((track) => track.stop());
        return;
      }
      camera = stream;
      video.srcObject = stream;
      goLive.disabled = false;
      renderToggles();
    } catch (failure) {
      showStage(messageOf(failure));
      setupError.textContent = 'You need a camera or microphone to go live.';
      setupError.hidden = false;
    }
  }

  // --- going live -----------------------------------------------------------------------------
  async function start(event: Event): Promise<void> {
    event.preventDefault();
    if (!camera || !title.value.trim()) return;
    starting = true;
    goLive.disabled = true;
    setupError.hidden = true;
    try {
      const created = await api.createSession(title.value.trim(), record.checked);
      if (disposed) return;
      // Record the id in the address (without a re-route) so a reload resumes this session.
      history.replaceState(null, '', `#/studio/${encodeURIComponent(created.session_id)}`);
      await broadcast(created);
    } catch (failure) {
      setupError.textContent = messageOf(failure);
      setupError.hidden = false;
      goLive.disabled = false;
      starting = false;
    }
  }

  async function broadcast(current: LiveSession): Promise<void> {
    session = current;
    viewsTotal = current.views_total;
    showLive(current);
    const panel = new CommentsPanel({
      hostId: user.id,
      selfId: user.id,
      post: (message) => live!.postComment(message),
      actions: chatActions(api, current.session_id, {
        makeModerator: (comment) => rules.addModerator(comment.user_id),
        isModerator: (id) => rules.isModerator(id),
        banned: () => void rules.reloadBans(),
      }),
    });
    panel.setCanModerate(true); // the host moderates their own chat
    chat = panel;
    pollCard?.dispose();
    pollCard = new PollCard(api, current.session_id, true);
    side.replaceChildren(pollCard.element, panel.element);
    rules.setSession(current.session_id);
    thumbnails?.stop();
    thumbnails = new ThumbnailSender(api, current.session_id, video, () =>
      Boolean(camera?.getVideoTracks()[0]?.enabled),
    );

    live = new LiveChannel(api, current.session_id, {
      ...panel.chatEvents(),
      onViewerCount: (count) => {
        viewers.value.textContent = formatCount(count);
        // A new viewer may be a new unique view: ask the server soon, not on every tick.
        if (countRefresh) clearTimeout(countRefresh);
        countRefresh = setTimeout(() => void refreshSession(), 300);
      },
      onViewsTotal: (total) => setViewsTotal(total),
      onReactionsTotal: (totals) => reactionTotals.set(totals),
      onReactions: (counts) => reactionTotals.add(counts),
      onPoll: (poll) => pollCard?.show(poll),
      onSessionEnded: (event) => showEnded(event.live_duration_seconds),
      onStatus: (status) => showConnection(status),
      // `reconnecting` while we publish: the server lost our stream (its media server died, say).
      onMedia: (state) => {
        if (state === 'reconnecting') publisher?.serverLost();
      },
    });
    live.start();

    const settings = await config;
    if (disposed || !camera || !session?.is_live) return;
    if (settings.media === 'sfu') return publish(current, camera, settings);
    const servers = await iceServersFor(api, settings);
    if (disposed || !camera || !session?.is_live) return;
    const stream = camera;
    signal = new SignalChannel(
      api,
      current.session_id,
      'vendor',
      (message) => broadcaster?.handle(message),
      showSignalStatus,
    );
    broadcaster = new Broadcaster(
      stream,
      servers,
      (command) => signal?.send(command) ?? false,
      (states) => {
        const connected = [...states.values()].filter((state) => state === 'connected').length;
        peers.value.textContent = formatCount(connected);
      },
    );
    signal.start();
  }

  /** SFU mode: the camera to the media server; viewers get it from there (no per-viewer count). */
  function publish(current: LiveSession, stream: MediaStream, settings: AppConfig): void {
    peers.element.hidden = true;
    stats.classList.remove('stats-4');
    publisher = new WhipPublisher({
      api,
      sessionId: current.session_id,
      iceServers: () => iceServersFor(api, settings),
      onState: showPublishState,
    });
    publisher.publish(stream);
  }

  function showPublishState(state: PublishState, error?: unknown): void {
    videoPath.dataset.state = state;
    const words = PUBLISH_STATE_TEXT[state];
    videoPathState.textContent = words ? ` · ${words}` : '';
    // Refused for good (not ours, or the session ended): say why; an end shows itself anyway.
    if (state === 'failed' && session?.is_live) {
      connection.textContent = `Video sending stopped: ${messageOf(error)}`;
      connection.hidden = false;
    }
  }

  function setViewsTotal(total: number): void {
    // Unique views only grow; an older reply never takes the number back.
    viewsTotal = Math.max(viewsTotal, total);
    views.value.textContent = formatCount(viewsTotal);
  }

  async function refreshSession(): Promise<void> {
    if (!session?.is_live) return;
    try {
      const fresh = await api.session(session.session_id);
      setViewsTotal(fresh.views_total);
      if (!fresh.is_live) showEnded(fresh.live_duration_seconds);
    } catch {
      // The socket carries the counts too; a missed refresh only delays the unique-views number.
    }
  }

  function showConnection(status: SocketStatus): void {
    if (status.state === 'waiting') {
      connection.textContent = 'Connection lost. Reconnecting…';
      connection.hidden = false;
    } else if (status.state === 'open') {
      connection.hidden = true;
    } else if (status.state === 'closed' && session?.is_live && status.code !== CloseCode.normal) {
      if (status.code === CloseCode.ended) return showEnded(secondsSince(session.started_at));
      connection.textContent =
        status.code === CloseCode.unauthorized
          ? 'Your sign-in has expired. Sign in again to keep streaming.'
          : 'Disconnected.';
      connection.hidden = false;
    }
  }

  function showSignalStatus(status: SocketStatus): void {
    if (status.state !== 'closed' || !session?.is_live) return;
    // Replaced: a newer studio (another tab or device) took over sending video for this session.
    connection.textContent =
      status.code === CloseCode.replaced
        ? 'Your video is now being sent from another tab or device.'
        : 'Video sending stopped. Reload the page to reconnect.';
    connection.hidden = false;
  }

  function showLive(current: LiveSession): void {
    heading.textContent = current.title;
    document.title = `Live: ${current.title} · Streammeon`;
    subtitle.replaceChildren(h('span', { class: 'live-dot' }), 'You are live');
    stats.hidden = false;
    liveBadge.hidden = false;
    endButton.hidden = false;
    viewers.value.textContent = formatCount(current.viewer_count);
    views.value.textContent = formatCount(current.views_total);
    duration.value.textContent = formatDuration(secondsSince(current.started_at));
  }

  async function end(): Promise<void> {
    if (!session) return;
    endButton.disabled = true;
    try {
      const ended = await api.endSession(session.session_id);
      showEnded(ended.live_duration_seconds);
    } catch (failure) {
      connection.textContent = messageOf(failure);
      connection.hidden = false;
      endButton.disabled = false;
    }
  }
  endButton.addEventListener('click', () => void end());

  function showEnded(liveSeconds: number): void {
    if (!session || !session.is_live) return;
    session = { ...session, is_live: false };
    stopStreaming();
    heading.textContent = session.title;
    subtitle.textContent = 'Stream ended';
    liveBadge.hidden = true;
    endButton.hidden = true;
    controls.hidden = true;
    connection.hidden = true;
    duration.value.textContent = formatDuration(liveSeconds);
    showStage('Your stream has ended.');
    stageMessage.append(
      h(
        'p',
        { class: 'muted' },
        `Live for ${formatDuration(liveSeconds)} · ${formatCount(viewsTotal)} unique viewers`,
      ),
      h('a', { class: 'btn btn-primary', href: '#/studio' }, 'Start a new stream'),
    );
    stageMessage.dataset.testid = 'session-ended';
    const ended = session.session_id;
    // The replay's line goes under the summary, just above "Start a new stream".
    void showSessionSummary(api, ended, stageMessage).then(() => {
      if (!disposed) replayWatch = followReplay(api, ended, stageMessage);
    });
    // Only the totals still mean something once the stream is over.
    viewers.element.hidden = true;
    peers.element.hidden = true;
    stats.classList.remove('stats-4');
    chat?.setEnabled(false, 'Chat is closed');
  }

  function stopStreaming(): void {
    thumbnails?.stop();
    thumbnails = null;
    broadcaster?.stop();
    broadcaster = null;
    void publisher?.stop();
    publisher = null;
    signal?.close();
    signal = null;
    live?.close();
    live = null;
    camera?.getTracks().forEach((track) => track.stop());
    camera = null;
    video.srcObject = null;
  }

  async function resume(id: string): Promise<void> {
    try {
      const existing = await api.session(id);
      if (disposed) return;
      if (String(existing.vendor.id) !== String(user.id)) {
        ctx.navigate(`#/watch/${encodeURIComponent(id)}`);
        return;
      }
      if (!existing.is_live) {
        ctx.navigate('#/studio');
        return;
      }
      await broadcast(existing);
    } catch (failure) {
      setupError.textContent = messageOf(failure);
      setupError.hidden = false;
    }
  }

  /**
   * A vendor signing in on a second device must not land on an empty studio while their stream
   * runs elsewhere: offer it, to resume here or to end.
   */
  async function offerRunning(): Promise<void> {
    let running: LiveSession[];
    try {
      running = await ownLiveSessions(api, user.id);
    } catch {
      return; // going live still works; the running stream stays reachable from the lobby
    }
    if (disposed || starting || session || running.length === 0) return;
    subtitle.textContent = 'You already have a stream running.';
    side.replaceChildren(
      runningSessionsCard(running, {
        resume: (found) => ctx.navigate(`#/studio/${encodeURIComponent(found.session_id)}`),
        end: (found) => api.endSession(found.session_id),
        allEnded: () => {
          subtitle.textContent = 'Check your camera, name your stream and go live.';
          side.replaceChildren(setup);
        },
      }),
    );
  }

  // Closing the tab while live would cut every viewer off: ask first.
  const confirmLeave = (event: BeforeUnloadEvent) => {
    if (session?.is_live) event.preventDefault();
  };
  window.addEventListener('beforeunload', confirmLeave);

  const clock = setInterval(() => {
    if (session?.is_live) duration.value.textContent = formatDuration(secondsSince(session.started_at));
  }, 1000);
  const poll = setInterval(() => void refreshSession(), SESSION_REFRESH_MS);

  void startCamera().then(() => {
    if (resumeId && camera && !disposed) void resume(resumeId);
  });
  if (!resumeId) void offerRunning();
  renderToggles();

  const element = h(
    'main',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('div', {}, heading, subtitle)),
    h('div', { class: 'watch-layout' }, main, side),
  );
  return {
    element,
    title: 'Studio',
    dispose() {
      disposed = true;
      window.removeEventListener('beforeunload', confirmLeave);
      clearInterval(clock);
      clearInterval(poll);
      if (countRefresh) clearTimeout(countRefresh);
      stopStreaming();
      chat?.dispose();
      pollCard?.dispose();
      rules.dispose();
      replayWatch?.stop();
    },
  };
}
