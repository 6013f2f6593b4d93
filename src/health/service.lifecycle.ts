import { Injectable } from '@nestjs/common';

export type LifecyclePhase = 'serving' | 'draining' | 'closing';

/**
 * Where the instance is in its life, for load balancers and for the requests that arrive while it
 * stops. `draining`: still serving, but reporting not-ready and closing each connection after its
 * response, so clients move to another instance. `closing`: new requests are answered 503
 * SERVER_BUSY while the ones already admitted finish; then the instance stops listening.
 */
@Injectable()
export class ServiceLifecycle {
  private current: LifecyclePhase = 'serving';

  get phase(): LifecyclePhase {
    return this.current;
  }

  get serving(): boolean {
    return this.current === 'serving';
  }

  drain(): void {
    if (this.current === 'serving') this.current = 'draining';
  }

  close(): void {
    this.current = 'closing';
  }
}
