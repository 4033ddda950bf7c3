// bench/lab: the "ours" stack program of the lab bench (lab-bench-interface.md) — the engine's
// userspace stack on a TAP device through native/, driven by the real-time driver, serving one role:
//   sink    accept, read and discard until EOF, then close
//   source  accept, write --bytes of the bulk pattern (byte i of the stream is i mod 251), then close
//   echo    accept, echo every byte back
// It answers ARP and ping, prints `ready` once listening, and exits 0 on SIGTERM; errors go to
// stderr with exit status 1 (bad flags: 2). The stack runs the engine's bypass TCP settings
// (BYPASS_TCP_CONFIG: no delayed ACK, Nagle off) with the ACKs of one wake-up's segments coalesced
// (StackOptions.coalesceAcks: one ACK per batch read, riding on the reply when the echo answers at
// once; OURS_COALESCE_ACKS=0 turns it off); OURS_DELAYED_ACK_MS=40 turns on delayed ACKs.
//
// Beyond the bench interface (lab-bench-interface.md), two flags of its own:
//   --driver sync|spin|spin:USEC|async   how the real-time driver waits for frames (realtime.ts;
//                                        default poll, or BYPASS_SCOPE_DRIVER)
//   --offload on|off                     the TAP's virtio-net offloads: checksum offload and TSO/GSO
//                                        both ways (native/tap.ts); default off, a plain TAP as lwIP's
//   --api raw|socket                     raw (the default): the roles on the stack's own TCP interface
//                                        (ours-raw.ts), as lwip-stack.c serves them on lwIP's raw API;
//                                        socket: on the Node-style streams of engine/stack/net.ts
//
//   node --import tsx bench/lab/ours-stack.ts --tap NAME --ip 198.18.0.2 --prefix 24 \
//        --mac 02:00:00:00:00:02 --port PORT --role sink|source|echo [--bytes N] \
//        [--driver MODE] [--offload on|off] [--api raw|socket]
import type { Duplex } from 'node:stream';
import { driverOptionsFromEnv, RealtimeDriver, type RealtimeOptions } from '../../engine/backends/realtime';
import { TapDevice } from '../../engine/backends/tap';
import { BYPASS_TCP_CONFIG } from '../../engine/capture/session';
import { createServer, Ipv4Stack } from '../../engine/stack/index';
import { serveRaw } from './ours-raw';
import { SeededRng } from '../../engine/tcp/rng';
import { ipv4FromString } from '../../engine/wire/address';

const PERIOD = 251;
const CHUNK = 256 * 1024;

interface Args {
  tap: string;
  ip: number;
  prefix: number;
  mac: Uint8Array;
  port: number;
  role: 'sink' | 'source' | 'echo';
  bytes: number;
  driver: Pick<RealtimeOptions, 'mode' | 'spinUs'>;
  offload: boolean;
  api: 'raw' | 'socket';
}

