/**
 * A start (or a command beside the service) refused for a reason the person starting it can act
 * on: its message is one line, said without a stack.
 */
export class StartRefusedError extends Error {
  override readonly name = 'StartRefusedError';
}
