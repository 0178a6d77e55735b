export { createWatcher, type CheckInfo, type CheckOutcome, type RecipeWatchState, type Watcher, type WatcherOptions } from './watcher.ts';
export { webhookRoutes } from './webhook.ts';
