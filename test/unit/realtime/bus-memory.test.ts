/** The Bus contract on the in-process bus. */
import { MemoryBus } from '../../../src/realtime/bus-memory.js';
import { busSuite } from '../../backends/bus.suite.js';

busSuite('memory', {
  status: 'memory',
  shared: false,
  create() {
    const buses: MemoryBus[] = [];
    return {
      async open() {
        const bus = new MemoryBus();
        buses.push(bus);
        return bus;
      },
      async cleanup() {
        await Promise.all(buses.map((bus) => bus.close()));
      },
    };
  },
});
