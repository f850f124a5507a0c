/**
 * pycocoevalcap's PTB tokenisation of captions, in TypeScript.
 *
 * pycocoevalcap (tokenizer/ptbtokenizer.py) writes every caption of a batch on its own line
 * (after `caption.replace("\n", " ")`), runs Stanford CoreNLP 3.4.1's
 * `edu.stanford.nlp.process.PTBTokenizer -preserveLines -lowerCase` over the file, splits each
 * output line on single spaces and drops the tokens in its PUNCTUATIONS list. `ptbTokenize` gives
 * that string for one caption without Java: a lexer whose rules were worked out by running the
 * real tokenizer on probe strings (test/fixtures/goldens/coco/ptb-probes.json holds some of them).
 * Like the JFlex scanner it imitates, it takes the longest match among its rules at each
 * position (a rule's trailing context counts towards the length), the earlier rule on a tie.
 *
 * What the reference does and this reproduces, in short:
 * - contractions split off: "it's" -> "it 's", "don't" -> "do n't", "can't" -> "ca n't",
 *   "cannot" -> "can not", "gonna" -> "gon na"; "'s" "'re" "'ve" "'ll" "'d" "'m" and "n't"
 *   written with ’ come out with '; possessive "players'" -> "players" (the ' is dropped as a
 *   quote); "o'clock", "O'Neil", "ma'am", "'em", "'90s" stay whole;
 * - numbers with "," "." ":" stay whole ("1,000", "3.5", "2:30"), "$5" -> "$ 5", "10%" -> "10 %",
 *   fractions "1 1/2" become one token with a no-break space, "½" -> "1/2", "¢" -> "cents",
 *   "£" -> "#", "€" -> "$";
 * - hyphenated words and slash pairs stay whole ("black-and-white", "t-shirt", "and/or");
 *   "--", "—", "–" -> "--" (dropped);
 * - known abbreviations, initials and acronyms keep their period ("mr.", "st.", "u.s.a.");
 * - brackets become -lrb- -rrb- -lsb- -rsb- -lcb- -rcb- (which pycocoevalcap does not drop: its
 *   list has the upper-case forms, and the text is lower-cased first); quotes, ".", ",", ";",
 *   ":", "?", "!", "-", "--", "..." alone are dropped, while runs like "?!" or "!!!" stay;
 * - characters the reference cannot tokenise (emoji and everything outside the BMP, private
 *   use, unassigned code points, some symbols) are deleted, acting as a token break.
 *
 * Line breaks: pycocoevalcap replaces "\n" by a space, but Java's tokenizer also ends a line at
 * "\r", "\u000b", "\u000c", "\u2028" and "\u2029", so a caption holding one of those (a "\r\n"
 * included) shifts every later caption of the batch onto the wrong image in the reference. Here
 * they are spaces, as "\n" is: each caption keeps its own tokens.
 *
 * Neighbours: the reference lexes a batch as one text, and a few rules look past a caption's end
 * into the next one ("vitamin C." keeps its period unless the next caption starts with "A ",
 * "The ", ...; "no." keeps it before a digit). `tokenizeCaptions` passes each caption the next
 * ones as that context and lets the last one end the input, as the reference does; `ptbTokenize`
 * tokenises a caption as if a line break and nothing else followed it.
 *
 * Checked against the real tokenizer on the COCO test set, the probe goldens and some hundred
 * thousand fuzzed strings (ASCII, typographic and other Unicode, number runs). Known gaps, all far
 * from caption text: behaviour that only shows at the very end of the input (an initial followed
 * by a last caption that is a bare "The"), and some runs of digits, slashes and hyphens such as
 * "155/3448 9661-086" that the reference joins with no-break spaces.
 */
import type { ImageId } from "./types.js";

/** What pycocoevalcap drops after tokenising (its PUNCTUATIONS; "-LRB-" etc. never match). */
export const PTB_PUNCTUATIONS: ReadonlySet<string> = new Set([
  "''",
  "'",
  "``",
  "`",
  "-LRB-",
  "-RRB-",
  "-LCB-",
  "-RCB-",
  ".",
  "?",
  "!",
  ",",
  ":",
  "-",
  "--",
  "...",
  ";",
]);

