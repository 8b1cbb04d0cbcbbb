// Client-side routes under the /dashboard/ base. The bridge answers
// index.html for any unknown path below /dashboard/, so deep links work.

export const BASE = '/dashboard';

const ROUTES = [
  [/^\/?$/, 'agents'],
  [/^\/agents\/?$/, 'agents'],
  [/^\/agents\/([^/]+)\/?$/, 'agent'],
  [/^\/audit\/?$/, 'audit'],
  [/^\/health\/?$/, 'health'],
  [/^\/keys\/?$/, 'keys'],
];

// '/dashboard/agents/abc' -> {page:'agent', params:{id:'abc'}}
export function matchRoute(pathname, base = BASE) {
  let p = pathname || '/';
  if (p === base) p = '/';
  else if (p.startsWith(`${base}/`)) p = p.slice(base.length);
  for (const [re, page] of ROUTES) {
    const m = re.exec(p);
    if (m) {
      let id;
      try {
        id = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
      } catch {
        return { page: 'notfound', params: {} };
      }
      return { page, params: id === undefined ? {} : { id } };
    }
  }
  return { page: 'notfound', params: {} };
}

export function href(path, base = BASE) {
  return `${base}${path.startsWith('/') ? path : `/${path}`}`;
}

// Query parameters of the current URL as a plain object (filters live in
// the URL so a filtered audit view can be linked and survives Back).
export function readQuery(search) {
  return Object.fromEntries(new URLSearchParams(search || ''));
}
