// The pages talk to the server through the public GraphQL API only, authenticated by the session cookie.
import { CSRF_HEADER, csrfToken } from "./csrf";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export const UNREACHABLE = "UNREACHABLE";

type GraphQLResponse<T> = { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] };

export function signInUrl(): string {
  return `/signin?next=${encodeURIComponent(location.pathname + location.search)}`;
}

async function post<T>(body: BodyInit, headers: Record<string, string>): Promise<T> {
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", [CSRF_HEADER]: csrfToken(), ...headers },
      body,
    });
  } catch {
    // fetch's own "Failed to fetch" says nothing to a reader
    throw new ApiError("The server could not be reached. Check the connection, then retry.", UNREACHABLE);
  }
  if (response.status === 401) {
    location.assign(signInUrl());
    throw new ApiError("signed out", "UNAUTHENTICATED");
  }
  let parsed: GraphQLResponse<T>;
  try {
    parsed = (await response.json()) as GraphQLResponse<T>;
  } catch {
    throw new ApiError(`the server answered ${response.status} ${response.statusText}`);
  }
  if (parsed.errors?.length) {
    const first = parsed.errors[0];
    throw new ApiError(first.message, first.extensions?.code ?? null);
  }
  if (!parsed.data) throw new ApiError(`the server answered ${response.status} with no data`);
  return parsed.data;
}

/** Runs a query or mutation; GraphQL errors become an ApiError carrying the first message and its code. */
export function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  return post<T>(JSON.stringify({ query, variables }), { "Content-Type": "application/json" });
}

/** A mutation with one file (GraphQL multipart request spec): the file goes in `variables.file`. */
export function gqlUpload<T>(query: string, variables: Record<string, unknown>, file: File): Promise<T> {
  const form = new FormData();
  form.append("operations", JSON.stringify({ query, variables: { ...variables, file: null } }));
  form.append("map", JSON.stringify({ "0": ["variables.file"] }));
  form.append("0", file, file.name);
  return post<T>(form, {});
}
