// Signing keys as the public JWKS shows them. The JWKS has no dates, so the
// ages come from a keys route when the bridge offers one (see the report in
// the dashboard README section); until then the page shows what JWKS says.

function base64urlByteLength(s) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) return null;
  const pad = s.length % 4;
  if (pad === 1) return null;
  return Math.floor(s.length / 4) * 3 + (pad === 0 ? 0 : pad - 1);
}

// RSA modulus size in bits from the JWK's "n" (leading zero bytes aside).
export function rsaBits(n) {
  const len = base64urlByteLength(n);
  if (!len) return null;
  return len * 8;
}

export function keysFromJwks(jwks) {
  const keys = Array.isArray(jwks?.keys) ? jwks.keys : [];
  return keys.map((k) => ({
    kid: k.kid ?? '(no kid)',
    kty: k.kty ?? null,
    alg: k.alg ?? null,
    use: k.use ?? null,
    bits: k.kty === 'RSA' ? rsaBits(k.n) : null,
  }));
}

// The kid in a compact JWS header, or null. Used to mark the key that signed
// the admin's own token (the active key when the token was issued); the
// token is not verified here, the bridge already did that.
export function jwtKid(token) {
  if (typeof token !== 'string') return null;
  const head = token.split('.')[0];
  if (!head || !/^[A-Za-z0-9_-]+$/.test(head)) return null;
  try {
    const b64 = head.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
    return typeof json.kid === 'string' ? json.kid : null;
  } catch {
    return null;
  }
}

const STATE_ORDER = { active: 0, next: 1, retiring: 2, retired: 3 };

// The keys route's rows (signing_keys_info(): kid, status, createdAt,
// activatedAt, retiringAt, retiredAt, publishUntil) joined with what the
// JWKS publishes (size, algorithm), active first, then newest first.
export function mergeKeys(jwksKeys, infoRows) {
  const pub = new Map(jwksKeys.map((k) => [k.kid, k]));
  const rows = infoRows.map((r) => {
    const j = pub.get(r.kid);
    return {
      kid: r.kid,
      status: r.status || 'unknown',
      createdAt: r.createdAt || null,
      activatedAt: r.activatedAt || null,
      retiringAt: r.retiringAt || null,
      retiredAt: r.retiredAt || null,
      publishUntil: r.publishUntil || null,
      published: Boolean(j),
      alg: j?.alg ?? null,
      bits: j?.bits ?? null,
    };
  });
  // A published key the database does not list would be a bug worth seeing.
  for (const j of jwksKeys) {
    if (!infoRows.some((r) => r.kid === j.kid)) {
      rows.push({ kid: j.kid, status: 'unknown', createdAt: null, activatedAt: null, retiringAt: null, retiredAt: null, publishUntil: null, published: true, alg: j.alg, bits: j.bits });
    }
  }
  const t = (s) => (s ? Date.parse(s) : 0);
  return rows.sort((a, b) => (STATE_ORDER[a.status] ?? 9) - (STATE_ORDER[b.status] ?? 9) || t(b.createdAt) - t(a.createdAt));
}
