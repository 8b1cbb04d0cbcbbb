// Small display helpers shared by the pages.

export function formatTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
}

// Compact time for table cells: the clock alone for today, else the date too.
export function formatShortTime(iso, now = new Date()) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const sameDay = d.toDateString() === now.toDateString();
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  if (sameDay) return time;
  return `${d.toLocaleDateString(undefined, { year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric', month: 'short', day: 'numeric' })} ${time}`;
}

// "3 days", "5 hours", "just now": how old something is, for people.
export function formatAge(fromMs, nowMs = Date.now()) {
  const s = Math.floor((nowMs - fromMs) / 1000);
  if (!Number.isFinite(s)) return '—';
  if (s < 0) return 'in the future';
  if (s < 45) return 'just now';
  const units = [
    ['year', 365 * 86400], ['month', 30 * 86400], ['day', 86400], ['hour', 3600], ['minute', 60],
  ];
  for (const [name, size] of units) {
    if (s >= size) {
      const n = Math.floor(s / size);
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${s} seconds`;
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  const r = s % 60;
  return m > 0 ? `${m} min ${String(r).padStart(2, '0')} s` : `${r} s`;
}

export function formatNumber(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (Math.abs(v) >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return v.toFixed(digits);
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// A round upper bound for a chart's y axis whose quarters are round too.
export function niceMax(v) {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 4, 6, 8, 10]) if (v <= m * p * (1 + 1e-9)) return m * p;
  return 10 * p;
}

// "3 days ago", "just now".
export function formatAgo(fromMs, nowMs = Date.now()) {
  const a = formatAge(fromMs, nowMs);
  return a === 'just now' || a === 'in the future' || a === '—' ? a : `${a} ago`;
}
