// ProSync editor page: token and limits, the job form checked in the browser before any upload, uploads
// with progress, start; a refused start is fixed and started again with the same uploads (the edit
// route); the job panel; the history; #job=<id> reopens a job.
import { Api, ApiError, devToken, upload } from "./api.js";
import { startSignIn } from "./auth.js";
import { chooseApi } from "./config.js";
import { clearProblems, showProblems } from "./errors.js";
import { JobForm } from "./form.js";
import { History } from "./history.js";
import { JobView } from "./job.js";
import { explain } from "./messages.js";
import { Preview } from "./preview.js";
import { check, mib } from "./rules.js";

const $ = (sel) => document.querySelector(sel);
const params = new URLSearchParams(location.search);
const chosenApi = chooseApi();
let auth = null;  // the deployed page's sign-in (auth.js), when an auth-config.json is served beside it
const bearer = () => (auth ? auth.token() : $("#token").value.trim());
const api = new Api(chosenApi.base, bearer);
let limits = null;
let pending = null;  // {jobId, targets, files, uploaded: Set}: a created job still waiting to start
let checked = false;  // after a first submit, the form is re-checked as it changes

const form = new JobForm(() => { updateSubmit(); if (checked) recheck(); });
const job = new JobView(api, { pollMs: Number(params.get("poll") || 1000), onEnd: ended });
const jobsList = new History(api);
const preview = new Preview(form);

async function init() {
  const notice = $("#config-notice");
  notice.textContent = chosenApi.notices.join(" ");
  notice.hidden = chosenApi.notices.length === 0;
  const token = $("#token");
  const dev = await devToken("pro");  // only the local stack answers
  auth = dev ? null : await startSignIn($("#account"), refresh);
  token.value = auth ? "" : params.get("token") || dev || localStorage.getItem("prosync.token") || "";
  forgetTokenInAddress();
  if (dev) {
    $("#dev-tokens").hidden = false;  // one click gives a token of each tier
    for (const b of document.querySelectorAll("#dev-tokens button")) {
      b.addEventListener("click", async () => { token.value = await devToken(b.dataset.tier); refresh(); });
    }
  }
  token.addEventListener("change", refresh);
  $("#job-form").addEventListener("submit", (e) => { e.preventDefault(); run(); });
  window.addEventListener("hashchange", openFromAddress);
  await refresh();
  openFromAddress();
}

function forgetTokenInAddress() {  // a ?token= link: keep the token out of the history and bookmarks
  if (!params.has("token")) return;
  const url = new URL(location.href);
  url.searchParams.delete("token");
  history.replaceState(null, "", url);
}

async function refresh() { await loadLimits(); if (limits) await jobsList.load(); }

async function loadLimits() {
  const out = $("#limits"), tokenError = $("[data-loc=token] .error");
  tokenError.textContent = "";
  if (!bearer()) { out.textContent = "Limits appear once a token is set."; limits = null; return; }
  if (!auth) localStorage.setItem("prosync.token", bearer());  // signed-in tokens stay in sessionStorage
  try {
    limits = await api.limits();
  } catch (err) {
    limits = null;
    out.textContent = "";
    tokenError.textContent = err instanceof ApiError && err.status === 401
      ? "This token is not accepted (missing, expired, or for another API)." : explain(err);
    return;
  }
  const models = $("#model"), chosen = models.value;
  models.replaceChildren(...(limits.models || []).map((m) => Object.assign(document.createElement("option"), { textContent: m })));
  if (chosen) models.value = chosen;
  const allowed = limits.canCreateJobs && limits.limits;
  $("#plan-notice").hidden = !!allowed;
  $("#job-fields").disabled = !allowed;
  if (!allowed) {
    out.textContent = `Tier ${limits.tier}: creating jobs needs the Pro or Enterprise plan.`;
    form.setMaxSegments(0);
    return;
  }
  const x = limits.limits;
  out.textContent = `Tier ${limits.tier}: up to ${x.maxSegments} segments, video ≤ ${mib(x.maxVideoBytes)}, ` +
    `each audio ≤ ${mib(x.maxAudioBytes)}, ≤ ${x.maxSpeechSecondsPerSegment} s of speech per segment, ` +
    `≤ ${x.maxTextRegions} text regions, active jobs ${limits.activeJobs}/${x.maxActiveJobs}.`;
  form.maxTextRegions = x.maxTextRegions;
  preview.text.render();
  form.setMaxSegments(x.maxSegments);
}

