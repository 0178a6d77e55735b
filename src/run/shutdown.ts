import type { Logger } from '../log.ts';

/**
 * On SIGTERM or SIGINT: stop taking work, let running jobs finish, close connections, exit 0.
 * A second signal exits at once (an operator who presses Ctrl-C twice means it).
 */
export function exitOnSignals(log: Logger, steps: (() => Promise<void>)[]): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'draining: running jobs finish, no new ones start');
    void (async () => {
      for (const step of steps) {
        try {
          await step();
        } catch (error) {
          log.error({ err: error }, 'error while shutting down');
        }
      }
      log.info('drained, exiting');
      process.exit(0);
    })();
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}
