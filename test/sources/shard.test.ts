import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileShardKey, parseShard, resolveShard, shardFromEnv, shardOf, type Shard } from "../../src/sources/shard.js";
import { walkImages } from "../../src/sources/image-files.js";

async function walk(inputs: string[], shard?: Shard): Promise<string[]> {
  const out: string[] = [];
  for await (const f of walkImages(inputs, { shard })) out.push(f.path);
  return out;
}

function tree(files: string[], root = mkdtempSync(join(tmpdir(), "emb-shard-"))): string {
  for (const f of files) {
    mkdirSync(join(root, f, ".."), { recursive: true });
    writeFileSync(join(root, f), "x");
  }
  return root;
}

const many = (folder: string, n: number) => Array.from({ length: n }, (_, i) => `${folder}/${String(i).padStart(3, "0")}.jpg`);

describe("shard partition", () => {
  it("hashes keys as the table computed with Python's hashlib says (first 6 bytes of SHA-256, big-endian, mod n)", () => {
    // int.from_bytes(hashlib.sha256(key.encode()).digest()[:6], "big") % n
    const table: [string, number, number, number][] = [
      // key, n=2, n=3, n=7
      ["photos\u0000a/1.jpg", 1, 1, 0],
      ["photos\u0000a/2.jpg", 1, 2, 5],
      ["photos\u0000b/3.png", 1, 0, 6],
      ["shards/00000.tar\u0000", 0, 2, 5],
      ["./photos\u0000a/1.jpg", 1, 1, 0],
    ];
    for (const [key, two, three, seven] of table) {
      expect([shardOf(key, 2), shardOf(key, 3), shardOf(key, 7)], JSON.stringify(key)).toEqual([two, three, seven]);
    }
    expect(fileShardKey("photos", "a/1.jpg")).toBe("photos\u0000a/1.jpg");
    expect(fileShardKey("shards/00000.tar", "")).toBe("shards/00000.tar\u0000");
  });

  it("gives every file of a walk to exactly one shard", async () => {
    const root = tree([...many("a", 40), ...many("b/deep", 30), "top.png"]);
    const all = await walk([root]);
    expect(all).toHaveLength(71);
    for (const n of [2, 3, 5]) {
      const shards = await Promise.all(Array.from({ length: n }, (_, index) => walk([root], { index, count: n })));
      const union = shards.flat();
      expect(new Set(union).size, `n=${n}: disjoint`).toBe(union.length);
      expect([...union].sort(), `n=${n}: covering`).toEqual([...all].sort());
      // Each shard keeps the walk's sorted order, and none is empty at this size.
      for (const s of shards) expect(s).toEqual(all.filter((p) => s.includes(p)));
      for (const s of shards) expect(s.length).toBeGreaterThan(0);
    }
  });

  it("keeps every file in its shard when files are added in another folder", async () => {
    const root = tree(many("a", 50));
    const before = await Promise.all([0, 1, 2].map((index) => walk([root], { index, count: 3 })));
    tree([...many("b", 50), "a-sibling/new.jpg", "0-first.jpg"], root);
    const after = await Promise.all([0, 1, 2].map((index) => walk([root], { index, count: 3 })));
    for (const index of [0, 1, 2]) {
      const old = after[index].filter((p) => p.startsWith(`${join(root, "a")}/`));
      expect(old, `shard ${index}`).toEqual(before[index]);
    }
    expect(after.flat()).toHaveLength(102);
  });

  it("keys a folder's files by the argument as given and the path below it", async () => {
    const root = tree(["a/1.jpg", "a/2.jpg"]);
    const folder = join(root, "a");
    for (const index of [0, 1]) {
      const expected = ["1.jpg", "2.jpg"].filter((f) => shardOf(fileShardKey(folder, f), 2) === index).map((f) => join(folder, f));
      expect(await walk([folder], { index, count: 2 })).toEqual(expected);
    }
  });
});