// The pending job's uploads serve when the files (and their refIds) are the same ones.
function reusable() {
  if (!pending) return false;
  const now = form.files(), then = pending.files;
  const refs = Object.keys(now.audios);
  return now.video === then.video && refs.length === Object.keys(then.audios).length
    && refs.every((r) => now.audios[r] === then.audios[r]);
}

function updateSubmit() {
  $("#submit").textContent = reusable() ? "Start again with the uploaded files" : "Create job and upload";
}

function problems() {
  const state = { video: form.video, audios: form.audios, segments: form.segments, options: form.options(),
                  textRemoval: form.textRemoval && form.textRemoval.request() };
  return check(state, limits, { newJob: !reusable() });
}

function recheck() { const found = problems(); if (found.length) showProblems(found, form); else clearProblems(); }

async function run() {
  const submit = $("#submit");
  submit.disabled = true;
  checked = true;
  let phase = "check";
  try {
    await form.ready();  // durations and frame rate read from the files
    const found = problems();
    if (found.length) { showProblems(found, form, { focus: true }); return; }  // nothing sent
    clearProblems();
    if (reusable()) {
      phase = "edit";
      job.show(pending.jobId, await api.edit(pending.jobId, form.editRequest()));
    } else {
      phase = "create";
      const created = await api.create(form.createRequest(), crypto.randomUUID());
      pending = { jobId: created.jobId, targets: created.uploads, files: form.files(), uploaded: new Set() };
      job.show(created.jobId, { status: created.status, history: [] });
      location.hash = `job=${created.jobId}`;
      refresh();  // active/awaiting counts, and the new job in the history
    }
    phase = "upload";
    await uploadAll(pending);
    phase = "start";
    job.render(await api.start(pending.jobId));
    pending = null;
    checked = false;
    refresh();
    job.follow();  // the form is free again: another job can be made while this one runs
  } catch (err) {
    refused(err, phase);
  } finally {
    submit.disabled = false;
    updateSubmit();
  }
}

function refused(err, phase) {
  const fields = err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 401;
  if (phase === "edit" && err.status === 409) {  // canceled or expired meanwhile: its uploads are gone
    pending = null;
    showProblems([], form, { fallback: "This job can no longer be changed (it was canceled or expired): "
      + "press “Create job and upload” to start over.", focus: true });
    return;
  }
  showProblems(fields ? err.details : [], form, { fromStart: phase === "start", fallback: explain(err), focus: true });
  if (phase === "start" || phase === "edit") {
    job.error(null);
    $("#job-error").textContent = [422, 413].includes(err.status)
      ? "Not started: fix what is marked in the form and press “Start again”; the files already uploaded are used again."
      : `Not started: ${explain(err)} Starting again uses the files already uploaded.`;
  } else if (phase === "upload") {
    job.error(err);
  }
}

// A job stopped being followed: canceled, ended or still waiting for its uploads.
function ended(s) {
  if (pending && s.jobId === pending.jobId && s.status !== "awaiting_upload") {
    pending = null;  // canceled or expired: its uploads cannot serve any more
    updateSubmit();
  }
  refresh();
}

async function uploadAll(target) {
  const slots = [["video", target.targets.video, target.files.video, `video ${target.files.video.name}`],
    ...Object.entries(target.targets.audios).map(([ref, t]) => [ref, t, target.files.audios[ref], `audio ${ref}`])];
  await Promise.all(slots.filter(([slot]) => !target.uploaded.has(slot)).map(async ([slot, t, file, label]) => {
    await upload(t, file, job.uploadRow(label));
    target.uploaded.add(slot);
  }));
}

function openFromAddress() {
  const id = new URLSearchParams(location.hash.slice(1)).get("job");
  if (!id || id === job.jobId) return;
  job.show(id);
  job.follow();
}

init();
