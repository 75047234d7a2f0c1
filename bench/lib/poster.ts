/**
 * Posts comments at a fixed rate (open loop: the schedule does not wait for replies, so a slow
 * server shows up as latency, not as a politely lowered rate). Every message carries its send
 * time, which the generators read back on receipt. Used identically for every target.
 */
import { Agent, request } from 'node:http';
import { Histogram, type HistogramData } from './histogram.js';
import { TIME_MARKER, epochMs } from './protocol.js';

export interface PostPlan {
  baseUrl: string;
  sessionId: string;
  /** Post to these sessions in turn instead (comment i to sessionIds[i % length]). */
  sessionIds?: string[];
  /** Bearer tokens to rotate through (our server needs one; baselines ignore it). */
  tokens: string[];
  /** Comments per second. */
  rate: number;
  /** How long the schedule runs; with `count`, how long to keep trying before giving up. */
  durationMs: number;
  /** Post exactly this many, as fast as `maxInFlight` allows (closed loop), instead of a rate. */
  count?: number;
  /** Requests allowed in flight before the schedule has to wait. */
  maxInFlight?: number;
}

export interface PostResult {
  sent: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  /** Wall time from first to last send, ms. */
  elapsedMs: number;
  /** Each answered request's time from its send to the end of its answer. */
  latency: HistogramData;
}

/** Padding that makes a comment a realistic ~120 bytes of text. */
const PADDING = ' great stream, where did you get that jacket? greetings from Lisbon!';

/** A comment's body: its number, its send time (read back by the generators) and padding. */
export function commentBody(seq: number): string {
  return JSON.stringify({ message: `#${seq} ${TIME_MARKER}${epochMs().toFixed(3)}~${PADDING}` });
}

export async function postComments(plan: PostPlan): Promise<PostResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: plan.maxInFlight ?? 64 });
  const urls = (plan.sessionIds ?? [plan.sessionId]).map(
    (id) => new URL(`/live/sessions/${id}/comments`, plan.baseUrl),
  );
  const latency = new Histogram();
  const result: PostResult = {
    sent: 0,
    ok: 0,
    failed: 0,
    statuses: {},
    elapsedMs: 0,
    latency: latency.toData(),
  };
  const total = plan.count ?? Math.max(1, Math.round((plan.rate * plan.durationMs) / 1000));
  const giveUpMs = plan.count ? plan.durationMs : plan.durationMs * 3 + 10_000;
  const limit = plan.maxInFlight ?? 64;
  let inFlight = 0;
  const start = performance.now();

  const sendOne = () =>
    new Promise<void>((resolve) => {
      const seq = result.sent;
      result.sent += 1;
      inFlight += 1;
      const body = commentBody(seq);
      // Open loop: latency counts from when the comment was due, so a server that falls behind
      // (and holds the schedule back at maxInFlight) shows its queue, not only its service time.
      const sentAt = plan.count ? performance.now() : start + (seq * 1000) / plan.rate;
      const req = request(
        urls[seq % urls.length]!,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${plan.tokens[seq % plan.tokens.length]}`,
          },
          timeout: 30_000,
        },
        (res) => {
          const status = String(res.statusCode);
          result.statuses[status] = (result.statuses[status] ?? 0) + 1;
          if (res.statusCode === 200) result.ok += 1;
          else result.failed += 1;
          res.resume();
          res.on('end', () => {
            latency.recordMs(performance.now() - sentAt);
            finish();
          });
        },
      );
      const finish = () => {
        inFlight -= 1;
        resolve();
      };
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error) => {
        result.failed += 1;
        result.statuses[error.message] = (result.statuses[error.message] ?? 0) + 1;
        finish();
      });
      req.end(body);
    });

  const replies: Promise<void>[] = [];
  try {
    if (plan.count) {
      // Closed loop: each of `limit` lanes sends its next comment when its last one is answered.
      const lane = async () => {
        while (result.sent < total && performance.now() - start < giveUpMs) await sendOne();
      };
      await Promise.all(Array.from({ length: Math.min(limit, total) }, lane));
    } else {
      while (result.sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - start) * plan.rate) / 1000) + 1);
        while (result.sent < due && inFlight < limit) replies.push(sendOne());
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (performance.now() - start > giveUpMs) break; // server hopelessly behind
      }
    }
    result.elapsedMs = performance.now() - start;
    await Promise.all(replies);
    result.latency = latency.toData();
  } finally {
    agent.destroy();
  }
  return result;
}
