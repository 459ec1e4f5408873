/* Train in the browser: softmax regression on the subset of MNIST this build exported, trained
 * by mini-batch gradient descent with the settings the reader picks, as the page's NumPy code
 * trains it: weights and biases start at zero, each epoch visits the training images in a new
 * shuffled order, batch by batch, and the test accuracy is measured after each epoch.
 *
 * window.dlcourseRetrain offers the parts: `ready` (a promise of the subset), `defaults` (the
 * page's settings) and `train` (a generator of progress, one value per mini-batch).
 */
"use strict";

(() => {
  const PIXELS = 784;
  const CLASSES = 10;
  // The choices of the sliders; the defaults are the page's NumPy settings.
  const LEARNING_RATES = [0.01, 0.03, 0.1, 0.3, 0.5, 1, 3, 10];
  const BATCH_SIZES = [1, 10, 32, 100, 500, 1000, Infinity]; // Infinity: the whole set
  const MAX_EPOCHS = 20;
  const DEFAULTS = { learningRate: 0.5, batchSize: 100, epochs: 5 };
  const SEED = 1; // a fixed shuffle: the same settings give the same run
  const TINY = 1.1754943508222875e-38; // the smallest normal float32: the NumPy code's floor
  const SLICE_MS = 12; // work per frame, so the page keeps answering while it trains

  // The subset's files sit beside this script, in _static/train_in_the_browser/.
  const here = document.currentScript ? document.currentScript.src : document.baseURI;
  const MANIFEST = new URL("train_in_the_browser/subset.json", here);

  // ---- the subset ----------------------------------------------------------------------------

  async function gunzip(buffer) {
    const bytes = new Uint8Array(buffer);
    // A server that sent the file with Content-Encoding: gzip has had the browser unpack it.
    if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return buffer;
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).arrayBuffer();
  }

  async function loadSubset(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const manifest = await response.json();
    if (manifest.format !== "dlcourse-mnist-subset/1") throw new Error(`${url}: unknown format`);
    const packed = await fetch(new URL(manifest.file, url));
    if (!packed.ok) throw new Error(`${manifest.file}: HTTP ${packed.status}`);
    const buffer = await gunzip(await packed.arrayBuffer());
    if (buffer.byteLength !== manifest.bytes) throw new Error(`${manifest.file} is truncated`);
    const arrays = {};
    for (const { name, shape, offset } of manifest.arrays) {
      const size = shape.reduce((a, b) => a * b, 1);
      arrays[name] = new Uint8Array(buffer, offset, size);
    }
    const intensities = (bytes) => Float32Array.from(bytes, (v) => v / 255);
    return {
      train: { x: intensities(arrays.train_images), labels: arrays.train_labels },
      test: { x: intensities(arrays.test_images), labels: arrays.test_labels },
      nTrain: arrays.train_labels.length,
      nTest: arrays.test_labels.length,
    };
  }

  // ---- the model and its training ------------------------------------------------------------

  // mulberry32: a small seeded generator of uniform numbers in [0, 1).
  function generator(seed) {
    let state = seed >>> 0;
    return () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function shuffle(order, random) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
  }

  // The logits z = x·W + b of image i of x, into z; W is 784 x 10, row by row.
  function logits(W, b, x, i, z) {
    z.set(b);
    const base = i * PIXELS;
    for (let j = 0; j < PIXELS; j++) {
      const v = x[base + j];
      if (v === 0) continue; // most pixels are blank; they add nothing
      const row = j * CLASSES;
      for (let k = 0; k < CLASSES; k++) z[k] += v * W[row + k];
    }
  }

  function softmaxInPlace(z) {
    let top = -Infinity;
    for (const v of z) top = Math.max(top, v);
    let total = 0;
    for (let k = 0; k < z.length; k++) {
      z[k] = Math.exp(z[k] - top);
      total += z[k];
    }
    for (let k = 0; k < z.length; k++) z[k] /= total;
  }

  function accuracy(W, b, split) {
    const z = new Float64Array(CLASSES);
    let right = 0;
    for (let i = 0; i < split.labels.length; i++) {
      logits(W, b, split.x, i, z);
      let best = 0;
      for (let k = 1; k < CLASSES; k++) if (z[k] > z[best]) best = k;
      if (best === split.labels[i]) right++;
    }
    return right / split.labels.length;
  }

  // Throw a RangeError that names the first setting training cannot run with.
  function check({ learningRate, batchSize, epochs }) {
    if (!(learningRate > 0 && Number.isFinite(learningRate))) {
      throw new RangeError(`the learning rate must be a positive number, not ${learningRate}`);
    }
    if (!(batchSize >= 1 && (Number.isInteger(batchSize) || batchSize === Infinity))) {
      throw new RangeError(`the batch size must be a whole number from 1, not ${batchSize}`);
    }
    if (!(epochs >= 1 && Number.isInteger(epochs))) {
      throw new RangeError(`the epochs must be a whole number from 1, not ${epochs}`);
    }
  }

  /* Train softmax regression on subset.train; yield after every mini-batch
   * { epoch, batch, batches, loss } (the batch's mean cross-entropy before its step), and after
   * every epoch also { accuracy } on subset.test. Returns the weights and biases. */
  function* train(subset, { learningRate, batchSize, epochs }) {
    const { x, labels } = subset.train;
    const n = labels.length;
    const size = Math.min(batchSize, n);
    const W = new Float32Array(PIXELS * CLASSES);
    const b = new Float32Array(CLASSES);
    const gradW = new Float64Array(PIXELS * CLASSES);
    const gradB = new Float64Array(CLASSES);
    const z = new Float64Array(CLASSES);
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    const random = generator(SEED);
    const batches = Math.ceil(n / size);
    for (let epoch = 0; epoch < epochs; epoch++) {
      shuffle(order, random);
      for (let batch = 0; batch < batches; batch++) {
        const first = batch * size;
        const last = Math.min(first + size, n);
        gradW.fill(0);
        gradB.fill(0);
        let loss = 0;
        for (let t = first; t < last; t++) {
          const i = order[t];
          logits(W, b, x, i, z);
          softmaxInPlace(z);
          loss -= Math.log(Math.max(z[labels[i]], TINY));
          z[labels[i]] -= 1; // prediction minus label: the gradient of the loss
          for (let k = 0; k < CLASSES; k++) gradB[k] += z[k];
          const base = i * PIXELS;
          for (let j = 0; j < PIXELS; j++) {
            const v = x[base + j];
            if (v === 0) continue;
            const row = j * CLASSES;
            for (let k = 0; k < CLASSES; k++) gradW[row + k] += v * z[k];
          }
        }
        const step = learningRate / (last - first);
        for (let m = 0; m < W.length; m++) W[m] -= step * gradW[m];
        for (let k = 0; k < CLASSES; k++) b[k] -= step * gradB[k];
        const progress = { epoch, batch, batches, loss: loss / (last - first) };
        if (batch === batches - 1) {
          progress.accuracy = accuracy(W, b, subset.test);
        }
        yield progress;
      }
    }
    return { W, b };
  }

  let subset = null; // set once loaded
  const ready = loadSubset(MANIFEST);
  ready.then(
    (loaded) => {
      subset = loaded;
    },
    () => {}, // the widget says so
  );

  window.dlcourseRetrain = {
    ready,
    defaults: DEFAULTS,
    seed: SEED,
    /* Return the training's generator; the subset must have loaded. */
    train(settings) {
      if (!subset) throw new Error("the subset has not loaded yet: await dlcourseRetrain.ready");
      const chosen = { ...DEFAULTS, ...settings };
      check(chosen);
      return train(subset, chosen);
    },
  };

  // ---- the widget ----------------------------------------------------------------------------

  const percent = (value) => `${(100 * value).toFixed(2)} %`;

  function slider(root, name, choices, initial, show) {
    const input = root.querySelector(`[data-testid=${name}]`);
    const output = root.querySelector(`[data-testid=${name}-value]`);
    input.min = "0";
    input.max = String(choices.length - 1);
    input.step = "1";
    input.value = String(choices.indexOf(initial));
    const value = () => choices[Number(input.value)];
    const update = () => {
      output.textContent = show(value());
      input.setAttribute("aria-valuetext", show(value()));
    };
    input.addEventListener("input", update);
    update();
    return value;
  }

  function widget(root) {
    const status = root.querySelector("[data-testid=status]");
    const button = root.querySelector("[data-testid=train]");
    const canvas = root.querySelector("[data-testid=loss-curve]");
    const list = root.querySelector("[data-testid=epoch-results]");
    const result = root.querySelector("[data-testid=accuracy]");
    const epochChoices = Array.from({ length: MAX_EPOCHS }, (_, i) => i + 1);
    const settings = {
      learningRate: slider(root, "learning-rate", LEARNING_RATES, DEFAULTS.learningRate, String),
      batchSize: slider(root, "batch-size", BATCH_SIZES, DEFAULTS.batchSize, (v) =>
        v === Infinity ? `all ${subset ? subset.nTrain : ""}`.trim() : String(v),
      ),
      epochs: slider(root, "epochs", epochChoices, DEFAULTS.epochs, String),
    };
    let running = null; // the run in progress, if any
    let shown = null; // the run the curve shows

    function colours() {
      const style = getComputedStyle(document.documentElement);
      const pick = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
      return {
        text: pick("--pst-color-text-base", "#222"),
        grid: pick("--pst-color-border", "#ccc"),
        line: pick("--pst-color-primary", "#0a7"),
      };
    }

    // The loss of each mini-batch, averaged over bins so that a curve has at most ~400 points.
    function draw(run) {
      const pen = canvas.getContext("2d");
      const ratio = window.devicePixelRatio || 1;
      const width = canvas.clientWidth || 600;
      const height = canvas.clientHeight || 260;
      if (canvas.width !== Math.round(width * ratio)) {
        canvas.width = Math.round(width * ratio);
        canvas.height = Math.round(height * ratio);
      }
      pen.setTransform(ratio, 0, 0, ratio, 0, 0);
      pen.clearRect(0, 0, width, height);
      const colour = colours();
      const left = 44;
      const bottom = height - 30;
      const right = width - 10;
      const top = 10;
      const maxLoss = 2.5;
      const epochs = run ? run.epochs : settings.epochs();
      const x = (epoch) => left + ((right - left) * epoch) / epochs;
      const y = (loss) => bottom - ((bottom - top) * Math.min(loss, maxLoss)) / maxLoss;
      pen.font = "12px sans-serif";
      pen.fillStyle = colour.text;
      pen.strokeStyle = colour.grid;
      pen.lineWidth = 1;
      pen.textAlign = "right";
      pen.textBaseline = "middle";
      for (let loss = 0; loss <= maxLoss; loss += 0.5) {
        pen.beginPath();
        pen.moveTo(left, y(loss));
        pen.lineTo(right, y(loss));
        pen.stroke();
        pen.fillText(loss.toFixed(1), left - 6, y(loss));
      }
      pen.textAlign = "center";
      pen.textBaseline = "top";
      const every = Math.ceil(epochs / 10);
      for (let epoch = 0; epoch <= epochs; epoch += every) {
        pen.fillText(String(epoch), x(epoch), bottom + 4);
      }
      pen.fillText("epoch", (left + right) / 2, bottom + 16);
      pen.save();
      pen.translate(10, (top + bottom) / 2);
      pen.rotate(-Math.PI / 2);
      pen.fillText("training loss", 0, -6);
      pen.restore();
      if (!run || !run.points.length) return;
      pen.strokeStyle = colour.line;
      pen.lineWidth = 2;
      pen.beginPath();
      run.points.forEach(([epoch, loss], i) => {
        if (i === 0) pen.moveTo(x(epoch), y(loss));
        else pen.lineTo(x(epoch), y(loss));
      });
      pen.stroke();
    }

    function finish(run, message) {
      running = null;
      button.textContent = "Train";
      status.textContent = message;
      if (run.first === null) return;
      canvas.setAttribute(
        "aria-label",
        `Training loss per mini-batch over ${run.epochs} epochs, from ` +
          `${run.first.toFixed(2)} to ${run.last.toFixed(2)}`,
      );
    }

    function slice(run) {
      if (running !== run) return; // stopped, or another run started
      const until = performance.now() + SLICE_MS;
      let step;
      do {
        step = run.steps.next();
        if (step.done) break;
        const { epoch, batch, batches, loss } = step.value;
        if (run.first === null) run.first = loss;
        run.last = loss;
        run.sum += loss;
        run.count += 1;
        run.epochLoss += loss;
        if (run.count === run.bin || batch === batches - 1) {
          run.points.push([epoch + (batch + 1) / batches, run.sum / run.count]);
          run.sum = 0;
          run.count = 0;
        }
        if (step.value.accuracy !== undefined) {
          const item = document.createElement("li");
          item.textContent =
            `Epoch ${epoch + 1}: mean training loss ${(run.epochLoss / batches).toFixed(3)}, ` +
            `test accuracy ${percent(step.value.accuracy)}`;
          list.append(item);
          run.epochLoss = 0;
          run.accuracy = step.value.accuracy;
          status.textContent = `Training: epoch ${epoch + 1} of ${run.epochs} done.`;
        }
      } while (performance.now() < until);
      draw(run);
      if (!step.done) {
        requestAnimationFrame(() => slice(run));
        return;
      }
      const seconds = (performance.now() - run.started) / 1000;
      result.textContent = percent(run.accuracy);
      result.dataset.value = String(run.accuracy);
      result.dataset.seconds = seconds.toFixed(3);
      finish(run, `Trained ${run.epochs} epochs in ${seconds.toFixed(1)} s.`);
    }

    function start() {
      const chosen = {
        learningRate: settings.learningRate(),
        batchSize: settings.batchSize(),
        epochs: settings.epochs(),
      };
      const batches = Math.ceil(subset.nTrain / Math.min(chosen.batchSize, subset.nTrain));
      list.replaceChildren();
      result.textContent = "–";
      delete result.dataset.value;
      delete result.dataset.seconds;
      running = {
        steps: train(subset, chosen),
        epochs: chosen.epochs,
        bin: Math.max(1, Math.ceil((batches * chosen.epochs) / 400)),
        points: [],
        sum: 0,
        count: 0,
        epochLoss: 0,
        first: null,
        last: null,
        accuracy: null,
        started: performance.now(),
      };
      shown = running;
      button.textContent = "Stop";
      status.textContent = "Training…";
      const run = running;
      requestAnimationFrame(() => slice(run));
    }

    button.addEventListener("click", () => {
      if (!subset) return;
      if (running) finish(running, "Stopped.");
      else start();
    });
    // Drawn again at a new width, and in the new colours when the reader switches the theme.
    window.addEventListener("resize", () => draw(shown));
    new MutationObserver(() => draw(shown)).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["data-theme"],
    });

    root.querySelector("[data-testid=controls]").hidden = false;
    draw(null);
    status.textContent = "Loading the training images…";
    ready.then(
      () => {
        root.querySelector("[data-testid=batch-size]").dispatchEvent(new Event("input"));
        button.disabled = false;
        status.textContent =
          `${subset.nTrain.toLocaleString("en")} training and ` +
          `${subset.nTest.toLocaleString("en")} test images loaded: press Train.`;
      },
      (error) => {
        status.textContent = `The training images could not be loaded (${error.message}).`;
      },
    );
  }

  const start = () => document.querySelectorAll("[data-dlcourse-retrain]").forEach(widget);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
