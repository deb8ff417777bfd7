// Worker side of Sha256Worker: keeps named sha256 states and updates them in message order.
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

type Message =
  | { op: 'create'; handle: number }
  | { op: 'update'; handles: number[]; bytes: Uint8Array }
  | { op: 'digest'; handle: number };

const states = new Map<number, Hash>();
const port = parentPort!;

port.on('message', (message: Message) => {
  switch (message.op) {
    case 'create':
      states.set(message.handle, createHash('sha256'));
      break;
    case 'update':
      for (const handle of message.handles) states.get(handle)!.update(message.bytes);
      port.postMessage({ op: 'ack' });
      break;
    case 'digest': {
      const hex = states.get(message.handle)!.digest('hex');
      states.delete(message.handle);
      port.postMessage({ op: 'digest', handle: message.handle, hex });
      break;
    }
  }
});
