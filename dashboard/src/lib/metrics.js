// Prometheus text exposition parsing and the arithmetic the health charts
// need: counter rates across scrapes, and latency quantiles interpolated
// from cumulative histogram buckets the way PromQL's histogram_quantile does.

function parseValue(s) {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  const v = Number(s);
  if (s.trim() === '' || Number.isNaN(v)) throw new Error(`bad sample value "${s}"`);
  return v;
}

// Parse a label set starting just after '{'; returns [labels, index after '}'].
function parseLabels(line, i) {
  const labels = {};
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return [labels, i + 1];
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error('label without "="');
    const name = line.slice(i, eq).trim();
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`bad label name "${name}"`);
    i = eq + 1;
    if (line[i] !== '"') throw new Error('label value not quoted');
    i++;
    let v = '';
    for (;;) {
      if (i >= line.length) throw new Error('unterminated label value');
      const c = line[i];
      if (c === '\\') {
        const n = line[i + 1];
        v += n === 'n' ? '\n' : n;
        i += 2;
      } else if (c === '"') {
        i++;
        break;
      } else {
        v += c;
        i++;
      }
    }
    labels[name] = v;
  }
}

// Parse the text format into [{name, labels, value}]. Comments and blank
// lines are skipped; a malformed line throws with its line number, because a
// chart silently built from half a scrape would lie.
export function parsePrometheus(text) {
  const out = [];
  const lines = String(text).split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (!line || line.startsWith('#')) continue;
    try {
      const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
      if (!m) throw new Error('no metric name');
      let i = m[0].length;
      let labels = {};
      if (line[i] === '{') [labels, i] = parseLabels(line, i + 1);
      const rest = line.slice(i).trim().split(/\s+/);
      out.push({ name: m[0], labels, value: parseValue(rest[0] ?? '') });
    } catch (e) {
      throw new Error(`metrics line ${n + 1}: ${e.message}`);
    }
  }
  return out;
}

function matches(labels, match) {
  for (const [k, v] of Object.entries(match || {})) {
    if (typeof v === 'function' ? !v(labels[k]) : labels[k] !== v) return false;
  }
  return true;
}

// Sum of every series of a metric whose labels match; null when absent.
export function sumMetric(samples, name, match) {
  let sum = null;
  for (const s of samples) {
    if (s.name === name && matches(s.labels, match)) sum = (sum ?? 0) + s.value;
  }
  return sum;
}

