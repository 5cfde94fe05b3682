// The job form as state: the video (with the duration and frame rate the browser reads), the audio
// tracks (refId, file, duration), the segments and the options. Segments name their audio by an
// internal key, so renaming a refId keeps the link and removing an audio leaves its segments asking
// for another one (never silently switched). Builds the create and edit requests.

import { el } from "./dom.js";
import { drawWave, peaksOf, probeAudio, probeVideo } from "./media.js";
import { AUDIO, VIDEO, contentType, mib } from "./rules.js";

const $ = (sel) => document.querySelector(sel);
const num = (input) => (input.value.trim() === "" ? null : Number(input.value));
const errorSlot = () => el("small", { class: "error", "aria-live": "polite" });
let nextKey = 1;

function field(loc, label, control) {
  return el("label", { class: "field", "data-loc": loc }, el("span", { class: "cap" }, label), control, errorSlot());
}

function numberInput(name, label) {
  return el("input", { name, type: "number", min: "0", step: "0.01", inputmode: "decimal", "aria-label": label });
}

export class JobForm {
  constructor(onChange = () => {}) {
    this.onChange = onChange;
    this.video = null;    // {file, duration, fps, fpsAssumed}
    this.audios = [];     // [{key, refId, file, duration}]
    this.segments = [];   // [{start, end, audio, audioRemoved, cropStart, cropEnd, row}]
    this.probes = new Set();
    this.maxSegments = null;
    $("#video-file").addEventListener("change", (e) => this.setVideo(e.target.files[0] || null));
    $("#audio-files").addEventListener("change", (e) => { this.addAudios([...e.target.files]); e.target.value = ""; });
    $("#add-segment").addEventListener("click", () => this.addSegment().row.querySelector("input").focus());
    this.addSegment();
  }

  changed() { this.onChange(this); for (const hook of this.onChangeHooks || []) hook(this); }

  probe(promise) {
    this.probes.add(promise);
    promise.finally(() => { this.probes.delete(promise); this.changed(); });
    return promise;
  }

  // Resolves once every chosen file's metadata has been read (or found unreadable).
  async ready() { while (this.probes.size) await Promise.allSettled([...this.probes]); }

  setVideo(file) {
    const info = $("#video-info");
    this.video = file ? { file, duration: null, fps: null } : null;
    info.textContent = file ? `${file.name}, ${mib(file.size)}, reading…` : "";
    this.changed();
    if (!file) return;
    const video = this.video;
    this.probe(probeVideo(file).then((found) => {
      Object.assign(video, found);
      const fps = found.fpsAssumed ? `frame rate not readable here (${found.fps} fps assumed)` : `${found.fps} fps`;
      info.textContent = found.duration
        ? `${file.name}, ${mib(file.size)}, ${found.duration.toFixed(2)} s, ${fps}`
        : `${file.name}, ${mib(file.size)}: this browser cannot read its duration; the server checks it at start`;
    }));
  }

