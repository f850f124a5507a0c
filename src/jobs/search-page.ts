/** `emb search --html`: the results as a page, one section per query, thumbnails in rank order. */
import { escapeHtml, htmlPage, thumbnailHtml, thumbnails } from "../pages/html.js";
import type { SearchOutcome, SearchResult } from "./search.js";

/** How a query is named on the page and in the terminal. */
export function queryLabel(query: SearchResult["query"]): string {
  return "text" in query ? `text "${query.text}"` : "image" in query ? `image ${query.image}` : `row ${query.row} (${query.path})`;
}

export async function searchPage(outcome: SearchOutcome): Promise<string> {
  const queryImage = (q: SearchResult["query"]) => ("image" in q ? q.image : "row" in q ? q.path : undefined);
  const thumbs = await thumbnails(
    outcome.results.flatMap(({ query, results }) => [...results.map((h) => h.path), ...(queryImage(query) ? [queryImage(query)!] : [])]),
  );
  const sections = outcome.results.map(({ query, results }, i) => {
    const image = queryImage(query);
    const head = image
      ? `<div class="query">${thumbnailHtml(thumbs.get(image), "query image")}<h2>${escapeHtml(queryLabel(query))}</h2></div>`
      : `<h2>${escapeHtml(queryLabel(query))}</h2>`;
    const hits = results
      .map(
        (hit) =>
          `<figure data-rank="${hit.rank}" data-row="${hit.row}" data-path="${escapeHtml(hit.path)}">${thumbnailHtml(thumbs.get(hit.path), hit.path)}` +
          `<figcaption><span class="score">#${hit.rank} · ${hit.score.toFixed(4)}</span><br><span class="path">${escapeHtml(hit.path)}</span></figcaption></figure>`,
      )
      .join("\n");
    return `<section class="results" data-query="${i}">${head}<div class="grid">${hits}</div></section>`;
  });
  const meta = `${outcome.results.length} ${outcome.results.length === 1 ? "query" : "queries"}, top ${outcome.k} of ${outcome.rows} images in ${escapeHtml(outcome.folder)} by cosine similarity`;
  return htmlPage("emb search", meta, sections.join("\n"), outcome);
}
