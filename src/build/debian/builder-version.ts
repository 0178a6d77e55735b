/** Bumped whenever the bytes this builder writes for the same lockfile change (also keys the layer cache). */
export const debianBuilderVersion = '1.1.0';
