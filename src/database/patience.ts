/** A verdict that falls due unless it is cancelled first. */
export interface Patience {
  cancel(): void;
}

/**
 * Calls `onDue` when `ms` have passed, unless cancelled first, but only after the event loop has
 * read what the sockets hold in that turn. Due timers run before sockets are read: when this
 * process itself stalled (a long collection, a starved CPU, a long synchronous task), an answer
 * may be waiting unread in the socket while the timer is already due, and a verdict given in the
 * timer would call a healthy connection dead. `setImmediate`'s callbacks run after the read, so an
 * answer that waited there has cancelled the verdict by then (decision 038). pg's own
 * `query_timeout` decides in the timer, which is why the service does not use it.
 */
export function patience(ms: number, onDue: () => void): Patience {
  let immediate: NodeJS.Immediate | undefined;
  const timer = setTimeout(() => {
    immediate = setImmediate(onDue);
  }, ms);
  return {
    cancel: () => {
      clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
    },
  };
}
