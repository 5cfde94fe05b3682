// Every rule the server applies to a job, at create (prosync.validation.validate_create) and at start
// (validate_media, with the durations the browser reads), run on the page's state before a single byte
// is sent. Messages use the server's wording, with rows numbered as the page shows them (1-based).
// Each problem is {loc: [...wire path], msg}; at most one per field.

import { checkTextRemoval } from "./textregions.js";

export const VIDEO = { label: "MP4, MOV, WebM or AVI", types: { mp4: "video/mp4", mov: "video/quicktime",
  webm: "video/webm", avi: "video/x-msvideo" } };
export const AUDIO = { label: "WAV, MP3, OGG, FLAC, M4A or AAC", types: { wav: "audio/wav", mp3: "audio/mpeg",
  ogg: "audio/ogg", flac: "audio/flac", m4a: "audio/mp4", aac: "audio/aac" } };
export const REF_ID = /^[A-Za-z0-9_-]{1,64}$/;  // no v-flag-sensitive syntax (checked in JS, not `pattern`)
const OUTPUT_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const TOLERANCE = 0.05;  // seconds, as the server (container durations are rounded)
const MiB = 1048576;

export const extensionOf = (name) => (/\.([^./\\]+)$/.exec(name || "") || [, ""])[1].toLowerCase();
export const contentType = (file, kind) => kind.types[extensionOf(file.name)] || file.type || "";
export const mib = (bytes) => `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 1 : 0)} MiB`;
const g = (x) => String(Math.round(x * 1000) / 1000);  // Python's :g for our ranges

// state: {video: {file, duration}, audios: [{key, refId, file, duration}], segments: [{start, end,
// audio (key or null), audioRemoved, cropStart, cropEnd}], options: {temperature, outputName},
// textRemoval: the wire object or null (textregions.js)};
// limits: the answer of GET /sync/limits. Returns the problems, form-level ones with loc [].
export function check(state, limits, { newJob = true } = {}) {
  const found = new Map();  // loc text -> problem: the first problem of a field wins
  const add = (loc, msg) => { const k = loc.join("."); if (!found.has(k)) found.set(k, { loc, msg }); };
  if (!limits) { add([], "set an access token first"); return [...found.values()]; }
  if (!limits.canCreateJobs || !limits.limits) {
    add([], "Lip-sync jobs need the Pro or Enterprise plan; this account is on the free plan");
    return [...found.values()];
  }
  const x = limits.limits;
  if (limits.activeJobs >= x.maxActiveJobs) {
    add([], `${limits.activeJobs} of your jobs are running; your plan allows ${x.maxActiveJobs} at once: ` +
      "wait for one to finish or cancel one");
  }
  if (newJob && limits.awaitingUploadJobs >= x.maxAwaitingUpload) {
    add([], `${limits.awaitingUploadJobs} of your jobs are waiting for their uploads; your plan allows ` +
      `${x.maxAwaitingUpload}: start one, cancel one, or wait until one expires`);
  }
  checkFiles(state, x, add);
  checkSegments(state, x, add);
  checkOptions(state, add);
  checkTextRemoval(state.textRemoval, x, state.video && state.video.duration, add);
  return [...found.values()];
}

function checkFiles(state, x, add) {
  const video = state.video;
  if (!video) add(["video"], "choose a video file");
  else {
    if (!VIDEO.types[extensionOf(video.file.name)]) {
      add(["video", "fileName"], `${video.file.name} is not a video we take: use ${VIDEO.label}`);
    } else if (video.file.size < 1) add(["video", "size"], "the video is empty (0 bytes)");
    else if (video.file.size > x.maxVideoBytes) {
      add(["video", "size"], `video is ${mib(video.file.size)}; your plan allows ${mib(x.maxVideoBytes)}`);
    }
  }
  if (!state.audios.length) add(["audios"], "add at least one audio file");
  const seen = new Set();
  state.audios.forEach((a, i) => {
    if (!REF_ID.test(a.refId)) add(["audios", i, "refId"], "refId must be 1-64 characters of A-Z a-z 0-9 _ -");
    else if (seen.has(a.refId)) add(["audios", i, "refId"], `refId '${a.refId}' is used twice`);
    seen.add(a.refId);
    if (!AUDIO.types[extensionOf(a.file.name)]) {
      add(["audios", i, "fileName"], `${a.file.name} is not an audio file we take: use ${AUDIO.label}`);
    } else if (a.file.size < 1) add(["audios", i, "size"], "the file is empty (0 bytes)");
    else if (a.file.size > x.maxAudioBytes) {
      add(["audios", i, "size"], `audio '${a.refId}' is ${mib(a.file.size)}; your plan allows ${mib(x.maxAudioBytes)}`);
    }
    if (!state.segments.some((s) => s.audio === a.key)) {
      add(["audios", i, "refId"], `audio '${a.refId}' is not used by any segment`);
    }
  });
}

