/** Runs jobs 0..n-1 with at most `limit` in flight (a bench's concurrent client). */
export async function pool(n: number, limit: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < n) await job(next++);
    }),
  );
}
