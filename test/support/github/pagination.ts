/** GitHub's page/per_page pagination with a Link header Octokit's paginate() follows. */
export function paginate<T>(items: readonly T[], query: Record<string, unknown>, selfUrl: string): { page: T[]; headers: Record<string, string> } {
  const perPage = Math.min(Math.max(Number(query.per_page ?? 30), 1), 100);
  const page = Math.max(Number(query.page ?? 1), 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const link = (n: number, rel: string): string => {
    const url = new URL(selfUrl);
    url.searchParams.set('per_page', String(perPage));
    url.searchParams.set('page', String(n));
    return `<${url.href}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1) links.push(link(page - 1, 'prev'), link(1, 'first'));
  if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
  return { page: items.slice((page - 1) * perPage, page * perPage), headers: links.length > 0 ? { link: links.join(', ') } : {} };
}
