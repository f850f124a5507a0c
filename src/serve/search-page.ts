/**
 * The search page `emb serve --index` answers GET /search with: a query box, an image upload and a
 * row box, and a grid of results fetched from POST /v1/search, thumbnails from
 * /v1/search/thumbnail/<row>. Plain DOM and fetch, no library; results are put in with
 * textContent, never as HTML. A server with a token asks for it once per tab.
 */
import { htmlDocument } from "../pages/html.js";

const SCRIPT = `
const $ = (id) => document.getElementById(id);
const token = () => sessionStorage.getItem("emb-token") || "";
async function call(path, init = {}) {
  const headers = { ...(init.headers || {}) };
  if (token()) headers.Authorization = "Bearer " + token();
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401) { $("auth").hidden = false; throw new Error("this server needs its token: enter it above"); }
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error || res.statusText);
  return res;
}
function status(text) { $("status").textContent = text; }
async function info() {
  const i = await (await call("/v1/search/info")).json();
  $("about").textContent = i.rows + " images in " + i.folder + (i.model ? " (" + i.model + ")" : "");
  for (const kind of ["text", "image", "row"]) $(kind + "-form").hidden = !i.queries.includes(kind);
}
async function search(query, label) {
  status("searching…");
  try {
    const body = JSON.stringify({ ...query, k: Number($("k").value) || 12 });
    const { results } = await (await call("/v1/search", { method: "POST", headers: { "Content-Type": "application/json" }, body })).json();
    const grid = $("results");
    grid.replaceChildren();
    $("query").textContent = label;
    for (const hit of results) {
      const figure = document.createElement("figure");
      figure.dataset.row = hit.row;
      figure.dataset.path = hit.path;
      const img = document.createElement("img");
      img.alt = hit.path;
      const caption = document.createElement("figcaption");
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = "#" + hit.rank + " · " + hit.score.toFixed(4);
      const path = document.createElement("span");
      path.className = "path";
      path.textContent = hit.path;
      caption.append(score, document.createElement("br"), path);
      figure.append(img, caption);
      grid.append(figure);
      call("/v1/search/thumbnail/" + hit.row)
        .then((r) => r.blob())
        .then((b) => { img.src = URL.createObjectURL(b); })
        .catch(() => { img.replaceWith(Object.assign(document.createElement("div"), { className: "missing", textContent: "cannot show this file" })); });
    }
    status(results.length + " results");
  } catch (error) {
    status(error.message);
  }
}
$("text-form").addEventListener("submit", (e) => { e.preventDefault(); search({ text: $("text").value }, "text: " + $("text").value); });
$("row-form").addEventListener("submit", (e) => { e.preventDefault(); search({ row: Number($("row").value) }, "row " + $("row").value); });
$("image").addEventListener("change", () => {
  const file = $("image").files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => search({ image: reader.result }, "image: " + file.name);
  reader.readAsDataURL(file);
});
$("auth").addEventListener("submit", (e) => { e.preventDefault(); sessionStorage.setItem("emb-token", $("token").value); $("auth").hidden = true; info().catch((err) => status(err.message)); });
info().catch((error) => status(error.message));
`;

const STYLE = `
:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; }
[hidden] { display: none !important; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; }
#about, #status { color: var(--muted); }
form { display: inline-flex; gap: 6px; margin: 12px 16px 12px 0; align-items: center; }
input[type=search] { width: 24em; }
h2 { font-size: 16px; margin: 16px 0 8px; }
#results { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; width: 156px; }
figure img, .missing { display: block; width: 100%; min-height: 60px; border: 1px solid var(--line); border-radius: 4px; }
.missing { height: 96px; display: flex; align-items: center; justify-content: center; color: var(--muted); font-size: 12px; }
figcaption { font-size: 12px; margin-top: 4px; overflow-wrap: anywhere; }
.score { font-weight: 600; font-variant-numeric: tabular-nums; }
.path { color: var(--muted); }
`;

export function searchPageHtml(title: string): string {
  const body = `<p id="about"></p>
<form id="auth" hidden><label>Token <input id="token" type="password" autocomplete="off"></label><button>Use</button></form>
<div>
<form id="text-form"><input id="text" type="search" placeholder="describe what you are looking for" aria-label="text query"><button>Search</button></form>
<form id="image-form"><label>or an image <input id="image" type="file" accept="image/*"></label></form>
<form id="row-form"><label>or row <input id="row" type="number" min="0" style="width:6em"></label><button>Find similar</button></form>
</div>
<label>results per query <input id="k" type="number" min="1" max="1000" value="12" style="width:5em"></label>
<p id="status"></p>
<h2 id="query"></h2>
<div id="results"></div>
<script>${SCRIPT}</script>`;
  return htmlDocument(title, STYLE, body);
}
