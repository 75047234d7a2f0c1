/** Opens the camera and microphone, falling back to whichever one is available. */
export async function openCamera(): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error('This browser cannot use a camera here. Open the app over https:// or on localhost.');
  }
  const video = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
  const attempts: MediaStreamConstraints[] = [{ video, audio: true }, { video }, { audio: true }];
  let lastError: unknown;
  for (const constraints of attempts) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (error) {
      lastError = error;
      // Permission refused: asking again for less will be refused too.
      if (error instanceof DOMException && error.name === 'NotAllowedError') break;
    }
  }
  throw new Error(describeCameraError(lastError));
}

function describeCameraError(error: unknown): string {
  const name = error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError') return 'Camera access was blocked. Allow it in the browser and try again.';
  if (name === 'NotFoundError') return 'No camera or microphone was found on this device.';
  if (name === 'NotReadableError') return 'The camera is in use by another app. Close it and try again.';
  return 'The camera could not be started.';
}
