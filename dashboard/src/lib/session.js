// The signed-in session: the access token lives in this module's closure and
// nowhere else (no localStorage, no sessionStorage, no cookie), so a reload
// or a closed tab signs the admin out. Client-credentials tokens have no
// refresh token; renewing means asking /api/v1/token again, which needs the
// secret. The admin chooses: keep the secret in this tab's memory and renew
// ahead of expiry, or keep only the token and be signed out when it expires.

// When to renew, in ms from now: a minute before expiry, but never later than
// 80% of the lifetime, so short-lived tokens (the TTL can be 5 s) renew too.
export function renewDelayMs(expiresInSeconds) {
  const s = Number(expiresInSeconds);
  if (!Number.isFinite(s) || s <= 0) return 0;
  const margin = Math.min(60, s * 0.2);
  return Math.round((s - margin) * 1000);
}

// Seconds left before expiry (0 once expired), for the header's countdown.
export function secondsLeft(expiresAtMs, nowMs) {
  return Math.max(0, Math.floor((expiresAtMs - nowMs) / 1000));
}

export function createSession({
  fetchToken, // (clientId, clientSecret) => {accessToken, expiresIn, scope}
  now = () => Date.now(),
  setTimer = (fn, ms) => setTimeout(fn, ms),
  clearTimer = (t) => clearTimeout(t),
  onChange = () => {},
}) {
  let state = null; // {clientId, accessToken, scope, expiresAt, autoRenew}
  let secret = null; // only while autoRenew is on
  let timer = null;

  function stopTimer() {
    if (timer !== null) clearTimer(timer);
    timer = null;
  }

  function publish(event) {
    onChange(state ? { clientId: state.clientId, scope: state.scope, expiresAt: state.expiresAt, autoRenew: state.autoRenew } : null, event);
  }

  function signOut(reason = 'signed_out', error = null) {
    stopTimer();
    const was = state !== null;
    state = null;
    secret = null;
    if (was) publish({ type: 'signed_out', reason, error });
  }

  function schedule(expiresIn) {
    stopTimer();
    if (state.autoRenew) {
      timer = setTimer(renew, renewDelayMs(expiresIn));
    } else {
      // Without the secret nothing can renew: end cleanly at expiry instead
      // of letting the next API call fail with a 401.
      timer = setTimer(() => signOut('expired'), Math.max(0, state.expiresAt - now()));
    }
  }

  function accept(clientId, tok, autoRenew) {
    state = {
      clientId,
      accessToken: tok.accessToken,
      scope: tok.scope,
      expiresAt: now() + Math.max(0, tok.expiresIn) * 1000,
      autoRenew,
    };
    schedule(tok.expiresIn);
  }

  async function renew() {
    timer = null;
    if (!state || !secret) return;
    const clientId = state.clientId;
    try {
      const tok = await fetchToken(clientId, secret);
      if (!state || state.clientId !== clientId) return; // signed out meanwhile
      accept(clientId, tok, true);
      publish({ type: 'renewed' });
    } catch (err) {
      // The admin was suspended, the credential revoked or rotated, or the
      // bridge is down: do not keep a token that is about to die.
      signOut('renew_failed', err);
    }
  }

  return {
    async signIn(clientId, clientSecret, { autoRenew = true } = {}) {
      const tok = await fetchToken(clientId, clientSecret);
      secret = autoRenew ? clientSecret : null;
      accept(clientId, tok, autoRenew);
      publish({ type: 'signed_in' });
    },
    signOut,
    renew,
    // The bearer token, or null once it has expired (a timer may be late,
    // for example in a background tab; never send a dead token).
    token() {
      if (!state) return null;
      if (now() >= state.expiresAt) {
        signOut('expired');
        return null;
      }
      return state.accessToken;
    },
    info() {
      return state ? { clientId: state.clientId, scope: state.scope, expiresAt: state.expiresAt, autoRenew: state.autoRenew } : null;
    },
  };
}
