import React, { useEffect, useRef, useState } from 'react';
import { ErrorBox, Loading, StatusBadge, useApi } from '../ui.jsx';
import { parsePrometheus, summarize, buildSeries, healthParts } from '../lib/metrics.js';
import Chart from './Chart.jsx';

const METRICS_EVERY_MS = 5000;
const HEALTH_EVERY_MS = 10000;
const KEEP_MS = 30 * 60 * 1000;

// Scrapes survive leaving the page (so coming back shows history) but not
// the session: App clears them on sign-out.
const history = [];
export function clearMetricsHistory() {
  history.length = 0;
}

const LABELS = { revocationCacheWarm: 'Revocation cache warm', latencyMs: 'Latency (ms)', error: 'Error' };

function Dependency({ name, info }) {
  const { status, details } = info;
  const rest = Object.entries(details);
  const ok = status === 'up' || status === 'ok' || status === 'healthy';
  return (
    <div className={`card dep ${ok ? 'dep-up' : 'dep-down'}`}>
      <h2>{name}</h2>
      <p><StatusBadge status={status} /></p>
      {rest.length > 0 && (
        <dl className="kv small">
          {rest.map(([k, v]) => (<React.Fragment key={k}><dt>{LABELS[k] || k}</dt><dd>{typeof v === 'boolean' ? (v ? 'yes' : 'no') : typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd></React.Fragment>))}
        </dl>
      )}
    </div>
  );
}

export default function HealthPage() {
  const api = useApi();
  const [health, setHealth] = useState({ loading: true, error: null, data: null });
  const [metricsError, setMetricsError] = useState(null);
  const [points, setPoints] = useState(() => buildSeries(history));
  const [windowMin, setWindowMin] = useState(10);
  const [latest, setLatest] = useState(history.length ? history[history.length - 1].s : null);
  const alive = useRef(true);

  useEffect(() => {
    alive.current = true;
    const pollHealth = async () => {
      try {
        const h = await api.health();
        if (alive.current) setHealth({ loading: false, error: null, data: h });
      } catch (error) {
        if (alive.current) setHealth({ loading: false, error, data: null });
      }
    };
    const pollMetrics = async () => {
      try {
        const text = await api.metricsText();
        const s = summarize(parsePrometheus(text));
        const t = Date.now();
        history.push({ t, s });
        while (history.length && history[0].t < t - KEEP_MS) history.shift();
        if (alive.current) {
          setMetricsError(null);
          setLatest(s);
          setPoints(buildSeries(history));
        }
      } catch (error) {
        if (alive.current) setMetricsError(error);
      }
    };
    pollHealth();
    pollMetrics();
    const h = setInterval(pollHealth, HEALTH_EVERY_MS);
    const m = setInterval(pollMetrics, METRICS_EVERY_MS);
    return () => {
      alive.current = false;
      clearInterval(h);
      clearInterval(m);
    };
  }, [api]);

  const windowMs = windowMin * 60000;
  const parts = health.data ? healthParts(health.data) : null;
  const overall = parts?.status;

  return (
    <>
      <div className="page-head">
        <h1>Health</h1>
        {overall && <p className="overall">Service: <StatusBadge status={overall} /></p>}
      </div>
      {health.loading && <Loading>Checking PostgreSQL and Redis…</Loading>}
      <ErrorBox error={health.error} title="The health check could not be read" />
      {health.data && (
        <div className="deps">
          <Dependency name="PostgreSQL" info={parts.postgres} />
          <Dependency name="Redis" info={parts.redis} />
          {latest && latest.poolSize !== null && (
            <div className="card dep">
              <h2>Database pool</h2>
              <p><strong>{latest.poolInUse ?? 0}</strong> of {latest.poolSize} connections in use</p>
            </div>
          )}
        </div>
      )}

      <div className="section-head">
        <h2>Traffic</h2>
        <label className="inline">
          Show the last{' '}
          <select value={windowMin} onChange={(e) => setWindowMin(Number(e.target.value))}>
            <option value={5}>5 minutes</option>
            <option value={10}>10 minutes</option>
            <option value={30}>30 minutes</option>
          </select>
        </label>
      </div>
      <p className="hint">Read from <code>/metrics</code> every {METRICS_EVERY_MS / 1000} s while this page is open; each point covers the minute before it. Latency percentiles are interpolated from the histogram buckets of all routes.</p>
      <ErrorBox error={metricsError} title="The metrics could not be read" />
      {points.length === 0 && !metricsError && <Loading>Collecting a second sample to compute rates…</Loading>}
      <div className="charts">
        <Chart title="Tokens" unit="per minute" windowMs={windowMs} points={points}
          series={[{ key: 'issuedPerMin', label: 'issued', color: '#1f6feb' }, { key: 'refusedPerMin', label: 'refused', color: '#cf222e' }]} />
        <Chart title="Requests" unit="per second" windowMs={windowMs} points={points}
          series={[{ key: 'requestsPerSec', label: 'all', color: '#1f6feb' }, { key: 'errorsPerSec', label: '5xx', color: '#cf222e' }]} />
        <Chart title="Latency" unit="ms" windowMs={windowMs} points={points}
          series={[{ key: 'p50ms', label: 'p50', color: '#1a7f37' }, { key: 'p95ms', label: 'p95', color: '#9a6700' }, { key: 'p99ms', label: 'p99', color: '#cf222e' }]} />
      </div>
    </>
  );
}
