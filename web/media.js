// What the browser can tell of a chosen file before it is uploaded: a video's duration and frame rate,
// an audio's duration (HTMLMediaElement metadata). A file the browser cannot decode (AVI, some codecs)
// gives null: the server still checks it when the job starts.
//
// Frame rate: requestVideoFrameCallback while the video plays muted for a few frames (the median gap
// between presented frames' mediaTime); where that is missing or gives nothing within 2 s, the page
// assumes 25 fps and says so (`fpsAssumed`), which only matters for timecodes and frame snapping.

export const FALLBACK_FPS = 25;
const TIMEOUT_MS = 4000;

function loadMetadata(element, file) {
  return new Promise((resolve) => {
    const url = URL.createObjectURL(file);
    const done = (value) => { clearTimeout(timer); resolve(value); };
    const timer = setTimeout(() => done(null), TIMEOUT_MS);
    element.preload = "metadata";
    element.muted = true;
    element.addEventListener("loadedmetadata", () => done(Number.isFinite(element.duration) ? url : null), { once: true });
    element.addEventListener("error", () => done(null), { once: true });
    element.src = url;
  });
}

export async function probeAudio(file) {
  const audio = document.createElement("audio");
  const url = await loadMetadata(audio, file);
  const duration = url ? audio.duration : null;
  audio.removeAttribute("src");
  if (url) URL.revokeObjectURL(url);
  return { duration };
}

export async function probeVideo(file) {
  const video = document.createElement("video");
  video.className = "probe";
  video.playsInline = true;
  document.body.append(video);  // frames are presented (and rVFC called) only for a rendered element
  try {
    const url = await loadMetadata(video, file);
    if (!url) return { duration: null, fps: FALLBACK_FPS, fpsAssumed: true };
    const duration = video.duration;
    const fps = await frameRate(video);
    URL.revokeObjectURL(url);
    return { duration, fps: fps || FALLBACK_FPS, fpsAssumed: !fps };
  } finally {
    video.pause();
    video.remove();
  }
}

function frameRate(video) {
  if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return Promise.resolve(null);
  return new Promise((resolve) => {
    const times = [];
    const finish = () => {
      clearTimeout(timer);
      const gaps = times.slice(1).map((t, i) => t - times[i]).filter((d) => d > 0.001).sort((a, b) => a - b);
      if (gaps.length < 3) return resolve(null);
      const fps = 1 / gaps[Math.floor(gaps.length / 2)];
      resolve(Math.round(fps * 1000) / 1000);
    };
    const timer = setTimeout(finish, 2000);
    const step = (_now, meta) => {
      times.push(meta.mediaTime);
      if (times.length >= 12) finish();
      else video.requestVideoFrameCallback(step);
    };
    video.requestVideoFrameCallback(step);
    video.play().catch(() => finish());
  });
}

// Standard rates a measured one is rounded to (29.97 is 30000/1001).
export function niceFps(fps) {
  const known = [23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60];
  const near = known.find((k) => Math.abs(k - fps) < 0.05);
  return near || Math.round(fps * 100) / 100;
}

// hh:mm:ss:ff at `fps` frames per second.
export function timecode(seconds, fps) {
  const rate = Math.round(fps) || FALLBACK_FPS;
  const frames = Math.round(Math.max(0, seconds) * fps);
  const ff = frames % rate, total = Math.floor(frames / rate);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}:${pad(ff)}`;
}

const MAX_DECODE_BYTES = 200 * 1048576;  // larger files get a flat line instead of their waveform

// A file's sound as about `points` peaks (its first channel); silence when it has none or is too large.
export async function peaksOf(file, duration, points = 1000) {
  if (file.size <= MAX_DECODE_BYTES) {
    try {
      const context = new OfflineAudioContext(1, 1, 8000);
      const data = (await context.decodeAudioData(await file.arrayBuffer())).getChannelData(0);
      const step = Math.max(1, Math.floor(data.length / points));
      return Array.from({ length: Math.ceil(data.length / step) }, (_, i) => {
        let peak = 0;
        for (let j = i * step; j < Math.min(data.length, (i + 1) * step); j++) peak = Math.max(peak, Math.abs(data[j]));
        return peak;
      });
    } catch { /* no audio track, or a codec this browser lacks */ }
  }
  return new Array(Math.max(2, Math.round(duration * 10))).fill(0);
}

// Peaks drawn as a small waveform (a bar per column) on a canvas.
export function drawWave(canvas, peaks) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  context.fillStyle = "#6a7283";
  const top = Math.max(...peaks, 1e-6);
  for (let x = 0; x < width; x++) {
    const peak = peaks[Math.floor((x / width) * peaks.length)] / top;
    const h = Math.max(1, peak * height);
    context.fillRect(x, (height - h) / 2, 1, h);
  }
}
