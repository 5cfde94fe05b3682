// The job form: video, audio tracks with refIds, segment rows; builds the create request and shows
// the API's validation errors next to the field each `details[].loc` names.

import { el } from "./dom.js";

const $ = (sel, root = document) => root.querySelector(sel);
const num = (input) => (input.value.trim() === "" ? null : Number(input.value));
const errorSlot = () => el("small", { class: "error" });

// A label whose errors show under its content; `loc` is the request field it stands for.
function field(loc, ...content) {
  return el("label", { class: "field", "data-loc": loc }, ...content, errorSlot());
}

function numberInput(name, extra = {}) {
  return el("input", { name, type: "number", min: "0", step: "0.01", ...extra });
}

export class JobForm {
  constructor() {
    this.video = null;
    this.audios = []; // [{refId, file}]
    this.maxSegments = null;
    $("#video-file").addEventListener("change", (e) => this.setVideo(e.target.files[0] || null));
    $("#audio-files").addEventListener("change", (e) => { this.addAudios([...e.target.files]); e.target.value = ""; });
    $("#add-segment").addEventListener("click", () => this.addSegment());
    this.addSegment();
  }

  setVideo(file) {
    this.video = file;
    const info = $("#video-info");
    info.textContent = file ? `${file.name}, ${(file.size / 1048576).toFixed(2)} MiB` : "";
    if (!file) return;
    const probe = document.createElement("video");
    probe.preload = "metadata";
    probe.onloadedmetadata = () => {
      info.textContent += `, ${probe.duration.toFixed(2)} s`;
      URL.revokeObjectURL(probe.src);
    };
    probe.src = URL.createObjectURL(file);
  }

