/** Queue names; every key is also under the configured prefix (KILN_QUEUE_PREFIX). */
export const QueueName = {
  build: 'build',
  publish: 'publish',
} as const;
