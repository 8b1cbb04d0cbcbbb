// History-based navigation under /dashboard/ without a routing library: the
// app has six pages and needs only push, back/forward and link clicks.
import React, { useEffect, useState } from 'react';
import { href } from './lib/router.js';

const EVENT = 'agentidp:navigate';

// How to find the focused control again after the page re-renders: its
// name attribute, or a button by its text.
function focusFinder(el) {
  if (!el || el === document.body) return null;
  const name = el.getAttribute('name');
  if (name) return () => document.querySelector(`[name="${CSS.escape(name)}"]`);
  if (el.tagName === 'BUTTON') {
    const text = el.textContent;
    return () => [...document.querySelectorAll('button')].find((b) => b.textContent === text);
  }
  return null;
}

// Change the URL. A filter form passes keepFocus: its page is rebuilt from
// the new URL, and a keyboard user must not be thrown back to the top.
export function navigate(path, { replace = false, keepFocus = false } = {}) {
  const url = href(path);
  const find = keepFocus ? focusFinder(document.activeElement) : null;
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(EVENT));
  if (find) requestAnimationFrame(() => find()?.focus());
}

export function currentPath() {
  return `${window.location.pathname}${window.location.search}`;
}

export function useLocation() {
  const read = () => ({ pathname: window.location.pathname, search: window.location.search });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const on = () => setLoc(read());
    window.addEventListener('popstate', on);
    window.addEventListener(EVENT, on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener(EVENT, on);
    };
  }, []);
  return loc;
}

// A real <a href> (so middle-click and "open in new tab" work) that navigates
// in place on a plain left click.
export function Link({ to, children, ...rest }) {
  return (
    <a
      href={href(to)}
      onClick={(e) => {
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
      {...rest}
    >
      {children}
    </a>
  );
}
