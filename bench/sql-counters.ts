/**
 * Preloaded into the service by the benchmark (`node --require`), never imported by the product.
 * It counts every statement sent through `pg` while the benchmark has counting switched on
 * (BENCH_SQL_COUNTERS=1 switches it on from the start), split by kind and by whether an HTTP
 * request was being served (see StatementCounter), and answers over the IPC channel: snapshots of
 * the counts, the process's CPU time and memory, and switching counting on and off. The benchmark
 * keeps counting off during its timed runs: the request tagging it needs costs every request.
 */
import { Client } from 'pg';
import { answerCountingSwitches, answerSnapshots, processSnapshot, ServiceSnapshot } from './ipc';
import { Queryable, StatementCounter } from './statement-counter';

const counter = new StatementCounter(Client.prototype as unknown as Queryable);
counter.switch(process.env.BENCH_SQL_COUNTERS === '1');

answerSnapshots(
  (): ServiceSnapshot => ({
    ...processSnapshot(),
    inRequests: { ...counter.inRequests },
    outsideRequests: { ...counter.outsideRequests },
    counting: counter.on,
  }),
);
answerCountingSwitches((on) => counter.switch(on));
