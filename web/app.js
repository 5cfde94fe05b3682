// ProSync upload page: token and limits, the job form, uploads with progress, stages, the result.
import { Api, ApiError, devToken, upload } from "./api.js";
import { chooseApi, httpUrl } from "./config.js";
import { el } from "./dom.js";
import { JobForm } from "./form.js";

const $ = (sel) => document.querySelector(sel);
const params = new URLSearchParams(location.search);
const chosenApi = chooseApi();
const api = new Api(chosenApi.base, () => $("#token").value.trim());
const form = new JobForm();
const STAGES = ["awaiting_upload", "queued", "submitting", "processing", "downloading", "completed"];
const POLL_MS = Number(params.get("poll") || 1000);
const MiB = 1048576;

async function init() {
  showNotices(chosenApi.notices);
  const token = $("#token");
  const dev = await devToken("pro");  // only the local stack answers
  token.value = params.get("token") || dev || localStorage.getItem("prosync.token") || "";
  forgetTokenInAddress();
  if (dev) {
    $("#dev-tokens").hidden = false;  // one click gives a token of each tier
    for (const b of document.querySelectorAll("#dev-tokens button")) {
      b.addEventListener("click", async () => { token.value = await devToken(b.dataset.tier); loadLimits(); });
    }
  }
  token.addEventListener("change", loadLimits);
  $("#job-form").addEventListener("submit", (e) => { e.preventDefault(); run(); });
  $("#cancel").addEventListener("click", cancelJob);
  await loadLimits();
}

// A ?token= link put the token in the address: keep it out of the history and of bookmarks.
function forgetTokenInAddress() {
  if (!params.has("token")) return;
  const url = new URL(location.href);
  url.searchParams.delete("token");
  history.replaceState(null, "", url);
}

function showNotices(notices) {
  const out = $("#config-notice");
  out.textContent = notices.join(" ");
  out.hidden = notices.length === 0;
}

async function loadLimits() {
  const out = $("#limits");
  const tokenField = $("[data-loc=token]");
  tokenField.querySelector(".error").textContent = "";
  if (!$("#token").value.trim()) { out.textContent = "Limits appear once a token is set."; return; }
  localStorage.setItem("prosync.token", $("#token").value.trim());
  try {
    const l = await api.limits();
    const models = $("#model");
    const chosen = models.value;
    models.replaceChildren(...(l.models || []).map((m) => el("option", {}, String(m))));
    if (chosen) models.value = chosen;
    if (!l.canCreateJobs || !l.limits) {
      out.textContent = `Tier ${l.tier}: creating jobs needs the Pro or Enterprise plan.`;
      form.setMaxSegments(0);
      return;
    }
    const x = l.limits;
    out.textContent = `Tier ${l.tier}: up to ${x.maxSegments} segments, video ≤ ${(x.maxVideoBytes / MiB).toFixed(0)} MiB, ` +
      `each audio ≤ ${(x.maxAudioBytes / MiB).toFixed(0)} MiB, ≤ ${x.maxSpeechSecondsPerSegment} s of speech per segment, ` +
      `active jobs ${l.activeJobs}/${x.maxActiveJobs}.`;
    form.setMaxSegments(x.maxSegments);
  } catch (err) {
    out.textContent = "";
    tokenField.querySelector(".error").textContent = err instanceof ApiError && err.status === 401
      ? "This token is not accepted (missing, expired, or for another API)." : err.message;
  }
}

function progressRow(label) {
  const bar = el("progress", { max: "100", value: "0" });
  const percent = el("span", { class: "pct" }, "0%");
  $("#uploads").append(el("div", { class: "upload" }, el("span", {}, label), bar, percent));
  return (sent, total) => {
    const pct = total ? Math.round((100 * sent) / total) : 100;
    bar.value = pct;
    percent.textContent = `${pct}%`;
  };
}

function showStatus(s) {
  const at = STAGES.indexOf(s.status);
  const reached = new Set((s.history || []).map((h) => h.toStatus));  // failed/canceled: how far it got
  const stages = STAGES.map((name, i) => {
    const cls = i < at || s.status === "completed" || (at < 0 && reached.has(name)) ? "done"
      : i === at ? "current" : "";
    return el("li", { class: cls, "data-status": name }, name.replace("_", " "));
  });
  if (at < 0) stages.push(el("li", { class: "bad", "data-status": s.status }, s.status));
  $("#stages").replaceChildren(...stages);
  $("#job-progress").value = s.progress ?? 0;
  $("#job-status").textContent = `status: ${s.status} · stage: ${s.stage} · ${s.progress ?? 0}%` +
    (s.syncGenerationId ? ` · generation ${s.syncGenerationId}` : "");
  $("#job").dataset.status = s.status;
}

async function run() {
  const built = form.build();
  if (!built) return;
  const submit = $("#submit");
  submit.disabled = true;
  form.clearErrors();
  $("#job-error").textContent = "";
  try {
    const created = await api.create(built.request, crypto.randomUUID());
    $("#job").hidden = false;
    $("#result").hidden = true;
    $("#uploads").replaceChildren();
    $("#job-id").textContent = created.jobId;
    showStatus({ status: created.status, stage: "upload", progress: 0 });
    const jobs = [upload(created.uploads.video, built.files.video, progressRow(`video ${built.files.video.name}`))];
    for (const [ref, target] of Object.entries(created.uploads.audios)) {
      jobs.push(upload(target, built.files.audios[ref], progressRow(`audio ${ref}`)));
    }
    await Promise.all(jobs);
    await api.start(created.jobId);
    await follow(created.jobId);
  } catch (err) {
    if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 401) {
      form.showErrors(err.details, `${err.code}: ${err.text}`);
    } else {
      $("#form-error").textContent = err.message;
    }
    $("#job-error").textContent = $("#job").hidden ? "" : err.message;
  } finally {
    submit.disabled = false;
  }
}

let followedJobId = null;

async function follow(jobId) {
  const cancel = $("#cancel");
  cancel.hidden = false;
  cancel.disabled = false;
  followedJobId = jobId;
  try { await poll(jobId); } finally { cancel.hidden = true; }
}

async function cancelJob() {
  $("#cancel").disabled = true;
  try { await api.cancel(followedJobId); } catch (err) { $("#job-error").textContent = err.message; }
}

function showResult(url) {  // only an http(s) URL: never a javascript: link
  if (!url) { $("#job-error").textContent = "The job completed but its result URL is missing."; return; }
  $("#result-video").src = url.href;
  $("#result-link").href = url.href;
  $("#result").hidden = false;
}

async function poll(jobId) {
  for (;;) {
    const s = await api.status(jobId);
    showStatus(s);
    if (s.status === "completed") {
      showResult(httpUrl(s.resultUrl || ""));
      return;
    }
    if (["failed", "canceled", "expired"].includes(s.status)) {
      $("#job-error").textContent = s.error ? `${s.error.code}: ${s.error.message}` : `job ${s.status}`;
      return;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

init();
