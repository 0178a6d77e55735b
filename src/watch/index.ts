export { createWatcher, UpstreamWatcher } from './watcher.ts';
export type {
  CheckInfo,
  CheckOutcome,
  RecipeWatchState,
  Watcher,
  WatcherOptions,
  WatchTrigger,
} from './types.ts';
export { webhookRoutes } from './webhook.ts';
