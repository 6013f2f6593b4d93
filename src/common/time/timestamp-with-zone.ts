/**
 * A full ISO 8601 timestamp with its time zone (`2027-01-15T12:00:00.000Z`, `…+01:00`), so that no
 * one's local clock decides what it means: `Date.parse` alone takes many other shapes, some in
 * ways nobody means (`12/05` is 5 December 2001).
 */
export const TIMESTAMP_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
