/** `emb dedup --html`: a contact sheet of the duplicate groups, largest first, kept file first. */
import { escapeHtml, htmlPage, thumbnailHtml, thumbnails } from "../pages/html.js";
import type { DedupOutcome } from "./dedup.js";

/** Groups drawn on one page at most; groups.jsonl and --json hold all of them. */
export const PAGE_GROUPS = 500;

export async function dedupPage(outcome: DedupOutcome, limit = PAGE_GROUPS): Promise<string> {
  const shown = outcome.groups.slice(0, limit);
  const thumbs = await thumbnails(shown.flatMap((g) => g.members.map((m) => m.path)));
  const sections = shown.map((g) => {
    const members = g.members
      .map((m) => {
        const kept = m.path === g.keep;
        const size = m.width !== undefined ? `${m.width}×${m.height}, ` : "";
        return (
          `<figure class="${kept ? "keep" : "drop"}" data-path="${escapeHtml(m.path)}">${thumbnailHtml(thumbs.get(m.path), m.path)}` +
          `<figcaption><span class="tag">${kept ? "keep" : "drop"}</span> <span class="score">${m.score.toFixed(4)}</span><br>` +
          `${size}${(m.bytes / 1024).toFixed(0)} KiB<br><span class="path">${escapeHtml(m.path)}</span></figcaption></figure>`
        );
      })
      .join("\n");
    return `<section class="group" data-group="${g.group}"><h2>Group ${g.group} · ${g.kind === "exact" ? "same content" : "near-duplicates"} · ${g.members.length} files</h2><div class="grid">${members}</div></section>`;
  });
  const more =
    outcome.groups.length > shown.length ? ` Showing the ${shown.length} largest of ${outcome.groups.length} groups; the report files list all.` : "";
  const meta =
    `${outcome.groups.length} groups in ${escapeHtml(outcome.folder)}: ${outcome.duplicates} of ${outcome.rows} images are duplicates, ${outcome.toDrop} suggested to drop ` +
    `(cosine at least ${outcome.threshold}, keep ${outcome.keep}; the score is each file's similarity to the kept one).${more}`;
  return htmlPage("emb dedup", meta, sections.join("\n") || "<p>No duplicates.</p>", { ...outcome, groups: shown });
}
