import { useEffect, useState } from "preact/hooks";
import { gql } from "../api";
import { ErrorNote } from "../layout";
import type { PageProps } from "../main";

type Hit = { node: { id: string; filename: string; renditions: { kind: string; url: string }[] } };

export function SearchPage(props: PageProps) {
  const q = props.url.searchParams.get("q") ?? "";
  const [hits, setHits] = useState<Hit[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    gql<{ search: { edges: Hit[] } }>(
      "query ($q: String) { search(query: $q, first: 60) { edges { node { id filename renditions { kind url } } } } }",
      { q: q || null },
    ).then((d) => setHits(d.search.edges), setError);
  }, [q]);
  return (
    <>
      <h1>Search</h1>
      <ErrorNote error={error} />
      <ul class="grid">
        {hits.map((h) => (
          <li key={h.node.id}>
            <a href={`/assets/${h.node.id}`}>{h.node.filename}</a>
          </li>
        ))}
      </ul>
    </>
  );
}
