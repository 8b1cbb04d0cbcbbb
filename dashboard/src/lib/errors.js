// Errors from the AgentIdP API, and the sentences the dashboard shows for them.
// The bridge answers every failure with {error, error_description, detail?,
// hint?}; people need words, not codes, so each status gets a plain lead-in
// and the server's own description follows it.

export class ApiError extends Error {
  constructor({ status, code, description, detail, hint, retryAfter, path }) {
    super(description || code || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || null;
    this.description = description || null;
    this.detail = detail || null;
    this.hint = hint || null;
    this.retryAfter = retryAfter ?? null;
    this.path = path || null;
  }
}

// Raised when fetch itself fails (server down, connection refused, CORS).
export class NetworkError extends Error {
  constructor(cause, path) {
    super('network error');
    this.name = 'NetworkError';
    this.cause = cause;
    this.path = path || null;
  }
}

// Build an ApiError from a non-2xx response whose body may or may not be the
// documented JSON error object (a proxy in front of the bridge may answer HTML).
export function apiErrorFrom(status, bodyText, headers, path) {
  let body = null;
  try {
    body = bodyText ? JSON.parse(bodyText) : null;
  } catch {
    body = null;
  }
  const retry = headers && typeof headers.get === 'function' ? headers.get('Retry-After') : null;
  const retryAfter = retry !== null && retry !== '' && Number.isFinite(Number(retry)) ? Number(retry) : null;
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    return new ApiError({
      status,
      code: typeof body.error === 'string' ? body.error : null,
      description: typeof body.error_description === 'string' ? body.error_description : null,
      detail: typeof body.detail === 'string' ? body.detail : null,
      hint: typeof body.hint === 'string' ? body.hint : null,
      retryAfter,
      path,
    });
  }
  return new ApiError({ status, code: null, description: null, retryAfter, path });
}

const LEADS = {
  400: 'The server rejected the request as invalid',
  401: 'You are not signed in, or your session is no longer valid',
  403: 'Your admin token does not have the permission needed for this action',
  404: 'Not found',
  409: 'This conflicts with the current state',
  413: 'The request is too large',
  415: 'The request had the wrong content type',
  429: 'Too many requests',
  500: 'The server failed while handling the request',
  502: 'The server is unreachable behind its proxy',
  503: 'The service is unavailable',
};

// OAuth error codes of the token endpoint, said in words (RFC 6749 §5.2).
const OAUTH = {
  invalid_client: 'The client id or secret is wrong, or the client is unknown',
  unauthorized_client: 'This client may not get tokens (its agent is suspended or decommissioned, or the credential is revoked or expired)',
  invalid_scope: 'The requested scope is not allowed for this agent',
  invalid_request: 'The sign-in request was malformed',
  unsupported_grant_type: 'The server does not accept this grant type',
  quota_exceeded: 'The monthly token quota is used up',
  rate_limited: 'Too many requests',
};

function sentence(s) {
  const t = String(s).trim();
  if (!t) return '';
  const first = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

// Server texts that are PostgreSQL's own wording, said for people instead.
const REWORDED = [
  [/Key \(name\)=\((.*)\) already exists/, (m) => `an agent named "${m[1]}" already exists; names are unique among agents that are not decommissioned`],
];

function reword(text) {
  for (const [re, fn] of REWORDED) {
    const m = re.exec(text);
    if (m) return fn(m);
  }
  return text;
}

// One readable paragraph for any error the API layer can throw.
export function describeError(err) {
  if (!err) return '';
  if (err instanceof NetworkError || err?.name === 'NetworkError') {
    return 'Could not reach the AgentIdP server. Check that the bridge is running and that this page is served by it, then try again.';
  }
  if (err instanceof ApiError || err?.name === 'ApiError') {
    const lead = (err.code && OAUTH[err.code]) || LEADS[err.status] ||
      (err.status >= 500 ? 'The server failed' : `The request failed (HTTP ${err.status})`);
    const parts = [sentence(lead)];
    const said = [err.description, err.detail].filter(Boolean).join(' ');
    const plain = reword(said);
    if (plain !== said) {
      parts.push(sentence(plain));
    } else {
      if (err.description && err.description.toLowerCase() !== lead.toLowerCase()) {
        parts.push(`Server said: ${sentence(err.description)}`);
      }
      if (err.detail) parts.push(sentence(err.detail));
    }
    if (err.hint) parts.push(`Hint: ${sentence(err.hint)}`);
    if (err.status === 429 && err.retryAfter !== null) {
      parts.push(`Try again in ${err.retryAfter} second${err.retryAfter === 1 ? '' : 's'}.`);
    }
    return parts.join(' ');
  }
  return sentence(err.message || String(err));
}