// Cumulative buckets of a histogram, summed over all other labels:
// [{le, count}] sorted by le, the last one +Inf (when present).
export function histogramBuckets(samples, baseName, match) {
  const byLe = new Map();
  for (const s of samples) {
    if (s.name !== `${baseName}_bucket` || !matches(s.labels, match)) continue;
    const le = parseValue(s.labels.le ?? '');
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
}

// Increase of a counter between two scrapes; a drop means the bridge
// restarted and the counter began again from zero.
export function counterIncrease(prev, cur) {
  if (prev === null || prev === undefined || cur === null || cur === undefined) return null;
  return cur >= prev ? cur - prev : cur;
}

// Per-bucket increase between two scrapes of the same histogram.
export function bucketIncrease(prev, cur) {
  const before = new Map(prev.map((b) => [b.le, b.count]));
  const reset = cur.some((b) => before.has(b.le) && b.count < before.get(b.le));
  return cur.map((b) => ({ le: b.le, count: reset ? b.count : b.count - (before.get(b.le) ?? 0) }));
}

// The q-quantile (0..1) of cumulative buckets, interpolating linearly inside
// the bucket that holds the rank, as histogram_quantile does. Returns NaN when
// no observation fell in the window. A rank in the +Inf bucket answers the
// highest finite bound: the histogram cannot say more.
export function quantileFromBuckets(q, buckets) {
  if (!(q >= 0 && q <= 1) || buckets.length === 0) return NaN;
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const last = sorted[sorted.length - 1];
  if (last.le !== Infinity) return NaN;
  const total = last.count;
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (let i = 0; i < sorted.length; i++) {
    const { le, count } = sorted[i];
    if (count >= rank) {
      if (le === Infinity) return i > 0 ? sorted[i - 1].le : NaN;
      if (i === 0 && le <= 0) return le;
      const inBucket = count - prevCount;
      if (inBucket <= 0) return le;
      return prevLe + (le - prevLe) * ((rank - prevCount) / inBucket);
    }
    prevLe = le;
    prevCount = count;
  }
  return NaN;
}

// What one scrape contributes to the charts.
// A labelled counter has no series until its first event (no refusal yet,
// no 5xx yet): that is zero, not "unknown", once the metric family exists.
export function summarize(samples) {
  const requests = sumMetric(samples, 'agentidp_http_requests_total');
  const issued = sumMetric(samples, 'agentidp_tokens_issued_total');
  return {
    issued,
    refused: sumMetric(samples, 'agentidp_tokens_refused_total') ?? (issued !== null ? 0 : null),
    requests,
    errors5xx: sumMetric(samples, 'agentidp_http_requests_total', { status: (s) => s === '5xx' || /^5\d\d$/.test(s || '') }) ?? (requests !== null ? 0 : null),
    buckets: histogramBuckets(samples, 'agentidp_http_request_duration_seconds'),
    dbUp: sumMetric(samples, 'agentidp_db_up'),
    redisUp: sumMetric(samples, 'agentidp_redis_up'),
    poolInUse: sumMetric(samples, 'agentidp_db_pool_in_use'),
    poolSize: sumMetric(samples, 'agentidp_db_pool_size'),
  };
}

// Chart points from a time-ordered list of scrapes [{t: ms, s: summarize()}].
// Each point covers the window (windowMs) ending at its scrape, or as much of
// it as has been observed, so early points are not empty and later ones are
// smooth. Rates are per second for requests and per minute for tokens.
export function buildSeries(scrapes, windowMs = 60000) {
  const points = [];
  for (let i = 1; i < scrapes.length; i++) {
    const cur = scrapes[i];
    let j = i - 1;
    while (j > 0 && cur.t - scrapes[j - 1].t <= windowMs) j--;
    const prev = scrapes[j];
    const dt = (cur.t - prev.t) / 1000;
    if (!(dt > 0)) continue;
    const inc = (k) => counterIncrease(prev.s[k], cur.s[k]);
    const rate = (v, per) => (v === null ? null : (v / dt) * per);
    const b = bucketIncrease(prev.s.buckets, cur.s.buckets);
    const ms = (q) => {
      const v = quantileFromBuckets(q, b);
      return Number.isNaN(v) ? null : v * 1000;
    };
    points.push({
      t: cur.t,
      issuedPerMin: rate(inc('issued'), 60),
      refusedPerMin: rate(inc('refused'), 60),
      requestsPerSec: rate(inc('requests'), 1),
      errorsPerSec: rate(inc('errors5xx'), 1),
      p50ms: ms(0.5),
      p95ms: ms(0.95),
      p99ms: ms(0.99),
    });
  }
  return points;
}

// The dependencies in a /health answer: bridge/openapi.yaml says
// {status, checks: {database: {status}, redis: {status, revocationCacheWarm}}}.
// The flat draft shape {status, postgres: "up", redis: "up"} (issue 3's
// first description) is read too, so an older bridge still shows.
export function healthParts(h) {
  const pick = (...vals) => vals.find((v) => v !== undefined && v !== null);
  const norm = (v) => {
    if (v === undefined) return { status: 'unknown', details: {} };
    if (typeof v === 'string') return { status: v, details: {} };
    const { status, ...details } = v || {};
    return { status: status || 'unknown', details };
  };
  return {
    status: h?.status || 'unknown',
    postgres: norm(pick(h?.postgres, h?.checks?.postgres, h?.checks?.database)),
    redis: norm(pick(h?.redis, h?.checks?.redis)),
  };
}
