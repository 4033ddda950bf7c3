// trace: a recorder that can shed load — while `sampling` is on it counts packet records instead of
// writing them (transitions are always kept), so that a slow trace consumer costs trace records and
// never packets. The count goes into the next batch's `dropped` field.
import { TraceRecorder, type RecorderOptions } from './recorder';
import type { Direction, HopKind, LayerName, PathName, TraceBatch, Verdict } from './schema';

export class SamplingRecorder extends TraceRecorder {
  /** While true, packet records opened from now on are counted, not recorded. */
  sampling = false;
  /** Packet records sampled away over the whole capture. */
  droppedTotal = 0;
  /** Sampled away and not yet reported in a batch. */
  private droppedPending = 0;
  /** How many of the innermost open records are being skipped (a record inside a skipped one is skipped too). */
  private skipDepth = 0;

  constructor(options: RecorderOptions = {}) {
    super(options);
  }

  /** Records sampled away since the last batch that reported them. */
  get droppedUnreported(): number {
    return this.droppedPending;
  }

  override beginPacket(direction: Direction, iface: number, timeNs: number, frame: Uint8Array, wireLen: number, packetId?: number): number {
    // A caller that lets the recorder number packets is never sampled: the numbering must go on.
    if (packetId !== undefined && this.level !== 'off' && (this.skipDepth > 0 || this.sampling)) {
      this.skipDepth++;
      this.droppedPending++;
      this.droppedTotal++;
      return packetId;
    }
    return super.beginPacket(direction, iface, timeNs, frame, wireLen, packetId);
  }

  override hop(layer: LayerName, kind: HopKind, verdict: Verdict, offsetNs: number, durationNs: number, reason?: string): void {
    if (this.skipDepth === 0) super.hop(layer, kind, verdict, offsetNs, durationNs, reason);
  }

  override steered(path: PathName, rule: number, flowId: number): void {
    if (this.skipDepth === 0) super.steered(path, rule, flowId);
  }

  override connection(connId: number): void {
    if (this.skipDepth === 0) super.connection(connId);
  }

  override flag(bits: number): void {
    if (this.skipDepth === 0) super.flag(bits);
  }

  override endPacket(): void {
    if (this.skipDepth > 0) this.skipDepth--;
    else super.endPacket();
  }

  /**
   * Finishes the current batch and returns every finished batch; the newest carries the records
   * sampled away since the last report. With no batch to carry them, they wait for the next one.
   */
  override takeBatches(dropped = 0): TraceBatch[] {
    const total = dropped + this.droppedPending;
    const batches = super.takeBatches(total);
    // Batches cut earlier because they were full carry 0; only a batch cut now carries the count.
    const last = batches[batches.length - 1];
    if (last !== undefined && last.dropped === total) this.droppedPending = 0;
    return batches;
  }
}
