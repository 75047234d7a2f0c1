/**
 * The part of janode (Meetecho's Janus client, plain JavaScript) that src/media uses, typed.
 * janode ships no types; these follow its source (node_modules/janode/src) for version 1.8.
 */
declare module 'janode' {
  import type { EventEmitter } from 'node:events';

  export interface Jsep {
    type: 'offer' | 'answer';
    sdp: string;
    e2ee?: boolean;
  }

  export interface JanodeHandle extends EventEmitter {
    readonly id: number;
    detach(): Promise<void>;
    hangup(): Promise<void>;
    trickle(candidate: object | object[]): Promise<void>;
    trickleComplete(): Promise<void>;
  }

  export interface JanodeSession extends EventEmitter {
    readonly id: number;
    attach<H extends JanodeHandle>(plugin: { id: string; Handle: new (...args: never[]) => H }): Promise<H>;
    destroy(): Promise<void>;
  }

  export interface JanodeConnection extends EventEmitter {
    create(keepAliveSeconds?: number): Promise<JanodeSession>;
    getInfo(): Promise<Record<string, unknown>>;
    close(): Promise<void>;
  }

  export interface ServerAddress {
    url: string;
    apisecret?: string;
  }

  const Janode: {
    connect(config: {
      address: ServerAddress | ServerAddress[];
      retry_time_secs?: number;
      max_retries?: number;
      is_admin?: boolean;
      ws_options?: object;
    }): Promise<JanodeConnection>;
    Logger: { setLevel(level: 'debug' | 'verb' | 'info' | 'warn' | 'error' | 'none'): string };
    EVENT: {
      CONNECTION_CLOSED: 'connection_closed';
      CONNECTION_ERROR: 'connection_error';
      SESSION_DESTROYED: 'session_destroyed';
      HANDLE_DETACHED: 'handle_detached';
      HANDLE_HANGUP: 'handle_hangup';
      HANDLE_ICE_FAILED: 'handle_ice_failed';
      HANDLE_MEDIA: 'handle_media';
      HANDLE_WEBRTCUP: 'handle_webrtcup';
      HANDLE_TRICKLE: 'handle_trickle';
    };
  };
  export default Janode;
}

declare module 'janode/plugins/videoroom' {
  import type { JanodeHandle, Jsep } from 'janode';

  export interface Participant {
    feed: number | string;
    display?: string;
    publisher?: boolean;
  }

  export interface VideoRoomHandle extends JanodeHandle {
    feed: number | string | null;
    create(params: {
      room?: number;
      description?: string;
      max_publishers?: number;
      is_private?: boolean;
      secret?: string;
      permanent?: boolean;
      bitrate?: number;
      audiocodec?: string;
      videocodec?: string;
      notify_joining?: boolean;
      record?: boolean;
      rec_dir?: string;
      fir_freq?: number;
      admin_key?: string;
    }): Promise<{ room: number }>;
    destroy(params: { room: number; secret?: string; permanent?: boolean }): Promise<unknown>;
    exists(params: { room: number }): Promise<{ room: number; exists: boolean }>;
    listParticipants(params: { room: number; secret?: string }): Promise<{ participants: Participant[] }>;
    kick(params: { room: number; feed: number | string; secret?: string }): Promise<unknown>;
    joinConfigurePublisher(params: {
      room: number;
      feed?: number | string;
      display?: string;
      audio?: boolean;
      video?: boolean;
      record?: boolean;
      filename?: string;
      jsep: Jsep;
    }): Promise<{ feed: number | string; jsep?: Jsep }>;
    configure(params: { jsep?: Jsep; restart?: boolean; audio?: boolean; video?: boolean }): Promise<{
      jsep?: Jsep;
    }>;
    joinSubscriber(params: {
      room: number;
      streams?: { feed: number | string; mid?: string }[];
      private_id?: number;
    }): Promise<{ jsep?: Jsep }>;
    start(params: { jsep?: Jsep }): Promise<unknown>;
    leave(): Promise<unknown>;
  }

  const VideoRoomPlugin: {
    id: 'janus.plugin.videoroom';
    Handle: new (...args: never[]) => VideoRoomHandle;
    EVENT: Record<string, string>;
  };
  export default VideoRoomPlugin;
}
