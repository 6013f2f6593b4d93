/**
 * Preloaded into the service by the benchmark (`node --require`), never imported by the product.
 * It counts every statement sent through `pg` while the benchmark has counting switched on, split
 * by kind and by whether an HTTP request was being served (see StatementCounter), and answers over
 * the IPC channel: snapshots of the counts, the process's CPU time and memory, switching
 * counting on and off, and full garbage collections between measurements. Counting starts off,
 * and the benchmark switches it on only once every timed run is done: the request tagging it
 * needs costs every later promise of the process.
 */
import { Client } from 'pg';
import { answerCollections, answerCountingSwitches, answerSnapshots, processSnapshot, ServiceSnapshot } from './ipc';
import { Queryable, StatementCounter } from './statement-counter';

const counter = new StatementCounter(Client.prototype as unknown as Queryable);

answerSnapshots(
  (): ServiceSnapshot => ({
    ...processSnapshot(),
    inRequests: { ...counter.inRequests },
    outsideRequests: { ...counter.outsideRequests },
    counting: counter.on,
    credentialReads: counter.credentialReads,
  }),
);
answerCountingSwitches((on) => counter.switch(on));
answerCollections();
