// The AgentIdP REST API as plain functions (DESIGN.md §2, bridge/openapi.yaml).
// No React here: the pages call these and the unit tests drive them with a
// fake fetch. The bearer token is read through getToken() on every call so
// that the session module alone owns it (memory only, never web storage).

import { ApiError, NetworkError, apiErrorFrom } from './errors.js';

// Query string from an object, skipping empty values so that an unset filter
// is absent rather than sent as an empty string the server would reject.
export function queryString(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic.
export function basicAuth(clientId, clientSecret) {
  const enc = (s) => new URLSearchParams({ x: s }).toString().slice(2);
  const raw = `${enc(clientId)}:${enc(clientSecret)}`;
  const bytes = new TextEncoder().encode(raw);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

// Normalise a list answer: {"data":[...],"pagination":{...}} is the contract;
// a bare array is accepted so a route that forgot pagination still renders.
export function normalizeList(body) {
  if (Array.isArray(body)) return { data: body, nextCursor: null, hasMore: false };
  const data = Array.isArray(body?.data) ? body.data : [];
  const p = body?.pagination || {};
  const nextCursor = p.nextCursor ?? body?.nextCursor ?? null;
  return { data, nextCursor, hasMore: Boolean(p.hasMore ?? nextCursor) && nextCursor !== null };
}

export function createApi({ baseUrl = '', fetchImpl, getToken = () => null, onUnauthorized = () => {} } = {}) {
  const doFetch = fetchImpl || ((...a) => globalThis.fetch(...a));

  async function raw(path, { method = 'GET', headers = {}, body, auth = true } = {}) {
    const h = { Accept: 'application/json', ...headers };
    const token = auth ? getToken() : null;
    if (token) h.Authorization = `Bearer ${token}`;
    let res;
    try {
      res = await doFetch(`${baseUrl}${path}`, { method, headers: h, body, credentials: 'omit', cache: 'no-store' });
    } catch (e) {
      throw new NetworkError(e, path);
    }
    return res;
  }

  async function json(path, opts = {}) {
    const res = await raw(path, opts);
    const text = await res.text();
    if (!res.ok) {
      const err = apiErrorFrom(res.status, text, res.headers, path);
      // A 401 on a bearer call means the token died (expired, revoked, the
      // admin agent suspended): the session must end, not show stale pages.
      if (res.status === 401 && opts.auth !== false) onUnauthorized(err);
      throw err;
    }
    if (res.status === 204 || !text) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError({ status: res.status, code: 'bad_response', description: 'the server answered with something that is not JSON', path });
    }
  }

  const sendJson = (path, method, body) =>
    json(path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body ?? {}) });
  const id = (s) => encodeURIComponent(s);

  return {
    // POST /api/v1/token, client_secret_basic. Answer per RFC 6749 §5.1.
    async requestToken(clientId, clientSecret, scope) {
      const form = new URLSearchParams({ grant_type: 'client_credentials' });
      if (scope) form.set('scope', scope);
      const body = await json('/api/v1/token', {
        method: 'POST',
        auth: false,
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Authorization: basicAuth(clientId, clientSecret),
        },
        body: form.toString(),
      });
      if (!body || typeof body.access_token !== 'string') {
        throw new ApiError({ status: 200, code: 'bad_response', description: 'the token answer has no access_token' });
      }
      return {
        accessToken: body.access_token,
        tokenType: body.token_type,
        expiresIn: Number(body.expires_in),
        scope: body.scope || '',
      };
    },

    async listAgents({ status, owner, search, limit = 20, cursor } = {}) {
      return normalizeList(await json(`/api/v1/agents${queryString({ status, owner, search, limit, cursor })}`));
    },
    getAgent: (agentId) => json(`/api/v1/agents/${id(agentId)}`),
    createAgent: (fields) => sendJson('/api/v1/agents', 'POST', fields),
    updateAgent: (agentId, patch) => sendJson(`/api/v1/agents/${id(agentId)}`, 'PATCH', patch),
    decommissionAgent: (agentId) => json(`/api/v1/agents/${id(agentId)}`, { method: 'DELETE' }),

    async listCredentials(agentId) {
      return normalizeList(await json(`/api/v1/agents/${id(agentId)}/credentials`)).data;
    },
    createCredential: (agentId, { expiresAt } = {}) =>
      sendJson(`/api/v1/agents/${id(agentId)}/credentials`, 'POST', expiresAt ? { expiresAt } : {}),
    rotateCredential: (agentId, credId) =>
      json(`/api/v1/agents/${id(agentId)}/credentials/${id(credId)}/rotate`, { method: 'POST' }),
    revokeCredential: (agentId, credId) =>
      json(`/api/v1/agents/${id(agentId)}/credentials/${id(credId)}`, { method: 'DELETE' }),

    async listAudit({ agentId, action, outcome, from, to, limit = 50, cursor } = {}) {
      return normalizeList(await json(`/api/v1/audit${queryString({ agentId, action, outcome, from, to, limit, cursor })}`));
    },
    getAuditEvent: (eventId) => json(`/api/v1/audit/${id(eventId)}`),

    // /health answers 503 with the same body when a dependency is down; the
    // page needs that body, so a 503 with JSON is a result here, not an error.
    async health() {
      const res = await raw('/health', { auth: false });
      const text = await res.text();
      let body = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
      if ((res.ok || res.status === 503) && body && typeof body === 'object') return { httpStatus: res.status, ...body };
      throw apiErrorFrom(res.status, text, res.headers, '/health');
    },
    async metricsText() {
      const res = await raw('/metrics', { headers: { Accept: 'text/plain' } });
      const text = await res.text();
      if (!res.ok) throw apiErrorFrom(res.status, text, res.headers, '/metrics');
      return text;
    },
    jwks: () => json('/.well-known/jwks.json', { auth: false }),
    // GET /api/v1/keys (admin): states and dates of the signing keys. A
    // bridge without the route answers 404; null tells the page to make do
    // with the JWKS.
    async signingKeys() {
      try {
        return normalizeList(await json('/api/v1/keys')).data;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }
    },
    // The current bearer token, for reading its header only (KeysPage).
    currentToken: () => getToken(),
  };
}
