import React, { useEffect, useRef, useState } from 'react';
import { Empty, ErrorBox, Field, Loading, Notice, Pager, StatusBadge, useApi, useLoad } from '../ui.jsx';
import { Link, currentPath, navigate } from '../nav.jsx';
import { formatShortTime, formatTime } from '../lib/format.js';
import { readQuery } from '../lib/router.js';
import { AUDIT_ACTIONS, auditQuery, fetchAllAudit, isoToLocal } from '../lib/audit.js';
import { auditCsv, auditCsvFileName } from '../lib/csv.js';

const PAGE_SIZE = 50;
const EXPORT_LIMIT = 10000;

function formFromQuery(q) {
  return { agentId: q.agentId || '', action: q.action || '', outcome: q.outcome || '', from: isoToLocal(q.from), to: isoToLocal(q.to) };
}

function download(text, name) {
  // A BOM so spreadsheet programs read the UTF-8 as UTF-8.
  const blob = new Blob(['\uFEFF', text], { type: 'text/csv;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function EventDetail({ id, onClose }) {
  const api = useApi();
  const [state, reload] = useLoad(() => api.getAuditEvent(id), [api, id]);
  const heading = useRef(null);
  // Take focus (and, on a phone, scroll) to the panel that just opened.
  useEffect(() => {
    heading.current?.focus();
  }, [id]);
  const e = state.data;
  return (
    <aside className="detail card" aria-labelledby="detail-h">
      <div className="section-head">
        <h2 id="detail-h" ref={heading} tabIndex={-1}>Event {id}</h2>
        <button type="button" onClick={onClose}>Close details</button>
      </div>
      {state.loading && <Loading>Loading the event…</Loading>}
      <ErrorBox error={state.error} onRetry={reload} title="The event could not be loaded" />
      {e && (
        <dl className="kv">
          <dt>Time</dt><dd><time dateTime={e.occurredAt}>{formatTime(e.occurredAt)}</time> <small className="hint">{e.occurredAt}</small></dd>
          <dt>Action</dt><dd><code>{e.action}</code></dd>
          <dt>Outcome</dt><dd><StatusBadge status={e.outcome} /></dd>
          <dt>Agent</dt><dd>{e.agentId ? <Link to={`/agents/${encodeURIComponent(e.agentId)}`}><code>{e.agentId}</code></Link> : '—'}</dd>
          <dt>Actor agent</dt><dd>{e.actorAgentId ? <Link to={`/agents/${encodeURIComponent(e.actorAgentId)}`}><code>{e.actorAgentId}</code></Link> : '—'}</dd>
          <dt>Database user</dt><dd>{e.dbUser || '—'}</dd>
          <dt>IP address</dt><dd>{e.ipAddress || '—'}</dd>
          <dt>User agent</dt><dd className="wrap">{e.userAgent || '—'}</dd>
          <dt>Metadata</dt><dd><pre className="mono">{JSON.stringify(e.metadata ?? {}, null, 2)}</pre></dd>
          {e.chainStream && (<><dt>Chain</dt><dd><small className="mono wrap">stream {e.chainStream}, #{e.chainSeq}</small></dd></>)}
        </dl>
      )}
    </aside>
  );
}

export default function AuditPage({ search }) {
  const api = useApi();
  const urlQuery = readQuery(search);
  const [form, setForm] = useState(() => formFromQuery(urlQuery));
  const [errors, setErrors] = useState({});
  // The applied filters come from the URL (App remounts this page when it
  // changes): links from an agent's page and Back both work.
  const [query] = useState(() => auditQuery(formFromQuery(urlQuery)).query);
  const [cursors, setCursors] = useState([null]);
  const [selected, setSelected] = useState(null);
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState(null);
  const [notice, setNotice] = useState('');
  const page = cursors.length;

  const [state, reload] = useLoad(() => api.listAudit({ ...query, limit: PAGE_SIZE, cursor: cursors[cursors.length - 1] }), [api, query, cursors]);
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });

  const apply = (f) => {
    const { query: q, errors: errs } = auditQuery(f);
    setErrors(errs);
    if (Object.keys(errs).length) return;
    const qs = new URLSearchParams(q).toString();
    const to = `/audit${qs ? `?${qs}` : ''}`;
    // Same filters again: fetch again rather than do nothing.
    if (`/dashboard${to}` === currentPath()) reload();
    else navigate(to, { keepFocus: true });
  };

  const exportCsv = async () => {
    setExporting(true);
    setExportError(null);
    setNotice('');
    try {
      const { rows, truncated } = await fetchAllAudit(api.listAudit, query, { maxRows: EXPORT_LIMIT });
      download(auditCsv(rows), auditCsvFileName(query));
      setNotice(truncated
        ? `Exported the newest ${rows.length} matching events (the export stops at ${EXPORT_LIMIT}); narrow the date range to export the rest.`
        : `Exported ${rows.length} event${rows.length === 1 ? '' : 's'}.`);
    } catch (err) {
      setExportError(err);
    } finally {
      setExporting(false);
    }
  };

  return (
    <>
      <div className="page-head">
        <h1>Audit log</h1>
        <button type="button" onClick={exportCsv} disabled={exporting}>{exporting ? 'Exporting…' : 'Export CSV'}</button>
      </div>
      <form className="filters" onSubmit={(e) => { e.preventDefault(); apply(form); }} aria-label="Audit filters">
        <Field label="Agent id" error={errors.agentId}>
          <input name="agentId" value={form.agentId} onChange={set('agentId')} placeholder="UUID" spellCheck="false" />
        </Field>
        <Field label="Action">
          <select name="action" value={form.action} onChange={set('action')}>
            <option value="">any</option>
            {AUDIT_ACTIONS.map((a) => <option key={a} value={a}>{a}</option>)}
          </select>
        </Field>
        <Field label="Outcome">
          <select name="outcome" value={form.outcome} onChange={set('outcome')}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
          </select>
        </Field>
        <Field label="From" error={errors.from}>
          <input type="datetime-local" name="from" value={form.from} onChange={set('from')} />
        </Field>
        <Field label="To" error={errors.to}>
          <input type="datetime-local" name="to" value={form.to} onChange={set('to')} />
        </Field>
        <div className="actions">
          <button type="submit" className="primary">Apply filters</button>
          <button type="button" onClick={() => { const empty = formFromQuery({}); setForm(empty); apply(empty); }}>Reset</button>
        </div>
      </form>
      <ErrorBox error={exportError} title="The CSV export failed" />
      <Notice onClose={() => setNotice('')}>{notice}</Notice>

      <div className={selected ? 'with-detail' : ''}>
        <div>
          {state.loading && <Loading>Loading audit events…</Loading>}
          <ErrorBox error={state.error} onRetry={reload} title="The audit log could not be loaded" />
          {state.data && !state.loading && (state.data.data.length === 0 ? (
            <Empty>No audit event matches these filters.</Empty>
          ) : (
            <div className="table-wrap">
              <table className="audit">
                <caption className="sr-only">Audit events, newest first</caption>
                <thead>
                  <tr><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Outcome</th><th scope="col" className="hide-narrow">Agent</th><th scope="col" className="hide-narrow">IP</th><th scope="col"><span className="sr-only">Details</span></th></tr>
                </thead>
                <tbody>
                  {state.data.data.map((e) => (
                    <tr key={e.id} className={selected === e.id ? 'selected' : ''}>
                      <td className="nowrap"><time dateTime={e.occurredAt} title={formatTime(e.occurredAt)}>{formatShortTime(e.occurredAt)}</time></td>
                      <td><code className="action">{e.action}</code></td>
                      <td><StatusBadge status={e.outcome} /></td>
                      <td className="hide-narrow">{e.agentId ? <code title={e.agentId}>{e.agentId.slice(0, 8)}…</code> : '—'}</td>
                      <td className="hide-narrow">{e.ipAddress || '—'}</td>
                      <td><button type="button" onClick={() => setSelected(e.id)} aria-label={`Details of event ${e.id}`}>Details</button></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
          {state.data && (page > 1 || state.data.hasMore) && (
            <Pager page={page} busy={state.loading} hasPrev={page > 1} hasNext={state.data.hasMore}
              onPrev={() => setCursors(cursors.slice(0, -1))} onNext={() => setCursors([...cursors, state.data.nextCursor])} />
          )}
        </div>
        {selected !== null && <EventDetail id={selected} onClose={() => setSelected(null)} />}
      </div>
    </>
  );
}
