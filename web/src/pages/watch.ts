import { CloseCode } from '../../../src/contract/close-codes.js';
import { ApiError, messageOf } from '../client/errors.js';
import { LiveChannel } from '../client/live-channel.js';
import { iceServersFor } from '../client/media-mode.js';
import { Receiver, type ReceiverState } from '../client/receiver.js';
import type { SocketStatus } from '../client/reconnecting-socket.js';
import { SignalChannel } from '../client/signal-channel.js';
import type { AppConfig, LiveSession, Replay } from '../client/types.js';
import { WhepPlayer, type PlayerState } from '../client/whep.js';
import type { AppContext, Page } from '../context.js';
import { chatActions } from '../ui/chat-actions.js';
import { CommentsPanel } from '../ui/comments-panel.js';
import { h, svg } from '../ui/dom.js';
import { formatCount, formatDuration, formatTime, hueOf, initials, secondsSince } from '../ui/format.js';
import { icons } from '../ui/icons.js';
import { PollCard } from '../ui/poll-card.js';
import { ReactionsBar } from '../ui/reactions-bar.js';
import { ReplayChat } from '../ui/replay-chat.js';
import { stat } from '../ui/stat.js';

/** How often an ended session's replay is asked for again while it is being prepared. */
const REPLAY_POLL_MS = 3000;

const RECEIVER_MESSAGES: Record<ReceiverState, string> = {
  waiting: 'Waiting for the host’s camera…',
  connecting: 'Connecting to the stream…',
  playing: '',
  'vendor-away': 'The host lost connection. Waiting for them to come back…',
  failed: 'The video connection failed. Trying again…',
};

/** SFU mode: what the `media-state` overlay says; empty while the video plays (it is hidden). */
const PLAYER_MESSAGES: Record<PlayerState, string> = {
  connecting: 'Connecting to the stream…',
  playing: '',
  waiting: 'Waiting for the host’s video…',
  reconnecting: 'Reconnecting… The host’s video will be back shortly.',
  stopped: 'The host stopped the video.',
  failed: 'The video could not be played. Reload the page to try again.',
};

/**
 * A viewer's page: the vendor's video, volume, live chat and counts, and the end of the show.
 * The video comes as `/app-config.json`'s `media` says: `mesh`, straight from the vendor's browser
 * (signaling on `/ws/signal`); `sfu`, from the media server over WHEP, following `/ws/live`'s
 * `media` events.
 */
