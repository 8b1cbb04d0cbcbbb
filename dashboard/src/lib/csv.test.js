import { describe, it, expect } from 'vitest';
import { csvCell, toCsv, auditCsv, auditCsvFileName } from './csv.js';

describe('csvCell', () => {
  it('leaves plain text alone', () => {
    expect(csvCell('agent.registered')).toBe('agent.registered');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(17)).toBe('17');
  });
  it('quotes commas, quotes, newlines and edge spaces (RFC 4180)', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('l1\nl2')).toBe('"l1\nl2"');
    expect(csvCell('l1\r\nl2')).toBe('"l1\r\nl2"');
    expect(csvCell(' pad')).toBe('" pad"');
  });
  it('defuses formulas in text (CSV injection)', () => {
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe('"\'=HYPERLINK(""http://x"",""y"")"');
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\t=1')).toBe("'\t=1");
    expect(csvCell('\r=1')).toBe('"\'\r=1"');
    expect(csvCell('\uFF1D1+1')).toBe("'\uFF1D1+1");
  });
  it('keeps real numbers as numbers', () => {
    expect(csvCell(-5)).toBe('-5');
  });
  it('writes objects as JSON', () => {
    expect(csvCell({ reason: 'bad, "secret"' })).toBe('"{""reason"":""bad, \\""secret\\""""}"');
  });
});

describe('toCsv / auditCsv', () => {
  it('writes a header and CRLF rows', () => {
    expect(toCsv([{ header: 'a', value: (r) => r.a }, { header: 'b', value: (r) => r.b }], [{ a: 1, b: 'x,y' }])).toBe('a,b\r\n1,"x,y"\r\n');
  });
  it('exports audit events column by column', () => {
    const csv = auditCsv([{
      id: 7, occurredAt: '2026-11-28T01:00:00Z', action: 'client.auth_failed', outcome: 'failure', agentId: null,
      actorAgentId: null, dbUser: 'agentidp_bridge', ipAddress: '127.0.0.1', userAgent: '=cmd|/c calc', metadata: { client_id: 'x' },
    }]);
    const [head, row] = csv.split('\r\n');
    expect(head).toBe('id,occurredAt,action,outcome,agentId,actorAgentId,dbUser,ipAddress,userAgent,metadata');
    expect(row).toBe('7,2026-11-28T01:00:00Z,client.auth_failed,failure,,,agentidp_bridge,127.0.0.1,\'=cmd|/c calc,"{""client_id"":""x""}"');
  });
  it('names the file after filters and time', () => {
    expect(auditCsvFileName({ action: 'agent.suspended', outcome: '' }, new Date('2026-11-28T01:02:03.456Z')))
      .toBe('agentidp-audit-agent.suspended-20261128T010203Z.csv');
  });
});
