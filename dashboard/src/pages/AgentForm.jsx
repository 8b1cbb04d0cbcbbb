// The agent fields, for registering and for editing. On edit only the fields
// that changed are sent, since PATCH refuses nothing it need not see.
import React, { useState } from 'react';
import { Field, ErrorBox } from '../ui.jsx';

export const SCOPES = [
  ['agents:read', 'read agents'],
  ['agents:write', 'register and change agents'],
  ['credentials:write', 'manage credentials'],
  ['tokens:introspect', 'introspect tokens'],
  ['audit:read', 'read the audit log'],
  ['admin', 'everything, including this dashboard'],
];
const KNOWN = new Set(SCOPES.map(([s]) => s));

function initial(agent) {
  const caps = agent?.capabilities || [];
  return {
    name: agent?.name || '',
    owner: agent?.owner || '',
    description: agent?.description || '',
    scopes: caps.filter((c) => KNOWN.has(c)),
    // Capabilities outside the known scopes (none today: the API takes only
    // these) are kept as they are rather than silently dropped on save.
    other: caps.filter((c) => !KNOWN.has(c)),
    metadata: agent ? JSON.stringify(agent.metadata ?? {}, null, 2) : '{}',
  };
}

// Form values -> {fields, errors}; fields holds what the API takes.
export function readForm(v) {
  const errors = {};
  const name = v.name.trim();
  const owner = v.owner.trim();
  if (!name) errors.name = 'Give the agent a name.';
  if (!owner) errors.owner = 'Say who owns the agent (a team or a person).';
  let metadata = {};
  try {
    metadata = v.metadata.trim() ? JSON.parse(v.metadata) : {};
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      errors.metadata = 'Metadata must be a JSON object, such as {"team": "payments"}.';
    }
  } catch (e) {
    errors.metadata = `Metadata is not valid JSON: ${e.message}`;
  }
  return {
    errors,
    fields: {
      name,
      owner,
      description: v.description.trim() || null,
      capabilities: [...new Set([...SCOPES.map(([s]) => s).filter((s) => v.scopes.includes(s)), ...v.other])],
      metadata,
    },
  };
}

function changed(agent, fields) {
  const patch = {};
  for (const [k, val] of Object.entries(fields)) {
    const before = k === 'description' ? agent.description ?? null : agent[k];
    if (JSON.stringify(before) !== JSON.stringify(val)) patch[k] = val;
  }
  return patch;
}

export default function AgentForm({ agent, onSubmit, onCancel, submitLabel }) {
  const [v, setV] = useState(() => initial(agent));
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = (k) => (e) => setV({ ...v, [k]: e.target.value });
  const toggle = (s) => setV({ ...v, scopes: v.scopes.includes(s) ? v.scopes.filter((x) => x !== s) : [...v.scopes, s] });

  const submit = async (e) => {
    e.preventDefault();
    const { fields, errors: errs } = readForm(v);
    setErrors(errs);
    if (Object.keys(errs).length) return;
    let body = fields;
    if (agent) {
      body = changed(agent, fields);
      if (!Object.keys(body).length) {
        onCancel();
        return;
      }
    } else if (!body.description) {
      delete body.description;
    }
    setBusy(true);
    setError(null);
    try {
      await onSubmit(body);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate className="agent-form">
      <ErrorBox error={error} title={agent ? 'The agent was not saved' : 'The agent was not registered'} />
      <Field label="Name" error={errors.name}>
        <input name="name" value={v.name} onChange={set('name')} required maxLength={200} />
      </Field>
      <Field label="Owner" error={errors.owner}>
        <input name="owner" value={v.owner} onChange={set('owner')} required maxLength={200} />
      </Field>
      <Field label="Description">
        <textarea name="description" rows={2} value={v.description} onChange={set('description')} />
      </Field>
      <fieldset>
        <legend>Capabilities (the scopes its tokens may carry)</legend>
        {SCOPES.map(([s, what]) => (
          <div className="check" key={s}>
            <input id={`cap-${s}`} type="checkbox" checked={v.scopes.includes(s)} onChange={() => toggle(s)} />
            <label htmlFor={`cap-${s}`}><code>{s}</code> — {what}</label>
          </div>
        ))}
        {v.other.length > 0 && <p className="hint">Also kept: {v.other.join(', ')}</p>}
      </fieldset>
      <Field label="Metadata (JSON object)" error={errors.metadata}>
        <textarea name="metadata" rows={3} className="mono" value={v.metadata} onChange={set('metadata')} spellCheck="false" />
      </Field>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Saving…' : submitLabel}</button>
        <button type="button" onClick={onCancel} disabled={busy}>Cancel</button>
      </div>
    </form>
  );
}
