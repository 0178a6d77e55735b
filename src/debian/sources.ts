import { hostAptSources, type AptSource } from '../host-config/apt.ts';
import { PermanentError } from '../errors.ts';
import { defaultKeyringPath } from './keyring.ts';

/** Where one suite comes from and which keyring vouches for it. */
export interface SuiteSource {
  suite: string;
  /** Mirror root URL, without a trailing slash (the folder holding `dists/` and `pool/`). */
  mirror: string;
  /**
   * Every mirror to try, in order, `mirror` first: a mirror that is down or mid-sync is passed
   * over for the next, as apt passes over a source that fails.
   */
  mirrors: string[];
  /** Keyring path or inline armored key block. */
  keyring: string;
}

/** Settings that override the host's apt sources (KILN_DEBIAN_MIRROR and friends). */
export interface MirrorSettings {
  /** One mirror root URL, or several (a list, or one string separated by commas or spaces). */
  debianMirror?: string | readonly string[] | undefined;
  debianSecurityMirror?: string | readonly string[] | undefined;
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
    const configured = mirrorList(security ? settings.debianSecurityMirror : settings.debianMirror);
    const listed = host.filter((s) => s.suites.includes(suite));
    const sameKind = host.filter((s) => s.suites.some((x) => isSecurity(x) === security));
    const source = listed[0] ?? sameKind[0];
    // Host sources signed by another keyring are other archives (third-party repos), not mirrors.
    const fromHost = (listed.length > 0 ? listed : sameKind)
      .filter((s) => s.signedBy === source?.signedBy)
      .map((s) => s.uri);
    const mirrors = [...new Set((configured.length > 0 ? configured : fromHost).map(trimSlash))];
    const mirror = mirrors[0];
    if (!mirror) {
      throw new PermanentError(
        `no Debian mirror for suite ${suite}: set ${security ? 'KILN_DEBIAN_SECURITY_MIRROR' : 'KILN_DEBIAN_MIRROR'} or add it to the host's apt sources`,
      );
    }
    const keyring =
      settings.debianKeyring ??
      (configured.length > 0 ? undefined : source?.signedBy) ??
      defaultKeyringPath;
    return { suite, mirror, mirrors, keyring };
  });
}

const trimSlash = (url: string): string => url.replace(/\/+$/, '');

/** A configured mirror setting as a list: commas or white space separate several mirrors. */
export function mirrorList(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const items = typeof value === 'string' ? [value] : value;
  return items.flatMap((v) => v.split(/[\s,]+/)).filter((v) => v !== '');
}

/** {@link pickSources} against the host's /etc/apt. */
export async function hostSuiteSources(
  suites: string[],
  settings: MirrorSettings,
): Promise<SuiteSource[]> {
  return pickSources(suites, settings, await hostAptSources());
}
