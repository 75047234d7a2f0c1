/**
 * The media test harness (test/support/media-net.ts) itself: Janus and coturn from Debian's
 * packages run in a private network namespace, Janus's API answers only with its api_secret, a
 * Chromium inside the namespace gets a camera, a host candidate and a TURN relay candidate, and
 * close() leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './support/browser.js';
import {
  createMediaNet,
  needsMedia,
  running,
  turnCredentials,
  type CoturnProcess,
  type JanusProcess,
  type MediaNet,
} from './support/media-net.js';

/** The part of janode (untyped JavaScript) these tests use. */
interface JanodeConnection {
  create(): Promise<{ destroy(): Promise<unknown> }>;
  getInfo(): Promise<Record<string, unknown>>;
  close(): Promise<unknown>;
}
interface JanodeModule {
  connect(config: { address: { url: string; apisecret?: string } }): Promise<JanodeConnection>;
  Logger: { setLevel(level: string): unknown };
}
/** janode ships no types: imported by a non-literal name, so TypeScript does not look for them. */
const JANODE: string = 'janode';
const loadJanode = async (): Promise<JanodeModule> =>
  ((await import(JANODE)) as { default: JanodeModule }).default;

/** What a page learns from gathering ICE candidates with the given TURN credentials. */
interface Gathered {
  tracks: string[];
  candidates: string[];
  errors: string[];
}

/** Runs in the page: camera + microphone, then gathers every candidate with the TURN server. */
async function gatherInPage(ice: {
  urls: string[];
  username: string;
  credential: string;
}): Promise<Gathered> {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const pc = new RTCPeerConnection({ iceServers: [ice] });
  const candidates: string[] = [];
  const errors: string[] = [];
  pc.addEventListener('icecandidate', (event) => {
    if (event.candidate?.candidate) candidates.push(event.candidate.candidate);
  });
  pc.addEventListener('icecandidateerror', (event) => {
    errors.push(`${event.errorCode} ${event.errorText}`);
  });
  for (const track of stream.getTracks()) pc.addTrack(track, stream);
  const complete = new Promise<void>((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
  });
  await pc.setLocalDescription(await pc.createOffer());
  await Promise.race([complete, new Promise((resolve) => setTimeout(resolve, 8000))]);
  pc.close();
  for (const track of stream.getTracks()) track.stop();
  return { tracks: stream.getTracks().map((track) => track.kind), candidates, errors };
}

/**
 * Runs in the page: a relay-only peer connection (TURN) to a second one whose only candidate is
 * the namespace's address, as Janus's is. Resolves, once their data channel opens, with the
 * selected pair as "<local type> -> <remote address>"; or with "timeout (<ICE state>)".
 */
async function relayToNamespaceAddress(ice: {
  urls: string[];
  username: string;
  credential: string;
}): Promise<string> {
  const viewer = new RTCPeerConnection({ iceServers: [ice], iceTransportPolicy: 'relay' });
  const sfu = new RTCPeerConnection();
  viewer.addEventListener('icecandidate', (event) => {
    if (event.candidate) void sfu.addIceCandidate(event.candidate);
  });
  sfu.addEventListener('icecandidate', (event) => {
    if (event.candidate) void viewer.addIceCandidate(event.candidate);
  });
  const channel = viewer.createDataChannel('probe');
  const opened = new Promise<boolean>((resolve) => channel.addEventListener('open', () => resolve(true)));
  await viewer.setLocalDescription(await viewer.createOffer());
  await sfu.setRemoteDescription(viewer.localDescription!);
  await sfu.setLocalDescription(await sfu.createAnswer());
  await viewer.setRemoteDescription(sfu.localDescription!);
  const open = await Promise.race([
    opened,
    new Promise<boolean>((resolve) => setTimeout(resolve, 8000, false)),
  ]);
  let result = `timeout (${viewer.iceConnectionState})`;
  if (open) {
    const stats = [...(await viewer.getStats()).values()] as Record<string, any>[];
    const transport = stats.find((stat) => stat.type === 'transport');
    const pair = stats.find((stat) => stat.id === transport?.selectedCandidatePairId);
    const local = stats.find((stat) => stat.id === pair?.localCandidateId);
    const remote = stats.find((stat) => stat.id === pair?.remoteCandidateId);
    result = `${local?.candidateType} -> ${remote?.address}`;
  }
  viewer.close();
  sfu.close();
  return result;
}

const candidateType = (candidate: string): string | undefined => /\btyp (\w+)/.exec(candidate)?.[1];
const candidateAddress = (candidate: string): string | undefined => candidate.split(' ')[4];

