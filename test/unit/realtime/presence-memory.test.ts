/** The Presence contract on the in-process counts. */
import { MemoryPresence } from '../../../src/realtime/presence-memory.js';
import { presenceSuite } from '../../backends/presence.suite.js';

presenceSuite('memory', {
  shared: false,
  create() {
    const instances: MemoryPresence[] = [];
    return {
      async open() {
        const presence = new MemoryPresence();
        instances.push(presence);
        return { presence, crash: () => presence.close() };
      },
      async cleanup() {
        await Promise.all(instances.map((p) => p.close()));
      },
    };
  },
});
