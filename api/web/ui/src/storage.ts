// The pages keep nothing in the browser's storage; GraphiQL once did (its history, headers included).
export function forgetStoredState(): void {
  try {
    localStorage.clear();
    sessionStorage.clear();
  } catch {
    // storage disabled by the browser: nothing was kept either
  }
}
