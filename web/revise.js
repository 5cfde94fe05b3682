// Edit and re-sync a completed job (issue 17): its segments (from its status answer) in a "revision of
// <job>" editor, where a segment's range, audio or crop changes, new audio files are added, or a segment
// is removed; "Re-sync changed segments" sends POST /revise (only the new audio files go up, by their
// presigned POSTs: the parent's stay as uploaded), starts the revision and opens it in the job panel
// (#job=<id>, followed like any job). The saving (Sync.so's seconds against a full re-run) is shown.
// Built with el() only (the page's CSP: no HTML from data, no inline script or style).
import { upload } from "./api.js";
import { el } from "./dom.js";
import { explain } from "./messages.js";
import { AUDIO, contentType } from "./rules.js";

const $ = (sel) => document.querySelector(sel);
const num = (input) => (input.value.trim() === "" ? null : Number(input.value));

export class Revise {
  // api: the page's Api; onStarted(): the history reloads (the revision appears with its parent link)
  constructor(api, onStarted = () => {}) {
    Object.assign(this, { api, onStarted, parent: null, rows: [], audios: [] });
  }

  // A completed job without text removal can be revised (the API refuses the others with 409).
  static allowed(job) { return job.status === "completed" && !job.textRemoval; }

  section() {
    let section = $("#revise");
    if (section) return section;
    section = el("section", { id: "revise", "aria-labelledby": "revise-title", hidden: "" },
      el("h2", { id: "revise-title" }),
      el("p", { class: "muted" }, "Change a segment's range, audio or crop, add audio files or remove a segment: "
        + "only the changed segments are sent to Sync.so and spliced into the finished video. "
        + "The audio files already uploaded are used again."),
      el("table", { id: "revise-segments" }, el("thead", {}, el("tr", {},
        ...["", "start (s)", "end (s)", "audio", "crop start (s)", "crop end (s)", ""].map((h) => el("th", {}, h)))),
        el("tbody")),
      el("p", {}, el("button", { type: "button", id: "revise-add" }, "Add segment")),
      el("label", { class: "field" }, el("span", { class: "cap" }, "New audio files"),
        el("input", { type: "file", id: "revise-audio-files", multiple: "", accept: "audio/*" })),
      el("ul", { id: "revise-audios" }),
      el("p", {},
        el("button", { type: "button", id: "revise-submit" }, "Re-sync changed segments"), " ",
        el("button", { type: "button", id: "revise-close" }, "Close")),
      el("div", { id: "revise-uploads" }),
      el("p", { id: "revise-status", role: "status", "aria-live": "polite" }),
      el("p", { id: "revise-error", class: "error", "aria-live": "polite" }));
    ($("#history") || document.body.lastElementChild).before(section);
    section.querySelector("#revise-add").addEventListener("click", () => this.addRow({}));
    section.querySelector("#revise-audio-files").addEventListener("change", (e) => {
      this.addAudios([...e.target.files]);
      e.target.value = "";
    });
    section.querySelector("#revise-submit").addEventListener("click", () => this.submit());
    section.querySelector("#revise-close").addEventListener("click", () => { section.hidden = true; });
    return section;
  }

  // Load the parent's segments (its status answer) into the editor.
  async open(jobId) {
    const section = this.section();
    section.hidden = false;
    $("#revise-error").textContent = $("#revise-status").textContent = "";
    $("#revise-uploads").replaceChildren();
    $("#revise-submit").disabled = true;
    let parent;
    try { parent = await this.api.status(jobId); } catch (err) { $("#revise-error").textContent = explain(err); return; }
    if (!Revise.allowed(parent)) {
      $("#revise-error").textContent = "Only a completed job without text removal can be revised.";
      return;
    }
    this.parent = parent;
    this.key = crypto.randomUUID();  // a retried click makes no second revision
    this.audios = [...new Set(parent.segments.map((s) => s.audioInput.refId))].map((refId) => ({ refId, file: null }));
    this.rows = [];
    $("#revise-segments tbody").replaceChildren();
    $("#revise-title").textContent = `Revision of ${parent.outputFileName || "job"} (${parent.jobId.slice(0, 8)})`;
    section.dataset.parent = parent.jobId;
    for (const seg of parent.segments) this.addRow(seg);
    this.renderAudios();
    $("#revise-submit").disabled = false;
    section.scrollIntoView({ block: "start" });
  }

