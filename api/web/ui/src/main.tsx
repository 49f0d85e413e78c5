// The pages' entry: a route table (add a page here and in api/web/pages.py's PAGES), the signed-in frame.
import type { ComponentType } from "preact";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import { Layout, LoadFailed, NotFound } from "./layout";
import { AssetPage } from "./pages/asset";
import { ConceptPage, ConceptsPage } from "./pages/concepts";
import { OverviewPage } from "./pages/overview";
import { ReviewPage } from "./pages/review";
import { SearchPage } from "./pages/search";
import { SignIn } from "./pages/signin";
import { match, navigate, onLinkClick, pageTitle, useLocation } from "./router";
import { loadViewer, type Viewer, ViewerContext } from "./viewer";
import "./style.css";

export type PageProps = { url: URL; params: Record<string, string> };

const ROUTES: { pattern: string; title: string; page: ComponentType<PageProps> }[] = [
  { pattern: "/", title: "Search", page: SearchPage },
  { pattern: "/assets/:id", title: "Asset", page: AssetPage },
  { pattern: "/overview", title: "Overview", page: OverviewPage },
  { pattern: "/concepts", title: "Concepts", page: ConceptsPage },
  { pattern: "/concepts/:name", title: "Concept", page: ConceptPage },
  { pattern: "/review", title: "Review", page: ReviewPage },
];

function App() {
  const url = useLocation();
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0); // a retry remounts the page, which asks again too
  const signingIn = url.pathname === "/signin";

  // Asked alongside the page's own query (not before it): the page renders at once, its write actions
  // appear when the key's scopes are known.
  useEffect(() => {
    if (!signingIn && !viewer && !error) loadViewer().then(setViewer, (e: unknown) => setError(e));
  }, [signingIn, viewer, error]);
  // A reviewer's key reads nothing but its queue: its home is /review.
  const reviewerOnly = viewer && !viewer.scopes.includes("READ") && viewer.scopes.includes("REVIEW");
  useEffect(() => {
    if (reviewerOnly && url.pathname === "/") navigate("/review", true);
  }, [reviewerOnly, url.pathname]);

  const route = ROUTES.map((r) => ({ r, params: match(r.pattern, url.pathname) })).find((m) => m.params);
  // Set once per address: a page may then name itself better (an asset by its filename: pageTitle).
  const title = signingIn ? "Sign in" : (route?.r.title ?? "Not found");
  useEffect(() => pageTitle(title), [url.pathname, title]);
  if (signingIn) return <SignIn url={url} />;
  const failed = error && !(error instanceof ApiError && error.code === "UNAUTHENTICATED");
  const retry = () => {
    setError(null);
    setAttempt(attempt + 1);
  };
  return (
    <ViewerContext.Provider value={viewer}>
      <Layout viewer={viewer} path={url.pathname}>
        {/* keyed by path: another asset's page starts afresh (no note, form or error carried over) */}
        {failed ? (
          <LoadFailed error={error} retry={retry} />
        ) : route ? (
          <route.r.page key={`${attempt}:${url.pathname}`} url={url} params={route.params ?? {}} />
        ) : (
          <NotFound />
        )}
      </Layout>
    </ViewerContext.Provider>
  );
}

document.addEventListener("click", onLinkClick);
const root = document.getElementById("app");
if (root) render(<App />, root);
