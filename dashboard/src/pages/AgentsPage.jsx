import React, { useState } from 'react';
import { Dialog, Empty, ErrorBox, Field, Loading, Pager, StatusBadge, useApi, useLoad } from '../ui.jsx';
import { Link, currentPath, navigate } from '../nav.jsx';
import { formatTime } from '../lib/format.js';
import { readQuery } from '../lib/router.js';
import AgentForm from './AgentForm.jsx';

const PAGE_SIZE = 20;

export default function AgentsPage({ search }) {
  const api = useApi();
  const q = readQuery(search);
  const [text, setText] = useState(q.search || '');
  const [ownerText, setOwnerText] = useState(q.owner || '');
  // The filters live in the URL (App remounts this page when it changes), so
  // a filtered list can be linked and Back returns to the previous filter.
  const filters = { search: q.search || '', status: q.status || '', owner: q.owner || '' };
  // Keyset pagination: remember the cursor of every page seen, so Previous
  // goes back without the server needing offsets.
  const [cursors, setCursors] = useState([null]);
  const page = cursors.length;
  const [registering, setRegistering] = useState(false);

  const [state, reload] = useLoad(
    () => api.listAgents({ ...filters, limit: PAGE_SIZE, cursor: cursors[cursors.length - 1] }),
    [api, search, cursors],
  );

  const apply = (next) => {
    const qs = new URLSearchParams(Object.entries(next).filter(([, v]) => v)).toString();
    const to = `/agents${qs ? `?${qs}` : ''}`;
    // Same filters again: fetch again rather than do nothing.
    if (`/dashboard${to}` === currentPath()) reload();
    else navigate(to, { keepFocus: true });
  };

  return (
    <>
      <div className="page-head">
        <h1>Agents</h1>
        <button type="button" className="primary" onClick={() => setRegistering(true)}>Register agent</button>
      </div>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          apply({ ...filters, search: text.trim(), owner: ownerText.trim() });
        }}
      >
        <Field label="Search by name">
          <input type="search" name="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="part of a name" />
        </Field>
        <Field label="Owner">
          <input name="owner" value={ownerText} onChange={(e) => setOwnerText(e.target.value)} placeholder="exact owner" />
        </Field>
        <Field label="Status">
          <select name="status" value={filters.status} onChange={(e) => apply({ ...filters, status: e.target.value })}>
            <option value="">any</option>
            <option value="active">active</option>
            <option value="suspended">suspended</option>
            <option value="decommissioned">decommissioned</option>
          </select>
        </Field>
        <button type="submit">Search</button>
        {(filters.search || filters.status || filters.owner) && (
          <button type="button" className="link-button" onClick={() => { setText(''); setOwnerText(''); apply({ search: '', status: '', owner: '' }); }}>Clear filters</button>
        )}
      </form>

      {state.loading && <Loading>Loading agents…</Loading>}
      <ErrorBox error={state.error} onRetry={reload} title="The agents could not be loaded" />
      {!state.loading && !state.error && state.data && (
        state.data.data.length === 0 ? (
          <Empty>
            {filters.search || filters.status || filters.owner ? 'No agent matches these filters.' : 'No agents yet. Register the first one with “Register agent”.'}
          </Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Agents, newest first</caption>
              <thead>
                <tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Owner</th><th scope="col" className="hide-narrow">Capabilities</th><th scope="col" className="hide-narrow">Created</th></tr>
              </thead>
              <tbody>
                {state.data.data.map((a) => (
                  <tr key={a.id}>
                    <td><Link to={`/agents/${encodeURIComponent(a.id)}`}>{a.name}</Link></td>
                    <td><StatusBadge status={a.status} /></td>
                    <td>{a.owner}</td>
                    <td className="hide-narrow">{(a.capabilities || []).join(', ') || '—'}</td>
                    <td className="hide-narrow">{formatTime(a.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
      {state.data && (page > 1 || state.data.hasMore) && (
        <Pager
          page={page}
          busy={state.loading}
          hasPrev={page > 1}
          hasNext={state.data.hasMore}
          onPrev={() => setCursors(cursors.slice(0, -1))}
          onNext={() => setCursors([...cursors, state.data.nextCursor])}
        />
      )}

      <Dialog open={registering} title="Register an agent" onClose={() => setRegistering(false)}>
        <AgentForm
          submitLabel="Register"
          onCancel={() => setRegistering(false)}
          onSubmit={async (fields) => {
            const agent = await api.createAgent(fields);
            setRegistering(false);
            navigate(`/agents/${encodeURIComponent(agent.id)}?registered=1`);
          }}
        />
      </Dialog>
    </>
  );
}
