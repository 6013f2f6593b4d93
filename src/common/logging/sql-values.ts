/**
 * What a failed statement's error says of the values it was given, taken out before it is logged.
 *
 * MikroORM inlines the parameters of `execute()` into the statement it sends, and knex puts the
 * statement before the error's message (`insert into … values ('ada@example.com', …) - new row …`);
 * MikroORM then appends PostgreSQL's detail (`\n - detail: Failing row contains (…)`), and
 * PostgreSQL quotes values in some messages (`invalid input syntax for type uuid: "…"`). The
 * statement's shape, the table, the constraint and PostgreSQL's reason stay: enough to debug.
 */
const STRING_LITERAL = /\b[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'/g;
const APPENDED_FIELDS = /\n - (?:detail|hint): [^\n]*/g;
const QUOTED_VALUE = /: "(?:[^"\\]|\\.|"")*"/g;

/** Error fields that quote rows or values: PostgreSQL's `detail`, `where`, `internalQuery`, and any parameters attached. */
export const VALUE_FIELDS = new Set(['detail', 'hint', 'where', 'internalQuery', 'parameters', 'params', 'bindings', 'values']);

/** `text` (an error's message or stack) without the values of the statement it names. */
export function withoutSqlValues(text: string): string {
  return text.replace(APPENDED_FIELDS, '').replace(STRING_LITERAL, "'…'").replace(QUOTED_VALUE, ': "…"');
}

/**
 * Whether `error` comes from running a statement: PostgreSQL's own (it has a `severity` or a
 * `routine`), MikroORM's wrapper of one, or a driver failure knex prefixed with the statement.
 */
export function isStatementError(error: { name?: unknown; type?: unknown; message?: unknown; severity?: unknown; routine?: unknown }): boolean {
  if (error.severity !== undefined || error.routine !== undefined) return true;
  const name = String(error.type ?? error.name ?? '');
  if (/Exception$/.test(name)) return true;
  return /^\s*(?:select|insert|update|delete|with|begin|commit|rollback|savepoint|release|alter|create|drop|lock)\b[\s\S]* - /i.test(String(error.message ?? ''));
}

/** One line about a failure, for a log message: no statement values, no stack. */
export function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return withoutSqlValues(message).split('\n', 1)[0].slice(0, 300);
}
