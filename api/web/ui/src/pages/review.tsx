// The reviewer page: one decision per screen, the image large, answered from the keyboard.
// y / n / u verify; 1–9 pick a choice; type a label (autocompleted) and Enter; space skips; z takes back
// the last answer (the last 10 stay editable); Skip and Undo are buttons too (a phone has no keys). Skipped
// tasks are offered again when the queue runs dry. The next items are fetched and their images decoded ahead,
// so the next image shows with no wait; a counter shows items per minute. With none waiting, the page asks
// again every POLL_MS while it is visible, and at once when it becomes visible, so new tasks show unasked.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { gql } from "../api";
import { ErrorNote } from "../layout";
import type { PageProps } from "../main";
import { useViewer } from "../viewer";

type Question = { kind: "VERIFY" | "CHOOSE"; label: string | null; choices: string[]; allowText: boolean; prompt: string };
type Item = { id: string; question: Question; image: { url: string; width: number; height: number } | null };
type Answer = { verdict?: "YES" | "NO" | "UNSURE"; choice?: string; text?: string };
type Done = { item: Item; answer: Answer; at: number; saved: Promise<unknown> };

const ITEM = "id question { kind label choices allowText prompt } image { url width height }";
const NEXT = `query Next($n: Int!) { nextReviewTasks(count: $n) { ${ITEM} } }`;
const SUBMIT = `mutation Submit($t: ID!, $a: ReviewAnswerInput!) { submitReview(taskId: $t, answer: $a) { accepted error { code message } } }`;
const UNDO = `mutation Undo($t: ID!) { undoReview(taskId: $t) { item { ${ITEM} } error { code message } } }`;
const VOCAB = `query Vocab { reviewVocabulary }`;
const AHEAD = 8; // items kept fetched and decoded ahead
const EDITABLE = 10;
const POLL_MS = 10_000;

// Timings the benchmark reads: key press → next image decoded and painted (ms).
declare global {
  interface Window {
    __reviewTimings?: number[];
    __reviewPollMs?: number; // tests ask sooner
  }
}

const decoded = new Map<string, Promise<void>>();
function preload(item: Item): Promise<void> {
  const url = item.image?.url;
  if (!url) return Promise.resolve();
  let done = decoded.get(url);
  if (!done) {
    const img = new Image();
    img.src = url;
    done = img.decode().catch(() => undefined);
    decoded.set(url, done);
  }
  return done;
}

// Where Space is the element's own (a focused button presses, a field types): the page does not skip then.
const OWNS_SPACE = new Set(["BUTTON", "A", "SELECT", "TEXTAREA"]);

export function ReviewPage(_: PageProps) {
  const viewer = useViewer();
  if (!viewer) return <p class="loading">Loading…</p>;
  if (!viewer.scopes.includes("REVIEW"))
    return (
      <section class="card" aria-labelledby="review-h">
        <h1 id="review-h">Review</h1>
        <p>
          Reviewing needs a reviewer's key, and this key is not one. An administrator creates one with{" "}
          <code>mediasight reviewer add NAME --tenant {viewer.tenant}</code>; sign out, then sign in with it.
        </p>
      </section>
    );
  return <ReviewQueue />;
}

