// Building blocks shared by the pages: loading, empty and error states,
// labelled fields, modal dialogs, the one-time secret panel.
import React, { createContext, useCallback, useContext, useEffect, useId, useRef, useState } from 'react';
import { describeError } from './lib/errors.js';

export const ApiContext = createContext(null);
export const useApi = () => useContext(ApiContext);

// Load data with an async function; reload() runs it again. Results of a
// superseded call are dropped so a slow answer never overwrites a newer one.
export function useLoad(fn, deps) {
  const [state, setState] = useState({ loading: true, error: null, data: null });
  const seq = useRef(0);
  const run = useCallback(() => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    fn().then(
      (data) => n === seq.current && setState({ loading: false, error: null, data }),
      (error) => n === seq.current && setState({ loading: false, error, data: null }),
    );
  }, deps);
  useEffect(() => {
    run();
    return () => {
      seq.current++;
    };
  }, [run]);
  return [state, run];
}

export function Loading({ children = 'Loading…' }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {children}
    </p>
  );
}

export function Empty({ children }) {
  return <p className="empty">{children}</p>;
}

export function ErrorBox({ error, onRetry, title = 'Something went wrong' }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <strong>{title}.</strong> {describeError(error)}
      {onRetry && (
        <>
          {' '}
          <button type="button" className="link-button" onClick={onRetry}>Try again</button>
        </>
      )}
    </div>
  );
}

export function Notice({ children, onClose }) {
  if (!children) return null;
  return (
    <div className="notice" role="status" aria-live="polite">
      <span>{children}</span>
      {onClose && <button type="button" className="link-button" onClick={onClose} aria-label="Dismiss message">Dismiss</button>}
    </div>
  );
}

export function Field({ label, hint, error, children, className = '' }) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errId = error ? `${id}-err` : undefined;
  const child = React.Children.only(children);
  const control = React.cloneElement(child, {
    id,
    'aria-describedby': [hintId, errId].filter(Boolean).join(' ') || undefined,
    'aria-invalid': error ? 'true' : undefined,
  });
  return (
    <div className={`field ${className}`}>
      <label htmlFor={id}>{label}</label>
      {control}
      {hint && <small id={hintId} className="hint">{hint}</small>}
      {error && <small id={errId} className="field-error">{error}</small>}
    </div>
  );
}

export function StatusBadge({ status }) {
  return <span className={`badge badge-${status || 'unknown'}`}>{status || 'unknown'}</span>;
}

// A native modal <dialog>: the browser traps focus, Escape closes it, and
// focus returns to the button that opened it.
export function Dialog({ open, title, onClose, children, wide = false }) {
  const ref = useRef(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      className={wide ? 'wide' : ''}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      {open && (
        <>
          <div className="dialog-head">
            <h2 id={titleId}>{title}</h2>
            <button type="button" className="icon-button" onClick={onClose} aria-label="Close dialog">×</button>
          </div>
          {children}
        </>
      )}
    </dialog>
  );
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // http:// pages other than localhost have no Clipboard API.
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  const ok = document.execCommand('copy');
  document.body.removeChild(ta);
  if (!ok) throw new Error('copy refused');
}

export function CopyButton({ text, label }) {
  const [state, setState] = useState('');
  return (
    <>
      <button
        type="button"
        onClick={async () => {
          try {
            await copyText(text);
            setState('Copied.');
          } catch {
            setState('Copying failed: select the text and copy it by hand.');
          }
        }}
      >
        {label}
      </button>
      <span className="copy-state" role="status" aria-live="polite">{state}</span>
    </>
  );
}

// The client secret exactly once, right after create or rotate. The server
// can never show it again (it keeps only a bcrypt hash), so say so plainly.
export function SecretPanel({ credential, action, onDone }) {
  return (
    <div className="secret-panel" data-testid="secret-panel">
      <p className="warning" role="alert">
        <strong>Copy the client secret now.</strong> It is shown only this once and cannot be retrieved later:
        AgentIdP stores only a hash of it. If it is lost, rotate the credential to get a new one.
      </p>
      <dl className="kv">
        <dt>Client id</dt>
        <dd><code data-testid="client-id">{credential.clientId}</code> <CopyButton text={credential.clientId} label="Copy client id" /></dd>
        <dt>Client secret</dt>
        <dd>
          <code className="secret" data-testid="client-secret">{credential.clientSecret}</code>{' '}
          <CopyButton text={credential.clientSecret} label="Copy secret" />
        </dd>
      </dl>
      <p className="hint">{action === 'rotate' ? 'The previous secret of this credential has stopped working.' : 'Give the id and secret to the agent; it exchanges them for tokens at /api/v1/token.'}</p>
      <button type="button" className="primary" onClick={onDone}>I have stored the secret</button>
    </div>
  );
}

export function Pager({ page, hasPrev, hasNext, onPrev, onNext, busy }) {
  return (
    <nav className="pager" aria-label="Pagination">
      <button type="button" onClick={onPrev} disabled={!hasPrev || busy}>← Previous</button>
      <span aria-live="polite">Page {page}</span>
      <button type="button" onClick={onNext} disabled={!hasNext || busy}>Next →</button>
    </nav>
  );
}
