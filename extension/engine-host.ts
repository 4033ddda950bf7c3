// extension: the engine host — forks the engine process (engine/client.ts), writes its logs and stderr
// to the "Bypass Scope" log channel, notices when it dies unasked (a crash) and says why, restarts it
// on request, and shuts it down cleanly on deactivate. One shared engine runs sim and replay; a lab
// capture gets a second engine started inside its own private network namespace (and a tap or
// afpacket capture on a device in a named namespace, one started there), which ends with its capture:
// while it runs it is the engine the commands and the views talk to, and the shared one waits.
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

/** Where an engine runs: the shared one, one in a private namespace for the lab, or one in a named network namespace. */
export type EnginePlace = { readonly kind: 'shared' } | { readonly kind: 'lab' } | { readonly kind: 'netns'; readonly name: string };

export const SHARED_ENGINE: EnginePlace = { kind: 'shared' };

export function placeName(p: EnginePlace): string {
  return p.kind === 'netns' ? `netns ${p.name}` : p.kind;
}

const samePlace = (a: EnginePlace, b: EnginePlace) => placeName(a) === placeName(b);

export class EngineHost extends Disposable {
  private client: EngineClient | undefined;
  private starting: Promise<EngineClient> | undefined;
  /** Where the engine the host talks to runs. */
  private where: EnginePlace = SHARED_ENGINE;
  /** The shared engine, kept (idle, unheard) while a capture's own engine is the one talked to. */
  private parked: EngineClient | undefined;
  private readonly generations = new WeakMap<EngineClient, number>();
  private attaches = 0;
  private consumer: TraceConsumer | undefined;
  /** The last `error` notification of the running engine: a crash's own words. */
  private lastError: { message: string; detail?: string } | undefined;
  private stopping = new WeakSet<EngineClient>();
  state: EngineState = 'not started';
  lastCrash: EngineCrash | undefined;

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

  /** Which engine process the host talks to: a number of its own for each one started (a restart makes a new one). */
  get starts(): number {
    return this.client === undefined ? 0 : (this.generations.get(this.client) ?? 0);
  }

  /** Where the engine talked to runs. */
  get place(): EnginePlace {
    return this.where;
  }

  /** The shared engine while another is talked to (for the tests: it stays up, unheard). */
  get parkedPid(): number | undefined {
    return this.parked?.hello?.pid;
  }

  /** The one trace consumer, kept across restarts. */
  setTraceConsumer(consumer: TraceConsumer | undefined): void {
    this.consumer = consumer;
    this.client?.setTraceConsumer(consumer);
  }

  /**
   * The running engine at `place` (the shared one by default), started first if there is none (or
   * the last one died). Going to another place ends a capture's own engine, or parks the shared one.
   */
  async ensure(place: EnginePlace = SHARED_ENGINE): Promise<EngineClient> {
    if (this.disposed) throw new Error('the extension is shutting down');
    await this.moving;
    if (!samePlace(place, this.where)) await this.moveTo(place);
    if (this.state === 'running' && this.client !== undefined) return this.client;
    if (this.starting !== undefined) return this.starting;
    this.setState('starting');
    const log = this.options.log;
    this.starting = EngineClient.start({
      enginePath: this.options.enginePath,
      env: this.options.env ?? process.env,
      stderr: 'pipe',
      timeoutMs: this.options.timeoutMs,
      privateNetworkNamespace: place.kind === 'lab',
      networkNamespace: place.kind === 'netns' ? place.name : undefined,
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

  /** Ends the engine talked to (if any) and starts a new one in the same place. */
  async restart(): Promise<EngineClient> {
    const place = this.where;
    await this.end(this.client);
    return this.ensure(place);
  }

  /**
   * A capture's own engine (lab, or in a named namespace) has done its job: it ends once it has
   * answered what it was asked (its namespace and devices go with it), and the shared engine is the
   * one talked to again.
   */
  async release(): Promise<void> {
    if (this.where.kind === 'shared') return;
    await this.moveTo(SHARED_ENGINE);
  }

  /** Ends every engine cleanly: each stops its capture, sends what it has and exits; SIGKILL if one lingers. */
  async shutdown(): Promise<void> {
    const parked = this.parked;
    this.parked = undefined;
    await Promise.all([this.end(this.client), parked === undefined ? undefined : this.endQuietly(parked)]);
  }

  override dispose(): void {
    void this.shutdown();
    super.dispose();
  }

  /** Ends `c` (the engine talked to) on purpose: the host's state becomes stopped, with no crash. */
  private async end(c: EngineClient | undefined): Promise<void> {
    const starting = this.starting;
    if (starting !== undefined) await starting.catch(() => undefined);
    c ??= this.client;
    if (c === undefined || c.exit !== undefined) return;
    this.stopping.add(c);
    await c.idle();
    await c.dispose(2000);
    if (this.client === c) this.setState('stopped');
  }

  private async endQuietly(c: EngineClient): Promise<void> {
    this.stopping.add(c);
    await c.dispose(2000);
  }

  /** Moves one after another (a release and the next capture's start can overlap). */
  private moving: Promise<void> = Promise.resolve();

  private moveTo(place: EnginePlace): Promise<void> {
    const next = this.moving.then(() => (samePlace(place, this.where) ? undefined : this.move(place)));
    this.moving = next.catch(() => undefined);
    return next;
  }

  /** Makes `place` the one talked to: a capture's own engine ends, the shared one is parked or taken back. */
  private async move(place: EnginePlace): Promise<void> {
    const log = this.options.log;
    if (this.where.kind !== 'shared') {
      const own = this.client;
      log.info(`engine: ending the ${placeName(this.where)} engine${own?.hello ? ` (pid ${own.hello.pid})` : ''}`);
      await this.end(own);
      this.client = undefined;
    } else if (this.client !== undefined && this.client.exit === undefined) {
      await this.starting?.catch(() => undefined);
      this.parked = this.client;
      this.parked.setTraceConsumer(undefined);
      this.client = undefined;
    }
    this.where = place;
    if (place.kind === 'shared' && this.parked !== undefined) {
      const back = this.parked;
      this.parked = undefined;
      if (back.exit === undefined) {
        this.client = back;
        back.setTraceConsumer(this.consumer);
        this.setState('running');
        return;
      }
    }
    this.setState('not started');
  }

  private attach(client: EngineClient): void {
    const log = this.options.log;
    this.client = client;
    this.generations.set(client, ++this.attaches);
    this.lastError = undefined;
    client.setTraceConsumer(this.consumer);
    const hello = client.hello;
    const where = this.where.kind === 'shared' ? '' : ` in ${this.where.kind === 'lab' ? 'its private network namespace (lab)' : `network namespace ${this.where.name}`}`;
    log.info(`engine: started${where}, pid ${hello.pid}, protocol ${hello.protocol}, backends ${hello.backends.join(', ')}`);
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
