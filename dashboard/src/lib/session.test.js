import { describe, it, expect } from 'vitest';
import { createSession, renewDelayMs, secondsLeft } from './session.js';

function clock() {
  let t = 1_000_000;
  const timers = [];
  return {
    now: () => t,
    setTimer: (fn, ms) => {
      const h = { fn, at: t + ms, done: false };
      timers.push(h);
      return h;
    },
    clearTimer: (h) => {
      h.done = true;
    },
    async advance(ms) {
      t += ms;
      for (const h of timers) {
        if (!h.done && h.at <= t) {
          h.done = true;
          await h.fn();
        }
      }
    },
  };
}

describe('renewDelayMs', () => {
  it('renews a minute before expiry for long tokens', () => {
    expect(renewDelayMs(3600)).toBe(3540_000);
  });
  it('renews at 80% of the lifetime for short tokens', () => {
    expect(renewDelayMs(10)).toBe(8000);
  });
  it('renews now for nonsense lifetimes', () => {
    expect(renewDelayMs(0)).toBe(0);
    expect(renewDelayMs('x')).toBe(0);
  });
  it('secondsLeft never goes negative', () => {
    expect(secondsLeft(5000, 2500)).toBe(2);
    expect(secondsLeft(5000, 9000)).toBe(0);
  });
});

describe('createSession', () => {
  it('renews ahead of expiry with the secret kept in memory', async () => {
    const c = clock();
    const asked = [];
    let n = 0;
    const events = [];
    const s = createSession({
      ...c,
      fetchToken: async (id, sec) => {
        asked.push([id, sec]);
        n++;
        return { accessToken: `t${n}`, expiresIn: 100, scope: 'admin' };
      },
      onChange: (info, ev) => events.push(ev.type),
    });
    await s.signIn('cid', 'sec', { autoRenew: true });
    expect(s.token()).toBe('t1');
    await c.advance(79_000);
    expect(s.token()).toBe('t1');
    await c.advance(1_000);
    expect(s.token()).toBe('t2');
    expect(asked).toEqual([['cid', 'sec'], ['cid', 'sec']]);
    expect(events).toEqual(['signed_in', 'renewed']);
  });
  it('signs out at expiry when renewal is off', async () => {
    const c = clock();
    const events = [];
    const s = createSession({
      ...c,
      fetchToken: async () => ({ accessToken: 'only', expiresIn: 30, scope: '' }),
      onChange: (info, ev) => events.push([info, ev.type, ev.reason]),
    });
    await s.signIn('cid', 'sec', { autoRenew: false });
    await c.advance(29_999);
    expect(s.token()).toBe('only');
    await c.advance(1);
    expect(s.token()).toBeNull();
    expect(events.at(-1)).toEqual([null, 'signed_out', 'expired']);
  });
  it('never hands out an expired token even if the timer is late', async () => {
    const c = clock();
    const s = createSession({ now: c.now, setTimer: () => 0, clearTimer: () => {}, fetchToken: async () => ({ accessToken: 'x', expiresIn: 5 }) });
    await s.signIn('a', 'b', { autoRenew: false });
    await c.advance(5_000);
    expect(s.token()).toBeNull();
    expect(s.info()).toBeNull();
  });
  it('signs out when renewal fails', async () => {
    const c = clock();
    let first = true;
    const events = [];
    const s = createSession({
      ...c,
      fetchToken: async () => {
        if (first) {
          first = false;
          return { accessToken: 'a', expiresIn: 100 };
        }
        throw new Error('credential revoked');
      },
      onChange: (info, ev) => events.push(ev),
    });
    await s.signIn('a', 'b');
    await c.advance(80_000);
    expect(s.token()).toBeNull();
    expect(events.at(-1).reason).toBe('renew_failed');
    expect(events.at(-1).error.message).toBe('credential revoked');
  });
  it('forgets token and secret on sign-out', async () => {
    const c = clock();
    const asked = [];
    const s = createSession({ ...c, fetchToken: async (...a) => { asked.push(a); return { accessToken: 'a', expiresIn: 100 }; } });
    await s.signIn('a', 'b');
    s.signOut();
    expect(s.token()).toBeNull();
    await s.renew();
    expect(asked).toHaveLength(1);
  });
  it('stays signed out after a failed sign-in', async () => {
    const c = clock();
    const s = createSession({ ...c, fetchToken: async () => { throw new Error('invalid_client'); } });
    await expect(s.signIn('a', 'b')).rejects.toThrow('invalid_client');
    expect(s.info()).toBeNull();
  });
});
