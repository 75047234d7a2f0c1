import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import { CloseCode } from '../contract/close-codes.js';
import type { UserId } from '../contract/ids.js';
import { sessionEndedMessage } from '../contract/live-protocol.js';
import type { LiveSession } from '../contract/rest.js';
import type { SignalRole } from '../contract/signal-protocol.js';
import type { Bus } from './bus.js';
import type { Peer } from './peer.js';

/** A socket on `/ws/signal`, with the identity the relay stamps on what it sends. */
export interface SignalPeer {
  peerId: string;
  role: SignalRole;
  userId: UserId;
  userName: string;
  peer: Peer;
  /** The vendor peer id this viewer was last told about, so it hears each vendor once. */
  knownVendor?: string | undefined;
  /** Set when a newer vendor connection replaced this one: it leaves without `vendor_left`. */
  replaced?: boolean;
}

/** Where a relayed frame goes: one peer id, the session's vendor, or all its viewers. */
export type RelayTarget = { peer: string } | 'vendor' | 'viewers';

/**
 * What travels on a session's `signal:<id>` bus channel (JSON, one object per message). Every
 * instance, the publisher included, applies each message to the peers it holds.
 */
type SignalEnvelope =
  | { k: 'viewer_joined'; peer_id: string; user_id: UserId; user_name: string }
  | { k: 'viewer_left'; peer_id: string }
  | { k: 'vendor_joined'; peer_id: string }
  | { k: 'vendor_left'; peer_id: string }
  | { k: 'roll_call' }
  | { k: 'vendor_here'; peer_id: string; to: string }
  | { k: 'relay'; to: string; frame: string }
  | { k: 'end'; frame: string };

class SignalRoom {
  vendor: SignalPeer | undefined;
  readonly viewers = new Map<string, SignalPeer>();
  /** The vendor's peer id wherever it is connected, as last announced. */
  vendorPeerId: string | undefined;
  unsubscribe: () => void = () => undefined;
  /** When this room subscribed to the bus (performance.now()): it hears every message since. */
  readonly subscribedAt = performance.now();

  constructor(readonly sessionId: string) {}

  get empty(): boolean {
    return !this.vendor && this.viewers.size === 0;
  }
}

/**
 * The `/ws/signal` relay: one vendor to many viewers per session, across instances. Viewers
 * reach only the vendor; the vendor reaches one viewer (`to`) or all. A newer vendor connection
 * replaces the older one, which is closed with 4409.
 */
export class SignalHub {
  readonly #rooms = new Map<string, SignalRoom>();

  constructor(
    private readonly bus: Bus,
    private readonly log: FastifyBaseLogger,
  ) {}

