// Starts GraphiQL from the files served under /static/graphiql (React UMD builds and graphiql's own bundle),
// so the IDE works with no internet. Requests carry the session cookie and its CSRF header; a key typed into
// the headers editor is kept in memory only (never in localStorage).
import { CSRF_HEADER, csrfToken } from "./csrf";
import { forgetStoredState } from "./storage";

type Element = unknown;
declare const React: {
  createElement(type: unknown, props: Record<string, unknown> | null): Element;
  useState<T>(initial: T): [T, (next: T) => void];
};
declare const ReactDOM: { createRoot(el: HTMLElement): { render(el: Element): void } };
declare const GraphiQL: ((props: Record<string, unknown>) => Element) & {
  createFetcher(options: { url: string; headers: Record<string, string> }): unknown;
};
declare const GraphiQLPluginExplorer: { explorerPlugin(): unknown };

const EXAMPLE = `# Mediasight's GraphQL API. Signed in on this server's pages, you are signed in here too;
# otherwise add {"Authorization": "Bearer <your key>"} in Headers below.
# Run: Ctrl-Enter. Complete: Ctrl-Space. Docs: the book icon on the left.
{
  viewer { tenant scopes }
  search(query: "animal", first: 5) {
    totalCount
    edges {
      score matches { label via } textMatch meaning  # why it scored: a label, the words, its meaning
      node { id filename topLabels(first: 3) { name confidence guess } }
    }
  }
}
`;

// GraphiQL keeps its tabs and query history, headers included, in the storage it is given: a key typed into
// the headers editor would reach localStorage through the history even with shouldPersistHeaders false. It
// gets storage in memory (a shared query lives in the URL's ?q=), and what an older page stored is removed.
class MemoryStorage {
  private items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  clear(): void {
    this.items.clear();
  }
}
forgetStoredState();

const params = new URLSearchParams(location.search);
const url = location.origin + location.pathname;
const fetcher = GraphiQL.createFetcher({ url, headers: { [CSRF_HEADER]: csrfToken() } });

function App(): Element {
  const [query, setQuery] = React.useState(params.get("q") ?? EXAMPLE);
  return React.createElement(GraphiQL, {
    fetcher,
    storage: new MemoryStorage(),
    query,
    onEditQuery: (next: string) => {
      setQuery(next);
      const shared = new URLSearchParams(location.search);
      shared.set("q", next);
      history.replaceState(null, "", `?${shared}`);
    },
    plugins: [GraphiQLPluginExplorer.explorerPlugin()],
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    inputValueDeprecation: true,
  });
}

const root = document.getElementById("graphiql");
if (root) ReactDOM.createRoot(root).render(React.createElement(App, null));