export function watchPage(ctx: AppContext, sessionId: string): Page {
  const api = ctx.api();
  let session: LiveSession | null = null;
  let live: LiveChannel | null = null;
  let signal: SignalChannel | null = null;
  let receiver: Receiver | null = null;
  let player: WhepPlayer | null = null;
  let chat: CommentsPanel | null = null;
  let pollCard: PollCard | null = null;
  let replayChat: ReplayChat | null = null;
  let replayPoll: ReturnType<typeof setTimeout> | null = null;
  let disposed = false;

  // --- elements -------------------------------------------------------------------------------
  const video = h('video', {
    class: 'stage-video',
    testid: 'remote-video',
    autoplay: true,
    playsinline: true,
  });
  const stageMessage = h('div', { class: 'stage-overlay' }, h('div', { class: 'spinner' }), 'Loading…');
  const endedOverlay = h('div', { class: 'stage-overlay ended', testid: 'session-ended', hidden: true });
  // SFU mode's overlay: the player's state, hidden while the video plays.
  const mediaState = h('div', {
    class: 'stage-overlay',
    role: 'status',
    testid: 'media-state',
    hidden: true,
  });
  const liveBadge = h('span', { class: 'live-badge stage-badge', hidden: true }, 'LIVE');
  // An ended session's replay: being prepared, failed, none, or playing (`data-status`).
  const replayState = h('p', { class: 'replay-state', role: 'status', testid: 'replay-state', hidden: true });
  const unmuteHint = h(
    'button',
    { class: 'btn btn-primary unmute-hint', type: 'button', hidden: true },
    svg(icons.volumeOff, 18),
    'Tap to unmute',
  );
  // Shown while the session is live; taps go out on the chat's socket.
  const reactions = new ReactionsBar((kind) => live?.react(kind));
  reactions.element.hidden = true;
  const stage = h(
    'div',
    { class: 'stage' },
    video,
    reactions.layer,
    stageMessage,
    mediaState,
    endedOverlay,
    liveBadge,
    unmuteHint,
  );

  const muteButton = h('button', { class: 'btn btn-control btn-icon', type: 'button', testid: 'mute' });
  const volume = h('input', {
    class: 'volume',
    type: 'range',
    min: 0,
    max: 1,
    step: 0.05,
    value: 1,
    testid: 'volume',
    'aria-label': 'Volume',
  });
  const controls = h(
    'div',
    { class: 'controls' },
    h('div', { class: 'volume-group' }, muteButton, volume),
    h('span', { class: 'spacer' }),
    reactions.element,
  );

  const heading = h('h1', {}, 'Loading…');
  const vendorAvatar = h('span', { class: 'avatar', 'aria-hidden': 'true' });
  const vendorName = h('span', { class: 'vendor-name' });
  const viewers = stat(icons.users, 'watching', 'viewer-count');
  const views = stat(icons.eye, 'unique viewers', 'views-total');
  const duration = stat(icons.clock, 'live for', 'live-duration');
  const stats = h('div', { class: 'stats' }, viewers.element, views.element, duration.element);
  const connection = h('p', {
    class: 'connection-note',
    role: 'status',
    testid: 'connection-note',
    hidden: true,
  });
  const side = h('aside', { class: 'watch-side' });
  const info = h(
    'div',
    { class: 'watch-info' },
    heading,
    h('div', { class: 'vendor-line' }, vendorAvatar, vendorName),
  );

  // --- volume ---------------------------------------------------------------------------------
  function renderVolume(): void {
    const silent = video.muted || video.volume === 0;
    muteButton.replaceChildren(svg(silent ? icons.volumeOff : icons.volume, 18));
    muteButton.setAttribute('aria-label', silent ? 'Unmute' : 'Mute');
    volume.value = String(video.muted ? 0 : video.volume);
    unmuteHint.hidden = !video.muted || !video.srcObject;
  }
  muteButton.addEventListener('click', () => {
    video.muted = !video.muted;
    if (!video.muted && video.volume === 0) video.volume = 0.5;
  });
  volume.addEventListener('input', () => {
    video.volume = Number(volume.value);
    video.muted = video.volume === 0;
  });
  unmuteHint.addEventListener('click', () => {
    video.muted = false;
    void video.play();
  });
  video.addEventListener('volumechange', renderVolume);

  // --- stream ---------------------------------------------------------------------------------
  function showStream(stream: MediaStream | null): void {
    if (!stream) {
      video.srcObject = null;
      renderVolume();
      return;
    }
    if (video.srcObject === stream) return;
    video.srcObject = stream;
    // Browsers refuse to autoplay sound without a click on this site; fall back to muted playback.
    video.play().catch(() => {
      video.muted = true;
      void video.play().catch(() => undefined);
    });
    renderVolume();
  }

  function showReceiverState(state: ReceiverState): void {
    if (!session?.is_live) return;
    const message = RECEIVER_MESSAGES[state];
    if (message) {
      stageMessage.replaceChildren(h('div', { class: 'spinner' }), message);
      stageMessage.hidden = false;
    }
  }
  video.addEventListener('playing', () => {
    stageMessage.hidden = true;
  });

  function showPlayerState(state: PlayerState): void {
    if (!session?.is_live) return;
    const message = PLAYER_MESSAGES[state];
    mediaState.dataset.state = state;
    mediaState.replaceChildren(
      ...(state === 'connecting' || state === 'reconnecting' ? [h('div', { class: 'spinner' })] : []),
      message,
    );
    mediaState.hidden = !message;
  }

  /** SFU mode: the video from the media server over WHEP, following `/ws/live`'s `media` events. */
  function playFromMediaServer(config: AppConfig): void {
    stageMessage.hidden = true;
    player = new WhepPlayer({
      api,
      sessionId,
      iceServers: () => iceServersFor(api, config),
      onStream: showStream,
      onState: showPlayerState,
    });
    // A reload subscribes at once; the socket's first `media` event confirms or corrects it.
    player.play();
  }

  /** Mesh mode: the vendor's browser offers the video over `/ws/signal`. */
  async function receiveFromVendor(config: AppConfig): Promise<void> {
    const servers = await iceServersFor(api, config);
    if (disposed || !session?.is_live) return;
    receiver = new Receiver(
      servers,
      (command) => signal?.send(command) ?? false,
      showStream,
      showReceiverState,
    );
    signal = new SignalChannel(api, sessionId, 'viewer', (message) => receiver?.handle(message));
    showReceiverState('waiting');
    signal.start();
  }

  // --- session --------------------------------------------------------------------------------
  async function open(): Promise<void> {
    try {
      const [found, config] = await Promise.all([api.session(sessionId), api.appConfig()]);
      if (disposed) return;
      if (found.is_live && String(found.vendor.id) === String(ctx.auth?.user.id)) {
        ctx.navigate(`#/studio/${encodeURIComponent(sessionId)}`);
        return;
      }
      session = found;
      showSession(found);
      if (!found.is_live) {
        // Nobody chats in an ended session: the chat comes back with its replay, if there is one.
        showEnded(found.live_duration_seconds);
        openReplay(found);
        return;
      }
      const panel = new CommentsPanel({
        hostId: found.vendor.id,
        selfId: ctx.auth!.user.id,
        post: (message) => live!.postComment(message),
        actions: chatActions(api, sessionId),
      });
      chat = panel;
      pollCard = new PollCard(api, sessionId, false);
      side.replaceChildren(pollCard.element, panel.element);
      // There is no "am I a moderator here" route: the bans list answers only the host and the
      // host's moderators, so a 200 there is what turns the moderation controls on.
      api.bans(sessionId).then(
        () => panel.setCanModerate(true),
        () => undefined, // 403 for everyone else: a viewer's chat
      );
      live = new LiveChannel(api, sessionId, {
        ...panel.chatEvents(),
        onViewerCount: (count) => (viewers.value.textContent = formatCount(count)),
        onViewsTotal: (total) => (views.value.textContent = formatCount(total)),
        onSessionEnded: (event) => showEnded(event.live_duration_seconds),
        onStatus: (status) => showConnection(status),
        onMedia: (state) => player?.onMedia(state),
        onReactions: (counts, windowMs) => reactions.show(counts, windowMs),
        onPoll: (poll) => pollCard?.show(poll),
      });
      reactions.element.hidden = false;
      if (config.media === 'sfu') playFromMediaServer(config);
      live.start();
      if (config.media === 'mesh') await receiveFromVendor(config);
    } catch (failure) {
      if (disposed) return;
      heading.textContent =
        failure instanceof ApiError && failure.status === 404
          ? 'Stream not found'
          : 'Cannot open this stream';
      stageMessage.replaceChildren(
        messageOf(failure),
        h('a', { class: 'btn btn-primary', href: '#/lobby' }, 'Back to live streams'),
      );
    }
  }

  // --- replay (an ended session) ----------------------------------------------------------------

  /** Shows the ended session's replay state, asking again every few seconds while it is prepared. */
  function openReplay(ended: LiveSession): void {
    const panel = new ReplayChat(ended.vendor.id, ended.started_at);
    replayChat = panel;
    side.replaceChildren(panel.element);
    const check = async (): Promise<void> => {
      replayPoll = null;
      let replay: Replay;
      try {
        replay = await api.replay(sessionId);
      } catch (failure) {
        if (disposed) return;
        // A network failure or a server error: say so, and keep asking.
        showReplayState('error', `Could not check for a replay: ${messageOf(failure)}`);
        replayPoll = setTimeout(() => void check(), REPLAY_POLL_MS);
        return;
      }
      if (disposed) return;
      if (replay.status === 'ready' && replay.url) return playReplay(replay, panel);
      if (replay.status === 'processing' || replay.status === 'recording') {
        showReplayState(replay.status, 'The replay is being prepared…');
        panel.setNote('The chat plays back with the replay.');
        replayPoll = setTimeout(() => void check(), REPLAY_POLL_MS);
      } else if (replay.status === 'failed') {
        showReplayState('failed', `The replay could not be prepared: ${replay.error ?? 'unknown error'}.`);
        panel.setNote('Chat is closed.');
      } else {
        showReplayState('none', 'No replay for this session.');
        panel.setNote('Chat is closed.');
      }
    };
    void check();
  }

  function showReplayState(status: string, text: string): void {
    replayState.dataset.status = status;
    replayState.textContent = text;
    replayState.hidden = false;
  }

  /**
   * Plays a ready replay in the page's video, with native controls (seeking uses HTTP Range), and
   * plays the chat back with it: the panel follows the video's position.
   */
  function playReplay(replay: Replay, panel: ReplayChat): void {
    const source = api.replayMediaUrl(replay)!;
    endedOverlay.hidden = true;
    const wentLive = formatTime(session?.started_at ?? new Date().toISOString());
    showReplayState('ready', `Replay of the live of ${wentLive}. Comments appear as they were posted.`);
    panel.setNote(null);
    video.dataset.testid = 'replay-video';
    video.controls = true;
    video.autoplay = false;
    video.preload = 'metadata';
    // The stream's last picture stands in until the replay plays.
    const poster = session ? api.thumbnailUrl(session) : null;
    if (poster) video.poster = poster;
    video.src = source;
    panel.follow(video);
    video.addEventListener('error', () => {
      if (!disposed && video.error)
        showReplayState('error', 'The replay could not be played. Reload the page to try again.');
    });
    // Starts at once where the browser allows it; otherwise the viewer presses play.
    video.play().catch(() => undefined);
    panel
      .load((after, limit) => api.commentsAfter(sessionId, after, limit), replay.timeline)
      .catch((failure) => panel.setNote(`Could not load the chat: ${messageOf(failure)}`, true));
  }

  function showSession(found: LiveSession): void {
    heading.textContent = found.title;
    document.title = `${found.title} · Streammeon`;
    vendorName.textContent = found.vendor.name;
    vendorAvatar.textContent = initials(found.vendor.name);
    vendorAvatar.style.setProperty('--hue', String(hueOf(found.vendor.name)));
    liveBadge.hidden = !found.is_live;
    viewers.value.textContent = formatCount(found.viewer_count);
    views.value.textContent = formatCount(found.views_total);
    duration.value.textContent = formatDuration(found.live_duration_seconds);
  }

  function showConnection(status: SocketStatus): void {
    if (status.state === 'waiting') {
      connection.textContent = 'Connection lost. Reconnecting…';
      connection.hidden = false;
    } else if (status.state === 'open') {
      connection.hidden = true;
    } else if (status.state === 'closed' && session?.is_live) {
      if (status.code === CloseCode.ended) return showEnded(session.live_duration_seconds);
      if (status.code === CloseCode.normal) return;
      if (status.code === CloseCode.unauthorized)
        return ctx.signOut('Your sign-in has expired. Please sign in again.');
      connection.textContent =
        status.code === CloseCode.unauthorized
          ? 'Your sign-in has expired. Please sign in again.'
          : 'Disconnected from the stream.';
      connection.hidden = false;
    }
  }

  function showEnded(liveSeconds: number): void {
    if (session) session = { ...session, is_live: false };
    reactions.element.hidden = true;
    receiver?.stop();
    receiver = null;
    signal?.close();
    signal = null;
    void player?.stop();
    player = null;
    mediaState.hidden = true;
    live?.close();
    live = null;
    video.pause();
    video.srcObject = null;
    liveBadge.hidden = true;
    stageMessage.hidden = true;
    unmuteHint.hidden = true;
    controls.hidden = true;
    connection.hidden = true;
    // Nobody is watching an ended stream: the last live count would only mislead. The totals stay.
    viewers.element.hidden = true;
    duration.value.textContent = formatDuration(liveSeconds);
    endedOverlay.replaceChildren(
      h('h2', {}, 'This live session has ended'),
      h('p', { class: 'muted' }, `It was live for ${formatDuration(liveSeconds)}. Thanks for watching!`),
      h('a', { class: 'btn btn-primary', href: '#/lobby' }, 'Find another stream'),
    );
    endedOverlay.hidden = false;
    chat?.setEnabled(false, 'Chat is closed');
  }

  const clock = setInterval(() => {
    if (session?.is_live) duration.value.textContent = formatDuration(secondsSince(session.started_at));
  }, 1000);
  renderVolume();
  void open();

  const element = h(
    'main',
    { class: 'page' },
    h('a', { class: 'back-link', href: '#/lobby' }, svg(icons.arrowLeft, 16), 'All live streams'),
    h(
      'div',
      { class: 'watch-layout' },
      h('div', { class: 'watch-main' }, stage, replayState, controls, connection, info, stats),
      side,
    ),
  );
  return {
    element,
    title: 'Watch',
    dispose() {
      disposed = true;
      clearInterval(clock);
      receiver?.stop();
      signal?.close();
      void player?.stop();
      live?.close();
      chat?.dispose();
      pollCard?.dispose();
      replayChat?.dispose();
      reactions.dispose();
      if (replayPoll) clearTimeout(replayPoll);
      video.srcObject = null;
      // Stops a replay's download too.
      video.removeAttribute('src');
      video.load();
    },
  };
}
