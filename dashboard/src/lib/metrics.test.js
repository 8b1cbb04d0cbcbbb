import { describe, it, expect } from 'vitest';
import {
  parsePrometheus, sumMetric, histogramBuckets, quantileFromBuckets, counterIncrease, bucketIncrease, summarize, buildSeries, healthParts,
} from './metrics.js';

const TEXT = `# HELP agentidp_tokens_issued_total Tokens issued.
# TYPE agentidp_tokens_issued_total counter
agentidp_tokens_issued_total 42
agentidp_tokens_refused_total{reason="invalid_client"} 3
agentidp_tokens_refused_total{reason="quota_exceeded"} 1
agentidp_http_requests_total{route="/api/v1/token",method="POST",status="2xx"} 40
agentidp_http_requests_total{route="/api/v1/token",method="POST",status="4xx"} 4
agentidp_http_requests_total{route="/health",method="GET",status="5xx"} 2
agentidp_http_request_duration_seconds_bucket{route="/api/v1/token",method="POST",le="0.005"} 10
agentidp_http_request_duration_seconds_bucket{route="/api/v1/token",method="POST",le="0.01"} 30
agentidp_http_request_duration_seconds_bucket{route="/api/v1/token",method="POST",le="+Inf"} 44
agentidp_http_request_duration_seconds_bucket{route="/health",method="GET",le="0.005"} 2
agentidp_http_request_duration_seconds_bucket{route="/health",method="GET",le="0.01"} 2
agentidp_http_request_duration_seconds_bucket{route="/health",method="GET",le="+Inf"} 2
agentidp_http_request_duration_seconds_sum{route="/health",method="GET"} 0.004
weird{a="x\\"y\\\\z\\n",b=",}"} NaN 1700000000000
`;

describe('parsePrometheus', () => {
  const s = parsePrometheus(TEXT);
  it('reads names, labels and values, skipping comments', () => {
    expect(s[0]).toEqual({ name: 'agentidp_tokens_issued_total', labels: {}, value: 42 });
    expect(s[1].labels).toEqual({ reason: 'invalid_client' });
    expect(s.find((x) => x.labels.le === '+Inf').value).toBe(44);
  });
  it('unescapes label values and accepts NaN and timestamps', () => {
    const w = s.at(-1);
    expect(w.labels).toEqual({ a: 'x"y\\z\n', b: ',}' });
    expect(Number.isNaN(w.value)).toBe(true);
  });
  it('rejects a broken line with its number', () => {
    expect(() => parsePrometheus('ok 1\nbad{x="1} 2\n')).toThrow(/line 2/);
    expect(() => parsePrometheus('m abc')).toThrow(/bad sample value/);
  });
});

describe('sums and buckets', () => {
  const s = parsePrometheus(TEXT);
  it('sums a counter across label sets, or says it is absent', () => {
    expect(sumMetric(s, 'agentidp_tokens_refused_total')).toBe(4);
    expect(sumMetric(s, 'agentidp_http_requests_total', { status: '4xx' })).toBe(4);
    expect(sumMetric(s, 'nope')).toBeNull();
  });
  it('merges buckets of all routes by le', () => {
    expect(histogramBuckets(s, 'agentidp_http_request_duration_seconds')).toEqual([
      { le: 0.005, count: 12 }, { le: 0.01, count: 32 }, { le: Infinity, count: 46 },
    ]);
  });
  it('summarize picks the 5xx series', () => {
    expect(summarize(s).errors5xx).toBe(2);
    expect(summarize(s).issued).toBe(42);
  });
});

