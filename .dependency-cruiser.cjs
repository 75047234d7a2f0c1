/**
 * The layers of src/ (docs/architecture.md draws them), enforced by `npm run lint`:
 *
 *   base        contract/, db/, config.ts (+ config-reader.ts), clock.ts, redis.ts,  (contract/ imports nothing of ours)
 *               metrics/ (the Prometheus registry), jobs/ (the background job queue),
 *               webhooks/ (the outbox and its delivery)
 *   domain      auth/, live/, limits/, agora/, media/, replays/   (base only; never each other)
 *   transports  http/, realtime/, ingest/ (RTMP/SRT)            (domain and base; never each other)
 *   top         features/ (each feature a plugin: its services' routes and hooks; services.ts
 *               builds the service graph), app.ts (lists the features), main.ts (process)
 *
 * Imports go downwards only, never sideways between two domain folders or the two transports,
 * and nothing anywhere is part of an import cycle. The web app may import src/contract/ only.
 */
const DOMAIN = '^src/(auth|live|limits|agora|media|replays)/';
const TRANSPORT = '^src/(http|realtime|ingest)/';
const TOP = '^src/((app|main)\\.ts$|features/)';
const BASE = '^src/(contract/|db/|metrics/|jobs/|webhooks/|config(-reader)?\\.ts$|clock\\.ts$|redis\\.ts$)';

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'An import cycle, within a folder or across folders: split the shared piece out.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'contract-imports-nothing-of-ours',
      comment:
        'src/contract/ is what crosses the wire; the web app bundles it. It depends on nothing else of ours.',
      severity: 'error',
      from: { path: '^src/contract/' },
      to: { path: '^src/', pathNot: '^src/contract/' },
    },
    {
      name: 'base-does-not-import-upwards',
      comment:
        'contract/, db/, metrics/, jobs/, webhooks/, config, clock and redis are the base: they import only each other.',
      severity: 'error',
      from: { path: BASE },
      to: { path: [DOMAIN, TRANSPORT, TOP] },
    },
    {
      name: 'domain-does-not-import-transports',
      comment:
        'Services speak in domain errors and types; HTTP and WebSocket details live in http/ and realtime/.',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: [TRANSPORT, TOP] },
    },
    {
      name: 'domain-folders-do-not-import-each-other',
      comment:
        'A domain folder needs another only through an interface of its own (e.g. live/ CommentGate), wired in features/services.ts.',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: DOMAIN, pathNot: '^src/$1/' },
    },
    {
      name: 'transports-do-not-import-each-other',
      comment: 'http/ and realtime/ are siblings: share through the domain or the base, wire in features/.',
      severity: 'error',
      from: { path: '^src/(http|realtime|ingest)/' },
      to: { path: TRANSPORT, pathNot: '^src/$1/' },
    },
    {
      name: 'transports-do-not-import-the-top',
      severity: 'error',
      from: { path: TRANSPORT },
      to: { path: TOP },
    },
    {
      name: 'web-imports-only-the-contract',
      comment: 'The browser gets the wire contract, never server code.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^src/', pathNot: '^src/contract/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|^dist/' },
    // Type-only imports count: a cycle of types is still a cycle a reader has to untangle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js'],
    },
  },
};
