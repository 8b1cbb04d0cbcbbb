// A time-series line chart in plain SVG: a y axis from zero to a rounded
// maximum, time labels at both ends, one polyline per series broken where a
// value is missing. Series differ by dash pattern as well as colour, and the
// latest values are written out beside the chart for people who cannot see it.
import React, { useEffect, useRef, useState } from 'react';
import { formatNumber, niceMax } from '../lib/format.js';

const H = 200;
const PAD = { l: 48, r: 12, t: 12, b: 26 };
const DASHES = ['', '6 4', '2 3'];

const clock = (t) => new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

// Draw at the container's real pixel width so text and strokes keep their
// size instead of being stretched by a scaled viewBox.
function useWidth(ref, fallback) {
  const [w, setW] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return undefined;
    const ro = new ResizeObserver((entries) => {
      const cw = Math.floor(entries[0].contentRect.width);
      if (cw > 0) setW(cw);
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref]);
  return w;
}

export default function Chart({ title, unit, points, series, windowMs, gapMs = 15000 }) {
  const box = useRef(null);
  const W = useWidth(box, 360);
  const now = points.length ? points[points.length - 1].t : Date.now();
  // Until the chosen window has been observed, span what has been (at least
  // 30 s) so the first minutes are not squeezed against the right edge.
  const observed = points.length ? now - points[0].t : 0;
  const span = Math.min(windowMs, Math.max(30000, observed));
  const t0 = now - span;
  const visible = points.filter((p) => p.t >= t0);
  let max = 0;
  for (const p of visible) for (const s of series) if (p[s.key] !== null && p[s.key] > max) max = p[s.key];
  const yMax = niceMax(max);
  const x = (t) => PAD.l + ((t - t0) / span) * (W - PAD.l - PAD.r);
  const y = (v) => H - PAD.b - (v / yMax) * (H - PAD.t - PAD.b);
  const latest = visible[visible.length - 1];
  const summary = latest
    ? series.map((s) => `${s.label} ${formatNumber(latest[s.key])} ${unit}`).join(', ')
    : 'no data yet';

  return (
    <figure className="chart card">
      <figcaption><strong>{title}</strong> <span className="hint">({unit})</span></figcaption>
      <div className="plot" ref={box}>
      <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: latest ${summary}`}>
        {[0, 0.25, 0.5, 0.75, 1].map((f) => (
          <g key={f}>
            <line x1={PAD.l} x2={W - PAD.r} y1={y(f * yMax)} y2={y(f * yMax)} className="grid" />
            <text x={PAD.l - 6} y={y(f * yMax) + 4} textAnchor="end" className="axis">{formatNumber(f * yMax, 2)}</text>
          </g>
        ))}
        <text x={PAD.l} y={H - 6} className="axis">{clock(t0)}</text>
        <text x={W - PAD.r} y={H - 6} textAnchor="end" className="axis">{clock(now)}</text>
        {series.map((s, i) => {
          const segs = [];
          let cur = [];
          let prevT = null;
          for (const p of visible) {
            // No line across a stretch without scrapes (the page was closed).
            if (prevT !== null && p.t - prevT > gapMs && cur.length) {
              segs.push(cur);
              cur = [];
            }
            prevT = p.t;
            if (p[s.key] === null || p[s.key] === undefined) {
              if (cur.length) segs.push(cur);
              cur = [];
            } else {
              cur.push(`${x(p.t).toFixed(1)},${y(p[s.key]).toFixed(1)}`);
            }
          }
          if (cur.length) segs.push(cur);
          return segs.map((seg, j) => (
            seg.length === 1
              ? <circle key={`${s.key}-${j}`} cx={seg[0].split(',')[0]} cy={seg[0].split(',')[1]} r="2.5" fill={s.color} />
              : <polyline key={`${s.key}-${j}`} points={seg.join(' ')} fill="none" stroke={s.color} strokeWidth="2" strokeDasharray={DASHES[i % DASHES.length]} />
          ));
        })}
      </svg>
      </div>
      <ul className="legend">
        {series.map((s, i) => (
          <li key={s.key}>
            <svg width="24" height="8" aria-hidden="true"><line x1="0" x2="24" y1="4" y2="4" stroke={s.color} strokeWidth="2" strokeDasharray={DASHES[i % DASHES.length]} /></svg>
            {s.label}: <strong>{latest ? formatNumber(latest[s.key]) : '—'}</strong> {unit}
          </li>
        ))}
      </ul>
    </figure>
  );
}
