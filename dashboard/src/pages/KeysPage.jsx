import React from 'react';
import { Empty, ErrorBox, Loading, StatusBadge, useApi, useLoad } from '../ui.jsx';
import { jwtKid, keysFromJwks, mergeKeys } from '../lib/keys.js';
import { formatAgo, formatTime } from '../lib/format.js';

const STATE_HELP = {
  active: 'signs new tokens',
  next: 'published ahead, signs once activated',
  retiring: 'no longer signs; verifies tokens it signed until they expire',
  retired: 'no longer published',
};

function When({ iso }) {
  if (!iso) return '—';
  return <time dateTime={iso} title={formatTime(iso)}>{formatAgo(Date.parse(iso))}</time>;
}

export default function KeysPage() {
  const api = useApi();
  const [state, reload] = useLoad(async () => {
    const [jwks, info] = await Promise.all([api.jwks(), api.signingKeys()]);
    const published = keysFromJwks(jwks);
    return { published, keys: info ? mergeKeys(published, info) : null };
  }, [api]);
  const sessionKid = jwtKid(api.currentToken());
  const mine = (kid) => (kid === sessionKid ? 'signed your current session token' : '');

  return (
    <>
      <h1>Signing keys</h1>
      <p>The RSA keys that sign AgentIdP's tokens. The public halves are published at <a href="/.well-known/jwks.json"><code>/.well-known/jwks.json</code></a> while tokens signed with them can still be valid.</p>
      {state.loading && <Loading>Loading the signing keys…</Loading>}
      <ErrorBox error={state.error} onRetry={reload} title="The signing keys could not be loaded" />
      {state.data && state.data.keys && (state.data.keys.length === 0 ? <Empty>No signing key exists yet: the first token request creates one.</Empty> : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Signing keys, active first</caption>
            <thead>
              <tr><th scope="col">Key id (kid)</th><th scope="col">State</th><th scope="col">Age</th><th scope="col" className="hide-narrow">Activated</th><th scope="col" className="hide-narrow">Retiring / retired</th><th scope="col" className="hide-narrow">Published until</th><th scope="col" className="hide-narrow">Size</th></tr>
            </thead>
            <tbody>
              {state.data.keys.map((k) => (
                <tr key={k.kid}>
                  <td><code className="id">{k.kid}</code>{mine(k.kid) && <div className="hint">{mine(k.kid)}</div>}</td>
                  <td><StatusBadge status={k.status} />{STATE_HELP[k.status] && <div className="hint">{STATE_HELP[k.status]}</div>}</td>
                  <td className="nowrap"><When iso={k.createdAt} /></td>
                  <td className="hide-narrow nowrap"><When iso={k.activatedAt} /></td>
                  <td className="hide-narrow nowrap"><When iso={k.retiredAt || k.retiringAt} /></td>
                  <td className="hide-narrow nowrap">{k.publishUntil ? formatTime(k.publishUntil) : (k.published ? 'while in use' : 'not published')}</td>
                  <td className="hide-narrow nowrap">{k.bits ? `${k.bits} bits` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
      {state.data && !state.data.keys && (
        <>
          {state.data.published.length === 0 ? <Empty>No signing key is published yet: the first token request creates one.</Empty> : (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Published signing keys</caption>
                <thead><tr><th scope="col">Key id (kid)</th><th scope="col">Algorithm</th><th scope="col">Size</th><th scope="col">Use</th><th scope="col">Note</th></tr></thead>
                <tbody>
                  {state.data.published.map((k) => (
                    <tr key={k.kid}><td><code className="id">{k.kid}</code></td><td>{k.alg || k.kty || '—'}</td><td>{k.bits ? `${k.bits} bits` : '—'}</td><td>{k.use || '—'}</td><td>{mine(k.kid)}</td></tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p className="hint">This bridge has no keys route (<code>GET /api/v1/keys</code>), so key states and ages cannot be shown; the list above is the public key set.</p>
        </>
      )}
    </>
  );
}
