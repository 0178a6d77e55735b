import { startLocalGithub } from '../../test/servers/github/server.ts';

/** The local GitHub in its own process, so the watcher's RSS is measured alone. Prints its URL. */
const github = await startLocalGithub({
  tokens: [process.env.BENCH_TOKEN ?? 'bench-token'],
  // Large buckets: the bench measures points spent, it must not run out of them.
  limits: { core: 10_000_000, graphql: 10_000_000 },
});
process.stdout.write(`${JSON.stringify({ apiUrl: github.apiUrl })}\n`);
process.on('SIGTERM', () => void github.close().then(() => process.exit(0)));
