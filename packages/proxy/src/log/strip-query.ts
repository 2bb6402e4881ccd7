/** Path and query with the query's value removed (`/x?a=1` -> `/x?`), as Squid logs it by default. */
export function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q + 1);
}
