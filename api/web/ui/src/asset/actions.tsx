// What a write key may do to an asset: name a face, add a version, reprocess, delete (a video's keyframe:
// reprocess its video). Each answers with the API's own message on failure; the page reloads its data after
// a change.
import { useState } from "preact/hooks";
import { gql, gqlUpload } from "../api";
import { ErrorNote } from "../layout";
import { navigate } from "../router";
import type { AssetData, Face } from "./types";

type Problem = { code: string; message: string } | null;

function problem(p: Problem): void {
  if (p) throw new Error(p.message);
}

/** Runs one action at a time, keeping its error to show. */
function useAction(): { busy: boolean; error: unknown; run: (action: () => Promise<void>) => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

export function NameFace(props: { assetId: string; face: Face; done: () => void }) {
  const [name, setName] = useState(props.face.person?.name ?? "");
  const [note, setNote] = useState("");
  const { busy, error, run } = useAction();
  const id = `face-name-${props.face.faceIndex}`;
  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const d = await gql<{ nameFace: { facesNamed: number; error: Problem } }>(
        `mutation ($assetId: ID!, $faceIndex: Int!, $name: String!) {
          nameFace(assetId: $assetId, faceIndex: $faceIndex, name: $name) { facesNamed error { code message } }
        }`,
        { assetId: props.assetId, faceIndex: props.face.faceIndex, name: name.trim() },
      );
      problem(d.nameFace.error);
      const others = d.nameFace.facesNamed - 1;
      setNote(`Named${others > 0 ? `, with ${others} matching face${others > 1 ? "s" : ""} elsewhere` : ""}; searches find it in a moment.`);
      props.done();
    });
  };
  return (
    <form class="inline" onSubmit={submit}>
      <label for={id}>Name face {props.face.faceIndex + 1}</label>
      <input id={id} value={name} required maxLength={200} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      <button type="submit" disabled={busy || !name.trim()}>
        Save name
      </button>
      {note && (
        <span class="hint" role="status">
          {note}
        </span>
      )}
      <ErrorNote error={error} />
    </form>
  );
}

const RELATIONS = ["CROP", "EDIT", "RESIZE", "FORMAT", "FRAME", "OTHER"];

function AddVersion(props: { asset: AssetData; done: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [relation, setRelation] = useState("EDIT");
  const [duplicate, setDuplicate] = useState<{ id: string; filename: string } | null>(null);
  const { busy, error, run } = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    if (!file) return;
    setDuplicate(null);
    void run(async () => {
      const d = await gqlUpload<{
        ingestAsset: { asset: { id: string; filename: string } | null; duplicate: boolean; error: Problem };
      }>(
        `mutation ($file: Upload!, $parentId: ID, $relation: VersionRelation!) {
          ingestAsset(file: $file, parentId: $parentId, relation: $relation) { asset { id filename } duplicate error { code message } }
        }`,
        { parentId: props.asset.id, relation },
        file,
      );
      problem(d.ingestAsset.error);
      const asset = d.ingestAsset.asset;
      // the archive had these bytes already: nothing new was stored, so there is no new page to go to
      if (d.ingestAsset.duplicate && asset) setDuplicate(asset);
      else if (asset) navigate(`/assets/${asset.id}`);
      else props.done();
    });
  };
  return (
    <form class="inline" onSubmit={submit}>
      <label for="version-file">New version</label>
      <input id="version-file" type="file" accept="image/*" required onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
      <label for="version-relation" class="sr-only">
        How it derives
      </label>
      <select id="version-relation" value={relation} onChange={(e) => setRelation((e.target as HTMLSelectElement).value)}>
        {RELATIONS.map((r) => (
          <option key={r} value={r}>
            {r.toLowerCase()}
          </option>
        ))}
      </select>
      <button type="submit" disabled={busy || !file}>
        Upload version
      </button>
      {duplicate && (
        <p class="hint" role="status">
          {duplicate.id === props.asset.id ? (
            "This file is already in the archive: it is this asset."
          ) : (
            <>
              This file is already in the archive as <a href={`/assets/${duplicate.id}`}>{duplicate.filename}</a>; nothing was added.
            </>
          )}
        </p>
      )}
      <ErrorNote error={error} />
    </form>
  );
}

/** Reprocesses one asset with the tenant's analyzers; what to tell the user. */
async function reprocess(id: string): Promise<string> {
  const d = await gql<{ reprocess: { batch: { id: string; status: string } | null; error: Problem } }>(
    `mutation ($ids: [ID!]) { reprocess(assetIds: $ids) { batch { id status } error { code message } } }`,
    { ids: [id] },
  );
  problem(d.reprocess.error);
  return `Reprocessing queued (batch ${d.reprocess.batch?.id}, ${d.reprocess.batch?.status.toLowerCase()}); see the overview.`;
}

export function Actions(props: { asset: AssetData; done: () => void }) {
  const { asset } = props;
  // A video's keyframe is made by the video's analysis (and replaced by the next one): what can be done to
  // it is done to the video.
  const video = asset.shot && asset.parent;
  const [note, setNote] = useState("");
  const { busy, error, run } = useAction();
  const remove = () =>
    run(async () => {
      if (!confirm(`Delete ${asset.filename} from the archive? Its original, renditions and metadata go too.`)) return;
      const d = await gql<{ deleteAsset: { deletedIds: string[]; error: Problem } }>(
        `mutation ($id: ID!) { deleteAsset(id: $id) { deletedIds error { code message } } }`,
        { id: asset.id },
      );
      problem(d.deleteAsset.error);
      navigate("/", true);
    });
  return (
    <section class="card actions" aria-labelledby="actions-h">
      <h2 id="actions-h">Actions</h2>
      {video ? (
        <p class="hint">
          This keyframe is made by the analysis of <a href={`/assets/${video.id}`}>{video.filename}</a>: new versions,
          reprocessing and deleting apply to the video.
        </p>
      ) : (
        <AddVersion asset={asset} done={props.done} />
      )}
      <div class="buttons">
        <button type="button" class="secondary" disabled={busy} onClick={() => void run(async () => setNote(await reprocess((video ?? asset).id)))}>
          {video ? "Reprocess the video" : "Reprocess"}
        </button>
        {!video && (
          <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
            Delete
          </button>
        )}
      </div>
      {note && (
        <p class="hint" role="status">
          {note}
        </p>
      )}
      <ErrorNote error={error} />
    </section>
  );
}
