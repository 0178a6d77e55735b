export { createWatcher } from './watcher.ts';
export type {
  CheckInfo,
  CheckOutcome,
  RecipeWatchState,
  Watcher,
  WatcherOptions,
} from './types.ts';
export { webhookRoutes } from './webhook.ts';
