import { binNmuStripped } from '../vuln/installed.ts';
import type { CatalogPackage } from './record.ts';

/*
 * One package of a catalog record, made the same way from a build's package list (the publish
 * job) and from the SPDX attestation (rebuild.ts), so a catalog rebuilt from the registry matches
 * the one the publish job wrote: the source package and its exact version as the Packages index's
 * `Source: name (version)` gave them (the SBOM's `sourceInfo` carries both); without a recorded
 * version (an older SBOM), the binary's less a binNMU `+bN`.
 */
export function catalogPackage(p: {
  name: string;
  version: string;
  purl: string;
  license?: string | undefined;
  sourcePackage?: string | undefined;
  /** The exact source version the builder recorded; else derived from the binary's. */
  sourceVersion?: string | undefined;
}): CatalogPackage {
  return {
    name: p.name,
    version: p.version,
    purl: p.purl,
    ...(p.license ? { license: p.license } : {}),
    ...(p.sourcePackage
      ? { source: p.sourcePackage, sourceVersion: p.sourceVersion ?? binNmuStripped(p.version) }
      : {}),
  };
}

/** `built from source package openssl (3.5.4-1)` (the SPDX writer's sourceInfo) → `openssl`. */
export function sourceOfSpdxInfo(sourceInfo: string | undefined): string | undefined {
  return /^built from source package (\S+)/.exec(sourceInfo ?? '')?.[1];
}

/** `built from source package openssl (3.5.4-1)` → `3.5.4-1`; undefined when not written. */
export function sourceVersionOfSpdxInfo(sourceInfo: string | undefined): string | undefined {
  return /^built from source package \S+ \(([^)\s]+)\)/.exec(sourceInfo ?? '')?.[1];
}
