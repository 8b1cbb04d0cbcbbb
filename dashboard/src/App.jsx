import React, { useEffect, useMemo, useRef, useState } from 'react';
import { createApi } from './lib/api.js';
import { createSession, secondsLeft } from './lib/session.js';
import { describeError } from './lib/errors.js';
import { formatDuration } from './lib/format.js';
import { matchRoute } from './lib/router.js';
import { ApiContext, Field } from './ui.jsx';
import { Link, navigate, useLocation } from './nav.jsx';
import AgentsPage from './pages/AgentsPage.jsx';
import AgentPage from './pages/AgentPage.jsx';
import AuditPage from './pages/AuditPage.jsx';
import HealthPage, { clearMetricsHistory } from './pages/HealthPage.jsx';
import KeysPage from './pages/KeysPage.jsx';

const SIGN_OUT_REASONS = {
  expired: 'Your session expired. Sign in again to continue.',
  unauthorized: 'The server no longer accepts your token (it expired, was revoked, or the admin agent was suspended). Sign in again.',
  signed_out: 'You have signed out.',
};

function SignIn({ onSignIn, message }) {
  const [clientId, setClientId] = useState('');
  const [secret, setSecret] = useState('');
  const [autoRenew, setAutoRenew] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSignIn(clientId.trim(), secret, autoRenew);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <main className="signin" id="main">
      <h1>AgentIdP admin</h1>
      <p>Sign in with the client id and secret of an agent that has the <code>admin</code> capability.</p>
      {message && <p className="notice" role="status">{message}</p>}
      {error && <div className="error" role="alert"><strong>Sign-in failed.</strong> {describeError(error)}</div>}
      {/* autocomplete off: the secret is not offered to the password manager,
          in keeping with storing nothing in the browser. */}
      <form onSubmit={submit} className="card" autoComplete="off">
        <Field label="Client id">
          <input name="clientId" autoComplete="off" value={clientId} onChange={(e) => setClientId(e.target.value)} required spellCheck="false" />
        </Field>
        <Field label="Client secret">
          <input name="clientSecret" type="password" autoComplete="off" value={secret} onChange={(e) => setSecret(e.target.value)} required />
        </Field>
        <div className="check">
          <input id="auto-renew" type="checkbox" checked={autoRenew} onChange={(e) => setAutoRenew(e.target.checked)} />
          <label htmlFor="auto-renew">Renew the token automatically while this tab is open (the secret stays in this tab's memory only)</label>
        </div>
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
      <p className="hint">Nothing is stored in the browser: closing or reloading the tab signs you out.</p>
    </main>
  );
}

function Countdown({ expiresAt, autoRenew }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const left = secondsLeft(expiresAt, now);
  return (
    <span className="countdown" title={new Date(expiresAt).toLocaleString()}>
      Token {autoRenew ? 'renews before expiry, ' : ''}expires in {formatDuration(left)}
    </span>
  );
}

const NAV = [
  ['/agents', 'Agents', ['agents', 'agent']],
  ['/audit', 'Audit log', ['audit']],
  ['/health', 'Health', ['health']],
  ['/keys', 'Signing keys', ['keys']],
];

export default function App() {
  const [info, setInfo] = useState(null);
  const [message, setMessage] = useState('');
  const loc = useLocation();
  const route = matchRoute(loc.pathname);
  const mainRef = useRef(null);

  // One session and one API client for the life of the tab; the API asks
  // the session for the token on every call.
  const { session, api } = useMemo(() => {
    let sessionRef = null;
    const apiObj = createApi({
      getToken: () => (sessionRef ? sessionRef.token() : null),
      onUnauthorized: () => sessionRef && sessionRef.signOut('unauthorized'),
    });
    sessionRef = createSession({
      fetchToken: (id, secret) => apiObj.requestToken(id, secret),
      onChange: (next, ev) => {
        setInfo(next);
        if (ev.type === 'signed_out') {
          clearMetricsHistory();
          setMessage(ev.reason === 'renew_failed'
            ? `Your token could not be renewed, so you were signed out. ${describeError(ev.error)}`
            : SIGN_OUT_REASONS[ev.reason] || SIGN_OUT_REASONS.signed_out);
        }
      },
    });
    return { session: sessionRef, api: apiObj };
  }, []);

  useEffect(() => () => session.signOut(), [session]);

  // Move focus to the page heading on navigation so screen readers and
  // keyboard users start at the new content.
  useEffect(() => {
    const h = mainRef.current?.querySelector('h1');
    if (h) {
      h.setAttribute('tabindex', '-1');
      h.focus({ preventScroll: true });
    }
  }, [loc.pathname]);

  if (!info) {
    return (
      <SignIn
        message={message}
        onSignIn={async (id, secret, autoRenew) => {
          await session.signIn(id, secret, { autoRenew });
          setMessage('');
        }}
      />
    );
  }

  let page;
  switch (route.page) {
    case 'agents': page = <AgentsPage key={loc.search} search={loc.search} />; break;
    case 'agent': page = <AgentPage id={route.params.id} />; break;
    case 'audit': page = <AuditPage key={loc.search} search={loc.search} />; break;
    case 'health': page = <HealthPage />; break;
    case 'keys': page = <KeysPage />; break;
    default:
      page = (
        <>
          <h1>Page not found</h1>
          <p>There is no dashboard page at this address. <Link to="/agents">Go to the agents</Link>.</p>
        </>
      );
  }

  return (
    <ApiContext.Provider value={api}>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <div className="brand">AgentIdP</div>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([to, label, pages]) => (
              <li key={to}>
                <Link to={to} aria-current={pages.includes(route.page) ? 'page' : undefined}>{label}</Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span className="client" title="Signed in as">{info.clientId}</span>
          <Countdown expiresAt={info.expiresAt} autoRenew={info.autoRenew} />
          <button
            type="button"
            onClick={() => {
              session.signOut('signed_out');
              navigate('/agents', { replace: true });
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={mainRef}>{page}</main>
    </ApiContext.Provider>
  );
}
