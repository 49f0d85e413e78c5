// Who is signed in: the key's tenant and scopes, from the public `viewer` field. Pages show write actions
// only when `canWrite` (the server refuses them anyway).
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { gql } from "./api";

export type Viewer = { tenant: string; tenantId: string; scopes: string[] };

export const ViewerContext = createContext<Viewer | null>(null);

export function useViewer(): Viewer {
  const viewer = useContext(ViewerContext);
  if (!viewer) throw new Error("useViewer outside a signed-in page");
  return viewer;
}

export const canWrite = (v: Viewer): boolean => v.scopes.includes("WRITE");

export async function loadViewer(): Promise<Viewer> {
  const data = await gql<{ viewer: Viewer }>("{ viewer { tenant tenantId scopes } }");
  return data.viewer;
}
