// Who is signed in: the key's tenant and scopes, from the public `viewer` field. Pages show write actions
// only when `canWrite` (the server refuses them anyway).
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { gql } from "./api";

export type Viewer = { tenant: string; tenantId: string; scopes: string[] };

export const ViewerContext = createContext<Viewer | null>(null);

/** The signed-in key, or null for the moment it is being asked (pages render meanwhile). */
export function useViewer(): Viewer | null {
  return useContext(ViewerContext);
}

export const canWrite = (v: Viewer | null): boolean => v?.scopes.includes("WRITE") ?? false;

export async function loadViewer(): Promise<Viewer> {
  const data = await gql<{ viewer: Viewer }>("{ viewer { tenant tenantId scopes } }");
  return data.viewer;
}
