/**
 * METEOR 1.5's `-norm` text normalisation for English (its Normalizer with punctuation kept),
 * followed by the lower-casing the scorer applies, and the small pieces of Java string behaviour
 * the jar relies on (String.trim, StringTokenizer, String.hashCode).
 *
 * The normaliser is a Moses-tokenizer-like chain of regular-expression rewrites. Even on
 * PTB-tokenised captions it changes things: hyphenated words are split ("cloud-wreathed" ->
 * "cloud wreathed"), a PTB possessive "'s" becomes "' s", and "chef's" becomes "chef 's".
 * Character classes are translated from Java's defaults: `\p{Digit}` and `\p{Lower}` are ASCII
 * only, `\s` is [ \t\n\x0B\f\r]; the JavaScript patterns use the `u` flag so that, as in Java,
 * a character outside the Basic Multilingual Plane is one unit.
 */

// Latin letters with Western European accents, then Cyrillic ranges (Java source order).
const ALPHA =
  "A-Za-z\u0160\u017D\u0161\u017E\u0178\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u017E" + "\u0400-\u04FF\u0500-\u0527\uA640-\uA66E\uA67E-\uA697\u1D00-\u1D7F";
const ALNUM = `0-9${ALPHA}`;

/** Every character that is not alphanumeric, whitespace or one of . ' ` , - ‘ ’ gets spaces around it. */
const SEP_OTHER = new RegExp(`([^${ALNUM} \\t\\n\\x0B\\f\\r.'\`,\\-\\u2018\\u2019])`, "gu");
const MULTI_DOT = /\.(\.+)/gu;
const MULTI_DOT_NEXT = /DOTMULTI\.([^.])/gu;
const COMMA_1 = /([^0-9]),([^0-9])/gu;
const COMMA_2 = /([0-9]),([^0-9])/gu;
const COMMA_3 = /([^0-9]),([0-9])/gu;
const SINGLE_QUOTES = /[`\u2018\u2019]/gu;
const DOUBLE_QUOTES = /[\u201C\u201D]|''/gu;
const INNER_DASH = new RegExp(`([${ALNUM}.])-([${ALNUM}])`, "gu");
const APOS_1 = new RegExp(`([^${ALPHA}])'([^${ALPHA}])`, "gu");
const APOS_2 = new RegExp(`([^${ALPHA}0-9])'([${ALPHA}])`, "gu");
const APOS_3 = new RegExp(`([${ALPHA}])'([^${ALPHA}])`, "gu");
const APOS_4 = new RegExp(`([${ALPHA}])'([${ALPHA}])`, "gu");
const APOS_DIGIT_S = /([0-9])'(s)/gu;
const HAS_ALPHA = new RegExp(`[${ALPHA}]`, "u");
const STARTS_LOWER = /^[a-z]/u;
const STARTS_DIGIT = /^[0-9]+/u;
/** The space characters METEOR collapses (ASCII space, U+2000-U+200A, U+202F, U+205F, U+3000, U+00A0). */
const WHITE = /[ \u2000-\u200A\u202F\u205F\u3000\u00A0]+/gu;

/**
 * Moses' English nonbreaking prefixes as METEOR 1.5 ships them: a word ending in one of these
 * followed by "." keeps its dot. "numeric" ones only when the next word starts with a digit.
 */
const NONBREAKING_ANY = [
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  "Adj",
  "Adm",
  "Adv",
  "Asst",
  "Bart",
  "Bldg",
  "Brig",
  "Bros",
  "Capt",
  "Cmdr",
  "Col",
  "Comdr",
  "Con",
  "Corp",
  "Cpl",
  "DR",
  "Dr",
  "Drs",
  "Ens",
  "Gen",
  "Gov",
  "Hon",
  "Hr",
  "Hosp",
  "Insp",
  "Lt",
  "MM",
  "MR",
  "MRS",
  "MS",
  "Maj",
  "Messrs",
  "Mlle",
  "Mme",
  "Mr",
  "Mrs",
  "Ms",
  "Msgr",
  "Op",
  "Ord",
  "Pfc",
  "Ph",
  "Prof",
  "Pvt",
  "Rep",
  "Reps",
  "Res",
  "Rev",
  "Rt",
  "Sen",
  "Sens",
  "Sfc",
  "Sgt",
  "Sr",
  "St",
  "Supt",
  "Surg",
  "v",
  "vs",
  "i.e",
  "rev",
  "e.g",
  "Nos",
  "Nr",
];
const NONBREAKING_NUMERIC = ["No", "Art", "pp"];
const NONBREAKING = new Map<string, "any" | "numeric">([
  ...NONBREAKING_ANY.map((p) => [p, "any"] as const),
  ...NONBREAKING_NUMERIC.map((p) => [p, "numeric"] as const),
]);

/** Java's String.trim(): strips every leading and trailing char <= U+0020 (and nothing else). */
export function javaTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start++;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

const TOKEN_DELIMS = /[ \t\n\r\f]+/;

/** java.util.StringTokenizer with its default delimiters (space, tab, newline, CR, form feed). */
export function javaTokens(s: string): string[] {
  return s.split(TOKEN_DELIMS).filter((t) => t.length > 0);
}

/** Java's String.hashCode(): METEOR compares words by this key, not by the strings. */
export function javaHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** METEOR 1.5's English normalisation with punctuation kept (`-norm`), before lower-casing. */
export function normalizeEnglish(line: string): string {
  let w = ` ${line} `;
  w = w.replace(SEP_OTHER, " $1 ");

  // Protect runs of dots.
  w = w.replace(MULTI_DOT, " DOTMULTI$1");
  while (w.includes("DOTMULTI.")) {
    w = w.replace(MULTI_DOT_NEXT, "DOTDOTMULTI $1");
    w = w.replaceAll("DOTMULTI.", "DOTDOTMULTI");
  }

  // Commas are split off except inside numbers.
  w = w.replace(COMMA_1, "$1 , $2");
  w = w.replace(COMMA_2, "$1 , $2");
  w = w.replace(COMMA_3, "$1 , $2");

  w = w.replace(SINGLE_QUOTES, "'");
  w = w.replace(DOUBLE_QUOTES, ' " ');
  w = w.replaceAll("\u2013", "-");
  w = w.replaceAll("--", "-");
  w = w.replace(INNER_DASH, "$1 $2");

  // English contractions are split to the right ("chef's" -> "chef 's").
  w = w.replace(APOS_1, "$1 ' $2");
  w = w.replace(APOS_2, "$1 ' $2");
  w = w.replace(APOS_3, "$1 ' $2");
  w = w.replace(APOS_4, "$1 '$2");
  w = w.replace(APOS_DIGIT_S, "$1 '$2");

  // Final dots are split off unless the word is a nonbreaking prefix.
  const words = javaTokens(w);
  let out = "";
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word.length > 1 && word.endsWith(".")) {
      const pre = word.slice(0, -1);
      const type = NONBREAKING.get(pre);
      const next = i < words.length - 1 ? words[i + 1] : undefined;
      if (pre.includes(".") && HAS_ALPHA.test(pre)) {
        out += word.replaceAll(".", ""); // U.S. -> US
      } else if (type === "any" || (next !== undefined && STARTS_LOWER.test(next))) {
        out += word;
      } else if (type === "numeric" && next !== undefined && STARTS_DIGIT.test(next)) {
        out += word;
      } else {
        out += `${pre} .`;
      }
    } else {
      out += word;
    }
    out += " ";
  }
  w = out;

  while (w.includes("DOTDOTMULTI")) w = w.replaceAll("DOTDOTMULTI", "DOTMULTI.");
  w = w.replaceAll("DOTMULTI", ".");
  return javaTrim(w.replace(WHITE, " "));
}

/** What METEOR's scorer aligns for one input string with `-norm`: normalised, lower-cased, tokenised. */
export function meteorWords(line: string): string[] {
  return javaTokens(normalizeEnglish(line).toLowerCase());
}