  addAudios(files) {
    for (const file of files) {
      const base = file.name.replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 60) || "audio";
      let refId = base;
      for (let n = 2; this.audios.some((a) => a.refId === refId); n++) refId = `${base}-${n}`;
      const audio = { key: nextKey++, refId, file, duration: null };
      this.audios.push(audio);
      this.probe(probeAudio(file).then((found) => { audio.duration = found.duration; this.showLength(audio); }));
      peaksOf(file, 1, 160).then((peaks) => { audio.peaks = peaks; this.showLength(audio); });
    }
    for (const seg of this.segments) {  // a first audio goes to the segments that have none yet
      if (seg.audio === null && !seg.audioRemoved && this.audios.length === 1) seg.audio = this.audios[0].key;
    }
    this.renderAudios();
  }

  removeAudio(audio) {
    this.audios = this.audios.filter((a) => a !== audio);
    for (const seg of this.segments) {
      if (seg.audio === audio.key) { seg.audio = null; seg.audioRemoved = true; }
    }
    this.renderAudios();
  }

  renderAudios() {
    $("#audios tbody").replaceChildren(...this.audios.map((audio, i) => this.audioRow(audio, i)));
    this.refreshAudioChoices();
    this.changed();
  }

  audioRow(audio, i) {
    // No `pattern` attribute: Chromium compiles it with the v flag, where [A-Za-z0-9_-] is an error;
    // the rule is checked in JS (rules.js REF_ID) with the server's message.
    const refId = el("input", { name: "refId", value: audio.refId, autocomplete: "off", spellcheck: "false",
                                "aria-label": `refId of audio ${i + 1}` });
    refId.addEventListener("input", () => { audio.refId = refId.value.trim(); this.refreshAudioChoices(); this.changed(); });
    const remove = el("button", { type: "button", "aria-label": `remove audio ${audio.refId}` }, "remove");
    remove.addEventListener("click", () => this.removeAudio(audio));
    return el("tr", { "data-loc": `audios.${i}`, "data-ref": audio.refId },
      el("td", { "data-label": "refId" }, field(`audios.${i}.refId`, "refId", refId)),
      el("td", { "data-label": "file", "data-loc": `audios.${i}.fileName` }, audio.file.name, errorSlot()),
      el("td", { "data-label": "size", "data-loc": `audios.${i}.size` }, mib(audio.file.size), errorSlot()),
      el("td", { "data-label": "length", class: "duration" }, ...this.length(audio)),
      el("td", {}, remove, errorSlot()));
  }

  // An audio's waveform and duration, once read (its row only: an input being typed in stays).
  length(audio) {
    const wave = el("canvas", { class: "wave", width: "160", height: "28", "aria-hidden": "true" });
    if (audio.peaks) drawWave(wave, audio.peaks);
    return [wave, el("span", {}, audio.duration ? `${audio.duration.toFixed(2)} s` : "—")];
  }

  showLength(audio) {
    const i = this.audios.indexOf(audio);
    const cell = i >= 0 && $(`#audios tbody tr:nth-child(${i + 1}) .duration`);
    if (cell) cell.replaceChildren(...this.length(audio));
  }

  refreshAudioChoices() {
    for (const seg of this.segments) {
      const select = seg.row.querySelector("select[name=refId]");
      const chosen = this.audios.find((a) => a.key === seg.audio);
      select.replaceChildren(el("option", { value: "" }, seg.audioRemoved && !chosen ? "removed: choose…" : "choose…"),
        ...this.audios.map((a) => el("option", { value: a.refId }, a.refId)));
      select.value = chosen ? chosen.refId : "";
    }
  }

  addSegment(values = {}) {
    const seg = { start: null, end: null, audio: this.audios.length === 1 ? this.audios[0].key : null,
                  audioRemoved: false, cropStart: null, cropEnd: null, row: null };
    const remove = el("button", { type: "button", class: "remove" }, "remove");
    const inputs = { startTime: numberInput("startTime", "start (s)"), endTime: numberInput("endTime", "end (s)"),
      refId: el("select", { name: "refId", "aria-label": "audio" }),
      cropStart: numberInput("cropStart", "crop start (s)"), cropEnd: numberInput("cropEnd", "crop end (s)") };
    inputs.cropStart.placeholder = inputs.cropEnd.placeholder = "—";
    seg.row = el("tr", {},
      el("td", { class: "n" }),
      el("td", { "data-label": "start (s)" }, field("", "start (s)", inputs.startTime)),
      el("td", { "data-label": "end (s)" }, field("", "end (s)", inputs.endTime)),
      el("td", { "data-label": "audio" }, field("", "audio", inputs.refId)),
      el("td", { "data-label": "crop start" }, field("", "crop start (s)", inputs.cropStart)),
      el("td", { "data-label": "crop end" }, field("", "crop end (s)", inputs.cropEnd)),
      el("td", {}, remove));
    const read = () => {
      seg.start = num(inputs.startTime); seg.end = num(inputs.endTime);
      seg.cropStart = num(inputs.cropStart); seg.cropEnd = num(inputs.cropEnd);
      const audio = this.audios.find((a) => a.refId === inputs.refId.value);
      seg.audio = audio ? audio.key : null;
      this.changed();
    };
    seg.row.addEventListener("focusin", () => this.choose(this.segments.indexOf(seg)));
    seg.row.addEventListener("input", read);
    seg.row.addEventListener("change", read);
    remove.addEventListener("click", () => {
      this.segments = this.segments.filter((s) => s !== seg);
      seg.row.remove();
      this.renumber();
    });
    this.segments.push(seg);
    $("#segments tbody").append(seg.row);
    this.refreshAudioChoices();
    for (const [name, value] of Object.entries(values)) seg.row.querySelector(`[name=${name}]`).value = value;
    if (Object.keys(values).length) read();
    this.renumber();
    return seg;
  }

  // The segment the preview's keys, the timeline's colour and the crop editor act on.
  choose(i) {
    const select = $("#preview-segment");
    if (select.value !== String(i)) { select.value = String(i); this.changed(); }
  }

  setCrop(seg, { start, end }) {
    seg.row.querySelector("[name=cropStart]").value = start === null ? "" : String(start);
    seg.row.querySelector("[name=cropEnd]").value = end === null ? "" : String(end);
    seg.row.dispatchEvent(new Event("change"));
  }

  // Set a segment's times from elsewhere (the preview's I/O keys, the timeline), as if typed.
  setTimes(seg, { start, end }) {
    if (start !== undefined) seg.row.querySelector("[name=startTime]").value = String(start);
    if (end !== undefined) seg.row.querySelector("[name=endTime]").value = String(end);
    seg.row.dispatchEvent(new Event("change"));
  }

  renumber() {
    const names = { startTime: "startTime", endTime: "endTime", refId: "audioInput.refId",
                    cropStart: "audioInput.startTime", cropEnd: "audioInput.endTime" };
    this.segments.forEach((seg, i) => {
      seg.row.dataset.loc = `segments.${i}`;
      seg.row.querySelector(".n").replaceChildren(el("span", { class: "num" }, `Segment ${i + 1}`), errorSlot());
      for (const [name, loc] of Object.entries(names)) {
        const input = seg.row.querySelector(`[name=${name}]`);
        input.closest(".field").dataset.loc = `segments.${i}.${loc}`;
        input.setAttribute("aria-label", `segment ${i + 1} ${input.closest(".field").querySelector(".cap").textContent}`);
      }
      seg.row.querySelector(".remove").setAttribute("aria-label", `remove segment ${i + 1}`);
    });
    const max = this.maxSegments ? ` / ${this.maxSegments} max` : "";
    $("#segment-count").textContent = `(${this.segments.length}${max})`;
    $("#add-segment").disabled = this.maxSegments !== null && this.segments.length >= this.maxSegments;
    this.changed();
  }

  setMaxSegments(max) { this.maxSegments = max; this.renumber(); }

  options() {
    const t = $("#temperature").value.trim();
    return { temperature: t === "" ? null : Number(t), outputName: $("#output-name").value.trim() };
  }

  // The wire segments, in the order shown (the server's create answers use these positions).
  wireSegments() {
    return this.segments.map((s) => {
      const audio = this.audios.find((a) => a.key === s.audio);
      const input = { refId: audio ? audio.refId : "" };
      if (s.cropStart !== null) input.startTime = s.cropStart;
      if (s.cropEnd !== null) input.endTime = s.cropEnd;
      return { startTime: s.start, endTime: s.end, audioInput: input, ...(s.speaker ? { speaker: s.speaker } : {}) };
    });
  }

  // Shown position of the server's stored position k (a job stores its segments in time order).
  shownIndex(k) {
    const order = this.segments.map((s, i) => i).sort((a, b) =>
      this.segments[a].start - this.segments[b].start || this.segments[a].end - this.segments[b].end);
    return order[k] ?? k;
  }

  syncOptions() {
    const options = {};
    if ($("#sync-mode").value) options.sync_mode = $("#sync-mode").value;
    const { temperature } = this.options();
    if (temperature !== null) options.temperature = temperature;
    if (this.speaker) options.speaker = this.speaker;  // a click on a face (speaker.js)
    else if ($("#speaker-auto").checked) options.active_speaker_detection = true;
    return options;
  }

  editRequest() {
    return { model: $("#model").value || undefined, segments: this.wireSegments(), options: this.syncOptions(),
             outputFileName: this.options().outputName || undefined };
  }

  createRequest() {
    const declare = (file, kind, extra = {}) => ({ fileName: file.name, contentType: contentType(file, kind),
                                                   size: file.size, ...extra });
    const textRemoval = this.textRemoval && this.textRemoval.request();  // textregions.js
    return { ...this.editRequest(), video: declare(this.video.file, VIDEO),
             audios: this.audios.map((a) => declare(a.file, AUDIO, { refId: a.refId })),
             ...(textRemoval ? { textRemoval } : {}) };
  }

  // The files a job's uploads hold: the same signature means the same uploads can serve.
  files() {
    return { video: this.video && this.video.file, audios: Object.fromEntries(this.audios.map((a) => [a.refId, a.file])) };
  }
}