// Character tables, measured by running the reference over every BMP code point alone ("x c y"),
// inside a word ("xcy") and between digits ("5c5"). ALNUM_EXTRA: non-ASCII characters that join
// letters and digits into words; MARK_EXTRA: ones that join letters but start a new token after a
// digit (combining marks and the like); DIGIT_EXTRA: non-ASCII decimal digits; DELETED: ones the
// reference drops (with a token break).
const ALNUM_EXTRA =
  "\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02c1\u02c6-\u02d1\u02e0-\u02e4\u02ec" +
  "\u02ee\u0370-\u0374\u0376\u0377\u037a-\u037d\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-" +
  "\u03f5\u03f7-\u0481\u048a-\u0527\u0531-\u0556\u0559\u0561-\u0587\u05d0-\u05ea\u05f0-\u05f2" +
  "\u0620-\u064a\u066e\u066f\u0671-\u06d3\u06d5\u06e5\u06e6\u06ee\u06ef\u06fa-\u06fc\u06ff" +
  "\u0710\u0712-\u072f\u074d-\u07a5\u07b1\u07ca-\u07ea\u07f4\u07f5\u07fa\u0800-\u0815\u081a" +
  "\u0824\u0828\u0840-\u0858\u08a0\u08a2-\u08ac\u0904-\u0939\u093d\u0950\u0958-\u0961\u0971-" +
  "\u0977\u0979-\u097f\u0985-\u098c\u098f\u0990\u0993-\u09a8\u09aa-\u09b0\u09b2\u09b6-\u09b9" +
  "\u09bd\u09ce\u09dc\u09dd\u09df-\u09e1\u09f0\u09f1\u0a05-\u0a0a\u0a0f\u0a10\u0a13-\u0a28" +
  "\u0a2a-\u0a30\u0a32\u0a33\u0a35\u0a36\u0a38\u0a39\u0a59-\u0a5c\u0a5e\u0a72-\u0a74\u0a85-" +
  "\u0a8d\u0a8f-\u0a91\u0a93-\u0aa8\u0aaa-\u0ab0\u0ab2\u0ab3\u0ab5-\u0ab9\u0abd\u0ad0\u0ae0" +
  "\u0ae1\u0b05-\u0b0c\u0b0f\u0b10\u0b13-\u0b28\u0b2a-\u0b30\u0b32\u0b33\u0b35-\u0b39\u0b3d" +
  "\u0b5c\u0b5d\u0b5f-\u0b61\u0b71\u0b83\u0b85-\u0b8a\u0b8e-\u0b90\u0b92-\u0b95\u0b99\u0b9a" +
  "\u0b9c\u0b9e\u0b9f\u0ba3\u0ba4\u0ba8-\u0baa\u0bae-\u0bb9\u0bd0\u0c05-\u0c0c\u0c0e-\u0c10" +
  "\u0c12-\u0c28\u0c2a-\u0c33\u0c35-\u0c39\u0c3d\u0c58\u0c59\u0c60\u0c61\u0c85-\u0c8c\u0c8e-" +
  "\u0c90\u0c92-\u0ca8\u0caa-\u0cb3\u0cb5-\u0cb9\u0cbd\u0cde\u0ce0\u0ce1\u0cf1\u0cf2\u0d05-" +
  "\u0d0c\u0d0e-\u0d10\u0d12-\u0d3a\u0d3d\u0d4e\u0d60\u0d61\u0d7a-\u0d7f\u0d85-\u0d96\u0d9a-" +
  "\u0db1\u0db3-\u0dbb\u0dbd\u0dc0-\u0dc6\u0e01-\u0e30\u0e32\u0e33\u0e40-\u0e46\u0e81\u0e82" +
  "\u0e84\u0e87\u0e88\u0e8a\u0e8d\u0e94-\u0e97\u0e99-\u0e9f\u0ea1-\u0ea3\u0ea5\u0ea7\u0eaa" +
  "\u0eab\u0ead-\u0eb0\u0eb2\u0eb3\u0ebd\u0ec0-\u0ec4\u0ec6\u0edc-\u0edf\u0f00\u0f40-\u0f47" +
  "\u0f49-\u0f6c\u0f88-\u0f8c\u1000-\u102a\u103f\u1050-\u1055\u105a-\u105d\u1061\u1065\u1066" +
  "\u106e-\u1070\u1075-\u1081\u108e\u10a0-\u10c5\u10c7\u10cd\u10d0-\u10fa\u10fc-\u1248\u124a-" +
  "\u124d\u1250-\u1256\u1258\u125a-\u125d\u1260-\u1288\u128a-\u128d\u1290-\u12b0\u12b2-\u12b5" +
  "\u12b8-\u12be\u12c0\u12c2-\u12c5\u12c8-\u12d6\u12d8-\u1310\u1312-\u1315\u1318-\u135a" +
  "\u1380-\u138f\u13a0-\u13f4\u1401-\u166c\u166f-\u167f\u1681-\u169a\u16a0-\u16ea\u1700-" +
  "\u170c\u170e-\u1711\u1720-\u1731\u1740-\u1751\u1760-\u176c\u176e-\u1770\u1780-\u17b3\u17d7" +
  "\u17dc\u1820-\u1877\u1880-\u18a8\u18aa\u18b0-\u18f5\u1900-\u191c\u1950-\u196d\u1970-\u1974" +
  "\u1980-\u19ab\u19c1-\u19c7\u1a00-\u1a16\u1a20-\u1a54\u1aa7\u1b05-\u1b33\u1b45-\u1b4b" +
  "\u1b83-\u1ba0\u1bae\u1baf\u1bba-\u1be5\u1c00-\u1c23\u1c4d-\u1c4f\u1c5a-\u1c7d\u1ce9-\u1cec" +
  "\u1cee-\u1cf1\u1cf5\u1cf6\u1d00-\u1dbf\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d" +
  "\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4" +
  "\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2071\u207f" +
  "\u2090-\u209c\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d" +
  "\u212f-\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c2e\u2c30-\u2c5e\u2c60-" +
  "\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\u2d00-\u2d25\u2d27\u2d2d\u2d30-\u2d67\u2d6f\u2d80-\u2d96" +
  "\u2da0-\u2da6\u2da8-\u2dae\u2db0-\u2db6\u2db8-\u2dbe\u2dc0-\u2dc6\u2dc8-\u2dce\u2dd0-" +
  "\u2dd6\u2dd8-\u2dde\u2e2f\u3005\u3006\u3031-\u3035\u303b\u303c\u3041-\u3096\u309d-\u309f" +
  "\u30a1-\u30fa\u30fc-\u30ff\u3105-\u312d\u3131-\u318e\u31a0-\u31ba\u31f0-\u31ff\u3400-" +
  "\u4db5\u4e00-\u9fcc\ua000-\ua48c\ua4d0-\ua4fd\ua500-\ua60c\ua610-\ua61f\ua62a\ua62b\ua640-" +
  "\ua66e\ua67f-\ua697\ua6a0-\ua6e5\ua717-\ua71f\ua722-\ua788\ua78b-\ua78e\ua790-\ua793" +
  "\ua7a0-\ua7aa\ua7f8-\ua801\ua803-\ua805\ua807-\ua80a\ua80c-\ua822\ua840-\ua873\ua882-" +
  "\ua8b3\ua8f2-\ua8f7\ua8fb\ua90a-\ua925\ua930-\ua946\ua960-\ua97c\ua984-\ua9b2\ua9cf\uaa00-" +
  "\uaa28\uaa40-\uaa42\uaa44-\uaa4b\uaa60-\uaa76\uaa7a\uaa80-\uaaaf\uaab1\uaab5\uaab6\uaab9-" +
  "\uaabd\uaac0\uaac2\uaadb-\uaadd\uaae0-\uaaea\uaaf2-\uaaf4\uab01-\uab06\uab09-\uab0e\uab11-" +
  "\uab16\uab20-\uab26\uab28-\uab2e\uabc0-\uabe2\uac00-\ud7a3\ud7b0-\ud7c6\ud7cb-\ud7fb" +
  "\uf900-\ufa6d\ufa70-\ufad9\ufb00-\ufb06\ufb13-\ufb17\ufb1d\ufb1f-\ufb28\ufb2a-\ufb36" +
  "\ufb38-\ufb3c\ufb3e\ufb40\ufb41\ufb43\ufb44\ufb46-\ufbb1\ufbd3-\ufd3d\ufd50-\ufd8f\ufd92-" +
  "\ufdc7\ufdf0-\ufdfb\ufe70-\ufe74\ufe76-\ufefc\uff21-\uff3a\uff41-\uff5a\uff66-\uffbe" +
  "\uffc2-\uffc7\uffca-\uffcf\uffd2-\uffd7\uffda-\uffdc";
