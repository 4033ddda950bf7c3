// engine: the parent's side of the engine protocol — forks the engine process, sends commands as
// promises with timeouts, hands notifications to listeners, and acks each trace batch once its
// consumer is done with it (flow control). Free of vscode: the extension and the tests both use it.
import { fork, type ChildProcess } from 'node:child_process';
import { LAB_NAMESPACE_ENV, privateNamespaceCommand } from './backends/lab-topology';
import type {
  CaptureSummary,
  EngineCommand,
  EngineNotification,
  EngineTestCommand,
  FlowStats,
  RuleDiagnostic,
  StartCapture,
  StartResult,
  StepResult,
} from './protocol';
import { isEngineNotification } from './protocol';
import type { TraceBatch, TraceStats } from './trace/schema';

export interface EngineClientOptions {
  /** The built engine entry, out/engine/main.js. */
  readonly enginePath: string;
  /** How long a command may go unanswered (default 10 s). */
  readonly timeoutMs?: number;
  /** How long to wait for the engine's `hello` (default 10 s). */
  readonly helloTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly execArgv?: readonly string[];
  /** Where the engine's stderr goes (default: inherited). */
  readonly stderr?: 'inherit' | 'pipe' | 'ignore';
  /**
   * Start the engine in a private user + network namespace (`unshare -Urn`; `unshare -n` as root),
   * which the lab backend needs: a Node process cannot unshare itself once it has threads, so the
   * engine is exec'd by unshare, and the IPC channel (an inherited fd) survives the exec.
   */
  readonly privateNetworkNamespace?: boolean;
  /**
   * Start the engine inside the named network namespace (`ip netns exec NAME`, as root): for the tap
   * and afpacket backends on devices that live in one.
   */
  readonly networkNamespace?: string;
}

/** How the engine process ended. */
export interface EngineExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The reason of the engine's last `exit` notification, if it sent one. */
  readonly reason: string | undefined;
}

/** Called for each trace batch in order; the batch is acked when it returns (or its promise settles). */
export type TraceConsumer = (batch: TraceBatch, capture: number) => void | Promise<void>;

export type HelloNotification = Extract<EngineNotification, { type: 'hello' }>;

export type NotificationListener = (n: EngineNotification) => void;

export interface RulesResult {
  readonly applied: boolean;
  readonly diagnostics: readonly RuleDiagnostic[];
  readonly ruleCount: number;
  readonly pinnedToOldRules: number;
}

type CommandBody = DistributiveOmit<Exclude<EngineCommand, { type: 'ack' }> | EngineTestCommand, 'id'>;
type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;

export class EngineError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

