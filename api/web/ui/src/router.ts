// A small client-side router: pages are matched by path pattern; links navigate without a page load.
import { useEffect, useState } from "preact/hooks";

const CHANGE = "mediasight:navigate";

/** What a page keeps in its history entry (restored on Back): e.g. how far the user scrolled. */
export type Remembered = Record<string, unknown>;

export function remembered(): Remembered {
  const state: unknown = history.state;
  return state && typeof state === "object" ? (state as Remembered) : {};
}

/** Adds to what the current history entry remembers, without a new entry. */
export function remember(patch: Remembered): void {
  history.replaceState({ ...remembered(), ...patch }, "", location.href);
}

/** Goes to `to`; another page starts at its top, the entry left keeps its scroll offset for Back. */
export function navigate(to: string, replace = false, state: Remembered | null = null): void {
  const target = new URL(to, location.href);
  const anotherPage = target.pathname !== location.pathname && !target.hash;
  if (replace) history.replaceState(state, "", to);
  else {
    remember({ scrollY: window.scrollY });
    history.pushState(state, "", to);
  }
  window.dispatchEvent(new Event(CHANGE));
  if (!replace && anotherPage) window.scrollTo(0, 0);
}

/** The current location (path + query), re-rendering on navigation and back/forward. */
export function useLocation(): URL {
  const [url, setUrl] = useState(() => new URL(location.href));
  useEffect(() => {
    const update = () => setUrl(new URL(location.href));
    window.addEventListener("popstate", update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return url;
}

function decodeOr(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

/** `pattern` like "/assets/:id": the named parts when `path` matches, else null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) {
      const part = decodeOr(got[i]);
      if (part === null) return null; // a malformed escape (%E0%A4%A) names nothing: not found
      params[want[i].slice(1)] = part;
    } else if (want[i] !== got[i]) return null;
  }
  return params;
}

/** Same-origin link clicks (no modifier keys) navigate in place. */
export function onLinkClick(event: MouseEvent): void {
  const a = (event.target as HTMLElement | null)?.closest("a");
  if (!a || a.target || a.hasAttribute("download") || a.origin !== location.origin) return;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (a.pathname.startsWith("/graphql") || a.pathname.startsWith("/static") || a.dataset.reload) return;
  // A link to a spot on this page ("Skip to content"): the browser scrolls and moves focus there itself.
  if (a.hash && a.pathname === location.pathname && a.search === location.search) return;
  event.preventDefault();
  navigate(a.pathname + a.search + a.hash);
}

/** The browser tab's title: "<what> · Mediasight" (bookmarks and tabs tell pages apart by it). */
export function pageTitle(what: string): void {
  document.title = `${what} · Mediasight`;
}
