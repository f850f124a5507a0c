/** Hub download progress when stderr is not a terminal (Slurm, nohup, CI, `2>log`): plain lines, no bars. */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { plainDownloadProgress } from "../../src/cli/progress.js";
import { runCliAsync } from "../helpers/cli.js";
import { startFakeHub } from "../helpers/fake-hub.js";
import { fixturePath } from "../helpers/fixtures.js";

const rate = (unit: string) => String.raw`[\d.]+ ${unit}/s`;
const RATE = rate("MB");

function collect(intervalS: number) {
  const lines: string[] = [];
  return { lines, progress: plainDownloadProgress((line) => lines.push(line), intervalS) };
}

describe("plain download progress", () => {
  it("prints one line per file when it completes, in a unit that suits its size, and none in between within the interval", () => {
    const { lines, progress } = collect(3600);
    progress.update("onnx/model.onnx", 1_000_000, 4_000_000);
    progress.update("config.json", 700, 700);
    progress.update("onnx/model.onnx", 4_000_000, 4_000_000);
    progress.update("onnx/model.onnx", 4_000_000, 4_000_000);
    progress.stop();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(String.raw`^downloading config\.json: 700/700 B \(100\.0%\), ${rate("B")}, done in \d+s$`));
    expect(lines[1]).toMatch(new RegExp(String.raw`^downloading onnx/model\.onnx: 4/4 MB \(100\.0%\), ${RATE}, done in \d+s$`));
  });

  it("with interval 0 prints every update, and at stop says which downloads did not finish", () => {
    const { lines, progress } = collect(0);
    progress.update("onnx/model.onnx_data", 250_000_000, 1_000_000_000);
    progress.update("onnx/model.onnx_data", 500_000_000, 1_000_000_000);
    progress.stop();
    expect(lines[0]).toMatch(new RegExp(String.raw`^downloading onnx/model\.onnx_data: 250/1000 MB \(25\.0%\), ${RATE}, eta \S+$`));
    expect(lines[1]).toMatch(/: 500\/1000 MB \(50\.0%\), /);
    expect(lines[2]).toMatch(/: 500\/1000 MB \(50\.0%\), .* stopped in \d+s$/);
    expect(lines).toHaveLength(3);
  });

  it("without a size from the server, shows what arrived", () => {
    const { lines, progress } = collect(0);
    progress.update("tokenizer.json", 2_500_000, undefined);
    progress.stop();
    expect(lines[0]).toMatch(new RegExp(String.raw`^downloading tokenizer\.json: 2\.5 MB, ${RATE}$`));
    expect(lines[1]).toMatch(new RegExp(String.raw`^downloading tokenizer\.json: 2\.5 MB, ${RATE}, ended after \d+s$`));
  });
});

describe("emb embed image from the hub with stderr piped", () => {
  it("writes a plain line for each downloaded file, with no carriage returns or escape codes", async () => {
    const hub = await startFakeHub({ "org/siglip-tiny": { dir: fixturePath("siglip-tiny"), commit: "0123456789abcdef0123456789abcdef01234567" } });
    const work = mkdtempSync(join(tmpdir(), "emb-download-"));
    try {
      const out = join(work, "out");
      const env = { HF_ENDPOINT: hub.url, HF_HOME: join(work, "hf-home") };
      const r = await runCliAsync(["embed", "image", fixturePath("images", "small_64x48.jpg"), "--model", "org/siglip-tiny", "--out", out], env);
      expect(r.status, r.stderr).toBe(0);
      const size = statSync(fixturePath("siglip-tiny", "onnx", "vision_model.onnx")).size;
      // Sized in the unit that suits the file: the tiny model's graph is under a megabyte.
      const [scale, unit] = size >= 1e6 ? [1e6, "MB"] : [1e3, "kB"];
      const shown = Math.round((10 * size) / scale) / 10;
      expect(r.stderr).toMatch(
        new RegExp(String.raw`^downloading onnx/vision_model\.onnx: ${shown}/${shown} ${unit} \(100\.0%\), ${rate(unit)}, done in \d+s$`, "m"),
      );
      expect(r.stderr).toMatch(/^downloading config\.json: /m);
      expect(r.stderr).not.toMatch(/[\r\x1b]/);
    } finally {
      await hub.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
