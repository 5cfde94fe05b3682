// Speaker selection (issue 17): a click on a face in the preview sets the speaker, at the frame shown,
// for the whole job or for the segment the keys act on (#speaker-for). The point is kept as fractions of
// the picture (x, y from its top-left corner, 0..1) and the time in seconds, as the API takes it; the
// letterboxing of the <video> (object-fit: contain) is taken off, so a click beside the picture sets
// nothing. "Auto-detect the speaker" (#speaker-auto) is the job's active_speaker_detection: true, and
// clears the job's point (the server refuses both).
import { timecode } from "./media.js";

const $ = (sel) => document.querySelector(sel);
const round = (v, digits) => Math.round(v * 10 ** digits) / 10 ** digits;

export class SpeakerPicker {
  constructor(preview) {
    this.preview = preview;
    this.form = preview.form;
    this.form.speaker = null;  // the job's point {time, x, y}; a segment's is seg.speaker
    this.marker = $("#speaker-marker");
    preview.video.addEventListener("click", (e) => this.pick(e));
    $("#speaker-clear").addEventListener("click", () => this.clear());
    $("#speaker-auto").addEventListener("change", () => {
      if ($("#speaker-auto").checked) this.form.speaker = null;
      this.form.changed();
    });
    this.form.onChangeHooks = [...(this.form.onChangeHooks || []), () => this.show()];
    preview.video.addEventListener("seeked", () => this.show());
    window.addEventListener("resize", () => this.show());
  }

  // The picture's box inside the <video> element (contain: bars left/right or top/bottom).
  picture() {
    const v = this.preview.video, box = v.getBoundingClientRect();
    if (!v.videoWidth || !v.videoHeight) return null;
    const scale = Math.min(box.width / v.videoWidth, box.height / v.videoHeight);
    const width = v.videoWidth * scale, height = v.videoHeight * scale;
    return { left: box.left + (box.width - width) / 2, top: box.top + (box.height - height) / 2, width, height, box };
  }

  target() {
    return $("#speaker-for").value === "segment" ? this.preview.chosen() : null;
  }

  pick(e) {
    const pic = this.picture();
    if (!pic) return;
    const x = (e.clientX - pic.left) / pic.width, y = (e.clientY - pic.top) / pic.height;
    if (x < 0 || x > 1 || y < 0 || y > 1) return;  // on the bars, not the picture
    e.preventDefault();
    const point = { time: round(this.preview.video.currentTime, 3), x: round(x, 4), y: round(y, 4) };
    const seg = this.target();
    if ($("#speaker-for").value === "segment" && !seg) {
      $("#speaker-said").textContent = "Choose a segment first (Keys act on…).";
      return;
    }
    if (seg) seg.speaker = point; else { this.form.speaker = point; $("#speaker-auto").checked = false; }
    this.form.changed();
  }

  clear() {
    const seg = this.target();
    if (seg) seg.speaker = null; else this.form.speaker = null;
    this.form.changed();
  }

  show() {
    const seg = this.target(), point = seg ? seg.speaker : this.form.speaker;
    const who = seg ? `segment ${this.form.segments.indexOf(seg) + 1}` : "the job";
    $("#speaker-said").textContent = point
      ? `Speaker of ${who}: ${Math.round(point.x * 100)} % across, ${Math.round(point.y * 100)} % down, at ${timecode(point.time, this.preview.fps)}`
      : `Speaker of ${who}: ${!seg && $("#speaker-auto").checked ? "auto-detected" : "not chosen (click the face)"}`;
    const pic = this.picture();
    const visible = point && pic && Math.abs(point.time - this.preview.video.currentTime) < 0.5 / this.preview.fps + 0.001;
    this.marker.hidden = !visible;
    if (visible) {  // CSSOM, not a style attribute: allowed by the page's CSP
      this.marker.style.left = `${pic.left - pic.box.left + point.x * pic.width}px`;
      this.marker.style.top = `${pic.top - pic.box.top + point.y * pic.height}px`;
    }
  }
}
