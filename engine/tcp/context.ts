// tcp: what all connections of one stack instance share — configuration, the seeded RNG, the ISN key.

import type { TcpConfig } from './config';
import { IsnGenerator } from './isn';
import type { Rng } from './rng';

export class TcpContext {
  readonly isn: IsnGenerator;
  private nextId = 1;

  constructor(
    readonly config: TcpConfig,
    /** The stack's one seeded RNG: ISN key and timestamp offsets come from it. */
    readonly rng: Rng,
  ) {
    this.isn = new IsnGenerator(rng);
  }

  /** Connection ids are small integers, unique within this context. */
  allocId(): number {
    return this.nextId++;
  }
}
