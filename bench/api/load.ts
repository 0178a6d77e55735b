import autocannon from 'autocannon';

/*
 * The load generator, run as a separate process so it does not share the server's event loop.
 * Bounded in count (amount) and time (stopped at the deadline); prints autocannon's result as JSON.
 */
const [url, amount, maxMs, connections] = process.argv.slice(2);
if (!url || !amount || !maxMs || !connections) {
  process.stderr.write('usage: load.ts <url> <max requests> <max ms> <connections>\n');
  process.exit(2);
}
let timer: NodeJS.Timeout | undefined;
const result = await new Promise<autocannon.Result>((resolve, reject) => {
  const instance = autocannon(
    { url, amount: Number(amount), connections: Number(connections), pipelining: 1 },
    (error, r) => (error ? reject(error) : resolve(r)),
  );
  timer = setTimeout(() => instance.stop(), Number(maxMs));
});
clearTimeout(timer);
process.stdout.write(
  JSON.stringify({
    requests: result.requests.total,
    rps: result.requests.total / (result.duration || 1),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    bytesPerRequest: result.requests.total ? result.throughput.total / result.requests.total : 0,
    seconds: result.duration,
  }) + '\n',
);
