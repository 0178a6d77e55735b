import { builders } from '../build/registry.ts';
import type { Builder } from '../build/types.ts';
import type { Config } from '../config.ts';

/** Every builder, configured: the planner asks them for versions and resolved inputs. */
export function configuredBuilders(config: Config): Map<string, Builder> {
  return new Map([...builders].map(([id, make]) => [id, make(config)]));
}
