/** Whether a session's room records, and where (the replays service answers; wired in features/services.ts). */
export interface RecordingPolicy {
  /**
   * Called when the session's room is created: the folder, as Janus sees it, where it records
   * the publisher; undefined when the session is not recorded.
   */
  recordingDir(sessionId: string): Promise<string | undefined>;
}
