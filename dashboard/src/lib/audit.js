// Audit filters: from the form's values to the API's query parameters, with
// the checks that give a sentence instead of a 400 from the server.

import { UUID_RE } from './format.js';

export const AUDIT_ACTIONS = [
  'agent.registered', 'agent.updated', 'agent.suspended', 'agent.reactivated', 'agent.decommissioned',
  'credential.created', 'credential.rotated', 'credential.revoked',
  'token.issued', 'token.refused', 'client.auth_failed', 'token.revoked',
  'key.created', 'key.activated', 'key.retiring', 'key.retired',
  'audit.purged', 'admin.bootstrapped',
];

// datetime-local value ("2026-11-28T01:30") in the browser's zone -> ISO UTC.
export function localToIso(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

// ISO -> datetime-local value in the browser's zone (for filters from the URL).
export function isoToLocal(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// form {agentId, action, outcome, from, to} (from/to as datetime-local)
// -> {query, errors}; query holds only the set filters, from/to in ISO.
export function auditQuery(form) {
  const errors = {};
  const query = {};
  const agentId = (form.agentId || '').trim();
  if (agentId) {
    if (!UUID_RE.test(agentId)) errors.agentId = 'An agent id is a UUID such as 3f2c…-…; copy it from the agent page.';
    else query.agentId = agentId.toLowerCase();
  }
  if (form.action) query.action = form.action;
  if (form.outcome) {
    if (form.outcome !== 'success' && form.outcome !== 'failure') errors.outcome = 'Outcome is success or failure.';
    else query.outcome = form.outcome;
  }
  const from = localToIso(form.from);
  const to = localToIso(form.to);
  if (from === undefined) errors.from = 'Not a valid date and time.';
  else if (from) query.from = from;
  if (to === undefined) errors.to = 'Not a valid date and time.';
  else if (to) query.to = to;
  if (query.from && query.to && query.from > query.to) errors.to = 'The end of the range is before its start.';
  return { query, errors };
}

// Every page of the filtered audit log, for the CSV export. Bounded so that a
// huge log cannot freeze the tab; the caller says when the bound was hit.
export async function fetchAllAudit(listAudit, query, { maxRows = 10000, pageSize = 100 } = {}) {
  const rows = [];
  let cursor = null;
  for (;;) {
    const page = await listAudit({ ...query, limit: pageSize, cursor });
    rows.push(...page.data);
    if (rows.length >= maxRows) return { rows: rows.slice(0, maxRows), truncated: true };
    if (!page.hasMore || !page.nextCursor) return { rows, truncated: false };
    cursor = page.nextCursor;
  }
}
