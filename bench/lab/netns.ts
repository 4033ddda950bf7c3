// bench/lab/netns: the private network namespaces of the lab bench. Each is held open by a holder
// process (`unshare -n cat`) whose stdin is a pipe from this process, so the namespace, and every
// device in it, goes away when the holder ends: on close(), and also when the bench is killed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';

const HOLDER_WAIT_MS = 5000;

export class Netns {
  private constructor(
    readonly name: string,
    private readonly holder: ChildProcess,
    readonly pid: number,
  ) {}

  /** Starts a holder in a new network namespace and waits until it is inside it. */
  static async create(name: string): Promise<Netns> {
    const holder = spawn('unshare', ['-n', '--', 'cat'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    holder.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const pid = holder.pid;
    if (pid === undefined) throw new Error(`netns ${name}: could not start unshare (is util-linux installed?)`);
    const ours = readlinkSync('/proc/self/ns/net');
    const deadline = Date.now() + HOLDER_WAIT_MS;
    // unshare(2) runs after the fork: until then the holder is still in our namespace.
    for (;;) {
      if (holder.exitCode !== null || holder.signalCode !== null)
        throw new Error(`netns ${name}: unshare -n failed: ${stderr.trim() || `exit ${holder.exitCode}`}` +
          ' (creating a network namespace needs root, or running inside `unshare -Urn`)');
      let theirs = '';
      try { theirs = readlinkSync(`/proc/${pid}/ns/net`); } catch { /* not yet visible */ }
      if (theirs !== '' && theirs !== ours) break;
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        throw new Error(`netns ${name}: the holder did not enter a new namespace within ${HOLDER_WAIT_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const ns = new Netns(name, holder, pid);
    ns.run(['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** The argv that runs `argv` inside this namespace; the program gets SIGKILL if the bench dies. */
  enter(argv: string[]): string[] {
    return ['nsenter', '-t', String(this.pid), '-n', '--', 'setpriv', '--pdeathsig', 'KILL', '--', ...argv];
  }

  /** Runs a short setup command inside; throws with its stderr when it fails. */
  run(argv: string[]): void {
    const [cmd, ...args] = this.enter(argv);
    const res = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
    if (res.status !== 0)
      throw new Error(`netns ${this.name}: \`${argv.join(' ')}\` failed: ${(res.stderr || res.error?.message || `exit ${res.status}`).trim()}`);
  }

  get alive(): boolean {
    return this.holder.exitCode === null && this.holder.signalCode === null;
  }

  /** Ends the holder (by its PID); the kernel then removes the namespace and its devices. */
  close(): void {
    if (!this.alive) return;
    this.holder.stdin?.end();
    try { process.kill(this.pid, 'SIGTERM'); } catch { /* already gone */ }
  }
}
