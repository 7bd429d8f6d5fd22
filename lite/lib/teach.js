// Helpers the teaching notebooks share (hand-written ES module, served from the site's files).
// load(): brings in plotly.js and the mriseq browser bundle from this folder (no CDN) and starts
// the tensor engine (webgpu, webgl, then cpu). show(): draws a plotly figure spec as an SVG output.
// liveCurve(): a training curve redrawn in place. check(): an exercise's verdict, never an error.
const here = new URL('.', import.meta.url).href;

function script(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`could not load ${src} (is the site served with its files/ folder?)`));
    document.head.appendChild(s);
  });
}

/** Loads plotly.js and mriseq (once) and starts the engine; returns the engine report. */
export async function load(options = {}) {
  // Loading the scripts and starting tfjs print warnings (see quiet()).
  const report = await quiet(async () => {
    if (!globalThis.Plotly) await script(here + 'plotly.min.js');
    if (!globalThis.mriseq) await script(here + 'mriseq.js');
    return globalThis.mriseq.initEngine(options.backend ? { backend: options.backend } : {});
  });
  return { mriseq: globalThis.mriseq, Plotly: globalThis.Plotly, report };
}

/** Sends one output (a MIME bundle) through the kernel's display(): objects with _toMime(). */
function emit(bundle) {
  globalThis.display({ _toMime: () => bundle });
}

/**
 * Runs fn with console output held back in `consoleLines`: the kernel delivers only a cell's
 * first output (jupyterlite-javascript-kernel 0.4.0a5), and tfjs and plotly.js print warnings
 * that would take that place.
 */
export const consoleLines = [];
export async function quiet(fn) {
  const display = globalThis.display;
  const held = [];
  const saved = { log: console.log, warn: console.warn, info: console.info };
  for (const k of Object.keys(saved)) console[k] = (...a) => held.push(a.join(' '));
  try {
    return await fn();
  } finally {
    Object.assign(console, saved);
    globalThis.display = display;
    consoleLines.push(...held);
  }
}

async function toSvg(figure, width, height) {
  const url = await quiet(() =>
    globalThis.Plotly.toImage(
      { data: figure.data, layout: { ...figure.layout, width, height } },
      { format: 'svg', width, height },
    ),
  );
  return decodeURIComponent(url.slice(url.indexOf(',') + 1));
}

/**
 * Renders plotly figure specs (mriseq's figure builders make them) as ONE cell output: an HTML
 * block with an optional note and the figures as inline SVG. One output per cell because the
 * kernel (jupyterlite-javascript-kernel 0.4.0a5) delivers only a cell's first output.
 */
export async function show(figures, { width = 720, height = 380, note } = {}) {
  const list = Array.isArray(figures) ? figures : [figures];
  const parts = [];
  for (const f of list) parts.push(await toSvg(f, width, height));
  const title = list.map((f) => f.layout?.title?.text ?? f.layout?.title ?? 'figure').join('; ');
  emit({
    'text/html': (note ? noteHtml(note) : '') + parts.map((p) => `<div>${p}</div>`).join(''),
    'text/plain': `${note ? note + '\n' : ''}[figure: ${title}]`,
  });
  return undefined;
}

function noteHtml(text, color) {
  const esc = String(text).replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
  return `<div style="font-family:monospace;white-space:pre-wrap${color ? `;color:${color}` : ''}">${esc}</div>`;
}

/** Prints a line of HTML (escaped text) in the cell's output. */
export function say(text, color) {
  emit({ 'text/html': noteHtml(text, color), 'text/plain': String(text) });
}

/**
 * A training curve that redraws in place while the cell runs: push() every step's progress
 * event; the first push puts a placeholder (the cell's one output) and every `every` steps the
 * figure inside it is replaced (the kernel has no update_display; the placeholder is found in
 * the notebook page, which the kernel's same-origin iframe can reach). done() draws the last
 * state there; show the saved curve in the next cell with `teach.show(curve.figure())`.
 */
