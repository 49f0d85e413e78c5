// The frame around every signed-in page: navigation, who is signed in, sign-out.
import type { ComponentChildren } from "preact";
import { CSRF_HEADER, csrfToken } from "./csrf";
import { forgetStoredState } from "./storage";
import type { Viewer } from "./viewer";

async function signOut(): Promise<void> {
  await fetch("/session/end", { method: "POST", credentials: "same-origin", headers: { [CSRF_HEADER]: csrfToken() } });
  forgetStoredState();
  location.assign("/signin");
}

export function Layout(props: { viewer: Viewer | null; path: string; children: ComponentChildren }) {
  const { viewer, path } = props;
  const current = (href: string) => (href === path ? "page" : undefined);
  const reviewer = viewer?.scopes.includes("REVIEW") ?? false;
  const reader = viewer?.scopes.includes("READ") ?? true;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <nav aria-label="Main">
          <a class="brand" href={reader ? "/" : "/review"} aria-current={reader ? current("/") : undefined}>
            Mediasight
          </a>
          {reader && (
            <a href="/overview" aria-current={current("/overview")}>
              Overview
            </a>
          )}
          {reviewer && (
            <a href="/review" aria-current={current("/review")}>
              Review
            </a>
          )}
          {reader && (
            <a href="/concepts" aria-current={current("/concepts")}>
              Concepts
            </a>
          )}
          <a href="/graphql" data-reload="1">
            GraphQL
          </a>
        </nav>
        <div class="who">
          {viewer && (
            <span title={`scopes: ${viewer.scopes.join(", ").toLowerCase()}`}>
              {viewer.tenant}
              {viewer.scopes.includes("WRITE") ? "" : reviewer && !reader ? " (reviewer)" : " (read-only)"}
            </span>
          )}
          <button type="button" class="link" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </>
  );
}

export function ErrorNote(props: { error: unknown }) {
  if (!props.error) return null;
  const message = props.error instanceof Error ? props.error.message : String(props.error);
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

export function NotFound() {
  return (
    <section class="card">
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <a href="/">Search the archive</a>
      </p>
    </section>
  );
}

/** The first request failed (the server unreachable, or erring): say so in the frame, with a way to retry. */
export function LoadFailed(props: { error: unknown; retry: () => void }) {
  return (
    <section class="card" aria-labelledby="load-failed-h">
      <h1 id="load-failed-h">The page could not be loaded</h1>
      <ErrorNote error={props.error} />
      <button type="button" onClick={props.retry}>
        Retry
      </button>
    </section>
  );
}
