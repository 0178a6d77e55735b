import { hostAptSources, type AptSource } from '../host/apt.ts';
import { PermanentError } from '../errors.ts';
import { defaultKeyringPath } from './keyring.ts';

/** Where one suite comes from and which keyring vouches for it. */
export interface SuiteSource {
  suite: string;
  /** Mirror root URL, without a trailing slash (the folder holding `dists/` and `pool/`). */
  mirror: string;
  /** Keyring path or inline armored key block. */
  keyring: string;
}

/** Settings that override the host's apt sources (KILN_DEBIAN_MIRROR and friends). */
export interface MirrorSettings {
  debianMirror?: string | undefined;
  debianSecurityMirror?: string | undefined;
  debianKeyring?: string | undefined;
}

const isSecurity = (suite: string): boolean =>
  /-security$/.test(suite) || suite.endsWith('/updates');

/**
 * Picks the mirror for each suite: the configured one, else the host's apt source that lists
 * the suite, else the host source of the same kind (security or not) — so a bookworm host can
 * build trixie from the same mirror. Mirror host names never come from kiln's code.
 */
export function pickSources(
  suites: string[],
  settings: MirrorSettings,
  host: AptSource[],
): SuiteSource[] {
  return suites.map((suite) => {
    const security = isSecurity(suite);
    const configured = security ? settings.debianSecurityMirror : settings.debianMirror;
    const listed = host.find((s) => s.suites.includes(suite));
    const sameKind = host.find((s) => s.suites.some((x) => isSecurity(x) === security));
    const source = listed ?? sameKind;
    const mirror = configured ?? source?.uri;
    if (!mirror) {
      throw new PermanentError(
        `no Debian mirror for suite ${suite}: set ${security ? 'KILN_DEBIAN_SECURITY_MIRROR' : 'KILN_DEBIAN_MIRROR'} or add it to the host's apt sources`,
      );
    }
    const keyring =
      settings.debianKeyring ?? (configured ? undefined : source?.signedBy) ?? defaultKeyringPath;
    return { suite, mirror: mirror.replace(/\/+$/, ''), keyring };
  });
}

/** {@link pickSources} against the host's /etc/apt. */
export async function hostSuiteSources(
  suites: string[],
  settings: MirrorSettings,
): Promise<SuiteSource[]> {
  return pickSources(suites, settings, await hostAptSources());
}