const MARK_EXTRA =
  "\u02c2-\u02c5\u02d2-\u02df\u02e5-\u02eb\u02ed\u02ef-\u036f\u0375\u0378\u0379\u0384\u0385" +
  "\u03f6\u0483-\u0487\u055a-\u055f\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u0615-" +
  "\u061a\u064b-\u065e\u0670\u06d6-\u06e4\u06e7-\u06ed\u06fd\u06fe\u070f\u0711\u0730-\u074c" +
  "\u07a6-\u07b0\u07eb-\u07f3\u0900-\u0903\u093c\u093e-\u094e\u0951-\u0955\u0962\u0963\u0981-" +
  "\u0983\u09bc\u09be-\u09c4\u09c7\u09c8\u09cb-\u09cd\u09d7\u09e2\u09e3\u0a01-\u0a03\u0a3c" +
  "\u0a3e-\u0a4f\u0a81-\u0a83\u0abc\u0abe-\u0acf\u0b82\u0bbe-\u0bc2\u0bc6-\u0bc8\u0bca-\u0bcd" +
  "\u0c01-\u0c03\u0c3e-\u0c56\u0d3e-\u0d44\u0d46-\u0d48\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1" +
  "\u0eb4-\u0ebc\u0ec8-\u0ecd";
const DELETED =
  "\u0000-\u0008\u000e-\u001f\u007f\u0081-\u0084\u0086-\u0090\u0095\u0098-\u009f\u037f-\u0383" +
  "\u038b\u038d\u03a2\u0482\u0488\u0489\u0528-\u0530\u0557\u0558\u0560\u0588\u058b-\u0590" +
  "\u05c8-\u05cf\u05eb-\u05ef\u05f5-\u05ff\u0604\u0605\u060d-\u0613\u061c\u061d\u065f\u070e" +
  "\u07b2-\u07bf\u07f9\u07fb-\u07ff\u0816-\u0819\u081b-\u0823\u0825-\u0827\u0829-\u083f" +
  "\u0859-\u089f\u08a1\u08ad-\u08ff\u093a\u093b\u094f\u0956\u0957\u0970\u0978\u0980\u0984" +
  "\u098d\u098e\u0991\u0992\u09a9\u09b1\u09b3-\u09b5\u09ba\u09bb\u09c5\u09c6\u09c9\u09ca" +
  "\u09cf-\u09d6\u09d8-\u09db\u09de\u09e4\u09e5\u09f2-\u0a00\u0a04\u0a0b-\u0a0e\u0a11\u0a12" +
  "\u0a29\u0a31\u0a34\u0a37\u0a3a\u0a3b\u0a3d\u0a50-\u0a58\u0a5d\u0a5f-\u0a65\u0a70\u0a71" +
  "\u0a75-\u0a80\u0a84\u0a8e\u0a92\u0aa9\u0ab1\u0ab4\u0aba\u0abb\u0ad1-\u0adf\u0ae2-\u0ae5" +
  "\u0af0-\u0b04\u0b0d\u0b0e\u0b11\u0b12\u0b29\u0b31\u0b34\u0b3a-\u0b3c\u0b3e-\u0b5b\u0b5e" +
  "\u0b62-\u0b65\u0b70\u0b72-\u0b81\u0b84\u0b8b-\u0b8d\u0b91\u0b96-\u0b98\u0b9b\u0b9d\u0ba0-" +
  "\u0ba2\u0ba5-\u0ba7\u0bab-\u0bad\u0bba-\u0bbd\u0bc3-\u0bc5\u0bc9\u0bce\u0bcf\u0bd1-\u0be5" +
  "\u0bf0-\u0c00\u0c04\u0c0d\u0c11\u0c29\u0c34\u0c3a-\u0c3c\u0c57\u0c5a-\u0c5f\u0c62-\u0c65" +
  "\u0c70-\u0c84\u0c8d\u0c91\u0ca9\u0cb4\u0cba-\u0cbc\u0cbe-\u0cdd\u0cdf\u0ce2-\u0ce5\u0cf0" +
  "\u0cf3-\u0d04\u0d0d\u0d11\u0d3b\u0d3c\u0d45\u0d49-\u0d4d\u0d4f-\u0d5f\u0d62-\u0d65\u0d70-" +
  "\u0d79\u0d80-\u0d84\u0d97-\u0d99\u0db2\u0dbc\u0dbe\u0dbf\u0dc7-\u0e00\u0e3b-\u0e3e\u0e5a-" +
  "\u0e80\u0e83\u0e85\u0e86\u0e89\u0e8b\u0e8c\u0e8e-\u0e93\u0e98\u0ea0\u0ea4\u0ea6\u0ea8" +
  "\u0ea9\u0eac\u0ebe\u0ebf\u0ec5\u0ec7\u0ece\u0ecf\u0eda\u0edb\u0ee0-\u0eff\u0f01-\u0f1f" +
  "\u0f2a-\u0f3f\u0f48\u0f6d-\u0f87\u0f8d-\u0fff\u102b-\u103e\u104a-\u104f\u1056-\u1059" +
  "\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074\u1082-\u108d\u108f\u109a-\u109f\u10c6" +
  "\u10c8-\u10cc\u10ce\u10cf\u10fb\u1249\u124e\u124f\u1257\u1259\u125e\u125f\u1289\u128e" +
  "\u128f\u12b1\u12b6\u12b7\u12bf\u12c1\u12c6\u12c7\u12d7\u1311\u1316\u1317\u135b-\u137f" +
  "\u1390-\u139f\u13f5-\u1400\u166d\u166e\u1680\u169b-\u169f\u16eb-\u16ff\u170d\u1712-\u171f" +
  "\u1732-\u173f\u1752-\u175f\u176d\u1771-\u177f\u17b4-\u17d6\u17d8-\u17db\u17dd-\u17df" +
  "\u17ea-\u180f\u181a-\u181f\u1878-\u187f\u18a9\u18ab-\u18af\u18f6-\u18ff\u191d-\u1945\u196e" +
  "\u196f\u1975-\u197f\u19ac-\u19c0\u19c8-\u19cf\u19da-\u19ff\u1a17-\u1a1f\u1a55-\u1a7f" +
  "\u1a8a-\u1a8f\u1a9a-\u1aa6\u1aa8-\u1b04\u1b34-\u1b44\u1b4c-\u1b4f\u1b5a-\u1b82\u1ba1-" +
  "\u1bad\u1be6-\u1bff\u1c24-\u1c3f\u1c4a-\u1c4c\u1c7e-\u1ce8\u1ced\u1cf2-\u1cf4\u1cf7-\u1cff" +
  "\u1dc0-\u1dff\u1f16\u1f17\u1f1e\u1f1f\u1f46\u1f47\u1f4e\u1f4f\u1f58\u1f5a\u1f5c\u1f5e" +
  "\u1f7e\u1f7f\u1fb5\u1fbf-\u1fc1\u1fc5\u1fcd-\u1fcf\u1fd4\u1fd5\u1fdc-\u1fdf\u1fed-\u1ff1" +
  "\u1ff5\u1ffd-\u200f\u2012\u2024\u2025\u2027\u202a-\u202f\u203c\u203d\u2043\u2045-\u206f" +
  "\u2072\u2073\u208f\u209d-\u209f\u20a1-\u20a3\u20a5-\u20ab\u20ad-\u20ff\u2150-\u2152\u215f-" +
  "\u2182\u2185-\u218f\u2c2f\u2c5f\u2ce5-\u2cea\u2cef-\u2cf1\u2cf4-\u2cff\u2d26\u2d28-\u2d2c" +
  "\u2d2e\u2d2f\u2d68-\u2d6e\u2d70-\u2d7f\u2d97-\u2d9f\u2da7\u2daf\u2db7\u2dbf\u2dc7\u2dcf" +
  "\u2dd7\u2ddf-\u2e2e\u2e30-\u3000\u3003\u3004\u3007-\u3011\u3013-\u3030\u3036-\u303a\u303d-" +
  "\u3040\u3097-\u309c\u30a0\u3100-\u3104\u312e-\u3130\u318f-\u319f\u31bb-\u31ef\u3200-\u33ff" +
  "\u4db6-\u4dff\u9fcd-\u9fff\ua48d-\ua4cf\ua4fe\ua4ff\ua60d-\ua60f\ua62c-\ua63f\ua66f-\ua67e" +
  "\ua698-\ua69f\ua6e6-\ua716\ua720\ua721\ua789\ua78a\ua78f\ua794-\ua79f\ua7ab-\ua7f7\ua802" +
  "\ua806\ua80b\ua823-\ua83f\ua874-\ua881\ua8b4-\ua8cf\ua8da-\ua8f1\ua8f8-\ua8fa\ua8fc-\ua8ff" +
  "\ua926-\ua92f\ua947-\ua95f\ua97d-\ua983\ua9b3-\ua9ce\ua9da-\ua9ff\uaa29-\uaa3f\uaa43" +
  "\uaa4c-\uaa4f\uaa5a-\uaa5f\uaa77-\uaa79\uaa7b-\uaa7f\uaab0\uaab2-\uaab4\uaab7\uaab8\uaabe" +
  "\uaabf\uaac1\uaac3-\uaada\uaade\uaadf\uaaeb-\uaaf1\uaaf5-\uab00\uab07\uab08\uab0f\uab10" +
  "\uab17-\uab1f\uab27\uab2f-\uabbf\uabe3-\uabef\uabfa-\uabff\ud7a4-\ud7af\ud7c7-\ud7ca" +
  "\ud7fc-\ud7ff\ue000-\uf8ff\ufa6e\ufa6f\ufada-\ufaff\ufb07-\ufb12\ufb18-\ufb1c\ufb1e\ufb29" +
  "\ufb37\ufb3d\ufb3f\ufb42\ufb45\ufbb2-\ufbd2\ufd3e-\ufd4f\ufd90\ufd91\ufdc8-\ufdef\ufdfc-" +
  "\ufe6f\ufe75\ufefd-\uff00\uffbf-\uffc1\uffc8\uffc9\uffd0\uffd1\uffd8\uffd9\uffdd-\uffdf" +
  "\uffe2-\uffe4\uffe7-\uffff";
