import os from 'node:os';

/** The Debian name of this machine's architecture: the one whose images can be tested here. */
export function hostArch(): string {
  switch (os.arch()) {
    case 'x64':
      return 'amd64';
    case 'arm64':
      return 'arm64';
    case 'arm':
      return 'armhf';
    case 'ppc64':
      return 'ppc64el';
    default:
      return os.arch();
  }
}
