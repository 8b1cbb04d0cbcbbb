import React, { useState } from 'react';
import { Dialog, Empty, ErrorBox, Field, Loading, Notice, SecretPanel, StatusBadge, useApi, useLoad } from '../ui.jsx';
import { Link } from '../nav.jsx';
import { formatShortTime, formatTime } from '../lib/format.js';
import AgentForm from './AgentForm.jsx';

function Credentials({ agent, version, onChanged }) {
  const api = useApi();
  // version changes after every change to the agent (decommissioning revokes
  // its credentials server-side), so the list is fetched again.
  const [state, reload] = useLoad(() => api.listCredentials(agent.id), [api, agent.id, version]);
  const [secret, setSecret] = useState(null); // {credential, action}
  const [confirm, setConfirm] = useState(null); // {kind:'rotate'|'revoke', cred}
  const [expiresAt, setExpiresAt] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState('');
  const closed = agent.status === 'decommissioned';

  const act = async (fn) => {
    setBusy(true);
    setError(null);
    setNotice('');
    try {
      await fn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      setConfirm(null);
    }
  };

  return (
    <section aria-labelledby="creds-h">
      <div className="section-head">
        <h2 id="creds-h">Credentials</h2>
      </div>
      {agent.status === 'suspended' && !secret && (
        <p className="hint">New credentials need an active agent: reactivate {agent.name} first.</p>
      )}
      {agent.status === 'active' && !secret && (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            act(async () => {
              const iso = expiresAt ? new Date(expiresAt).toISOString() : undefined;
              const c = await api.createCredential(agent.id, { expiresAt: iso });
              setSecret({ credential: c, action: 'create' });
              setExpiresAt('');
              onChanged();
            });
          }}
        >
          <Field label="Expires (optional)" hint="Leave empty for a credential that does not expire.">
            <input type="datetime-local" name="expiresAt" value={expiresAt} onChange={(e) => setExpiresAt(e.target.value)} />
          </Field>
          <button type="submit" className="primary" disabled={busy}>Create credential</button>
        </form>
      )}
      <ErrorBox error={error} title="The credential action failed" />
      <Notice onClose={() => setNotice('')}>{notice}</Notice>
      {secret && (
        <SecretPanel
          credential={secret.credential}
          action={secret.action}
          onDone={() => {
            setSecret(null);
            setNotice('The secret has been hidden and cannot be shown again.');
          }}
        />
      )}
      {state.loading && <Loading>Loading credentials…</Loading>}
      <ErrorBox error={state.error} onRetry={reload} title="The credentials could not be loaded" />
      {state.data && (state.data.length === 0 ? (
        <Empty>This agent has no credentials yet.</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Credentials of {agent.name} (secrets are never listed)</caption>
            <thead>
              <tr><th scope="col">Client id</th><th scope="col">Status</th><th scope="col" className="hide-narrow">Created</th><th scope="col" className="hide-narrow">Rotated</th><th scope="col" className="hide-narrow">Expires</th><th scope="col">Actions</th></tr>
            </thead>
            <tbody>
              {state.data.map((c) => (
                <tr key={c.id} data-client-id={c.clientId}>
                  <td><code className="id">{c.clientId}</code></td>
                  <td><StatusBadge status={c.status} />{c.revokedAt && <small className="hint"> {formatShortTime(c.revokedAt)}</small>}</td>
                  <td className="hide-narrow nowrap" title={formatTime(c.createdAt)}>{formatShortTime(c.createdAt)}</td>
                  <td className="hide-narrow nowrap">{c.rotatedAt ? <span title={formatTime(c.rotatedAt)}>{formatShortTime(c.rotatedAt)}</span> : 'never'}</td>
                  <td className="hide-narrow nowrap">{c.expiresAt ? <span title={formatTime(c.expiresAt)}>{formatShortTime(c.expiresAt)}</span> : 'never'}</td>
                  <td className="row-actions">
                    {c.status === 'active' && !closed ? (
                      <>
                        <button type="button" onClick={() => setConfirm({ kind: 'rotate', cred: c })} disabled={busy} aria-label={`Rotate credential ${c.clientId}`}>Rotate</button>
                        <button type="button" className="danger" onClick={() => setConfirm({ kind: 'revoke', cred: c })} disabled={busy} aria-label={`Revoke credential ${c.clientId}`}>Revoke</button>
                      </>
                    ) : '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}

      <Dialog open={confirm !== null} title={confirm?.kind === 'rotate' ? 'Rotate this credential?' : 'Revoke this credential?'} onClose={() => setConfirm(null)}>
        {confirm && (
          <>
            {confirm.kind === 'rotate' ? (
              <p>A new secret is generated for <code>{confirm.cred.clientId}</code> and shown once. <strong>The current secret stops working immediately</strong>; the agent needs the new one to get tokens.</p>
            ) : (
              <p><strong>Revoking is permanent.</strong> <code>{confirm.cred.clientId}</code> can never get a token again. Tokens already issued keep working until they expire unless revoked separately.</p>
            )}
            <div className="actions">
              <button
                type="button"
                className={confirm.kind === 'rotate' ? 'primary' : 'danger'}
                disabled={busy}
                onClick={() => act(async () => {
                  if (confirm.kind === 'rotate') {
                    const c = await api.rotateCredential(agent.id, confirm.cred.id);
                    setSecret({ credential: { clientId: confirm.cred.clientId, ...c }, action: 'rotate' });
                  } else {
                    await api.revokeCredential(agent.id, confirm.cred.id);
                    setNotice(`Credential ${confirm.cred.clientId} revoked.`);
                  }
                  onChanged();
                })}
              >
                {confirm.kind === 'rotate' ? 'Rotate secret' : 'Revoke credential'}
              </button>
              <button type="button" onClick={() => setConfirm(null)}>Cancel</button>
            </div>
          </>
        )}
      </Dialog>
    </section>
  );
}

function RecentEvents({ agentId, version }) {
  const api = useApi();
  const [state, reload] = useLoad(() => api.listAudit({ agentId, limit: 10 }), [api, agentId, version]);
  return (
    <section aria-labelledby="events-h">
      <div className="section-head">
        <h2 id="events-h">Recent audit events</h2>
        <Link to={`/audit?agentId=${encodeURIComponent(agentId)}`}>All events of this agent</Link>
      </div>
      {state.loading && <Loading>Loading events…</Loading>}
      <ErrorBox error={state.error} onRetry={reload} title="The audit events could not be loaded" />
      {state.data && (state.data.data.length === 0 ? <Empty>No audit events for this agent.</Empty> : (
        <ul className="events">
          {state.data.data.map((e) => (
            <li key={e.id}>
              <time dateTime={e.occurredAt} title={formatTime(e.occurredAt)}>{formatShortTime(e.occurredAt)}</time>
              <code>{e.action}</code>
              <StatusBadge status={e.outcome} />
            </li>
          ))}
        </ul>
      ))}
    </section>
  );
}

export default function AgentPage({ id }) {
  const api = useApi();
  const [state, reload] = useLoad(() => api.getAgent(id), [api, id]);
  const [agent, setAgent] = useState(null);
  const [editing, setEditing] = useState(false);
  const [decommissioning, setDecommissioning] = useState(false);
  const [confirmName, setConfirmName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(() => (window.location.search.includes('registered=1') ? 'Agent registered. Create a credential so it can get tokens.' : ''));
  const [version, setVersion] = useState(0);
  const [activeCreds, setActiveCreds] = useState(null);

  const a = agent && agent.id === state.data?.id ? agent : state.data;
  const bump = () => setVersion((n) => n + 1);

  const lifecycle = async (fn, message) => {
    setBusy(true);
    setError(null);
    setNotice('');
    try {
      const updated = await fn();
      if (updated && updated.id) setAgent(updated);
      else reload();
      setNotice(message);
      bump();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (state.loading && !a) return <><h1>Agent</h1><Loading>Loading the agent…</Loading></>;
  if (state.error) {
    return (
      <>
        <h1>Agent</h1>
        <ErrorBox error={state.error} onRetry={reload} title="The agent could not be loaded" />
        <p><Link to="/agents">Back to the agents</Link></p>
      </>
    );
  }
  if (!a) return null;

  return (
    <>
      <p className="crumbs"><Link to="/agents">Agents</Link> / {a.name}</p>
      <div className="page-head">
        <h1>{a.name} <StatusBadge status={a.status} /></h1>
        <div className="actions">
          {a.status !== 'decommissioned' && <button type="button" onClick={() => setEditing(true)} disabled={busy}>Edit</button>}
          {a.status === 'active' && (
            <button type="button" disabled={busy} onClick={() => lifecycle(() => api.updateAgent(a.id, { status: 'suspended' }), `${a.name} is suspended: its tokens are refused until it is reactivated.`)}>Suspend</button>
          )}
          {a.status === 'suspended' && (
            <button type="button" disabled={busy} onClick={() => lifecycle(() => api.updateAgent(a.id, { status: 'active' }), `${a.name} is active again.`)}>Reactivate</button>
          )}
          {a.status !== 'decommissioned' && (
            <button
              type="button"
              className="danger"
              disabled={busy}
              onClick={async () => {
                setConfirmName('');
                setDecommissioning(true);
                try {
                  const creds = await api.listCredentials(a.id);
                  setActiveCreds(creds.filter((c) => c.status === 'active').length);
                } catch {
                  setActiveCreds(null);
                }
              }}
            >
              Decommission
            </button>
          )}
        </div>
      </div>
      <ErrorBox error={error} title="The change was not made" />
      <Notice onClose={() => setNotice('')}>{notice}</Notice>

      <dl className="kv card">
        <dt>Id</dt><dd><code>{a.id}</code></dd>
        <dt>Owner</dt><dd>{a.owner}</dd>
        <dt>Description</dt><dd>{a.description || '—'}</dd>
        <dt>Capabilities</dt><dd>{(a.capabilities || []).length ? a.capabilities.map((c) => <code key={c} className="tag">{c}</code>) : 'none'}</dd>
        <dt>Metadata</dt><dd><pre className="mono">{JSON.stringify(a.metadata ?? {}, null, 2)}</pre></dd>
        <dt>Created</dt><dd>{formatTime(a.createdAt)}</dd>
        <dt>Updated</dt><dd>{formatTime(a.updatedAt)}</dd>
      </dl>

      <div className="two-col">
        {/* Not remounted on a status change: a secret on screen must survive a click on Suspend. */}
        <Credentials key={a.id} agent={a} version={version} onChanged={bump} />
        <RecentEvents agentId={a.id} version={version} />
      </div>

      <Dialog open={editing} title={`Edit ${a.name}`} onClose={() => setEditing(false)}>
        <AgentForm
          agent={a}
          submitLabel="Save changes"
          onCancel={() => setEditing(false)}
          onSubmit={async (patch) => {
            const updated = await api.updateAgent(a.id, patch);
            setAgent(updated);
            setEditing(false);
            setNotice('Changes saved.');
            bump();
          }}
        />
      </Dialog>

      <Dialog open={decommissioning} title={`Decommission ${a.name}?`} onClose={() => setDecommissioning(false)}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (confirmName !== a.name) return;
            setDecommissioning(false);
            lifecycle(() => api.decommissionAgent(a.id), `${a.name} is decommissioned.`);
          }}
        >
          <p><strong>This cannot be undone.</strong> Decommissioning {a.name}:</p>
          <ul>
            <li>revokes {activeCreds === null ? 'every' : `its ${activeCreds}`} active credential{activeCreds === 1 ? '' : 's'}, so it can never get a token again;</li>
            <li>revokes every token it holds now, so its running work loses access immediately;</li>
            <li>ends the agent for good: it cannot be reactivated, and its name becomes free for a new agent.</li>
          </ul>
          <p>Its audit history is kept.</p>
          <Field label={`Type the agent's name (${a.name}) to confirm`}>
            <input name="confirmName" value={confirmName} onChange={(e) => setConfirmName(e.target.value)} autoComplete="off" />
          </Field>
          <div className="actions">
            <button type="submit" className="danger" disabled={confirmName !== a.name}>Decommission for good</button>
            <button type="button" onClick={() => setDecommissioning(false)}>Cancel</button>
          </div>
        </form>
      </Dialog>
    </>
  );
}