  addAudios(files) {
    for (const file of files) {
      const base = file.name.replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 60) || "audio";
      let refId = base;
      for (let n = 2; this.audios.some((a) => a.refId === refId); n++) refId = `${base}-${n}`;
      this.audios.push({ refId, file });
    }
    this.renderAudios();
  }

  renderAudios() {
    $("#revise-audios").replaceChildren(...this.audios.map((a) =>
      el("li", { "data-ref": a.refId }, a.file ? `${a.refId}: ${a.file.name} (new, uploaded on re-sync)` : `${a.refId} (as uploaded)`)));
    for (const row of this.rows) {
      const chosen = row.inputs.refId.value || row.seg.audioInput?.refId || "";
      row.inputs.refId.replaceChildren(el("option", { value: "" }, "choose…"),
        ...this.audios.map((a) => el("option", { value: a.refId }, a.file ? `${a.refId} (new)` : a.refId)));
      row.inputs.refId.value = this.audios.some((a) => a.refId === chosen) ? chosen : "";
    }
  }

  addRow(seg) {
    const input = (name, value) => el("input", { name, type: "number", min: "0", step: "0.01", inputmode: "decimal",
                                                 value: value ?? "", "aria-label": name });
    const inputs = { startTime: input("startTime", seg.startTime), endTime: input("endTime", seg.endTime),
                     refId: el("select", { name: "refId", "aria-label": "audio" }),
                     cropStart: input("cropStart", seg.audioInput?.startTime),
                     cropEnd: input("cropEnd", seg.audioInput?.endTime) };
    const remove = el("button", { type: "button", class: "remove" }, "remove");
    const row = { seg, inputs, tr: null };
    row.tr = el("tr", {}, el("td", { class: "n" }),
      ...["startTime", "endTime", "refId", "cropStart", "cropEnd"].map((n) => el("td", {}, inputs[n])), el("td", {}, remove));
    remove.addEventListener("click", () => { this.rows = this.rows.filter((r) => r !== row); row.tr.remove(); this.renumber(); });
    this.rows.push(row);
    $("#revise-segments tbody").append(row.tr);
    this.renderAudios();
    this.renumber();
  }

  renumber() {
    this.rows.forEach((row, i) => {
      row.tr.dataset.index = String(i);
      row.tr.querySelector(".n").textContent = `Segment ${i + 1}`;
      for (const [name, input] of Object.entries(row.inputs)) input.setAttribute("aria-label", `revised segment ${i + 1} ${name}`);
      row.tr.querySelector(".remove").setAttribute("aria-label", `remove revised segment ${i + 1}`);
    });
  }

  // The revised job's segments: the parent's fields (speaker, …) kept, range, audio and crop as edited.
  request() {
    const segments = this.rows.map(({ seg, inputs }) => {
      const audioInput = { refId: inputs.refId.value };
      if (num(inputs.cropStart) !== null) audioInput.startTime = num(inputs.cropStart);
      if (num(inputs.cropEnd) !== null) audioInput.endTime = num(inputs.cropEnd);
      const kept = Object.entries(seg).filter(([, v]) => v !== null && v !== undefined);  // no nulls sent
      return { ...Object.fromEntries(kept), startTime: num(inputs.startTime), endTime: num(inputs.endTime), audioInput };
    });
    const used = new Set(segments.map((s) => s.audioInput.refId));
    const fresh = this.audios.filter((a) => a.file && used.has(a.refId));
    return { segments, audios: fresh.map((a) => ({ refId: a.refId, fileName: a.file.name,
                                                   contentType: contentType(a.file, AUDIO), size: a.file.size })),
             files: Object.fromEntries(fresh.map((a) => [a.refId, a.file])) };
  }

  async submit() {
    const button = $("#revise-submit"), status = $("#revise-status"), error = $("#revise-error");
    error.textContent = "";
    if (this.rows.some((r) => !r.inputs.refId.value)) { error.textContent = "Choose an audio for every segment."; return; }
    button.disabled = true;
    const { segments, audios, files } = this.request();
    try {
      status.textContent = "Sending the revision…";
      const made = await this.api.revise(this.parent.jobId, { segments, audios }, this.key);
      $("#revise").dataset.revision = made.jobId;
      const r = made.revision;
      const saving = `Sync.so re-renders at most ${r.revisionSeconds} s instead of ${Number(r.fullSeconds).toFixed(1)} s for a full re-run.`;
      status.textContent = `Revision created. ${saving} Uploading the new audio…`;
      await Promise.all(Object.entries(made.uploads || {}).map(([ref, target]) => {
        const bar = el("progress", { max: "100", value: "0", "aria-label": `upload of audio ${ref}` });
        $("#revise-uploads").append(el("div", { class: "upload" }, el("span", { class: "name" }, `audio ${ref}`), bar));
        return upload(target, files[ref], (sent, total) => { bar.value = total ? Math.round((100 * sent) / total) : 100; });
      }));
      await this.api.start(made.jobId);
      status.textContent = `Revision started. ${saving}`;
      $("#revise").dataset.saving = `${r.revisionSeconds}/${r.fullSeconds}`;
      location.hash = `job=${made.jobId}`;  // the job panel follows it like any job
      this.onStarted(made);
    } catch (err) {
      status.textContent = "";
      const details = (err.details || []).map((d) => `${(d.loc || []).join(".")}: ${d.msg || d.message || ""}`);
      error.textContent = [explain(err), ...details].join(" ");
      button.disabled = false;
    }
  }
}