  addAudios(files) {
    for (const file of files) {
      let base = file.name.replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 60) || "audio";
      let refId = base;
      for (let n = 2; this.audios.some((a) => a.refId === refId); n++) refId = `${base}-${n}`;
      this.audios.push({ refId, file });
    }
    this.renderAudios();
  }

  renderAudios() {
    $("#audios tbody").replaceChildren(...this.audios.map((audio, i) => this.audioRow(audio, i)));
    this.refreshAudioChoices();
  }

  audioRow(audio, i) {
    const refId = el("input", { name: "refId", value: audio.refId, pattern: "[A-Za-z0-9_-]{1,64}" });
    refId.addEventListener("change", () => { audio.refId = refId.value.trim(); this.refreshAudioChoices(); });
    const remove = el("button", { type: "button" }, "remove");
    remove.addEventListener("click", () => { this.audios.splice(i, 1); this.renderAudios(); });
    return el("tr", { "data-loc": `audios.${i}`, "data-ref": audio.refId },
      el("td", {}, field(`audios.${i}.refId`, refId)),
      el("td", {}, field(`audios.${i}.fileName`, audio.file.name)),
      el("td", {}, field(`audios.${i}.size`, `${(audio.file.size / 1024).toFixed(0)} KiB`)),
      el("td", {}, remove, errorSlot()));
  }

  refreshAudioChoices() {
    for (const select of document.querySelectorAll("#segments select[name=refId]")) {
      const current = select.value;
      select.replaceChildren(el("option", { value: "" }, "choose…"),
        ...this.audios.map((a) => el("option", { value: a.refId }, a.refId)));
      if (this.audios.some((a) => a.refId === current)) select.value = current;
      else if (!current && this.audios.length === 1) select.value = this.audios[0].refId;
    }
  }

  addSegment(values = {}) {
    const remove = el("button", { type: "button", class: "remove" }, "remove");
    const row = el("tr", {},
      el("td", { class: "n" }),
      el("td", {}, field("", numberInput("startTime"))),
      el("td", {}, field("", numberInput("endTime"))),
      el("td", {}, field("", el("select", { name: "refId" }))),
      el("td", {}, field("", numberInput("cropStart", { placeholder: "—" }))),
      el("td", {}, field("", numberInput("cropEnd", { placeholder: "—" }))),
      el("td", {}, remove));
    remove.addEventListener("click", () => { row.remove(); this.renumber(); });
    $("#segments tbody").append(row);
    this.refreshAudioChoices();
    for (const [name, value] of Object.entries(values)) row.querySelector(`[name=${name}]`).value = value;
    this.renumber();
    return row;
  }

  renumber() {
    const rows = [...document.querySelectorAll("#segments tbody tr")];
    const names = { startTime: "startTime", endTime: "endTime", refId: "audioInput.refId",
                    cropStart: "audioInput.startTime", cropEnd: "audioInput.endTime" };
    rows.forEach((row, i) => {
      row.dataset.loc = `segments.${i}`;
      row.querySelector(".n").replaceChildren(String(i + 1), errorSlot());
      for (const [name, loc] of Object.entries(names)) {
        row.querySelector(`[name=${name}]`).closest(".field").dataset.loc = `segments.${i}.${loc}`;
      }
    });
    const max = this.maxSegments ? ` / ${this.maxSegments} max` : "";
    $("#segment-count").textContent = `(${rows.length}${max})`;
    $("#add-segment").disabled = this.maxSegments !== null && rows.length >= this.maxSegments;
  }

  setMaxSegments(max) { this.maxSegments = max; this.renumber(); }

  // The create request (wire names) and the files to upload, or null after showing what is missing.
  build() {
    const problems = [];
    if (!this.video) problems.push({ loc: ["video"], msg: "choose a video file" });
    if (!this.audios.length) problems.push({ loc: ["audios"], msg: "add at least one audio file" });
    const segments = [...document.querySelectorAll("#segments tbody tr")].map((row, i) => {
      const get = (name) => row.querySelector(`[name=${name}]`);
      const seg = { startTime: num(get("startTime")), endTime: num(get("endTime")),
                    audioInput: { refId: get("refId").value } };
      if (seg.startTime === null) problems.push({ loc: ["segments", i, "startTime"], msg: "required" });
      if (seg.endTime === null) problems.push({ loc: ["segments", i, "endTime"], msg: "required" });
      if (!seg.audioInput.refId) problems.push({ loc: ["segments", i, "audioInput", "refId"], msg: "choose an audio" });
      const [cs, ce] = [num(get("cropStart")), num(get("cropEnd"))];
      if (cs !== null) seg.audioInput.startTime = cs;
      if (ce !== null) seg.audioInput.endTime = ce;
      return seg;
    });
    if (problems.length) { this.showErrors(problems); return null; }
    const declare = (file, extra = {}) => ({ fileName: file.name, contentType: contentType(file), size: file.size, ...extra });
    const options = {};
    if ($("#sync-mode").value) options.sync_mode = $("#sync-mode").value;
    if ($("#temperature").value !== "") options.temperature = Number($("#temperature").value);
    const request = {
      model: $("#model").value || undefined,
      video: declare(this.video),
      audios: this.audios.map((a) => declare(a.file, { refId: a.refId })),
      segments, options,
      outputFileName: $("#output-name").value.trim() || undefined,
    };
    const files = { video: this.video, audios: Object.fromEntries(this.audios.map((a) => [a.refId, a.file])) };
    return { request, files };
  }

  clearErrors() {
    document.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
    document.querySelectorAll("form .error").forEach((el) => { el.textContent = ""; });
  }

  // Put each detail's msg next to the element its loc names (the closest known prefix of the loc).
  showErrors(details, message) {
    this.clearErrors();
    for (const d of details.length ? details : [{ loc: [], msg: message }]) {
      let loc = [...(d.loc || [])];
      if (loc[0] === "body") loc.shift();
      if (loc[0] === "audios" && typeof loc[1] === "string") {  // refId instead of a position
        const i = this.audios.findIndex((a) => a.refId === loc[1]);
        if (i >= 0) loc[1] = i;
      }
      let target = null;
      for (let n = loc.length; n >= 0 && !target; n--) {
        target = document.querySelector(`form [data-loc="${CSS.escape(loc.slice(0, n).join("."))}"]`);
      }
      if (!target) continue;
      const slot = target.querySelector(".error");
      slot.textContent = slot.textContent ? `${slot.textContent}; ${d.msg}` : d.msg;
      target.classList.add("invalid");
    }
    if (message && details.length) $("#form-error").textContent = message;
  }
}

const TYPES = { mp4: "video/mp4", mov: "video/quicktime", webm: "video/webm", avi: "video/x-msvideo",
  wav: "audio/wav", mp3: "audio/mpeg", ogg: "audio/ogg", flac: "audio/flac", m4a: "audio/mp4", aac: "audio/aac" };

function contentType(file) {
  const ext = file.name.split(".").pop().toLowerCase();
  return TYPES[ext] || file.type || "application/octet-stream";
}
