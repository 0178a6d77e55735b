/*
 * Which of a Dockerfile's FROM names reach the output image. The target stage (or the last one)
 * stands on a chain of FROMs: its base's layers are the bottom of the output. Every other base is
 * build-only: its files can be copied out (`COPY --from`), but its layers never ship.
 */

interface Stage {
  /** What FROM names: an image, a recipe's base name, or an earlier stage. */
  from: string;
  /** The stage's `AS` name, lower-cased (stage names are case-insensitive). */
  name?: string;
}

/** The FROM lines of a Dockerfile, in order (line continuations joined, comments skipped). */
export function dockerfileStages(text: string): Stage[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^\s*FROM\s+((?:--\S+\s+)*)(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(line);
    if (!m?.[2]) continue;
    stages.push({ from: m[2], ...(m[3] ? { name: m[3].toLowerCase() } : {}) });
  }
  return stages;
}

/**
 * The base names (keys of `bases`) whose layers end up in the output of `target` (default: the
 * last stage). A name the Dockerfile never reaches from the target is build-only.
 */
export function outputBases(text: string, bases: Iterable<string>, target?: string): Set<string> {
  const stages = dockerfileStages(text);
  const byName = new Map<string, number>();
  stages.forEach((s, i) => s.name && byName.set(s.name, i));
  let at = target ? byName.get(target.toLowerCase()) : stages.length - 1;
  const names = new Set(bases);
  const out = new Set<string>();
  for (let hops = 0; at !== undefined && hops <= stages.length; hops++) {
    const stage = stages[at];
    if (!stage) break;
    const earlier = byName.get(stage.from.toLowerCase());
    // FROM an earlier stage: keep walking; a later "stage" of that name would be an image.
    if (earlier !== undefined && earlier < at) {
      at = earlier;
      continue;
    }
    if (names.has(stage.from)) out.add(stage.from);
    break;
  }
  // Unknown target or unreadable FROMs: treat every base as shipped (nothing is flattened).
  if (at === undefined || stages.length === 0) return names;
  return out;
}
