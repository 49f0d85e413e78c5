// The session's CSRF token: a readable cookie, echoed in a header on every POST the pages send. Another site
// can neither read the cookie nor set the header, so a forged request fails even when the browser would
// send the session cookie.
export const CSRF_COOKIE = "mediasight_csrf";
export const CSRF_HEADER = "X-CSRF-Token";

export function csrfToken(): string {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return "";
}