function ReviewQueue() {
  const [queue, setQueue] = useState<Item[]>([]);
  const [history, setHistory] = useState<Done[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [empty, setEmpty] = useState(false);
  const [text, setText] = useState("");
  const [vocab, setVocab] = useState<string[]>([]);
  const [note, setNote] = useState("");
  const [undoable, setUndoable] = useState(0); // how many of the last answers z can still take back
  const [skipped, setSkipped] = useState<Item[]>([]); // offered again when the queue runs dry
  // The queue, history and undo count as of the last key press: keys can come faster than renders, and each
  // must act on what the one before left (not answer the same item twice, or find nothing to undo).
  const queueRef = useRef<Item[]>([]);
  const historyRef = useRef<Done[]>([]);
  const undoableRef = useRef(0);
  const putQueue = useCallback((q: Item[]) => {
    queueRef.current = q;
    setQueue(q);
  }, []);
  const putHistory = useCallback((h: Done[], undo: number) => {
    historyRef.current = h;
    undoableRef.current = undo;
    setHistory(h);
    setUndoable(undo);
  }, []);
  const seen = useRef(new Set<string>());
  const fetching = useRef(false);
  const pressed = useRef<number | null>(null);
  const imgRef = useRef<HTMLImageElement>(null);
  const current = queue[0] ?? null;

  const refill = useCallback(async () => {
    if (fetching.current) return;
    fetching.current = true;
    try {
      const data = await gql<{ nextReviewTasks: Item[] }>(NEXT, { n: AHEAD + 2 });
      const fresh = data.nextReviewTasks.filter((i) => !seen.current.has(i.id));
      fresh.forEach((i) => {
        seen.current.add(i.id);
        void preload(i);
      });
      putQueue([...queueRef.current, ...fresh]);
      setEmpty(fresh.length === 0);
    } catch (e) {
      setError(e);
    } finally {
      fetching.current = false;
    }
  }, [putQueue]);

  useEffect(() => {
    void refill();
    gql<{ reviewVocabulary: string[] }>(VOCAB).then((d) => setVocab(d.reviewVocabulary), () => undefined);
  }, [refill]);
  useEffect(() => {
    if (queue.length < AHEAD && !empty) void refill();
  }, [queue.length, empty, refill]);
  useEffect(() => {
    if (!empty) return;
    const ask = () => {
      if (document.visibilityState === "visible") void refill();
    };
    const timer = window.setInterval(ask, window.__reviewPollMs ?? POLL_MS);
    document.addEventListener("visibilitychange", ask);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener("visibilitychange", ask);
    };
  }, [empty, refill]);

  // Record when the new current image is on screen (decoded, then painted).
  useEffect(() => {
    const started = pressed.current;
    const img = imgRef.current;
    if (started === null || !img) return;
    pressed.current = null;
    img
      .decode()
      .catch(() => undefined)
      .then(() =>
        requestAnimationFrame(() => {
          (window.__reviewTimings ??= []).push(performance.now() - started);
        }),
      );
  }, [current?.id]);

  const advance = useCallback(() => {
    if (!queueRef.current.length) return;
    pressed.current = performance.now();
    setText("");
    putQueue(queueRef.current.slice(1));
  }, [putQueue]);

  const answer = useCallback(
    (a: Answer) => {
      const item = queueRef.current[0];
      if (!item) return;
      advance();
      const saved = gql<{ submitReview: { accepted: boolean; error: { message: string } | null } }>(SUBMIT, { t: item.id, a }).then(
        (r) => setNote(r.submitReview.error ? `Not saved: ${r.submitReview.error.message}` : ""),
        (e: unknown) => setError(e),
      );
      putHistory([...historyRef.current, { item, answer: a, at: Date.now(), saved }].slice(-200), Math.min(undoableRef.current + 1, EDITABLE));
    },
    [advance, putHistory],
  );

  const skip = useCallback(() => {
    const item = queueRef.current[0];
    if (!item) return;
    advance();
    setSkipped((s) => [...s, item]);
  }, [advance]);

  const showSkipped = () => {
    putQueue([...queueRef.current, ...skipped]);
    setSkipped([]);
  };

  const undo = useCallback(async () => {
    const history = historyRef.current;
    const last = history[history.length - 1];
    if (!last || undoableRef.current === 0) return;
    putHistory(history.slice(0, -1), undoableRef.current - 1);
    try {
      await last.saved; // the answer reaches the server before its undo does
      const r = await gql<{ undoReview: { item: Item | null; error: { message: string } | null } }>(UNDO, { t: last.item.id });
      const item = r.undoReview.item ?? last.item;
      if (r.undoReview.error) setNote(`Could not undo: ${r.undoReview.error.message}`);
      else {
        pressed.current = performance.now();
        putQueue([item, ...queueRef.current]);
        setNote("Undone: answer it again.");
      }
    } catch (e) {
      setError(e);
    }
  }, [putHistory, putQueue]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const target = (event.target as HTMLElement | null)?.tagName ?? "";
      if (target === "INPUT") return; // typing a label
      const k = event.key.toLowerCase();
      if (k === "z") {
        // with nothing left to answer too: the last answer comes back
        event.preventDefault();
        void undo();
        return;
      }
      const current = queueRef.current[0];
      if (!current) return;
      const q = current.question;
      let handled = true;
      if (q.kind === "VERIFY" && k === "y") answer({ verdict: "YES" });
      else if (q.kind === "VERIFY" && k === "n") answer({ verdict: "NO" });
      else if (k === "u") answer({ verdict: "UNSURE" });
      else if (q.kind === "CHOOSE" && /^[1-9]$/.test(k) && Number(k) <= q.choices.length) answer({ choice: q.choices[Number(k) - 1] });
      else if (k === " " && !OWNS_SPACE.has(target)) skip();
      else handled = false;
      if (handled) event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [answer, skip, undo]);

  const now = Date.now();
  const lastMinute = history.filter((d) => now - d.at <= 60_000);
  const span = lastMinute.length > 1 ? Math.max((now - lastMinute[0].at) / 60_000, 1 / 6) : 1;
  const perMinute = Math.round(lastMinute.length / span);

  return (
    <section class="review" aria-live="polite">
      <header class="review-bar">
        <h1>Review</h1>
        <span class="pace" data-testid="pace">
          {perMinute} items/min · {history.length} answered{undoable ? ` · z undoes ${undoable}` : ""}
        </span>
        <span class="hint keys">
          y yes · n no · u unsure · 1–9 choose · space skip · z undo
        </span>
        <span class="buttons">
          <button type="button" class="secondary" disabled={!current} onClick={skip}>
            Skip
          </button>
          <button type="button" class="secondary" disabled={!undoable} onClick={() => void undo()}>
            Undo
          </button>
        </span>
      </header>
      <ErrorNote error={error} />
      {note && <p class="hint">{note}</p>}
      {!current &&
        !error &&
        (!empty ? (
          <p class="loading">Loading…</p>
        ) : skipped.length ? (
          <p class="card">
            {skipped.length} skipped {skipped.length === 1 ? "task remains" : "tasks remain"}.{" "}
            <button type="button" onClick={showSkipped}>
              Show {skipped.length === 1 ? "it" : "them"} again
            </button>
          </p>
        ) : (
          <p class="card">No tasks waiting. New ones show here as they come.</p>
        ))}
      {current && (
        <div class="review-item" data-task={current.id}>
          <h2 class="prompt">{current.question.prompt}</h2>
          <div class="review-image">
            {current.image ? <img ref={imgRef} src={current.image.url} alt="the image to review" /> : <p class="muted">No image</p>}
          </div>
          {current.question.kind === "VERIFY" ? (
            <div class="choices">
              <button type="button" onClick={() => answer({ verdict: "YES" })}>Yes (y)</button>
              <button type="button" onClick={() => answer({ verdict: "NO" })}>No (n)</button>
              <button type="button" class="secondary" onClick={() => answer({ verdict: "UNSURE" })}>Unsure (u)</button>
            </div>
          ) : (
            <div class="choices">
              {current.question.choices.map((c, i) => (
                <button type="button" key={c} onClick={() => answer({ choice: c })}>
                  {i + 1}. {c}
                </button>
              ))}
              {current.question.allowText && (
                <form
                  onSubmit={(e) => {
                    e.preventDefault();
                    if (text.trim()) answer({ text: text.trim() });
                  }}
                >
                  <label>
                    <span class="sr-only">Another label</span>
                    <input list="review-vocab" value={text} placeholder="Type a label, Enter" onInput={(e) => setText((e.target as HTMLInputElement).value)} />
                  </label>
                  <datalist id="review-vocab">
                    {vocab.map((v) => (
                      <option key={v} value={v} />
                    ))}
                  </datalist>
                </form>
              )}
            </div>
          )}
        </div>
      )}
    </section>
  );
}