  /**
   * Announces a new peer: viewers to the vendor, a vendor to the viewers (and asks who is here).
   * Returns when the room subscribed to the bus: facts read after that cannot have missed the
   * session's end, which closes every peer of the room.
   */
  join(sessionId: string, peer: SignalPeer): number {
    const room = this.#room(sessionId);
    if (peer.role === 'vendor') {
      // Announced before it is installed, so an older vendor here is closed as replaced.
      this.#publish(sessionId, { k: 'vendor_joined', peer_id: peer.peerId });
      room.vendor = peer;
      this.#publish(sessionId, { k: 'roll_call' });
    } else {
      room.viewers.set(peer.peerId, peer);
      this.#publish(sessionId, {
        k: 'viewer_joined',
        peer_id: peer.peerId,
        user_id: peer.userId,
        user_name: peer.userName,
      });
    }
    return room.subscribedAt;
  }

  leave(sessionId: string, peer: SignalPeer): void {
    const room = this.#rooms.get(sessionId);
    if (!room) return;
    if (peer.role === 'vendor') {
      if (room.vendor === peer) room.vendor = undefined;
      if (!peer.replaced) this.#publish(sessionId, { k: 'vendor_left', peer_id: peer.peerId });
    } else if (room.viewers.delete(peer.peerId)) {
      this.#publish(sessionId, { k: 'viewer_left', peer_id: peer.peerId });
    }
    if (room.empty) this.#drop(room);
  }

  /** The vendor peer id this instance knows for the session. */
  vendorOf(sessionId: string): string | undefined {
    return this.#rooms.get(sessionId)?.vendorPeerId;
  }

  /** Sends an already-stamped frame to its target, wherever that peer is connected. */
  relay(sessionId: string, target: RelayTarget, frame: string): void {
    const to = typeof target === 'string' ? target : `@${target.peer}`;
    this.#publish(sessionId, { k: 'relay', to, frame });
  }

  /** Closes every signaling peer of an ended session with 1000. */
  sessionEnded(session: LiveSession): void {
    this.#publish(session.session_id, { k: 'end', frame: JSON.stringify(sessionEndedMessage(session)) });
  }

  close(code: number = CloseCode.restarting): void {
    for (const room of [...this.#rooms.values()]) {
      room.vendor?.peer.close(code, 'server restarting');
      for (const viewer of room.viewers.values()) viewer.peer.close(code, 'server restarting');
      this.#drop(room);
    }
  }

  #room(sessionId: string): SignalRoom {
    let room = this.#rooms.get(sessionId);
    if (!room) {
      const created = new SignalRoom(sessionId);
      created.unsubscribe = this.bus.subscribe(`signal:${sessionId}`, (m) => this.#onMessage(created, m));
      this.#rooms.set(sessionId, created);
      room = created;
    }
    return room;
  }

  #publish(sessionId: string, envelope: SignalEnvelope): void {
    this.bus.publish(`signal:${sessionId}`, JSON.stringify(envelope));
  }

  #onMessage(room: SignalRoom, raw: string): void {
    let envelope: SignalEnvelope;
    try {
      envelope = JSON.parse(raw) as SignalEnvelope;
    } catch {
      this.log.warn('malformed signal bus message');
      return;
    }
    const vendor = room.vendor;
    switch (envelope.k) {
      case 'viewer_joined':
        if (!vendor) return;
        vendor.peer.sendJson({
          type: 'peer_joined',
          peer_id: envelope.peer_id,
          user_id: envelope.user_id,
          user_name: envelope.user_name,
        });
        this.#publish(room.sessionId, { k: 'vendor_here', peer_id: vendor.peerId, to: envelope.peer_id });
        return;
      case 'viewer_left':
        vendor?.peer.sendJson({ type: 'peer_left', peer_id: envelope.peer_id });
        return;
      case 'vendor_joined':
        room.vendorPeerId = envelope.peer_id;
        if (vendor && vendor.peerId !== envelope.peer_id) {
          vendor.replaced = true;
          room.vendor = undefined;
          vendor.peer.close(CloseCode.replaced, 'replaced by a newer vendor connection');
        }
        for (const viewer of room.viewers.values()) this.#tellVendor(viewer, envelope.peer_id);
        return;
      case 'vendor_left':
        if (room.vendorPeerId !== envelope.peer_id) return;
        room.vendorPeerId = undefined;
        for (const viewer of room.viewers.values()) {
          viewer.knownVendor = undefined;
          viewer.peer.sendJson({ type: 'vendor_left', peer_id: envelope.peer_id });
        }
        return;
      case 'roll_call':
        for (const viewer of room.viewers.values()) {
          this.#publish(room.sessionId, {
            k: 'viewer_joined',
            peer_id: viewer.peerId,
            user_id: viewer.userId,
            user_name: viewer.userName,
          });
        }
        return;
      case 'vendor_here': {
        const viewer = room.viewers.get(envelope.to);
        room.vendorPeerId = envelope.peer_id;
        if (viewer) this.#tellVendor(viewer, envelope.peer_id);
        return;
      }
      case 'relay':
        this.#deliver(room, envelope.to, envelope.frame);
        return;
      case 'end': {
        const frame = Buffer.from(envelope.frame);
        for (const p of [vendor, ...room.viewers.values()]) {
          if (!p) continue;
          p.peer.send(frame);
          p.peer.close(CloseCode.normal, 'session ended');
        }
        this.#drop(room);
        return;
      }
    }
  }

  /** Relayed frames never get their target dropped: one that would overfill it is dropped instead. */
  #deliver(room: SignalRoom, to: string, frame: string): void {
    let dropped = 0;
    if (to === 'vendor') {
      if (room.vendor && !room.vendor.peer.relay(frame)) dropped++;
    } else if (to === 'viewers') {
      const data = Buffer.from(frame);
      for (const viewer of room.viewers.values()) if (!viewer.peer.relay(data)) dropped++;
    } else {
      const peerId = to.slice(1);
      const target = room.vendor?.peerId === peerId ? room.vendor : room.viewers.get(peerId);
      if (target && !target.peer.relay(frame)) dropped++;
    }
    if (dropped > 0)
      this.log.warn({ sessionId: room.sessionId, dropped }, 'dropped relayed signaling frames');
  }

  #tellVendor(viewer: SignalPeer, vendorPeerId: string): void {
    if (viewer.knownVendor === vendorPeerId) return;
    viewer.knownVendor = vendorPeerId;
    viewer.peer.sendJson({ type: 'vendor_joined', peer_id: vendorPeerId });
  }

  #drop(room: SignalRoom): void {
    room.unsubscribe();
    if (this.#rooms.get(room.sessionId) === room) this.#rooms.delete(room.sessionId);
  }
}