export function liveCurve({ every = 5, title = 'training loss', series = ['loss.total', 'validationPsnr'] } = {}) {
  const points = [];
  const tag = `mriseq-live-${Math.random().toString(36).slice(2)}`;
  let drawn = 0;
  let placed = false;
  const figure = () => globalThis.mriseq.trainingCurvesFigure(points, { title, series });
  const target = () => {
    try {
      return window.parent.document.querySelector(`.${tag}`);
    } catch {
      return null; // a cross-origin page: the curve appears in the next cell only
    }
  };
  const draw = async (status) => {
    const el = target();
    if (el) el.innerHTML = (await toSvg(figure(), 720, 320)) + noteHtml(status);
  };
  return {
    points,
    figure,
    async push(e) {
      points.push(...globalThis.mriseq.flattenHistory([e]));
      if (!placed) {
        emit({ 'text/html': `<div class="${tag}">training started...</div>`, 'text/plain': 'training (live curve)' });
        placed = true;
      }
      if (points.length - drawn < every) return;
      drawn = points.length;
      await draw(`step ${e.step}/${e.steps}, loss ${e.loss.total.toFixed(4)}, ${e.stepMs.toFixed(0)} ms/step`);
    },
    done: (status = 'done') => draw(status),
  };
}

/**
 * Trains `model` on `subjects` with a live curve: the loop notebook 2 writes out cell by cell
 * (mriseq.trainSteps, one progress event a step, curve.push), for the notebooks whose lesson
 * starts after training. `options` go to mriseq.trainSteps. Returns trainSteps' result as
 * `trained` and the curve (show the saved curve in the next cell: teach.show(curve.figure())).
 */
export async function train(model, subjects, options, { every = 10, title = 'training loss (total)' } = {}) {
  const curve = liveCurve({ every, title });
  const it = globalThis.mriseq.trainSteps(model, subjects, options);
  for (;;) {
    const r = await it.next();
    if (r.done) {
      await curve.done();
      return { trained: r.value, curve };
    }
    await curve.push(r.value);
  }
}

/**
 * An exercise's check: `answer` undefined/null means not answered yet (a hint, no error);
 * otherwise `test(answer)` decides. Returns true, false, or null (not answered).
 */
export function check(answer, test, { ok = 'correct!', hint = 'not quite: try again' } = {}) {
  if (answer === undefined || answer === null) {
    say('exercise not answered yet: fill in the cell above and run this cell again', '#a60');
    return null;
  }
  let good = false;
  try {
    good = Boolean(test(answer));
  } catch (e) {
    say(`your answer raised: ${e && e.message ? e.message : e}`, '#b00');
    return false;
  }
  say(good ? `\u2714 ${ok}` : `\u2718 ${hint}`, good ? '#070' : '#b00');
  return good;
}

/** A row of axial slices (grey), one per named volume: { name: volume }, slice z. */
export function sliceRow(volumes, z, { title = '', colorscale = 'Greys' } = {}) {
  const names = Object.keys(volumes);
  const layout = { title: { text: title }, grid: { rows: 1, columns: names.length, pattern: 'independent' }, annotations: [] };
  const data = names.map((name, i) => {
    const k = i === 0 ? '' : String(i + 1);
    layout[`xaxis${k}`] = { visible: false };
    layout[`yaxis${k}`] = { visible: false, scaleanchor: `x${k}` };
    layout.annotations.push({ text: name, showarrow: false, xref: `x${k} domain`, yref: `y${k} domain`, x: 0.5, y: 1.08 });
    return {
      type: 'heatmap',
      z: globalThis.mriseq.axialSlice(volumes[name], z),
      colorscale: name === 'tissue' ? 'Viridis' : colorscale,
      reversescale: colorscale === 'Greys' && name !== 'tissue',
      showscale: false,
      xaxis: `x${k}`,
      yaxis: `y${k}`,
    };
  });
  return { data, layout };
}

/**
 * A size knob from the page address, e.g. lab/index.html?path=02-training.ipynb&steps=20: lets
 * a teacher (or the site's test, on a GPU-less machine) shrink the work without editing cells.
 */
export function param(name, fallback) {
  try {
    const v = new URLSearchParams(window.parent.location.search).get(name);
    const n = v === null ? NaN : Number(v);
    return Number.isFinite(n) && n > 0 ? n : fallback;
  } catch {
    return fallback;
  }
}
