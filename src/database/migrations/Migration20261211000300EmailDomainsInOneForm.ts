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
 * Accounts are taken oldest first: where the mailbox already has an account in the new form (one
 * made in it, or an older twin rewritten earlier in this run), the row is left as it is (two
 * accounts of one mailbox, made before this release), since which one its owner wants is not the
 * migration's to decide; so is a row whose new form would not fit the column. The migration names
 * the rows it left, by id, and docs/operations.md says how to resolve them.
 *
 * The mapping is written out here rather than imported, so that this migration keeps doing what it
 * did when it ran whatever `normalizeEmail` becomes. Only rows whose address holds a character
 * beyond ASCII or a punycode label are read: on a table of plain addresses, none.
 */
export class Migration20261211000300EmailDomainsInOneForm extends Migration {
  override async up(): Promise<void> {
    const candidates = `email ~ '[^\\x01-\\x7f]' OR email ILIKE '%xn--%'`;
    const left: string[] = [];
    for (const row of await this.execute(`SELECT id, email FROM users WHERE ${candidates} ORDER BY created_at, id`)) {
      const email = inOneForm(row.email as string);
      if (email === row.email) continue;
      if (characters(email) > MAX_EMAIL_LENGTH) {
        left.push(row.id as string);
        continue;
      }
      const [updated] = await this.execute(
        `WITH moved AS (
           UPDATE users SET email = ? WHERE id = ? AND NOT EXISTS (SELECT 1 FROM users AS other WHERE lower(other.email) = lower(?) AND other.id <> ?)
           RETURNING 1)
         SELECT count(*)::int AS moved FROM moved`,
        [email, row.id, email, row.id],
      );
      if ((updated.moved as number) === 0) left.push(row.id as string);
    }
    // Pending sign-ups, and requests (a reset, a new confirmation link) not yet taken by the worker.
    for (const table of ['registrations', 'account_requests']) {
      for (const row of await this.execute(`SELECT id, email FROM ${table} WHERE ${candidates}`)) {
        const email = inOneForm(row.email as string);
        if (email !== row.email && characters(email) <= MAX_EMAIL_LENGTH) await this.execute(`UPDATE ${table} SET email = ? WHERE id = ?`, [email, row.id]);
      }
    }
    if (left.length > 0) {
      new Logger('Migrations').warn(
        `${left.length} account(s) kept their address as stored, since another account has it with its domain in Unicode form or it would not fit (docs/operations.md, "One mailbox, two accounts"): ${left.join(', ')}`,
      );
    }
  }

  /**
   * The rewritten addresses stay: the release before compares addresses as typed, so it finds each
   * account by its Unicode form, the one a person types, and what form a row had before is not kept.
   */
  override async down(): Promise<void> {}
}

/** The columns' length: a longer form is left as stored rather than fail the migration. */
const MAX_EMAIL_LENGTH = 320;

/** Length as PostgreSQL counts it, in characters rather than UTF-16 units. */
function characters(text: string): number {
  return [...text].length;
}

/**
 * `local@domain` with its domain mapped as a URL's host is, written in Unicode and lower-cased; left
 * as it is when the domain is no host name the mapping is for (too long, a character a URL's host
 * parser reads otherwise, an IPv4 address).
 */
function inOneForm(email: string): string {
  const at = email.lastIndexOf('@');
  const domain = email.slice(at + 1);
  if (at < 0 || domain.length > 253 || /[/\\?#%\s\p{Cc}]/u.test(domain)) return email;
  const ascii = domainToASCII(domain);
  if (ascii === '' || ascii.length > 253 || /^[\d.]+$/.test(ascii) || ascii.split('.').some((label) => label.length > 63)) return email;
  return `${email.slice(0, at + 1)}${domainToUnicode(ascii).toLowerCase()}`;
}
