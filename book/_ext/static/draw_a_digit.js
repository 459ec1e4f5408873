/* Draw a digit: the reader draws on a canvas, and the convolutional network this build trained
 * reads the drawing. The drawing is prepared as the MNIST digits were, and the network's
 * forward pass is the same arithmetic Keras does, in 32-bit floats.
 *
 * window.dlcourseDigit offers the parts: `ready` (a promise of the network), `prepare` (a
 * drawing to 28 x 28 grey levels) and `predict` (28 x 28 intensities in [0, 1] to ten
 * probabilities).
 */
"use strict";

(() => {
  const SIDE = 28; // MNIST's field
  const BOX = 20; // the longer side of a digit in it
  // Where the MNIST training digits' centres of mass lie, as (row, column) pixel indices.
  const TARGET = [14, 14];
  const PEN = 18; // stroke width, in pixels of the 280 x 280 drawing canvas

  // The network's files sit beside this script, in _static/draw_a_digit/.
  const here = document.currentScript ? document.currentScript.src : document.baseURI;
  const MANIFEST = new URL("draw_a_digit/network.json", here);

  // ---- the network's files -------------------------------------------------------------------

  function float32s(buffer, offset, size) {
    const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    if (littleEndian) return new Float32Array(buffer, offset, size);
    const view = new DataView(buffer, offset, size * 4);
    return Float32Array.from({ length: size }, (_, i) => view.getFloat32(4 * i, true));
  }

  async function loadNetwork(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const manifest = await response.json();
    if (manifest.format !== "dlcourse-network/1") throw new Error(`${url}: unknown format`);
    const weights = await fetch(new URL(manifest.weights, url));
    if (!weights.ok) throw new Error(`${manifest.weights}: HTTP ${weights.status}`);
    const buffer = await weights.arrayBuffer();
    if (buffer.byteLength !== manifest.bytes) throw new Error(`${manifest.weights} is truncated`);
    const layers = manifest.layers.map((layer) => {
      const arrays = {};
      for (const array of layer.arrays) {
        arrays[array.name] = {
          shape: array.shape,
          data: float32s(buffer, array.offset, array.size),
        };
      }
      return { ...layer, arrays };
    });
    return { inputShape: manifest.input_shape, layers };
  }

  // ---- the forward pass ----------------------------------------------------------------------
  // A tensor is { data: Float32Array, shape }, its values in (height, width, channel) order,
  // the order of Keras's channels_last layout and of its Flatten layer.

  function activate(values, name) {
    if (name === "relu") {
      for (let i = 0; i < values.length; i++) if (values[i] < 0) values[i] = 0;
    } else if (name === "softmax") {
      let top = -Infinity;
      for (const v of values) top = Math.max(top, v);
      let total = 0;
      for (let i = 0; i < values.length; i++) {
        values[i] = Math.exp(values[i] - top);
        total += values[i];
      }
      for (let i = 0; i < values.length; i++) values[i] /= total;
    } else if (name !== "linear") {
      throw new Error(`unknown activation ${name}`);
    }
    return values;
  }

  // A "valid" convolution with stride 1: kernel (kh, kw, in, out), one output per position
  // where the kernel fits wholly inside the input.
  function conv2d(x, layer) {
    const [h, w, channels] = x.shape;
    const { kernel, bias } = layer.arrays;
    const [kh, kw, cin, cout] = kernel.shape;
    if (cin !== channels) throw new Error(`${layer.name}: ${channels} channels, expected ${cin}`);
    const oh = h - kh + 1;
    const ow = w - kw + 1;
    const out = new Float32Array(oh * ow * cout);
    const k = kernel.data;
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const o = (i * ow + j) * cout;
        if (bias) out.set(bias.data, o);
        for (let di = 0; di < kh; di++) {
          for (let dj = 0; dj < kw; dj++) {
            const xi = ((i + di) * w + (j + dj)) * cin;
            const ki = (di * kw + dj) * cin * cout;
            for (let c = 0; c < cin; c++) {
              const v = x.data[xi + c];
              if (v === 0) continue; // ReLU leaves many zeros; they add nothing
              const row = ki + c * cout;
              for (let f = 0; f < cout; f++) out[o + f] += v * k[row + f];
            }
          }
        }
      }
    }
    return { data: activate(out, layer.activation), shape: [oh, ow, cout] };
  }

  // Max-pooling without padding: the largest value of each window, channel by channel.
  function maxPool(x, layer) {
    const [h, w, c] = x.shape;
    const [ph, pw] = layer.pool_size;
    const [sh, sw] = layer.strides;
    const oh = Math.floor((h - ph) / sh) + 1;
    const ow = Math.floor((w - pw) / sw) + 1;
    const out = new Float32Array(oh * ow * c).fill(-Infinity);
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const o = (i * ow + j) * c;
        for (let di = 0; di < ph; di++) {
          for (let dj = 0; dj < pw; dj++) {
            const xi = ((i * sh + di) * w + (j * sw + dj)) * c;
            for (let f = 0; f < c; f++) out[o + f] = Math.max(out[o + f], x.data[xi + f]);
          }
        }
      }
    }
    return { data: out, shape: [oh, ow, c] };
  }

  // A fully connected layer: kernel (in, out), output = input · kernel + bias.
  function dense(x, layer) {
    const { kernel, bias } = layer.arrays;
    const [n, m] = kernel.shape;
    if (x.data.length !== n) {
      throw new Error(`${layer.name}: ${x.data.length} inputs, expected ${n}`);
    }
    const out = bias ? Float32Array.from(bias.data) : new Float32Array(m);
    for (let i = 0; i < n; i++) {
      const v = x.data[i];
      if (v === 0) continue;
      const row = i * m;
      for (let f = 0; f < m; f++) out[f] += v * kernel.data[row + f];
    }
    return { data: activate(out, layer.activation), shape: [m] };
  }

  const LAYERS = {
    Conv2D: conv2d,
    MaxPooling2D: maxPool,
    Dense: dense,
    Flatten: (x) => ({ data: x.data, shape: [x.data.length] }), // already in (h, w, c) order
    Dropout: (x) => x, // dropout only acts while training
  };

  function forward(network, pixels) {
    let x = { data: Float32Array.from(pixels), shape: network.inputShape };
    for (const layer of network.layers) x = LAYERS[layer.type](x, layer);
    return x.data;
  }

  // ---- preparing a drawing as MNIST's digits were ---------------------------------------------

  // Area-averaging resampling of a (rows x n) array along its rows to m values: each new value
  // is the mean of the old ones its interval covers, weighted by how much of each it covers.
  function resampleRows(values, rows, n, m) {
    const out = new Float32Array(rows * m);
    const step = n / m;
    for (let j = 0; j < m; j++) {
      const start = j * step;
      const end = start + step;
      for (let s = Math.floor(start); s < Math.min(n, Math.ceil(end)); s++) {
        const weight = (Math.min(end, s + 1) - Math.max(start, s)) / step;
        for (let r = 0; r < rows; r++) out[r * m + j] += weight * values[r * n + s];
      }
    }
    return out;
  }

  function transpose(values, rows, cols) {
    const out = new Float32Array(values.length);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
    }
    return out;
  }

  /* Return a drawing (grey levels 0..255, ink bright, `width` x `height`, row by row) as an
   * MNIST digit: 784 grey levels 0..255. The ink's bounding box is scaled, proportions kept,
   * so that its longer side is 20 pixels, averaging the pixels each new one covers (which
   * anti-aliases the edges), stretched to full contrast, and placed in a 28 x 28 field so that
   * its centre of mass lies where the MNIST digits' do. Null for an empty drawing.
   */
  function prepare(ink, width, height) {
    let top = height;
    let bottom = -1;
    let left = width;
    let right = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (ink[y * width + x] > 0) {
          top = Math.min(top, y);
          bottom = Math.max(bottom, y);
          left = Math.min(left, x);
          right = Math.max(right, x);
        }
      }
    }
    if (bottom < 0) return null;
    const h = bottom - top + 1;
    const w = right - left + 1;
    const crop = new Float32Array(h * w);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) crop[y * w + x] = ink[(top + y) * width + left + x];
    }

    const scale = BOX / Math.max(h, w);
    const nh = Math.max(1, Math.round(h * scale));
    const nw = Math.max(1, Math.round(w * scale));
    const across = resampleRows(crop, h, w, nw); // h x nw
    const small = transpose(resampleRows(transpose(across, h, nw), nw, h, nh), nw, nh); // nh x nw
    let brightest = 0;
    for (const v of small) brightest = Math.max(brightest, v);

    const field = new Float32Array(SIDE * SIDE);
    const y0 = Math.floor((SIDE - nh) / 2);
    const x0 = Math.floor((SIDE - nw) / 2);
    let mass = 0;
    let rowSum = 0;
    let colSum = 0;
    for (let y = 0; y < nh; y++) {
      for (let x = 0; x < nw; x++) {
        const v = (small[y * nw + x] * 255) / brightest;
        field[(y0 + y) * SIDE + x0 + x] = v;
        mass += v;
        rowSum += v * (y0 + y);
        colSum += v * (x0 + x);
      }
    }
    // Shift by whole pixels, so the grey levels stay as the scaling made them.
    const dy = Math.round(TARGET[0] - rowSum / mass);
    const dx = Math.round(TARGET[1] - colSum / mass);
    const centred = new Float32Array(SIDE * SIDE);
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const sy = y - dy;
        const sx = x - dx;
        const inside = sy >= 0 && sy < SIDE && sx >= 0 && sx < SIDE;
        if (inside) centred[y * SIDE + x] = field[sy * SIDE + sx];
      }
    }
    return centred;
  }

  let network = null; // set once loaded
  const ready = loadNetwork(MANIFEST);
  ready.then(
    (loaded) => {
      network = loaded;
    },
    () => {}, // each widget says so
  );

  window.dlcourseDigit = {
    ready,
    target: TARGET,
    prepare,
    /* Return the ten probabilities for 784 intensities in [0, 1]; the network must have loaded. */
    predict(pixels) {
      if (!network) throw new Error("the network has not loaded yet: await dlcourseDigit.ready");
      return forward(network, pixels);
    },
  };

  // ---- the widget ----------------------------------------------------------------------------

  function widget(root) {
    const canvas = root.querySelector("[data-testid=digit-canvas]");
    const preview = root.querySelector("[data-testid=digit-input]");
    const clear = root.querySelector("[data-testid=clear]");
    const prediction = root.querySelector("[data-testid=prediction]");
    const status = root.querySelector("[data-testid=status]");
    const list = root.querySelector("[data-testid=probabilities]");
    const pen = canvas.getContext("2d", { willReadFrequently: true });
    const look = preview.getContext("2d");

    const bars = [];
    for (let digit = 0; digit < 10; digit++) {
      const item = document.createElement("li");
      item.dataset.digit = String(digit);
      const label = document.createElement("span");
      label.className = "dlcourse-digit-label";
      label.textContent = String(digit);
      const track = document.createElement("span");
      track.className = "dlcourse-digit-track";
      const bar = document.createElement("span");
      bar.className = "dlcourse-digit-bar";
      track.append(bar);
      const value = document.createElement("span");
      value.className = "dlcourse-digit-value";
      item.append(label, track, value);
      list.append(item);
      bars.push({ item, bar, value });
    }

    function show(probabilities) {
      let best = -1;
      if (probabilities) best = probabilities.indexOf(Math.max(...probabilities));
      bars.forEach(({ item, bar, value }, digit) => {
        const p = probabilities ? probabilities[digit] : 0;
        bar.style.width = `${(100 * p).toFixed(1)}%`;
        value.textContent = probabilities ? `${(100 * p).toFixed(1)}%` : "";
        item.classList.toggle("dlcourse-digit-best", digit === best);
      });
      prediction.textContent = best < 0 ? "–" : String(best);
    }

    function blank() {
      pen.fillStyle = "#000";
      pen.fillRect(0, 0, canvas.width, canvas.height);
      look.fillStyle = "#000";
      look.fillRect(0, 0, preview.width, preview.height);
      show(null);
    }

    function update() {
      pending = false;
      const { data } = pen.getImageData(0, 0, canvas.width, canvas.height);
      const ink = new Float32Array(canvas.width * canvas.height);
      for (let i = 0; i < ink.length; i++) ink[i] = data[4 * i]; // white on black: red is the grey
      const digit = prepare(ink, canvas.width, canvas.height);
      if (!digit) return blank();
      const picture = look.createImageData(SIDE, SIDE);
      digit.forEach((v, i) => {
        picture.data.set([v, v, v, 255], 4 * i);
      });
      look.putImageData(picture, 0, 0);
      if (network) show(forward(network, digit.map((v) => v / 255)));
    }

    let pending = false;
    function schedule() {
      if (!pending) {
        pending = true;
        requestAnimationFrame(update);
      }
    }

    // Pointer events: a mouse, a pen and a finger all draw the same way.
    let stroke = null; // { id, x, y } while a pointer draws
    function point(event) {
      const box = canvas.getBoundingClientRect();
      return [
        ((event.clientX - box.left) * canvas.width) / box.width,
        ((event.clientY - box.top) * canvas.height) / box.height,
      ];
    }
    function line(x0, y0, x1, y1) {
      pen.beginPath();
      pen.moveTo(x0, y0);
      pen.lineTo(x1, y1);
      pen.stroke();
    }
    canvas.addEventListener("pointerdown", (event) => {
      if (event.pointerType === "mouse" && event.button !== 0) return;
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      const [x, y] = point(event);
      stroke = { id: event.pointerId, x, y };
      line(x, y, x, y); // a dot, for a tap
      schedule();
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!stroke || event.pointerId !== stroke.id) return;
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      for (const each of events.length ? events : [event]) {
        const [x, y] = point(each);
        line(stroke.x, stroke.y, x, y);
        stroke.x = x;
        stroke.y = y;
      }
      schedule();
    });
    const end = (event) => {
      if (stroke && event.pointerId === stroke.id) {
        stroke = null;
        schedule();
      }
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    clear.addEventListener("click", () => {
      stroke = null;
      blank();
    });

    pen.lineWidth = PEN;
    pen.lineCap = "round";
    pen.lineJoin = "round";
    pen.strokeStyle = "#fff";
    blank();
    status.textContent = "Loading the network…";
    ready.then(
      () => {
        status.textContent = "Draw a digit from 0 to 9 in the black square.";
        update();
      },
      (error) => {
        status.textContent = `The network could not be loaded (${error.message}).`;
      },
    );
  }

  const start = () => document.querySelectorAll("[data-dlcourse-digit]").forEach(widget);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
