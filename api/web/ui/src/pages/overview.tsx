import type { PageProps } from "../main";

export function OverviewPage(_: PageProps) {
  return <h1>Overview</h1>;
}
