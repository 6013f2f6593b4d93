export type StatementKind = 'read' | 'write' | 'other';

export interface StatementCounts {
  read: number;
  write: number;
  other: number;
}

const FIRST_WORD = /^[\s(]*([A-Za-z]+)/;
const WRITES_IN_CTE = /\b(insert|update|delete|merge)\b/i;

/**
 * Sorts a statement by its first keyword: SELECT (and VALUES, TABLE) read; INSERT, UPDATE,
 * DELETE, MERGE, TRUNCATE, COPY write; a WITH query writes when its body does. Everything else
 * (BEGIN, COMMIT, SET, LISTEN, NOTIFY, DDL) is `other`.
 */
export function classifyStatement(sql: string): StatementKind {
  const word = FIRST_WORD.exec(sql)?.[1]?.toLowerCase();
  switch (word) {
    case 'select':
    case 'values':
    case 'table':
      return 'read';
    case 'insert':
    case 'update':
    case 'delete':
    case 'merge':
    case 'truncate':
    case 'copy':
      return 'write';
    case 'with':
      return WRITES_IN_CTE.test(sql) ? 'write' : 'read';
    default:
      return 'other';
  }
}

export function emptyCounts(): StatementCounts {
  return { read: 0, write: 0, other: 0 };
}

export function subtractCounts(after: StatementCounts, before: StatementCounts): StatementCounts {
  return { read: after.read - before.read, write: after.write - before.write, other: after.other - before.other };
}
