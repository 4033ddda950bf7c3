// extension: the impairment presets Start Capture offers — named sets of the engine's wire-side
// impairments (engine/backends/impair.ts), for the conditions people test low-latency systems under.
import type { ImpairmentSettings } from '../engine/protocol';

export interface ImpairmentPreset {
  readonly id: string;
  readonly label: string;
  readonly detail: string;
  readonly impairments: ImpairmentSettings | undefined;
}

export const IMPAIRMENT_PRESETS: readonly ImpairmentPreset[] = [
  { id: 'none', label: 'None', detail: 'a clean wire', impairments: undefined },
  { id: 'lossy', label: 'Lossy link', detail: '1% loss: retransmissions, SACK and fast recovery', impairments: { loss: 0.01 } },
  { id: 'wan', label: 'WAN', detail: '20 ms delay ±5 ms jitter, 0.1% loss', impairments: { delayMs: 20, jitterMs: 5, loss: 0.001 } },
  { id: 'congested', label: 'Congested', detail: '3% loss, 2% reordering, 40 Mbit/s', impairments: { loss: 0.03, reorder: 0.02, rateMbit: 40 } },
  { id: 'dirty', label: 'Dirty wire', detail: '0.5% corrupted, 0.5% duplicated frames', impairments: { corrupt: 0.005, duplicate: 0.005 } },
  { id: 'slow', label: '10 Mbit/s', detail: 'a slow link: the window and cwnd at work', impairments: { rateMbit: 10 } },
];

export function findPreset(id: string): ImpairmentPreset | undefined {
  return IMPAIRMENT_PRESETS.find((p) => p.id === id);
}