const DIGIT_EXTRA =
  "\u0660-\u0669\u06f0-\u06f9\u07c0-\u07c9\u0966-\u096f\u09e6-\u09ef\u0a66-\u0a6f\u0ae6-" +
  "\u0aef\u0b66-\u0b6f\u0be6-\u0bef\u0c66-\u0c6f\u0ce6-\u0cef\u0d66-\u0d6f\u0e50-\u0e59" +
  "\u0ed0-\u0ed9\u0f20-\u0f29\u1040-\u1049\u1090-\u1099\u17e0-\u17e9\u1810-\u1819\u1946-" +
  "\u194f\u19d0-\u19d9\u1a80-\u1a89\u1a90-\u1a99\u1b50-\u1b59\u1bb0-\u1bb9\u1c40-\u1c49" +
  "\u1c50-\u1c59\ua620-\ua629\ua8d0-\ua8d9\ua900-\ua909\ua9d0-\ua9d9\uaa50-\uaa59\uabf0-" +
  "\uabf9\uff10-\uff19";

const SOFT_HYPHEN = "\u00ad";
/** White space: skipped between tokens. */
const SPACE_RE = /^[ \t\n\r\u000b\u000c\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff]$/;
/**
 * Characters that are no token of their own where no rule matches from them: the deleted ones,
 * UTF-16 surrogates (the reference works on UTF-16 units, so emoji and everything else outside
 * the BMP is deleted, though a few rules such as "😀example.com" take them along) and the hyphens
 * that only join words.
 */
