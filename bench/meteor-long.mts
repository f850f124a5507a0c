/**
 * METEOR on one very long caption against five ordinary references: the aligner's cost as the
 * caption grows. Usage: node --import tsx bench/meteor-long.mts <words>   (prints one JSON line)
 */
import { Meteor } from "../src/eval/coco/meteor.js";
const n = Number(process.argv[2] ?? 20000);
const words = ["a","man","riding","a","horse","on","a","beach","with","the","dog","near","water","and","people","walking"];
const long: string[] = [];
for (let i = 0; i < n; i++) long.push(words[(i * 7 + (i >> 3)) % words.length]);
const meteor = await Meteor.load({});
const refs = ["a man riding a horse on the beach", "a person rides a horse near the water", "a horse and a rider on a sandy beach", "a man on a horse walks along the shore", "someone riding a brown horse on the beach"];
const t = performance.now();
const stats = meteor.segmentStats(refs, long.join(" "));
console.log(JSON.stringify({ n, seconds: (performance.now() - t) / 1000, score: meteor.scoreStats(stats), rssMB: Math.round(process.memoryUsage().rss / 2**20) }));