describe('media test network (Janus and coturn in a namespace)', { skip: needsMedia() }, () => {
  let net: MediaNet;
  let janus: JanusProcess;
  let turn: CoturnProcess;
  let pages: Server;
  let browser: Browser;
  let page: Page;
  const turnSecret = 'test-turn-secret';

  before(async () => {
    net = await createMediaNet();
    [janus, turn] = await Promise.all([net.startJanus(), net.startCoturn({ secret: turnSecret })]);
    pages = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html');
      response.end('<!doctype html><title>media</title>');
    });
    await new Promise<void>((resolve) => pages.listen(0, net.hostAddress, resolve));
    const origin = `http://${net.hostAddress}:${(pages.address() as AddressInfo).port}`;
    browser = await launchChromium({
      executablePath: net.chromiumExecutable(),
      args: net.chromiumArgs([origin]),
    });
    page = await browser.newPage();
    await page.goto(`${origin}/`);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    if (pages) await new Promise((resolve) => pages.close(resolve));
    await net?.close();
  });

  it('answers janode on the namespace address when the api_secret is given', async () => {
    const Janode = await loadJanode();
    Janode.Logger.setLevel('none');
    const connection = await Janode.connect({ address: { url: janus.url, apisecret: janus.apiSecret } });
    try {
      const info = await connection.getInfo();
      assert.equal(info.api_secret, true, 'Janus says it requires an api_secret');
      assert.ok(
        Object.keys(info.plugins as object).includes('janus.plugin.videoroom'),
        'VideoRoom is loaded',
      );
      const session = await connection.create();
      await session.destroy();
    } finally {
      await connection.close();
    }
  });

  it('refuses to create a session with a wrong api_secret', async () => {
    const Janode = await loadJanode();
    Janode.Logger.setLevel('none');
    const connection = await Janode.connect({ address: { url: janus.url, apisecret: 'wrong' } });
    try {
      await assert.rejects(connection.create(), /403|unauthorized/i);
    } finally {
      await connection.close();
    }
  });

  it('gives a page in the namespace a fake camera, a host candidate and a TURN relay candidate', async () => {
    const ice = { urls: turn.urls, ...turnCredentials(turnSecret, 'viewer') };
    const gathered = await page.evaluate(gatherInPage, ice);
    assert.deepEqual(gathered.tracks.sort(), ['audio', 'video']);
    const host = gathered.candidates.filter((c) => candidateType(c) === 'host').map(candidateAddress);
    assert.ok(host.includes(net.nsAddress), `a host candidate on ${net.nsAddress}: ${host.join(', ')}`);
    const relay = gathered.candidates.filter((c) => candidateType(c) === 'relay').map(candidateAddress);
    assert.ok(
      relay.includes(net.nsAddress),
      `a relay candidate from coturn: ${gathered.candidates.join('\n')}`,
    );
  });

  it('gets no relay candidate with an expired TURN credential', async () => {
    const expired = turnCredentials(turnSecret, 'viewer', Math.floor(Date.now() / 1000) - 60);
    const gathered = await page.evaluate(gatherInPage, { urls: turn.urls, ...expired });
    assert.deepEqual(
      gathered.candidates.filter((c) => candidateType(c) === 'relay'),
      [],
    );
    assert.ok(gathered.errors.length > 0, 'Chromium reports the refused allocation');
  });

  it('gets no relay candidate with a credential signed by another secret', async () => {
    const forged = turnCredentials('not-the-secret', 'viewer');
    const gathered = await page.evaluate(gatherInPage, { urls: turn.urls, ...forged });
    assert.deepEqual(
      gathered.candidates.filter((c) => candidateType(c) === 'relay'),
      [],
    );
  });

  it("relays through coturn to the namespace's own address, where Janus listens", async () => {
    const ice = { urls: turn.urls, ...turnCredentials(turnSecret, 'viewer') };
    assert.equal(await page.evaluate(relayToNamespaceAddress, ice), `relay -> ${net.nsAddress}`);
  });

  it('runs a second Janus beside the first on its own ports', async () => {
    const second = await net.startJanus();
    assert.notEqual(second.url, janus.url);
    assert.notDeepEqual(second.rtpPorts, janus.rtpPorts);
    await second.kill();
  });
});

describe('media test network clean-up', { skip: needsMedia() }, () => {
  it('close() leaves no namespace, no veth pair and no process behind', async () => {
    const net = await createMediaNet();
    const janus = await net.startJanus();
    const turn = await net.startCoturn({ secret: 's' });
    // A browser left open: close() must end it too.
    const browser = await launchChromium({
      executablePath: net.chromiumExecutable(),
      args: net.chromiumArgs([]),
    });
    const pids = execFileSync('ip', ['netns', 'pids', net.name], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
    assert.ok(pids.includes(janus.pid) && pids.includes(turn.pid), 'Janus and coturn run in the namespace');
    assert.ok(pids.length > 2, 'and so does Chromium');

    await net.close();
    await browser.close().catch(() => undefined);

    assert.ok(!execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(net.name));
    assert.ok(!execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).includes(net.hostInterface));
    assert.deepEqual(pids.filter(running), [], 'none of their processes runs');
    assert.equal(existsSync(net.dir), false, 'the temp dir with configs and logs is gone');
    await net.close(); // idempotent
  });
});