describe('quantileFromBuckets (histogram_quantile semantics)', () => {
  const b = [{ le: 0.1, count: 50 }, { le: 0.2, count: 90 }, { le: 0.4, count: 100 }, { le: Infinity, count: 100 }];
  it('interpolates inside the bucket holding the rank', () => {
    expect(quantileFromBuckets(0.5, b)).toBeCloseTo(0.1);
    expect(quantileFromBuckets(0.25, b)).toBeCloseTo(0.05);
    expect(quantileFromBuckets(0.7, b)).toBeCloseTo(0.15);
    expect(quantileFromBuckets(0.95, b)).toBeCloseTo(0.3);
  });
  it('answers the highest finite bound for ranks in +Inf', () => {
    expect(quantileFromBuckets(0.99, [{ le: 0.1, count: 1 }, { le: Infinity, count: 10 }])).toBe(0.1);
  });
  it('is NaN with no observations, no +Inf bucket, or a bad q', () => {
    expect(quantileFromBuckets(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }])).toBeNaN();
    expect(quantileFromBuckets(0.5, [{ le: 1, count: 5 }])).toBeNaN();
    expect(quantileFromBuckets(1.5, b)).toBeNaN();
  });
  it('does not depend on bucket order', () => {
    expect(quantileFromBuckets(0.5, [...b].reverse())).toBeCloseTo(0.1);
  });
});

describe('rates across scrapes', () => {
  it('counterIncrease handles a restart', () => {
    expect(counterIncrease(10, 15)).toBe(5);
    expect(counterIncrease(10, 3)).toBe(3);
    expect(counterIncrease(null, 3)).toBeNull();
  });
  it('bucketIncrease subtracts per bucket, or restarts', () => {
    const a = [{ le: 1, count: 2 }, { le: Infinity, count: 4 }];
    const b = [{ le: 1, count: 5 }, { le: Infinity, count: 9 }];
    expect(bucketIncrease(a, b)).toEqual([{ le: 1, count: 3 }, { le: Infinity, count: 5 }]);
    expect(bucketIncrease(b, a)).toEqual(a);
  });
  it('buildSeries turns scrapes into per-second and per-minute points over a window', () => {
    const mk = (t, issued, requests, fast, all) => ({
      t,
      s: { issued, refused: 0, requests, errors5xx: 0, buckets: [{ le: 0.01, count: fast }, { le: 0.1, count: all }, { le: Infinity, count: all }] },
    });
    const scrapes = [mk(0, 0, 0, 0, 0), mk(10_000, 10, 100, 50, 100), mk(20_000, 30, 300, 150, 300)];
    const pts = buildSeries(scrapes, 60_000);
    expect(pts).toHaveLength(2);
    expect(pts[0].issuedPerMin).toBeCloseTo(60);
    expect(pts[0].requestsPerSec).toBeCloseTo(10);
    expect(pts[0].p50ms).toBeCloseTo(10);
    // the second point spans the whole 20 s window back to the first scrape
    expect(pts[1].issuedPerMin).toBeCloseTo(90);
    expect(pts[1].requestsPerSec).toBeCloseTo(15);
    expect(pts[1].p95ms).toBeCloseTo(10 + 90 * ((285 - 150) / 150));
    // with a 10 s window the second point only looks at the last interval
    expect(buildSeries(scrapes, 10_000)[1].requestsPerSec).toBeCloseTo(20);
  });
  it('gives null latency when nothing was requested', () => {
    const s = { issued: 0, refused: 0, requests: 0, errors5xx: 0, buckets: [{ le: Infinity, count: 0 }] };
    expect(buildSeries([{ t: 0, s }, { t: 5000, s }])[0].p50ms).toBeNull();
  });
});

describe('summarize of a young bridge', () => {
  it('reads absent labelled series as zero once the family exists', () => {
    const s = summarize(parsePrometheus('agentidp_tokens_issued_total 3\nagentidp_http_requests_total{route="/health",method="GET",status="2xx"} 5\n'));
    expect(s.refused).toBe(0);
    expect(s.errors5xx).toBe(0);
    expect(summarize([]).refused).toBeNull();
  });
});

describe('healthParts', () => {
  it('reads the documented shape', () => {
    expect(healthParts({ status: 'degraded', postgres: 'up', redis: 'down' })).toEqual({
      status: 'degraded', postgres: { status: 'up', details: {} }, redis: { status: 'down', details: {} },
    });
  });
  it('reads the checks object the bridge sends', () => {
    expect(healthParts({ status: 'ok', checks: { database: { status: 'up' }, redis: { status: 'up', revocationCacheWarm: true } } })).toEqual({
      status: 'ok', postgres: { status: 'up', details: {} }, redis: { status: 'up', details: { revocationCacheWarm: true } },
    });
  });
  it('says unknown for what is missing', () => {
    expect(healthParts({}).postgres.status).toBe('unknown');
  });
});