interface Pending {
  readonly type: string;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class EngineClient {
  readonly child: ChildProcess;
  /** Resolves when the engine process has ended (never rejects). */
  readonly exited: Promise<EngineExit>;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<NotificationListener>();
  private consumer: TraceConsumer | undefined;
  /** Trace batches are consumed one after another, in order. */
  private traceChain: Promise<void> = Promise.resolve();
  private nextId = 1;
  private readonly timeoutMs: number;
  private exitReason: string | undefined;
  private exitInfo: EngineExit | undefined;
  private helloNote: HelloNotification | undefined;

  private constructor(options: EngineClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const execArgv = options.execArgv === undefined ? [] : [...options.execArgv];
    const unshare = options.privateNetworkNamespace === true ? privateNamespaceCommand([process.execPath, ...execArgv]) : undefined;
    const netns = options.networkNamespace === undefined ? undefined : { command: 'ip', args: ['netns', 'exec', options.networkNamespace, process.execPath, ...execArgv] };
    const launcher = unshare ?? netns;
    this.child = fork(options.enginePath, [], {
      serialization: 'advanced',
      env: unshare === undefined ? (options.env ?? process.env) : { ...(options.env ?? process.env), [LAB_NAMESPACE_ENV]: '1' },
      execPath: launcher?.command,
      execArgv: launcher === undefined ? execArgv : launcher.args,
      stdio: ['ignore', 'ignore', options.stderr ?? 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal, reason: this.exitReason };
        const why = `engine exited (${signal ?? `code ${code}`})${this.exitReason === undefined ? '' : `: ${this.exitReason}`}`;
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new EngineError(p.type, `${p.type}: ${why}`));
          this.pending.delete(id);
        }
        resolve(this.exitInfo);
      });
    });
    this.child.on('message', (m: unknown) => this.receive(m));
    // A failed send to a dead child surfaces as an 'error' event; the exit handler reports it.
    this.child.on('error', () => undefined);
  }

  /** Forks the engine and resolves once it has said hello. */
  static async start(options: EngineClientOptions): Promise<EngineClient> {
    const client = new EngineClient(options);
    const helloMs = options.helloTimeoutMs ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        client.kill();
        reject(new EngineError('hello', `the engine did not say hello within ${helloMs} ms`));
      }, helloMs);
      const off = client.onNotification((n) => {
        if (n.type !== 'hello') return;
        clearTimeout(timer);
        off();
        resolve();
      });
      void client.exited.then((e) => {
        clearTimeout(timer);
        off();
        reject(new EngineError('hello', `the engine exited before saying hello (${e.signal ?? `code ${e.code}`})`));
      });
    });
    return client;
  }

  /** The engine's hello (protocol version, pid, backends). */
  get hello(): HelloNotification {
    return this.helloNote!;
  }

  /** How the engine ended, once it has. */
  get exit(): EngineExit | undefined {
    return this.exitInfo;
  }

  /** The reason of the engine's last `exit` notification. */
  get lastExitReason(): string | undefined {
    return this.exitReason;
  }

  onNotification(listener: NotificationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The one trace consumer. Each batch is acked after the consumer is done with it, so a slow
   * consumer makes the engine sample (or, lossless, wait) instead of piling batches up here.
   * Without a consumer, batches are acked on arrival.
   */
  setTraceConsumer(consumer: TraceConsumer | undefined): void {
    this.consumer = consumer;
  }

  /** Sends a command and resolves with its result; rejects with the engine's error or on timeout. */
  request<T = unknown>(body: CommandBody, timeoutMs = this.timeoutMs): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.exitInfo !== undefined || !this.child.connected) {
        reject(new EngineError(body.type, `${body.type}: the engine is not running`));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new EngineError(body.type, `${body.type}: no answer from the engine within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { type: body.type, resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ ...body, id });
    });
  }

  start(capture: StartCapture): Promise<StartResult> {
    return this.request({ type: 'start', capture });
  }

  stop(): Promise<CaptureSummary | undefined> {
    return this.request({ type: 'stop' });
  }

  pause(): Promise<{ timeNs: number }> {
    return this.request({ type: 'pause' });
  }

  resume(): Promise<{ timeNs: number }> {
    return this.request({ type: 'resume' });
  }

  step(until: 'packet' | 'transition'): Promise<StepResult> {
    return this.request({ type: 'step', until });
  }

  reloadRules(text: string, source: string): Promise<RulesResult> {
    return this.request({ type: 'reloadRules', text, source });
  }

  stats(): Promise<{ stats: TraceStats; flow: FlowStats }> {
    return this.request({ type: 'stats' });
  }

  /** Resolves once no command is waiting for its answer (at once when none is). */
  async idle(): Promise<void> {
    while (this.pending.size > 0 && this.exitInfo === undefined) await new Promise((r) => setTimeout(r, 10));
  }

  /** Ends the engine: disconnects (the engine stops and exits), then SIGKILL if it lingers. */
  async dispose(graceMs = 2000): Promise<EngineExit> {
    if (this.exitInfo !== undefined) return this.exitInfo;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.kill(), graceMs);
    const e = await this.exited;
    clearTimeout(timer);
    return e;
  }

  kill(): void {
    if (this.exitInfo === undefined) this.child.kill('SIGKILL');
  }

  private receive(m: unknown): void {
    if (!isEngineNotification(m)) return;
    switch (m.type) {
      case 'response': {
        const p = this.pending.get(m.id);
        if (p === undefined) break;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.ok) p.resolve(m.result);
        else p.reject(new EngineError(p.type, m.error));
        break;
      }
      case 'hello':
        this.helloNote = m;
        break;
      case 'exit':
        this.exitReason = m.reason;
        break;
      case 'trace':
        this.consume(m.batch, m.capture);
        break;
      default:
        break;
    }
    for (const f of this.listeners) f(m);
  }

  private consume(batch: TraceBatch, capture: number): void {
    const consumer = this.consumer;
    this.traceChain = this.traceChain.then(async () => {
      try {
        if (consumer !== undefined) await consumer(batch, capture);
      } finally {
        this.ack(capture, batch.seq);
      }
    });
    // A consumer's failure is its own business; the chain goes on.
    this.traceChain = this.traceChain.catch(() => undefined);
  }

  /** The highest batch consumed and not yet acked, per capture: sent once per turn of the event loop. */
  private readonly unacked = new Map<number, number>();
  private ackScheduled = false;

  /**
   * Acks are cumulative (the engine takes `seq` as "everything up to here"), so batches consumed in
   * one burst cost one message, not one each.
   */
  private ack(capture: number, seq: number): void {
    this.unacked.set(capture, Math.max(seq, this.unacked.get(capture) ?? 0));
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      for (const [c, s] of this.unacked) if (this.child.connected) this.child.send({ type: 'ack', capture: c, seq: s });
      this.unacked.clear();
    });
  }
}
