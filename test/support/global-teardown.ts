export default async function globalTeardown(): Promise<void> {
  await (globalThis as any).__ATIRU_EMBEDDED_PG__?.stop();
}
