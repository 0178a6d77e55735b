import { binNmuStripped } from '../vuln/installed.ts';
import type { CatalogPackage } from './record.ts';

/*
 * One package of a catalog record, made the same way from a build's package list (the publish
 * job) and from the SPDX attestation (rebuild.ts), so a catalog rebuilt from the registry matches
 * the one the publish job wrote: the source package as the SBOM's `sourceInfo` names it, its
 * version the binary's less a binNMU `+bN` (which is also what src/vuln derives from an SBOM).
 */
export function catalogPackage(p: {
  name: string;
  version: string;
  purl: string;
  license?: string | undefined;
  sourcePackage?: string | undefined;
}): CatalogPackage {
  return {
    name: p.name,
    version: p.version,
    purl: p.purl,
    ...(p.license ? { license: p.license } : {}),
    ...(p.sourcePackage
      ? { source: p.sourcePackage, sourceVersion: binNmuStripped(p.version) }
      : {}),
  };
}

/** `built from source package openssl` (the SPDX writer's sourceInfo) → `openssl`. */
export function sourceOfSpdxInfo(sourceInfo: string | undefined): string | undefined {
  return /^built from source package (\S+)/.exec(sourceInfo ?? '')?.[1];
}
