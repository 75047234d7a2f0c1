/**
 * The two protocol modules of Node-Media-Server (plain JavaScript, pinned at 4.4.3) that the RTMP
 * listener uses: the RTMP chunk parser and handshake, and its FLV tag codec. Typed from their
 * source (node_modules/node-media-server/src/protocol); the rest of the package (its servers,
 * store and admin API) is not used.
 */
declare module 'node-media-server/src/protocol/rtmp.js' {
  import type { AVPacket } from 'node-media-server/src/protocol/flv.js';

  interface InvokeMessage {
    cmd: string;
    transId: number;
    streamName?: string;
    cmdObj?: Record<string, unknown>;
  }

  class Rtmp {
    streamApp: string;
    streamName: string;
    streamId: number;
    parserPacket: { header: { stream_id: number } };
    onConnectCallback: (request: { app: string; name: string }) => void;
    onPlayCallback: () => void;
    onPushCallback: () => void;
    onPacketCallback: (packet: AVPacket) => void;
    onOutputCallback: (buffer: Buffer) => void;
    /** Feeds bytes from the socket; a string is a protocol error. May also throw on garbage. */
    parserData(buffer: Buffer): string | null;
    onPublish(message: InvokeMessage): void;
    onPlay(message: InvokeMessage): void;
    respondPublish(): void;
    sendStatusMessage(streamId: number, level: string, code: string, description: string): void;
  }
  export default Rtmp;
}

declare module 'node-media-server/src/protocol/flv.js' {
  /** One audio, video or script tag as RTMP carried it. */
  export interface AVPacket {
    /** 8 audio, 9 video, 18 script data. */
    codec_type: number;
    /** Video: 7 H.264 (12 HEVC, or a FourCC for enhanced RTMP); audio: 10 AAC, 2 MP3, … */
    codec_id: number;
    /** Video: 2 sequence header, 3 key frame, 4 inter frame; audio: 0 sequence header, 1 frame. */
    flags: number;
    pts: number;
    dts: number;
    size: number;
    data: Buffer;
  }

  class Flv {
    static createHeader(hasAudio: boolean, hasVideo: boolean): Buffer;
    /** The packet as an FLV tag with its trailing size (a copy: the parser reuses its buffer). */
    static createMessage(packet: AVPacket): Buffer;
  }
  export default Flv;
}