function checkSegments(state, x, add) {
  const segs = state.segments;
  if (!segs.length) add(["segments"], "at least one segment is required");
  if (segs.length > x.maxSegments) {
    add(["segments"], `${segs.length} segments given; your plan allows at most ${x.maxSegments}`);
  }
  const byKey = new Map(state.audios.map((a) => [a.key, a]));
  const video = state.video && state.video.duration;
  segs.forEach((s, i) => {
    const at = (...rest) => ["segments", i, ...rest];
    if (s.start === null) add(at("startTime"), "enter the start (seconds)");
    else if (!Number.isFinite(s.start) || s.start < 0) add(at("startTime"), "startTime must be >= 0");
    if (s.end === null) add(at("endTime"), "enter the end (seconds)");
    else if (s.start !== null && !(s.end > s.start)) add(at("endTime"), "endTime must be greater than startTime");
    else if (video && s.end > video + TOLERANCE) {
      add(at("endTime"), `segment ends at ${g(s.end)} s but the video is ${video.toFixed(2)} s long`);
    }
    const audio = byKey.get(s.audio);
    if (!audio) {
      add(at("audioInput", "refId"), s.audioRemoved ? "its audio was removed: choose another" : "choose an audio");
    }
    const cs = s.cropStart, ce = s.cropEnd;
    if ((cs === null) !== (ce === null)) {
      add(at("audioInput", ce === null ? "endTime" : "startTime"), "an audio crop needs both startTime and endTime");
    } else if (cs !== null) {
      if (cs < 0) add(at("audioInput", "startTime"), "startTime must be >= 0");
      else if (!(ce > cs)) add(at("audioInput", "endTime"), "endTime must be greater than startTime");
      else if (audio && audio.duration && ce > audio.duration + TOLERANCE) {
        add(at("audioInput", "endTime"),
          `crop ends at ${g(ce)} s but audio '${audio.refId}' is ${audio.duration.toFixed(2)} s long`);
      }
    }
    const spoken = cs !== null && ce !== null ? ce - cs : audio && audio.duration;
    if (spoken && spoken > x.maxSpeechSecondsPerSegment) {
      add(at("audioInput"), `${spoken.toFixed(1)} s of audio in one segment; at most ${x.maxSpeechSecondsPerSegment} s`);
    }
  });
  for (const [i, j] of overlaps(segs)) {
    const a = segs[i], b = segs[j];
    add(["segments", j], `${g(b.start)}-${g(b.end)} s overlaps segment ${i + 1} (${g(a.start)}-${g(a.end)} s)`);
  }
}

// Pairs (i, j): segment j starts before the furthest end of those starting earlier (touching is fine).
export function overlaps(segs) {
  const valid = segs.map((s, i) => [s, i]).filter(([s]) => s.start !== null && s.end !== null && s.end > s.start);
  valid.sort(([a], [b]) => a.start - b.start || a.end - b.end);
  const pairs = [];
  let reach = null;
  for (const [s, j] of valid) {
    if (reach && s.start < reach.end) pairs.push([reach.i, j]);
    if (!reach || s.end > reach.end) reach = { end: s.end, i: j };
  }
  return pairs;
}

function checkOptions(state, add) {
  const t = state.options.temperature;
  if (t !== null && !(Number.isFinite(t) && t >= 0 && t <= 1)) {
    add(["options", "temperature"], "temperature must be between 0 and 1");
  }
  const name = state.options.outputName;
  if (name && !OUTPUT_NAME.test(name)) {
    add(["outputFileName"], "outputFileName must be 1-255 characters of A-Z a-z 0-9 _ - (no extension)");
  }
}