function usage(message: string): never {
  process.stderr.write(`ours-stack: ${message}\nusage: ours-stack --tap NAME --ip A.B.C.D --prefix N --mac XX:XX:XX:XX:XX:XX --port PORT --role sink|source|echo [--bytes N] [--driver sync|spin[:USEC]|async] [--offload on|off] [--api raw|socket]\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    if (!['--tap', '--ip', '--prefix', '--mac', '--port', '--role', '--bytes', '--driver', '--offload', '--api'].includes(k)) usage(`unknown flag ${k}`);
    if (i + 1 >= argv.length) usage(`flag ${k} needs a value`);
    flags.set(k, argv[i + 1]);
  }
  const tap = flags.get('--tap') ?? usage('--tap NAME is required');
  const ip = ipv4FromString(flags.get('--ip') ?? '198.18.0.2') ?? usage(`--ip ${flags.get('--ip')} is not an IPv4 address`);
  const prefix = Number(flags.get('--prefix') ?? 24);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) usage('--prefix must be 0..32');
  const macText = flags.get('--mac') ?? '02:00:00:00:00:02';
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(macText)) usage(`--mac ${macText} is not a MAC address`);
  const mac = Uint8Array.from(macText.split(':').map((h) => parseInt(h, 16)));
  const port = Number(flags.get('--port'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) usage('--port 1..65535 is required');
  const role = flags.get('--role');
  if (role !== 'sink' && role !== 'source' && role !== 'echo') usage('--role sink|source|echo is required');
  const bytes = Number(flags.get('--bytes') ?? 64 * 1024 * 1024);
  if (!Number.isSafeInteger(bytes) || bytes < 0) usage('--bytes must be a whole number of bytes');
  let driver: Pick<RealtimeOptions, 'mode' | 'spinUs'>;
  try {
    driver = driverOptionsFromEnv(flags.get('--driver') ?? process.env.BYPASS_SCOPE_DRIVER);
  } catch (e) {
    usage(`--driver: ${(e as Error).message.replace(/^BYPASS_SCOPE_DRIVER=/, '')}`);
  }
  const offloadText = flags.get('--offload') ?? 'off';
  if (offloadText !== 'on' && offloadText !== 'off') usage('--offload must be on or off');
  const api = flags.get('--api') ?? 'raw';
  if (api !== 'raw' && api !== 'socket') usage('--api must be raw or socket');
  return { tap, ip, prefix, mac, port, role, bytes, driver, offload: offloadText === 'on', api };
}

/** Writes `total` bytes of the pattern, honouring backpressure, then ends the stream. */
function sendPattern(s: Duplex, total: number, pattern: Buffer): void {
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      const n = Math.min(CHUNK, total - sent);
      const off = sent % PERIOD;
      sent += n;
      if (!s.write(pattern.subarray(off, off + n))) {
        s.once('drain', pump);
        return;
      }
    }
    s.end();
  };
  pump();
}

/** The roles on the Node-style sockets of engine/stack/net.ts (--api socket). */
function serveSockets(stack: Ipv4Stack, args: Args, pattern: Buffer): void {
  const server = createServer(stack, (s) => {
    s.on('error', (e: Error) => process.stderr.write(`ours-stack: connection: ${e.message}\n`));
    switch (args.role) {
      case 'sink':
        s.on('data', () => {});
        s.on('end', () => s.end());
        break;
      case 'source':
        s.on('data', () => {});
        sendPattern(s, args.bytes, pattern);
        break;
      case 'echo':
        s.on('data', (d: Buffer) => s.write(d));
        s.on('end', () => s.end());
        break;
    }
  });
  server.on('error', (e: Error) => {
    process.stderr.write(`ours-stack: listen: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(args.port, () => process.stdout.write('ready\n'));
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const ack = process.env.OURS_DELAYED_ACK_MS;
  const delayedAck = ack === undefined ? undefined : Number(ack);
  if (delayedAck !== undefined && !(delayedAck >= 0 && delayedAck < 500)) usage(`OURS_DELAYED_ACK_MS=${ack}: want milliseconds from 0 to 499`);
  let device: TapDevice;
  try {
    device = TapDevice.open(args.tap, { offloads: args.offload });
  } catch (e) {
    process.stderr.write(`ours-stack: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const driver = new RealtimeDriver({
    ...args.driver,
    // The raw roles run inside the stack's poll: nothing they do waits for a tick.
    appTicks: args.api === 'socket',
    onError: (e) => {
      process.stderr.write(`ours-stack: ${e.message}\n`);
      process.exit(1);
    },
  });
  const stack = new Ipv4Stack(device, {
    name: 'ours',
    mac: args.mac,
    address: args.ip,
    prefixLength: args.prefix,
    rng: new SeededRng((Date.now() ^ (process.pid << 16)) >>> 0),
    tcp: delayedAck === undefined ? BYPASS_TCP_CONFIG : { ...BYPASS_TCP_CONFIG, delayedAckTimeout: delayedAck },
    coalesceAcks: process.env.OURS_COALESCE_ACKS !== '0',
  });
  driver.addSource(device);
  driver.add(stack);
  const pattern = Buffer.alloc(CHUNK + PERIOD);
  for (let i = 0; i < pattern.length; i++) pattern[i] = i % PERIOD;
  if (args.api === 'raw') {
    const failed = serveRaw(stack, args.port, args.role, args.bytes, pattern, PERIOD, (m) => process.stderr.write(`ours-stack: ${m}\n`));
    if (failed !== undefined) {
      process.stderr.write(`ours-stack: listen: ${failed}\n`);
      process.exit(1);
    }
    process.stdout.write('ready\n');
  } else {
    serveSockets(stack, args, pattern);
  }
  driver.start();
  const stop = (): void => {
    void driver.stop().then(() => {
      // What the driver and the device did, for whoever profiles this program (the bench ignores stderr when it exits 0).
      if (process.env.OURS_COUNTERS === '1') process.stderr.write(`ours-stack: driver ${JSON.stringify(driver.counters)} spin ${JSON.stringify(driver.spin.counters)} tap ${JSON.stringify(device.counters)}\n`);
      device.close();
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
