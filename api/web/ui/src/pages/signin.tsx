// Sign-in: the key goes in a form POSTed to /session, which answers with an HttpOnly session cookie. The key
// is never kept by the page (no localStorage, no URL).
const MESSAGES: Record<string, string> = {
  invalid: "That key is not valid (or it was revoked). Check it, or create one with `mediasight tenant create NAME`.",
  missing: "Paste your API key to sign in.",
  expired: "Your session ended. Sign in again.",
  origin: "The sign-in form must be sent from this server's own page. Reload it and try again.",
};

export function SignIn(props: { url: URL }) {
  const error = props.url.searchParams.get("error");
  const next = props.url.searchParams.get("next") ?? "/";
  return (
    <main id="main" class="signin">
      <h1>Mediasight</h1>
      <form method="post" action="/session" class="card">
        <label for="key">API key</label>
        <input
          id="key"
          name="key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          autoFocus
          placeholder="msk_…"
          aria-describedby={error ? "signin-error" : "signin-help"}
        />
        <input type="hidden" name="next" value={next} />
        <button type="submit">Sign in</button>
        {error ? (
          <p id="signin-error" class="error" role="alert">
            {MESSAGES[error] ?? MESSAGES.invalid}
          </p>
        ) : (
          <p id="signin-help" class="hint">
            The key is kept only in a session cookie this browser cannot read from scripts; sign out to end it.
          </p>
        )}
      </form>
    </main>
  );
}
