import { PermanentError } from '../../errors.ts';
import type { LayerEntry } from '../../oci/tar.ts';
import type { Recipe } from '../../recipe/schema.ts';

interface User {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface Group {
  name: string;
  gid: number;
  members: string[];
}

/** The accounts every image has, as in distroless: root, nonroot (65532) and nobody. */
const baseUsers: User[] = [
  { name: 'root', uid: 0, gid: 0, home: '/root' },
  { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' },
  { name: 'nonroot', uid: 65532, gid: 65532, home: '/home/nonroot' },
];
const baseGroups: Group[] = [
  { name: 'root', gid: 0, members: [] },
  { name: 'nobody', gid: 65534, members: [] },
  { name: 'nonroot', gid: 65532, members: [] },
];

export interface Accounts {
  users: User[];
  groups: Group[];
  /** `uid:gid` for the image config's User. */
  runAs: string;
}

/** Merges the recipe's users and groups into the base ones and resolves `run-as`. */
export function accountsOf(recipe: Recipe): Accounts {
  const spec = recipe.build.accounts;
  const users = [...baseUsers];
  const groups = [...baseGroups];
  for (const g of spec?.groups ?? []) {
    if (groups.some((x) => x.name === g.name || x.gid === g.gid))
      throw new PermanentError(
        `recipe ${recipe.name}: group ${g.name} (${g.gid}) clashes with an existing group`,
      );
    groups.push({ name: g.name, gid: g.gid, members: g.members ?? [] });
  }
  for (const u of spec?.users ?? []) {
    if (users.some((x) => x.name === u.name || x.uid === u.uid))
      throw new PermanentError(
        `recipe ${recipe.name}: user ${u.name} (${u.uid}) clashes with an existing user`,
      );
    const gid = u.gid ?? u.uid;
    users.push({ name: u.name, uid: u.uid, gid, home: u.home ?? `/home/${u.name}` });
    if (!groups.some((g) => g.gid === gid)) groups.push({ name: u.name, gid, members: [] });
  }
  const runAsSpec = spec?.['run-as'] ?? 'nonroot';
  const user =
    typeof runAsSpec === 'number'
      ? users.find((u) => u.uid === runAsSpec)
      : users.find((u) => u.name === runAsSpec);
  if (!user && typeof runAsSpec !== 'number')
    throw new PermanentError(`recipe ${recipe.name}: run-as ${runAsSpec} is not a known user`);
  const runAs = user ? `${user.uid}:${user.gid}` : String(runAsSpec);
  return { users, groups, runAs };
}

/** /etc/passwd, /etc/group, home folders and the few files every root needs, as layer entries. */
export function accountEntries(accounts: Accounts): LayerEntry[] {
  const passwd = accounts.users
    .map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.name}:${u.home}:/sbin/nologin\n`)
    .join('');
  const group = accounts.groups
    .map((g) => `${g.name}:x:${g.gid}:${g.members.join(',')}\n`)
    .join('');
  const entries: LayerEntry[] = [
    { path: 'etc', type: 'directory', mode: 0o755 },
    { path: 'etc/passwd', type: 'file', mode: 0o644, data: Buffer.from(passwd) },
    { path: 'etc/group', type: 'file', mode: 0o644, data: Buffer.from(group) },
    // glibc's resolver reads this; base-files only ships a template that its postinst copies.
    {
      path: 'etc/nsswitch.conf',
      type: 'file',
      mode: 0o644,
      data: Buffer.from(
        'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n',
      ),
    },
    { path: 'tmp', type: 'directory', mode: 0o1777 },
    { path: 'var', type: 'directory', mode: 0o755 },
    { path: 'var/lib', type: 'directory', mode: 0o755 },
    { path: 'var/lib/dpkg', type: 'directory', mode: 0o755 },
    { path: 'var/lib/dpkg/status.d', type: 'directory', mode: 0o755 },
  ];
  for (const u of accounts.users) {
    if (u.home === '/nonexistent') continue;
    const home = u.home.replace(/^\/+/, '');
    const parts = home.split('/');
    for (let n = 1; n < parts.length; n++)
      entries.push({ path: parts.slice(0, n).join('/'), type: 'directory', mode: 0o755 });
    entries.push({ path: home, type: 'directory', mode: 0o700, uid: u.uid, gid: u.gid });
  }
  const unique = new Map(entries.map((e) => [e.path, e]));
  return [...unique.values()];
}
