import { describe, it, expect } from 'vitest';
import { createApi, queryString, basicAuth, normalizeList } from './api.js';
import { ApiError, NetworkError } from './errors.js';

function fakeFetch(responses) {
  const calls = [];
  const fn = async (url, init) => {
    calls.push({ url, init });
    const r = responses.shift();
    if (r instanceof Error) throw r;
    return {
      ok: r.status >= 200 && r.status < 300,
      status: r.status,
      headers: { get: (k) => (r.headers || {})[k] ?? null },
      text: async () => (typeof r.body === 'string' ? r.body : r.body === undefined ? '' : JSON.stringify(r.body)),
    };
  };
  fn.calls = calls;
  return fn;
}

describe('helpers', () => {
  it('queryString skips unset filters', () => {
    expect(queryString({ status: 'active', owner: '', search: null, limit: 20, cursor: undefined })).toBe('?status=active&limit=20');
    expect(queryString({})).toBe('');
  });
  it('basicAuth form-encodes before base64 (RFC 6749 2.3.1)', () => {
    expect(basicAuth('aidp_ci_abc', 'aidp_sk_x-y')).toBe(`Basic ${btoa('aidp_ci_abc:aidp_sk_x-y')}`);
    expect(basicAuth('a:b', 'p w')).toBe(`Basic ${btoa('a%3Ab:p+w')}`);
  });
  it('normalizeList reads the pagination object', () => {
    expect(normalizeList({ data: [1], pagination: { limit: 1, nextCursor: 'c', hasMore: true } })).toEqual({ data: [1], nextCursor: 'c', hasMore: true });
    expect(normalizeList({ data: [], pagination: { nextCursor: null, hasMore: false } })).toEqual({ data: [], nextCursor: null, hasMore: false });
    expect(normalizeList([1, 2]).data).toEqual([1, 2]);
  });
});

describe('createApi', () => {
  it('requests a token with Basic auth and a form body, without a bearer', async () => {
    const f = fakeFetch([{ status: 200, body: { access_token: 'tok', token_type: 'Bearer', expires_in: 3600, scope: 'admin' } }]);
    const api = createApi({ fetchImpl: f, getToken: () => 'old' });
    const t = await api.requestToken('cid', 'sec');
    expect(t).toEqual({ accessToken: 'tok', tokenType: 'Bearer', expiresIn: 3600, scope: 'admin' });
    const { url, init } = f.calls[0];
    expect(url).toBe('/api/v1/token');
    expect(init.method).toBe('POST');
    expect(init.headers['Content-Type']).toBe('application/x-www-form-urlencoded');
    expect(init.headers.Authorization).toBe(basicAuth('cid', 'sec'));
    expect(init.body).toBe('grant_type=client_credentials');
  });
  it('a failed sign-in does not count as an expired session', async () => {
    let unauthorized = 0;
    const f = fakeFetch([{ status: 401, body: { error: 'invalid_client', error_description: 'invalid_client: bad secret' } }]);
    const api = createApi({ fetchImpl: f, onUnauthorized: () => unauthorized++ });
    await expect(api.requestToken('c', 's')).rejects.toMatchObject({ status: 401, code: 'invalid_client' });
    expect(unauthorized).toBe(0);
  });
  it('sends the bearer token and the filters', async () => {
    const f = fakeFetch([{ status: 200, body: { data: [{ id: 'a' }], pagination: { limit: 20, nextCursor: 'n1', hasMore: true } } }]);
    const api = createApi({ fetchImpl: f, getToken: () => 'T' });
    const page = await api.listAgents({ status: 'suspended', search: 'bot', limit: 20 });
    expect(page).toEqual({ data: [{ id: 'a' }], nextCursor: 'n1', hasMore: true });
    expect(f.calls[0].url).toBe('/api/v1/agents?status=suspended&search=bot&limit=20');
    expect(f.calls[0].init.headers.Authorization).toBe('Bearer T');
  });
  it('PATCHes JSON and escapes ids in paths', async () => {
    const f = fakeFetch([{ status: 200, body: { id: 'x/y', status: 'suspended' } }]);
    const api = createApi({ fetchImpl: f, getToken: () => 'T' });
    await api.updateAgent('x/y', { status: 'suspended' });
    expect(f.calls[0].url).toBe('/api/v1/agents/x%2Fy');
    expect(f.calls[0].init.method).toBe('PATCH');
    expect(JSON.parse(f.calls[0].init.body)).toEqual({ status: 'suspended' });
  });
  it('treats 204 as success with no body', async () => {
    const f = fakeFetch([{ status: 204 }]);
    const api = createApi({ fetchImpl: f, getToken: () => 'T' });
    expect(await api.revokeCredential('a', 'c')).toBeNull();
    expect(f.calls[0].init.method).toBe('DELETE');
    expect(f.calls[0].url).toBe('/api/v1/agents/a/credentials/c');
  });
  it('ends the session on a 401 from a bearer call', async () => {
    const seen = [];
    const f = fakeFetch([{ status: 401, body: { error: 'unauthorized', error_description: 'token expired' } }]);
    const api = createApi({ fetchImpl: f, getToken: () => 'T', onUnauthorized: (e) => seen.push(e) });
    await expect(api.getAgent('a')).rejects.toBeInstanceOf(ApiError);
    expect(seen).toHaveLength(1);
  });
  it('wraps a failed fetch as a NetworkError', async () => {
    const api = createApi({ fetchImpl: fakeFetch([new TypeError('Failed to fetch')]) });
    await expect(api.jwks()).rejects.toBeInstanceOf(NetworkError);
  });
  it('returns the /health body even with 503', async () => {
    const f = fakeFetch([{ status: 503, body: { status: 'degraded', postgres: { status: 'up' }, redis: { status: 'down' } } }]);
    const api = createApi({ fetchImpl: f });
    expect(await api.health()).toMatchObject({ httpStatus: 503, status: 'degraded', redis: { status: 'down' } });
  });
  it('creates a credential with only the fields given', async () => {
    const f = fakeFetch([{ status: 201, body: { id: 'c1', clientId: 'aidp_ci_x', clientSecret: 'aidp_sk_y' } }, { status: 201, body: {} }]);
    const api = createApi({ fetchImpl: f, getToken: () => 'T' });
    await api.createCredential('a1');
    await api.createCredential('a1', { expiresAt: '2027-01-01T00:00:00.000Z' });
    expect(JSON.parse(f.calls[0].init.body)).toEqual({});
    expect(JSON.parse(f.calls[1].init.body)).toEqual({ expiresAt: '2027-01-01T00:00:00.000Z' });
  });
});

describe('signingKeys', () => {
  it('reads the keys route, or null where the bridge has none', async () => {
    const f = fakeFetch([
      { status: 200, body: { data: [{ kid: 'k', status: 'active', createdAt: '2026-11-28T00:00:00Z' }] } },
      { status: 404, body: { error: 'not_found', error_description: 'no such route' } },
      { status: 403, body: { error: 'forbidden', error_description: 'needs admin' } },
    ]);
    const api = createApi({ fetchImpl: f, getToken: () => 'T' });
    expect(await api.signingKeys()).toEqual([{ kid: 'k', status: 'active', createdAt: '2026-11-28T00:00:00Z' }]);
    expect(f.calls[0].url).toBe('/api/v1/keys');
    expect(await api.signingKeys()).toBeNull();
    await expect(api.signingKeys()).rejects.toMatchObject({ status: 403 });
  });
});
