import { describe, it, expect } from 'vitest';
import { ApiError, NetworkError, apiErrorFrom, describeError } from './errors.js';

const headers = (h) => ({ get: (k) => h[k] ?? null });

describe('apiErrorFrom', () => {
  it('reads the documented error body', () => {
    const e = apiErrorFrom(409, JSON.stringify({ error: 'conflict', error_description: 'an agent named "x" already exists', hint: 'pick another name' }), headers({}), '/api/v1/agents');
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(409);
    expect(e.code).toBe('conflict');
    expect(e.description).toBe('an agent named "x" already exists');
    expect(e.hint).toBe('pick another name');
  });
  it('survives a body that is not JSON', () => {
    const e = apiErrorFrom(502, '<html>bad gateway</html>', headers({}), '/x');
    expect(e.status).toBe(502);
    expect(e.code).toBeNull();
  });
  it('keeps Retry-After as a number', () => {
    expect(apiErrorFrom(429, '{"error":"rate_limited"}', headers({ 'Retry-After': '17' })).retryAfter).toBe(17);
    expect(apiErrorFrom(429, '{}', headers({ 'Retry-After': 'soon' })).retryAfter).toBeNull();
  });
});

describe('describeError', () => {
  it('says in words that the server cannot be reached', () => {
    expect(describeError(new NetworkError(new TypeError('Failed to fetch')))).toMatch(/Could not reach the AgentIdP server/);
  });
  it('combines a lead-in for the status with the server description', () => {
    const s = describeError(new ApiError({ status: 404, code: 'not_found', description: 'agent not found' }));
    expect(s).toBe('Not found. Server said: Agent not found.');
  });
  it('explains OAuth codes of the token endpoint', () => {
    const s = describeError(new ApiError({ status: 401, code: 'invalid_client', description: 'invalid_client: unknown client' }));
    expect(s).toMatch(/^The client id or secret is wrong/);
  });
  it('tells when to retry after a 429', () => {
    expect(describeError(new ApiError({ status: 429, code: 'rate_limited', retryAfter: 1 }))).toMatch(/Try again in 1 second\.$/);
  });
  it('has words for statuses without a description', () => {
    expect(describeError(new ApiError({ status: 403 }))).toMatch(/permission/);
    expect(describeError(new ApiError({ status: 418 }))).toBe('The request failed (HTTP 418).');
  });
});

describe('describeError rewording', () => {
  it('says a duplicate agent name plainly', () => {
    const e = new ApiError({ status: 409, code: 'conflict', description: 'duplicate key value violates unique constraint "agents_name_live_key"', detail: 'Key (name)=(bot-1) already exists.' });
    expect(describeError(e)).toBe('This conflicts with the current state. An agent named "bot-1" already exists; names are unique among agents that are not decommissioned.');
  });
});
