import { Migration } from '@mikro-orm/migrations';
import { Logger } from '@nestjs/common';
import { domainToASCII, domainToUnicode } from 'node:url';

/**
 * Addresses are now compared with their domain in one form, the Unicode one (`normalizeEmail`):
 * `ada@xn--bcher-kva.example` and `ada@bücher.example` are one mailbox. An account, a pending
 * registration or a queued account request stored by an earlier release with another form of its
 * domain (punycode, capitals beyond ASCII, fullwidth letters) is rewritten to that form, or a login
 * in any form would no longer find it. Its local part is left as it was stored.
 *
 * Where the same mailbox already has an account under the new form, the older row is left as it
 * is (two accounts of one mailbox, made before this release): which one its owner wants is not
 * the migration's to decide. The migration says how many it left, and docs/operations.md says how
 * to find them.
 *
 * The mapping is written out here rather than imported, so that this migration keeps doing what it
 * did when it ran whatever `normalizeEmail` becomes. Only rows whose address holds a character
 * beyond ASCII or a punycode label are read: on a table of plain addresses, none.
 */
export class Migration20261211000300EmailDomainsInOneForm extends Migration {
  override async up(): Promise<void> {
    const candidates = `email ~ '[^\\x01-\\x7f]' OR email ILIKE '%xn--%'`;
    let left = 0;
    for (const row of await this.execute(`SELECT id, email FROM users WHERE ${candidates}`)) {
      const email = inOneForm(row.email as string);
      if (email === row.email) continue;
      const [updated] = await this.execute(
        `WITH moved AS (
           UPDATE users SET email = ? WHERE id = ? AND NOT EXISTS (SELECT 1 FROM users AS other WHERE lower(other.email) = lower(?) AND other.id <> ?)
           RETURNING 1)
         SELECT count(*)::int AS moved FROM moved`,
        [email, row.id, email, row.id],
      );
      if ((updated.moved as number) === 0) left++;
    }
    // Pending sign-ups, and requests (a reset, a new confirmation link) not yet taken by the worker.
    for (const table of ['registrations', 'account_requests']) {
      for (const row of await this.execute(`SELECT id, email FROM ${table} WHERE ${candidates}`)) {
        const email = inOneForm(row.email as string);
        if (email !== row.email) await this.execute(`UPDATE ${table} SET email = ? WHERE id = ?`, [email, row.id]);
      }
    }
    if (left > 0) {
      new Logger('Migrations').warn(
        `${left} account(s) kept their address as stored: another account has the same address with its domain in Unicode form (docs/operations.md, "One mailbox, two accounts")`,
      );
    }
  }
}

/** `local@domain` with its domain mapped as a URL's host is, then written in Unicode. */
function inOneForm(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 0) return email;
  const ascii = domainToASCII(email.slice(at + 1));
  return ascii === '' ? email : `${email.slice(0, at + 1)}${domainToUnicode(ascii)}`;
}
