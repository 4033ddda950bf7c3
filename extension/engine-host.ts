// extension: the engine host — forks the engine process (engine/client.ts), writes its logs and stderr
// to the "Bypass Scope" log channel, notices when it dies unasked (a crash) and says why, restarts it
// on request, and shuts it down cleanly on deactivate.
import * as vscode from 'vscode';
import { EngineClient, type EngineExit, type TraceConsumer } from '../engine/client';
import type { EngineNotification } from '../engine/protocol';
import { Disposable } from './dispose';

export type EngineState = 'not started' | 'starting' | 'running' | 'crashed' | 'stopped';

export interface EngineCrash {
  /** One line: what the engine said it died of, or how it ended. */
  readonly message: string;
  readonly detail: string | undefined;
  readonly exit: EngineExit;
  readonly pid: number | undefined;
}

export interface EngineHostOptions {
  readonly enginePath: string;
  readonly log: vscode.LogOutputChannel;
  /** The engine's environment (default: the extension host's, which carries BYPASS_SCOPE_ENGINE_TEST_HOOKS when tests set it). */
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

export class EngineHost extends Disposable {
  private client: EngineClient | undefined;
  private starting: Promise<EngineClient> | undefined;
  private consumer: TraceConsumer | undefined;
  /** The last `error` notification of the running engine: a crash's own words. */
  private lastError: { message: string; detail?: string } | undefined;
  private stopping = new WeakSet<EngineClient>();
  state: EngineState = 'not started';
  lastCrash: EngineCrash | undefined;
  /** Engines started so far (a restart makes a new one). */
  starts = 0;

  private readonly crashEmitter = this.register(new vscode.EventEmitter<EngineCrash>());
  readonly onDidCrash = this.crashEmitter.event;
  private readonly noteEmitter = this.register(new vscode.EventEmitter<EngineNotification>());
  /** Every notification of the running engine, after the log has seen it. */
  readonly onNotification = this.noteEmitter.event;
  private readonly stateEmitter = this.register(new vscode.EventEmitter<EngineState>());
  readonly onDidChangeState = this.stateEmitter.event;

  constructor(private readonly options: EngineHostOptions) {
    super();
  }

  /** The running engine, if there is one. */
  get current(): EngineClient | undefined {
    return this.state === 'running' ? this.client : undefined;
  }

  get pid(): number | undefined {
    return this.client?.hello?.pid;
  }

  /** The one trace consumer, kept across restarts. */
  setTraceConsumer(consumer: TraceConsumer | undefined): void {
    this.consumer = consumer;
    this.client?.setTraceConsumer(consumer);
  }

  /** The running engine, started first if there is none (or the last one died). */
  ensure(): Promise<EngineClient> {
    if (this.disposed) return Promise.reject(new Error('the extension is shutting down'));
    if (this.state === 'running' && this.client !== undefined) return Promise.resolve(this.client);
    if (this.starting !== undefined) return this.starting;
    this.setState('starting');
    const log = this.options.log;
    this.starting = EngineClient.start({
      enginePath: this.options.enginePath,
      env: this.options.env ?? process.env,
      stderr: 'pipe',
      timeoutMs: this.options.timeoutMs,
    }).then(
      (client) => {
        this.starting = undefined;
        this.attach(client);
        return client;
      },
      (err: unknown) => {
        this.starting = undefined;
        this.setState('stopped');
        log.error(`engine: could not start ${this.options.enginePath}: ${(err as Error).message}`);
        throw err;
      },
    );
    return this.starting;
  }

  /** Ends the engine (if any) and starts a new one. */
  async restart(): Promise<EngineClient> {
    await this.shutdown();
    return this.ensure();
  }

  /** Ends the engine cleanly: it stops its capture, sends what it has and exits; SIGKILL if it lingers. */
  async shutdown(): Promise<void> {
    const starting = this.starting;
    if (starting !== undefined) await starting.catch(() => undefined);
    const c = this.client;
    if (c === undefined || c.exit !== undefined) return;
    this.stopping.add(c);
    await c.dispose(2000);
    if (this.client === c) this.setState('stopped');
  }

  override dispose(): void {
    void this.shutdown();
    super.dispose();
  }

  private attach(client: EngineClient): void {
    const log = this.options.log;
    this.client = client;
    this.starts++;
    this.lastError = undefined;
    client.setTraceConsumer(this.consumer);
    const hello = client.hello;
    log.info(`engine: started, pid ${hello.pid}, protocol ${hello.protocol}, backends ${hello.backends.join(', ')}`);
    client.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      for (const line of d.split('\n')) if (line.trim()) log.error(`engine stderr: ${line}`);
    });
    client.onNotification((n) => {
      if (this.client !== client) return;
      switch (n.type) {
        case 'log':
          log[n.level](`engine: ${n.message}`);
          break;
        case 'error':
          this.lastError = { message: n.message, detail: n.detail };
          log.error(`engine: ${n.message}${n.detail ? `\n${n.detail}` : ''}`);
          break;
        case 'exit':
          log.info(`engine: exiting (${n.reason}, code ${n.code})`);
          break;
        default:
          break;
      }
      this.noteEmitter.fire(n);
    });
    void client.exited.then((exit) => {
      if (this.client !== client) return;
      if (this.stopping.has(client) || this.disposed) {
        log.info(`engine: stopped (${exit.signal ?? `code ${exit.code}`})`);
        this.setState('stopped');
        return;
      }
      const how = exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
      const said = this.lastError?.message ?? exit.reason;
      const crash: EngineCrash = {
        message: said === undefined ? `the engine process ended unexpectedly (${how})` : `${said} (${how})`,
        detail: this.lastError?.detail,
        exit,
        pid: client.hello?.pid,
      };
      this.lastCrash = crash;
      log.error(`engine: crashed: ${crash.message}`);
      this.setState('crashed');
      this.crashEmitter.fire(crash);
    });
    this.setState('running');
  }

  private setState(s: EngineState): void {
    if (this.state === s) return;
    this.state = s;
    this.stateEmitter.fire(s);
  }
}
