import { createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:tls';
import type { FastifyBaseLogger } from 'fastify';
import Flv, { type AVPacket } from 'node-media-server/src/protocol/flv.js';
import Rtmp from 'node-media-server/src/protocol/rtmp.js';
import type { PacketFacts } from '../media/ingest-plan.js';

/** A connection must have asked to publish by then (slow or silent clients hold no socket). */
const PUBLISH_WITHIN_MS = 10_000;
/** The first byte of an RTMP handshake (C0): the version, 3. */
const RTMP_VERSION = 3;
/** A closed connection's socket is destroyed by then, whether the peer answered the FIN or not. */
const CLOSE_GRACE_MS = 500;
/** An encoder that sends nothing for this long has stalled: its connection is closed. */
export const RTMP_STALL_MS = 10_000;

/** An accepted publish: where its packets go, and how it hears that the connection went. */
export interface RtmpSink {
  /** One packet: its FLV tag (a copy) and the facts the ingest plan reads. */
  packet(tag: Buffer, facts: PacketFacts): void;
  /** The connection closed: the encoder stopped, or (`failed`) stalled or sent garbage. Once. */
  closed(reason: string, failed: boolean): void;
}

/** The connection of one publish, as its owner may end it. */
export interface RtmpConnection {
  readonly remote: string;
  /** Closes the socket (a replaced publisher, the session ended). */
  close(): void;
}

/**
 * Decides a publish of `key` in RTMP application `app`: resolves with the sink its packets go to,
 * or rejects (a wrong or revoked key, …) and the connection closes with nothing created.
 */
export type RtmpPublishHandler = (
  request: { app: string; key: string },
  connection: RtmpConnection,
) => Promise<RtmpSink>;

/** The FLV header every ingest's FFmpeg input starts with (audio and video flags set). */
export const FLV_HEADER = Flv.createHeader(true, true);

/**
 * An RTMP (or RTMPS) server for encoders: OBS, hardware encoders, phone apps. Node-Media-Server's
 * protocol module parses the handshake and chunks; this class owns the sockets, answers a publish
 * only once `onPublish` accepted its stream key (until then no packet is taken), refuses playing,
 * and closes connections that stall or send what the parser rejects. Nothing here decodes media.
 */
export class RtmpListener {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(
    private readonly onPublish: RtmpPublishHandler,
    private readonly log: FastifyBaseLogger,
    tls?: { cert: string; key: string },
  ) {
    const accept = (socket: Socket) => this.#accept(socket);
    this.#server = tls
      ? createTlsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, accept)
      : createServer(accept);
    this.#server.on('error', (error) => this.log.error({ err: error }, 'RTMP listener error'));
  }

  /** Listens on `port` (0: any free one) of `host`; resolves with the port. */
  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  /** Stops listening and closes every connection (their sinks hear `closed`). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const session = new RtmpPublishSession(socket, remote, this.onPublish, this.log);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      session.closed();
    });
  }
}

/** One RTMP connection: the protocol state, the key check, then packets to the sink. */
class RtmpPublishSession extends Rtmp {
  #sink: RtmpSink | undefined;
  #deciding = false;
  #started = false;
  #why = 'the encoder disconnected';
  #failed = false;

  constructor(
    private readonly socket: Socket,
    private readonly remote: string,
    private readonly handler: RtmpPublishHandler,
    private readonly log: FastifyBaseLogger,
  ) {
    super();
    this.onOutputCallback = (buffer) => {
      if (!socket.destroyed) socket.write(buffer);
    };
    this.onPacketCallback = (packet) => this.#packet(packet);
    socket.setNoDelay(true);
    socket.setTimeout(PUBLISH_WITHIN_MS, () => this.#close('no publish request in time', true));
    socket.on('data', (data: Buffer) => this.#data(data));
    socket.on('error', () => {});
  }

  /** The socket closed: a sink hears it once. */
  closed(): void {
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.closed(this.#why, this.#failed);
  }

  /** Overrides the module's immediate answer: `Publish.Start` only for an accepted key. */
  override onPublish(message: { streamName?: string }): void {
    if (this.#deciding || this.#sink) return;
    this.#deciding = true;
    this.streamName = String(message.streamName ?? '').split('?')[0] ?? '';
    this.streamId = this.parserPacket.header.stream_id;
    const connection = { remote: this.remote, close: () => this.#close('closed by the server', false) };
    this.handler({ app: this.streamApp, key: this.streamName }, connection).then(
      (sink) => {
        if (this.socket.destroyed) return sink.closed('the encoder disconnected', false);
        this.#sink = sink;
        this.respondPublish();
        this.socket.setTimeout(RTMP_STALL_MS, () =>
          this.#close(`the encoder stalled (no data for ${RTMP_STALL_MS / 1000} s)`, true),
        );
      },
      (error: unknown) => {
        const detail = error instanceof Error ? error.message : String(error);
        this.sendStatusMessage(this.streamId, 'error', 'NetStream.Publish.BadName', detail);
        this.log.info({ remote: this.remote, app: this.streamApp }, `RTMP publish refused: ${detail}`);
        this.#close('refused', false);
      },
    );
  }

  /** Playing is not offered: viewers watch over WHEP. */
  override onPlay(): void {
    this.sendStatusMessage(
      this.streamId,
      'error',
      'NetStream.Play.Failed',
      'This server only takes publishers',
    );
    this.#close('play refused', false);
  }

  #data(data: Buffer): void {
    // C0 is the protocol version, 3 (plain RTMP): anything else (HTTP, TLS to a plain port, noise)
    // is refused at its first byte rather than left to time out.
    if (!this.#started) {
      this.#started = true;
      if (data[0] !== RTMP_VERSION)
        return this.#close(`the stream is not RTMP (first byte ${data[0]})`, true);
    }
    let failure: string | null;
    try {
      failure = this.parserData(data);
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    if (failure !== null) {
      this.#close(`the stream is not RTMP (${failure})`, true);
    }
  }

  #packet(packet: AVPacket): void {
    if (!this.#sink) return;
    this.#sink.packet(Flv.createMessage(packet), factsOf(packet));
  }

  /** Closes the connection: FIN at once (after the status sent), a hard close if it lingers. */
  #close(why: string, failed: boolean): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.#why = why;
    this.#failed = failed;
    // Nothing more is parsed: a refused connection's later bytes reach no one.
    this.socket.removeAllListeners('data');
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }
}

/** FLV tag types, and the AVC sequence header's flag in Node-Media-Server's packets. */
const FLV_AUDIO = 8;
const FLV_VIDEO = 9;
const AVC_SEQUENCE_HEADER = 2;
const AVC_KEY_FRAME = 3;
/** Where AVCDecoderConfigurationRecord's AVCProfileIndication sits in an FLV video tag's body. */
const AVC_PROFILE_BYTE = 6;

function factsOf(packet: AVPacket): PacketFacts {
  const kind = packet.codec_type === FLV_VIDEO ? 'video' : packet.codec_type === FLV_AUDIO ? 'audio' : 'data';
  const header = kind === 'video' && packet.flags === AVC_SEQUENCE_HEADER;
  return {
    kind,
    codec: packet.codec_id,
    keyframe: kind === 'video' && packet.flags === AVC_KEY_FRAME,
    dtsMs: packet.dts,
    ctsMs: packet.pts - packet.dts,
    ...(header && packet.data.length > AVC_PROFILE_BYTE ? { profile: packet.data[AVC_PROFILE_BYTE] } : {}),
  };
}
