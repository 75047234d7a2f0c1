/**
 * The page: sign in, fetch a token from our /rtc route, join with the Agora Web SDK, and wire the
 * mute buttons and the remote volume slider. State lives in `start`'s closure, one per page.
 */
import { AgoraCall, JoinError, loadAgora, type RemoteView } from './agora.js';
import { Api, ApiError, type RtcRole, type SignedIn } from './api.js';

const TOKEN_EXPIRY_SECONDS = 3600;
/** Long enough for a slow network, short enough that an unreachable Agora is reported promptly. */
const JOIN_TIMEOUT_MS = 15_000;
const APP_ID_KEY = 'streammeon.agora.appId';

/** The element with `id`; the page is broken without it, so say which one is missing. */
function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`demo page is missing #${id}`);
  return found as T;
}

function start(): void {
  const api = new Api('');
  const signinForm = byId<HTMLFormElement>('signin-form');
  const signedIn = byId<HTMLParagraphElement>('signed-in');
  const goLiveButton = byId<HTMLButtonElement>('go-live');
  const joinForm = byId<HTMLFormElement>('join-form');
  const joinButton = joinForm.querySelector<HTMLButtonElement>('button[type=submit]');
  const leaveButton = byId<HTMLButtonElement>('leave');
  const tokenStatus = byId<HTMLParagraphElement>('token-status');
  const joinStatus = byId<HTMLParagraphElement>('join-status');
  const errorBox = byId<HTMLParagraphElement>('agora-error');
  const muteAudio = byId<HTMLButtonElement>('mute-audio');
  const muteVideo = byId<HTMLButtonElement>('mute-video');
  const volume = byId<HTMLInputElement>('remote-volume');
  const volumeValue = byId<HTMLOutputElement>('remote-volume-value');
  const localVideo = byId<HTMLDivElement>('local-video');
  const localFigure = byId<HTMLElement>('local-figure');
  const remoteVideos = byId<HTMLDivElement>('remote-videos');
  const field = (name: string) => joinForm.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;

  let session: SignedIn | undefined;
  let call: AgoraCall | undefined;

  field('appId').value = localStorage.getItem(APP_ID_KEY) ?? '';
  // Agora uids are 32-bit; a random one keeps two tabs of the same user apart.
  field('uid').value = String(1 + Math.floor(Math.random() * 0x7fff_ffff));

  const showError = (message: string) => {
    errorBox.textContent = message;
    errorBox.hidden = false;
  };
  const setStatus = (element: HTMLElement, text: string, state: 'ok' | 'error' | 'busy') => {
    element.textContent = text;
    element.dataset.state = state;
  };
  const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

  const remoteView: RemoteView = {
    videoElement(uid) {
      let figure = remoteVideos.querySelector<HTMLElement>(`[data-uid="${CSS.escape(uid)}"]`);
      if (!figure) {
        figure = document.createElement('figure');
        figure.dataset.uid = uid;
        figure.innerHTML = '<div class="video"></div><figcaption></figcaption>';
        figure.querySelector('figcaption')!.textContent = `Remote ${uid}`;
        remoteVideos.append(figure);
      }
      return figure.querySelector<HTMLElement>('.video')!;
    },
    removed(uid) {
      remoteVideos.querySelector(`[data-uid="${CSS.escape(uid)}"]`)?.remove();
    },
  };

  /** Camera preview and mute buttons exist only while this page publishes. */
  const showLocalMedia = (current: AgoraCall | undefined) => {
    muteAudio.disabled = !current?.microphone;
    muteVideo.disabled = !current?.camera;
    localFigure.hidden = !current?.camera;
    // New tracks start unmuted.
    muteAudio.textContent = 'Mute microphone';
    muteVideo.textContent = 'Turn camera off';
    muteAudio.setAttribute('aria-pressed', 'false');
    muteVideo.setAttribute('aria-pressed', 'false');
  };

  signinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(signinForm);
    errorBox.hidden = true;
    api
      .signIn(formText(data, 'email'), formText(data, 'password'))
      .then((result) => {
        session = result;
        signedIn.textContent = `Signed in as ${result.user.name} (${result.user.role}).`;
        signedIn.hidden = false;
        goLiveButton.hidden = result.user.role !== 'vendor';
        if (joinButton) joinButton.disabled = false;
      })
      .catch((error: unknown) => showError(`Sign-in failed: ${describe(error)}`));
  });

  // A vendor publishes into the channel named by their live session's id: going live gives one.
  goLiveButton.addEventListener('click', () => {
    if (!session) return;
    api
      .goLive(session.token, `${session.user.name} on Agora`)
      .then((sessionId) => {
        field('channel').value = sessionId;
        field('role').value = 'publisher';
        joinStatus.textContent = `You are live: session ${sessionId}. Join to publish into it.`;
      })
      .catch((error: unknown) => showError(`Could not go live: ${describe(error)}`));
  });

  joinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!session) return;
    void join(session);
  });

  async function join(current: SignedIn): Promise<void> {
    const appId = field('appId').value.trim();
    const channel = field('channel').value.trim();
    const role = field('role').value as RtcRole;
    const uid = Number(field('uid').value);
    localStorage.setItem(APP_ID_KEY, appId);
    errorBox.hidden = true;
    // A failed join keeps camera and microphone open (they still preview and mute): release them.
    await call?.leave().catch(() => undefined);
    call = undefined;
    showLocalMedia(undefined);
    if (joinButton) joinButton.disabled = true;

    setStatus(tokenStatus, 'Requesting a token…', 'busy');
    let token: string;
    try {
      token = await api.rtcToken(current.token, channel, role, uid, TOKEN_EXPIRY_SECONDS);
    } catch (error) {
      const status = error instanceof ApiError && error.status ? ` (HTTP ${error.status})` : '';
      setStatus(tokenStatus, `No token${status}.`, 'error');
      showError(`Could not get a token: ${describe(error)}`);
      if (joinButton) joinButton.disabled = false;
      return;
    }
    setStatus(
      tokenStatus,
      `Token obtained: ${role} in channel ${channel} as uid ${uid}, valid ${TOKEN_EXPIRY_SECONDS} s.`,
      'ok',
    );

    setStatus(joinStatus, "Joining through Agora's servers…", 'busy');
    try {
      const sdk = await loadAgora();
      call = await AgoraCall.start(
        sdk,
        { appId, channel, token, uid, publisher: role === 'publisher', timeoutMs: JOIN_TIMEOUT_MS },
        localVideo,
        remoteView,
        (tracks) => {
          call = tracks;
          showLocalMedia(tracks);
        },
      );
      call.setRemoteVolume(Number(volume.value));
      setStatus(
        joinStatus,
        role === 'publisher' ? 'Joined; publishing camera and microphone.' : 'Joined.',
        'ok',
      );
      leaveButton.disabled = false;
    } catch (error) {
      setStatus(joinStatus, 'Not joined.', 'error');
      leaveButton.disabled = !call;
      showError(
        error instanceof JoinError
          ? `Could not join channel ${channel}: ${error.message}`
          : `Could not start the call: ${describe(error)}`,
      );
      if (joinButton) joinButton.disabled = false;
    }
  }

  leaveButton.addEventListener('click', () => {
    const current = call;
    call = undefined;
    showLocalMedia(undefined);
    leaveButton.disabled = true;
    if (joinButton) joinButton.disabled = false;
    void current?.leave().then(() => setStatus(joinStatus, 'Left the channel.', 'ok'));
  });

  muteAudio.addEventListener('click', () => {
    const microphone = call?.microphone;
    if (!microphone) return;
    const muted = !microphone.muted;
    void microphone.setMuted(muted).then(() => {
      muteAudio.textContent = muted ? 'Unmute microphone' : 'Mute microphone';
      muteAudio.setAttribute('aria-pressed', String(muted));
    });
  });

  muteVideo.addEventListener('click', () => {
    const camera = call?.camera;
    if (!camera) return;
    const muted = !camera.muted;
    void camera.setMuted(muted).then(() => {
      muteVideo.textContent = muted ? 'Turn camera on' : 'Turn camera off';
      muteVideo.setAttribute('aria-pressed', String(muted));
    });
  });

  volume.addEventListener('input', () => {
    volumeValue.value = volume.value;
    call?.setRemoteVolume(Number(volume.value));
  });
}

start();

/** A text field of a submitted form ('' when absent). */
function formText(data: FormData, name: string): string {
  const value = data.get(name);
  return typeof value === 'string' ? value : '';
}
