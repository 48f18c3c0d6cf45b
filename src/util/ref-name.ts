/**
 * Why `name` cannot be a branch name, by git's rules (`git check-ref-format --branch`), or
 * undefined when it can. Also refused: a full ref (`refs/heads/x`: the branch name is wanted) and
 * `HEAD`, which git accepts but which mean something else to every API that takes a branch.
 */
export function branchNameProblem(name: string): string | undefined {
  if (name.startsWith('refs/')) return `is a full ref: give the branch name without "refs/heads/"`;
  if (name === 'HEAD' || name === '@') return `is not a branch name but a symbolic ref`;
  if (name.startsWith('-')) return `starts with "-" (git would read it as an option)`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f]/.test(name)) return 'contains a space or a control character';
  const forbidden = /[~^:?*[\\]/.exec(name);
  if (forbidden) return `contains "${forbidden[0]}", which git forbids in ref names`;
  if (name.includes('..')) return 'contains "..", which git forbids in ref names';
  if (name.includes('@{')) return 'contains "@{", which git forbids in ref names';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'has an empty path component (a leading, trailing or doubled "/")';
  if (name.endsWith('.')) return 'ends with "."';
  for (const component of name.split('/')) {
    if (component.startsWith('.')) return `has a component starting with "." ("${component}")`;
    if (component.endsWith('.lock')) return `has a component ending with ".lock" ("${component}")`;
  }
  return undefined;
}
