import { describe, it, expect } from 'vitest';
import { matchRoute, href, readQuery } from './router.js';
import { auditQuery, fetchAllAudit, localToIso, isoToLocal } from './audit.js';
import { formatAge, formatAgo, formatDuration, formatNumber, formatShortTime, niceMax } from './format.js';
import { keysFromJwks, rsaBits, jwtKid, mergeKeys } from './keys.js';

describe('router', () => {
  it('maps paths under /dashboard to pages', () => {
    expect(matchRoute('/dashboard')).toEqual({ page: 'agents', params: {} });
    expect(matchRoute('/dashboard/')).toEqual({ page: 'agents', params: {} });
    expect(matchRoute('/dashboard/agents/3f2c')).toEqual({ page: 'agent', params: { id: '3f2c' } });
    expect(matchRoute('/dashboard/audit')).toEqual({ page: 'audit', params: {} });
    expect(matchRoute('/dashboard/health/')).toEqual({ page: 'health', params: {} });
    expect(matchRoute('/dashboard/keys')).toEqual({ page: 'keys', params: {} });
    expect(matchRoute('/dashboard/nope')).toEqual({ page: 'notfound', params: {} });
    expect(matchRoute('/dashboard/agents/%E0%A4%A')).toEqual({ page: 'notfound', params: {} });
  });
  it('builds links and reads queries', () => {
    expect(href('/audit?action=x')).toBe('/dashboard/audit?action=x');
    expect(readQuery('?a=1&b=x%20y')).toEqual({ a: '1', b: 'x y' });
  });
});

describe('audit filters', () => {
  it('keeps only set filters and converts times to ISO', () => {
    const { query, errors } = auditQuery({ agentId: ' 3F2C0000-0000-4000-8000-000000000001 ', action: 'agent.suspended', outcome: '', from: '2026-11-28T01:00', to: '' });
    expect(errors).toEqual({});
    expect(query).toEqual({ agentId: '3f2c0000-0000-4000-8000-000000000001', action: 'agent.suspended', from: new Date('2026-11-28T01:00').toISOString() });
  });
  it('explains a bad agent id and a reversed range', () => {
    const { errors } = auditQuery({ agentId: 'bob', from: '2026-11-28T02:00', to: '2026-11-28T01:00' });
    expect(errors.agentId).toMatch(/UUID/);
    expect(errors.to).toMatch(/before its start/);
  });
  it('round-trips datetime-local values', () => {
    expect(isoToLocal(localToIso('2026-11-28T01:30'))).toBe('2026-11-28T01:30');
    expect(localToIso('')).toBeNull();
    expect(localToIso('garbage')).toBeUndefined();
  });
  it('fetchAllAudit follows cursors and stops at the bound', async () => {
    const pages = { null: { data: [1, 2], nextCursor: 'a', hasMore: true }, a: { data: [3, 4], nextCursor: 'b', hasMore: true }, b: { data: [5], nextCursor: null, hasMore: false } };
    const seen = [];
    const list = async (q) => { seen.push(q); return pages[q.cursor]; };
    expect(await fetchAllAudit(list, { action: 'x' }, { pageSize: 2 })).toEqual({ rows: [1, 2, 3, 4, 5], truncated: false });
    expect(seen[1]).toEqual({ action: 'x', limit: 2, cursor: 'a' });
    expect(await fetchAllAudit(list, {}, { pageSize: 2, maxRows: 3 })).toEqual({ rows: [1, 2, 3], truncated: true });
  });
});

describe('format', () => {
  it('says ages in words', () => {
    expect(formatAge(0, 10_000)).toBe('just now');
    expect(formatAge(0, 3 * 86400_000 + 5000)).toBe('3 days');
    expect(formatAge(0, 3600_000)).toBe('1 hour');
    expect(formatAge(10, 0)).toBe('in the future');
    expect(formatAgo(0, 10_000)).toBe('just now');
    expect(formatAgo(0, 2 * 3600_000)).toBe('2 hours ago');
  });
  it('formats durations and numbers', () => {
    expect(formatDuration(125)).toBe('2 min 05 s');
    expect(formatDuration(-3)).toBe('0 s');
    expect(formatNumber(null)).toBe('—');
    expect(formatNumber(3.14159)).toBe('3.1');
    expect(formatNumber(250.4)).toBe('250');
  });
});

describe('keys from JWKS', () => {
  it('derives the RSA size from n', () => {
    const n = 'A'.repeat(342); // 256 bytes -> 342 base64url chars (no padding)
    expect(rsaBits(n)).toBe(2048);
    expect(rsaBits('a*b')).toBeNull();
    expect(keysFromJwks({ keys: [{ kid: 'k1', kty: 'RSA', alg: 'RS256', use: 'sig', n }] })).toEqual([{ kid: 'k1', kty: 'RSA', alg: 'RS256', use: 'sig', bits: 2048 }]);
    expect(keysFromJwks(null)).toEqual([]);
  });
});

describe('jwtKid', () => {
  const b64u = (o) => btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  it('reads the kid of a compact JWS header', () => {
    expect(jwtKid(`${b64u({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })}.e30.sig`)).toBe('k1');
  });
  it('is null for anything else', () => {
    expect(jwtKid(null)).toBeNull();
    expect(jwtKid('not a jwt')).toBeNull();
    expect(jwtKid(`${b64u({ alg: 'none' })}.e30.`)).toBeNull();
    expect(jwtKid('!!!.e30.x')).toBeNull();
  });
});

describe('formatShortTime', () => {
  it('drops the date for today and keeps it otherwise', () => {
    const now = new Date(2026, 10, 28, 12, 0, 0);
    const today = formatShortTime(new Date(2026, 10, 28, 1, 2, 3).toISOString(), now);
    const earlier = formatShortTime(new Date(2026, 10, 20, 1, 2, 3).toISOString(), now);
    expect(today).not.toMatch(/Nov/);
    expect(earlier).toMatch(/Nov/);
    expect(earlier.endsWith(today)).toBe(true);
    expect(formatShortTime(null)).toBe('—');
  });
});

describe('niceMax', () => {
  it('rounds up to a bound with round quarters', () => {
    expect(niceMax(24)).toBe(40);
    expect(niceMax(20)).toBe(20);
    expect(niceMax(0.9)).toBe(1);
    expect(niceMax(250)).toBe(400);
    expect(niceMax(0.03)).toBe(0.04);
    expect(niceMax(0)).toBe(1);
    expect(niceMax(NaN)).toBe(1);
  });
});

describe('mergeKeys', () => {
  it('joins the keys route with the JWKS, active first', () => {
    const jw = [{ kid: 'a', alg: 'RS256', bits: 2048 }, { kid: 'n', alg: 'RS256', bits: 2048 }, { kid: 'x', alg: 'RS256', bits: 4096 }];
    const info = [
      { kid: 'old', status: 'retired', createdAt: '2026-01-01T00:00:00Z', retiredAt: '2026-06-01T00:00:00Z' },
      { kid: 'n', status: 'next', createdAt: '2026-11-28T00:00:00Z' },
      { kid: 'a', status: 'active', createdAt: '2026-10-01T00:00:00Z', activatedAt: '2026-10-02T00:00:00Z' },
    ];
    const m = mergeKeys(jw, info);
    expect(m.map((k) => [k.kid, k.status, k.published])).toEqual([
      ['a', 'active', true], ['n', 'next', true], ['old', 'retired', false], ['x', 'unknown', true],
    ]);
    expect(m[0].activatedAt).toBe('2026-10-02T00:00:00Z');
    expect(m[3].bits).toBe(4096);
  });
});