const DELETED_RE = new RegExp(`^[${DELETED}\\ud800-\\udfff\\u058a\\u2010\\u2011]$`);

const D = `0-9${DIGIT_EXTRA}`;
const AL = `A-Za-z${ALNUM_EXTRA}`; // letters that also join digits
const A = `[${AL}${D}]`; // alphanumeric
const ENTITY_LETTER = "&[aeiouAEIOU](?:acute|grave|uml);"; // "caf&eacute;" is one word
const L = `(?:[${AL}${MARK_EXTRA}${SOFT_HYPHEN}]|${ENTITY_LETTER})`; // word letter (soft hyphens dropped)
const LN = `[${AL}]`; // a letter proper: no combining marks, no soft hyphen
const LD_ = `(?:[${AL}${MARK_EXTRA}${D}${SOFT_HYPHEN}]|${ENTITY_LETTER})`;
const DG = `[${D}]`;
const HY = "[-_\u058a\u2010\u2011]";

/**
 * Abbreviations that keep their period wherever they stand (case-insensitive). The first list's
 * rule looks two characters past the period (which makes it win over a longer word, as in
 * "Inc.o'clock" -> "inc." "o'clock"); the second's does not ("Mr.Smith" is one word).
 */
const ABBREVIATIONS_CONTEXT = [
  "sr",
  "jr",
  "rd",
  "blvd",
  "co",
  "corp",
  "inc",
  "ltd",
  "bros",
  "etc",
  "jan",
  "feb",
  "mar",
  "apr",
  "jun",
  "jul",
  "aug",
  "sept",
  "sep",
  "oct",
  "nov",
  "dec",
  "mon",
  "tue",
  "tues",
  "wed",
  "thu",
  "thurs",
  "fri",
  "univ",
  "assn",
  "esq",
  "ct",
  "bldg",
  "al",
  "calif",
  "mass",
  "conn",
  "penn",
  "va",
  "wash",
  "wis",
  "mich",
  "minn",
  "fla",
  "ga",
  "ill",
  "ind",
  "kan",
  "ky",
  "la",
  "md",
  "mo",
  "neb",
  "nev",
  "okla",
  "ore",
  "pa",
  "tenn",
  "tex",
  "vt",
  "ariz",
  "ark",
  "colo",
  "del",
  "mont",
  "wyo",
  "ala",
  "miss",
  "intl",
  "est",
  "ext",
  "sq",
  "tel",
  "cos",
  "plc",
  "pty",
  "ph\\.d",
  "dak",
  "rt",
  "seq",
];
const ABBREVIATIONS = [
  "mr",
  "ms",
  "mrs",
  "dr",
  "prof",
  "st",
  "ave",
  "mt",
  "ft",
  "vs",
  "gen",
  "gov",
  "sen",
  "rep",
  "lt",
  "col",
  "capt",
  "sgt",
  "rev",
  "hon",
  "pres",
  "dept",
  "adm",
  "brig",
  "cmdr",
  "cpl",
  "maj",
  "messrs",
  "msgr",
  "pvt",
  "supt",
  "ste",
  "cf",
  "natl",
  "assoc",
  "mfg",
  "ph",
  "mme",
  "mlle",
  "jos",
  "adj",
  "adv",
  "asst",
  "atty",
  "comdr",
  "det",
  "elec",
  "ens",
  "insp",
  "lieut",
  "treas",
];
/** Words that, capitalised and followed by a space, end a sentence after an initial. */
const SENTENCE_STARTS = [
  "a",
  "an",
  "the",
  "this",
  "that",
  "these",
  "it",
  "he",
  "she",
  "we",
  "they",
  "there",
  "their",
  "in",
  "at",
  "but",
  "so",
  "if",
  "when",
  "what",
  "one",
  "her",
  "you",
  "our",
  "then",
  "as",
  "some",
  "many",
  "here",
  "now",
  "after",
  "while",
  "since",
  "such",
  "yet",
  "however",
  "last",
  "mr.",
  "ms.",
];
/** "the" -> "T[hH][eE]": upper-case first letter, any case after it. */
const capitalised = (w: string) => w[0].toUpperCase() + [...w.slice(1)].map((c) => `[${c}${c.toUpperCase()}]`).join("");
/**
 * The abbreviations are matched in any case, except these, which are words as well: lower-case
 * "mass." "ill." "miss." lose their period, and so do upper-case "PTY." "MFG.".
 */
