// The "Live code" button: the page's code becomes editable cells, run by Thebe on a Jupyter
// server on this computer. `nox -s live` or `dlcourse live` serves the book with
// dlcourse-live.json beside it, naming the server and its token; without it, the button says
// how to start live mode and the page stays as it was built.
"use strict";

(() => {
  const root = new URL(
    document.documentElement.dataset.content_root || "./",
    document.baseURI,
  );
  const HOW_TO =
    "Live code runs the cells on a Jupyter server on your computer, and none answers. " +
    "Start one in a checkout of the book with <code>nox -s live</code>, or with " +
    'the course\'s wheel: <code>pip install "dlcourse[all]"</code>, then ' +
    "<code>dlcourse live --book FOLDER</code> with a copy of this book's HTML; then open " +
    "the address it prints.";

  // A message under the button; HTML only from this script's own constants.
  function say(status, text, { html = false, problem = false } = {}) {
    status.classList.toggle("dlcourse-live-problem", problem);
    if (html) status.innerHTML = text;
    else status.textContent = text;
  }

  // The server this page is served with, or null where nothing says there is one.
  async function liveServer() {
    let answer;
    try {
      answer = await fetch(new URL("dlcourse-live.json", root), {
        cache: "no-store",
      });
    } catch {
      return null;
    }
    if (!answer.ok) return null;
    const live = await answer.json();
    const base = new URL(live.baseUrl);
    // Only a server on this computer: the page sends it code to run.
    if (base.protocol !== "http:" || base.hostname !== "127.0.0.1") {
      throw new Error(`not a server on 127.0.0.1: ${live.baseUrl}`);
    }
    return live;
  }

  // Whether the Jupyter server answers, with the token, from this page's origin.
  async function answers(live) {
    try {
      const reply = await fetch(new URL("api/status", live.baseUrl), {
        headers: { Authorization: `token ${live.token}` },
        cache: "no-store",
      });
      return reply.ok;
    } catch {
      return false;
    }
  }

  function loadThebe() {
    if (window.thebe?.bootstrap) return Promise.resolve(window.thebe);
    const style = document.createElement("link");
    style.rel = "stylesheet";
    style.href = new URL("_static/thebe/thebe.css", root).href;
    document.head.append(style);
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = new URL("_static/thebe/index.js", root).href;
      script.onload = () => resolve(window.thebe);
      script.onerror = () => reject(new Error("Thebe's script did not load"));
      document.head.append(script);
    });
  }

  // Mark each block of code as a Thebe cell, and the place its output goes.
  function markCells(kind) {
    const blocks =
      kind === "gallery"
        ? document.querySelectorAll(
            ".sphx-glr-example-title div.highlight-Python",
          )
        : document.querySelectorAll("div.cell > div.cell_input");
    for (const block of blocks) {
      const code = document.createElement("pre");
      code.textContent = block.querySelector("pre").textContent;
      code.dataset.executable = "true";
      code.dataset.language = "python";
      block.replaceWith(code);
      let output =
        kind === "gallery"
          ? code.nextElementSibling
          : code.parentElement.querySelector(":scope > div.cell_output");
      if (!output?.matches("div.cell_output, div.sphx-glr-script-out")) {
        output = document.createElement("div");
        output.className =
          kind === "gallery" ? "sphx-glr-script-out" : "cell_output";
        code.after(output);
      }
      output.dataset.output = "";
    }
    return blocks.length;
  }

  async function start(box, button, status) {
    button.disabled = true;
    say(status, "Looking for the live server…");
    try {
      const live = await liveServer();
      if (!live || !(await answers(live))) {
        say(status, HOW_TO, { html: true, problem: true });
        button.disabled = false;
        return;
      }
      say(status, "Loading the editor…");
      const thebe = await loadThebe();
      const cells = markCells(box.dataset.kind);
      say(status, "Starting Python…");
      const { session } = await thebe.bootstrap({
        useBinder: false,
        useJupyterLite: false,
        requestKernel: true,
        mountActivateWidget: false,
        mountStatusWidget: false,
        mountRestartAllButton: false,
        mountRunAllButton: false,
        // No MathJax of Thebe's own (its default comes from a CDN).
        mathjaxUrl: "",
        savedSessionOptions: { enabled: false },
        serverSettings: {
          baseUrl: live.baseUrl,
          token: live.token,
          appendToken: true,
        },
        kernelOptions: { kernelName: "python3", path: "/" },
        // Thebe's light and dark editor themes, after the page's.
        codeMirrorConfig: {
          theme:
            document.documentElement.dataset.theme === "dark"
              ? "abcdef"
              : "idea",
        },
      });
      if (!session) throw new Error("the server started no Python kernel");
      const folder = live.folders?.[box.dataset.kind];
      if (folder) {
        // JSON's string is a Python string literal too.
        await session.kernel.requestExecute({
          code: `import os\nos.chdir(${JSON.stringify(folder)})`,
          silent: true,
          store_history: false,
        }).done;
      }
      say(
        status,
        `Live: ${cells} cells are editable; "run" runs one (or Shift+Enter in it), ` +
          "in the order you choose, in one Python kernel.",
      );
      box.classList.add("dlcourse-live-ready");
    } catch (error) {
      say(status, `Live code could not start: ${error.message ?? error}`, {
        problem: true,
      });
      button.disabled = false;
    }
  }

  for (const box of document.querySelectorAll(".dlcourse-live")) {
    const button = box.querySelector("button");
    const status = box.querySelector(".dlcourse-live-status");
    button.addEventListener("click", () => start(box, button, status));
  }
})();
