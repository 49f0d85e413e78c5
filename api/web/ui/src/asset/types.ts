// The asset page's data: one query, through the public API.
import type { AssetRef } from "../thumb";
import { THUMB_FIELDS } from "../thumb";

export type Box = { left: number; top: number; width: number; height: number };
// guess: a model's label under 50 (the API's Label.guess), shown as such
export type Label = { name: string; confidence: number; parents: string[]; guess: boolean; instances: { boundingBox: Box; confidence: number }[] };
export type Face = {
  faceIndex: number;
  confidence: number;
  boundingBox: Box;
  person: { id: string; name: string } | null;
  time: number | null; // a video's face: the second it was seen best at (its box is in that frame)
};
export type Text = { text: string; type: "LINE" | "WORD"; confidence: number; boundingBox: Box };
export type Run = {
  id: string;
  analyzer: string;
  provider: string;
  modelName: string;
  modelVersion: string;
  status: string;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number;
  batchId: string | null;
};
// what the file said about itself; strings are "" and lists empty where it said nothing
export type Embedded = {
  title: string;
  caption: string;
  keywords: string[];
  hierarchicalKeywords: string[][]; // root first
  creators: string[];
  credit: string;
  copyright: string;
  usageTerms: string;
  city: string;
  country: string;
  gps: { latitude: number; longitude: number; altitude: number | null } | null;
  persons: string[];
  regions: { name: string; kind: string; source: string; boundingBox: Box }[];
  capturedAt: string | null;
  capturedAsWritten: string; // "1950": a date the file gives only to the year or month
  sources: string[];
  truncated: boolean;
  problem: string;
};
export type Version = AssetRef & { relation: string | null; frameTime: number | null }; // frameTime: a video's keyframe
export type AssetData = AssetRef & {
  mediaType: string;
  width: number;
  height: number;
  sizeBytes: number;
  sha256: string;
  createdAt: string;
  capturedAt: string | null;
  status: string;
  error: string | null;
  relation: string | null;
  originalUrl: string;
  labels: Label[];
  faces: Face[];
  textDetections: Text[];
  moderationLabels: { name: string; confidence: number; parentName: string }[];
  properties: {
    brightness: number;
    sharpness: number;
    contrast: number;
    quality: number;
    dominantColors: { hex: string; pixelPercent: number }[];
  } | null;
  embeddedMetadata: Embedded | null;
  parent: (Version & { children: Version[] }) | null;
  children: Version[];
  root: { id: string };
  similarAssets: { distance: number; asset: AssetRef }[];
  runs: Run[];
  video: {
    duration: number;
    width: number;
    height: number;
    codec: string;
    framesPerSecond: number;
    dropFrame: boolean;
    shots: number;
    audio: { codec: string }[];
  } | null;
  segments: Segment[];
  frameTime: number | null;
  shot: Shot | null; // a video's keyframe: the shot it is from
};
export type Shot = {
  index: number;
  start: number;
  end: number;
  startTimecode: string;
  endTimecode: string;
  labels: { name: string; confidence: number; parents: string[] }[];
  shownLabels: { name: string; confidence: number; parents: string[]; guess: boolean }[]; // labels and sure objects, specific first
  faces: string[];
  text: string; // lines read in the shot, one a line
};
export type Segment = Shot & { frame: { id: string } | null }; // frame: the shot's keyframe asset

const BOX = "boundingBox { left top width height }";
const EMBEDDED = `title caption keywords hierarchicalKeywords creators credit copyright usageTerms city country
    gps { latitude longitude altitude } persons regions { name kind source ${BOX} } capturedAt capturedAsWritten sources truncated problem`;
const VERSION = `${THUMB_FIELDS} relation frameTime`;
const SHOT = "index start end startTimecode endTimecode labels { name confidence parents } shownLabels { name confidence parents guess } faces text";
export const RUN_FIELDS = "id analyzer provider modelName modelVersion status error startedAt finishedAt durationMs batchId";

export const ASSET_QUERY = `query Asset($id: ID!) {
  asset(id: $id) {
    ${THUMB_FIELDS} mediaType width height sizeBytes sha256 createdAt capturedAt status error relation originalUrl
    labels { name confidence parents guess instances { ${BOX} confidence } }
    faces { faceIndex confidence ${BOX} person { id name } time }
    textDetections { text type confidence ${BOX} }
    moderationLabels { name confidence parentName }
    properties { brightness sharpness contrast quality dominantColors { hex pixelPercent } }
    embeddedMetadata { ${EMBEDDED} }
    parent { ${VERSION} children { ${VERSION} } }
    children { ${VERSION} }
    root { id }
    similarAssets(first: 8) { distance asset { ${THUMB_FIELDS} } }
    runs(first: 30) { ${RUN_FIELDS} }
    video { duration width height codec framesPerSecond dropFrame shots audio { codec } }
    segments { ${SHOT} frame { id } }
    frameTime shot { ${SHOT} }
  }
}`;