describe("--shard values", () => {
  it("reads i/n", () => {
    expect(parseShard("2/4")).toEqual({ index: 2, count: 4 });
    expect(parseShard("0/1")).toEqual({ index: 0, count: 1 });
  });

  it("refuses values that are not a shard, naming the value and the valid form", () => {
    expect(() => parseShard("4/4")).toThrow("--shard 4/4: shard 4 does not exist among 4 (they are 0 to 3); give it as i/n with 0 <= i < n");
    expect(() => parseShard("x")).toThrow('--shard "x" is not a shard: give it as i/n with 0 <= i < n, e.g. --shard 2/4');
    expect(() => parseShard("0/0")).toThrow("--shard 0/0: the shard count must be at least 1");
    expect(() => parseShard("-1/4")).toThrow('--shard "-1/4" is not a shard');
    expect(() => parseShard("1/2/3")).toThrow('--shard "1/2/3" is not a shard');
  });

  it("a flag always wins over the environment; 0/1 is all inputs (no shard)", () => {
    const env = { SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_COUNT: "4" };
    expect(resolveShard("1/2", env)).toEqual({ shard: { index: 1, count: 2 } });
    expect(resolveShard("0/1", env)).toEqual({});
    expect(resolveShard(undefined, env).shard).toEqual({ index: 3, count: 4 });
    expect(resolveShard(undefined, {})).toEqual({});
  });
});

describe("shards from the environment", () => {
  it("Slurm arrays: the task id among the task count, counted from the array's first id and step", () => {
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_COUNT: "4" })?.shard).toEqual({ index: 2, count: 4 });
    // sbatch --array=1-4: ids 1..4 are shards 0..3.
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: "4", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "4" })?.shard).toEqual({ index: 3, count: 4 });
    // sbatch --array=10-16:2: ids 10, 12, 14, 16.
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: "14", SLURM_ARRAY_TASK_MIN: "10", SLURM_ARRAY_TASK_STEP: "2", SLURM_ARRAY_TASK_COUNT: "4" })?.shard).toEqual({
      index: 2,
      count: 4,
    });
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: "4", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "4" })?.origin).toBe(
      "SLURM_ARRAY_TASK_ID=4, SLURM_ARRAY_TASK_MIN=1, SLURM_ARRAY_TASK_COUNT=4",
    );
  });

  it("Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX of EMB_SHARD_COUNT", () => {
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: "5", EMB_SHARD_COUNT: "8" })).toEqual({
      shard: { index: 5, count: 8 },
      origin: "JOB_COMPLETION_INDEX=5, EMB_SHARD_COUNT=8",
    });
    expect(shardFromEnv({})).toBeUndefined();
    expect(shardFromEnv({ SLURM_JOB_ID: "7" })).toBeUndefined();
  });

  it("a missing count or a task outside the array is an error naming the variables and the fix", () => {
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: "2" })).toThrow("SLURM_ARRAY_TASK_ID=2 is set but SLURM_ARRAY_TASK_COUNT is not");
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: "2" })).toThrow(
      "JOB_COMPLETION_INDEX=2 is set but EMB_SHARD_COUNT is not; set EMB_SHARD_COUNT to the Job's completions (Kubernetes does not export it to pods), or pass --shard i/n",
    );
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: "8", EMB_SHARD_COUNT: "8" })).toThrow(
      "JOB_COMPLETION_INDEX=8, EMB_SHARD_COUNT=8: shard 8 does not exist among 8",
    );
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: "1", EMB_SHARD_COUNT: "many" })).toThrow('EMB_SHARD_COUNT="many" is not a whole number');
    // sbatch --array=1,3,7 has no uniform step: the ids do not map onto shards.
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_STEP: "2", SLURM_ARRAY_TASK_COUNT: "3" })).not.toThrow();
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: "7", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_STEP: "2", SLURM_ARRAY_TASK_COUNT: "3" })).toThrow(
      "shard 3 does not exist among 3",
    );
  });
});
