import { AuthenticatedUser } from '../../src/common/auth/principal';
import { MemoryBudget } from '../../src/common/cache/memory.budget';
import { loadConfig } from '../../src/config/app-config';
import { PROOF_VALID_MS } from '../../src/database/revocation-channel';
import { UsersService } from '../../src/users/users.service';
import { Gate } from '../support/gate';

const START = Date.parse('2027-03-01T12:00:00.000Z');
const ADA_ID = '11111111-1111-4111-8111-111111111111';

/** The users table, in memory: one user, a count of reads, and an optional gate that holds every read until opened. */
class FakeUsersTable {
  email = 'ada@example.com';
  reads = 0;
  readonly gate = new Gate();

  async read(id: string): Promise<AuthenticatedUser | null> {
    this.reads++;
    // Read when the statement runs, as the database would.
    const email = this.email;
    await this.gate.passage();
    const at = new Date(START);
    return id === ADA_ID ? { id, email, emailConfirmedAt: at, createdAt: at, updatedAt: at } : null;
  }
}

describe('UsersService', () => {
  let table: FakeUsersTable;
  let users: UsersService;

  /** Ada as an authenticated request finds her: from memory, else by a read that brings her (as a credential's read does). */
  const findAda = async () =>
    users.findCachedAuthenticatedUser(ADA_ID) ??
    (await users.readAuthenticatedUser(async () => {
      const user = await table.read(ADA_ID);
      return user === null ? null : { user };
    }))?.user;

  /** Plays the LISTEN connection for user changes, as PgListener's handlers drive the service. */
  const listener = {
    /** (Re)connected, its first heartbeat sent at `since` and answered. */
    listensFrom: (since: number) => users.resume(since + PROOF_VALID_MS),
    /** A heartbeat sent at `sentAt` is answered on the same connection. */
    hears: (sentAt: number) => users.heard(sentAt + PROOF_VALID_MS),
    drops: () => users.suspend(),
    notifies: (id: string) => users.forget(id),
  };

  /** The address the cache would answer for Ada without a read, if any. */
  const served = () => users.findCachedAuthenticatedUser(ADA_ID)?.email;

  beforeEach(() => {
    jest.useFakeTimers({ now: START });
    table = new FakeUsersTable();
    users = new UsersService(loadConfig({ NODE_ENV: 'test' }), new MemoryBudget(1024 * 1024));
  });

  afterEach(() => jest.useRealTimers());

  it('serves nothing from memory before the listener proves it hears, and keeps nothing read before', async () => {
    expect((await findAda())?.email).toBe('ada@example.com');
    expect(served()).toBeUndefined();

    listener.listensFrom(START);
    expect(served()).toBeUndefined();
    await findAda();
    expect(served()).toBe('ada@example.com');
    expect(table.reads).toBe(2);
  });

  it('stops serving once the last proof runs out, and serves the same memory again when the same connection proves it hears, with no read', async () => {
    listener.listensFrom(START);
    await findAda();

    // No heartbeat answered since the connection's first (a silent partition, a late answer).
    jest.setSystemTime(START + PROOF_VALID_MS - 1);
    expect(served()).toBe('ada@example.com');
    jest.setSystemTime(START + PROOF_VALID_MS);
    expect(served()).toBeUndefined();
    // A read meanwhile still keeps its user: served only after the next proof on this connection.
    await findAda();
    expect(served()).toBeUndefined();

    // A late heartbeat is answered: every change notified before it was sent has been heard.
    listener.hears(START + PROOF_VALID_MS - 10);
    expect(served()).toBe('ada@example.com');
    expect(table.reads).toBe(2);
  });

  it('forgets a user whose change is heard, and starts from nothing when listening on a new connection', async () => {
    listener.listensFrom(START);
    await findAda();

    table.email = 'ada@example.org';
    listener.notifies(ADA_ID);
    expect(served()).toBeUndefined();
    expect((await findAda())?.email).toBe('ada@example.org');
    expect(served()).toBe('ada@example.org');

    // Lost: changes may be missed from now on, and an answer from the lost connection proves nothing.
    listener.drops();
    expect(served()).toBeUndefined();
    listener.hears(Date.now());
    expect(served()).toBeUndefined();

    // A new connection heard nothing that happened while there was none.
    listener.listensFrom(Date.now());
    expect(served()).toBeUndefined();
    expect(table.reads).toBe(2);
  });

  it('keeps nothing a read found when a change was heard, or the listener reconnected, while the read was in flight', async () => {
    listener.listensFrom(START);

    table.gate.hold();
    const overtakenByChange = findAda();
    listener.notifies(ADA_ID);
    table.gate.release();
    expect((await overtakenByChange)?.email).toBe('ada@example.com');
    expect(served()).toBeUndefined();

    table.gate.hold();
    const overtakenByReconnection = findAda();
    listener.drops();
    listener.listensFrom(Date.now());
    table.gate.release();
    await overtakenByReconnection;
    expect(served()).toBeUndefined();
  });
});