const CAPITALISED_ONLY = new Set(["mass", "wash", "ill", "la", "ore", "pa", "tex", "ark", "del", "miss"]);
const NOT_UPPER = new Set(["pty", "mfg"]);
const anyCase = (w: string) => [...w].map((c) => (/[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : c)).join("");
function abbreviation(w: string): string {
  if (CAPITALISED_ONLY.has(w)) return capitalised(w);
  if (NOT_UPPER.has(w)) return `[${w[0]}${w[0].toUpperCase()}]${w.slice(1)}`;
  return anyCase(w);
}
/** File name extensions: "2.txt" and "2.x" are one token (before a space or . , ! ?). */
const FILE_EXTENSIONS = [
  "c",
  "h",
  "x",
  "txt",
  "jpg",
  "jpeg",
  "html",
  "htm",
  "pdf",
  "doc",
  "docx",
  "exe",
  "py",
  "java",
  "cpp",
  "gz",
  "zip",
  "png",
  "gif",
  "xml",
  "php",
  "ps",
  "mp3",
  "wav",
  "mov",
  "ppt",
  "tar",
  "bat",
];
/** Abbreviations that keep their period only before a number. */
const NUMBER_ABBREVIATIONS = ["no", "nos", "pp", "fig", "figs", "ca", "op", "art"];
/** Words with an apostrophe that stay whole (case-insensitive), with ' or ’ ... */
const APOSTROPHE_WORDS = ["'em", "'cause", "'till?", "'n'", "dunkin'", "somethin'", "ol'", "c'est", "'[2-9]0s"].map((w) => w.replace(/'/g, "['\u2019]"));
/** ... and with ' only; "o'o" takes any of ' ’ ‘ `. */
const STRAIGHT_APOSTROPHE_WORDS = ["li'l", "ev'ry", "nat'l", "c'mon", "e'er", "s'mores", "nor'easter", "cont'd\\.?", "o['\u2019\u2018`]o"];

type Emit = (text: string) => string[];
interface Rule {
  name: string;
  re: RegExp;
  /** Group 1 is what the rule consumes; the rest of the match is trailing context. */
  context?: boolean;
  emit?: Emit;
}

const same: Emit = (t) => [t];
const noSoftHyphen: Emit = (t) => [t.split(SOFT_HYPHEN).join("")];
const nbsp: Emit = (t) => [t.replace(/ /g, "\u00a0")];
const brackets: Record<string, string> = { "(": "-LRB-", ")": "-RRB-", "[": "-LSB-", "]": "-RSB-", "{": "-LCB-", "}": "-RCB-" };
const currency: Record<string, string> = { "\u00a2": "cents", "\u00a3": "#", "\u20ac": "$", "\u00a4": "$", "\u0080": "$", "\u20a0": "$" };
/** Quote characters and what they become (alone or in pairs: "‘’" -> "`'", which is kept). */
const QUOTES: Record<string, string> = {
  "\u2018": "`",
  "\u2019": "'",
  "\u201b": "`",
  "\u201c": "``",
  "\u201d": "''",
  "\u00ab": "``",
  "\u00bb": "''",
  "\u2039": "`",
  "\u203a": "'",
  "\u0091": "`",
  "\u0092": "'",
  "\u0093": "``",
  "\u0094": "''",
  "\u201a": "\u201a",
  "\u201e": "\u201e",
  "\u201f": "\u201f",
};
const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": "''", "&apos;": "'" };
const fractions: Record<string, string> = { "\u00bc": "1/4", "\u00bd": "1/2", "\u00be": "3/4", "\u2153": "1/3", "\u2154": "2/3" };

function rule(name: string, pattern: string, emit: Emit = same, flags = "", context = false): Rule {
  return { name, re: new RegExp(pattern, `y${flags}`), emit, context };
}
function ctx(name: string, pattern: string, emit: Emit = same, flags = ""): Rule {
  return rule(name, pattern, emit, flags, true);
}

const WORD = `${L}${LD_}*(?:[.!?]${L}${LD_}*)*`;
const APOS = "['\u2019]";
const ANY_APOS = "['\u2019`\u2018]"; // the apostrophes that join letters
const PREFIX = `(?:[dDoOlL]${ANY_APOS}${A})?`; // "o'clock", "l'amour" inside a hyphenated thing
const THING = `${PREFIX}${A}+(?:${HY}${PREFIX}${A}+)*`;
/** "'s" "'m" "'d" "'re" "'ve" "'ll": with ’ even before a letter ("’sa" -> "'s" "a"), with ' not. */
const AUX = "(?:\u2019(?:s|m|d|re|ve|ll)|'(?:s|m|d|re|ve|ll)(?![A-Za-z]))";
const ANY_AUX = "['\u2019](?:s|m|d|re|ve|ll)";
const NUMBER = `[-+]?(?:${DG}+(?:[.:,\u066b\u066c${SOFT_HYPHEN}]${DG}+)*|(?:[.:,\u066b\u066c${SOFT_HYPHEN}]${DG}+)+)`;
/** "vs.T-shirt", "i.e.well-known", "A-U.S.": dots and commas before hyphenated parts. */
const HTHING = `[A-Za-z0-9][A-Za-z0-9.,${SOFT_HYPHEN}]*(?:-(?:[A-Za-z](?:\\.[A-Za-z])+\\.|[A-Za-z0-9${SOFT_HYPHEN}]+))+`;
const PHONE_TAIL = "[0-9]{3,4}[- \\u00a0]?[0-9]{3,5}";
const THINGA = "[A-Z]+(?:(?:[+&]|&amp;)[A-Z]+)+"; // "AT&T", "A+M"
const SLASH = "\\\\?\\/";
const SLASH_PART = "[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}";
const TAG_NAME = "[A-Za-z][A-Za-z0-9_.:-]*";
const TAG_ATTRIBUTE = `${TAG_NAME}(?: *= *(?:"[^"\\n]*"|'[^'\\n]*'))?`;
const EYE = "[\\^~=><\\-x']";
const EYE_NO_DASH = "[\\^~=><x']";
const SGML = `<(?:[!?][A-Za-z-][^<>\\n]*|\\/?${TAG_NAME}(?: +${TAG_ATTRIBUTE})* *\\/? *)>`;
const NOT_URL = ` \\t\\n\\f\\r\\u00a0"<>|()\\{\\}`;

const RULES: Rule[] = [
  rule("soft-hyphen", SOFT_HYPHEN, () => ["-"]), // alone; inside words it is dropped
  rule("sgml", SGML, nbsp),
  rule("url", `https?:\\/\\/[^${NOT_URL}]*\\.[^${NOT_URL}]*[^${NOT_URL}.!?,-]`, same, "i"),
  rule(
    "likely-url",
    `(?:www\\.(?:[^${NOT_URL}.!?,]+\\.)+[A-Za-z]{2,4}|(?:[^${NOT_URL}\`'.!?\\u002c-\\u005f$]+\\.)+(?:com|net|org|edu))` +
      `(?:\\/[^${NOT_URL}]+[^${NOT_URL}.!?,-])?`,
  ),
  rule("email", `(?:&lt;|<)?[A-Za-z0-9][^${NOT_URL}]*@(?:[^${NOT_URL}.]+\\.)*[^${NOT_URL}.]+(?:&gt;|>)?`),
  rule("twitter", `@[A-Za-z_][A-Za-z_0-9]*`),
  rule("hashtag", `#${L}+`),
  rule("cannot", `(can)not(?![A-Za-z])`, same, "i", true),
  rule("gonna", `(gon|wan)na(?![A-Za-z])`, same, "i", true),
  rule("gotta", `(got)ta(?![A-Za-z])`, same, "i", true),
  rule("gimme", `(lem|gim)me(?![A-Za-z])`, same, "i", true),
  rule("tis", `(${APOS}t)(?:is|was)(?![A-Za-z])`, (t) => [`'${t.slice(1)}`], "i", true),
  ctx("n't-before", `([A-Za-z]*[A-MO-Za-mo-z])n${ANY_APOS}t`, same, "i"),
  rule("n't", `n${ANY_APOS}t(?![A-Za-z])`, (t) => [t.replace("\u2019", "'").replace("\u2018", "`")], "i"),
  // The word before "'s" etc. splits off whatever follows them ("gonna'dog" -> "gonna" "'" "dog").
  ctx("aux-before", `(${WORD}|${A}+)${ANY_AUX}`, noSoftHyphen, "i"),
  rule("aux", AUX, (t) => [`'${t.slice(1)}`], "i"),
  rule("apostrophe-word", `(?:${[...APOSTROPHE_WORDS, ...STRAIGHT_APOSTROPHE_WORDS].join("|")})`, same, "i"),
  rule("'n", "\u2019[nN]|'[nN](?=\\s|$)"),
  rule("apostrophe-year", `${APOS}[0-9]{2}(?=[\\s]|$)`),
  rule("o'clock", `[A-HJ-XZn]${ANY_APOS}${LN}{2,}`),
  rule("ma'am", `${LN}+[aeiouyAEIOUY]${ANY_APOS}[aeiouA-Z]${LN}*`),
  rule("c#", "[cCfF]#|[cC]\\+\\+"),
  ctx("d'", `([lLdDjJ]${APOS})[^]`),
  ctx("y'", `([yY]${APOS})(?![sSmMdD])${LN}`), // not before s, m, d
  ctx("number-abbreviation", `((?:${NUMBER_ABBREVIATIONS.join("|")})\\.)[ \\t\\n]?${DG}`, same, "i"),
  rule("initial", `[A-Za-z]\\.`),
  // An initial before a sentence-starting word or a tag loses its period: "m. The" -> "m" "." "the".
  ctx("initial-sentence-end", `([A-Za-z])\\.\\s+(?:(?:${SENTENCE_STARTS.map(capitalised).join("|")})\\s|${SGML})`),
  rule("acronym", `[A-Za-z]\\.(?:[A-Za-z]\\.)+`),
  ctx("word-dot", `((?:${WORD}|${THING}|${HTHING}|${THINGA})\\.)[,;:]`),
  ctx("filename", `(${A}[${AL}${D}.]*\\.(?:${FILE_EXTENSIONS.map(anyCase).join("|")}))[\\s.,!?]`),
  rule("date", `${DG}{1,2}[-/]${DG}{1,2}[-/]${DG}{2,4}`),
  rule("fraction", `(?:${DG}{1,4}[- \\u00a0])?${DG}{1,4}(?:\\\\?\\/|\\u2044)${DG}{1,4}`, nbsp),
  rule("number", NUMBER, noSoftHyphen),
  // Phone numbers: "(555) 123-4567", "555 123 4567", "0761 9270 6879"; spaces become no-break spaces.
  rule("phone", `(?:\\([0-9]{2,3}\\)[ \\u00a0]?|(?:\\+\\+?)?[0-9]{2,4}[- \\u00a0])${PHONE_TAIL}`, (t) => [
    t.replace(/[ ]/g, "\u00a0").replace(/[()]/g, (c) => brackets[c]),
  ]),
  rule("phone-long", `(?:\\+\\+?)?[0-9]{2,4}[- \\u00a0][0-9]{2,4}[- \\u00a0]${PHONE_TAIL}`, nbsp),
  rule("phone-dots", `(?:(?:\\+\\+?)?[0-9]\\.)?[0-9]{3}\\.[0-9]{3}\\.[0-9]{4}`),
  rule("(--)", `\\(--\\)`, () => ["-LRB----RRB-"]),
  rule("word", WORD, noSoftHyphen),
  ctx("abbreviation+2", `((?:${ABBREVIATIONS_CONTEXT.map(abbreviation).join("|")})\\.)[^][^]`),
  rule("abbreviation", `(?:${[...ABBREVIATIONS_CONTEXT, ...ABBREVIATIONS].map(abbreviation).join("|")})\\.`),
  rule("slash-word", `${SLASH_PART}(?:${SLASH}${SLASH_PART}){1,2}`),
  rule("dotted-hyphenated", HTHING, noSoftHyphen),
  rule("thing", THING),
  rule("thinga", THINGA, (t) => [t.replace(/&amp;/g, "&")]),
  rule("dollar", `[A-Z]*\\$`),
  rule("entity", `&(?:amp|lt|gt|quot|apos);`, (t) => [ENTITIES[t]]),
  rule("dash-entity", `&(?:mdash|ndash|MD);`, () => ["--"]),
  rule("kept-entity", `&(?:HT|TL|UR|LR|QC|QL|QR|odq|cdq|#[0-9]+);`),
  rule("nbsp-entity", `&nbsp;`, () => []),
  ctx("smiley", `([<>]?[:;=][-o'*]?[()\\[\\]{DdPpO|\\\\@])[^A-Za-z0-9]`, (t) => [t.replace(/[()]/g, (c) => brackets[c])]),
  rule("asian-smiley", `\\((?:${EYE}[._]?${EYE}|${EYE}-${EYE_NO_DASH})\\)|${EYE}_${EYE}`, (t) => [t.replace(/[()]/g, (c) => brackets[c])]),
  rule("ellipsis", `\\.{3,5}|(?:\\.[ \\u00a0]){2,4}\\.|[\\u2026\\u0085]`, () => ["..."]),
  rule("period", `\\.`),
  rule("exclamation", `[?!]+`),
  rule("comma", `[,;:\\u3001]`),
  rule("dash", `[\\u2013\\u2014\\u2015\\u0096\\u0097]`, () => ["--"]),
  rule("hyphens", `-+`, (t) => [t.length === 1 ? "-" : t.length <= 4 ? "--" : t]),
  rule("double-quote", `"`, () => ["''"]),
  rule("straight-quotes", "''?", (t) => [t]),
  rule("quotes", `[\`${Object.keys(QUOTES).join("")}]{1,2}`, (t) => [[...t].map((c) => QUOTES[c] ?? c).join("")]),
  rule("bracket", `[()\\[\\]{}]`, (t) => [brackets[t]]),
  rule("currency", `[\\u00a2\\u00a3\\u20ac\\u00a4\\u0080\\u20a0]`, (t) => [currency[t]]),
  rule("vulgar-fraction", `[\\u00bc\\u00bd\\u00be\\u2153\\u2154]`, (t) => [fractions[t]]),
  rule("angles", `<<|>>`),
  rule("runs", `\\*+|(?:\\\\\\*){1,3}|_+|#+|@+`),
];

const PLAIN_WORD = /[A-Za-z]+(?=[ \n]|$)/y;
const SPLIT_WORDS = /^(?:cannot|gonna|wanna|gotta|lemme|gimme)$/i;

interface Match {
  length: number;
  consumed: number;
  rule: Rule;
}

function longestMatch(text: string, pos: number): Match | null {
  let best: Match | null = null;
  for (const r of RULES) {
    r.re.lastIndex = pos;
    const m = r.re.exec(text);
    if (m === null || m[0].length === 0) continue;
    if (best === null || m[0].length > best.length) {
      best = { length: m[0].length, consumed: r.context ? m[1].length : m[0].length, rule: r };
    }
  }
  return best;
}

/**
 * The tokens the reference prints for one line of text (normalised, lower-cased, before the
 * punctuation removal). `following` is the text after the line's break (the next caption of the
 * batch), which a few rules look into as trailing context; null when the line ends the input.
 */
export function ptbLexLine(line: string, following: string | null = ""): string[] {
  const text = following === null ? line : `${line}\n${following}`;
  const tokens: string[] = [];
  let pos = 0;
  while (pos < line.length) {
    const ch = text[pos];
    if (SPACE_RE.test(ch)) {
      pos += 1;
      continue;
    }
    // Fast path: a plain ASCII word before a space or the line's end is a token as it stands,
    // except for the words the rules split ("cannot" -> "can" "not").
    PLAIN_WORD.lastIndex = pos;
    const plain = PLAIN_WORD.exec(text);
    if (plain !== null && pos + plain[0].length <= line.length && !SPLIT_WORDS.test(plain[0])) {
      tokens.push(plain[0]);
      pos += plain[0].length;
      continue;
    }
    const m = longestMatch(text, pos);
    if (m === null) {
      if (!DELETED_RE.test(ch)) tokens.push(ch); // any other single character is a token of its own
      pos += 1;
      continue;
    }
    const consumed = Math.min(m.consumed, line.length - pos);
    const emit = m.rule.emit ?? same;
    for (const t of emit(text.slice(pos, pos + consumed))) if (t.length > 0) tokens.push(t);
    pos += consumed;
  }
  return tokens.map((t) => t.toLowerCase());
}

/** Python's str.isspace() characters: what `line.rstrip()` removes. */
const PY_TRAILING_SPACE = /[\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/;

/**
 * What pycocoevalcap does with a line of the tokenizer's output: `rstrip()` (which also takes
 * Unicode spaces, as a last token can end with one), split on " ", drop PUNCTUATIONS, join.
 */
function finish(tokens: string[]): string {
  return tokens
    .join(" ")
    .replace(PY_TRAILING_SPACE, "")
    .split(" ")
    .filter((t) => !PTB_PUNCTUATIONS.has(t))
    .join(" ");
}

/** pycocoevalcap's PTBTokenizer output for one caption: lower-case tokens joined by single spaces. */
export function ptbTokenize(caption: string): string {
  return finish(ptbLexLine(caption.replace(/\n/g, " ")));
}

/**
 * The input after caption `j`'s line break, as far as the lexer's trailing context can reach:
 * up to and including the next caption that is not blank; null when caption `j` ends the input.
 */
function following(flat: string[], j: number): string | null {
  if (j + 1 >= flat.length) return null;
  let k = j + 1;
  while (k + 1 < flat.length && flat[k].trim() === "") k++;
  return flat.slice(j + 1, k + 2).join("\n"); // and the line after it: its break is context too
}

/**
 * `ptbTokenize` over every caption, keys and caption order kept, as PTBTokenizer.tokenize does
 * for `{image_id: [{"caption": ...}]}`: the captions are lexed as the consecutive lines of one
 * input, so each one sees the start of the next as trailing context and the last one ends the
 * input, as in the reference.
 */
export function tokenizeCaptions(captions: Map<ImageId, string[]>): Map<ImageId, string[]> {
  const flat: string[] = [];
  for (const list of captions.values()) for (const c of list) flat.push(c.replace(/\n/g, " "));
  const out = new Map<ImageId, string[]>();
  let i = 0;
  for (const [key, list] of captions) {
    out.set(
      key,
      list.map(() => {
        const j = i++;
        return finish(ptbLexLine(flat[j], following(flat, j)));
      }),
    );
  }
  return out;
}
