// CSV (RFC 4180) for the audit export. Audit rows carry attacker-controlled
// text (user agents, agent names in metadata, client ids from failed
// sign-ins), so a cell that a spreadsheet would read as a formula is defused
// with a leading apostrophe (OWASP "CSV injection"), then quoted as needed.

// Characters that make Excel, LibreOffice or Google Sheets start a formula,
// including their full-width forms, which some of them also accept.
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

export function csvCell(value) {
  if (value === null || value === undefined) return '';
  let s;
  if (typeof value === 'number' || typeof value === 'bigint') {
    // Real numbers are data, not formulas: -1 stays -1.
    s = String(value);
  } else if (typeof value === 'boolean') {
    s = value ? 'true' : 'false';
  } else if (typeof value === 'object') {
    s = JSON.stringify(value);
  } else {
    s = String(value);
  }
  if (typeof value !== 'number' && typeof value !== 'bigint' && FORMULA_START.test(s)) s = `'${s}`;
  if (/[",\r\n]/.test(s) || /^\s|\s$/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}

// columns: [{header, value: (row) => any}]. CRLF line ends, as RFC 4180 says.
export function toCsv(columns, rows) {
  const lines = [columns.map((c) => csvCell(c.header)).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvCell(c.value(row))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export const AUDIT_COLUMNS = [
  { header: 'id', value: (e) => e.id },
  { header: 'occurredAt', value: (e) => e.occurredAt },
  { header: 'action', value: (e) => e.action },
  { header: 'outcome', value: (e) => e.outcome },
  { header: 'agentId', value: (e) => e.agentId },
  { header: 'actorAgentId', value: (e) => e.actorAgentId },
  { header: 'dbUser', value: (e) => e.dbUser },
  { header: 'ipAddress', value: (e) => e.ipAddress },
  { header: 'userAgent', value: (e) => e.userAgent },
  { header: 'metadata', value: (e) => (e.metadata === undefined ? null : e.metadata) },
];

export function auditCsv(events) {
  return toCsv(AUDIT_COLUMNS, events);
}

// A file name that says what was exported and when, safe on every OS.
export function auditCsvFileName(filters, now = new Date()) {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const parts = ['agentidp-audit'];
  if (filters?.action) parts.push(filters.action);
  if (filters?.outcome) parts.push(filters.outcome);
  parts.push(stamp);
  return `${parts.join('-').replace(/[^A-Za-z0-9._-]/g, '_')}.csv`;
}
