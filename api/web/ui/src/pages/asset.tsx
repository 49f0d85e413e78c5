import type { PageProps } from "../main";

export function AssetPage(props: PageProps) {
  return <h1>Asset {props.params.id}</h1>;
}
